"""Saving indicator sets, computing findings (as a background task) and publishing them."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from amniyat.accounts.models import Programme, User
from amniyat.accounts.policies import require
from amniyat.analysis.errors import AnalysisError, IndicatorError, UnknownFieldError, gettext_noop
from amniyat.analysis.indicators import (
    Indicator,
    Repeat,
    check_fields,
    form_labels,
    label_in,
    load_indicators,
    merge_repeats,
)
from amniyat.analysis.output import result_to_dict
from amniyat.analysis.runner import Comparison, run_analysis
from amniyat.audit.models import AuditEvent
from amniyat.audit.services import audit_record
from amniyat.fieldwork.models import Assessment, Form
from amniyat.fieldwork.submissions.frames import (
    analysis_columns,
    data_key,
    form_repeats,
    repeat_frame,
    submissions_frame,
)
from amniyat.findings.models import Findings, IndicatorSet
from amniyat.stats import Design


class NotPublicError(IndicatorError):
    """An indicator reads a field whose answers may not be published."""


# The disaggregations every findings page offers; gender- and conflict-sensitive analysis
# needs them all, and the district map reads the last two.
STANDARD_BY: tuple[tuple[str, ...], ...] = (
    ("sex",),
    ("age_band",),
    ("district",),
    ("sex", "district"),
)
GENDER = Comparison("sex", "female", "male")


def _form_fields(form: Form) -> set[str]:
    version = form.current_version()
    return set(analysis_columns(version.schema)) if version else set()


def _form_repeats(form: Form) -> dict[str, Repeat]:
    """The form's repeats with every question, whatever its class (for checking names)."""
    version = form.current_version()
    return form_repeats(version, classes=None) if version else {}


def indicator_set_save(
    *, acting_user: User | None, programme: Programme, spec: str, note: str = ""
) -> IndicatorSet:
    """Check the YAML (syntax, expressions, and fields against the programme's forms) and
    store it as the next version."""
    if acting_user is not None:
        require(acting_user, "indicators.manage", programme)
    fields: set[str] = set()
    found: list[dict[str, Repeat]] = []
    for form in Form.objects.filter(assessment__programme=programme):
        fields |= _form_fields(form)
        found.append(_form_repeats(form))
    try:
        # Without forms yet, names and levels cannot be checked.
        load_indicators(
            spec, fields=fields or None, repeats=merge_repeats(found) if fields else None
        )
    except AnalysisError as error:
        raise ValidationError({"spec": error.translated(_)}) from error
    with transaction.atomic():
        latest = (
            IndicatorSet.objects.filter(programme=programme).aggregate(v=Max("version"))["v"] or 0
        )
        indicator_set = IndicatorSet.objects.create(
            programme=programme,
            version=latest + 1,
            spec=spec,
            note=note[:200],
            created_by=acting_user,
        )
        audit_record(
            actor=acting_user,
            actor_label="system",
            verb=AuditEvent.Verb.CREATED,
            obj=indicator_set,
            programme=programme,
        )
    return indicator_set


def current_indicator_set(programme: Programme) -> IndicatorSet | None:
    return IndicatorSet.objects.filter(programme=programme).order_by("-version").first()


def findings_for(form: Form, *, enqueue: bool = True) -> Findings | None:
    """The findings for the form's data as it stands now, queued for computing if they are
    missing or the data changed since; None when the programme has no indicators."""
    indicator_set = current_indicator_set(form.assessment.programme)
    if indicator_set is None:
        return None
    key = data_key(form, list(form.versions.only("pk", "form_id")))  # not schemas and files
    # Without their results (half a megabyte of JSON): pages take what they show of them
    # from `shown`, which reads them once per data state.
    found = Findings.objects.defer("results").filter(
        form=form, indicator_set=indicator_set, source_key=key
    )
    findings = found.first()
    if findings is None:
        try:
            with transaction.atomic():
                findings = Findings.objects.create(
                    assessment=form.assessment,
                    form=form,
                    indicator_set=indicator_set,
                    source_key=key,
                )
        except IntegrityError:  # another request queued the same computation
            findings = found.get()
        else:
            if enqueue:
                from amniyat.findings.tasks import compute_findings

                created = findings
                transaction.on_commit(lambda: compute_findings.enqueue(created.pk))
    findings.form = form
    findings.indicator_set = indicator_set
    return findings


