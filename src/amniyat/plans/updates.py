"""Every write of progress updates: posting an update on an action (with its evidence),
verifying it, disputing a reported status and resolving the dispute; and the audited reads of
their free text and files.

**Posting** is for those responsible (``plan.report``: whoever writes the plan, and the
members of its community group). An update carries a date, what happened (free text, encrypted
at rest), the status and progress it reports, who took part by sex and age band, and evidence
files (photos stripped of their metadata by :mod:`amniyat.plans.evidence`, documents, minutes;
stored encrypted). The latest update (by its date) sets the action's status and progress, under
the same rules as the action's form (0–100 %; a done action is not at 0 %; a dropped one says
why); an update dated before the latest one is recorded and leaves the action as it is.

**Verifying** is for the programme's leads and analysts (``plan.verify``), never of an update
they reported themselves. **Disputing** is for the community (``plan.dispute``: the group's
members, its partner's facilitators): the status they say holds and why; the dispute shows
beside the action until the programme's lead resolves it (``plan.resolve``) with a resolution.

Nothing of the free text goes into the audit log; reading it, or a file, is audited.
"""

from __future__ import annotations

import copy
import datetime
import hashlib
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.base import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Max
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from amniyat.accounts import policies
from amniyat.accounts.models import Programme, User
from amniyat.accounts.policies import require
from amniyat.audit.models import AuditEvent
from amniyat.audit.services import audit_record
from amniyat.communities.models import AgeBand, Sex
from amniyat.core.encrypted_files import decrypted_pieces, encrypt_file
from amniyat.core.services import changed_fields
from amniyat.plans import evidence as checks
from amniyat.plans import services
from amniyat.plans.models import Action, ActionPlan, ActionUpdate, Dispute, Evidence

Verb = AuditEvent.Verb
MAX_TEXT = 4000
MAX_PARTICIPANTS = 100_000


@dataclass(frozen=True)
class Upload:
    """A file sent with an update: its kind (``Evidence.Kind``), content and whether it may be
    shown beyond the programme's team."""

    kind: str
    content: bytes
    publishable: bool = False


def _plan_of(action: Action) -> ActionPlan:
    return action.objective.plan


def _audit(
    user: User | None, verb: str, obj: Any, plan: ActionPlan, request: Any = None, **details: Any
) -> None:
    audit_record(
        actor=user,
        actor_label="system",
        verb=verb,
        obj=obj,
        programme=plan.programme,
        request=request,
        details=details or None,
    )


def _text(value: str | None, field: str, missing: str) -> str:
    text = (value or "").strip()
    if not text:
        raise ValidationError({field: missing})
    if len(text) > MAX_TEXT:
        raise ValidationError({field: _("Write at most {n} characters.").format(n=MAX_TEXT)})
    return text


def clean_participants(participants: Any) -> dict[str, dict[str, int]]:
    """Counts by sex and age band, each a whole number from 0, the empty cells left out."""
    wrong = ValidationError(
        {"participants": _("Give the number of participants as whole numbers from 0 up.")}
    )
    if participants is None:
        return {}
    if not isinstance(participants, dict):
        raise wrong
    cleaned: dict[str, dict[str, int]] = {}
    for sex, cells in participants.items():
        if sex not in Sex.values or not isinstance(cells, dict):
            raise wrong
        for band, count in cells.items():
            if band not in AgeBand.values:
                raise wrong
            if isinstance(count, bool) or not isinstance(count, int):
                raise wrong
            if not 0 <= count <= MAX_PARTICIPANTS:
                raise wrong
            if count:
                cleaned.setdefault(sex, {})[band] = count
    return cleaned


def _checked_files(files: Sequence[Upload]) -> list[tuple[Upload, checks.CheckedFile]]:
    if len(files) > checks.max_evidence_files():
        raise ValidationError(
            {
                "files": _("Send at most {n} files with one update.").format(
                    n=checks.max_evidence_files()
                )
            }
        )
    checked = []
    for upload in files:
        if upload.kind not in Evidence.Kind.values:
            raise ValidationError({"files": _("Choose what kind of evidence the files are.")})
        if len(upload.content) > checks.max_evidence_bytes():
            raise ValidationError(
                {
                    "files": _("Each file may be at most {n} MB.").format(
                        n=checks.max_evidence_bytes() // checks.MEBIBYTE
                    )
                }
            )
        try:
            if upload.kind == Evidence.Kind.PHOTO:
                result = checks.clean_photo(upload.content)
            else:
                result = checks.check_document(upload.content)
        except ValidationError as error:
            raise ValidationError({"files": error.messages}) from None
        checked.append((upload, result))
    return checked


