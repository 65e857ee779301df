"""A report as every output draws it — its page, the DOCX and the PDF — made once in the
report's language: each section's heading, its written text as a tree
(:mod:`amniyat.reports.writing`), its built figures, the words of its quotes that are still
approved, and whether its sources changed since it was built."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.utils import translation

from amniyat.core.text import format_date
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
    labels of the factors and priorities it answers in the language active: three queries,
    however many there are; none without a recommendations section."""
    if not sections:
        return {}
    found: dict[int, list[dict[str, Any]]] = {}
    for recommendation in selectors.recommendations_of(sections):
        found.setdefault(recommendation.section_id, []).append(
            {
                "text": recommendation.text,
                "factors": [str(f.translated("label")) for f in recommendation.factors.all()],
                "priorities": [
                    str(p.translated("concern")) for p in recommendation.priorities.all()
                ],
            }
        )
    return found


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
