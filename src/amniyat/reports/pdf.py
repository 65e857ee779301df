"""A report as PDF: the page's own section templates drawn in a print layout and laid out by
WeasyPrint, from the same :class:`~amniyat.reports.document.Drawn` as the page and the DOCX.

Charts are drawn on the server as PNG (vl-convert) and put in the HTML as ``data:`` addresses.
WeasyPrint's fetcher is allowed that protocol alone: a document never fetches anything from
the network or the disk, whatever was written in it (a link stays a link; written text has no
images). Text is set in DejaVu, whose faces cover Tajik (ӣ ӯ қ ғ ҳ ҷ) and
Uzbek (oʻ gʻ) letters, and WeasyPrint embeds the glyphs used.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import vl_convert
from django.template.loader import render_to_string
from django.utils import translation

Progress = Callable[[int, int], None]
STYLESHEET = Path(__file__).parent / "static" / "reports" / "print.css"


def chart_png(spec: dict[str, Any]) -> str:
    """A chart as a ``data:`` address of its PNG."""
    png = vl_convert.vegalite_to_png(spec, scale=2, allowed_base_urls=[])
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def write(drawn: Any, target: IO[bytes], *, progress: Progress | None = None) -> None:
    """Writes ``drawn`` as PDF, in the report's language."""
    steps = len(drawn.sections) + 2
    html = print_html(drawn, progress=lambda done: progress(done, steps) if progress else None)
    if progress:
        progress(steps - 1, steps)
    lay_out(html, target)
    if progress:
        progress(steps, steps)


def print_html(drawn: Any, *, progress: Callable[[int], None] | None = None) -> str:
    """The print page of ``drawn``, its pictures drawn as ``data:`` addresses; ``progress``
    hears each section drawn."""
    from amniyat.reports.maps import map_png_address

    for index, item in enumerate(drawn.sections, start=1):
        chart = item.built.get("chart")
        if item.kind == "driver_map":
            item.png = map_png_address(item.built)
        else:
            item.png = chart_png(chart["spec"]) if chart and chart.get("spec") else None
        if progress:
            progress(index)
    with translation.override(drawn.report.language):
        return render_to_string("reports/print.html", {"drawn": drawn, "report": drawn.report})


def lay_out(html: str, target: IO[bytes]) -> None:
    """The print page's HTML laid out as PDF by WeasyPrint, fetching nothing but ``data:``."""
    from weasyprint import CSS, HTML
    from weasyprint.urls import URLFetcher

    fetcher = URLFetcher(allowed_protocols={"data"}, allow_redirects=False)
    HTML(string=html, url_fetcher=fetcher, base_url=None).write_pdf(
        target, stylesheets=[CSS(filename=str(STYLESHEET))]
    )