def update_post(
    *,
    user: User | None,
    action: Action,
    reported_on: datetime.date | None,
    text: str,
    status: str,
    progress: Any,
    status_reason: str = "",
    participants: Any = None,
    files: Sequence[Upload] = (),
) -> ActionUpdate:
    """Record an update on ``action`` with its evidence; the latest update sets the action's
    status and progress."""
    plan = _plan_of(action)
    if user is not None:
        require(user, "plan.report", plan)
    services._check_open(plan)
    text = _text(text, "text", _("Say what happened."))
    if reported_on is None:
        raise ValidationError({"reported_on": _("Give the date of the update.")})
    if reported_on > timezone.localdate():
        raise ValidationError({"reported_on": _("The date of an update cannot be in the future.")})
    counts = clean_participants(participants)
    # The action's rules, on a copy: a refused update leaves the action as it was.
    probe = copy.copy(action)
    probe.status, probe.progress, probe.status_reason = status, progress, status_reason
    services._check_action(probe)
    checked = _checked_files(files)
    reporter = (
        ActionUpdate.Reporter.TEAM
        if user is None or policies.can(user, "plan.edit", plan)
        else ActionUpdate.Reporter.GROUP
    )
    update = ActionUpdate(
        action=action,
        reported_on=reported_on,
        text=text,
        status=probe.status,
        progress=probe.progress,
        participants=counts,
        reported_by=user,
        reported_as=reporter,
    )
    stored: list[str] = []
    try:
        with transaction.atomic():
            latest = action.updates.aggregate(latest=Max("reported_on"))["latest"]
            update.save()
            pieces = []
            for upload, result in checked:
                pieces.append(_store(update, upload, result, user, stored))
            changed: dict[str, Any] = {}
            if latest is None or reported_on >= latest:
                changed = changed_fields(
                    action,
                    {
                        "status": probe.status,
                        "progress": probe.progress,
                        "status_reason": probe.status_reason,
                        "done_on": _done_on(action, probe.status, reported_on),
                    },
                )
                if changed:
                    action.save(
                        update_fields=[
                            "status",
                            "progress",
                            "status_reason",
                            "done_on",
                            "updated_at",
                        ]
                    )
                    _audit(user, Verb.UPDATED, action, plan, changed=changed, update=update.pk)
            _audit(
                user,
                Verb.CREATED,
                update,
                plan,
                action=action.pk,
                status=update.status,
                progress=update.progress,
                participants=update.participant_total,
                evidence=[[e.pk, e.kind] for e in pieces],
                sets_action=bool(changed) or latest is None or reported_on >= latest,
            )
    except BaseException:
        for name in stored:
            default_storage.delete(name)
        raise
    return update


def _done_on(action: Action, status: str, reported_on: datetime.date) -> datetime.date | None:
    """The day the action became done, as an update reports it: the update's date when it
    makes the action done, kept while it stays done, none once it is not ("done on time" is
    read from it, as from the action's form: ``services._mark_done_on``)."""
    if status != Action.Status.DONE:
        return None
    if action.status == Action.Status.DONE and action.done_on is not None:
        return action.done_on
    return reported_on


def _store(
    update: ActionUpdate,
    upload: Upload,
    result: checks.CheckedFile,
    user: User | None,
    stored: list[str],
) -> Evidence:
    sealed = io.BytesIO()
    encrypt_file(io.BytesIO(result.content), sealed)
    sealed.seek(0)
    piece = Evidence(
        update=update,
        kind=upload.kind,
        content_type=result.content_type,
        extension=result.extension,
        size=len(result.content),
        sha256=hashlib.sha256(result.content).hexdigest(),
        width=result.width,
        height=result.height,
        publishable=bool(upload.publishable),
        uploaded_by=user,
    )
    piece.file.save(f"evidence-{update.pk}.bin", File(sealed), save=False)
    stored.append(piece.file.name)
    piece.save()
    return piece


