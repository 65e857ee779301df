"""Design-based estimates of proportions, means and totals, overall and by domain.

Every estimate is a ratio or a total of weighted sums, and its variance is the Taylor-linearised,
with-replacement first-stage variance that R ``survey`` (``svymean``, ``svytotal``,
``svyciprop``), Stata ``svy`` and samplics (``TaylorEstimator``) compute. Formulas:

- total: ``Y = sum_i d_i w_i y_i`` (Horvitz-Thompson / Hajek expansion estimator);
- mean (and proportion, the mean of a 0/1 variable): ``R = Y / N_d``, ``N_d = sum_i d_i w_i``
  (a ratio estimator, Lumley 2010, section 2.2; Wolter 2007, section 6.5);
- variance: ``V = sum_h (1 - f_h) n_h / (n_h - 1) sum_c (z_hc - zbar_h)^2`` with PSU totals of
  the linearised scores ``z`` (see `amniyat.stats._linearisation` for the scores);
- degrees of freedom: number of PSUs minus number of strata in the *whole* design, also for a
  domain (as Stata and samplics; R's ``degf`` of a subset counts only PSUs with rows in it);
- confidence interval: ``estimate +/- t_{df, 1 - alpha/2} SE`` for means and totals; for
  proportions the logit interval ``expit(logit(p) +/- t SE / (p (1 - p)))``, which stays in [0, 1]
  (R ``svyciprop(method = "logit")``, samplics's default ``ciprop_method="logit"``). A proportion
  of exactly 0 or 1 gets the degenerate interval [p, p], as both do;
- design effect (Kish 1965; Lumley 2010, section 2.4): ``deff = V / V_srs`` where ``V_srs`` is the
  variance under simple random sampling *with replacement* of the same number of respondents:
  ``V_srs = S^2 / n`` for a mean or proportion and ``N_d^2 S^2 / n`` for a total, with the
  weighted population variance ``S^2 = n / (n - 1) sum d w (y - R)^2 / N_d``. This is R's
  ``deff = "replace"``; R's default multiplies ``V_srs`` by ``1 - n / N_d``.

Missing values: a row whose value is null (or NaN) is left out *as a domain*: it scores zero and
its weight is not in ``N_d``, but its PSU and stratum still count. It is never counted as zero.

Nothing here raises for an empty cell: a domain with no respondent gives an `Estimate` with
``n == 0``, ``value is None`` and ``reason == "empty_domain"``; a domain whose weights are all zero
gives ``reason == "zero_weight"``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final, get_args

import polars as pl

from amniyat.stats._linearisation import (
    ALL,
    Kind,
    Target,
    centred_column,
    count_column,
    design_variance,
    domain_sums,
    score_column,
    size_column,
    square_column,
    total_column,
)
from amniyat.stats._student_t import t_quantile
from amniyat.stats.design import Design, PreparedSurvey, prepare_survey, require_columns
from amniyat.stats.errors import ColumnError, StatsError

__all__ = [
    "REASON_EMPTY_DOMAIN",
    "REASON_ZERO_WEIGHT",
    "DomainKey",
    "Estimate",
    "Kind",
    "estimate",
    "estimate_by",
    "estimates_to_frame",
]

KINDS: Final[tuple[Kind, ...]] = get_args(Kind)
REASON_EMPTY_DOMAIN: Final = "empty_domain"
REASON_ZERO_WEIGHT: Final = "zero_weight"

DomainKey = tuple[tuple[str, Any], ...]
"""A domain as ``((column, value), ...)``; ``()`` is the whole population."""


@dataclass(frozen=True, slots=True)
class Estimate:
    """One design-based estimate, ready to print with its uncertainty and its unweighted n.

    Attributes:
        kind: ``"proportion"``, ``"mean"`` or ``"total"``.
        variable: the value column (or comparison target) estimated.
        domain: the domain as ``((column, value), ...)``; ``()`` is everyone.
        n: unweighted number of respondents in the domain with a value.
        weighted_n: estimated domain size, the sum of their weights.
        value: the estimate; None when it cannot be computed or is withheld (see ``reason``).
        se: standard error (linearised).
        ci_low, ci_high: confidence interval bounds.
        deff: design effect against simple random sampling with replacement (module docstring);
            None when ``n < 2`` or the SRS variance is zero.
        df: design degrees of freedom used for the interval (PSUs minus strata).
        confidence: confidence level of the interval, e.g. 0.95.
        suppressed: True when disclosure control withheld the numbers (`amniyat.stats.sdc`).
        reason: why ``value`` is None: ``"empty_domain"``, ``"zero_weight"``, or an SDC code
            such as ``"min_cell"``.
    """

    kind: Kind
    variable: str
    domain: DomainKey
    n: int
    weighted_n: float
    value: float | None
    se: float | None
    ci_low: float | None
    ci_high: float | None
    deff: float | None
    df: int
    confidence: float
    suppressed: bool = False
    reason: str | None = None

    @property
    def variance(self) -> float | None:
        """Squared standard error."""
        return None if self.se is None else self.se * self.se

    @property
    def cv(self) -> float | None:
        """Coefficient of variation ``se / |value|`` (None if undefined)."""
        if self.se is None or self.value is None or self.value == 0:
            return None
        return self.se / abs(self.value)

    @property
    def domain_label(self) -> str:
        """The domain as text, e.g. ``"sex=female, district=Vose"``; ``"all"`` for everyone."""
        if not self.domain:
            return "all"
        return ", ".join(f"{column}={value}" for column, value in self.domain)


def check_kind(kind: str) -> Kind:
    for known in KINDS:
        if kind == known:
            return known
    raise StatsError(f"kind must be one of {', '.join(KINDS)}; got {kind!r}")


def check_confidence(confidence: float) -> float:
    if not 0.0 < confidence < 1.0:
        raise StatsError(f"confidence must be between 0 and 1 (e.g. 0.95); got {confidence!r}")
    return float(confidence)


def value_targets(
    frame: pl.DataFrame,
    kind: Kind,
    columns: Sequence[str],
    mask: pl.Expr | None = None,
) -> list[Target]:
    """Check value columns and turn them into targets (null outside ``mask`` when given).

    Raises `ColumnError` for a missing, non-numeric or infinite-valued column, or a proportion
    column with values other than 0 and 1.
    """
    for column in columns:
        require_columns(frame, {"value": column})
    values: list[pl.Expr] = []
    for column in columns:
        dtype = frame.schema[column]
        if not (dtype.is_numeric() or dtype == pl.Boolean):
            raise ColumnError(
                f"value column {column!r} must be numeric or boolean; it holds {dtype}"
            )
        y = pl.col(column).cast(pl.Float64)
        values.append(y.fill_nan(None) if dtype.is_float() else y)
    checks: list[pl.Expr] = []
    for k, (column, y) in enumerate(zip(columns, values, strict=True)):
        if frame.schema[column].is_float():
            checks.append(y.is_infinite().any().alias(f"inf{k}"))
        if kind == "proportion" and frame.schema[column] != pl.Boolean:
            checks.append(((y != 0.0) & (y != 1.0)).any().alias(f"bad{k}"))
    found = frame.select(checks).row(0, named=True) if checks else {}
    for k, (column, y) in enumerate(zip(columns, values, strict=True)):
        if found.get(f"inf{k}"):
            raise ColumnError(f"value column {column!r} has infinite values")
        if found.get(f"bad{k}"):
            example = frame.select(y.filter((y != 0.0) & (y != 1.0)).first()).item()
            raise ColumnError(
                f"a proportion needs a 0/1 (or boolean) column; {column!r} holds "
                f"{example:g}. Recode it, e.g. pl.col({column!r}) == value."
            )
    if mask is not None:
        values = [pl.when(mask).then(y) for y in values]
    return [Target(name=column, values=y) for column, y in zip(columns, values, strict=True)]


def _interval(
    kind: Kind, value: float, se: float, t_value: float | None
) -> tuple[float | None, float | None]:
    if t_value is None:
        return None, None
    if kind == "proportion" and 0.0 < value < 1.0:
        centre = math.log(value / (1.0 - value))
        half_width = t_value * se / (value * (1.0 - value))
        return _expit(centre - half_width), _expit(centre + half_width)
    if kind == "proportion":
        return value, value
    return value - t_value * se, value + t_value * se


def _expit(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def critical_t(confidence: float, df: float) -> float | None:
    """Two-sided critical value of Student's t, or None when there are no degrees of freedom."""
    if df < 1:
        return None
    return t_quantile(1.0 - (1.0 - confidence) / 2.0, df)


