"""The methodology of a report, written from the data in the report's language: when and where
the assessment was carried out, its questionnaires, how many answered (by sex and by
district), its design (weights, strata, clusters), the discussions held (focus groups and
others, by who took part), and how disclosure control works.

Every count of people goes through the programme's disclosure control as the findings do:
the sample by sex and district is a protected frequency table
(:func:`amniyat.stats.sdc.protect_frequency_table`: a count below the threshold is withheld,
and so is any count from which it could be worked out), and a withheld count is written as
"suppressed (…)", never its value. The threshold is the one the published findings were
computed with.

A methodology section is built from the assessment, the data of its forms that have
published findings (each form's data key, :func:`~amniyat.fieldwork.submissions.frames.data_key`,
which changes with every write of its submissions), and its discussions' profiles: a change
to any makes it stale.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import polars as pl
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from amniyat.accounts import policies
from amniyat.core.text import format_date, format_list, format_number, format_percent, quoted
from amniyat.drivers.coding.selectors import source_list
from amniyat.drivers.coding.services import Sex, sex_of_group
from amniyat.drivers.models import Source
from amniyat.fieldwork.models import Form, FormVersion
from amniyat.fieldwork.submissions.frames import data_key, submissions_frame
from amniyat.findings import present
from amniyat.findings.selectors import published_findings_per_form
from amniyat.findings.shown import results_of
from amniyat.places.models import Place
from amniyat.reports.models import Section
from amniyat.reports.sections import Built
from amniyat.stats.sdc import ProtectedTable, protect_frequency_table

if TYPE_CHECKING:
    from amniyat.accounts.models import User
    from amniyat.fieldwork.models import Assessment
    from amniyat.findings.models import Findings

PUBLIC = frozenset({"public"})
SEXES = ("female", "male")
MISSING = "(missing)"  # how protect_frequency_table names a missing answer


def withheld_note(k: int, *, primary: bool) -> str:
    """What a withheld count says instead of its value (the findings pages' words)."""
    if primary:
        return _("suppressed (fewer than %(k)d respondents)") % {"k": k}
    return _("suppressed (protects a smaller cell)")


def _count(table: ProtectedTable, i: int, j: int) -> dict[str, Any]:
    """One count of a protected table as a report keeps it: its text, or why there is none
    (never the value of a withheld count)."""
    if table.suppressed[i][j]:
        return {"text": None, "note": withheld_note(table.min_cell, primary=table.primary[i][j])}
    return {"text": format_number(table.counts[i][j]), "note": ""}


def _said(count: Mapping[str, Any]) -> str:
    return str(count["text"]) if count["text"] is not None else str(count["note"])


def _forms_state(assessment: Assessment) -> dict[str, str]:
    """Each form's data key (its data revision and stripes, and its versions): three queries
    and one a form."""
    versions = Prefetch("versions", queryset=FormVersion.objects.only("pk", "form_id"))
    forms = Form.objects.filter(assessment=assessment).prefetch_related(versions).order_by("pk")
    return {str(form.pk): data_key(form, list(form.versions.all())) for form in forms}


def _sources(assessment: Assessment, user: User | None) -> list[Source]:
    """The assessment's discussions (their profiles only, never their notes)."""
    sources = (
        source_list(user=user, programme=assessment.programme)
        if user is not None
        else Source.objects.filter(programme_id=assessment.programme_id)
    )
    return list(
        sources.filter(assessment=assessment)
        .select_related(None)
        .only("pk", "kind", "participants", "women", "men")
        .order_by("pk")
    )


def _profiles_digest(rows: Sequence[Sequence[Any]]) -> str:
    return hashlib.sha256(json.dumps(sorted(rows)).encode()).hexdigest()[:16]


def _sample(findings: Findings, k: int, assessment: Assessment) -> dict[str, Any]:
    """The sample of one form's data as a protected table of districts by sex, with its
    margins; only answers classed public are counted (sex and district among them)."""
    # The frame the findings are computed from (the design's fields come with it, never
    # shown): read from its cache when the data did not change since.
    frame = submissions_frame(findings.form, classes=PUBLIC, always=assessment.design_fields)
    columns = set(frame.columns)
    sex = "sex" if "sex" in columns else None
    district = "district" if "district" in columns else None
    if frame.height == 0:
        return {"form": str(findings.form.title), "rows": [], "headers": [], "total": None}
    # A table needs two columns: without one, everyone is in one category of it.
    frame = frame.with_columns(
        (pl.col(sex).cast(pl.String) if sex else pl.lit("all")).alias("_sex"),
        (pl.col(district).cast(pl.String) if district else pl.lit("all")).alias("_district"),
    )
    table = protect_frequency_table(frame, "_district", "_sex", min_cell=k)
    sexes = list(table.column_labels)
    names = present.place_names({c for c in table.row_labels if c not in ("all", MISSING)})
    sex_names = {"female": _("women"), "male": _("men"), MISSING: _("(no answer)")}
    last_row, last_column = len(table.row_labels), len(sexes)
    headers = [_("District")]
    if sex:
        headers += [sex_names.get(s, s) for s in sexes]
    headers.append(_("Total"))
    rows = []
    if district:
        for i, code in enumerate(table.row_labels):
            cells = [_count(table, i, j) for j in range(len(sexes))] if sex else []
            rows.append(
                {
                    "label": names.get(code, _("(no answer)") if code == MISSING else code),
                    "counts": [*cells, _count(table, i, last_column)],
                    "trace": {"form": findings.form_id, "by": "district", "district": code},
                }
            )
    rows.sort(key=lambda row: str(row["label"]))
    total_cells = [_count(table, last_row, j) for j in range(len(sexes))] if sex else []
    total = _count(table, last_row, last_column)
    rows.append(
        {
            "label": _("All districts"),
            "counts": [*total_cells, total],
            "trace": {"form": findings.form_id, "by": "", "district": ""},
        }
    )
    by_sex = dict(zip(sexes, total_cells, strict=True)) if sex else {}
    return {
        "form": str(findings.form.title),
        "headers": headers,
        "rows": rows,
        "total": total,
        "women": by_sex.get("female"),
        "men": by_sex.get("male"),
        "districts": [names[c] for c in table.row_labels if c in names] if district else [],
    }


def _people(women: int, men: int, k: int) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Women, men and everyone who took part, through disclosure control: a protected table
    of one row (so that a withheld count cannot be had from the others by subtraction)."""
    from amniyat.stats.sdc import protect_table

    table = protect_table([[women, men]], min_cell=k)
    return _count(table, 0, 0), _count(table, 0, 1), _count(table, 0, 2)


def _design_sentences(design: Mapping[str, Any]) -> list[str]:
    sentences = [
        _("Estimates are weighted by the survey's sampling weights.")
        if design.get("weight")
        else _("Estimates are not weighted: every respondent counts the same.")
    ]
    if design.get("strata"):
        sentences.append(
            _(
                "The sample was drawn in strata ({field}); the intervals take them into account."
            ).format(field=quoted(design["strata"]))
        )
    if design.get("cluster"):
        sentences.append(
            _(
                "Respondents were sampled in clusters ({field}); the intervals take them into "
                "account."
            ).format(field=quoted(design["cluster"]))
        )
    confidence = float(design.get("confidence", 0.95))
    sentences.append(
        _(
            "Each estimate is given with its {level} confidence interval and the number of "
            "respondents it rests on (n)."
        ).format(level=format_percent(confidence))
    )
    return sentences


def _discussion_sentences(sources: Sequence[Source], k: int) -> list[str]:
    groups = [s for s in sources if s.kind == Source.Kind.FOCUS_GROUP]
    others = [s for s in sources if s.kind != Source.Kind.FOCUS_GROUP]
    if not groups:
        sentences = [_("No focus group of this assessment has been recorded.")]
    else:
        by_sex = [sex_of_group(s) for s in groups]
        profiles = []
        wordings: list[tuple[str | None, Callable[[int], str]]] = [
            (
                Sex.WOMEN,
                lambda n: ngettext("{count} with women only", "{count} with women only", n),
            ),
            (Sex.MEN, lambda n: ngettext("{count} with men only", "{count} with men only", n)),
            (
                Sex.MIXED,
                lambda n: ngettext("{count} with women and men", "{count} with women and men", n),
            ),
            (
                None,
                lambda n: ngettext(
                    "{count} whose profile does not say who took part",
                    "{count} whose profile does not say who took part",
                    n,
                ),
            ),
        ]
        for sex, words in wordings:
            n = by_sex.count(sex)
            if n:
                profiles.append(words(n).format(count=format_number(n)))
        held = ngettext(
            "{count} focus group was held", "{count} focus groups were held", len(groups)
        ).format(count=format_number(len(groups)))
        sentences = [_("{groups}: {profiles}.").format(groups=held, profiles=format_list(profiles))]
        women, men, everyone = _people(sum(s.women for s in groups), sum(s.men for s in groups), k)
        sentences.append(
            _("People who took part in them: {everyone}; women: {women}; men: {men}.").format(
                everyone=_said(everyone), women=_said(women), men=_said(men)
            )
        )
    if others:
        kinds = []
        other_wordings: list[tuple[str, Callable[[int], str]]] = [
            (
                Source.Kind.INTERVIEW,
                lambda n: ngettext("{count} interview", "{count} interviews", n),
            ),
            (Source.Kind.WORKSHOP, lambda n: ngettext("{count} workshop", "{count} workshops", n)),
        ]
        for kind, words in other_wordings:
            n = sum(1 for s in others if s.kind == kind)
            if n:
                kinds.append(words(n).format(count=format_number(n)))
        sentences.append(
            _("The notes of {others} were coded too.").format(others=format_list(kinds))
        )
    return sentences


class MethodologyBuilder:
    """The methodology, written from the data (see the module's docstring)."""

    def _state(self, assessment: Assessment, findings: Sequence[Findings]) -> dict[str, Any]:
        forms = _forms_state(assessment)
        rows = list(
            Source.objects.filter(assessment=assessment)
            .order_by("pk")
            .values_list("pk", "kind", "participants", "women", "men")
        )
        return {
            "assessment": assessment.pk,
            "forms": {str(f.form_id): forms.get(str(f.form_id), "") for f in findings},
            "findings": {
                str(f.pk): f.computed_at.isoformat() if f.computed_at else None for f in findings
            },
            "sources": len(rows),
            "profiles": _profiles_digest([tuple(r) for r in rows]),
        }

    def sources_of(self, *, sections: Sequence[Section]) -> dict[int, Mapping[str, Any]]:
        """What each section's methodology was written from, read once per assessment."""
        read: dict[int, Mapping[str, Any]] = {}
        found: dict[int, Mapping[str, Any]] = {}
        for section in sections:
            assessment = section.report.assessment
            if assessment is None:
                found[section.pk] = {}
                continue
            if assessment.pk not in read:
                read[assessment.pk] = self._state(
                    assessment, published_findings_per_form(assessment=assessment)
                )
            found[section.pk] = read[assessment.pk]
        return found

    def build(self, *, user: User | None, section: Section) -> Built:
        report = section.report
        if user is not None and not (
            policies.can(user, "report.edit", report)
            and policies.can(user, "findings.view_published", report.programme)
        ):
            raise PermissionDenied(_("You may not do this."))
        assessment = report.assessment
        if assessment is None:
            raise ValidationError(
                _("Choose the report's assessment before writing its methodology.")
            )
        findings = published_findings_per_form(assessment=assessment)
        if not findings:
            raise ValidationError(
                _("The assessment has no published findings yet. Publish them, then build again.")
            )
        designs = [results_of(f).get("design", {}) for f in findings]
        k = max(int(d.get("min_cell", 5)) for d in designs)
        with translation.override(report.language):
            title = quoted(assessment.translated("title"))
            if assessment.starts_on and assessment.ends_on:
                when = _("The assessment {title} was carried out from {start} to {end}.").format(
                    title=title,
                    start=format_date(assessment.starts_on),
                    end=format_date(assessment.ends_on),
                )
            elif assessment.starts_on:
                when = _("The assessment {title} began on {start}.").format(
                    title=title, start=format_date(assessment.starts_on)
                )
            else:
                when = _("The assessment {title} has no fieldwork dates recorded.").format(
                    title=title
                )
            samples = [_sample(f, k, assessment) for f in findings]
            places = sorted(
                str(p.translated("name"))
                for p in Place.objects.filter(assessments=assessment).defer(
                    "boundary", "population"
                )
            ) or sorted({d for s in samples for d in s.get("districts", [])})
            paragraphs = [when]
            if places:
                paragraphs.append(
                    ngettext(
                        "It covered {count} place: {places}.",
                        "It covered {count} places: {places}.",
                        len(places),
                    ).format(count=format_number(len(places)), places=format_list(places))
                )
            paragraphs.append(
                ngettext(
                    "Its questionnaire: {forms}.", "Its questionnaires: {forms}.", len(findings)
                ).format(forms=format_list(quoted(f.form.title) for f in findings))
            )
            for sample in samples:
                if sample["total"] is None:
                    continue
                if sample.get("women") is not None and sample.get("men") is not None:
                    paragraphs.append(
                        _("Respondents to {form}: {total}; women: {women}; men: {men}.").format(
                            form=quoted(sample["form"]),
                            total=_said(sample["total"]),
                            women=_said(sample["women"]),
                            men=_said(sample["men"]),
                        )
                    )
                else:
                    paragraphs.append(
                        _("Respondents to {form}: {total}.").format(
                            form=quoted(sample["form"]), total=_said(sample["total"])
                        )
                    )
            paragraphs.append(" ".join(_design_sentences(designs[0])))
            paragraphs.append(" ".join(_discussion_sentences(_sources(assessment, user), k)))
            paragraphs.append(
                _(
                    "Disclosure control: a figure resting on fewer than {k} respondents is not "
                    "published and is shown as “suppressed”, and neither is any figure from "
                    "which it could be worked out. Quotes are published only once approved for "
                    "publication, redacted, with the speaker's profile and never a name."
                ).format(k=format_number(k))
            )
            # A sentence ending in an abbreviated date ("… 2022 г.") ends with its point.
            paragraphs = [re.sub(r"\.\.$", ".", p) for p in paragraphs]
            for sample in samples:
                sample.pop("districts", None)
        state = self._state(assessment, findings)
        return Built(
            content={"paragraphs": paragraphs, "samples": samples, "min_cell": k},
            sources=state,
        )
