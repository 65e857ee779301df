"""The builders of the sections made from data (registered in :mod:`amniyat.reports.sections`
when the app is ready).

Each reads only what may be published, through the same code the pages use, in the report's
language: **key findings** are the published findings of the report's assessment as the
findings pages show them (:mod:`amniyat.findings.shown`): every figure already through
disclosure control, a withheld cell carrying its reason and never a value.

A built row keeps where it came from (``trace``: the findings record, the indicator, the
breakdown and the row's place in it), so every number of a document can be followed back to
its estimate, and from there to the submissions behind it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import translation
from django.utils.translation import gettext as _

from amniyat.accounts import policies
from amniyat.communities.models import AgeBand, Sector
from amniyat.core.text import format_list
from amniyat.drivers.coding.selectors import publishable_excerpts
from amniyat.drivers.coding.services import quote_digest
from amniyat.drivers.models import Excerpt, Priority, PriorityList
from amniyat.findings import present
from amniyat.findings.selectors import published_findings_per_form
from amniyat.findings.shown import shown
from amniyat.reports.models import Section
from amniyat.reports.sections import Built, register

if TYPE_CHECKING:
    from amniyat.accounts.models import User
    from amniyat.findings.models import Findings

# The breakdowns a findings section offers, in the order it shows them.
BREAKDOWNS = ("sex", "age_band", "district", "sex,district")
DEFAULT_BREAKDOWNS = ("sex", "district")


def _published(section: Section, read: dict[int, list[Findings]] | None = None) -> Findings | None:
    """The published findings of the report's assessment the section reads: those of the
    form it names, else of the assessment's first form. ``read``: what was read already of
    each assessment, for several sections at once (one query per assessment)."""
    assessment = section.report.assessment
    if assessment is None:
        return None
    read = {} if read is None else read
    if assessment.pk not in read:
        read[assessment.pk] = published_findings_per_form(assessment=assessment)
    per_form = read[assessment.pk]
    wanted = section.options.get("form")
    return next((f for f in per_form if f.form_id == wanted), per_form[0] if per_form else None)


class _FromFindings:
    """What every section built from the published findings is built from: the findings
    record and its data state."""

    def sources_of(self, *, sections: Sequence[Section]) -> dict[int, Mapping[str, Any]]:
        read: dict[int, list[Findings]] = {}
        return {s.pk: _findings_state(_published(s, read)) for s in sections}


def published_of(section: Section) -> Findings | None:
    """The published findings a section of the report reads (None if there are none)."""
    return _published(section)


def _required(section: Section, user: User | None) -> Findings:
    if user is not None and not policies.can(
        user, "findings.view_published", section.report.programme
    ):
        raise PermissionDenied(_("You may not do this."))
    if section.report.assessment is None:
        raise ValidationError(_("Choose the report's assessment before building its findings."))
    findings = _published(section)
    if findings is None:
        raise ValidationError(
            _("The assessment has no published findings yet. Publish them, then build again.")
        )
    return findings


def _findings_state(findings: Findings | None) -> dict[str, Any]:
    if findings is None:
        return {}
    return {
        "findings": findings.pk,
        "computed_at": findings.computed_at.isoformat() if findings.computed_at else None,
        "indicator_set": findings.indicator_set_id,
    }


def _row(cell: present.Cell, *, trace: dict[str, Any]) -> dict[str, Any]:
    """A cell as the findings pages show it: a withheld cell has its reason and, for ``n``,
    only what the page may show (``< 5``, or nothing where another cell is protected)."""
    figures = cell.cells(n_column=True)
    if cell.estimate is None:
        n = figures[-1]
        return {
            "label": cell.label,
            "estimate": None,
            "interval": None,
            "n": getattr(n, "text", ""),
            "note": cell.note,
            "trace": trace,
        }
    return {
        "label": cell.label,
        "estimate": cell.text,
        "interval": cell.interval,
        "n": getattr(figures[-1], "text", ""),
        "note": "",
        "trace": trace,
    }


class FindingsBuilder(_FromFindings):
    """Key findings: the chosen indicators (all, if none is chosen), overall and by the
    chosen breakdowns, each with its 95 % interval and n."""

    def build(self, *, user: User | None, section: Section) -> Built:
        findings = _required(section, user)
        chosen = [str(i) for i in section.options.get("indicators", [])]
        breakdowns = [
            b for b in section.options.get("breakdowns", DEFAULT_BREAKDOWNS) if b in BREAKDOWNS
        ]
        with translation.override(section.report.language):
            page = shown(findings)
            views = [v for v in page.views if not chosen or v.id in chosen]
            missing = sorted(set(chosen) - {v.id for v in views})
            if missing:
                raise ValidationError(
                    _("The findings have no indicator {names}.").format(names=format_list(missing))
                )
            indicators = []
            for view in sorted(views, key=lambda v: chosen.index(v.id) if chosen else 0):
                base = {"findings": findings.pk, "indicator": view.id}
                groups = [
                    {
                        "by": key,
                        "title": present.breakdown_title(key),
                        "rows": [
                            _row(cell, trace={**base, "by": key, "row": index})
                            for index, cell in enumerate(view.by.get(key, []))
                        ],
                    }
                    for key in breakdowns
                    if view.by.get(key)
                ]
                indicators.append(
                    {
                        "id": view.id,
                        "label": view.label,
                        "label_note": label_note(findings, view.id, section.report.language),
                        "kind": view.kind,
                        "overall": (
                            _row(view.overall, trace={**base, "by": "", "row": 0})
                            if view.overall
                            else None
                        ),
                        "groups": groups,
                    }
                )
            content = {
                "indicators": indicators,
                "min_cell": page.min_cell,
                "respondents": findings.respondents,
                "confidence": page.design.get("confidence", 0.95),
            }
        return Built(content=content, sources=_findings_state(findings))


def label_note(findings: Findings, indicator: str, language: str) -> str:
    """What a document says under an indicator whose set has no label in its language (and
    which it therefore names in English), in that language; else nothing."""
    labels = (findings.results or {}).get("labels_by_language", {}).get(indicator) or {}
    if language == "en" or labels.get(language):
        return ""
    with translation.override(language):
        name = str(dict(settings.LANGUAGES).get(language, language))
        return _(
            "The indicator set has no label in {language} for this indicator: it is named "
            "in English."
        ).format(language=name)


def _chart(chart: present.Chart) -> dict[str, Any]:
    """A findings chart as a report keeps it: the Vega-Lite specification the page draws
    (a withheld cell is grey or left out, never a value), and the same numbers as a table."""
    return {
        "title": chart.title,
        "caption": chart.caption,
        "headers": chart.headers,
        "rows": [{"label": r.label, "values": r.values, "note": r.note} for r in chart.rows],
        "spec": chart.spec,
    }


def district_chart_of(
    section: Section, user: User | None
) -> tuple[Findings, present.IndicatorView, present.Chart]:
    """The published findings a chart or map of districts draws, its chosen indicator and
    the findings page's chart of it by district (a map where every district has a boundary,
    bars otherwise), in the language active. Refused with a message where the indicator is
    not among the findings' or they have no figures by district."""
    findings = _required(section, user)
    indicator = str(section.options.get("indicator", ""))
    page = shown(findings)
    view = next((v for v in page.views if v.id == indicator), None)
    if view is None:
        raise ValidationError({"indicator": _("Choose one of the findings' indicators to draw.")})
    chart = page.district_chart(view)
    if chart is None:
        raise ValidationError(_("The findings have no figures by district to draw."))
    return findings, view, chart


