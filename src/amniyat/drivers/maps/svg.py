"""Driver maps drawn on the server as SVG, for everyone who reads a map rather than edits it
(the map's page, published maps, comparisons, the analysis) and, later, for the documents the
reports put them in.

The drawing follows the editor's legend: a factor's shape and colour say its kind, a link's
colour, dash and head say whether it causes, worsens or mitigates, and its width how strong
it is. Factors stand where they were placed in the editor; a map whose factors were never
placed is laid out in columns, from root causes through drivers and concerns to effects.
Every factor and link carries an SVG ``<title>`` (a tooltip, and its name for assistive
technology); the page lists the same factors and links beside the drawing.

The map editor shows the same drawing (:func:`editor_drawing`), drawn again after each change,
with the labels as written and each factor and link a focusable group that names its factor or
link in data attributes for the editor's script (drivers/static/drivers/map.js).

The drawing is built as an :mod:`xml.etree.ElementTree` tree and written out by ElementTree
(a file, a report) or by :func:`~django.utils.html.format_html` (a page): either way every
label is escaped, and nothing built from a map's data is marked safe as it is.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import vl_convert
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from amniyat.drivers.maps import selectors
from amniyat.drivers.models import DriverMap, Factor, Link

SVG_NS = "http://www.w3.org/2000/svg"
FONT_FAMILY = "system-ui, 'Segoe UI', Roboto, 'Noto Sans', 'DejaVu Sans', sans-serif"
FONT_SIZE = 13  # px at natural size, which is how a phone shows the map (it scrolls)
LINE_HEIGHT = 16
# No font metrics on the server: a character is taken as this wide, enough for Cyrillic.
CHAR_WIDTH = 7.4
LINE_CHARS = 18  # a label wraps at about this many characters
MAX_LINES = 5
PADDING = 24
MAX_SPAN = 3000.0  # px: a map spread wider than this is drawn closer together
INK = "#1d2433"
HIGHLIGHT = "#f4d03f"

# kind: (fill, border, shape) — the editor's legend (map.js, map.css) uses the same.
FACTOR_STYLE = {
    "concern": ("#f8dedb", "#c0392b", "round-rectangle"),
    "driver": ("#fbe5cf", "#d35400", "ellipse"),
    "root_cause": ("#ead9f1", "#6c3483", "diamond"),
    "effect": ("#d8e7f4", "#2471a3", "hexagon"),
}
DEFAULT_FACTOR_STYLE = ("#eeeeee", "#555555", "round-rectangle")
# kind: (colour, dash, head)
LINK_STYLE = {
    "causes": ("#4d4d4d", "", "triangle"),
    "worsens": ("#c0392b", "", "triangle"),
    "mitigates": ("#1e8449", "7 4", "tee"),
}
DEFAULT_LINK_STYLE = ("#4d4d4d", "", "triangle")
LINK_WIDTH = {1: 1.5, 2: 3.5, 3: 6.0}
HEAD_SIZE = {1: 11.0, 2: 14.0, 3: 18.0}  # an arrowhead's length and width
TEE_WIDTH = 4.0  # the bar a mitigating link ends in: this thick, 1.4 heads tall
# Columns of a map laid out on the server, left to right, and the distances between factors.
COLUMN_OF_KIND = {"root_cause": 0, "driver": 1, "concern": 2, "effect": 3}
COLUMN_STEP = 280.0
ROW_STEP = 110.0
ROW_GAP = 30.0

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@dataclass(frozen=True)
class MapFactor:
    """A factor to draw: ``key`` names it on the map (``f12``), ``x`` and ``y`` are where its
    centre was placed (``None`` when it never was), ``title`` is its tooltip; ``lang``, when
    given, the language its label is written in (the editor shows labels as written)."""

    key: str
    label: str
    kind: str
    x: float | None
    y: float | None
    title: str
    href: str = ""
    lang: str = ""


@dataclass(frozen=True)
class MapLink:
    """A link to draw, from the factor keyed ``source`` to the one keyed ``target``; ``lang``
    as :class:`MapFactor`'s, for the labels its title names."""

    key: str
    source: str
    target: str
    kind: str
    strength: int
    title: str
    href: str = ""
    lang: str = ""