def latest_ready(form: Form) -> Findings | None:
    """The form's latest computed findings, without their results (as `findings_for`)."""
    return (
        Findings.objects.defer("results")
        .filter(form=form, status=Findings.Status.READY)
        .order_by("-computed_at", "-id")
        .first()
    )


def design_of(assessment: Assessment) -> Design:
    return Design(
        weight=assessment.weight_field or None,
        strata=assessment.strata_field or None,
        cluster=assessment.cluster_field or None,
        fpc=assessment.fpc_field or None,
        lonely_psu="adjust",
    )


def analyse(
    form: Form,
    indicator_set: IndicatorSet,
    *,
    by: tuple[tuple[str, ...], ...] = STANDARD_BY,
    compare_sexes: bool = True,
) -> dict[str, Any]:
    """Estimate every indicator for the form's data: overall, by each ``by``, women vs men."""
    assessment = form.assessment
    # Published findings may rest only on answers classed public; the design fields shape the
    # estimates without ever being shown.
    design_fields = assessment.design_fields
    public = frozenset({"public"})
    frame = submissions_frame(form, classes=public, always=design_fields)
    columns = set(frame.columns)
    version = form.current_version()
    # Checked against every question first (so that a question of the wrong repeat is named
    # as such), then against the public ones.
    every_field = _form_fields(form)
    every_repeat = _form_repeats(form)
    indicators = load_indicators(
        indicator_set.spec, fields=every_field | columns - {"_instance_id"}, repeats=every_repeat
    )
    repeats = form_repeats(version, classes=public, always=design_fields) if version else {}
    try:
        check_fields(indicators, columns - {"_instance_id"}, repeats=repeats)
    except UnknownFieldError as error:
        if error.field in every_field or any(
            error.field in repeat.columns for repeat in every_repeat.values()
        ):
            raise NotPublicError(
                gettext_noop(
                    "indicator {indicator} reads {field}, which is not classed public: only "
                    "public answers can be used in findings"
                ),
                indicator=error.indicator,
                field=error.field,
            ) from error
        raise
    levels = {indicator.level for indicator in indicators if indicator.level is not None}
    repeat_frames = {
        level: repeat_frame(form, level, classes=public, always=design_fields) for level in levels
    }
    usable_by = [list(b) for b in by if set(b) <= columns]
    compare = [GENDER] if compare_sexes and "sex" in columns else []
    # The form's choice labels in every language, for expanded indicators without choices.
    choices = {
        f["name"]: {c["name"]: form_labels(c.get("label")) for c in f.get("choices", [])}
        for f in (version.schema if version else [])
        if f.get("type") == "select_multiple"
    }
    result = run_analysis(
        frame,
        indicators,
        design=design_of(assessment),
        by=usable_by,
        compare=compare,
        min_cell=assessment.programme.min_cell_size,
        choices=choices,
        repeats=repeats,
        repeat_frames=repeat_frames,
    )
    data = result_to_dict(result)
    # "labels" (English) is what results stored before labels had languages hold; pages read
    # "labels_by_language" first (`present.measure_label`).
    data["labels"] = {m.id: m.label for m in result.measures}
    data["labels_by_language"] = {m.id: dict(m.labels) for m in result.measures}
    data["kinds"] = {m.id: m.kind for m in result.measures}
    return data


# A question asking for consent is no group of respondents: those who refused were not asked.
CONSENT = re.compile(r"consent|agree_to|informed", re.IGNORECASE)