def assemble_estimates(
    kind: Kind,
    targets: Sequence[Target],
    keys: Sequence[str],
    domains: pl.DataFrame,
    variances: pl.DataFrame,
    df: int,
    confidence: float,
) -> list[Estimate]:
    """Turn domain sums and variances into `Estimate` objects, target by target."""
    keys = list(keys)
    table = domains.join(variances, on=keys, how="left", nulls_equal=True)
    table = table.sort(keys, nulls_last=True)
    t_value = critical_t(confidence, df)
    shown_keys = [key for key in keys if key != ALL]
    estimates: list[Estimate] = []
    rows = table.rows(named=True)
    for k, target in enumerate(targets):
        for row in rows:
            domain = tuple((key, row[key]) for key in shown_keys)
            estimates.append(
                _one_estimate(
                    kind,
                    target.name,
                    domain,
                    row,
                    k,
                    t_value=t_value,
                    df=df,
                    confidence=confidence,
                )
            )
    return estimates


def _one_estimate(
    kind: Kind,
    variable: str,
    domain: DomainKey,
    row: dict[str, Any],
    k: int,
    *,
    t_value: float | None,
    df: int,
    confidence: float,
) -> Estimate:
    n = int(row[count_column(k)])
    size = float(row[size_column(k)])
    empty = Estimate(
        kind=kind,
        variable=variable,
        domain=domain,
        n=n,
        weighted_n=size,
        value=None,
        se=None,
        ci_low=None,
        ci_high=None,
        deff=None,
        df=df,
        confidence=confidence,
        reason=REASON_EMPTY_DOMAIN,
    )
    if n == 0:
        return empty
    if size <= 0.0:
        return replace(empty, reason=REASON_ZERO_WEIGHT)
    total = float(row[total_column(k)])
    value = total if kind == "total" else total / size
    if kind == "proportion":
        value = min(1.0, max(0.0, value))
    variance = row[score_column(k)]
    se = math.sqrt(float(variance)) if variance is not None else 0.0
    ci_low, ci_high = _interval(kind, value, se, t_value)
    deff = None
    if n >= 2:
        centred = float(row[centred_column(k)])
        spread = max(float(row[square_column(k)]) - centred * centred / size, 0.0)
        population_variance = n / (n - 1) * spread / size
        srs_variance = population_variance / n
        if kind == "total":
            srs_variance *= size * size
        if srs_variance > 0.0:
            deff = se * se / srs_variance
    return Estimate(
        kind=kind,
        variable=variable,
        domain=domain,
        n=n,
        weighted_n=size,
        value=value,
        se=se,
        ci_low=ci_low,
        ci_high=ci_high,
        deff=deff,
        df=df,
        confidence=confidence,
    )


