"""Every write of fieldwork 'collection': creating and revoking the device accounts ODK
Collect signs in with, and receiving the submissions the devices send.

A submission is stored once per form and instance id. The unique constraint is what
guarantees it: two devices (or one device retrying on a flaky line) that send the same
instance at the same moment both try to insert, one wins, and the other's IntegrityError is
caught inside a savepoint and answered as "already received". The same instance id with
different content is a conflict and changes nothing.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.contrib.auth.hashers import make_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from amniyat.accounts import policies
from amniyat.accounts.policies import require
from amniyat.audit.models import AuditEvent
from amniyat.audit.services import audit_record
from amniyat.core.compiled import CompiledRead
from amniyat.core.fields import keyed_hash
from amniyat.fieldwork.collection import selectors
from amniyat.fieldwork.collection.openrosa import auth, instance
from amniyat.fieldwork.collection.selectors import forms_for_device
from amniyat.fieldwork.imports.convert import check_answers
from amniyat.fieldwork.imports.schema import FormPlan
from amniyat.fieldwork.models import (
    Assessment,
    Attachment,
    DeviceUser,
    Form,
    Submission,
)
from amniyat.fieldwork.submissions.services import submissions_changed
from amniyat.places.selectors import place_named

if TYPE_CHECKING:
    from amniyat.accounts.models import Organisation, Programme, User

Verb = AuditEvent.Verb
USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{2,59}$")
ATTACHMENT_NAME_MAX = 255


# ----------------------------------------------------------------------------------------
# Devices


def _new_password() -> str:
    # 96 random bits, typed by hand only if the QR code cannot be scanned.
    return secrets.token_urlsafe(12)


def _suggested_username(programme: Programme) -> str:
    return f"{programme.slug[:40]}-{secrets.token_hex(3)}"


def device_create(
    *,
    acting_user: User,
    programme: Programme,
    organisation: Organisation,
    assessments: Sequence[Assessment] = (),
    username: str = "",
    label: str = "",
    request: HttpRequest | None = None,
) -> tuple[DeviceUser, str]:
    """A new device account and its password, which is shown once and never stored."""
    require(acting_user, "device.manage", programme)
    username = username.strip() or _suggested_username(programme)
    if not USERNAME_PATTERN.match(username):
        raise ValidationError(
            {
                "username": _(
                    "Use 3 to 60 letters, digits, dots, dashes or underscores, starting "
                    "with a letter or digit."
                )
            }
        )
    if DeviceUser.objects.filter(username=username).exists():
        raise ValidationError({"username": _("This user name is already taken.")})
    own = policies.organisation_for_new_group(acting_user, programme)
    if organisation.pk not in programme.taking_part_ids(with_donor=False) or (
        own is not None and organisation.pk != own
    ):
        raise ValidationError(
            {"organisation": _("Choose your own organisation or a partner of the programme.")}
        )
    if any(a.programme_id != programme.pk for a in assessments):
        raise ValidationError({"assessments": _("Choose assessments of this programme.")})
    password = _new_password()
    device = DeviceUser(
        programme=programme,
        organisation=organisation,
        username=username,
        label=label.strip(),
        password_hash=make_password(password),
        digest_ha1=auth.digest_ha1(username, password),
        created_by=acting_user,
    )
    try:
        with transaction.atomic():
            device.save()
            device.assessments.set(assessments)
            audit_record(
                actor=acting_user,
                verb=Verb.CREATED,
                obj=device,
                programme=programme,
                request=request,
                details={
                    "organisation": organisation.pk,
                    "assessments": sorted(a.pk for a in assessments),
                },
            )
    except IntegrityError as error:
        raise ValidationError({"username": _("This user name is already taken.")}) from error
    return device, password


def device_revoke(
    *, acting_user: User, device: DeviceUser, request: HttpRequest | None = None
) -> DeviceUser:
    """Refuse the device from its next request on; its submissions stay."""
    require(acting_user, "device.manage", device.programme)
    visible = selectors.devices_visible(user=acting_user, programme=device.programme)
    if not visible.filter(pk=device.pk).exists():
        raise PermissionDenied(_("You may not do this."))
    if device.revoked_at is not None:
        return device
    with transaction.atomic():
        device.revoked_at = timezone.now()
        device.save(update_fields=["revoked_at"])
        audit_record(
            actor=acting_user,
            verb=Verb.UPDATED,
            obj=device,
            programme=device.programme,
            request=request,
            details={"revoked": True},
        )
    return device


# ----------------------------------------------------------------------------------------
# Submissions


class FormUnavailable(Exception):
    """The submission names a form the device cannot send to: unknown, closed or not
    assigned. Answered 404, like every object a caller may not see."""

    def __init__(self, form_id: str) -> None:
        super().__init__(form_id)
        self.form_id = form_id


class SubmissionConflict(ValidationError):
    """The instance id was already received with different content (409)."""


@dataclass(frozen=True)
class Receipt:
    submission: Submission
    created: bool
    attachments_added: int = 0


def _attachment_name(upload: UploadedFile) -> str:
    name = upload.name or ""
    if not name or posixpath.basename(name.replace("\\", "/")) != name or name in (".", ".."):
        raise ValidationError(
            _("The attached file name “{name}” is not accepted.").format(name=name[:80]),
            code="attachment_name",
        )
    if len(name) > ATTACHMENT_NAME_MAX:
        raise ValidationError(
            _("An attached file name is longer than {n} characters.").format(n=ATTACHMENT_NAME_MAX),
            code="attachment_name",
        )
    return name


def _receiving(device: DeviceUser, parsed: instance.ParsedInstance) -> selectors.Receiving:
    # No query on the way every submission takes once the version is known (see
    # selectors.receiving_for_device); why it fails only when it does.
    versions = selectors.receiving_for_device(
        device=device, form_id=parsed.form_id, version=parsed.version
    )
    if not versions:
        if not forms_for_device(device=device).filter(form_id=parsed.form_id).exists():
            raise FormUnavailable(parsed.form_id)
        raise ValidationError(
            _("Version “{version}” of form “{form}” is not known on this server.").format(
                version=parsed.version, form=parsed.form_id
            ),
            code="unknown_version",
        )
    if len(versions) > 1:
        raise ValidationError(
            _(
                "Two open forms of your assessments share the form id “{form}”; ask the "
                "programme to close one of them."
            ).format(form=parsed.form_id),
            code="ambiguous_form",
        )
    return versions[0]


def _submitted_at(values: dict[str, Any], plan: FormPlan) -> datetime:
    """When the interview ended, if the form records it (and not as a personal or sensitive
    answer, which an indexed copy would let out of its class); otherwise now."""
    for spec in plan.main_fields:
        if (
            spec.xls_type.lower() == "end"
            and not spec.protected
            and isinstance(values.get(spec.path), str)
        ):
            try:
                moment = datetime.fromisoformat(values[spec.path])
            except ValueError:
                continue
            if timezone.is_aware(moment):
                return moment
    return timezone.now()


def _store_attachments(
    submission: Submission, uploads: dict[str, UploadedFile], *, skip: set[str]
) -> int:
    added = 0
    for name, upload in uploads.items():
        if name in skip:
            continue
        try:
            with transaction.atomic():
                upload.seek(0)
                attachment = Attachment(
                    submission=submission,
                    name=name,
                    content_type=(upload.content_type or "")[:100],
                    size=upload.size or 0,
                )
                attachment.file.save(name, upload, save=False)
                attachment.save()
        except IntegrityError:
            continue  # the same file arrived concurrently in another request
        added += 1
    return added


def _place_of(form: Form, plan: FormPlan, values: dict[str, Any]) -> int | None:
    """The place a submission names, read the way imports read it: the first of the form's
    place questions (settlement, mahalla, …, district) whose answer is a code or a name of a
    place the programme knows. Facilitators see submissions by place, so without it a phone's
    submission would be visible to those who analyse only. One indexed query
    (:func:`~amniyat.places.selectors.place_named`), not a read of every place."""
    answers = [
        answer
        for spec in plan.place_fields()
        if isinstance(answer := values.get(spec.path), str) and answer.strip()
    ]
    if not answers:
        return None
    return place_named(programme_id=form.assessment.programme_id, answers=answers)


def _check(sent: dict[str, Any], plan: FormPlan) -> None:
    """Refuse answers the form cannot produce, with the very checks a file import makes
    (types, choices, required where asked, constraints): ValidationError naming each field
    and what is wrong with it."""
    problems = check_answers(sent, plan, name="submission.xml")
    if problems:
        raise ValidationError(
            [
                _("{field}: {problem}").format(field=problem.column, problem=problem.message)
                for problem in problems
            ],
            code="invalid_answers",
        )


def _enumerator_of(plan: FormPlan, values: dict[str, Any]) -> str:
    """Who collected the submission, read as imports read it: the answer to the form's
    enumerator question. Without one, the caller uses the device's user name, as an ODK
    Central export names its app user. Both name a fieldworker, so both take the class of
    the form's enumerator question (:attr:`FormPlan.enumerator_protected`)."""
    spec = plan.enumerator_field()
    answer = values.get(spec.path) if spec is not None else None
    return answer.strip()[:120] if isinstance(answer, str) else ""