def district_rows(
    chart: present.Chart, findings: Findings, view: present.IndicatorView
) -> dict[str, Any]:
    """The chart as a report keeps it, each district's row with where it came from."""
    drawn = _chart(chart)
    for index, row in enumerate(drawn["rows"]):
        row["trace"] = {
            "findings": findings.pk,
            "indicator": view.id,
            "by": "district",
            "row": index,
        }
    return drawn


class DistrictChartBuilder(_FromFindings):
    """One indicator by district, as its findings page draws it."""

    def build(self, *, user: User | None, section: Section) -> Built:
        with translation.override(section.report.language):
            findings, view, chart = district_chart_of(section, user)
            content = {"indicator": view.id, "chart": district_rows(chart, findings, view)}
        return Built(content=content, sources=_findings_state(findings))


class GenderGapBuilder(_FromFindings):
    """What women and men said differently: every indicator's estimate for women and for men,
    the largest gap first, with its significance, as the gender-gap page shows it."""

    def build(self, *, user: User | None, section: Section) -> Built:
        findings = _required(section, user)
        with translation.override(section.report.language):
            page = shown(findings)
            chart = page.gap_chart()
            if chart is None:
                raise ValidationError(_("The findings have no figures for women and men."))
            content = {"chart": _chart(chart)}
        return Built(content=content, sources=_findings_state(findings))


