"""Every write to assessments, their XLSForms, the sensitivity of each field, and whether a
form is open for collection.

Each function checks the policy (unless ``acting_user`` is None: the system or the CLI), runs
in one transaction and writes its audit row in the same transaction. Bad input raises a
``ValidationError`` (an uploaded form's problems:
:class:`~amniyat.fieldwork.forms.xlsform.FormError`) and changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from amniyat.accounts.models import Programme, User, new_collection_revision
from amniyat.accounts.policies import require
from amniyat.audit.models import AuditEvent
from amniyat.audit.services import audit_record
from amniyat.core.services import changed_fields
from amniyat.core.text import format_list
from amniyat.fieldwork.forms.xlsform import FormError, FormProblem, xlsform_convert
from amniyat.fieldwork.models import Assessment, Form, FormVersion, Sensitivity
from amniyat.places.models import Place
from amniyat.places.selectors import programme_place_ids

Verb = AuditEvent.Verb
ASSESSMENT_FIELDS = (
    "title",
    "kind",
    "places",
    "starts_on",
    "ends_on",
    "weight_field",
    "strata_field",
    "cluster_field",
    "fpc_field",
)
DESIGN_FIELDS = ("weight_field", "strata_field", "cluster_field", "fpc_field")
# Short lists in messages; the page shows every field.
NAMED_IN_MESSAGE = 12


def _names(paths: list[str]) -> str:
    if len(paths) <= NAMED_IN_MESSAGE:
        return format_list(paths)
    more = _("{count} more").format(count=len(paths) - NAMED_IN_MESSAGE)
    return format_list([*paths[:NAMED_IN_MESSAGE], more])


# ----------------------------------------------------------------------------------------
# Assessments.


def _check_assessment(assessment: Assessment, places: Iterable[Place] | None) -> None:
    if assessment.starts_on and assessment.ends_on and assessment.ends_on < assessment.starts_on:
        raise ValidationError({"ends_on": _("Fieldwork cannot end before it starts.")})
    assessment.full_clean(exclude=["places"])
    if places is not None:
        allowed = programme_place_ids(assessment.programme)
        if any(place.pk not in allowed for place in places):
            raise ValidationError({"places": _("Choose places that this programme works in.")})
    if assessment.pk is None:
        return
    # The sampling design names form fields: once there are forms, the names must exist.
    known: set[str] = set()
    for schema in FormVersion.objects.filter(form__assessment=assessment).values_list(
        "schema", flat=True
    ):
        for item in schema:
            known |= {item.get("name", ""), item.get("path", "")}
    if not known:
        return
    errors = {
        name: _("No form of this assessment has a field “{field}”.").format(field=value)
        for name in DESIGN_FIELDS
        if (value := getattr(assessment, name)) and value not in known
    }
    if errors:
        raise ValidationError(errors)


def assessment_create(
    *, acting_user: User | None, programme: Programme, actor_label: str = "", **values: Any
) -> Assessment:
    if acting_user is not None:
        require(acting_user, "assessment.manage", programme)
    unknown = set(values) - set(ASSESSMENT_FIELDS)
    if unknown:
        raise ValueError(f"Not an assessment field: {sorted(unknown)}")
    places = values.pop("places", None)
    assessment = Assessment(programme=programme, **values)
    _check_assessment(assessment, places)
    with transaction.atomic():
        assessment.save()
        if places is not None:
            assessment.places.set(places)
        audit_record(
            actor=acting_user,
            actor_label=actor_label,
            verb=Verb.CREATED,
            obj=assessment,
            programme=programme,
        )
    return assessment


def assessment_update(
    *, acting_user: User | None, assessment: Assessment, actor_label: str = "", **values: Any
) -> Assessment:
    if acting_user is not None:
        require(acting_user, "assessment.manage", assessment.programme)
    unknown = set(values) - set(ASSESSMENT_FIELDS)
    if unknown:
        raise ValueError(f"Not editable: {sorted(unknown)}")
    places = values.pop("places", None)
    changes = changed_fields(assessment, values)
    place_change: list[list[int]] | None = None
    if places is not None:
        before = sorted(assessment.places.values_list("pk", flat=True))
        after = sorted(place.pk for place in places)
        if before != after:
            place_change = [before, after]
    if not changes and place_change is None:
        return assessment
    try:
        _check_assessment(assessment, places)
    except ValidationError:
        assessment.refresh_from_db()
        raise
    with transaction.atomic():
        if changes:
            assessment.save(update_fields=list(changes))
        if place_change is not None:
            assessment.places.set(places or [])
            changes["places"] = place_change
        audit_record(
            actor=acting_user,
            actor_label=actor_label,
            verb=Verb.UPDATED,
            obj=assessment,
            programme=assessment.programme,
            details={"changes": changes},
        )
    return assessment


# ----------------------------------------------------------------------------------------
# Forms and their versions.


def collection_changed(*, programme_id: int) -> None:
    """Give the programme a new collection revision: call it in the transaction of every
    change to what its devices may send to (a form opened or closed, a new version, other
    sensitivity classes). The OpenRosa endpoints keep the form versions they read keyed by
    it (:func:`amniyat.fieldwork.collection.selectors.versions_for_device`), so every web
    process sees the change on its next request."""
    Programme.objects.filter(pk=programme_id).update(collection_revision=new_collection_revision())


def form_add(
    *,
    acting_user: User | None,
    assessment: Assessment,
    file_name: str,
    content: bytes,
    actor_label: str = "",
) -> FormVersion:
    """Store an uploaded XLSForm: a new form on the first upload of its ``form_id``, a new
    version of that form after. Versions live side by side; submissions keep theirs.

    Each field starts with the class it had in the form's latest version (same path and
    type), or else Amniyat's proposal
    (:func:`~amniyat.fieldwork.forms.xlsform.default_sensitivity`).
    """
    programme = assessment.programme
    if acting_user is not None:
        require(acting_user, "form.manage", programme)
    converted = xlsform_convert(file_name=file_name, content=content)

    def version_taken() -> FormError:
        return FormError(
            [
                FormProblem(
                    message=_(
                        "Version “{version}” of the form “{form_id}” is already here. "
                        "Change the version on the settings sheet and upload the form again."
                    ).format(version=converted.version, form_id=converted.form_id),
                    file=converted.file_name,
                    sheet="settings",
                    column="version",
                )
            ]
        )

    try:
        with transaction.atomic():
            form = (
                Form.objects.select_for_update()
                .filter(assessment=assessment, form_id=converted.form_id)
                .first()
            )
            created = form is None
            if form is None:
                form = Form.objects.create(
                    assessment=assessment, form_id=converted.form_id, title=converted.title
                )
            elif form.versions.filter(version=converted.version).exists():
                raise version_taken()
            previous = form.current_version()
            sensitivity = converted.default_sensitivity()
            if previous is not None:
                earlier_types = {item["path"]: item["type"] for item in previous.schema}
                for item in converted.fields:
                    path = item["path"]
                    if path in previous.sensitivity and earlier_types.get(path) == item["type"]:
                        sensitivity[path] = previous.sensitivity[path]
            lacking = converted.fields_lacking_sensitivity(sensitivity)
            if form.is_open and lacking:
                raise FormError(
                    [
                        FormProblem(
                            message=_(
                                "The form is open for collection and these fields of the new "
                                "version have no sensitivity class yet: {fields}. Close the "
                                "form, upload the new version, set the classes and publish "
                                "again."
                            ).format(fields=_names(lacking)),
                            file=converted.file_name,
                        )
                    ]
                )
            version = FormVersion.objects.create(
                form=form,
                version=converted.version,
                xlsform=content,
                xlsform_name=converted.file_name[:255],
                xform=converted.xform,
                schema=converted.fields,
                languages=converted.languages,
                sensitivity=sensitivity,
                public_key=converted.public_key,
                created_by=acting_user if acting_user is not None and acting_user.pk else None,
            )
            if not created and form.title != converted.title:
                form.title = converted.title
                form.save(update_fields=["title"])
            collection_changed(programme_id=programme.pk)
            audit_record(
                actor=acting_user,
                actor_label=actor_label,
                verb=Verb.CREATED,
                obj=version,
                programme=programme,
                details={
                    "form": form.pk,
                    "form_id": form.form_id,
                    "version": version.version,
                    "file": version.xlsform_name,
                    "fields": len(converted.fields),
                    "new_form": created,
                },
            )
    except IntegrityError:
        # Someone uploaded the same version at the same moment.
        raise version_taken() from None
    return version


def sensitivity_set(
    *,
    acting_user: User | None,
    version: FormVersion,
    classes: Mapping[str, Sensitivity | str | None],
    actor_label: str = "",
) -> FormVersion:
    """Set the class of some fields of one version (``None`` or ``""``: not decided yet).
    Fields not named keep their class."""
    form = version.form
    programme = form.assessment.programme
    if acting_user is not None:
        require(acting_user, "form.manage", programme)
    paths = {item["path"] for item in version.schema}
    unknown = sorted(set(classes) - paths)
    if unknown:
        raise ValidationError(
            _("This version has no field {fields}.").format(fields=_names(unknown))
        )
    allowed = set(Sensitivity.values)
    wrong = sorted(path for path, value in classes.items() if value and value not in allowed)
    if wrong:
        raise ValidationError(
            _("Choose public, internal, personal or sensitive for {fields}.").format(
                fields=_names(wrong)
            )
        )
    with transaction.atomic():
        locked = FormVersion.objects.select_for_update().get(pk=version.pk)
        updated = dict(locked.sensitivity)
        for path, value in classes.items():
            if value:
                updated[path] = str(value)
            else:
                updated.pop(path, None)
        changes = {
            path: [locked.sensitivity.get(path), updated.get(path)]
            for path in sorted(paths)
            if locked.sensitivity.get(path) != updated.get(path)
        }
        if not changes:
            return locked
        if locked.submissions.exists():
            # Answers already stored were split into plain and encrypted by the classes of
            # the day; changing the classes now would not move them.
            raise ValidationError(
                _(
                    "Version “{version}” already holds submissions, stored by the classes set "
                    "then. Upload a new version to change them."
                ).format(version=locked.version)
            )
        lacking = [item["path"] for item in locked.schema if item["path"] not in updated]
        if form.is_open and lacking:
            raise ValidationError(
                _(
                    "The form is open for collection: every field needs a class. Still "
                    "without one: {fields}."
                ).format(fields=_names(lacking))
            )
        locked.sensitivity = updated
        locked.save(update_fields=["sensitivity"])
        collection_changed(programme_id=programme.pk)
        audit_record(
            actor=acting_user,
            actor_label=actor_label,
            verb=Verb.UPDATED,
            obj=locked,
            programme=programme,
            details={"sensitivity": changes},
        )
    version.sensitivity = updated
    return locked


def form_publish(*, acting_user: User | None, form: Form, actor_label: str = "") -> Form:
    """Open a form for collection. Every field of every version needs a sensitivity class
    first: submissions of any version may still arrive, and each answer is stored plain or
    encrypted by its class."""
    programme = form.assessment.programme
    if acting_user is not None:
        require(acting_user, "form.manage", programme)
    with transaction.atomic():
        locked = Form.objects.select_for_update().select_related("assessment").get(pk=form.pk)
        if locked.is_open:
            return locked
        versions = list(FormVersion.objects.filter(form=locked).order_by("-created_at", "-id"))
        if not versions:
            raise ValidationError(_("Upload the form before publishing it."))
        problems = []
        for version in versions:
            lacking = version.fields_lacking_sensitivity()
            if lacking:
                problems.append(
                    _("version “{version}”: {fields}").format(
                        version=version.version, fields=_names(lacking)
                    )
                )
        if problems:
            raise ValidationError(
                _(
                    "Set a sensitivity class for every field before publishing. Still "
                    "without one: {problems}."
                ).format(problems="; ".join(problems))
            )
        # ODK Collect tells forms apart by form id alone, and a device may serve every
        # assessment of its programme.
        clash = (
            Form.objects.filter(
                assessment__programme=programme, form_id=locked.form_id, is_open=True
            )
            .exclude(pk=locked.pk)
            .select_related("assessment")
            .first()
        )
        if clash is not None:
            raise ValidationError(
                _(
                    "The form id “{form_id}” is already open for collection in the "
                    "assessment “{assessment}”. Close that form first, or give this one "
                    "another form_id on its settings sheet."
                ).format(form_id=locked.form_id, assessment=clash.assessment.title)
            )
        locked.is_open = True
        locked.save(update_fields=["is_open"])
        collection_changed(programme_id=programme.pk)
        audit_record(
            actor=acting_user,
            actor_label=actor_label,
            verb=Verb.UPDATED,
            obj=locked,
            programme=programme,
            details={"changes": {"is_open": [False, True]}},
        )
    form.is_open = True
    return locked


def form_close(*, acting_user: User | None, form: Form, actor_label: str = "") -> Form:
    """Stop collection: ODK Collect no longer lists the form nor accepts its submissions."""
    programme = form.assessment.programme
    if acting_user is not None:
        require(acting_user, "form.manage", programme)
    with transaction.atomic():
        locked = Form.objects.select_for_update().get(pk=form.pk)
        if not locked.is_open:
            return locked
        locked.is_open = False
        locked.save(update_fields=["is_open"])
        collection_changed(programme_id=programme.pk)
        audit_record(
            actor=acting_user,
            actor_label=actor_label,
            verb=Verb.UPDATED,
            obj=locked,
            programme=programme,
            details={"changes": {"is_open": [True, False]}},
        )
    form.is_open = False
    return locked