@dataclass(frozen=True)
class _Box:
    """A factor as drawn: its centre, size, shape and the lines of its label."""

    cx: float
    cy: float
    width: float
    height: float
    shape: str
    lines: tuple[str, ...]


def clean_text(text: str) -> str:
    """``text`` without the characters XML cannot hold."""
    return _NOT_XML.sub("", str(text))


def wrap_label(label: str, *, width: int = LINE_CHARS, max_lines: int = MAX_LINES) -> list[str]:
    """The label in lines of about ``width`` characters, breaking between words (a word
    longer than a line is cut); past ``max_lines`` the last line ends with "…"."""
    lines: list[str] = []
    current = ""
    for word in clean_text(label).split():
        while len(word) > width:
            if current:
                lines.append(current)
                current = ""
            lines.append(word[:width])
            word = word[width:]
        if not current:
            current = word
        elif len(current) + 1 + len(word) <= width:
            current = f"{current} {word}"
        else:
            lines.append(current)
            current = word
    if current or not lines:
        lines.append(current)
    if len(lines) > max_lines:
        last = lines[max_lines - 1]
        lines = [*lines[: max_lines - 1], last[: width - 1].rstrip() + "…"]
    return lines


def factor_size(kind: str, lines: Sequence[str]) -> tuple[float, float]:
    """Width and height of a factor whose label takes ``lines``: its text fits inside the
    shape of its kind."""
    text_width = max(CHAR_WIDTH * max((len(line) for line in lines), default=0), 36.0)
    text_height = LINE_HEIGHT * max(len(lines), 1)
    shape = FACTOR_STYLE.get(kind, DEFAULT_FACTOR_STYLE)[2]
    if shape == "ellipse":
        return text_width * 1.3 + 20, text_height * 1.3 + 18
    if shape == "diamond":
        return text_width * 1.5 + 24, text_height * 1.7 + 24
    if shape == "hexagon":
        return text_width + text_height + 28, text_height + 16
    return text_width + 24, text_height + 14


def _placed(factors: Sequence[MapFactor]) -> dict[str, tuple[float, float]]:
    """Where factors were placed. One factor at (0, 0) may well have been put there; several
    there were never placed (a map made through the API, or imported without positions)."""
    at_origin = [f for f in factors if f.x is not None and f.y is not None and f.x == f.y == 0]
    return {
        f.key: (float(f.x), float(f.y))
        for f in factors
        if f.x is not None and f.y is not None and not (len(at_origin) > 1 and f.x == f.y == 0)
    }


def layout(
    factors: Sequence[MapFactor], links: Iterable[MapLink]
) -> tuple[dict[str, tuple[float, float]], bool]:
    """Each factor's centre, and whether any had to be placed here. Placed factors keep their
    place; the others go below them in columns by kind (root causes, drivers, concerns,
    effects), each column ordered by the heights of the factors it is linked to."""
    positions = _placed(factors)
    missing = [f for f in factors if f.key not in positions]
    if not missing:
        return positions, False
    neighbours: dict[str, list[str]] = {}
    for link in links:
        neighbours.setdefault(link.source, []).append(link.target)
        neighbours.setdefault(link.target, []).append(link.source)
    top = max((y for _x, y in positions.values()), default=0.0) + (ROW_STEP if positions else 0)
    left = min((x for x, _y in positions.values()), default=0.0)
    columns: dict[int, list[MapFactor]] = {}
    for factor in missing:
        columns.setdefault(COLUMN_OF_KIND.get(factor.kind, len(COLUMN_OF_KIND)), []).append(factor)
    # Where each would stand in its column as listed, for the others to be ordered by.
    for column, members in columns.items():
        for row, factor in enumerate(members):
            positions[factor.key] = (left + COLUMN_STEP * column, top + ROW_STEP * row)
    # Then each column in the order of the heights of what its factors link to (one
    # barycentre pass), stacked by their drawn heights.
    order = {f.key: i for i, f in enumerate(factors)}
    for column, members in sorted(columns.items()):
        keys = [f.key for f in members]
        pulls = {k: _pull(k, keys, neighbours, positions) for k in keys}
        y = top
        for factor in sorted(members, key=lambda f: (pulls[f.key], order[f.key])):
            height = factor_size(factor.kind, wrap_label(factor.label))[1]
            positions[factor.key] = (left + COLUMN_STEP * column, y + height / 2)
            y += height + ROW_GAP
    return positions, True


