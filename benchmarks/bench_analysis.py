"""Benchmark the whole ``amniyat analyze`` path: YAML indicators to protected estimates.

Generates N synthetic responses with the demo survey's fields (10 districts as strata, 400
settlements as clusters, uneven weights, select_one and select_multiple answers as text, integer
trust scores, skipped questions), loads the demo indicator set
(``src/amniyat/analysis/data/community_security_indicators.yaml``: 23 indicators, one expanded
over 12 concerns, so 34 measures) and runs `amniyat.analysis.run_analysis` overall, by sex, by
age band, by district and by sex x district, with weights, strata, clusters and disclosure
control (primary and complementary suppression). Reports:

- wall time, CPU time and peak resident memory of the analysis (parse YAML, compile the expressions,
  estimate with variances, protect; then render JSON separately);
- the floor: a bare Polars weighted group-by computing only the point estimates of the same
  measures and disaggregations (from the same compiled conditions; no variance, no checks);
- samplics (``TaylorEstimator``) on a sample of rows for one measure and all disaggregations,
  scaled linearly to N rows and all measures;
- start-up, each a whole process as a user runs it (medians of several runs, taken in turn):
  ``amniyat analyze --help``, and ``amniyat analyze`` on a 100,000-row CSV of the same generated
  data (three weighted means, ``--by sex``, JSON) against its floor, a bare Polars script in its
  own process reading the file (``pl.read_csv``) and computing the same weighted means. Target:
  analyze within 2x of the floor; the script exits 1 when it is not. The processes run with
  their bytecode cached (a warm-up run compiles it, as installing the package does), even where
  ``PYTHONDONTWRITEBYTECODE`` is set.

Run: ``python benchmarks/bench_analysis.py [--rows N] [--samplics-rows M] [--no-samplics]
[--startup-rows N] [--startup-runs K]``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import polars as pl

from amniyat.analysis import load_indicators, measures_for, render_json, run_analysis
from amniyat.stats import Design

SPEC = (
    Path(__file__).resolve().parents[1]
    / "src/amniyat/analysis/data/community_security_indicators.yaml"
)
BY: list[list[str]] = [["sex"], ["age_band"], ["district"], ["sex", "district"]]
DESIGN = Design(weight="weight", strata="stratum", cluster="cluster", lonely_psu="adjust")
SAFETY = np.array(["very_safe", "safe", "unsafe", "very_unsafe"])
CONCERNS = [
    "unemployment", "youth_idleness", "gbv", "domestic_violence", "police_abuse", "corruption",
    "drugs", "theft", "conflict_neighbours", "radicalisation", "poor_services", "land_water",
]  # fmt: skip

T = TypeVar("T")

STARTUP_TARGET = 2.0
STARTUP_MEANS = ("trust_police", "trust_local_authority", "age")
STARTUP_SPEC = "indicators:\n" + "".join(
    f"  - {{id: {name}, label: {name}, type: mean, value: '${{{name}}}'}}\n"
    for name in STARTUP_MEANS
)
# The floor: what a Polars user writes to get the same numbers (weighted means of the answered
# rows, overall and by sex), printed as JSON so the benchmark can check they are the same.
FLOOR_SCRIPT = """
import json, sys
import polars as pl