_STORED_FIELDS = ("id", "form_id", "content_hash")
# Every submission asks (a resend is answered from it): SQL written once.
_STORED_READ = CompiledRead(
    lambda form_id, instance_id: (
        Submission.objects.filter(form_id=form_id, instance_id=instance_id)
        .order_by()  # unique: nothing to order
        .values_list(*_STORED_FIELDS)[:1]
    )
)


def _stored(form: Form, instance_id: str) -> Submission | None:
    """The submission already stored under this instance id, with what a resend compares
    (its other fields are read only if asked for)."""
    rows = _STORED_READ.rows(form_id=form.pk, instance_id=instance_id)
    return Submission.from_db("default", _STORED_FIELDS, rows[0]) if rows else None


def submission_receive(
    *,
    device: DeviceUser,
    xml: bytes,
    files: Sequence[UploadedFile] = (),
    request: HttpRequest | None = None,
    nonce_use: auth.NonceUse | None = None,
) -> Receipt:
    """Store one submission sent by ``device`` (once, however often it arrives).

    ``nonce_use``, the request's Digest answer not yet recorded, is recorded in the
    transaction of any write here (:class:`~.openrosa.auth.Replayed` when it was seen before,
    and nothing is written); where nothing is written the caller records it.

    Raises ValidationError for a submission that cannot be read or whose answers the form
    cannot produce (a choice it does not offer, text in a number, a broken constraint, a
    required answer missing; nothing is stored),
    :class:`FormUnavailable` for a form the device may not send to, and
    :class:`SubmissionConflict` for an instance id already received with other content.
    A resubmission of identical content adds the attached files not yet received: ODK
    Collect splits a large submission over several requests, each with the same XML.
    """
    if not device.is_active:
        raise PermissionDenied(_("This device was revoked."))
    parsed = instance.parse_instance(xml)
    receiving = _receiving(device, parsed)
    form, version, plan = receiving.form, receiving.version, receiving.plan
    uploads: dict[str, UploadedFile] = {}
    for upload in files:
        uploads[_attachment_name(upload)] = upload

    data: dict[str, Any] = {}
    protected = ""
    payload: bytes | None = None
    place_id: int | None = None
    enumerator = device.username
    if parsed.encrypted:
        if not version.public_key:
            raise ValidationError(
                _("This form version does not use encryption, but the submission is encrypted."),
                code="not_encrypted_form",
            )
        # Stored intact, never decrypted: the manifest here, the .enc files as attachments.
        payload = xml
        content_hash = Submission.hash_content(
            {"encrypted_manifest": hashlib.sha256(xml).hexdigest()}
        )
        submitted_at = timezone.now()
    else:
        sent = instance.texts(parsed, version.schema, plan=plan)
        _check(sent, plan)
        values = instance.answers(parsed, version.schema, sent, plan=plan)
        enumerator = _enumerator_of(plan, values) or enumerator
        data, protected_values = instance.split_by_sensitivity(values, version.sensitivity)
        protected = (
            json.dumps(protected_values, ensure_ascii=False, sort_keys=True)
            if protected_values
            else ""
        )
        content_hash = Submission.hash_content(values)
        submitted_at = _submitted_at(values, plan)
        place_id = _place_of(form, plan, values)

    programme = device.programme
    # Read first, outside any write transaction: phones resend often, and an answer to a
    # resend should not queue behind the writers.
    existing = _stored(form, parsed.instance_id)
    if existing is None:
        try:
            with transaction.atomic():  # a savepoint where the caller has a transaction
                if nonce_use is not None:
                    nonce_use.record_in()  # its own commit otherwise: one, not two
                submission = Submission.objects.create(
                    form=form,
                    form_version=version,
                    instance_id=parsed.instance_id,
                    content_hash=content_hash,
                    submitted_at=submitted_at,
                    enumerator=enumerator,
                    enumerator_hash=keyed_hash(enumerator),
                    place_id=place_id,
                    data=data,
                    protected_data=protected,
                    is_encrypted=parsed.encrypted,
                    encrypted_payload=payload,
                    source=Submission.Source.OPENROSA,
                )
                added = _store_attachments(submission, uploads, skip=set())
                submissions_changed(form_ids=[form.pk])
                audit_record(
                    actor=None,
                    actor_label=f"device {device.username}",
                    verb=Verb.CREATED,
                    obj=submission,
                    programme=programme,
                    request=request,
                    details={
                        "channel": "openrosa",
                        "device": device.pk,
                        "form": form.pk,
                        "version": version.version,
                        "encrypted": parsed.encrypted,
                        "attachments": added,
                    },
                )
            return Receipt(submission, created=True, attachments_added=added)
        except IntegrityError:
            # Another request stored the same instance id first (the unique constraint).
            if nonce_use is not None:
                nonce_use.recorded = False  # rolled back with the rest
            existing = _stored(form, parsed.instance_id)
            if existing is None:
                raise
    if existing.content_hash != content_hash:
        raise SubmissionConflict(
            _(
                "A different submission with the instance id “{id}” was already "
                "received; this one was not stored."
            ).format(id=parsed.instance_id),
            code="conflict",
        )
    known = set(existing.attachments.values_list("name", flat=True))
    if not set(uploads) - known:
        return Receipt(existing, created=False)
    with transaction.atomic():
        if nonce_use is not None:
            nonce_use.record_in()
        added = _store_attachments(existing, uploads, skip=known)
        if added:
            audit_record(
                actor=None,
                actor_label=f"device {device.username}",
                verb=Verb.UPDATED,
                obj=existing,
                programme=programme,
                request=request,
                details={"channel": "openrosa", "device": device.pk, "attachments": added},
            )
    return Receipt(existing, created=False, attachments_added=added)
