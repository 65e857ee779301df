"""Priorities: a community group's prioritisation matrix of its security concerns (the
codebook's codes), scored, ranked and agreed by the group; the starting point of joint action
plans."""
