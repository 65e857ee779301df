"""Benchmark `amniyat.stats` on a survey the size of a large programme's data.

Generates N synthetic responses (10 districts as strata, ~400 clusters, uneven weights, sex, age
band, 30 yes/no indicators with missing answers), then estimates all 30 indicators overall, by
sex, by age band, by district and by sex x district, with small-cell suppression, and reports:

- wall time and peak resident memory (``resource.getrusage``: tracemalloc does not see Polars);
- the floor: a bare Polars weighted group-by computing only the 30 weighted proportions of the
  same disaggregations (no variance), and the ratio to it;
- samplics (``TaylorEstimator``) on a sample of rows for one indicator and all disaggregations,
  scaled linearly to N rows and 30 indicators, and the ratio to it.

Run: ``python benchmarks/bench_stats.py [--rows N] [--samplics-rows M] [--no-samplics]``.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import numpy as np
import polars as pl

from amniyat.stats import Design, estimate_by, protect_estimates

DISAGGREGATIONS: list[list[str]] = [[], ["sex"], ["age_band"], ["district"], ["sex", "district"]]
INDICATORS = [f"q{k:02d}" for k in range(30)]
DESIGN = Design(weight="weight", strata="district", cluster="cluster", lonely_psu="adjust")

T = TypeVar("T")


def peak_rss_mib() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 / 1024 if sys.platform == "darwin" else peak / 1024


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def timed(action: Callable[[], T]) -> tuple[T, float]:
    start = time.perf_counter()
    result = action()
    return result, time.perf_counter() - start


def generate(rows: int, seed: int) -> pl.DataFrame:
    """Synthetic responses: 10 districts x 40 clusters, cluster and district effects."""
    rng = np.random.default_rng(seed)
    n_clusters = 400
    cluster = rng.integers(0, n_clusters, rows)
    district = cluster % 10
    cluster_effect = rng.normal(0, 0.5, n_clusters)[cluster]
    columns: dict[str, Any] = {
        "district": district,
        "cluster": cluster,
        "weight": rng.lognormal(0, 0.6, n_clusters)[cluster] * rng.lognormal(0, 0.3, rows),
        "sex": rng.choice(["female", "male"], rows, p=[0.52, 0.48]),
        "age_band": rng.choice(["18-24", "25-34", "35-49", "50-64", "65+"], rows),
    }
    for k, name in enumerate(INDICATORS):
        probability = 1 / (1 + np.exp(-(-2.0 + 0.12 * k + cluster_effect)))
        answer = (rng.random(rows) < probability).astype(np.float64)
        answer[rng.random(rows) < 0.05] = np.nan  # "don't know" / skipped
        columns[name] = answer
    return pl.DataFrame(columns).with_columns(pl.col(INDICATORS).fill_nan(None))


def run_amniyat(frame: pl.DataFrame, indicators: Sequence[str]) -> list[Any]:
    estimates = []
    for by in DISAGGREGATIONS:
        estimates += protect_estimates(
            estimate_by(frame, DESIGN, kind="proportion", value=list(indicators), by=by)
        )
    return estimates


def run_floor(frame: pl.DataFrame) -> list[pl.DataFrame]:
    """Weighted proportions only, the cheapest way Polars offers (no variance, no checks)."""
    weight = pl.col("weight")
    terms = [(weight * pl.col(v)).alias(f"{v}_wy") for v in INDICATORS] + [
        (weight * pl.col(v).is_not_null()).alias(f"{v}_w") for v in INDICATORS
    ]
    names = [term.meta.output_name() for term in terms]
    results = []
    for by in DISAGGREGATIONS:
        keys: list[pl.Expr] = [pl.col(name) for name in by] or [pl.lit(1).alias("all")]
        key_names = by or ["all"]
        sums = (
            frame.lazy()
            .select([*keys, *terms])
            .group_by(key_names)
            .agg(pl.col(names).sum())
            .select(
                [*key_names, *[(pl.col(f"{v}_wy") / pl.col(f"{v}_w")).alias(v) for v in INDICATORS]]
            )
            .collect()
        )
        results.append(sums)
    return results


def run_samplics(frame: pl.DataFrame, indicator: str) -> int:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from samplics import PopParam, TaylorEstimator

        data = frame.select(
            "weight", "district", "cluster", "sex", "age_band", pl.col(indicator)
        ).to_pandas()
        answered = data[indicator].notna().to_numpy()
        y = data[indicator].fillna(0).astype(int).to_numpy()
        count = 0
        for by in DISAGGREGATIONS:
            label = data[by].astype(str).agg("|".join, axis=1).to_numpy() if by else None
            domain = np.where(answered, label if label is not None else "all", "__missing__")
            estimator = TaylorEstimator(PopParam.prop)
            estimator.estimate(
                y=y,
                samp_weight=data["weight"].to_numpy(),
                stratum=data["district"].to_numpy(),
                psu=data["cluster"].to_numpy(),
                domain=domain,
            )
            count += len(estimator.point_est) - 1
    return count


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--samplics-rows", type=int, default=50_000)
    parser.add_argument("--no-samplics", action="store_true")
    parser.add_argument("--seed", type=int, default=2024)
    args = parser.parse_args(argv)

    print(f"Polars {pl.__version__}, {pl.thread_pool_size()} threads")
    frame, seconds = timed(lambda: generate(args.rows, args.seed))
    print(
        f"generated {frame.height:,} rows x {frame.width} columns in {seconds:.2f} s; "
        f"peak RSS {peak_rss_mib():.0f} MiB"
    )

    run_amniyat(frame.head(10_000), INDICATORS)  # warm up Polars' thread pool
    cpu_before = cpu_seconds()
    estimates, amniyat_seconds = timed(lambda: run_amniyat(frame, INDICATORS))
    cpu_used = cpu_seconds() - cpu_before
    suppressed = sum(e.suppressed for e in estimates)
    print(
        f"amniyat.stats: {len(estimates):,} estimates (30 indicators x "
        f"{len(estimates) // 30} domains, {suppressed} suppressed) in {amniyat_seconds:.2f} s "
        f"wall, {cpu_used:.2f} s CPU; peak RSS {peak_rss_mib():.0f} MiB"
    )
    _, floor_seconds = timed(lambda: run_floor(frame))
    print(
        f"floor (bare Polars weighted group-by, point estimates only): {floor_seconds:.2f} s; "
        f"amniyat / floor = {amniyat_seconds / floor_seconds:.1f}x"
    )

    if args.no_samplics:
        return
    sample = frame.sample(n=min(args.samplics_rows, frame.height), seed=args.seed)
    count, samplics_seconds = timed(lambda: run_samplics(sample, INDICATORS[0]))
    _, ours_on_sample = timed(lambda: run_amniyat(sample, INDICATORS[:1]))
    scale = frame.height / sample.height * len(INDICATORS)
    print(
        f"samplics on {sample.height:,} rows, 1 indicator, {count} domains: "
        f"{samplics_seconds:.2f} s (amniyat.stats: {ours_on_sample:.2f} s, "
        f"{samplics_seconds / ours_on_sample:.0f}x faster)"
    )
    print(
        f"samplics scaled to {frame.height:,} rows x 30 indicators: "
        f"~{samplics_seconds * scale:.0f} s; samplics / amniyat = "
        f"{samplics_seconds * scale / amniyat_seconds:.0f}x"
    )


if __name__ == "__main__":
    main()
