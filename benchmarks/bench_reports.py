"""Writing a briefing paper: the demo's, as DOCX and as PDF, beside the floor.

Builds the demo (``amniyat demo``) in a temporary SQLite database, then, as the demo analyst,
a briefing paper in Tajik from the Tajikistan baseline: the template every paper starts from
(title, summary, methodology, key findings, women and men, voices, driver map, priorities,
recommendations), a chart by district for eight more indicators and a map of districts,
every section built. Then times, median of ``--rounds``:

- the DOCX (``reports.word.write``: drawing every chart as PNG, writing the package);
- the PDF (``reports.pdf.write``: the charts, the print page's HTML, WeasyPrint's layout);
- the floor: WeasyPrint alone laying out the same HTML (``reports.pdf.lay_out``), drawn once.

Target: under 10 s each on this machine. Prints pages and pictures, and exits 1 below target.

Run: ``python benchmarks/bench_reports.py [--rounds N]``.
"""

from __future__ import annotations

import argparse
import io
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_SECONDS = 10.0
MORE_CHARTS = [
    "safe_day",
    "very_unsafe_night",
    "trust_local_authority",
    "distrust_both",
    "youth_participate",
    "harassment_experienced",
    "violence_experienced",
    "aware_community_group",
]


def environment(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "amniyat.settings",
            "AMNIYAT_HOME": str(home),
            "DATABASE_URL": f"sqlite:///{home / 'reports.sqlite3'}",
            "MEDIA_ROOT": str(home / "media"),
            "AMNIYAT_PROGRESS_DIR": str(home / "progress"),
            "AMNIYAT_ENV": "development",
            "AMNIYAT_DEMO": "1",
            "DEBUG": "0",
            "LOG_LEVEL": "ERROR",
            "SECRET_KEY": secrets.token_urlsafe(50),
        }
    )
    return env


def median_seconds(action: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="timed runs of each (median)")
    args = parser.parse_args(argv)
    home = Path(tempfile.mkdtemp(prefix="amniyat-reports-"))
    env = environment(home)
    try:
        began = time.monotonic()
        built = subprocess.run(
            [sys.executable, "-m", "amniyat.cli", "demo"],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if built.returncode != 0:
            print(built.stdout, built.stderr, sep="\n")
            return 1
        print(f"demo built in {time.monotonic() - began:.0f} s", flush=True)
        os.environ.update(env)
        import django

        django.setup()
        return measure(args.rounds)
    finally:
        shutil.rmtree(home, ignore_errors=True)


def measure(rounds: int) -> int:
    from amniyat.accounts.models import Programme, User
    from amniyat.fieldwork.models import Assessment
    from amniyat.reports import document, pdf, services, word
    from amniyat.reports.models import Report, Section
    from amniyat.reports.sections import BUILDERS

    programme = Programme.objects.get(slug="tajikistan-community-security")
    analyst = User.objects.get(username="demo-analyst")
    baseline = Assessment.objects.filter(
        programme=programme, kind=Assessment.Kind.BASELINE
    ).earliest("pk")
    report = services.report_create(
        user=analyst,
        programme=programme,
        kind=Report.Kind.BRIEFING,
        language="tg",
        title="Омилҳои ноамнӣ дар ҷамоатҳо",
        assessment=baseline,
    )
    last = report.sections.order_by("position").last()
    for indicator in MORE_CHARTS:
        chart = services.section_add(user=analyst, report=report, kind=Section.Kind.CHART)
        chart.report = report
        services.section_set_options(user=analyst, section=chart, options={"indicator": indicator})
    districts = services.section_add(
        user=analyst, report=report, kind=Section.Kind.DISTRICT_MAP, after=last
    )
    districts.report = report
    services.section_set_options(
        user=analyst, section=districts, options={"indicator": "safe_night_women"}
    )
    left_out = []
    for section in report.sections.order_by("position"):
        section.report = report
        if section.is_written or section.built_at is not None:
            continue
        if section.kind not in BUILDERS:
            left_out.append(section.kind)
            continue
        services.section_build(user=analyst, section=section)
    drawn = document.drawn(report)

    def docx() -> bytes:
        out = io.BytesIO()
        word.write(document.drawn(report), out)
        return out.getvalue()

    def whole_pdf() -> bytes:
        out = io.BytesIO()
        pdf.write(document.drawn(report), out)
        return out.getvalue()

    html = pdf.print_html(drawn)

    def floor() -> None:
        pdf.lay_out(html, io.BytesIO())

    written_docx, written_pdf = docx(), whole_pdf()
    with zipfile.ZipFile(io.BytesIO(written_docx)) as package:
        pictures = sum(1 for name in package.namelist() if name.startswith("word/media/"))
    from weasyprint import HTML

    pages = len(HTML(string=html).render().pages)
    docx_s = median_seconds(docx, rounds)
    pdf_s = median_seconds(whole_pdf, rounds)
    floor_s = median_seconds(floor, rounds)
    print(
        f"The demo briefing paper in Tajik: {len(drawn.sections)} sections, {pages} pages "
        f"(PDF, {len(written_pdf) // 1024} kB), {pictures} pictures (DOCX, "
        f"{len(written_docx) // 1024} kB); median of {rounds}"
        + (f"; left out, no builder yet: {', '.join(left_out)}" if left_out else "")
    )
    print(f"{'':24}{'seconds':>9}{'÷ floor':>9}  target")
    print(f"{'DOCX':24}{docx_s:9.2f}{docx_s / floor_s:9.2f}  < {TARGET_SECONDS:.0f} s")
    print(f"{'PDF':24}{pdf_s:9.2f}{pdf_s / floor_s:9.2f}  < {TARGET_SECONDS:.0f} s")
    print(f"{'floor: WeasyPrint alone':24}{floor_s:9.2f}{1:9.2f}  the same HTML, laid out")
    met = docx_s < TARGET_SECONDS and pdf_s < TARGET_SECONDS
    print("Within target." if met else "Below target.")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
