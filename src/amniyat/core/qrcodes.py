"""QR codes drawn as SVG inside a page (two-factor set-up, a collection device's settings).

This is the one place where markup made in Python is marked safe; the allow-list in
tests/core/test_markup_safety.py names it and nothing else under ``src/``.
"""

from __future__ import annotations

import segno
from django.utils.safestring import SafeString, mark_safe


def qr_svg(text: str, *, title: str | None = None, dark: str = "#000") -> SafeString:
    """The QR code of ``text`` as inline SVG, large enough for an old phone's camera."""
    code = segno.make(text, micro=False, error="m")
    # segno writes the text only as path coordinates, escapes the title with
    # xml.sax.saxutils.escape and quotes every attribute with quoteattr, so nothing in the
    # text or the title can become markup (tests/core/test_qrcodes.py checks both).
    return mark_safe(code.svg_inline(scale=4, title=title, dark=dark))  # noqa: S308