def _pull(
    key: str,
    column: list[str],
    neighbours: dict[str, list[str]],
    positions: dict[str, tuple[float, float]],
) -> float:
    """The mean height of the factors ``key`` is linked to outside its own column."""
    ys = [positions[n][1] for n in neighbours.get(key, []) if n not in column and n in positions]
    return sum(ys) / len(ys) if ys else positions[key][1]


def _boxes(
    factors: Sequence[MapFactor],
    positions: dict[str, tuple[float, float]],
    *,
    max_span: float | None = MAX_SPAN,
) -> dict[str, _Box]:
    """Each factor as drawn; a map wider than ``max_span`` is drawn closer together (never
    with ``None``: the editor draws factors exactly where they are)."""
    boxes: dict[str, _Box] = {}
    xs = [x for x, _y in positions.values()] or [0.0]
    ys = [y for _x, y in positions.values()] or [0.0]
    span = max(max(xs) - min(xs), max(ys) - min(ys))
    shrink = max_span / span if max_span is not None and span > max_span else 1.0
    for factor in factors:
        x, y = positions[factor.key]
        lines = wrap_label(factor.label)
        width, height = factor_size(factor.kind, lines)
        shape = FACTOR_STYLE.get(factor.kind, DEFAULT_FACTOR_STYLE)[2]
        boxes[factor.key] = _Box(x * shrink, y * shrink, width, height, shape, tuple(lines))
    return boxes


def _outline(box: _Box) -> list[tuple[float, float]]:
    """The corners of a polygonal shape, around its centre."""
    w, h = box.width / 2, box.height / 2
    if box.shape == "diamond":
        return [(0, -h), (w, 0), (0, h), (-w, 0)]
    if box.shape == "hexagon":
        inset = min(h, w / 2) * 0.8
        return [(-w, 0), (-w + inset, -h), (w - inset, -h), (w, 0), (w - inset, h), (-w + inset, h)]
    return [(-w, -h), (w, -h), (w, h), (-w, h)]


def _edge_of(box: _Box, towards: tuple[float, float]) -> tuple[float, float]:
    """Where the line from the factor's centre towards ``towards`` leaves its shape."""
    dx, dy = towards[0] - box.cx, towards[1] - box.cy
    if dx == 0 and dy == 0:
        return box.cx, box.cy
    if box.shape == "ellipse":
        a, b = box.width / 2, box.height / 2
        t = 1 / math.sqrt((dx / a) ** 2 + (dy / b) ** 2)
        return box.cx + dx * t, box.cy + dy * t
    # The ray (t dx, t dy) against each side of the polygon; the nearest crossing wins.
    corners = _outline(box)
    best = 1.0
    for (x1, y1), (x2, y2) in zip(corners, corners[1:] + corners[:1], strict=True):
        ex, ey = x2 - x1, y2 - y1
        denominator = dx * ey - dy * ex
        if abs(denominator) < 1e-9:
            continue
        t = (x1 * ey - y1 * ex) / denominator
        u = (x1 * dy - y1 * dx) / denominator
        if t > 0 and -1e-9 <= u <= 1 + 1e-9:
            best = min(best, t)
    return box.cx + dx * best, box.cy + dy * best


