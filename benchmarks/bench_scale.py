"""Latency at national size: every GET route (pages and API) on a programme of a million
submissions, on SQLite and on PostgreSQL.

For each store, in a process of its own: builds the programme with ``amniyat bench-data
--submissions N`` (a fresh SQLite file; for PostgreSQL the database ``DATABASE_URL`` names, or
else a throwaway cluster started for the run when the PostgreSQL binaries are installed, as
``benchmarks/bench_import.py`` does), serves it as ``make demo`` does (gunicorn with
``WEB_CONCURRENCY`` workers and a task worker), signs in as the programme's lead, facilitator
and viewer, and walks every GET route the URL resolver knows, filled with real objects of the
programme (``bench_pages.walk_routes``, ``objects_of``, ``fill``): each route alone
(``--samples`` requests) and with ``--clients`` at once (``--rounds`` each). Beside every
route, its floor: the slowest SQL statement of one request to it, run again alone (median of
five), which no page can beat. Prints per store the p50/p95 table, the slowest ten, and whether
every route's p95 is under 300 ms at 20 clients; then both stores side by side.

    .venv/bin/python benchmarks/bench_scale.py                      # a million, both stores
    .venv/bin/python benchmarks/bench_scale.py --submissions 50000 --store sqlite

The exit status is 1 if a route misses the target, answered an error, or went unmeasured.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import bench_pages as pages

PROGRAMME = "national-scale"
ROLES = ("lead", "facilitator", "viewer")
FLOOR_RUNS = 5


def build(env: dict[str, str], submissions: int) -> float:
    """The programme, built by ``amniyat bench-data``; seconds it took."""
    started = time.monotonic()
    for command in (
        pages.amniyat("migrate", "--verbosity", "0"),
        pages.amniyat(
            "bench-data", "--submissions", str(submissions), "--programme", PROGRAMME, "--reset"
        ),
    ):
        done = subprocess.run(command, env=env, check=False)  # noqa: S603 - fixed arguments
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(command[2:])} failed ({done.returncode})")
    return time.monotonic() - started


def main_query_floor(visits: list[tuple[str, str]]) -> tuple[float, str]:
    """The slowest SQL statement of one request to the route (first visit), and its median
    time run again alone: the route's floor."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    username, address = visits[0]
    client = Client(HTTP_HOST=pages.HOST)
    client.force_login(get_user_model().objects.get(username=username))
    with CaptureQueriesContext(connection) as captured:
        client.get(address)
    statements = [
        q for q in captured.captured_queries if q["sql"].lstrip().upper().startswith("SELECT")
    ]
    if not statements:
        return float("nan"), ""
    slowest = max(statements, key=lambda q: float(q["time"]))
    times = []
    with connection.cursor() as cursor:
        for _ in range(FLOOR_RUNS):
            started = time.perf_counter()
            try:
                cursor.execute(slowest["sql"])
                cursor.fetchall()
            except Exception:  # a statement Django printed that does not run again as text
                return float("nan"), slowest["sql"][:120]
            times.append(time.perf_counter() - started)
    return statistics.median(times), slowest["sql"][:120]


