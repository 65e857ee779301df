"""Charts of findings: Vega-Lite specifications, and their rendering to SVG on the server.

The specifications are built from disclosure-controlled numbers only (a suppressed cell carries
no value) and do not depend on where they are drawn: the pages put them inline as SVG, so that
no chart library runs in the browser, and reports can render the same specifications into
documents. `render_svg` draws one with vl-convert (Vega in an embedded JavaScript runtime, no
network) and rebuilds its output from an allow-list of SVG elements and attributes with every
text escaped, so that a label such as ``</svg><script>`` stays text whatever Vega emits.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import itertools
import json
import re
import textwrap
from functools import cache
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element

from defusedxml.ElementTree import fromstring
from django.conf import settings
from django.core.cache.backends.filebased import FileBasedCache
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json"
WOMEN, MEN = "#8a4fb3", "#2f7fb5"
BRAND, INK, GREY = "#1f5c4a", "#1d2433", "#b9c0ca"
# The page's own fonts first (app.css), then DejaVu, which every Debian server and most
# desktops have and which covers Cyrillic and the Uzbek ʻ (U+02BB).
FONT = "system-ui, 'Segoe UI', Roboto, 'Noto Sans', 'DejaVu Sans', sans-serif"
# Drawn for a 360 px phone: the chart is at most this wide (labels included) and scales down
# to fit narrower screens and up to `ZOOM` times on wide ones.
PLOT_WIDTH = 200
ZOOM = 1.25
LABEL_CHARACTERS = 22  # per line of a category label
LINE_HEIGHT = 13
CONFIG: dict[str, Any] = {
    "font": FONT,
    "background": "white",
    "view": {"stroke": None},
    "axis": {"labelFontSize": 11, "titleFontSize": 11, "titleFontWeight": "normal"},
    "legend": {"labelFontSize": 11, "titleFontSize": 11, "titleFontWeight": "normal"},
    "text": {"fontSize": 11},
}


def _axis_format(kind: str) -> str:
    return ".0%" if kind == "proportion" else ",.2f"


def _lines(text: str, width: int = LABEL_CHARACTERS) -> list[str]:
    """``text`` in lines of at most ``width`` characters, every word kept."""
    return textwrap.wrap(" ".join(str(text).split()), width, break_long_words=True) or [""]


def _wrapped(text: str, width: int = LABEL_CHARACTERS) -> str:
    return "\n".join(_lines(text, width))


def _category_axis() -> dict[str, Any]:
    """An axis whose labels (wrapped with newlines by `_wrapped`) take as many lines as
    they need, so no label is cut short on a narrow chart."""
    return {"labelExpr": "split(datum.label, '\\n')", "labelLimit": 0, "labelPadding": 4}


def _band_step(labels: list[str]) -> int:
    """Pixels a bar and its label take: the label's lines, the longest label deciding."""
    lines = max((label.count("\n") + 1 for label in labels), default=1)
    return max(lines * LINE_HEIGHT + 8, 22)


def domain_bars(
    rows: list[dict[str, Any]],
    *,
    kind: str,
    value_title: str,
    width: int = PLOT_WIDTH,
) -> dict[str, Any]:
    """Horizontal bars with confidence intervals, one per domain (a district, a choice), in
    the order given.

    ``rows``: ``{"label", "estimate", "ci_low", "ci_high", "tip"}``, where ``tip`` is what
    hovering the bar says; suppressed rows are left out by the caller."""
    fmt = _axis_format(kind)
    values = [{**row, "label": _wrapped(row["label"])} for row in rows]
    labels = [row["label"] for row in values]
    return {
        "$schema": SCHEMA,
        "config": CONFIG,
        "width": width,
        "height": {"step": _band_step(labels)},
        "data": {"values": values},
        "encoding": {
            "y": {
                "field": "label",
                "type": "nominal",
                "sort": None,
                "title": None,
                "axis": _category_axis(),
            }
        },
        "layer": [
            {
                "mark": {"type": "bar", "color": BRAND, "opacity": 0.85},
                "encoding": {
                    "x": {
                        "field": "estimate",
                        "type": "quantitative",
                        "title": _lines(value_title, 40),
                        "axis": {"format": fmt, "tickCount": 5},
                        **({"scale": {"domain": [0, 1]}} if kind == "proportion" else {}),
                    },
                    "description": {"field": "tip"},
                    "tooltip": {"field": "tip"},
                },
            },
            {
                "mark": {"type": "rule", "color": INK, "aria": False},
                "encoding": {
                    "x": {"field": "ci_low", "type": "quantitative"},
                    "x2": {"field": "ci_high"},
                },
            },
        ],
    }