def _estimate_targets(
    prepared: PreparedSurvey,
    frame: pl.DataFrame,
    kind: Kind,
    targets: Sequence[Target],
    keys: Sequence[str],
    confidence: float,
) -> list[Estimate]:
    domains, scores = domain_sums(prepared, frame, kind, targets, keys)
    variances = design_variance(
        prepared, scores, keys, [score_column(k) for k in range(len(targets))]
    )
    return assemble_estimates(
        kind, targets, keys, domains, variances, prepared.degrees_of_freedom, confidence
    )


def domain_mask(frame: pl.DataFrame, domain: str | pl.Expr, role: str = "domain") -> pl.Expr:
    """A boolean expression for a domain given as a boolean column or a Polars expression.

    Nulls count as outside the domain. Raises `ColumnError` when it is not boolean.
    """
    if isinstance(domain, str):
        require_columns(frame, {role: domain})
        expression = pl.col(domain)
    elif isinstance(domain, pl.Expr):
        expression = domain
    else:
        raise ColumnError(f"{role} must be a boolean column name or a Polars expression")
    try:
        dtype = frame.lazy().select(expression.alias("mask")).collect_schema()["mask"]
    except pl.exceptions.PolarsError as error:
        raise ColumnError(
            f"{role} expression cannot be evaluated on this frame: {error}"
        ) from error
    if dtype != pl.Boolean:
        raise ColumnError(
            f"{role} must be boolean (True = in the domain); {domain_name(domain)} is {dtype}"
        )
    return expression.fill_null(False)


def domain_name(domain: str | pl.Expr) -> str:
    """How a domain is labelled in results: its column name, or the expression as text."""
    return domain if isinstance(domain, str) else str(domain)