# ----------------------------------------------------------------------------------------
# Voices: publishable quotes.

# Quotes a voices section shows when the analyst has chosen none.
DEFAULT_QUOTES = 8
DEFAULT_ORDER = ("code__position", "source__held_on", "pk")


def _approved(section: Section) -> dict[int, Excerpt]:
    """The section's chosen quotes that are still approved for publication, by id."""
    chosen = [int(pk) for pk in section.options.get("excerpts", [])]
    quotes = publishable_excerpts(programme=section.report.programme).select_related(
        "source", "source__place"
    )
    if chosen:
        return {e.pk: e for e in quotes.filter(pk__in=chosen)}
    return {e.pk: e for e in quotes.order_by(*DEFAULT_ORDER)[:DEFAULT_QUOTES]}


def quote_profile(excerpt: Excerpt) -> str:
    """Who said it, as the reviewer who approved the quote saw it: the kind of discussion,
    its place, who took part by sex, age and sector; never a name."""
    source = excerpt.source
    parts = [str(source.get_kind_display())]
    if source.place is not None:
        parts.append(str(source.place.translated("name")))
    if source.women and not source.men:
        parts.append(_("women"))
    elif source.men and not source.women:
        parts.append(_("men"))
    elif source.women and source.men:
        parts.append(_("women and men"))
    bands = [str(AgeBand(b).label) for b in source.age_bands if b in AgeBand.values]
    if bands:
        parts.append(format_list(bands))
    sectors = [str(Sector(s).label) for s in source.sectors if s in Sector.values]
    if sectors:
        parts.append(format_list(sectors))
    return ", ".join(parts)


class QuotesBuilder:
    """Voices: quotes approved for publication, redacted as reviewed, with the speaker's
    profile. The words themselves stay encrypted in their excerpt: the section keeps which
    quotes and a fingerprint of each, and a document reads the words when it is drawn, so a
    quote withdrawn since is never printed."""

    def sources_of(self, *, sections: Sequence[Section]) -> dict[int, Mapping[str, Any]]:
        """Which quotes each section shows, with a fingerprint of the words of those still
        approved: one query for all the chosen ones, one for the first of those not chosen."""
        if not sections:
            return {}
        programme = sections[0].report.programme
        chosen = {s.pk: [int(pk) for pk in s.options.get("excerpts", [])] for s in sections}
        wanted = {pk for ids in chosen.values() for pk in ids}
        texts: dict[int, str] = {}
        if wanted:
            texts.update(
                publishable_excerpts(programme=programme)
                .filter(pk__in=wanted)
                .values_list("pk", "public_text")
            )
        first: list[int] = []
        if any(not ids for ids in chosen.values()):
            rows = (
                publishable_excerpts(programme=programme)
                .order_by(*DEFAULT_ORDER)
                .values_list("pk", "public_text")[:DEFAULT_QUOTES]
            )
            for pk, text in rows:
                texts[pk] = text
                first.append(pk)
        return {
            section.pk: {
                "quotes": {
                    str(pk): quote_digest(texts[pk]) if pk in texts else None
                    for pk in (chosen[section.pk] or sorted(first))
                }
            }
            for section in sections
        }

    def build(self, *, user: User | None, section: Section) -> Built:
        if user is not None and not policies.can(user, "report.edit", section.report):
            raise PermissionDenied(_("You may not do this."))
        chosen = [int(pk) for pk in section.options.get("excerpts", [])]
        approved = _approved(section)
        refused = [pk for pk in chosen if pk not in approved]
        if refused:
            raise ValidationError(
                _("Only quotes approved for publication can be shown: {ids} are not.").format(
                    ids=format_list([str(pk) for pk in refused])
                )
            )
        order = chosen or list(approved)
        with translation.override(section.report.language):
            quotes = [
                {
                    "excerpt": pk,
                    "code": str(approved[pk].code.translated("name")),
                    "profile": quote_profile(approved[pk]),
                }
                for pk in order
            ]
        return Built(
            content={"quotes": quotes}, sources=self.sources_of(sections=[section])[section.pk]
        )