frame = pl.read_csv(sys.argv[1])
weight = pl.col("weight")
means = [
    ((weight * pl.col(name)).sum() / weight.filter(pl.col(name).is_not_null()).sum()).alias(name)
    for name in sys.argv[2:]
]
overall = frame.select(means)
by_sex = frame.group_by("sex").agg(means)
print(json.dumps({"overall": overall.to_dicts()[0], "sex": by_sex.to_dicts()}))
"""


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
    """Synthetic responses with the demo form's fields; answers are text, as ODK sends them."""
    rng = np.random.default_rng(seed)
    n_clusters = 400
    cluster = rng.integers(0, n_clusters, rows)
    district = cluster % 10
    effect = rng.normal(0, 0.6, n_clusters)[cluster]
    age = rng.integers(18, 80, rows)

    def pick(options: Sequence[str], p: Sequence[float] | None = None) -> Any:
        return rng.choice(np.array(options), rows, p=p)

    def skipped(values: Any, share: float) -> list[Any]:
        mask = rng.random(rows) < share
        return [None if m else v for v, m in zip(values.tolist(), mask.tolist(), strict=True)]

    shift = np.clip(np.round(rng.normal(1.2 - effect, 1.0, rows)), 0, 3).astype(int)
    trust = np.clip(np.round(rng.normal(3 + effect, 1.1, rows)), 1, 5).astype(int)
    columns: dict[str, Any] = {
        "district": np.char.add("district_", district.astype(str)),
        "settlement": np.char.add("s", cluster.astype(str)),
        "sex": pick(["female", "male"], [0.52, 0.48]),
        "age": age,
        "age_band": np.select(
            [age < 30, age < 45, age < 60], ["18-29", "30-44", "45-59"], default="60+"
        ),
        "returning_migrant": pick(["yes", "no"], [0.15, 0.85]),
        "safe_day": SAFETY[np.maximum(shift - 1, 0)],
        "safe_night": skipped(SAFETY[shift], 0.05),
        "causes": np.full(rows, "free text"),
        "trust_police": skipped(trust, 0.08),
        "trust_local_authority": rng.integers(1, 6, rows),
        "authorities_consult": pick(["yes", "no", "dont_know"]),
        "women_participate": pick(["yes", "no", "dont_know"]),
        "youth_participate": pick(["yes", "no", "dont_know"]),
        "harassment_experienced": pick(["yes", "no", "refused"], [0.2, 0.7, 0.1]),
        "violence_experienced": pick(["yes", "no", "refused"], [0.1, 0.8, 0.1]),
        "aware_community_group": pick(["yes", "no"], [0.4, 0.6]),
        "participated_community_meeting": pick(["yes", "no"], [0.2, 0.8]),
        "weight": rng.lognormal(0, 0.6, n_clusters)[cluster] * rng.lognormal(0, 0.3, rows),
        "cluster": cluster,
    }
    chosen = rng.random((rows, len(CONCERNS))) < 0.2
    frame = pl.DataFrame(columns).with_columns(
        pl.col("district").alias("stratum"),
        pl.concat_str(
            [
                pl.when(pl.lit(pl.Series(chosen[:, k])))
                .then(pl.lit(name + " "))
                .otherwise(pl.lit(""))
                for k, name in enumerate(CONCERNS)
            ]
        )
        .str.strip_chars()
        .alias("concerns"),
        pl.col("trust_police").cast(pl.Int64),
    )
    return frame


def run_analyze(frame: pl.DataFrame, spec: str) -> Any:
    indicators = load_indicators(spec, fields=frame.columns)
    return run_analysis(frame, indicators, design=DESIGN, by=BY, min_cell=5)


def run_floor(frame: pl.DataFrame, spec: str) -> list[pl.DataFrame]:
    """Point estimates only: the measures' columns, then one weighted group-by per
    disaggregation (the cheapest way Polars offers; no variance, no design checks)."""
    indicators = load_indicators(spec)
    measures = measures_for(indicators, frame)
    weight = pl.col("weight")
    names = [f"m{k}" for k in range(len(measures))]
    values = frame.lazy().select(
        "weight",
        "sex",
        "age_band",
        "district",
        *[m.column(frame.schema).alias(name) for m, name in zip(measures, names, strict=True)],
    )
    terms = [(weight * pl.col(v)).alias(f"{v}_wy") for v in names] + [
        (weight * pl.col(v).is_not_null()).alias(f"{v}_w") for v in names
    ]
    sums = [term.meta.output_name() for term in terms]
    prepared = values.select("sex", "age_band", "district", *terms).collect()
    results = []
    for by in [[], *BY]:
        keys: list[pl.Expr] = [pl.col(name) for name in by] or [pl.lit(1).alias("all")]
        key_names = by or ["all"]
        results.append(
            prepared.lazy()
            .select([*keys, *sums])
            .group_by(key_names)
            .agg(pl.col(sums).sum())
            .select([*key_names, *[(pl.col(f"{v}_wy") / pl.col(f"{v}_w")).alias(v) for v in names]])
            .collect()
        )
    return results