def _label_layer(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The labels of `_stacked` rows, each above its marks, across the whole width."""
    return {
        "data": {"values": rows},
        "mark": {
            "type": "text",
            "align": "left",
            "baseline": "top",
            "lineBreak": "\n",
            "lineHeight": LINE_HEIGHT,
            "color": INK,
            "aria": False,
        },
        "encoding": {
            "x": {"value": 0},
            "y": {"field": "top", "type": "quantitative", "scale": None},
            "text": {"field": "label"},
        },
    }


def _stacked(
    labels: list[str], *, marks_height: int, width: int
) -> tuple[list[dict[str, Any]], int]:
    """Rows laid out top to bottom, each its label (wrapped to the chart's width, as many lines
    as it takes) and under it ``marks_height`` pixels for its marks: ``{"label", "top",
    "marks"}`` (pixels from the top) for each, and the height of them all. On a phone the
    labels get the whole width instead of a narrow column beside the marks."""
    rows = []
    top = 0
    for label in labels:
        lines = _lines(label, max(LABEL_CHARACTERS, width // 7))
        marks = top + len(lines) * LINE_HEIGHT + 2
        rows.append({"label": "\n".join(lines), "top": top, "marks": marks})
        top = marks + marks_height + 10
    return rows, max(top - 10, 1)


def _value_axis(kind: str) -> dict[str, Any]:
    return {
        "type": "quantitative",
        "axis": {"format": _axis_format(kind), "tickCount": 5, "gridColor": "#eceef1"},
        "title": None,
        **({"scale": {"domain": [0, 1]}} if kind == "proportion" else {}),
    }


def gender_gap_dots(
    rows: list[dict[str, Any]], *, women: str, men: str, width: int = 320
) -> dict[str, Any]:
    """Women's and men's estimate for every indicator, joined by a line (dumbbell chart),
    each indicator's label above its dots.

    ``rows``: ``{"indicator", "women", "men", "women_tip", "men_tip"}`` for proportions, in the
    order to draw them (e.g. the largest gap first)."""
    layout, height = _stacked([row["indicator"] for row in rows], marks_height=12, width=width)
    pairs = [
        {"y": place["marks"] + 6, "women": row["women"], "men": row["men"]}
        for row, place in zip(rows, layout, strict=True)
    ]
    dots = [
        {"y": place["marks"] + 6, "group": group, "value": row[key], "tip": row[f"{key}_tip"]}
        for row, place in zip(rows, layout, strict=True)
        for group, key in ((women, "women"), (men, "men"))
    ]
    y = {"field": "y", "type": "quantitative", "scale": None}
    return {
        "$schema": SCHEMA,
        "config": CONFIG,
        "width": width,
        "height": height,
        "layer": [
            _label_layer(layout),
            {
                "data": {"values": pairs},
                "mark": {"type": "rule", "color": GREY, "strokeWidth": 2, "aria": False},
                "encoding": {
                    "x": {"field": "women", **_value_axis("proportion")},
                    "x2": {"field": "men"},
                    "y": y,
                },
            },
            {
                "data": {"values": dots},
                "mark": {"type": "point", "filled": True, "size": 80, "opacity": 1},
                "encoding": {
                    "x": {"field": "value", "type": "quantitative"},
                    "y": y,
                    "color": {
                        "field": "group",
                        "type": "nominal",
                        "scale": {"domain": [women, men], "range": [WOMEN, MEN]},
                        "legend": {"orient": "top", "title": None},
                    },
                    "description": {"field": "tip"},
                    "tooltip": {"field": "tip"},
                },
            },
        ],
    }


def largest_change_first(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``rows`` (with ``baseline`` and ``endline``) by the size of their change, largest
    first; rows without both values last, in their order."""

    def size(row: dict[str, Any]) -> tuple[bool, float]:
        if row["baseline"] is None or row["endline"] is None:
            return (True, 0.0)
        return (False, -abs(row["endline"] - row["baseline"]))

    return sorted(rows, key=size)


def change_bars(
    rows: list[dict[str, Any]],
    *,
    baseline: str,
    endline: str,
    kind: str = "proportion",
    width: int = 300,
) -> dict[str, Any]:
    """Baseline and endline as two bars for every indicator, the largest change first; each
    bar with its value, each indicator's label (and its change) above its bars.

    ``rows``: ``{"indicator", "baseline", "endline", "change_text", "baseline_text",
    "endline_text", "baseline_tip", "endline_tip"}``; an indicator without both values is
    left out."""
    shown = [
        row
        for row in largest_change_first(rows)
        if row["baseline"] is not None and row["endline"] is not None
    ]
    bar = 11
    layout, height = _stacked(
        [f"{row['indicator']} ({row['change_text']})" for row in shown],
        marks_height=2 * bar + 2,
        width=width,
    )
    bars = [
        {
            "y": top,
            "y2": top + bar,
            "zero": 0,
            "phase": phase,
            "value": row[key],
            "text": row[f"{key}_text"],
            "tip": row[f"{key}_tip"],
        }
        for row, place in zip(shown, layout, strict=True)
        for top, phase, key in (
            (place["marks"], baseline, "baseline"),
            (place["marks"] + bar + 2, endline, "endline"),
        )
    ]
    y = {"field": "y", "type": "quantitative", "scale": None}
    return {
        "$schema": SCHEMA,
        "config": CONFIG,
        "width": width,
        "height": height,
        "layer": [
            _label_layer(layout),
            {
                "data": {"values": bars},
                "layer": [
                    {
                        "mark": {"type": "rect"},
                        "encoding": {
                            "x": {"field": "zero", **_value_axis(kind)},
                            "x2": {"field": "value"},
                            "y": y,
                            "y2": {"field": "y2"},
                            "color": {
                                "field": "phase",
                                "type": "nominal",
                                "sort": [baseline, endline],
                                "scale": {"domain": [baseline, endline], "range": [GREY, BRAND]},
                                "legend": {"orient": "top", "title": None, "direction": "vertical"},
                            },
                            "description": {"field": "tip"},
                            "tooltip": {"field": "tip"},
                        },
                    },
                    {
                        "mark": {
                            "type": "text",
                            "align": "left",
                            "baseline": "middle",
                            "dx": 3,
                            "dy": bar / 2,
                            "color": INK,
                            "aria": False,
                        },
                        "encoding": {
                            "x": {"field": "value", "type": "quantitative"},
                            "y": y,
                            "text": {"field": "text"},
                        },
                    },
                ],
            },
        ],
    }


def district_map(
    features: list[dict[str, Any]], *, kind: str, value_title: str, width: int = 320
) -> dict[str, Any]:
    """A choropleth of districts from their stored boundaries. ``features``: GeoJSON features
    whose properties hold ``name``, ``estimate`` (None when suppressed) and ``tip``. A
    suppressed district is drawn grey, without a number."""
    fmt = _axis_format(kind)
    properties = "datum.properties.estimate"
    return {
        "$schema": SCHEMA,
        "config": CONFIG,
        "width": width,
        "height": round(width * 0.8),
        "data": {
            "values": {"type": "FeatureCollection", "features": features},
            "format": {"type": "json", "property": "features"},
        },
        "projection": {"type": "mercator"},
        "layer": [
            {
                "transform": [{"filter": f"{properties} == null"}],
                "mark": {"type": "geoshape", "fill": "#e3e6ea", "stroke": "#ffffff"},
                "encoding": {"description": {"field": "properties.tip"}},
            },
            {
                "transform": [{"filter": f"{properties} != null"}],
                "mark": {"type": "geoshape", "stroke": "#ffffff", "strokeWidth": 1},
                "encoding": {
                    "color": {
                        "field": "properties.estimate",
                        "type": "quantitative",
                        "title": _lines(value_title, 40),
                        "legend": {
                            "format": fmt,
                            "orient": "bottom",
                            "direction": "horizontal",
                            "gradientLength": round(width * 0.6),
                            "titleLimit": width,
                        },
                        "scale": {"scheme": "greens"},
                    },
                    "description": {"field": "properties.tip"},
                    "tooltip": {"field": "properties.tip"},
                },
            },
        ],
    }


def _signed_area(ring: list[list[float]]) -> float:
    return sum(x0 * y1 - x1 * y0 for (x0, y0, *_a), (x1, y1, *_b) in itertools.pairwise(ring))


def _wound(rings: list[list[list[float]]]) -> list[list[list[float]]]:
    # Outer ring clockwise, holes anticlockwise (planar longitude/latitude).
    result = []
    for index, ring in enumerate(rings):
        clockwise = _signed_area(ring) < 0
        wanted = index == 0
        result.append(ring if clockwise == wanted else list(reversed(ring)))
    return result


def wound_for_vega(geometry: dict[str, Any]) -> dict[str, Any]:
    """GeoJSON polygons wound the way Vega's spherical projection reads them.

    RFC 7946 files wind outer rings anticlockwise; d3-geo (inside Vega) takes an anticlockwise
    ring as everything *outside* it and fills the whole map. Districts are small, so the
    planar winding decides."""
    kind = geometry.get("type")
    coordinates = geometry.get("coordinates") or []
    if kind == "Polygon":
        return {"type": kind, "coordinates": _wound(coordinates)}
    if kind == "MultiPolygon":
        return {"type": kind, "coordinates": [_wound(polygon) for polygon in coordinates]}
    return geometry


# --- Rendering ------------------------------------------------------------------------------

# Raise when the cleaning below (or `ZOOM`) changes, so that cached drawings are made again.
RENDERING = "3"
SVG_NS = "{http://www.w3.org/2000/svg}"
ELEMENTS = frozenset(
    {
        "svg", "g", "path", "rect", "line", "circle", "ellipse", "polygon", "polyline", "text",
        "tspan", "defs", "clipPath", "linearGradient", "radialGradient", "stop",
    }
)  # fmt: skip
ATTRIBUTES = frozenset(
    {
        "viewBox", "transform", "d", "x", "y", "x1", "x2", "y1", "y2", "dx", "dy", "cx", "cy",
        "r", "rx", "ry", "width", "height", "points", "fill", "fill-opacity", "fill-rule",
        "stroke", "stroke-width", "stroke-opacity", "stroke-dasharray", "stroke-dashoffset",
        "stroke-linecap", "stroke-linejoin", "stroke-miterlimit", "opacity", "font-family",
        "font-size", "font-weight", "font-style", "text-anchor", "dominant-baseline",
        "clip-path", "id", "offset", "stop-color", "stop-opacity", "gradientUnits",
        "gradientTransform", "shape-rendering",
    }
)  # fmt: skip
TEXT_ELEMENTS = frozenset({"text", "tspan"})
# Long decimals (Vega writes 149.99999999999997) cost bytes and show nothing.
_LONG_DECIMAL = re.compile(r"(-?\d+\.\d{2})\d+")
_REFERENCE = re.compile(r"^url\(#([A-Za-z][\w.-]*)\)$")
# Said once on the drawing instead of on every element.
_DEFAULTS = frozenset({("font-family", FONT), ("opacity", "1")})
_GEOMETRY = frozenset({"d", "transform", "x", "y", "x1", "x2", "y1", "y2", "points"})


def _local(tag: str) -> str:
    return tag[len(SVG_NS) :] if tag.startswith(SVG_NS) else ""


def _attributes(element: Element, prefix: str) -> list[tuple[str, str]]:
    kept = []
    for name, value in element.attrib.items():
        if name not in ATTRIBUTES or (name, value) in _DEFAULTS:
            continue
        if "url(" in value:
            reference = _REFERENCE.match(value)
            if reference is None:
                continue  # nothing may be fetched from elsewhere
            value = f"url(#{prefix}{reference.group(1)})"
        elif name == "id":
            value = prefix + value
        elif name in _GEOMETRY:
            value = _LONG_DECIMAL.sub(r"\1", value)
        kept.append((name, value))
    return kept


def _hidden(element: Element) -> bool:
    return element.get("display") == "none" or element.get("opacity") == "0"


def _markup(element: Element, prefix: str) -> str:
    """``element`` as markup, rebuilt by `format_html`: allowed names only, every attribute
    value and every text escaped. Nothing (an empty text) for an element not allowed."""
    tag = _local(element.tag)
    if tag not in ELEMENTS or _hidden(element):
        return ""
    parts: list[str] = []
    # A mark's description (what hovering it says) becomes its title, which browsers show.
    tip = element.get("aria-label")
    if tip and tag != "g" and element.get("role") == "graphics-symbol":
        parts.append(format_html("<title>{}</title>", tip))
    if tag in TEXT_ELEMENTS and element.text:
        parts.append(element.text)
    for child in element:
        parts.append(_markup(child, prefix))
        if tag in TEXT_ELEMENTS and child.tail:
            parts.append(child.tail)
    return format_html(
        "<{}{}>{}</{}>",
        tag,
        format_html_join("", ' {}="{}"', _attributes(element, prefix)),
        format_html_join("", "{}", ((part,) for part in parts)),
        tag,
    )


def clean_svg(svg: str, *, prefix: str = "c") -> SafeString:
    """Vega's SVG rebuilt for a page: only drawing elements and presentation attributes, no
    script, no event handler, no link, no reference outside the chart; ids prefixed with
    ``prefix`` so that two charts on one page keep theirs apart. The drawing scales to the
    width of its box, up to `ZOOM` times the width it was drawn at."""
    root = fromstring(svg, forbid_dtd=True)
    if _local(root.tag) != "svg":
        raise ValueError("not an SVG drawing")
    width = float(root.get("width") or 0)
    # The drawn size stays in the viewBox; the page sets the size.
    for name in ("width", "height"):
        root.attrib.pop(name, None)
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" width="100%" style="{}" font-family="{}"{}>'
        "{}</svg>",
        f"display:block;height:auto;max-width:{round(width * ZOOM)}px",
        FONT,
        format_html_join("", ' {}="{}"', _attributes(root, prefix)),
        format_html_join("", "{}", ((_markup(child, prefix),) for child in root)),
    )


