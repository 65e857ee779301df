"""The choices a caller offers before any data is read: the lonely-PSU policies and the default
minimum cell size.

They live apart from the estimators, which need Polars and NumPy, so that a command line or a
form can list them without loading either (``amniyat analyze --help`` answers in a few
milliseconds). `amniyat.stats.design` and `amniyat.stats.sdc` use them from here.
"""

from __future__ import annotations

from typing import Final, Literal, get_args

__all__ = ["DEFAULT_MIN_CELL", "LONELY_PSU_POLICIES", "LonelyPsu"]

LonelyPsu = Literal["fail", "adjust", "remove", "certainty"]
"""What to do with a stratum that has a single PSU (its variance cannot be estimated).

- ``"fail"``: raise `LonelyPsuError` naming the strata (the default: the analyst decides).
- ``"adjust"``: centre the lonely PSU's total at the grand mean of all PSU totals instead of the
  (undefined) stratum mean, as R ``options(survey.lonely.psu = "adjust")`` (survey >= 4.2). The
  stratum adds ``(1 - f_h) (z_h - Z / n)^2`` where ``Z`` is the sum of all scores and ``n`` the
  number of PSUs in the design. Conservative; the usual choice for published tables.
- ``"remove"``: the stratum adds nothing to the variance (R ``"remove"``, samplics
  ``SinglePSUEst.skip``). Its data still count in the estimate.
- ``"certainty"``: the lonely PSU was selected with certainty (self-representing), so its stratum
  adds no first-stage variance (R ``"certainty"``). Numerically the same as ``"remove"`` in a
  with-replacement first stage, as in R; the two names record different reasons. (samplics's
  ``SinglePSUEst.certainty`` is another method: it uses second-stage units instead.)

A stratum with a single PSU whose finite population correction says it was fully sampled
(``f_h = 1``) is not lonely: it contributes no variance under any policy, as in R.
"""

LONELY_PSU_POLICIES: Final[tuple[LonelyPsu, ...]] = get_args(LonelyPsu)

DEFAULT_MIN_CELL: Final = 5
"""Estimates resting on fewer respondents are withheld (`amniyat.stats.sdc`)."""
