"""Every write to the consultations register: recording a consultation (who came, the issues
raised, whether the community's concerns were reflected), the commitments made at it, and a
commitment becoming an action of a plan of the same group.

Every write takes the acting ``user``, checks the one policy first, validates what it is
given (a clear, translated message; nothing changed), and is audited in the same transaction.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from amniyat.accounts import policies
from amniyat.accounts.models import Programme, User
from amniyat.accounts.policies import require
from amniyat.audit.models import AuditEvent
from amniyat.audit.services import audit_record
from amniyat.communities.models import CommunityGroup
from amniyat.core.services import changed_fields
from amniyat.drivers.models import Factor, Priority
from amniyat.places.models import Place
from amniyat.places.selectors import place_choices
from amniyat.plans import consultation_selectors as selectors
from amniyat.plans import selectors as plan_selectors
from amniyat.plans import services as plan_services
from amniyat.plans.models import Action, Commitment, Consultation, Objective, Side

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser
    from django.http import HttpRequest

Verb = AuditEvent.Verb
ATTENDANCE = selectors.ATTENDANCE
# More people than any meeting holds: a number above it is a slip of the keyboard.
MAX_ATTENDANCE = 100_000
MAX_ATTENDEES = 50
MAX_NOTE = 20_000
FIELDS = (
    "held_on",
    "level",
    "title",
    "summary",
    *ATTENDANCE,
    "attendees",
    "issues_note",
    "reflected",
    "reflected_note",
)


def _audit(user: User | None, verb: str, obj: Any, programme: Programme, **details: Any) -> None:
    audit_record(
        actor=user,
        actor_label="system",
        verb=verb,
        obj=obj,
        programme=programme,
        details=details or None,
    )


def _clean_attendees(attendees: Iterable[Any]) -> list[dict[str, str]]:
    """Who attended, by organisation and role (never a person's name), each on a side."""
    cleaned: list[dict[str, str]] = []
    for attendee in attendees:
        if not isinstance(attendee, dict):
            raise ValidationError({"attendees": _("Give each attendee's organisation and side.")})
        organisation = str(attendee.get("organisation") or "").strip()
        role = str(attendee.get("role") or "").strip()
        side = attendee.get("side")
        if not organisation and not role:
            continue
        if (
            not organisation
            or side not in Side.values
            or len(organisation) > 200
            or len(role) > 200
        ):
            raise ValidationError({"attendees": _("Give each attendee's organisation and side.")})
        cleaned.append({"organisation": organisation, "role": role, "side": str(side)})
    if len(cleaned) > MAX_ATTENDEES:
        raise ValidationError(
            {"attendees": _("At most {n} organisations attending.").format(n=MAX_ATTENDEES)}
        )
    return cleaned


def _check(consultation: Consultation) -> None:
    """The rules of one consultation's own values, each answered with a message."""
    errors: dict[str, str] = {}
    if not (consultation.title or "").strip():
        errors["title"] = _("Give the consultation a title.")
    if consultation.level not in Consultation.Level.values:
        errors["level"] = _("Choose the level of the consultation.")
    held_on = consultation.held_on
    if not isinstance(held_on, datetime.date):
        errors["held_on"] = _("Give the date the consultation was held.")
    elif held_on > timezone.localdate():
        # The register records consultations that took place: who came and what was
        # committed are not known before.
        errors["held_on"] = _(
            "A consultation is recorded once it has been held: the date cannot be in the future."
        )
    for name in ATTENDANCE:
        value = getattr(consultation, name)
        if (
            isinstance(value, bool)
            or not isinstance(value, int)
            or not 0 <= value <= MAX_ATTENDANCE
        ):
            errors[name] = _("Count the people who came: a whole number from 0 to {most}.").format(
                most=MAX_ATTENDANCE
            )
    if consultation.reflected not in ("", *Consultation.Reflected.values):
        errors["reflected"] = _("Choose whether the community's concerns were reflected.")
    for name in ("summary", "issues_note", "reflected_note"):
        if len(getattr(consultation, name) or "") > MAX_NOTE:
            errors[name] = _("At most {n} characters.").format(n=MAX_NOTE)
    if errors:
        raise ValidationError(errors)
    consultation.title = consultation.title.strip()
    if not consultation.reflected:
        consultation.reflected_note = ""


def _check_where(
    user: User | None,
    programme: Programme,
    group: CommunityGroup | None,
    place: Place | None,
) -> None:
    errors: dict[str, str] = {}
    if group is not None and group.programme_id != programme.pk:
        errors["group"] = _("Choose a community group of this programme.")
    if place is not None:
        if user is None:
            inside = place.programme_id in (None, programme.pk)
        else:
            inside = (
                place_choices(user=user, programme=programme, within="area")
                .filter(pk=place.pk)
                .exists()
            )
        if not inside:
            errors["place"] = _("Choose a place this programme works in.")
    if errors:
        raise ValidationError(errors)


def _check_issues(
    user: User | None,
    programme: Programme,
    group: CommunityGroup | None,
    factors: Iterable[Factor],
    priorities: Iterable[Priority],
) -> tuple[list[Factor], list[Priority]]:
    """The factors and priorities a consultation may name: of its programme's maps for its
    group (or for none) that the user may read, and of its group's agreed lists."""
    chosen_factors, chosen_priorities = (
        list(dict.fromkeys(factors)),
        list(dict.fromkeys(priorities)),
    )
    errors: dict[str, str] = {}
    if chosen_factors:
        known = set(
            selectors.factors_for(user=user, programme=programme, group=group)
            .filter(pk__in=[f.pk for f in chosen_factors])
            .values_list("pk", flat=True)
        )
        if any(f.pk not in known for f in chosen_factors):
            errors["factors"] = _("Choose factors of this programme's driver maps for this group.")
    if chosen_priorities:
        known = set(
            selectors.priorities_for(group=group)
            .filter(pk__in=[p.pk for p in chosen_priorities])
            .values_list("pk", flat=True)
        )
        if any(p.pk not in known for p in chosen_priorities):
            errors["priorities"] = _("Choose priorities this group has agreed.")
    if errors:
        raise ValidationError(errors)
    return chosen_factors, chosen_priorities


def consultation_create(
    *,
    user: User | None,
    programme: Programme,
    group: CommunityGroup | None = None,
    place: Place | None = None,
    factors: Iterable[Factor] = (),
    priorities: Iterable[Priority] = (),
    content_language: str | None = None,
    is_demo: bool = False,
    **values: Any,
) -> Consultation:
    """Record a consultation held in ``programme`` (of ``group`` and at ``place``, both
    optional; with neither it is the programme's own, read by its leads and analysts)."""
    unknown = set(values) - set(FIELDS)
    if unknown:
        raise TypeError(f"unknown consultation fields: {sorted(unknown)}")
    consultation = Consultation(
        programme=programme, group=group, place=place, created_by=user, is_demo=is_demo, **values
    )
    if user is not None:
        require(user, "consultation.edit", consultation)
    if content_language:
        consultation.content_language = content_language
    consultation.attendees = _clean_attendees(consultation.attendees or [])
    _check(consultation)
    _check_where(user, programme, group, place)
    chosen = _check_issues(user, programme, group, factors, priorities)
    with transaction.atomic():
        consultation.save()
        consultation.factors.set(chosen[0])
        consultation.priorities.set(chosen[1])
        _audit(user, Verb.CREATED, consultation, programme, level=consultation.level)
    return consultation


def consultation_update(
    *,
    user: User | None,
    consultation: Consultation,
    group: CommunityGroup | None,
    place: Place | None,
    factors: Iterable[Factor] | None = None,
    priorities: Iterable[Priority] | None = None,
    **values: Any,
) -> Consultation:
    """Change a consultation. Moving it to another group needs the right to write for both:
    the one it was of and the one it goes to."""
    unknown = set(values) - set(FIELDS)
    if unknown:
        raise TypeError(f"unknown consultation fields: {sorted(unknown)}")
    programme = consultation.programme
    if user is not None:
        require(user, "consultation.edit", consultation)
        require(user, "consultation.edit", Consultation(programme=programme, group=group))
    before = (consultation.group_id, consultation.place_id)
    changed = changed_fields(consultation, values)
    consultation.group, consultation.place = group, place
    consultation.attendees = _clean_attendees(consultation.attendees or [])
    _check(consultation)
    _check_where(user, programme, group, place)
    chosen = _check_issues(user, programme, group, factors or [], priorities or [])
    with transaction.atomic():
        consultation.save()
        if factors is not None:
            # Links to factors of maps the writer may not read stay: they were not offered.
            kept = (
                consultation.factors.exclude(pk__in=plan_selectors.readable_factors(user))
                if user is not None
                else consultation.factors.none()
            )
            consultation.factors.set([*chosen[0], *kept])
        if priorities is not None:
            consultation.priorities.set(chosen[1])
        _audit(
            user,
            Verb.UPDATED,
            consultation,
            programme,
            changed=changed,
            moved=[list(before), [consultation.group_id, consultation.place_id]],
        )
    return consultation


def commitment_add(
    *,
    user: User | None,
    consultation: Consultation,
    what: str,
    made_by: str,
    side: str,
    due_on: datetime.date | None = None,
) -> Commitment:
    """Record something one side committed to at the consultation."""
    if user is not None:
        require(user, "consultation.edit", consultation)
    errors: dict[str, str] = {}
    what, made_by = (what or "").strip(), (made_by or "").strip()
    if not what:
        errors["what"] = _("Say what was committed.")
    elif len(what) > 200:
        errors["what"] = _("At most {n} characters.").format(n=200)
    if not made_by:
        errors["made_by"] = _("Name who committed: an organisation or a role, not a person.")
    elif len(made_by) > 200:
        errors["made_by"] = _("At most {n} characters.").format(n=200)
    if side not in Side.values:
        errors["side"] = _("Say on which side who committed is.")
    if due_on is not None and due_on < consultation.held_on:
        errors["due_on"] = _("A commitment cannot be due before the consultation was held.")
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        last = consultation.commitments.aggregate(last=Max("position"))["last"]
        commitment = Commitment.objects.create(
            consultation=consultation,
            what=what,
            made_by=made_by,
            side=side,
            due_on=due_on,
            position=0 if last is None else last + 1,
        )
        _audit(
            user,
            Verb.UPDATED,
            consultation,
            consultation.programme,
            commitment=commitment.pk,
        )
    return commitment


def commitment_to_action(
    *,
    user: User | None,
    commitment: Commitment,
    objective: Objective,
    start_on: datetime.date | None,
    due_on: datetime.date | None,
) -> Action:
    """Make a commitment an action of ``objective`` (of a plan of the consultation's group,
    not completed nor closed), through the plans' own service: led by who committed, on
    their side, addressing the issues raised that the plan may address; the commitment
    keeps the link to it."""
    consultation = commitment.consultation
    if user is not None:
        require(user, "consultation.edit", consultation)
    if commitment.action_id is not None:
        raise ValidationError(_("This commitment is already an action of a plan."))
    plan = objective.plan
    if user is not None:
        allowed = {p.pk for p in selectors.plans_for(user=user, consultation=consultation)}
        fits = plan.pk in allowed
    else:
        fits = (
            plan.programme_id == consultation.programme_id
            and plan.group_id == consultation.group_id
        )
    if not fits:
        raise ValidationError(
            {"objective": _("Choose an objective of a plan of this consultation's group.")}
        )
    due_on = due_on or commitment.due_on
    factors = plan_selectors.factors_for(user=user, plan=plan).filter(consultations=consultation)
    priorities = plan_selectors.priorities_for(plan=plan).filter(consultations=consultation)
    with transaction.atomic():
        action = plan_services.action_create(
            user=user,
            objective=objective,
            factors=list(factors),
            priorities=list(priorities),
            title=commitment.what,
            lead_actor=commitment.made_by,
            lead_side=commitment.side,
            start_on=start_on,
            due_on=due_on,
        )
        commitment.action = action
        commitment.save(update_fields=["action"])
        _audit(
            user,
            Verb.UPDATED,
            consultation,
            consultation.programme,
            commitment=commitment.pk,
            action=action.pk,
        )
    return action


def consultation_notes_read(
    *, user: User | AnonymousUser, consultation: Consultation, request: HttpRequest | None = None
) -> dict[str, str] | None:
    """The consultation's words kept encrypted (the issues raised, how the concerns were
    reflected) for those the policy lets read them, None for everyone else; a reading of
    words that are there is recorded in the audit log, as reading discussion notes is."""
    if not policies.can(user, "consultation.view_notes", consultation):
        return None
    notes = {"issues": consultation.issues_note, "reflected": consultation.reflected_note}
    if any(notes.values()):
        audit_record(
            actor=user if isinstance(user, User) else None,
            verb=Verb.VIEWED_TEXT,
            obj=consultation,
            programme=consultation.programme,
            request=request,
            details={"for": "consultation notes"},
        )
    return notes
