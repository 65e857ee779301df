"""Taylor-linearisation engine shared by the estimators and the comparisons.

Notation (Wolter 2007, ch. 6; Lumley 2010, sections 2.2 and 3.4): row ``i`` has weight ``w_i``,
value ``y_i`` and domain indicator ``d_i`` (1 when the row is in the domain *and* its value is not
missing). For each target the engine computes, per domain,

- ``T = sum d w y`` (estimated total), ``B = sum d w`` (estimated domain size ``N_d``),
  ``n = sum d`` (unweighted count) and, for the design effect, ``Q = sum d w (y - c)^2``;
- the linearised score of each row, summed to its PSU ``(h, c)``:
  ``z_hc = sum_{i in hc} d_i w_i y_i`` for a total, and
  ``z_hc = sum_{i in hc} d_i w_i (y_i - R) / B`` for a mean or proportion ``R = T / B``
  (the influence function of a ratio, Lumley 2010, section 2.2; Wolter 2007, section 6.5);
- the with-replacement variance of the scores' sum,
  ``V = sum_h (1 - f_h) n_h / (n_h - 1) sum_c (z_hc - zbar_h)^2``,
  ``zbar_h = (1 / n_h) sum_c z_hc``, over *all* ``n_h`` PSUs of stratum ``h`` in the design.

Domains are estimated within the full design: a row outside the domain scores zero, but its PSU
and stratum still count in ``n_h`` and in the degrees of freedom (Lumley 2010, section 2.3; never
estimate a domain by subsetting the frame). PSUs with no row in the domain appear in no group-by
result; they are accounted for in closed form: the stratum sum of squares is
``sum_{c present} (z_hc - zbar_h)^2 + (n_h - k_h) zbar_h^2`` where ``k_h`` PSUs are present.

Everything is vectorised: one Polars group-by over domain x stratum x PSU for the data, then
group-bys over small tables. There is no Python loop over rows or over domains.

Numerics: for means and totals ``y`` is centred at its overall mean ``c`` before the scores are
formed (the scores of a ratio are unchanged by a shift; a 0/1 variable needs no centring), and
stratum sums of squares are taken about their stratum mean in a second pass, so nothing is computed
as a difference of two large sums. Agreement with samplics is about 1e-15 relative.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

import polars as pl

from amniyat.stats.design import CLUSTER, STRATUM, WEIGHT, PreparedSurvey

Kind = Literal["proportion", "mean", "total"]

ALL: Final = "__amniyat_all"
"""Constant key column standing for "the whole population" when there is no disaggregation."""

# Polars engines. Passes over the respondents' rows use the default (streaming, parallel) engine:
# it is several times faster, but adds partial sums in a varying order, so results can differ
# between runs in the last bits (relative 1e-15). Small tables use the in-memory engine.
_ROWS: Final[Literal["auto"]] = "auto"
_SMALL: Final[Literal["in-memory"]] = "in-memory"


@dataclass(frozen=True, slots=True)
class Target:
    """One quantity to estimate: a name and a Float64 expression, null outside the domain."""

    name: str
    values: pl.Expr


def total_column(k: int) -> str:
    return f"__amniyat_T{k}"


def centred_column(k: int) -> str:
    return f"__amniyat_A{k}"


def size_column(k: int) -> str:
    return f"__amniyat_B{k}"


def count_column(k: int) -> str:
    return f"__amniyat_n{k}"


def square_column(k: int) -> str:
    return f"__amniyat_Q{k}"


def score_column(k: int) -> str:
    return f"__amniyat_z{k}"


def _centres(frame: pl.DataFrame, targets: Sequence[Target]) -> list[float]:
    """Overall unweighted mean of each target (0 for an all-missing target)."""
    row = frame.select(
        [target.values.mean().fill_null(0.0).alias(str(k)) for k, target in enumerate(targets)]
    ).row(0)
    return [float(value) for value in row]


def domain_sums(
    prepared: PreparedSurvey,
    frame: pl.DataFrame,
    kind: Kind,
    targets: Sequence[Target],
    keys: Sequence[str],
) -> tuple[pl.DataFrame, pl.LazyFrame]:
    """Domain sums ``T, A, B, n, Q`` per target, and PSU-level linearised scores.

    ``frame`` is ``prepared.frame`` with the ``keys`` columns added. Returns the domain table
    (``keys`` plus `total_column`, `centred_column`, `size_column`, `count_column`,
    `square_column` for each target) and a lazy table of PSU scores (``keys``, `STRATUM` and
    `score_column` for each target; one row per PSU present in each domain).
    """
    weight = pl.col(WEIGHT)
    keys = list(keys)
    # A 0/1 variable needs no centring (its scores are bounded by the weights) and its squares
    # are itself, so a proportion needs only T, B and n from the data: A = T and Q = T.
    binary = kind == "proportion"
    centres = [0.0] * len(targets) if binary else _centres(frame, targets)
    sums: list[pl.Expr] = []
    for k, (target, centre) in enumerate(zip(targets, centres, strict=True)):
        y = target.values
        present = y.is_not_null()
        sums += [
            (weight * y).alias(total_column(k)),
            pl.when(present).then(weight).otherwise(0.0).alias(size_column(k)),
            present.cast(pl.Int64).alias(count_column(k)),
        ]
        if not binary:
            sums += [
                (weight * (y - centre)).alias(centred_column(k)),
                (weight * (y - centre) ** 2).alias(square_column(k)),
            ]
    names = [expr.meta.output_name() for expr in sums]
    lazy = frame.lazy()
    psu: pl.LazyFrame
    if prepared.has_clusters:
        # The one pass over the data: sum to domain x stratum x PSU. Row-level terms are
        # selected first so the group-by sums plain columns (several times faster in Polars
        # than evaluating expressions inside the aggregation).
        psu = (
            lazy.select([*keys, STRATUM, CLUSTER, *sums])
            .group_by([*keys, STRATUM, CLUSTER])
            .agg(pl.col(names).sum())
            .collect(engine=_ROWS)
            .lazy()
        )
    else:
        # Each row is its own PSU: row-level sums, computed lazily where they are used.
        psu = lazy.select([*keys, STRATUM, *[expr.fill_null(0.0) for expr in sums]])
    if binary:
        psu = psu.with_columns(
            expr
            for k in range(len(targets))
            for expr in (
                pl.col(total_column(k)).alias(centred_column(k)),
                pl.col(total_column(k)).alias(square_column(k)),
            )
        )
        names += [name(k) for k in range(len(targets)) for name in (centred_column, square_column)]
    engine: Literal["auto", "in-memory"] = _SMALL if prepared.has_clusters else _ROWS
    domains = psu.group_by(keys).agg(pl.col(names).sum()).collect(engine=engine)

    scores: list[pl.Expr] = []
    for k in range(len(targets)):
        if kind == "total":
            scores.append(pl.col(total_column(k)).alias(score_column(k)))
        else:
            size = pl.col(f"{size_column(k)}_domain")
            ratio = pl.col(f"{centred_column(k)}_domain") / size
            scores.append(
                pl.when(size > 0)
                .then((pl.col(centred_column(k)) - ratio * pl.col(size_column(k))) / size)
                .otherwise(0.0)
                .alias(score_column(k))
            )
    if kind == "total":
        psu_scores = psu.select([*keys, STRATUM, *scores])
    else:
        domain_columns = [
            pl.col(name(k)).alias(f"{name(k)}_domain")
            for k in range(len(targets))
            for name in (centred_column, size_column)
        ]
        psu_scores = psu.join(
            domains.lazy().select([*keys, *domain_columns]),
            on=keys,
            how="left",
            nulls_equal=True,
        ).select([*keys, STRATUM, *scores])
    return domains, psu_scores


def design_variance(
    prepared: PreparedSurvey,
    scores: pl.LazyFrame,
    keys: Sequence[str],
    columns: Sequence[str],
) -> pl.DataFrame:
    """Variance of the sum of each score column, per domain.

    ``scores`` has one row per PSU present in a domain (``keys``, `STRATUM`, the ``columns``).
    Returns ``keys`` plus one variance column per score column, with the same name.

    Lonely strata follow the design's policy (see `amniyat.stats.design.LonelyPsu`); under
    ``"adjust"`` a lonely stratum adds ``(1 - f_h) (z_h - Z / n)^2`` where ``Z`` is the domain's
    score total and ``n`` the number of PSUs in the design (R survey's ``arma_onestage``).
    """
    keys = list(keys)
    n_h = pl.col("n_h").cast(pl.Float64)
    per_stratum = (
        scores.join(prepared.strata.lazy(), on=STRATUM, how="left")
        .group_by([*keys, STRATUM])
        .agg(
            *[pl.col(c).sum().alias(f"{c}_sum") for c in columns],
            *[
                ((pl.col(c) - pl.col(c).sum() / n_h.first()) ** 2).sum().alias(f"{c}_dev")
                for c in columns
            ],
            pl.len().cast(pl.Float64).alias("present"),
            n_h.first().alias("n_h"),
            pl.col("between_factor").first(),
            pl.col("lonely_factor").first(),
        )
    )
    adjust = prepared.design.lonely_psu == "adjust"
    contributions: list[pl.Expr] = []
    grand_means: list[pl.Expr] = []
    for c in columns:
        total = pl.col(f"{c}_sum")
        stratum_mean = total / pl.col("n_h")
        sum_of_squares = pl.col(f"{c}_dev") + (pl.col("n_h") - pl.col("present")) * stratum_mean**2
        contribution = pl.col("between_factor") * sum_of_squares
        if adjust:
            grand_mean = total.sum().over(keys) / prepared.n_psu
            contribution = contribution + pl.col("lonely_factor") * (
                (total - grand_mean) ** 2 - grand_mean**2
            )
            grand_means.append(grand_mean.alias(f"{c}_grand"))
        contributions.append(contribution.alias(c))
    per_domain = (
        per_stratum.select([*keys, *contributions, *grand_means])
        .group_by(keys)
        .agg(
            pl.col(list(columns)).sum(),
            *[pl.col(f"{c}_grand").first() for c in columns if adjust],
        )
    )
    if adjust:
        # Lonely strata with no row in a domain still add (1 - f_h) * grand_mean^2 each.
        per_domain = per_domain.with_columns(
            [pl.col(c) + prepared.lonely_total * pl.col(f"{c}_grand") ** 2 for c in columns]
        )
    engine: Literal["auto", "in-memory"] = _SMALL if prepared.has_clusters else _ROWS
    return per_domain.select([*keys, *[pl.col(c).clip(lower_bound=0.0) for c in columns]]).collect(
        engine=engine
    )
