"""The maps of a report: a published **driver map** of the programme, drawn from the same graph
as the map's page (:mod:`amniyat.drivers.maps.svg`), with what its shape says (root causes,
leverage points, loops: :mod:`amniyat.drivers.maps.network`) each in one sentence; and one
indicator's published estimate on a **map of districts**, as its findings page draws it.

A driver map section keeps the drawing's parts (each factor's label, kind and place, each
link's ends, kind and strength), never markup: the page draws them again through
:func:`~amniyat.drivers.maps.svg.page_markup`, which escapes every label, and the DOCX and
the PDF through :func:`~amniyat.drivers.maps.svg.draw_map` and
:func:`~amniyat.drivers.maps.svg.png_of` (vl-convert, no browser).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import translation
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from amniyat.accounts import policies
from amniyat.core.text import format_date
from amniyat.drivers.maps import network, selectors, svg
from amniyat.drivers.models import DriverMap
from amniyat.reports.built import (
    _findings_state,
    _FromFindings,
    district_chart_of,
    district_rows,
)
from amniyat.reports.models import Section
from amniyat.reports.sections import Built

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from amniyat.accounts.models import Programme, User

# ----------------------------------------------------------------------------------------
# Driver maps.


def published_maps(*, user: User | None, programme: Programme) -> QuerySet[DriverMap]:
    """The programme's published driver maps the user may read (all of them for the command
    line), by title."""
    maps = (
        selectors.driver_map_list(user=user, programme=programme)
        if user is not None
        else DriverMap.objects.filter(programme=programme)
    )
    return maps.filter(published_at__isnull=False).order_by("title", "pk")


def map_choices(*, user: User, programme: Programme) -> list[tuple[int, str]]:
    return [
        (m.pk, str(m.translated("title")))
        for m in published_maps(user=user, programme=programme)
        .select_related(None)
        .only("pk", "title", "content_language", "translations")
    ]


def _map_state(pk: Any, updated_at: Any, published_at: Any) -> dict[str, Any]:
    return {
        "map": pk,
        "updated_at": updated_at.isoformat() if updated_at else None,
        "published_at": published_at.isoformat() if published_at else None,
    }


def _finding(finding: network.NetworkFinding) -> dict[str, Any]:
    return {
        "factors": finding.factor_ids,
        "labels": finding.labels,
        "sentence": finding.explanation,
    }


def _default_map(rows: Sequence[tuple[Any, ...]], assessment_id: int | None) -> Any:
    """The map a section shows when none is chosen: the first published map of the report's
    assessment, else the first of the programme (``rows``: pk and assessment id, by title)."""
    return next(
        (row[0] for row in rows if assessment_id and row[1] == assessment_id),
        rows[0][0] if rows else None,
    )


class DriverMapBuilder:
    """A published driver map of the programme: its drawing, and its root causes, leverage
    points and loops, each in a sentence. Without a map chosen, the first published one of
    the report's assessment (else of the programme); without any, the section says so."""

    def sources_of(self, *, sections: Sequence[Section]) -> dict[int, Mapping[str, Any]]:
        """Each section's map as it is now (its last change and its publication; nothing for
        a map deleted or withdrawn since): one query for all."""
        programmes = {s.report.programme_id for s in sections}
        rows = list(
            DriverMap.objects.filter(programme__in=programmes, published_at__isnull=False)
            .order_by("title", "pk")
            .values_list("pk", "assessment_id", "programme_id", "updated_at", "published_at")
        )
        states = {row[0]: _map_state(row[0], row[3], row[4]) for row in rows}
        found: dict[int, Mapping[str, Any]] = {}
        for section in sections:
            chosen = str(section.options.get("map", ""))
            if chosen.isascii() and chosen.isdigit():
                pk: Any = int(chosen)
            else:
                pk = _default_map(
                    [r for r in rows if r[2] == section.report.programme_id],
                    section.report.assessment_id,
                )
            found[section.pk] = states.get(pk, {}) if pk is not None else {"map": None}
        return found

    def build(self, *, user: User | None, section: Section) -> Built:
        report = section.report
        if user is not None and not policies.can(user, "report.edit", report):
            raise PermissionDenied(_("You may not do this."))
        chosen = str(section.options.get("map", ""))
        refusal = _("Choose a published driver map of this programme.")
        offered = published_maps(user=user, programme=report.programme).select_related(None)
        if chosen:
            if not chosen.isascii() or not chosen.isdigit():
                raise ValidationError({"map": refusal})
            driver_map = offered.filter(pk=int(chosen)).first()
            if driver_map is None:
                raise ValidationError({"map": refusal})
        else:
            pk = _default_map(
                list(offered.values_list("pk", "assessment_id")), report.assessment_id
            )
            driver_map = offered.filter(pk=pk).first() if pk is not None else None
            if driver_map is None:
                with translation.override(report.language):
                    none = _("No driver map of this programme is published yet.")
                return Built(content={"none": none}, sources={"map": None})
        with translation.override(report.language):
            factors, links = selectors.map_factors(driver_map), selectors.map_links(driver_map)
            drawn_factors, drawn_links = svg.map_parts(factors, links, list_url=None)
            analysis = network.analyse_map(driver_map, (factors, links))
            content = {
                "map": driver_map.pk,
                "title": str(driver_map.translated("title")),
                "published_on": format_date(driver_map.published_at)
                if driver_map.published_at
                else "",
                "drawing": {
                    "factors": [asdict(f) for f in drawn_factors],
                    "links": [asdict(link) for link in drawn_links],
                },
                "root_causes": [_finding(f) for f in analysis.root_causes],
                "leverage_points": [_finding(f) for f in analysis.leverage_points],
                "loops": [_finding(f) for f in analysis.loops],
                "loops_capped": analysis.loops_capped,
            }
        return Built(
            content=content,
            sources=_map_state(driver_map.pk, driver_map.updated_at, driver_map.published_at),
        )