def run_samplics(frame: pl.DataFrame, spec: str) -> int:
    """One measure (the first), every disaggregation, through samplics's TaylorEstimator."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from samplics import PopParam, TaylorEstimator

        (measure, *_) = measures_for(load_indicators(spec), frame)
        y_column = frame.select(measure.column(frame.schema).alias("y"))["y"]
        data = frame.select("weight", "stratum", "cluster", "sex", "age_band", "district")
        data = data.with_columns(y_column).to_pandas()
        answered = data["y"].notna().to_numpy()
        y = data["y"].fillna(0).astype(int).to_numpy()
        count = 0
        for by in [[], *BY]:
            label = data[by].astype(str).agg("|".join, axis=1).to_numpy() if by else None
            domain = np.where(answered, label if label is not None else "all", "__missing__")
            estimator = TaylorEstimator(PopParam.prop)
            estimator.estimate(
                y=y,
                samp_weight=data["weight"].to_numpy(),
                stratum=data["stratum"].to_numpy(),
                psu=data["cluster"].to_numpy(),
                domain=domain,
            )
            count += len(estimator.point_est) - 1
    return count


def command_line_program() -> list[str]:
    """The ``amniyat`` command installed beside this Python, else the same entry point."""
    installed = Path(sys.executable).with_name("amniyat")
    if installed.exists():
        return [str(installed)]
    return [sys.executable, "-c", "from amniyat.cli import main; main()"]


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_process(command: Sequence[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Wall seconds, CPU seconds and standard output of one process."""
    cpu_before = children_cpu_seconds()
    start = time.perf_counter()
    done = subprocess.run(  # noqa: S603
        command, capture_output=True, text=True, env=env, check=False, timeout=600
    )
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command[:3])}… failed:\n{done.stderr}")
    return seconds, children_cpu_seconds() - cpu_before, done.stdout


def same_means(analyze_json: str, floor_json: str) -> bool:
    """Whether the command's estimates are the floor's numbers (both computed the same means)."""
    estimates = json.loads(analyze_json)["estimates"]
    floor = json.loads(floor_json)
    wanted = {(name, ()): value for name, value in floor["overall"].items()}
    for row in floor["sex"]:
        for name in STARTUP_MEANS:
            wanted[(name, (("sex", row["sex"]),))] = row[name]
    found = {(e["indicator"], tuple(sorted(e["domain"].items()))): e["estimate"] for e in estimates}
    return found.keys() == wanted.keys() and all(
        abs(found[key] - value) <= 1e-9 * abs(value) for key, value in wanted.items()
    )


