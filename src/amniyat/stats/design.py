"""The sampling design of a survey, and its checked, ready-to-use form.

A `Design` names the columns of a frame that describe how respondents were sampled: sampling
weight, first-stage strata, first-stage clusters (PSUs) and an optional finite population
correction. Variances are computed the way R's ``survey`` package, Stata's ``svy`` and samplics do
for a *with-replacement first stage* ("ultimate cluster" variance, Wolter 2007, section 1.6;
Lumley 2010, section 2.2): everything below the first stage is absorbed into the PSU totals.

No design at all (``Design()`` or ``design=None``) is simple random sampling with replacement:
every row is its own PSU, there is one stratum, every weight is 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import polars as pl

from amniyat.stats.choices import LONELY_PSU_POLICIES, LonelyPsu
from amniyat.stats.errors import ColumnError, DesignError, LonelyPsuError

__all__ = ["Design", "LonelyPsu"]

# Internal column names added to a prepared frame. The prefix keeps them apart from survey data.
WEIGHT: Final = "__amniyat_weight"
STRATUM: Final = "__amniyat_stratum"
CLUSTER: Final = "__amniyat_cluster"


@dataclass(frozen=True, slots=True)
class Design:
    """Column names describing a complex survey design; every field is optional.

    Attributes:
        weight: sampling weight (numeric, finite, >= 0; zero weights are allowed and count for
            nothing). None: every row weighs 1.
        strata: first-stage stratum of each row. None: a single stratum.
        cluster: first-stage cluster (PSU) of each row. None: each row is its own PSU. Clusters
            are taken as nested in strata: the same id in two strata is two PSUs (R's
            ``nest = TRUE``).
        fpc: finite population correction, constant within a stratum. Values >= 1 are the number
            of PSUs in the stratum's population (``N_h``); values <= 1 are the first-stage
            sampling fraction (``f_h = n_h / N_h``). As in R ``svydesign(fpc = ...)``, a frame
            must use one convention throughout. None: sampling with replacement (no correction).
        lonely_psu: policy for strata with a single PSU; see `LonelyPsu`.
    """

    weight: str | None = None
    strata: str | None = None
    cluster: str | None = None
    fpc: str | None = None
    lonely_psu: LonelyPsu = "fail"

    def __post_init__(self) -> None:
        if self.lonely_psu not in LONELY_PSU_POLICIES:
            raise DesignError(
                f"lonely_psu must be one of {', '.join(LONELY_PSU_POLICIES)}; "
                f"got {self.lonely_psu!r}"
            )
        for role in ("weight", "strata", "cluster", "fpc"):
            name = getattr(self, role)
            if name is not None and (not isinstance(name, str) or not name):
                raise DesignError(f"design {role} must be a column name or None; got {name!r}")


@dataclass(frozen=True, slots=True)
class PreparedSurvey:
    """A frame checked against its design, with the per-stratum constants variance needs.

    Internal to `amniyat.stats`: built by `prepare_survey` and consumed by the estimators.

    Attributes:
        frame: the caller's frame plus the columns `WEIGHT`, `STRATUM` and (when the design has
            clusters) `CLUSTER`.
        design: the design it was checked against.
        strata: one row per stratum: `STRATUM`, ``n_h`` (PSUs sampled), ``between_factor``
            (``(1 - f_h) n_h / (n_h - 1)``, 0 for a lonely stratum) and ``lonely_factor``
            (``1 - f_h`` for a lonely stratum under ``"adjust"``, else 0).
        n_psu: number of PSUs in the design.
        n_strata: number of strata.
        lonely_total: sum of ``lonely_factor`` over strata.
    """

    frame: pl.DataFrame
    design: Design
    strata: pl.DataFrame
    n_psu: int
    n_strata: int
    lonely_total: float

    @property
    def has_clusters(self) -> bool:
        """Whether PSUs are groups of rows (else each row is its own PSU)."""
        return self.design.cluster is not None

    @property
    def degrees_of_freedom(self) -> int:
        """Design degrees of freedom: number of PSUs minus number of strata."""
        return self.n_psu - self.n_strata


def require_columns(frame: pl.DataFrame, names: dict[str, str | None]) -> None:
    """Raise `ColumnError` if a named column is missing; ``names`` maps a role to a column."""
    missing = [
        (role, name) for role, name in names.items() if name is not None and name not in frame
    ]
    if missing:
        role, name = missing[0]
        shown = ", ".join(frame.columns[:30]) + (", ..." if frame.width > 30 else "")
        raise ColumnError(f"{role} column {name!r} not found; the frame has columns: {shown}")


def _format_key(value: object) -> str:
    return repr(value) if isinstance(value, str) else str(value)


def _check_weight(frame: pl.DataFrame, column: str) -> None:
    dtype = frame.schema[column]
    if not dtype.is_numeric():
        raise DesignError(f"weight column {column!r} must be numeric; it holds {dtype}")
    weight = pl.col(column).cast(pl.Float64)
    nulls, non_finite, negative, first_negative = frame.select(
        weight.is_null().sum().alias("nulls"),
        (~weight.is_finite()).sum().alias("non_finite"),
        (weight < 0).sum().alias("negative"),
        pl.arg_where(weight < 0).first().alias("first_negative"),
    ).row(0)
    if nulls:
        raise DesignError(f"weight column {column!r} has {nulls} missing value(s)")
    if non_finite:
        raise DesignError(f"weight column {column!r} has {non_finite} NaN or infinite value(s)")
    if negative:
        raise DesignError(
            f"weight column {column!r} has {negative} negative value(s), "
            f"the first in row {first_negative}; sampling weights must be >= 0"
        )


def _check_no_nulls(frame: pl.DataFrame, column: str, role: str) -> None:
    nulls = frame[column].null_count()
    if nulls:
        raise DesignError(f"{role} column {column!r} has {nulls} missing value(s)")


def _finite_population_factor(
    frame: pl.DataFrame, column: str, per_stratum: pl.DataFrame
) -> pl.DataFrame:
    """Add ``one_minus_f`` (``1 - n_h / N_h``) to the per-stratum table, checking the fpc."""
    dtype = frame.schema[column]
    if not dtype.is_numeric():
        raise DesignError(f"fpc column {column!r} must be numeric; it holds {dtype}")
    _check_no_nulls(frame, column, "fpc")
    fpc = pl.col(column).cast(pl.Float64)
    by_stratum = frame.group_by(STRATUM).agg(fpc.min().alias("low"), fpc.max().alias("high"))
    varying = by_stratum.filter(pl.col("low") != pl.col("high"))
    if varying.height:
        stratum = varying[STRATUM][0]
        raise DesignError(
            f"fpc column {column!r} varies within stratum {_format_key(stratum)}; "
            "it must hold one value per stratum"
        )
    low, high = by_stratum.select(pl.col("low").min(), pl.col("high").max()).row(0)
    if low < 0 or low != low:  # negative or NaN
        raise DesignError(f"fpc column {column!r} has negative or NaN values")
    if low < 1 < high:
        raise DesignError(
            f"fpc column {column!r} mixes sampling fractions (<= 1) and population sizes (>= 1); "
            "use one convention"
        )
    table = per_stratum.join(by_stratum.select(STRATUM, pl.col("low").alias("fpc")), on=STRATUM)
    if high > 1:  # population sizes: N_h PSUs in the stratum's population
        too_small = table.filter(pl.col("fpc") < pl.col("n_h"))
        if too_small.height:
            row = too_small.row(0, named=True)
            raise DesignError(
                f"fpc column {column!r} gives {row['fpc']:g} PSUs in the population of stratum "
                f"{_format_key(row[STRATUM])}, but {row['n_h']} were sampled"
            )
        fraction = pl.col("n_h") / pl.col("fpc")
    else:  # sampling fractions
        fraction = pl.col("fpc")
    return table.with_columns((1.0 - fraction).alias("one_minus_f")).drop("fpc")


def prepare_survey(frame: pl.DataFrame, design: Design | None) -> PreparedSurvey:
    """Check ``frame`` against ``design`` and compute the per-stratum variance constants.

    Raises:
        ColumnError: a design column is missing.
        DesignError: weights are non-numeric, missing, non-finite or negative; strata or clusters
            are missing; the fpc is inconsistent.
        LonelyPsuError: a stratum has one PSU and the policy is ``"fail"``.
    """
    if not isinstance(frame, pl.DataFrame):
        raise ColumnError(f"expected a polars DataFrame, got {type(frame).__name__}")
    design = design if design is not None else Design()
    require_columns(
        frame,
        {
            "weight": design.weight,
            "strata": design.strata,
            "cluster": design.cluster,
            "fpc": design.fpc,
        },
    )
    if frame.height == 0:
        raise DesignError("the frame has no rows")
    additions: list[pl.Expr] = []
    if design.weight is not None:
        _check_weight(frame, design.weight)
        additions.append(pl.col(design.weight).cast(pl.Float64).alias(WEIGHT))
    else:
        additions.append(pl.lit(1.0, dtype=pl.Float64).alias(WEIGHT))
    if design.strata is not None:
        _check_no_nulls(frame, design.strata, "strata")
        additions.append(pl.col(design.strata).alias(STRATUM))
    else:
        additions.append(pl.lit(1, dtype=pl.Int32).alias(STRATUM))
    if design.cluster is not None:
        _check_no_nulls(frame, design.cluster, "cluster")
        additions.append(pl.col(design.cluster).alias(CLUSTER))
    prepared = frame.with_columns(additions)

    if design.cluster is not None:
        per_stratum = (
            prepared.select(STRATUM, CLUSTER)
            .unique()
            .group_by(STRATUM)
            .agg(pl.len().cast(pl.Int64).alias("n_h"), pl.col(CLUSTER).first().alias("psu"))
        )
    else:
        per_stratum = (
            prepared.select(STRATUM)
            .with_row_index("row")
            .group_by(STRATUM)
            .agg(
                pl.len().cast(pl.Int64).alias("n_h"),
                pl.format("row {}", pl.col("row").first()).alias("psu"),
            )
        )
    if design.fpc is not None:
        per_stratum = _finite_population_factor(prepared, design.fpc, per_stratum)
    else:
        per_stratum = per_stratum.with_columns(pl.lit(1.0, dtype=pl.Float64).alias("one_minus_f"))

    lonely = (pl.col("n_h") == 1) & (pl.col("one_minus_f") > 0)
    if design.lonely_psu == "fail":
        lonely_strata = per_stratum.filter(lonely).sort(STRATUM)
        if lonely_strata.height and design.strata is None:
            raise LonelyPsuError(
                f"the sample has a single PSU ({lonely_strata['psu'][0]}), so no variance can "
                "be estimated"
            )
        if lonely_strata.height:
            shown = "; ".join(
                f"stratum {_format_key(row[STRATUM])} (only PSU: {row['psu']})"
                for row in lonely_strata.head(5).iter_rows(named=True)
            )
            more = f" and {lonely_strata.height - 5} more" if lonely_strata.height > 5 else ""
            raise LonelyPsuError(
                f"{lonely_strata.height} stratum(s) have a single PSU, so their variance cannot "
                f"be estimated: {shown}{more}. Merge them with a neighbouring stratum or choose "
                "Design(lonely_psu=...) 'adjust', 'remove' or 'certainty'."
            )
    n_h = pl.col("n_h").cast(pl.Float64)
    strata = per_stratum.select(
        STRATUM,
        pl.col("n_h"),
        pl.when(pl.col("n_h") > 1)
        .then(pl.col("one_minus_f") * n_h / (n_h - 1.0))
        .otherwise(0.0)
        .alias("between_factor"),
        pl.when(lonely & pl.lit(design.lonely_psu == "adjust"))
        .then(pl.col("one_minus_f"))
        .otherwise(0.0)
        .alias("lonely_factor"),
    )
    n_psu, lonely_total = strata.select(pl.col("n_h").sum(), pl.col("lonely_factor").sum()).row(0)
    return PreparedSurvey(
        frame=prepared,
        design=design,
        strata=strata,
        n_psu=int(n_psu),
        n_strata=strata.height,
        lonely_total=float(lonely_total),
    )