def _parts(built: Mapping[str, Any]) -> tuple[list[svg.MapFactor], list[svg.MapLink]]:
    drawing = built.get("drawing") or {}
    return (
        [svg.MapFactor(**f) for f in drawing.get("factors", [])],
        [svg.MapLink(**link) for link in drawing.get("links", [])],
    )


def map_markup(built: Mapping[str, Any], *, id_prefix: str) -> SafeString | None:
    """A driver map section's drawing as inline SVG for the page (every label escaped)."""
    factors, links = _parts(built)
    if not factors:
        return None
    return svg.page_markup(factors, links, title=str(built.get("title", "")), id_prefix=id_prefix)


def map_png(built: Mapping[str, Any]) -> bytes | None:
    """A driver map section's drawing as PNG, for the DOCX and the PDF."""
    factors, links = _parts(built)
    if not factors:
        return None
    return svg.png_of(
        svg.draw_map(factors, links, title=str(built.get("title", "")), background="#ffffff")
    )


def map_png_address(built: Mapping[str, Any]) -> str | None:
    png = map_png(built)
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii") if png else None


# ----------------------------------------------------------------------------------------
# One indicator on a map of districts.


class DistrictMapBuilder(_FromFindings):
    """One indicator's published estimate by district on a map, as its findings page draws
    it: every district's figure through disclosure control (a suppressed district grey, with
    its reason and never a value, in the table and in the data of the drawing alike). Where
    a district has no boundary the section says so and draws the figures as bars."""

    def build(self, *, user: User | None, section: Section) -> Built:
        with translation.override(section.report.language):
            findings, view, chart = district_chart_of(section, user)
            drawn = district_rows(chart, findings, view)
            is_map = "projection" in chart.spec
            content = {
                "indicator": view.id,
                "chart": drawn,
                "is_map": is_map,
                "fallback": ""
                if is_map
                else _(
                    "Not every district has a boundary to draw a map with: the figures are "
                    "drawn as bars."
                ),
            }
        return Built(content=content, sources=_findings_state(findings))