def update_verify(*, user: User, update: ActionUpdate) -> ActionUpdate:
    """A lead or analyst vouches for the update (not one they reported themselves)."""
    plan = _plan_of(update.action)
    require(user, "plan.verify", plan)
    if update.verified_at is not None:
        raise ValidationError(_("This update is already verified."))
    if update.reported_by_id is not None and update.reported_by_id == user.pk:
        raise ValidationError(_("An update is verified by someone other than who reported it."))
    with transaction.atomic():
        update.verified_by = user
        update.verified_at = timezone.now()
        update.save(update_fields=["verified_by", "verified_at"])
        _audit(user, Verb.APPROVED, update, plan, action=update.action_id, verified=True)
    return update


def dispute_raise(
    *,
    user: User | None,
    action: Action,
    claimed_status: str,
    text: str,
    update: ActionUpdate | None = None,
) -> Dispute:
    """The community says the status reported (by ``update``, else the action's own) does not
    hold, and which does."""
    plan = _plan_of(action)
    if user is not None:
        require(user, "plan.dispute", plan)
    services._check_open(plan)
    if update is not None and update.action_id != action.pk:
        raise ValidationError({"update": _("Choose an update of this action.")})
    if claimed_status not in Action.Status.values:
        raise ValidationError({"claimed_status": _("Choose the status that holds.")})
    reported = update.status if update is not None else action.status
    if claimed_status == reported:
        raise ValidationError(
            {"claimed_status": _("That is the status reported. Choose the one that holds.")}
        )
    text = _text(text, "text", _("Say why the reported status does not hold."))
    raiser = (
        Dispute.Raiser.FACILITATOR
        if user is not None and policies.can(user, "plan.edit", plan)
        else Dispute.Raiser.GROUP
    )
    dispute = Dispute(
        action=action,
        update=update,
        reported_status=reported,
        claimed_status=claimed_status,
        text=text,
        raised_by=user,
        raised_as=raiser,
    )
    with transaction.atomic():
        dispute.save()
        _audit(
            user,
            Verb.CREATED,
            dispute,
            plan,
            action=action.pk,
            update=update.pk if update else None,
            reported=reported,
            claimed=claimed_status,
        )
    return dispute


def dispute_resolve(*, user: User, dispute: Dispute, resolution: str) -> Dispute:
    """The programme's lead closes the dispute, saying how it was settled."""
    plan = _plan_of(dispute.action)
    require(user, "plan.resolve", plan)
    if dispute.resolved_at is not None:
        raise ValidationError(_("This dispute is already resolved."))
    resolution = _text(resolution, "resolution", _("Say how the dispute was resolved."))
    with transaction.atomic():
        dispute.resolution = resolution
        dispute.resolved_by = user
        dispute.resolved_at = timezone.now()
        dispute.save(update_fields=["resolution", "resolved_by", "resolved_at"])
        _audit(user, Verb.UPDATED, dispute, plan, action=dispute.action_id, resolved=True)
    return dispute


# Audited reads --------------------------------------------------------------------------


def texts_shown(
    *,
    user: User,
    programme: Programme,
    action: Action,
    updates: Sequence[ActionUpdate],
    disputes: Sequence[Dispute],
    request: HttpRequest | None = None,
) -> None:
    """Record that ``user`` was shown the free text of these updates and disputes of
    ``action`` (of a plan of ``programme``): one row for the page."""
    if not updates and not disputes:
        return
    audit_record(
        actor=user,
        verb=Verb.VIEWED_PERSONAL,
        obj=action,
        programme=programme,
        request=request,
        details={"updates": [u.pk for u in updates], "disputes": [d.pk for d in disputes]},
    )


def evidence_open(
    *, user: User, evidence: Evidence, request: HttpRequest | None = None
) -> Iterator[bytes]:
    """The file, decrypted a piece at a time, for someone who may see it (found through
    ``selectors.evidence_get``); audited."""
    _audit(
        user,
        Verb.VIEWED_PERSONAL,
        evidence,
        _plan_of(evidence.update.action),
        request,
        evidence=evidence.pk,
        kind=evidence.kind,
    )

    def pieces() -> Iterator[bytes]:
        with evidence.file.open("rb") as handle:
            yield from decrypted_pieces(handle)

    return pieces()