def startup(frame: pl.DataFrame, runs: int) -> bool:
    """Print the whole-process figures; answer whether analyze is within the target."""
    with tempfile.TemporaryDirectory() as folder:
        data, spec, floor_script = (
            Path(folder) / name for name in ("data.csv", "spec.yaml", "floor.py")
        )
        frame.write_csv(data)
        spec.write_text(STARTUP_SPEC, encoding="utf-8")
        floor_script.write_text(FLOOR_SCRIPT, encoding="utf-8")
        env = {**os.environ, "PYTHONPYCACHEPREFIX": str(Path(folder) / "bytecode")}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        program = command_line_program()
        commands = {
            "help": [*program, "analyze", "--help"],
            "analyze": [*program, "analyze", str(data), "--indicators", str(spec),
                        "--weight", "weight", "--by", "sex", "--format", "json"],
            "floor": [sys.executable, str(floor_script), str(data), *STARTUP_MEANS],
        }  # fmt: skip
        outputs = {name: run_process(command, env)[2] for name, command in commands.items()}
        walls: dict[str, list[float]] = {name: [] for name in commands}
        cpus: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(runs):  # in turn, so that a busy moment weighs on all three alike
            for name, command in commands.items():
                wall, cpu, _ = run_process(command, env)
                walls[name].append(wall)
                cpus[name].append(cpu)
    wall = {name: statistics.median(values) for name, values in walls.items()}
    cpu = {name: statistics.median(values) for name, values in cpus.items()}
    ratio = wall["analyze"] / wall["floor"]
    print(f"start-up, whole processes, median of {runs} runs (bytecode cached):")
    print(f"  amniyat analyze --help: {wall['help']:.2f} s wall, {cpu['help']:.2f} s CPU")
    print(
        f"  amniyat analyze, {frame.height:,}-row CSV, {len(STARTUP_MEANS)} weighted means, "
        f"--by sex, JSON: {wall['analyze']:.2f} s wall, {cpu['analyze']:.2f} s CPU"
    )
    print(
        f"  floor (bare Polars script: read_csv, the same means): {wall['floor']:.2f} s wall, "
        f"{cpu['floor']:.2f} s CPU; analyze / floor = {ratio:.2f}x wall "
        f"(target <= {STARTUP_TARGET:.0f}x), {cpu['analyze'] / cpu['floor']:.2f}x CPU"
    )
    if not same_means(outputs["analyze"], outputs["floor"]):
        print("  the floor's means differ from analyze's estimates")
        return False
    return ratio <= STARTUP_TARGET


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--samplics-rows", type=int, default=20_000)
    parser.add_argument("--no-samplics", action="store_true")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--startup-rows", type=int, default=100_000)
    parser.add_argument("--startup-runs", type=int, default=7)
    args = parser.parse_args(argv)

    spec = SPEC.read_text(encoding="utf-8")
    print(f"Polars {pl.__version__}, {pl.thread_pool_size()} threads")
    frame, seconds = timed(lambda: generate(args.rows, args.seed))
    print(
        f"generated {frame.height:,} rows x {frame.width} columns in {seconds:.2f} s; "
        f"peak RSS {peak_rss_mib():.0f} MiB"
    )
    run_analyze(frame.head(10_000), spec)  # warm up Polars' thread pool and the parser
    before = peak_rss_mib()
    cpu_before = cpu_seconds()
    result, analyze_seconds = timed(lambda: run_analyze(frame, spec))
    analyze_cpu = cpu_seconds() - cpu_before
    n_measures = len(result.measures)
    suppressed = sum(f.estimate.suppressed for f in result.estimates)
    print(
        f"amniyat analyze: {len(result.estimates):,} estimates ({n_measures} measures x "
        f"{len(result.estimates) // n_measures} domains, {suppressed} suppressed) in "
        f"{analyze_seconds:.2f} s wall, {analyze_cpu:.2f} s CPU; peak RSS {peak_rss_mib():.0f} MiB "
        f"(before: {before:.0f} MiB)"
    )
    text, json_seconds = timed(lambda: render_json(result))
    print(f"  + JSON output ({len(text) / 1024:.0f} KiB): {json_seconds:.2f} s")

    cpu_before = cpu_seconds()
    _, floor_seconds = timed(lambda: run_floor(frame, spec))
    floor_cpu = cpu_seconds() - cpu_before
    print(
        f"floor (bare Polars weighted group-by, point estimates only): {floor_seconds:.2f} s "
        f"wall, {floor_cpu:.2f} s CPU; analyze / floor = {analyze_seconds / floor_seconds:.1f}x "
        f"wall, {analyze_cpu / floor_cpu:.1f}x CPU"
    )
    if not args.no_samplics:
        samplics(frame, spec, args, n_measures, analyze_seconds, analyze_cpu)
    within = startup(frame.head(args.startup_rows), args.startup_runs)
    if not within:
        print("Below target.")
        sys.exit(1)


def samplics(
    frame: pl.DataFrame,
    spec: str,
    args: argparse.Namespace,
    n_measures: int,
    analyze_seconds: float,
    analyze_cpu: float,
) -> None:
    sample = frame.sample(n=min(args.samplics_rows, frame.height), seed=args.seed)
    cpu_before = cpu_seconds()
    count, samplics_seconds = timed(lambda: run_samplics(sample, spec))
    samplics_cpu = cpu_seconds() - cpu_before
    scale = frame.height / sample.height * n_measures
    print(
        f"samplics on {sample.height:,} rows, 1 measure, {count} domains: "
        f"{samplics_seconds:.2f} s wall, {samplics_cpu:.2f} s CPU"
    )
    print(
        f"samplics scaled to {frame.height:,} rows x {n_measures} measures: "
        f"~{samplics_seconds * scale:.0f} s; samplics / amniyat analyze = "
        f"{samplics_seconds * scale / analyze_seconds:.0f}x wall, "
        f"{samplics_cpu * scale / analyze_cpu:.0f}x CPU"
    )


if __name__ == "__main__":
    main()
