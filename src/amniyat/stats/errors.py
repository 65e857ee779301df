"""Errors raised by `amniyat.stats`.

Every error carries a message meant to be shown to an analyst as is: it names the column,
stratum or value at fault and, where there is one, the way out. Callers that only want to know
"the numbers could not be computed" catch `StatsError`.

What is *not* an error: an empty domain, a domain with zero total weight, or a cell too small to
publish. Those come back as an `Estimate` whose `value` is None and whose `reason` says why, so a
table with one empty cell still renders.
"""

from __future__ import annotations

__all__ = ["ColumnError", "DesignError", "LonelyPsuError", "StatsError"]


class StatsError(ValueError):
    """Base class: the inputs cannot give a valid estimate."""


class ColumnError(StatsError):
    """A named column is missing from the frame or has the wrong type or values."""


class DesignError(StatsError):
    """The survey design is invalid: weights, strata, clusters or finite population correction."""


class LonelyPsuError(DesignError):
    """A stratum has a single PSU and the design's `lonely_psu` policy is ``"fail"``."""
