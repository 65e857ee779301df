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

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import translation
from django.utils.translation import gettext as _

from amniyat.accounts import policies
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


def _published(section: Section) -> Findings | None:
    """The published findings of the report's assessment the section reads: those of the
    form it names, else of the assessment's first form."""
    assessment = section.report.assessment
    if assessment is None:
        return None
    per_form = published_findings_per_form(assessment=assessment)
    wanted = section.options.get("form")
    return next((f for f in per_form if f.form_id == wanted), per_form[0] if per_form else None)


def _required(section: Section, user: User) -> Findings:
    if not policies.can(user, "findings.view_published", section.report.programme):
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


class FindingsBuilder:
    """Key findings: the chosen indicators (all, if none is chosen), overall and by the
    chosen breakdowns, each with its 95 % interval and n."""

    def sources(self, *, section: Section) -> Mapping[str, Any]:
        return _findings_state(_published(section))

    def build(self, *, user: User, section: Section) -> Built:
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
                    _("The findings have no indicator {names}.").format(names=", ".join(missing))
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


def register_builders() -> None:
    register(Section.Kind.FINDINGS, FindingsBuilder())
