"""Independent implementations that `amniyat.stats` is checked against.

- `samplics_estimate`: samplics's `TaylorEstimator` (a test-only dependency), run on numpy arrays.
  Missing values are expressed the way our library treats them: the row is moved out of the
  domain (samplics has no notion of it otherwise; its ``remove_nan`` would drop whole PSUs).
- `reference_variance`: a deliberately plain numpy loop over strata and PSUs implementing the
  with-replacement ultimate-cluster variance with each lonely-PSU policy (following R survey's
  ``arma_onestage``), used where samplics has no counterpart (``adjust``, covariances).
- `make_survey`: a generated stratified cluster sample with uneven weights, domains, missing
  values, PSU ids reused across strata and a region that covers whole PSUs only.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Hashable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

FloatArray = npt.NDArray[np.float64]


@contextmanager
def quiet() -> Iterator[None]:
    """samplics warns on import (it is archived) and pandas warns inside it; the suite's
    ``filterwarnings = error`` must not turn those into failures."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


with quiet():
    from samplics import PopParam, SinglePSUEst, TaylorEstimator


def scipy_stats() -> Any:
    """``scipy.stats`` (a samplics dependency; SciPy ships no type stubs)."""
    with quiet():
        return importlib.import_module("scipy.stats")


@dataclass(frozen=True)
class Reference:
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    df: int


def samplics_estimate(
    kind: str,
    y: FloatArray,
    weight: FloatArray,
    stratum: npt.NDArray[Any] | None,
    psu: npt.NDArray[Any] | None,
    domain: npt.NDArray[Any] | None = None,
    fpc: Mapping[Hashable, float] | None = None,
    single_psu: str = "error",
) -> dict[Hashable, Reference]:
    """Run samplics; return one result per domain label (key None when no domain).

    ``y`` may hold NaN: those rows are put in a domain of their own ("__missing__") and the NaN
    replaced by a harmless filler, which is how `amniyat.stats` defines missing values.
    """
    param = {"proportion": PopParam.prop, "mean": PopParam.mean, "total": PopParam.total}[kind]
    missing = np.isnan(y)
    filled = np.where(missing, 0.0 if kind == "proportion" else 1.0, y)
    if domain is None:
        labels = np.where(missing, "__missing__", "__all__").astype(object)
    else:
        labels = np.where(missing, "__missing__", domain.astype(str)).astype(object)
    if kind == "proportion":
        filled = filled.astype(np.int64)
    policy = {"error": SinglePSUEst.error, "skip": SinglePSUEst.skip}[single_psu]
    estimator = TaylorEstimator(param, alpha=0.05)
    with quiet():
        estimator.estimate(
            y=filled,
            samp_weight=weight,
            stratum=stratum,
            psu=psu,
            domain=labels,
            fpc=dict(fpc) if fpc is not None else 1.0,
            single_psu=policy,
        )
    results: dict[Hashable, Reference] = {}
    for label in estimator.point_est:
        if label == "__missing__":
            continue
        point, se = estimator.point_est[label], estimator.stderror[label]
        low, high = estimator.lower_ci[label], estimator.upper_ci[label]
        if kind == "proportion":
            point, se, low, high = point[1], se[1], low[1], high[1]
        key = None if label == "__all__" else label
        results[key] = Reference(
            float(point), float(se), float(low), float(high), int(estimator.degree_of_freedom)
        )
    return results


def reference_variance(
    scores: FloatArray,
    stratum: npt.NDArray[Any],
    psu: npt.NDArray[Any],
    *,
    policy: str = "fail",
    one_minus_f: Mapping[Hashable, float] | None = None,
) -> float:
    """Ultimate-cluster variance of ``sum(scores)``, written as a plain loop.

    ``V = sum_h (1 - f_h) n_h / (n_h - 1) sum_c (z_hc - zbar_h)^2``; a stratum with one PSU adds
    nothing ("remove", "certainty") or ``(1 - f_h) (z_h - Z / n_psu)^2`` ("adjust").
    """
    strata = sorted(set(stratum.tolist()))
    psu_totals: dict[Hashable, list[float]] = {}
    for h in strata:
        in_stratum = stratum == h
        psus = sorted(set(psu[in_stratum].tolist()))
        psu_totals[h] = [float(scores[in_stratum & (psu == c)].sum()) for c in psus]
    n_psu = sum(len(totals) for totals in psu_totals.values())
    grand_mean = float(scores.sum()) / n_psu
    variance = 0.0
    for h, totals in psu_totals.items():
        factor = 1.0 if one_minus_f is None else one_minus_f[h]
        n_h = len(totals)
        if n_h == 1:
            if policy == "fail":
                raise AssertionError(f"lonely stratum {h}")
            if policy == "adjust":
                variance += factor * (totals[0] - grand_mean) ** 2
            continue
        mean = sum(totals) / n_h
        variance += factor * n_h / (n_h - 1) * sum((t - mean) ** 2 for t in totals)
    return variance