def _number(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _shape_element(box: _Box, *, fill: str, stroke: str, stroke_width: float) -> ET.Element:
    paint = {
        "class": "factor-shape",
        "fill": fill,
        "stroke": stroke,
        "stroke-width": _number(stroke_width),
    }
    if box.shape == "ellipse":
        return ET.Element(
            "ellipse",
            {
                "cx": _number(box.cx),
                "cy": _number(box.cy),
                "rx": _number(box.width / 2),
                "ry": _number(box.height / 2),
                **paint,
            },
        )
    if box.shape == "round-rectangle":
        return ET.Element(
            "rect",
            {
                "x": _number(box.cx - box.width / 2),
                "y": _number(box.cy - box.height / 2),
                "width": _number(box.width),
                "height": _number(box.height),
                "rx": "8",
                **paint,
            },
        )
    points = " ".join(f"{_number(box.cx + x)},{_number(box.cy + y)}" for x, y in _outline(box))
    return ET.Element("polygon", {"points": points, **paint})


def _marker(defs: ET.Element, prefix: str, kind: str, strength: int) -> str:
    """The id of the head a link of this kind and strength ends in (added to ``defs`` once)."""
    marker_id = f"{prefix}-head-{kind}-{strength}"
    if defs.find(f"marker[@id='{marker_id}']") is not None:
        return marker_id
    colour, _dash, head = LINK_STYLE.get(kind, DEFAULT_LINK_STYLE)
    size = HEAD_SIZE.get(strength, HEAD_SIZE[2])
    marker = ET.SubElement(
        defs,
        "marker",
        {
            "id": marker_id,
            "viewBox": "0 0 10 10",
            "refX": "0",
            "refY": "5",
            "markerUnits": "userSpaceOnUse",
            "markerWidth": _number(size if head == "triangle" else TEE_WIDTH),
            "markerHeight": _number(size if head == "triangle" else size * 1.4),
            "orient": "auto",
            "preserveAspectRatio": "none",
        },
    )
    shape = "M0,0 L10,5 L0,10 z" if head == "triangle" else "M0,0 H10 V10 H0 z"
    ET.SubElement(marker, "path", {"d": shape, "fill": colour})
    return marker_id


def _link_path(
    link: MapLink, boxes: dict[str, _Box], *, bend: bool, head_length: float
) -> str | None:
    """The path of a link from the edge of its source to just before the edge of its target
    (where its head is drawn); a link with one the other way is bent, so both show."""
    source, target = boxes.get(link.source), boxes.get(link.target)
    if source is None or target is None or source is target:
        return None
    dx, dy = target.cx - source.cx, target.cy - source.cy
    distance = math.hypot(dx, dy)
    if distance < 1:
        return None
    if bend:
        offset = min(40.0, distance / 4)
        control = (
            (source.cx + target.cx) / 2 - dy / distance * offset,
            (source.cy + target.cy) / 2 + dx / distance * offset,
        )
    else:
        control = None
    start = _edge_of(source, control or (target.cx, target.cy))
    end = _edge_of(target, control or (source.cx, source.cy))
    # Step back along the last stretch by the head's length.
    towards = control or start
    back_x, back_y = end[0] - towards[0], end[1] - towards[1]
    back = math.hypot(back_x, back_y) or 1.0
    end = (end[0] - back_x / back * head_length, end[1] - back_y / back * head_length)
    if control is None:
        return f"M{_number(start[0])},{_number(start[1])} L{_number(end[0])},{_number(end[1])}"
    return (
        f"M{_number(start[0])},{_number(start[1])} "
        f"Q{_number(control[0])},{_number(control[1])} {_number(end[0])},{_number(end[1])}"
    )


def _titled(parent: ET.Element, href: str, title: str, attrs: dict[str, str]) -> ET.Element:
    """A group (a link to ``href``, if given) whose first child is its ``<title>``."""
    if href:
        element = ET.SubElement(parent, "a", {"href": href, **attrs})
    else:
        element = ET.SubElement(parent, "g", attrs)
    ET.SubElement(element, "title").text = clean_text(title)
    return element


def build_map(
    factors: Sequence[MapFactor],
    links: Sequence[MapLink],
    *,
    title: str,
    description: str = "",
    id_prefix: str = "map",
    highlight: Collection[str] | None = None,
    background: str = "",
    editable: bool = False,
) -> ET.Element:
    """The map as an SVG element tree. ``highlight``, when it names any, names the factors
    and links to mark (what differs from another map); the rest is drawn faded.
    ``background`` fills the drawing (a file on its own needs one; a page has its own).
    ``editable`` draws it for the editor: every factor where it stands (a large map is not
    drawn closer together), each factor and link a focusable group with ``data-id`` (its key)
    and each factor with ``data-x`` and ``data-y`` (its centre), and each link with a wide
    invisible stroke a finger can hit."""
    positions, _laid_out = layout(factors, links)
    boxes = _boxes(factors, positions, max_span=None if editable else MAX_SPAN)
    pairs = {(link.source, link.target) for link in links}

    # The drawing's extent: every factor with room around it.
    if boxes:
        x1 = min(b.cx - b.width / 2 for b in boxes.values()) - PADDING
        y1 = min(b.cy - b.height / 2 for b in boxes.values()) - PADDING
        x2 = max(b.cx + b.width / 2 for b in boxes.values()) + PADDING
        y2 = max(b.cy + b.height / 2 for b in boxes.values()) + PADDING
    else:
        x1, y1, x2, y2 = 0.0, 0.0, 320.0, 80.0
    width, height = math.ceil(x2 - x1), math.ceil(y2 - y1)
    prefix = re.sub(r"[^A-Za-z0-9_-]", "", id_prefix) or "map"
    svg = ET.Element(
        "svg",
        {
            "xmlns": SVG_NS,
            "id": prefix,
            "class": "driver-map",
            "viewBox": f"{_number(x1)} {_number(y1)} {width} {height}",
            "width": str(width),
            "height": str(height),
            "role": "group",
            "aria-labelledby": f"{prefix}-title",
            "font-family": FONT_FAMILY,
            "font-size": str(FONT_SIZE),
        },
    )
    ET.SubElement(svg, "title", {"id": f"{prefix}-title"}).text = clean_text(title)
    if description:
        ET.SubElement(svg, "desc").text = clean_text(description)
    defs = ET.SubElement(svg, "defs")
    if background:
        ET.SubElement(
            svg,
            "rect",
            {
                "x": _number(x1),
                "y": _number(y1),
                "width": str(width),
                "height": str(height),
                "fill": background,
            },
        )
    # With nothing to mark, nothing is faded either.
    marked = set(highlight) if highlight else None

    def state(key: str) -> str:
        if marked is None:
            return ""
        return " differs" if key in marked else " same"

    drawn_links = ET.SubElement(svg, "g", {"class": "links"})
    for link in links:
        strength = link.strength if link.strength in LINK_WIDTH else 2
        colour, dash, head = LINK_STYLE.get(link.kind, DEFAULT_LINK_STYLE)
        head_length = HEAD_SIZE[strength] if head == "triangle" else TEE_WIDTH
        path = _link_path(
            link, boxes, bend=(link.target, link.source) in pairs, head_length=head_length
        )
        if path is None:
            continue
        attrs = {"class": f"link link-{link.kind}{state(link.key)}", "id": f"{prefix}-{link.key}"}
        if marked is not None and link.key not in marked:
            attrs["opacity"] = "0.5"
        if editable:
            attrs.update(_editable(link.key))
        if link.lang:
            attrs["lang"] = link.lang
        group = _titled(drawn_links, link.href, link.title, attrs)
        if editable:
            ET.SubElement(
                group,
                "path",
                {
                    "class": "link-hit",
                    "d": path,
                    "fill": "none",
                    "stroke": "transparent",
                    "stroke-width": "16",
                },
            )
        if marked is not None and link.key in marked:
            ET.SubElement(
                group,
                "path",
                {
                    "d": path,
                    "fill": "none",
                    "stroke": HIGHLIGHT,
                    "stroke-width": _number(LINK_WIDTH[strength] + 10),
                    "stroke-linecap": "round",
                },
            )
        line = {
            "d": path,
            "fill": "none",
            "stroke": colour,
            "stroke-width": _number(LINK_WIDTH[strength]),
            "marker-end": f"url(#{_marker(defs, prefix, link.kind, strength)})",
        }
        if dash:
            line["stroke-dasharray"] = dash
        ET.SubElement(group, "path", line)

    drawn_factors = ET.SubElement(svg, "g", {"class": "factors"})
    for factor in factors:
        box = boxes[factor.key]
        fill, border, _shape = FACTOR_STYLE.get(factor.kind, DEFAULT_FACTOR_STYLE)
        attrs = {
            "class": f"factor kind-{factor.kind}{state(factor.key)}",
            "id": f"{prefix}-{factor.key}",
        }
        if marked is not None and factor.key not in marked:
            attrs["opacity"] = "0.55"
        if editable:
            attrs.update(_editable(factor.key))
            attrs.update({"data-x": _number(box.cx), "data-y": _number(box.cy)})
        if factor.lang:
            attrs["lang"] = factor.lang
        group = _titled(drawn_factors, factor.href, factor.title, attrs)
        if marked is not None and factor.key in marked:
            group.append(_shape_element(box, fill="none", stroke=HIGHLIGHT, stroke_width=14))
        group.append(_shape_element(box, fill=fill, stroke=border, stroke_width=2.5))
        text = ET.SubElement(
            group,
            "text",
            {"x": _number(box.cx), "text-anchor": "middle", "fill": INK},
        )
        first = box.cy - LINE_HEIGHT * (len(box.lines) - 1) / 2
        for index, line_text in enumerate(box.lines):
            ET.SubElement(
                text,
                "tspan",
                {
                    "x": _number(box.cx),
                    "y": _number(first + LINE_HEIGHT * index),
                    "dominant-baseline": "central",
                },
            ).text = line_text
    return svg


def _editable(key: str) -> dict[str, str]:
    """What makes a factor or link one the editor's script can select, by pointer or keyboard."""
    return {"data-id": key, "tabindex": "0", "role": "button", "aria-pressed": "false"}


def draw_map(factors: Sequence[MapFactor], links: Sequence[MapLink], **options: Any) -> str:
    """The map as an SVG document, for a file of its own or a report (a string; every text
    and attribute escaped by ElementTree). ``options`` as :func:`build_map`."""
    return ET.tostring(build_map(factors, links, **options), encoding="unicode")


# The names of elements and attributes build_map writes: the only text of a drawing that is
# written into the markup as it is rather than escaped.
_NAME = re.compile(r"[A-Za-z][\w:.-]*\Z")


def _name(name: str) -> str:
    if not _NAME.match(name):
        raise ValueError(f"not an SVG name: {name!r}")
    return name


def _template(element: ET.Element, parts: list[str], values: list[str]) -> None:
    parts.append("<" + _name(element.tag))
    for name, value in element.attrib.items():
        parts.append(f' {_name(name)}="{{}}"')
        values.append(value)
    parts.append(">{}")
    values.append(element.text or "")
    for child in element:
        _template(child, parts, values)
    parts.append(f"</{element.tag}>")


def _markup(element: ET.Element) -> SafeString:
    """``element`` as markup for a page, written by one :func:`format_html`, which escapes
    every text and attribute value: its template holds only the names of elements and
    attributes (checked to be names), so no map data is ever marked safe as it is. One call
    for the whole drawing rather than one per element and attribute: 0.5 ms instead of 2 on a
    map page."""
    parts: list[str] = []
    values: list[str] = []
    _template(element, parts, values)
    return format_html("".join(parts), *values)


def page_markup(
    factors: Sequence[MapFactor], links: Sequence[MapLink], **options: Any
) -> SafeString:
    """The map as inline SVG for a page. ``options`` as :func:`build_map`."""
    return _markup(build_map(factors, links, **options))


# ----------------------------------------------------------------------------------------
# A saved map.


def map_parts(
    factors: Sequence[Factor],
    links: Sequence[Link],
    *,
    list_url: str | None = "",
    as_written: bool = False,
) -> tuple[list[MapFactor], list[MapLink]]:
    """The factors and links of a map as :func:`draw_map` takes them, with tooltips in the
    request's language. Each leads to its entry in the list of factors and links at
    ``list_url`` (this page when empty; nowhere when None). Labels are in the reader's
    language, or ``as_written`` (what the editor changes), each then marked with the language
    it is written in (a link with its ends' language when they share one)."""
    kinds = dict(Factor.Kind.choices)
    link_kinds = dict(Link.Kind.choices)
    labels = {
        factor.pk: factor.label if as_written else str(factor.translated("label"))
        for factor in factors
    }
    languages = {factor.pk: factor.content_language if as_written else "" for factor in factors}
    drawn_factors = [
        MapFactor(
            key=f"f{factor.pk}",
            label=labels[factor.pk],
            kind=factor.kind,
            x=factor.x,
            y=factor.y,
            title=_("{label} ({kind})").format(
                label=labels[factor.pk], kind=kinds.get(factor.kind, factor.kind)
            ),
            href=f"{list_url}#factor-{factor.pk}" if list_url is not None else "",
            lang=languages[factor.pk],
        )
        for factor in factors
    ]
    drawn_links = [
        MapLink(
            key=f"l{link.pk}",
            source=f"f{link.source_id}",
            target=f"f{link.target_id}",
            kind=link.kind,
            strength=link.strength,
            title=_("{source} → {target}: {kind}, strength {strength}").format(
                source=labels[link.source_id],
                target=labels[link.target_id],
                kind=link_kinds.get(link.kind, link.kind),
                strength=link.strength,
            ),
            href=f"{list_url}#link-{link.pk}" if list_url is not None else "",
            lang=(
                languages[link.source_id]
                if languages[link.source_id] == languages[link.target_id]
                else ""
            ),
        )
        for link in links
        if link.source_id in labels and link.target_id in labels
    ]
    return drawn_factors, drawn_links


def _saved(
    driver_map: DriverMap, list_url: str | None, content: selectors.MapContent | None = None
) -> tuple[list[MapFactor], list[MapLink]]:
    factors, links = selectors.map_content(driver_map, content)
    return map_parts(factors, links, list_url=list_url)


def map_svg(
    driver_map: DriverMap,
    *,
    id_prefix: str = "map",
    highlight: Collection[str] | None = None,
    list_url: str | None = "",
    background: str = "",
) -> str:
    """The saved map as an SVG document (a string, every label escaped)."""
    drawn_factors, drawn_links = _saved(driver_map, list_url)
    return draw_map(
        drawn_factors,
        drawn_links,
        title=str(driver_map.translated("title")),
        id_prefix=id_prefix,
        highlight=highlight,
        background=background,
    )


def map_drawing(
    driver_map: DriverMap,
    *,
    id_prefix: str = "map",
    highlight: Collection[str] | None = None,
    list_url: str | None = "",
    content: selectors.MapContent | None = None,
) -> SafeString:
    """The saved map as inline SVG for a page (of ``content``, when the page has already read
    the map's factors and links)."""
    drawn_factors, drawn_links = _saved(driver_map, list_url, content)
    return page_markup(
        drawn_factors,
        drawn_links,
        title=str(driver_map.translated("title")),
        id_prefix=id_prefix,
        highlight=highlight,
    )


def editor_drawing(
    driver_map: DriverMap, *, content: selectors.MapContent | None = None
) -> SafeString:
    """The saved map as the editor shows it (inline SVG, every label escaped): drawn as
    readers see it, with labels as written and every factor and link selectable."""
    drawn_factors, drawn_links = map_parts(
        *selectors.map_content(driver_map, content), list_url=None, as_written=True
    )
    return page_markup(
        drawn_factors,
        drawn_links,
        title=str(driver_map.translated("title")),
        id_prefix="editor",
        editable=True,
    )


def map_positions(
    factors: Sequence[Factor], links: Sequence[Link]
) -> tuple[dict[int, tuple[float, float]], bool]:
    """Where each factor of a saved map is drawn (by id), and whether any had never been
    placed: the editor starts from the same layout readers see, and keeps it."""
    drawn_factors, drawn_links = map_parts(factors, links, list_url=None)
    positions, laid_out = layout(drawn_factors, drawn_links)
    return {int(key[1:]): xy for key, xy in positions.items()}, laid_out


PNG_SCALE = 2.0
PNG_PIXELS_MAX = 4000  # on the longer side
_SIZE = re.compile(r'<svg [^>]*?width="(\d+)" height="(\d+)"')


def png_of(markup: str) -> bytes:
    """A drawing of :func:`draw_map` as a PNG picture, twice its size unless that would be
    very large (vl-convert's resvg draws it, with the fonts of the machine)."""
    size = _SIZE.search(markup)
    longest = max(int(size.group(1)), int(size.group(2))) if size else 1000
    scale = max(0.25, min(PNG_SCALE, PNG_PIXELS_MAX / max(longest, 1)))
    return bytes(vl_convert.svg_to_png(markup, scale=scale))