@cache
def _renderer_version() -> str:
    return f"{importlib.metadata.version('vl-convert-python')}/{RENDERING}"


@cache
def _drawings() -> FileBasedCache:
    """Drawn charts by their specification, on disk next to the frames cache: shared by the
    web workers of a server, kept over restarts, the oldest culled past `max_entries`."""
    location = Path(settings.MEDIA_ROOT).parent / "cache" / "charts"
    return FileBasedCache(
        str(location), {"TIMEOUT": 60 * 60 * 24 * 30, "OPTIONS": {"MAX_ENTRIES": 2000}}
    )


def render_svg(spec: dict[str, Any]) -> SafeString:
    """The chart of a Vega-Lite specification as SVG markup to put inline in a page.

    Drawing takes about 100 ms, so drawings are kept by a hash of the specification: a page
    shown again is not drawn again. The markup is safe in a page because `clean_svg` builds
    it with `format_html` from allowed names and escaped text."""
    payload = json.dumps(spec, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    digest = hashlib.sha256(f"{_renderer_version()}\n{payload}".encode()).hexdigest()
    key = f"chart-svg:{digest}"
    drawings = _drawings()
    svg = drawings.get(key)
    if not isinstance(svg, SafeString):
        import vl_convert

        raw = vl_convert.vegalite_to_svg(payload, allowed_base_urls=[])
        svg = clean_svg(raw, prefix=f"c{digest[:8]}-")
        drawings.set(key, svg)
    return svg
