"""Translating content people name: a programme, an organisation, a group, a map and its
factors, a priority list and its concerns, into the other content languages."""
