"""Vega-Lite specifications for findings. The pages render them in the browser with
vega-embed; reports can render the same specifications later. Only disclosure-controlled
numbers ever reach a specification: suppressed cells carry no value."""

from __future__ import annotations

import itertools
from typing import Any

SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json"
WOMEN, MEN = "#8a4fb3", "#2f7fb5"


def _axis_format(kind: str) -> str:
    return ".0%" if kind == "proportion" else ",.2f"


def domain_bars(
    rows: list[dict[str, Any]], *, kind: str, category_title: str, value_title: str
) -> dict[str, Any]:
    """Horizontal bars with confidence intervals, one per domain (e.g. per district).

    ``rows``: ``{"label", "estimate", "ci_low", "ci_high", "n"}``; suppressed rows are left
    out by the caller."""
    fmt = _axis_format(kind)
    return {
        "$schema": SCHEMA,
        "width": "container",
        "height": {"step": 22},
        "data": {"values": rows},
        "encoding": {
            "y": {
                "field": "label",
                "type": "nominal",
                "sort": "-x",
                "title": None,
                "axis": {"labelLimit": 240},
            }
        },
        "layer": [
            {
                "mark": {"type": "bar", "color": "#1f5c4a", "opacity": 0.85},
                "encoding": {
                    "x": {
                        "field": "estimate",
                        "type": "quantitative",
                        "title": value_title,
                        "axis": {"format": fmt},
                        **({"scale": {"domain": [0, 1]}} if kind == "proportion" else {}),
                    },
                    "tooltip": [
                        {"field": "label", "title": category_title},
                        {"field": "estimate", "format": fmt, "title": value_title},
                        {"field": "ci_low", "format": fmt},
                        {"field": "ci_high", "format": fmt},
                        {"field": "n", "title": "n"},
                    ],
                },
            },
            {
                "mark": {"type": "rule", "color": "#1d2433"},
                "encoding": {
                    "x": {"field": "ci_low", "type": "quantitative"},
                    "x2": {"field": "ci_high"},
                },
            },
        ],
    }


def gender_gap_dots(rows: list[dict[str, Any]], *, women: str, men: str) -> dict[str, Any]:
    """Women's and men's estimate for every indicator, joined by a line (dumbbell chart).

    ``rows``: ``{"indicator", "women", "men"}`` for proportions."""
    long = []
    for row in rows:
        long.append({"indicator": row["indicator"], "group": women, "value": row["women"]})
        long.append({"indicator": row["indicator"], "group": men, "value": row["men"]})
    order = [row["indicator"] for row in rows]
    return {
        "$schema": SCHEMA,
        "width": "container",
        "height": {"step": 24},
        "data": {"values": long},
        "encoding": {
            "y": {
                "field": "indicator",
                "type": "nominal",
                "sort": order,
                "title": None,
                "axis": {"labelLimit": 320},
            },
            "x": {
                "field": "value",
                "type": "quantitative",
                "axis": {"format": ".0%"},
                "scale": {"domain": [0, 1]},
                "title": None,
            },
        },
        "layer": [
            {
                "mark": {"type": "line", "color": "#b9c0ca"},
                "encoding": {"detail": {"field": "indicator"}},
            },
            {
                "mark": {"type": "point", "filled": True, "size": 90},
                "encoding": {
                    "color": {
                        "field": "group",
                        "type": "nominal",
                        "scale": {"domain": [women, men], "range": [WOMEN, MEN]},
                        "legend": {"orient": "top", "title": None},
                    },
                    "tooltip": [
                        {"field": "indicator"},
                        {"field": "group"},
                        {"field": "value", "format": ".1%"},
                    ],
                },
            },
        ],
    }


def change_bars(
    rows: list[dict[str, Any]], *, baseline: str, endline: str, kind: str = "proportion"
) -> dict[str, Any]:
    """Baseline and endline side by side for every indicator. ``rows``:
    ``{"indicator", "baseline", "endline"}``."""
    long = []
    for row in rows:
        for phase, key in ((baseline, "baseline"), (endline, "endline")):
            if row.get(key) is not None:
                long.append({"indicator": row["indicator"], "phase": phase, "value": row[key]})
    fmt = _axis_format(kind)
    return {
        "$schema": SCHEMA,
        "width": "container",
        "data": {"values": long},
        "mark": "bar",
        "encoding": {
            "y": {
                "field": "indicator",
                "type": "nominal",
                "title": None,
                "axis": {"labelLimit": 320},
            },
            "yOffset": {"field": "phase", "sort": [baseline, endline]},
            "x": {"field": "value", "type": "quantitative", "axis": {"format": fmt}, "title": None},
            "color": {
                "field": "phase",
                "type": "nominal",
                "sort": [baseline, endline],
                "scale": {"range": ["#b9c0ca", "#1f5c4a"]},
                "legend": {"orient": "top", "title": None},
            },
            "tooltip": [
                {"field": "indicator"},
                {"field": "phase"},
                {"field": "value", "format": fmt},
            ],
        },
    }


def district_map(features: list[dict[str, Any]], *, kind: str, value_title: str) -> dict[str, Any]:
    """A choropleth of districts from their stored boundaries. ``features``: GeoJSON
    features whose properties hold ``name``, ``estimate`` (None when suppressed) and ``n``."""
    fmt = _axis_format(kind)
    return {
        "$schema": SCHEMA,
        "width": "container",
        "height": 360,
        "data": {
            "values": {"type": "FeatureCollection", "features": features},
            "format": {"type": "json", "property": "features"},
        },
        "projection": {"type": "mercator"},
        "mark": {"type": "geoshape", "stroke": "#ffffff", "strokeWidth": 1},
        "encoding": {
            "color": {
                "field": "properties.estimate",
                "type": "quantitative",
                "title": value_title,
                "legend": {"format": fmt},
                "scale": {"scheme": "greens"},
            },
            "tooltip": [
                {"field": "properties.name", "title": " "},
                {"field": "properties.estimate", "format": fmt, "title": value_title},
                {"field": "properties.n", "title": "n"},
            ],
        },
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