def disaggregation_fields(
    form: Form, *, indicator: str = "", indicator_set: IndicatorSet | None = None
) -> list[tuple[str, str]]:
    """(column, label) of the closed questions classed public that findings can be broken
    down by, beyond the standard sex, age band and district: never a question of the sampling
    design (weight, strata, cluster, fpc), a consent question, nor one that ``indicator`` (an
    id of ``indicator_set``) reads, which would break the indicator down by itself."""
    version = form.current_version()
    if version is None:
        return []
    assessment = form.assessment
    excluded = {"sex", "age_band", "district"} | set(assessment.design_fields)
    if indicator and indicator_set is not None:
        excluded |= _indicator_fields(indicator_set, indicator)
    language = get_language() or "en"
    fields = []
    for column, (path, kind) in analysis_columns(version.schema).items():
        if kind != "select_one" or version.sensitivity.get(path) != "public":
            continue
        if column in excluded or CONSENT.search(column):
            continue
        spec = next(f for f in version.schema if f["path"] == path)
        # The schema keys labels by XLSForm language name ("Tajik (tg)"), not by code.
        fields.append((column, label_in(form_labels(spec.get("label")), language, default=column)))
    return fields


def _indicator_fields(indicator_set: IndicatorSet, indicator: str) -> set[str]:
    """The questions the indicator ``indicator`` (or the expanded one it comes from) reads."""
    base = indicator.split(".", 1)[0]  # an expanded one: "concern.gbv"
    return {
        field
        for read in indicators_read(indicator_set.spec)
        if read.id in (indicator, base)
        for field in read.fields
    }


@lru_cache(maxsize=16)
def indicators_read(spec: str) -> tuple[Indicator, ...]:
    """The indicators of a specification as written (not checked against any form), read
    once per process and specification: findings' one reading of an indicator set for what
    pages show. Parsing the YAML costs more than the rest of a findings page, and a
    specification's text says all its reading depends on (a set is never edited: a change
    is a new version). Empty when the text does not parse."""
    try:
        return tuple(load_indicators(spec))
    except AnalysisError:
        return ()


def findings_by(form: Form, indicator_set: IndicatorSet, column: str) -> dict[str, Any]:
    """Every indicator by one more field, computed on request for those who analyse."""
    if column not in {c for c, _label in disaggregation_fields(form)}:
        raise ValidationError(_("Findings cannot be broken down by this field."))
    return analyse(form, indicator_set, by=((column,),), compare_sexes=False)


def findings_compute(findings_id: int) -> Findings:
    """Compute (or recompute) one findings record; errors are stored, never raised."""
    findings = Findings.objects.select_related(
        "form", "assessment__programme", "indicator_set"
    ).get(pk=findings_id)
    Findings.objects.filter(pk=findings.pk).update(status=Findings.Status.RUNNING)
    try:
        data = analyse(findings.form, findings.indicator_set)
    except AnalysisError as error:
        findings.status = Findings.Status.FAILED
        findings.error = error.translated(_)
        findings.save(update_fields=["status", "error"])
        return findings
    findings.results = data
    findings.respondents = int(data["design"]["rows"])
    findings.status = Findings.Status.READY
    findings.error = ""
    findings.computed_at = timezone.now()
    findings.save(update_fields=["results", "respondents", "status", "error", "computed_at"])
    return findings


def findings_publish(*, acting_user: User, findings: Findings, publish: bool = True) -> Findings:
    require(acting_user, "findings.publish", findings.assessment.programme)
    if publish and findings.status != Findings.Status.READY:
        raise ValidationError(_("Only computed findings can be published."))
    with transaction.atomic():
        findings.published_at = timezone.now() if publish else None
        findings.published_by = acting_user if publish else None
        findings.save(update_fields=["published_at", "published_by"])
        audit_record(
            actor=acting_user,
            verb=AuditEvent.Verb.PUBLISHED if publish else AuditEvent.Verb.UNPUBLISHED,
            obj=findings,
            programme=findings.assessment.programme,
            details={"published": publish},
        )
    return findings