def ratio_scores(y: FloatArray, weight: FloatArray, in_domain: npt.NDArray[np.bool_]) -> FloatArray:
    """Linearised scores of a domain mean, row by row: ``d w (y - R) / N_d``."""
    d = in_domain & ~np.isnan(y)
    values = np.where(d, y, 0.0)
    size = float((weight * d).sum())
    ratio = float((weight * values).sum()) / size
    return np.where(d, weight * (values - ratio) / size, 0.0)


def make_survey(
    seed: int,
    *,
    n_strata: int = 6,
    psus_per_stratum: tuple[int, int] = (2, 7),
    rows_per_psu: tuple[int, int] = (3, 25),
    missing: float = 0.1,
) -> pl.DataFrame:
    """A stratified two-stage sample with uneven weights, domains and missing values."""
    rng = np.random.default_rng(seed)
    records: dict[str, list[Any]] = {
        name: []
        for name in (
            "stratum",
            "psu",
            "weight",
            "income",
            "feels_safe",
            "sex",
            "age_band",
            "urban",
            "population_psus",
        )
    }
    for h in range(n_strata):
        n_psu = int(rng.integers(psus_per_stratum[0], psus_per_stratum[1] + 1))
        population = n_psu + int(rng.integers(0, 40))
        stratum_effect = rng.normal(0, 1)
        for c in range(1, n_psu + 1):  # PSU ids repeat across strata: nested in strata
            size = int(rng.integers(rows_per_psu[0], rows_per_psu[1] + 1))
            psu_effect = rng.normal(0, 0.7)
            urban = bool(rng.random() < 0.4)
            base_weight = rng.lognormal(3, 0.6)
            for _ in range(size):
                records["stratum"].append(f"district-{h}")
                records["psu"].append(c)
                records["weight"].append(base_weight * rng.lognormal(0, 0.3))
                income = 50 + 8 * stratum_effect + 5 * psu_effect + rng.normal(0, 10)
                records["income"].append(None if rng.random() < missing else income)
                p = 1 / (1 + np.exp(-(stratum_effect + psu_effect - 0.3)))
                safe = int(rng.random() < p)
                records["feels_safe"].append(None if rng.random() < missing else safe)
                records["sex"].append("female" if rng.random() < 0.52 else "male")
                records["age_band"].append(str(rng.choice(["18-29", "30-44", "45+"])))
                records["urban"].append(urban)
                records["population_psus"].append(population)
    return pl.DataFrame(
        records,
        schema={
            "stratum": pl.String,
            "psu": pl.Int64,
            "weight": pl.Float64,
            "income": pl.Float64,
            "feels_safe": pl.Int64,
            "sex": pl.String,
            "age_band": pl.String,
            "urban": pl.Boolean,
            "population_psus": pl.Int64,
        },
    )


def as_numpy(frame: pl.DataFrame, column: str) -> FloatArray:
    """A numeric column as float64 with NaN for null."""
    return frame[column].cast(pl.Float64).fill_null(float("nan")).to_numpy()


def one_minus_f(frame: pl.DataFrame) -> dict[Hashable, float]:
    """``1 - n_h / N_h`` per stratum, in samplics's key order (sorted strata)."""
    per_stratum = (
        frame.group_by("stratum")
        .agg(pl.col("psu").n_unique().alias("n_h"), pl.col("population_psus").first())
        .sort("stratum")
    )
    return {
        row["stratum"]: 1.0 - row["n_h"] / row["population_psus"]
        for row in per_stratum.iter_rows(named=True)
    }