def run_store(store: str, args: argparse.Namespace, out: Path) -> int:
    """Build, serve and measure one store; the results as JSON in ``out``."""
    home = Path(tempfile.mkdtemp(prefix=f"amniyat-scale-{store}-"))
    env = pages.environment(home)
    env["AMNIYAT_DEMO"] = "0"
    if store == "postgresql":
        env["DATABASE_URL"] = os.environ["BENCH_SCALE_DATABASE_URL"]
    server = worker = None
    log_path = home / "server.log"
    log = log_path.open("wb")
    began = time.monotonic()
    try:
        print(f"[{store}] building {args.submissions:,} submissions in {home} …", flush=True)
        built = build(env, args.submissions)
        os.environ.update(env)
        import django

        django.setup()
        from django.conf import settings

        from amniyat.accounts.models import Programme
        from amniyat.demo.build import DEMO_PASSWORD
        from amniyat.fieldwork.models import Submission

        settings.ALLOWED_HOSTS = [pages.HOST, "testserver"]
        programme = Programme.objects.get(slug=PROGRAMME)
        count = Submission.objects.filter(form__assessment__programme=programme).count()
        port = pages.free_port()
        worker = pages.start(pages.amniyat("worker"), env, log)
        server = pages.start(
            pages.amniyat(
                "serve", "--bind", f"{pages.HOST}:{port}", "--workers", str(args.workers)
            ),
            env,
            log,
        )
        pages.wait_ready(port, time.monotonic() + 60)
        print(
            f"[{store}] {count:,} submissions built in {built:.0f} s; gunicorn ({args.workers} "
            f"workers) with a task worker; {os.cpu_count()} CPUs",
            flush=True,
        )
        usernames = [f"{PROGRAMME}-{role}" for role in ROLES]
        pages.prepared_downloads(programme, usernames)
        pages.wait_for_tasks(time.monotonic() + 120)  # written before their pages are opened
        accounts = {
            name: pages.sign_in(port, name, DEMO_PASSWORD, args.language) for name in usernames
        }
        found = pages.discover(
            port,
            accounts,
            [programme],
            {name: [PROGRAMME] for name in usernames},
            parallel=args.workers,
            only=args.only,
        )
        # Measured with the worker idle: the build queues a chart per priority list and the
        # walk's exports of a million rows, minutes of work on one of the two cores. What is
        # still queued when the wait ends is printed ("ready ×N"), so a run measured beside a
        # busy worker says so.
        for line, seconds in pages.wait_for_tasks(time.monotonic() + 900):
            print(f"[{store}] tasks run before measuring: {line}, {seconds:.1f} s", flush=True)
        deadline = time.monotonic() + args.deadline
        floor = pages.Page("floor: /healthz", "healthz", [(pages.Account("anonymous"), "/healthz")])
        unmeasured = []
        for page in (floor, *found.pages):
            if time.monotonic() > deadline:
                unmeasured.append(page.label)
                continue
            pages.measure(
                port,
                page,
                samples=args.samples,
                clients=args.clients,
                rounds=args.rounds,
                deadline=deadline,
            )
        results = []
        for page in found.pages:
            floor_seconds, statement = main_query_floor(
                [(account.username, address) for account, address in page.visits]
            )
            results.append(
                {
                    "route": page.label,
                    "pattern": page.pattern,
                    "urls": len(page.visits),
                    "alone_p50": page.p(0.5, loaded=False),
                    "alone_p95": page.p(0.95, loaded=False),
                    "loaded_p50": page.p(0.5),
                    "loaded_p95": page.p(0.95),
                    "floor": floor_seconds,
                    "statement": statement,
                    "note": page.note,
                    "errors": {str(k): v for k, v in page.errors.items()},
                    "missed": page.missed,
                }
            )
        out.write_text(
            json.dumps(
                {
                    "store": store,
                    "submissions": count,
                    "built_seconds": built,
                    "healthz_p95": floor.p(0.95),
                    "routes": results,
                    "left_out": found.left_out,
                    "failures": found.failures,
                    "unmeasured": unmeasured,
                    "seconds": time.monotonic() - began,
                },
                default=lambda value: None,
            )
        )
        return 0
    finally:
        pages.stop(server)
        pages.stop(worker)
        log.close()
        for line in pages.server_errors(log_path)[:20]:
            print(f"[{store}] server: 500 {line}")
        shutil.rmtree(home, ignore_errors=True)


