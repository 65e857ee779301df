"""A report as every output draws it — its page, the DOCX and the PDF — made once in the
report's language: each section's heading, its written text as a tree
(:mod:`amniyat.reports.writing`), its built figures, the words of its quotes that are still
approved, and whether its sources changed since it was built."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.utils import translation
from django.utils.translation import ngettext

from amniyat.core.text import format_date, format_number
from amniyat.reports import built, sections, selectors, writing
from amniyat.reports.models import Report, Section


def heading_of(section: Section) -> str:
    """The heading a section shows: the one written, else its kind's (in the language
    active)."""
    return section.heading or str(Section.Kind(section.kind).label).capitalize()


@dataclass
class DrawnSection:
    section: Section
    heading: str
    written: writing.Written
    built: dict[str, Any]
    quotes: list[dict[str, Any]] = field(default_factory=list)
    stale: bool = False
    built_on: str = ""
    # A recommendations section's recommendations: each its text and the labels of the
    # factors and priorities it answers, in the report's language.
    recommendations: list[dict[str, Any]] = field(default_factory=list)
    svg: Any = None  # the page's drawing of its chart (amniyat.findings.charts.render_svg)
    png: str | None = None  # the PDF's: a data: address (amniyat.reports.pdf.chart_png)

    @property
    def kind(self) -> str:
        return self.section.kind


def recommendations_of(sections: list[Section]) -> dict[int, list[dict[str, Any]]]:
    """The recommendations of these sections (of one report), by section, each with the
    labels of the factors and priorities it answers in the language active: a concern that
    several groups' lists hold is named once, with how many groups agreed it. Four queries,
    however many there are; none without a recommendations section."""
    if not sections:
        return {}
    recommendations, factors, priorities = selectors.recommendation_links(sections)
    found: dict[int, list[dict[str, Any]]] = {}
    for recommendation in recommendations:
        found.setdefault(recommendation.section_id, []).append(
            {
                "text": recommendation.text,
                "factors": [str(f.translated("label")) for f in factors.get(recommendation.pk, [])],
                "priorities": [
                    concern_in_groups(str(concern.translated("concern")), groups)
                    for concern, groups in priorities.get(recommendation.pk, [])
                ],
            }
        )
    return found


def concern_in_groups(concern: str, groups: int) -> str:
    """A concern named once for all the groups' lists that hold it: "Street lighting (12
    groups)"; a single group's concern as it is."""
    if groups <= 1:
        return concern
    return ngettext("%(concern)s (%(count)s group)", "%(concern)s (%(count)s groups)", groups) % {
        "concern": concern,
        "count": format_number(groups),
    }


@dataclass
class Drawn:
    report: Report
    title: str
    subtitle: str
    sections: list[DrawnSection]


def drawn(report: Report) -> Drawn:
    ordered = list(selectors.sections_of(report))
    for section in ordered:
        section.report = report  # read once, not once per section
    quotes = built.quote_texts([s for s in ordered if s.kind == Section.Kind.QUOTES])
    stale = sections.stale(s for s in ordered if s.built_at is not None)
    with translation.override(report.language):
        recommendations = recommendations_of(
            [s for s in ordered if s.kind == Section.Kind.RECOMMENDATIONS]
        )
        items = [
            DrawnSection(
                section=section,
                heading=heading_of(section),
                written=writing.parse(section.text),
                built=section.built or {},
                quotes=[
                    {**quote, "text": quotes[quote["excerpt"]]}
                    for quote in (section.built or {}).get("quotes", [])
                    if quote["excerpt"] in quotes
                ],
                recommendations=recommendations.get(section.pk, []),
                stale=section.pk in stale,
                built_on=format_date(section.built_at.date()) if section.built_at else "",
            )
            for section in ordered
        ]
        subtitle = " · ".join(
            part
            for part in (
                str(report.programme.translated("name")),
                str(report.assessment.translated("title")) if report.assessment else "",
            )
            if part
        )
    return Drawn(report=report, title=report.title, subtitle=subtitle, sections=items)
