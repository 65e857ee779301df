"""QR codes (two-factor set-up, a collection device's settings), drawn by segno as an SVG image
that a page shows with ``<img src="…">``: a data URI, so no markup made in Python ever enters
the page (the Content-Security-Policy allows ``data:`` images)."""

from __future__ import annotations

import segno


def qr_data_uri(
    text: str, *, title: str | None = None, dark: str = "#000", mask: int | None = None
) -> str:
    """The QR code of ``text`` as an SVG ``data:`` URI, large enough for an old phone's
    camera. The page escapes it like any attribute value. ``mask`` is :func:`qr_mask` of the
    text, when a page drawing the same code again has kept it."""
    code = segno.make(text, micro=False, error="m", mask=mask)
    return str(code.svg_data_uri(scale=4, title=title, dark=dark))


def qr_mask(text: str) -> int:
    """The mask pattern segno chooses for ``text``: choosing it (scoring all eight) is nine
    tenths of the time it takes to draw the code."""
    return int(segno.make(text, micro=False, error="m").mask)
