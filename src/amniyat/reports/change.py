"""Baseline → endline: the chosen indicators' published estimates in two assessments of the
programme, each with its 95 % interval and n, overall and for women and men, and the change
between them as the change page computes it (:func:`amniyat.findings.shown.change`: each
difference tested as between independent samples). A cell suppressed in either survey stays
suppressed, and so does its change.

Without an endline with published findings yet, the section says so; it is stale once one is
published (its sources name the pair it compared, found the same way each time)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import translation
from django.utils.translation import gettext as _

from amniyat.accounts import policies
from amniyat.core.text import format_list
from amniyat.fieldwork.models import Assessment
from amniyat.findings import present, tables
from amniyat.findings.selectors import published_findings_per_form
from amniyat.findings.shown import change, shown
from amniyat.reports.built import _chart, _findings_state, _row
from amniyat.reports.models import Section
from amniyat.reports.sections import Built

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from amniyat.accounts.models import Programme, User
    from amniyat.findings.models import Findings


def compared_assessments(programme: Programme | int) -> QuerySet[Assessment]:
    """The programme's assessments with published findings: those a comparison may name
    (``programme``: it or its id)."""
    return (
        Assessment.objects.filter(programme=programme, findings__published_at__isnull=False)
        .distinct()
        .order_by("-starts_on", "title", "pk")
    )


def _chosen(value: Any) -> int | None:
    text = str(value or "")
    return int(text) if text.isascii() and text.isdigit() else None


def _pair(
    section: Section, offered: Sequence[Assessment]
) -> tuple[Assessment | None, Assessment | None]:
    """The baseline and endline the section compares: those chosen, else the report's
    assessment (or the latest baseline) and the latest endline."""
    by_id = {a.pk: a for a in offered}
    report = section.report
    base_id, end_id = (
        _chosen(section.options.get("baseline")),
        _chosen(section.options.get("endline")),
    )
    if base_id is not None:
        baseline = by_id.get(base_id)
    elif report.assessment_id in by_id and by_id[report.assessment_id].kind != "endline":
        baseline = by_id[report.assessment_id]
    else:
        baseline = next((a for a in offered if a.kind == Assessment.Kind.BASELINE), None)
    if end_id is not None:
        endline = by_id.get(end_id)
    else:
        endline = next(
            (a for a in offered if a.kind == Assessment.Kind.ENDLINE and a != baseline), None
        )
    return baseline, endline


def _published(
    assessment: Assessment | None,
    form_id: str = "",
    read: dict[int, list[Findings]] | None = None,
) -> Findings | None:
    """The assessment's published findings: of the questionnaire with XForm id ``form_id``
    where it has one, else of its first. ``read``: what was read already of each
    assessment, for several sections at once."""
    if assessment is None:
        return None
    read = {} if read is None else read
    if assessment.pk not in read:
        read[assessment.pk] = published_findings_per_form(assessment=assessment)
    per_form = read[assessment.pk]
    return next(
        (f for f in per_form if f.form.form_id == form_id), per_form[0] if per_form else None
    )


class ChangeBuilder:
    """Baseline → endline of the chosen indicators (see the module's docstring)."""

    def sources_of(self, *, sections: Sequence[Section]) -> dict[int, Mapping[str, Any]]:
        found: dict[int, Mapping[str, Any]] = {}
        offered: dict[int, list[Assessment]] = {}
        read: dict[int, list[Findings]] = {}
        for section in sections:
            programme_id = section.report.programme_id
            if programme_id not in offered:
                offered[programme_id] = list(compared_assessments(programme_id))
            baseline, endline = _pair(section, offered[programme_id])
            base = _published(baseline, read=read)
            end = _published(endline, base.form.form_id if base else "", read)
            found[section.pk] = {"baseline": _findings_state(base), "endline": _findings_state(end)}
        return found

    def build(self, *, user: User | None, section: Section) -> Built:
        report = section.report
        if user is not None and not (
            policies.can(user, "report.edit", report)
            and policies.can(user, "findings.view_published", report.programme)
        ):
            raise PermissionDenied(_("You may not do this."))
        offered = list(compared_assessments(report.programme))
        ids = {a.pk for a in offered}
        for name in ("baseline", "endline"):
            value = section.options.get(name)
            if value not in (None, "") and _chosen(value) not in ids:
                raise ValidationError(
                    {name: _("Choose an assessment of this programme with published findings.")}
                )
        baseline, endline = _pair(section, offered)
        if baseline is None:
            raise ValidationError(
                {"baseline": _("Choose an assessment of this programme with published findings.")}
            )
        if endline is not None and endline.pk == baseline.pk:
            raise ValidationError({"endline": _("Choose two different assessments to compare.")})
        base = _published(baseline)
        if base is None:  # unpublished since it was offered
            raise ValidationError(
                {"baseline": _("Choose an assessment of this programme with published findings.")}
            )
        end = _published(endline, base.form.form_id)
        chosen = [str(i) for i in section.options.get("indicators", [])]
        with translation.override(report.language):
            names = {
                "baseline": str(baseline.translated("title")),
                "endline": str(endline.translated("title")) if endline else "",
            }
            content: dict[str, Any] = {
                "baseline": {
                    "assessment": baseline.pk,
                    "title": names["baseline"],
                    "findings": base.pk,
                },
                "endline": None,
                "none": "",
                "indicators": [],
            }
            if end is None or endline is None:
                content["none"] = _(
                    "There is no endline with published findings yet: the comparison is made "
                    "once there is one."
                )
                return Built(
                    content=content,
                    sources={"baseline": _findings_state(base), "endline": {}},
                )
            content["endline"] = {
                "assessment": endline.pk,
                "title": names["endline"],
                "findings": end.pk,
            }
            before, after = shown(base), shown(end)
            content["min_cell"] = max(before.min_cell, after.min_cell)
            content["note"] = _(
                "★ marks a change unlikely to be chance (p < 0.05); the two surveys are "
                "independent samples."
            )
            compared = change(base, end, baseline=names["baseline"], endline=names["endline"])
            changes = {(row["indicator"], row["domain_label"]): row for row in compared.rows}
            views_after = {v.id: v for v in after.views}
            shared = [v for v in before.views if v.id in views_after]
            missing = sorted(set(chosen) - {v.id for v in shared})
            if missing:
                raise ValidationError(
                    {
                        "indicators": _(
                            "Both assessments' findings must have the indicators {names}."
                        ).format(names=format_list(missing))
                    }
                )
            views = [v for v in shared if not chosen or v.id in chosen]
            views.sort(key=lambda v: chosen.index(v.id) if chosen else 0)
            for view in views:
                other = views_after[view.id]
                rows = []
                pairs = [("", 0, view.overall, other.overall, _("overall"))]
                ends = {cell.label: (i, cell) for i, cell in enumerate(other.by.get("sex", []))}
                for index, cell in enumerate(view.by.get("sex", [])):
                    if cell.label in ends and cell.label in (_("women"), _("men")):
                        pairs.append(("sex", index, cell, ends[cell.label][1], cell.label))
                for by, index, first, last, label in pairs:
                    if first is None or last is None:
                        continue
                    end_index = ends[label][0] if by else 0
                    difference = changes.get((view.id, "" if not by else label))
                    withheld = first.estimate is None or last.estimate is None
                    rows.append(
                        {
                            "label": label,
                            "baseline": _row(
                                first,
                                trace={
                                    "findings": base.pk,
                                    "indicator": view.id,
                                    "by": by,
                                    "row": index,
                                },
                            ),
                            "endline": _row(
                                last,
                                trace={
                                    "findings": end.pk,
                                    "indicator": view.id,
                                    "by": by,
                                    "row": end_index,
                                },
                            ),
                            "change": None
                            if withheld or difference is None or difference["difference"] is None
                            else tables.points(difference["difference"], view.kind).text,
                            "note": _("suppressed") if withheld else "",
                            "significant": bool(difference and difference["significant"])
                            and not withheld,
                        }
                    )
                content["indicators"].append(
                    {"id": view.id, "label": view.label, "kind": view.kind, "rows": rows}
                )
            # The change page's chart of the chosen proportions overall (a suppressed one is
            # no bar, and in its table with the reason).
            drawn = {v.id for v in views}
            chart = present.change_chart(
                [row for row in compared.rows if row["indicator"] in drawn],
                baseline=names["baseline"],
                endline=names["endline"],
            )
            if chart is not None:
                content["chart"] = _chart(chart)
        return Built(
            content=content,
            sources={"baseline": _findings_state(base), "endline": _findings_state(end)},
        )