def show(result: dict[str, Any], clients: int) -> list[str]:
    """Print one store's table; the routes that missed the target or failed."""
    store, routes = result["store"], result["routes"]
    print(
        f"\n== {store}: {result['submissions']:,} submissions (built in "
        f"{result['built_seconds']:.0f} s); /healthz p95 {pages.ms(result['healthz_p95'])} ms at "
        f"{clients} clients"
    )
    print(
        f"{'route':<38} {'urls':>4}  {'1 client':>13}  {f'{clients} clients':>13}  "
        f"{'main query':>10}"
    )
    print(f"{'':<38} {'':>4}  {'p50':>6} {'p95':>6}  {'p50':>6} {'p95':>6}  {'alone':>10}")
    for row in routes:
        notes = [row["note"]] if row["note"] else []
        if row["errors"]:
            notes.append("answers: " + ", ".join(f"{n}x {s}" for s, n in row["errors"].items()))
        print(
            f"{row['route']:<38} {row['urls']:>4}  {pages.ms(row['alone_p50']):>6} "
            f"{pages.ms(row['alone_p95']):>6}  {pages.ms(row['loaded_p50']):>6} "
            f"{pages.ms(row['loaded_p95']):>6}  {fine(nan(row['floor'])):>10}"
            + (f"  {'; '.join(notes)}" if notes else "")
        )
    slowest = sorted(routes, key=lambda r: (bool(r["note"]), nan(r["loaded_p95"], 0)), reverse=True)
    print(f"\n[{store}] slowest ten at {clients} clients (p95, and the main query alone):")
    for row in slowest[:10]:
        shown = row["note"] or f"{pages.ms(row['loaded_p95'])} ms"
        print(
            f"  {shown:>30}  {row['route']}  /{row['pattern']}  "
            f"(main query {fine(nan(row['floor']))} ms)"
        )
    for reason, names in result["left_out"].items():
        if names:
            print(f"[{store}] not measured, {reason}: {', '.join(names)}")
    for line in result["failures"]:
        print(f"[{store}] server error in the warm-up: {line}")
    if result["unmeasured"]:
        print(f"[{store}] out of time, not measured: {', '.join(result['unmeasured'])}")
    missed = [r["route"] for r in routes if r["missed"] or r["errors"]]
    print(
        f"[{store}] target p95 < {pages.TARGET_MS:.0f} ms at {clients} clients: "
        f"{len(routes) - len(missed)} of {len(routes)} routes meet it; run took "
        f"{result['seconds']:.0f} s."
    )
    return missed + list(result["unmeasured"])


def fine(seconds: float) -> str:
    """Milliseconds with a tenth: a main query alone is often under one."""
    return "—" if seconds != seconds else f"{seconds * 1000:.1f}"


def nan(value: float | None, instead: float = float("nan")) -> float:
    return instead if value is None else value


def side_by_side(results: list[dict[str, Any]]) -> None:
    stores = [r["store"] for r in results]
    print(f"\nboth stores, p95 at 20 clients (ms): {' / '.join(stores)}")
    by_route: dict[str, list[str]] = {}
    for result in results:
        for row in result["routes"]:
            by_route.setdefault(row["route"], []).append(pages.ms(nan(row["loaded_p95"])))
    for route, figures in sorted(by_route.items()):
        print(f"  {route:<38} {' / '.join(f'{f:>5}' for f in figures)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--submissions", type=int, default=1_000_000)
    parser.add_argument("--store", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--samples", type=int, default=5, help="requests per route, 1 client")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3, help="requests per concurrent client")
    parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "2")))
    parser.add_argument("--language", default="en", choices=["en", "ru", "tg", "uz"])
    parser.add_argument(
        "--only", default="", metavar="TEXT", help="routes whose name has TEXT (comma-separated)"
    )
    parser.add_argument("--deadline", type=float, default=1200.0, help="seconds of measuring")
    parser.add_argument("--child", choices=["sqlite", "postgresql"], help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return run_store(args.child, args, args.out)
    from bench_import import temporary_postgres

    stores = ["sqlite", "postgresql"] if args.store == "both" else [args.store]
    results = []
    unmet: list[str] = []
    folder = Path(tempfile.mkdtemp(prefix="amniyat-scale-"))
    try:
        for store in stores:
            out = folder / f"{store}.json"
            child = [sys.executable, __file__, *(argv or sys.argv[1:]), "--child", store]
            child += ["--out", str(out)]
            env = dict(os.environ)
            if store == "postgresql":
                given = os.environ.get("DATABASE_URL", "")
                cluster = (
                    contextlib.nullcontext(given)
                    if given.startswith("postgres")
                    else temporary_postgres()
                )
                with cluster as url:
                    if url is None:
                        print(
                            "[postgresql] no PostgreSQL here (no DATABASE_URL, no binaries): "
                            "skipped"
                        )
                        continue
                    env["BENCH_SCALE_DATABASE_URL"] = url
                    subprocess.run(child, env=env, check=False)  # noqa: S603 - this script
            else:
                subprocess.run(child, env=env, check=False)  # noqa: S603 - this script
            if not out.exists():
                unmet.append(f"{store}: no result")
                continue
            result = json.loads(out.read_text())
            results.append(result)
            unmet += [f"{store} {name}" for name in show(result, args.clients)]
        if len(results) > 1:
            side_by_side(results)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 1 if unmet or not results else 0


if __name__ == "__main__":
    sys.exit(main())