def quote_choices(section: Section) -> list[tuple[int, str]]:
    """The programme's quotes approved for publication, for choosing: each as its code and
    the first words of the quote."""
    excerpts = publishable_excerpts(programme=section.report.programme).order_by(
        "code__position", "pk"
    )
    return [(e.pk, f"{e.code.translated('name')}: {e.public_text[:120]}") for e in excerpts[:200]]


def quote_texts(sections: Sequence[Section]) -> dict[int, str]:
    """The words of the quotes of these voices sections (of one report) that are still
    approved, by excerpt id (one query)."""
    ids = {q["excerpt"] for s in sections for q in (s.built or {}).get("quotes", [])}
    if not ids:
        return {}
    return dict(
        publishable_excerpts(programme=sections[0].report.programme)
        .filter(pk__in=ids)
        .values_list("pk", "public_text")
    )


# ----------------------------------------------------------------------------------------
# Community priorities.

TOP = 3


class PrioritiesBuilder:
    """Community priorities: the concerns the programme's community groups agreed, ranked by
    how many groups put each among their first three, with the mean score the groups gave it.
    Groups are counted, not named."""

    def _lists(self, section: Section) -> Any:
        lists = PriorityList.objects.filter(
            group__programme=section.report.programme, agreed_on__isnull=False
        )
        if section.report.assessment_id:
            lists = lists.filter(assessment=section.report.assessment_id)
        return lists

    def sources_of(self, *, sections: Sequence[Section]) -> dict[int, Mapping[str, Any]]:
        """The agreed lists and the day each was agreed (one query for a report's sections,
        which read the same lists)."""
        read: dict[tuple[int, int | None], Mapping[str, Any]] = {}
        found = {}
        for section in sections:
            key = (section.report.programme_id, section.report.assessment_id)
            if key not in read:
                read[key] = {
                    "lists": {
                        str(pk): agreed.isoformat()
                        for pk, agreed in self._lists(section).values_list("pk", "agreed_on")
                    }
                }
            found[section.pk] = read[key]
        return found

    def build(self, *, user: User | None, section: Section) -> Built:
        if user is not None and not policies.can(user, "report.edit", section.report):
            raise PermissionDenied(_("You may not do this."))
        lists = list(self._lists(section).values_list("pk", flat=True))
        concerns: dict[str, dict[str, Any]] = {}
        with translation.override(section.report.language):
            for priority in Priority.objects.filter(
                priority_list__in=lists, rank__gte=1, rank__lte=TOP
            ).select_related("code"):
                key = f"code:{priority.code_id}" if priority.code_id else priority.concern
                entry = concerns.setdefault(
                    key,
                    {"concern": str(priority.translated("concern")), "groups": set(), "scores": []},
                )
                entry["groups"].add(priority.priority_list_id)
                entry["scores"].append(priority.score)
            rows = sorted(
                (
                    {
                        "concern": entry["concern"],
                        "groups": len(entry["groups"]),
                        "mean_score": round(sum(entry["scores"]) / len(entry["scores"]), 1),
                    }
                    for entry in concerns.values()
                ),
                key=lambda row: (-row["groups"], -row["mean_score"], row["concern"]),
            )
        return Built(
            content={"concerns": rows, "lists": len(lists), "top": TOP},
            sources=self.sources_of(sections=[section])[section.pk],
        )


def register_builders() -> None:
    from amniyat.reports.change import ChangeBuilder
    from amniyat.reports.maps import DistrictMapBuilder, DriverMapBuilder
    from amniyat.reports.methodology import MethodologyBuilder

    register(Section.Kind.FINDINGS, FindingsBuilder())
    register(Section.Kind.CHART, DistrictChartBuilder())
    register(Section.Kind.GENDER_GAP, GenderGapBuilder())
    register(Section.Kind.QUOTES, QuotesBuilder())
    register(Section.Kind.PRIORITIES, PrioritiesBuilder())
    register(Section.Kind.METHODOLOGY, MethodologyBuilder())
    register(Section.Kind.DRIVER_MAP, DriverMapBuilder())
    register(Section.Kind.DISTRICT_MAP, DistrictMapBuilder())
    register(Section.Kind.CHANGE, ChangeBuilder())