def estimate(
    frame: pl.DataFrame,
    design: Design | None = None,
    *,
    kind: Kind,
    value: str,
    domain: str | pl.Expr | None = None,
    confidence: float = 0.95,
) -> Estimate:
    """Estimate one proportion, mean or total, for everyone or for one domain.

    Args:
        frame: one row per respondent.
        design: the sampling design; None means simple random sampling (see `Design`).
        kind: ``"proportion"`` (``value`` must be 0/1 or boolean), ``"mean"`` or ``"total"``.
        value: column to estimate; nulls and NaNs are left out as a domain, not counted as 0.
        domain: a boolean column or expression selecting the subpopulation (null = outside),
            estimated within the full design; None for everyone.
        confidence: confidence level of the interval.

    Returns:
        An `Estimate` whose ``domain`` is ``()`` or ``((name, True),)``. An empty domain gives
        ``n == 0`` and ``value is None`` rather than an error.

    Raises:
        ColumnError: a column is missing or of the wrong type.
        DesignError: the design is invalid (see `amniyat.stats.design.prepare_survey`).
    """
    kind = check_kind(kind)
    confidence = check_confidence(confidence)
    prepared = prepare_survey(frame, design)
    mask = domain_mask(prepared.frame, domain) if domain is not None else None
    targets = value_targets(prepared.frame, kind, [value], mask)
    work = prepared.frame.with_columns(pl.lit(True).alias(ALL))
    (result,) = _estimate_targets(prepared, work, kind, targets, [ALL], confidence)
    if domain is not None:
        result = replace(result, domain=((domain_name(domain), True),))
    return result


def estimate_by(
    frame: pl.DataFrame,
    design: Design | None = None,
    *,
    kind: Kind,
    value: str | Sequence[str],
    by: str | Sequence[str] = (),
    confidence: float = 0.95,
) -> list[Estimate]:
    """Estimate one or many variables in every domain of a disaggregation, in one pass.

    Domains are the combinations of ``by`` values present in the frame (a null ``by`` value is a
    domain of its own). Each is estimated within the full design. All ``value`` columns and all
    domains share a single group-by over domain x stratum x PSU, so 30 indicators cost little more
    than one.

    Args:
        frame: one row per respondent.
        design: the sampling design; None means simple random sampling.
        kind: ``"proportion"``, ``"mean"`` or ``"total"`` (the same for every value column).
        value: a column, or several.
        by: disaggregation columns, e.g. ``["sex", "district"]``; empty for everyone.
        confidence: confidence level of the intervals.

    Returns:
        Estimates ordered by value column (as given), then by domain (sorted, nulls last).
        A domain where a variable has no non-missing value gives ``n == 0`` and ``value is None``.

    Raises:
        ColumnError: a column is missing or of the wrong type.
        DesignError: the design is invalid.
    """
    kind = check_kind(kind)
    confidence = check_confidence(confidence)
    values = [value] if isinstance(value, str) else list(value)
    keys = [by] if isinstance(by, str) else list(by)
    if not values:
        raise StatsError("estimate_by needs at least one value column")
    if len(set(keys)) != len(keys):
        raise StatsError(f"by columns repeat: {keys}")
    prepared = prepare_survey(frame, design)
    for key in keys:
        require_columns(prepared.frame, {"by": key})
    targets = value_targets(prepared.frame, kind, values)
    work = prepared.frame
    if not keys:
        work = work.with_columns(pl.lit(True).alias(ALL))
        keys = [ALL]
    return _estimate_targets(prepared, work, kind, targets, keys, confidence)


def estimates_to_frame(estimates: Iterable[Estimate]) -> pl.DataFrame:
    """One row per estimate, for tables and exports; the domain is shown as text."""
    records = [
        {
            "variable": e.variable,
            "kind": e.kind,
            "domain": e.domain_label,
            "n": e.n,
            "weighted_n": e.weighted_n,
            "value": e.value,
            "se": e.se,
            "ci_low": e.ci_low,
            "ci_high": e.ci_high,
            "deff": e.deff,
            "df": e.df,
            "confidence": e.confidence,
            "suppressed": e.suppressed,
            "reason": e.reason,
        }
        for e in estimates
    ]
    schema = {
        "variable": pl.String,
        "kind": pl.String,
        "domain": pl.String,
        "n": pl.Int64,
        "weighted_n": pl.Float64,
        "value": pl.Float64,
        "se": pl.Float64,
        "ci_low": pl.Float64,
        "ci_high": pl.Float64,
        "deff": pl.Float64,
        "df": pl.Int64,
        "confidence": pl.Float64,
        "suppressed": pl.Boolean,
        "reason": pl.String,
    }
    return pl.DataFrame(records, schema=schema)
