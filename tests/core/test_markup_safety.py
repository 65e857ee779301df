"""Nothing built from data reaches a page unescaped.

Every template and Python file under ``src/`` is read for the ways Django lets markup past its
autoescaping. Each one allowed is listed below with the reason it cannot carry data as
markup; any other is a failure. Data goes into a page as JSON only through the ``json_script``
filter, which escapes ``<``, ``>`` and ``&``.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from django.template import engines

from amniyat.core.qrcodes import qr_data_uri

SRC = Path(__file__).resolve().parents[2] / "src"
TEMPLATE_SUFFIXES = {".html", ".txt", ".xml", ".svg", ".md"}

UNESCAPED = {
    "|safe": re.compile(r"\|\s*safe"),  # also |safeseq
    "mark_safe(": re.compile(r"\bmark_safe\s*\("),
    "autoescape off": re.compile(r"\{%\s*autoescape\s+off\s*%\}"),
    "SafeString(": re.compile(r"\bSafeString\s*\("),
    "SafeText(": re.compile(r"\bSafeText\s*\("),
    "__html__": re.compile(r"\b__html__\b"),
}

# (path under src/, construct) -> how many times, and why it is safe. Empty: nothing under
# src/ marks markup safe (QR codes are images, core/qrcodes.py). An entry needs a review.
ALLOWED: dict[tuple[str, str], tuple[int, str]] = {}


def _occurrences() -> Counter[tuple[str, str]]:
    found: Counter[tuple[str, str]] = Counter()
    for path in sorted(SRC.rglob("*")):
        if not path.is_file() or (path.suffix != ".py" and path.suffix not in TEMPLATE_SUFFIXES):
            continue
        if "static" in path.relative_to(SRC).parts:
            continue
        text = path.read_text(encoding="utf-8")
        name = path.relative_to(SRC).as_posix()
        for construct, pattern in UNESCAPED.items():
            if count := len(pattern.findall(text)):
                found[(name, construct)] += count
    return found


def test_no_markup_is_marked_safe_outside_the_reviewed_list() -> None:
    found = _occurrences()
    unreviewed = {
        key: count for key, count in found.items() if key not in ALLOWED or count > ALLOWED[key][0]
    }
    assert not unreviewed, (
        "Markup let past autoescaping (put data into a page with |json_script or plain "
        f"{{{{ }}}}; add to ALLOWED only with a reason): {unreviewed}"
    )
    # A stale entry would let a new use slip in unreviewed in its place.
    stale = [key for key, (count, _reason) in ALLOWED.items() if found[key] != count]
    assert not stale


def test_the_scan_sees_each_construct() -> None:
    """The patterns catch what they are meant to (a scan that matches nothing passes)."""
    samples = {
        "|safe": "{{ chart|safe }} {{ items | safeseq }}",
        "mark_safe(": "html = mark_safe (text)",
        "autoescape off": "{%  autoescape off %}",
        "SafeString(": "SafeString('<b>')",
        "SafeText(": "SafeText('<b>')",
        "__html__": "def __html__(self):",
    }
    for construct, sample in samples.items():
        assert UNESCAPED[construct].search(sample), construct
    assert not UNESCAPED["|safe"].search("{{ chart|json_script:'chart-spec' }}")


def test_json_script_keeps_a_closing_script_tag_inert() -> None:
    label = "</script><img src=x onerror=alert(1)>"
    html = (
        engines["django"]
        .from_string('{{ spec|json_script:"spec" }}')
        .render({"spec": {"title": label}})
    )
    assert html.count("</script>") == 1 and html.endswith("</script>")
    assert "<img" not in html
    assert "\\u003C/script\\u003E\\u003Cimg src=x onerror=alert(1)\\u003E" in html


def test_a_qr_code_is_an_image_whatever_it_is_given() -> None:
    """QR codes reach a page as an ``<img>`` data URI, escaped like any attribute: nothing
    in their text or title can become markup of the page."""
    hostile = '</title><script>alert(1)</script>"><img src=x onerror=alert(1)>'
    uri = qr_data_uri("otpauth://totp/" + hostile, title=hostile)
    assert uri.startswith("data:image/svg+xml")
    assert not set('<>"') & set(uri)
    page = engines["django"].from_string('<img src="{{ uri }}">').render({"uri": uri})
    assert page.count("<img") == 1 and page.count('"') == 2
