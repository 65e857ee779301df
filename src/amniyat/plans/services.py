"""Every write to action plans: starting a plan from an agreed priority list, endorsing it,
its way from draft to completed, and its actions (created, edited, moved in the tree).

**Statuses.** ``draft`` → ``agreed`` (only once the community group and at least one
authority or service have endorsed it) → ``in progress`` → ``completed``; a plan not yet
completed may be closed early, with a reason. A completed or closed plan is not changed.

Every write takes the acting ``user``, checks the one policy first, validates what it is
given (a clear, translated message; nothing changed), and is audited in the same transaction.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _
from djmoney.money import Money

from amniyat.accounts.models import User
from amniyat.accounts.policies import require
from amniyat.audit.models import AuditEvent
from amniyat.audit.services import audit_record
from amniyat.core.i18n import CONTENT_LANGUAGES
from amniyat.core.services import changed_fields
from amniyat.drivers.models import Factor, Priority, PriorityList
from amniyat.plans import progress as rollup
from amniyat.plans import selectors
from amniyat.plans.models import Action, ActionPlan, Currency, Objective, Side, Signatory

Verb = AuditEvent.Verb
Status = ActionPlan.Status
FINAL = frozenset({Status.COMPLETED, Status.CLOSED})
# Where each status may go next (closing early is allowed from every status not final).
NEXT: dict[str, frozenset[str]] = {
    Status.DRAFT: frozenset({Status.AGREED, Status.CLOSED}),
    Status.AGREED: frozenset({Status.IN_PROGRESS, Status.DRAFT, Status.CLOSED}),
    Status.IN_PROGRESS: frozenset({Status.COMPLETED, Status.CLOSED}),
    Status.COMPLETED: frozenset(),
    Status.CLOSED: frozenset(),
}
MAX_ACTORS = 20
MAX_DEPTH = 6
MAX_COST = Decimal("999999999999.99")


def _audit(user: User | None, verb: str, obj: Any, plan: ActionPlan, **details: Any) -> None:
    audit_record(
        actor=user,
        actor_label="system",
        verb=verb,
        obj=obj,
        programme=plan.programme,
        details=details or None,
    )


def _check_period(start: datetime.date | None, end: datetime.date | None) -> None:
    errors = {}
    if start is None:
        errors["period_start"] = _("Give the date the plan starts.")
    if end is None:
        errors["period_end"] = _("Give the date the plan ends.")
    if errors:
        raise ValidationError(errors)
    if start and end and end < start:
        raise ValidationError({"period_end": _("The period cannot end before it starts.")})


def _check_open(plan: ActionPlan) -> None:
    if plan.status in FINAL:
        raise ValidationError(_("A completed or closed plan is not changed."))


# Plans ------------------------------------------------------------------------------------


def plan_create_from_priorities(
    *,
    user: User | None,
    priority_list: PriorityList,
    priorities: Sequence[Priority],
    title: str,
    period_start: datetime.date | None,
    period_end: datetime.date | None,
    content_language: str | None = None,
    is_demo: bool = False,
) -> ActionPlan:
    """A draft plan for the list's group answering its agreed priorities: each chosen
    priority becomes an objective, carrying the factors of the driver maps (of the
    programme, for the group or for no group, that ``user`` may read) its code names."""
    group = priority_list.group
    if user is not None:
        require(user, "plan.create", group)
    if priority_list.agreed_on is None:
        raise ValidationError(
            _(
                "A plan starts from a priority list the group has agreed. "
                "Record the group's agreement on the list first."
            )
        )
    chosen = list(dict.fromkeys(priorities))
    if not chosen:
        raise ValidationError({"priorities": _("Choose at least one priority.")})
    if any(p.priority_list_id != priority_list.pk for p in chosen):
        raise ValidationError({"priorities": _("Choose priorities of this list.")})
    title = (title or "").strip()
    if not title:
        raise ValidationError({"title": _("Give the plan a title.")})
    _check_period(period_start, period_end)
    assert period_start is not None and period_end is not None  # _check_period said so
    plan = ActionPlan(
        programme_id=group.programme_id,
        group=group,
        place_id=group.place_id,
        priority_list=priority_list,
        title=title,
        period_start=period_start,
        period_end=period_end,
        created_by=user,
        is_demo=is_demo,
    )
    if content_language:
        plan.content_language = content_language
    plan.full_clean(exclude=["created_by"])
    with transaction.atomic():
        plan.save()
        readable = selectors.factors_for(user=user, plan=plan)
        for position, priority in enumerate(sorted(chosen, key=lambda p: (p.rank, p.pk))):
            objective = _objective_from(priority, plan=plan, position=position)
            if priority.code_id is not None:
                objective.factors.set(readable.filter(code_id=priority.code_id))
        _audit(
            user,
            Verb.CREATED,
            plan,
            plan,
            priority_list=priority_list.pk,
            priorities=[p.pk for p in chosen],
        )
    return plan


def _objective_from(priority: Priority, *, plan: ActionPlan, position: int) -> Objective:
    """An objective named as its priority reads in each language (its own translations, or
    its code's names, as the priority shows them)."""
    objective = Objective(
        plan=plan,
        priority=priority,
        title=priority.concern,
        position=position,
        content_language=priority.content_language,
    )
    for language in CONTENT_LANGUAGES:
        if language == objective.content_language:
            continue
        shown = priority.translated("concern", language)
        if not shown.fallback and str(shown):
            objective.set_translation("title", language, str(shown))
    objective.save()
    return objective


def signatory_add(
    *,
    user: User | None,
    plan: ActionPlan,
    kind: str,
    name: str,
    role: str,
    endorsed_on: datetime.date | None,
) -> Signatory:
    """Record that the group, or an authority or service, endorsed the plan."""
    if user is not None:
        require(user, "plan.edit", plan)
    _check_open(plan)
    errors: dict[str, str] = {}
    if kind not in Signatory.Kind.values:
        errors["kind"] = _("Choose who endorses the plan.")
    if not (name or "").strip():
        errors["name"] = _("Give the name of who endorses the plan.")
    if not (role or "").strip():
        errors["role"] = _("Give the role of the person who endorsed it.")
    if endorsed_on is None:
        errors["endorsed_on"] = _("Give the date of the endorsement.")
    elif endorsed_on > timezone.localdate():
        errors["endorsed_on"] = _("The date of the endorsement cannot be in the future.")
    if errors:
        raise ValidationError(errors)
    assert endorsed_on is not None
    signatory = Signatory(
        plan=plan, kind=kind, name=name.strip(), role=role.strip(), endorsed_on=endorsed_on
    )
    signatory.full_clean()
    with transaction.atomic():
        signatory.save()
        _audit(user, Verb.UPDATED, plan, plan, endorsed_by=signatory.kind, signatory=signatory.pk)
    return signatory


def is_jointly_endorsed(plan: ActionPlan) -> bool:
    """Whether the group and at least one authority or service have endorsed the plan."""
    kinds = set(plan.signatories.values_list("kind", flat=True))
    return Signatory.Kind.GROUP in kinds and bool(kinds & Signatory.AUTHORITY_KINDS)


def plan_status_set(
    *, user: User | None, plan: ActionPlan, status: str, reason: str = ""
) -> ActionPlan:
    """Move the plan on (or back from agreed to draft, or close it early with a reason)."""
    if user is not None:
        require(user, "plan.edit", plan)
    if status not in Status.values:
        raise ValidationError({"status": _("Choose a status.")})
    if status not in NEXT[plan.status]:
        raise ValidationError(
            _("A plan that is {current} cannot become {new}.").format(
                current=Status(plan.status).label, new=Status(status).label
            )
        )
    reason = (reason or "").strip()
    if status == Status.AGREED and not is_jointly_endorsed(plan):
        raise ValidationError(
            _(
                "A plan is agreed once the community group and at least one authority or "
                "service have endorsed it."
            )
        )
    if status == Status.CLOSED and not reason:
        raise ValidationError({"reason": _("Say why the plan is closed early.")})
    before = plan.status
    with transaction.atomic():
        plan.status = status
        plan.closed_reason = reason if status == Status.CLOSED else ""
        plan.save(update_fields=["status", "closed_reason", "updated_at"])
        _audit(user, Verb.UPDATED, plan, plan, status=[before, status])
    return plan


def plan_publish(*, user: User, plan: ActionPlan) -> ActionPlan:
    """Publish the plan: the programme's viewers (donors, authorities) then read its public
    page, which shows no personal data. Publishing again keeps the first date. A draft is
    not published: it is nobody's commitment yet."""
    require(user, "plan.publish", plan)
    if plan.published_at is not None:
        return plan
    if plan.status == Status.DRAFT:
        raise ValidationError(_("A draft is not published: publish the plan once it is agreed."))
    with transaction.atomic():
        plan.published_at = timezone.now()
        plan.published_by = user
        plan.save(update_fields=["published_at", "published_by", "updated_at"])
        _audit(user, Verb.PUBLISHED, plan, plan)
    return plan


def plan_unpublish(*, user: User, plan: ActionPlan) -> ActionPlan:
    """Withdraw the public page: viewers no longer read the plan at all."""
    require(user, "plan.publish", plan)
    if plan.published_at is None:
        return plan
    with transaction.atomic():
        plan.published_at = None
        plan.published_by = None
        plan.save(update_fields=["published_at", "published_by", "updated_at"])
        _audit(user, Verb.UNPUBLISHED, plan, plan)
    return plan


def reminders_send(*, today: datetime.date | None = None) -> int:
    """E-mail the day's reminders of due dates (``amniyat.plans.reminders``); the number of
    e-mails sent."""
    from amniyat.plans import reminders

    return reminders.send_reminders(today=today)


# Actions ----------------------------------------------------------------------------------

ACTION_FIELDS = (
    "title",
    "lead_actor",
    "lead_side",
    "supporting_actors",
    "start_on",
    "due_on",
    "cost",
    "funding",
    "expected_result",
    "beneficiaries",
    "status",
    "status_reason",
    "progress",
    "weight",
)


def _check_links(
    user: User | None,
    plan: ActionPlan,
    factors: Iterable[Factor],
    priorities: Iterable[Priority],
) -> tuple[list[Factor], list[Priority]]:
    """The factors and priorities an action of ``plan`` may address: of its programme and
    group, and of maps the user may read; anything else is refused by name."""
    factors, priorities = list(dict.fromkeys(factors)), list(dict.fromkeys(priorities))
    errors: dict[str, str] = {}
    if factors:
        allowed = selectors.factors_for(user=user, plan=plan)
        known = set(allowed.filter(pk__in=[f.pk for f in factors]).values_list("pk", flat=True))
        if any(f.pk not in known for f in factors):
            errors["factors"] = _("Choose factors of this programme's driver maps for this group.")
    if priorities:
        known = set(
            selectors.priorities_for(plan=plan)
            .filter(pk__in=[p.pk for p in priorities])
            .values_list("pk", flat=True)
        )
        if any(p.pk not in known for p in priorities):
            errors["priorities"] = _("Choose priorities this group has agreed.")
    if errors:
        raise ValidationError(errors)
    return factors, priorities


def _clean_actors(actors: Iterable[Any]) -> list[dict[str, str]]:
    cleaned: list[dict[str, str]] = []
    for actor in actors:
        name = str(actor.get("name", "") if isinstance(actor, dict) else "").strip()
        side = actor.get("side") if isinstance(actor, dict) else None
        if not name:
            continue
        if side not in Side.values or len(name) > 200:
            raise ValidationError({"supporting_actors": _("Give each supporting actor a side.")})
        cleaned.append({"name": name, "side": side})
    if len(cleaned) > MAX_ACTORS:
        raise ValidationError(
            {"supporting_actors": _("At most {n} supporting actors.").format(n=MAX_ACTORS)}
        )
    return cleaned


def _check_action(action: Action) -> None:
    """The rules of one action's own values, each answered with a message."""
    errors: dict[str, str] = {}
    if not (action.title or "").strip():
        errors["title"] = _("Say what will be done.")
    if not (action.lead_actor or "").strip():
        errors["lead_actor"] = _("Name who leads the action.")
    if action.lead_side not in Side.values:
        errors["lead_side"] = _("Say on which side the lead actor is.")
    if action.start_on is None:
        errors["start_on"] = _("Give the date the action starts.")
    if action.due_on is None:
        errors["due_on"] = _("Give the date the action is due.")
    elif action.start_on is not None and action.due_on < action.start_on:
        errors["due_on"] = _("An action cannot be due before it starts.")
    value = action.progress
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
        errors["progress"] = _("Progress is a whole number from 0 to 100 %.")
    elif action.status == Action.Status.DONE and value == 0:
        errors["progress"] = _("An action that is done cannot be at 0 %. Give its progress.")
    weight = action.weight
    if isinstance(weight, bool) or not isinstance(weight, int) or not 1 <= weight <= 100:
        errors["weight"] = _("The weight is a whole number from 1 to 100.")
    if action.status not in Action.Status.values:
        errors["status"] = _("Choose a status.")
    elif action.status == Action.Status.DROPPED and not (action.status_reason or "").strip():
        errors["status_reason"] = _("Say why the action was dropped.")
    if action.funding not in Action.Funding.values:
        errors["funding"] = _("Choose a funding source.")
    cost = action.cost
    if cost is not None:
        if not isinstance(cost, Money) or not 0 <= cost.amount <= MAX_COST:
            errors["cost"] = _("Give a cost from 0 up.")
        elif str(cost.currency) not in Currency.values:
            errors["cost"] = _("Give the currency of the cost estimate.")
    unknown = [b for b in action.beneficiaries if b not in Action.Beneficiary.values]
    if unknown:
        errors["beneficiaries"] = _("Choose who benefits from the list.")
    if errors:
        raise ValidationError(errors)
    if action.status != Action.Status.DROPPED:
        action.status_reason = ""


def _check_place_in_tree(action: Action, objective: Objective, parent: Action | None) -> None:
    """A parent of the same objective, and never the action itself or one of its parts."""
    if parent is None:
        return
    if parent.objective_id != objective.pk:
        raise ValidationError({"parent": _("Choose an action of the same objective.")})
    if action.pk is not None:
        parent_of = dict(
            Action.objects.filter(objective__plan_id=objective.plan_id).values_list(
                "pk", "parent_id"
            )
        )
        if rollup.is_descendant(parent.pk, action.pk, parent_of):
            raise ValidationError(
                {"parent": _("An action cannot be a part of itself or of one of its parts.")}
            )
    depth, current = 1, parent  # type: tuple[int, Action | None]
    while current is not None and depth <= MAX_DEPTH:
        depth += 1
        current = current.parent
    if depth > MAX_DEPTH:
        raise ValidationError(
            {"parent": _("Actions go at most {n} levels deep.").format(n=MAX_DEPTH)}
        )


def action_create(
    *,
    user: User | None,
    objective: Objective,
    parent: Action | None = None,
    factors: Iterable[Factor] = (),
    priorities: Iterable[Priority] = (),
    **values: Any,
) -> Action:
    plan = objective.plan
    if user is not None:
        require(user, "plan.edit", plan)
    _check_open(plan)
    unknown = set(values) - set(ACTION_FIELDS)
    if unknown:
        raise TypeError(f"unknown action fields: {sorted(unknown)}")
    action = Action(objective=objective, parent=parent, **values)
    action.supporting_actors = _clean_actors(action.supporting_actors or [])
    action.beneficiaries = list(dict.fromkeys(action.beneficiaries or []))
    _check_action(action)
    _check_place_in_tree(action, objective, parent)
    chosen_factors, chosen_priorities = _check_links(user, plan, factors, priorities)
    _mark_done_on(action, was=None)
    with transaction.atomic():
        last = Action.objects.filter(objective=objective, parent=parent).aggregate(
            last=Max("position")
        )["last"]
        action.position = 0 if last is None else last + 1
        action.save()
        action.factors.set(chosen_factors)
        action.priorities.set(chosen_priorities)
        _audit(user, Verb.CREATED, action, plan, objective=objective.pk)
    return action


class Keep:
    """The default of :func:`action_update`'s ``parent``: leave it where it is."""


KEEP = Keep()


def action_update(
    *,
    user: User | None,
    action: Action,
    objective: Objective | None = None,
    parent: Action | Keep | None = KEEP,
    factors: Iterable[Factor] | None = None,
    priorities: Iterable[Priority] | None = None,
    **values: Any,
) -> Action:
    """Change an action's values and, with ``objective`` and ``parent`` (None: an action of
    the objective itself), move it with its parts in the plan's tree. Without ``parent`` it
    keeps its parent, unless it moves to another objective (where it starts at the top)."""
    plan = action.objective.plan
    if user is not None:
        require(user, "plan.edit", plan)
    _check_open(plan)
    unknown = set(values) - set(ACTION_FIELDS)
    if unknown:
        raise TypeError(f"unknown action fields: {sorted(unknown)}")
    target = objective or action.objective
    if target.plan_id != plan.pk:
        raise ValidationError({"objective": _("Choose an objective of this plan.")})
    if isinstance(parent, Keep):
        parent = action.parent if target.pk == action.objective_id else None
    before_place = (action.objective_id, action.parent_id)
    was = action.status
    changed = changed_fields(action, values)
    action.supporting_actors = _clean_actors(action.supporting_actors or [])
    action.beneficiaries = list(dict.fromkeys(action.beneficiaries or []))
    _check_action(action)
    _check_place_in_tree(action, target, parent)
    chosen = _check_links(user, plan, factors or [], priorities or [])
    _mark_done_on(action, was=was)
    with transaction.atomic():
        action.objective = target
        action.parent = parent
        action.save()
        if (target.pk, parent.pk if parent else None) != before_place:
            _move_parts(action, target)
        if factors is not None:
            # Links to factors of maps the writer may not read stay: they were not offered.
            kept = (
                action.factors.exclude(pk__in=selectors.readable_factors(user))
                if user is not None
                else action.factors.none()
            )
            action.factors.set([*chosen[0], *kept])
        if priorities is not None:
            action.priorities.set(chosen[1])
        _audit(
            user,
            Verb.UPDATED,
            action,
            plan,
            changed=changed,
            moved=[list(before_place), [target.pk, parent.pk if parent else None]],
        )
    return action


def _mark_done_on(action: Action, *, was: str | None) -> None:
    """The day an action became done (today, in the programme's time zone), kept while it
    stays done; gone when it is no longer done. "Done on time" is read from it."""
    if action.status != Action.Status.DONE:
        action.done_on = None
    elif was != Action.Status.DONE or action.done_on is None:
        action.done_on = timezone.localdate()


def _move_parts(action: Action, objective: Objective) -> None:
    """Every part below ``action`` follows it to ``objective``."""
    below: list[int] = []
    frontier = [action.pk]
    while frontier:
        frontier = list(Action.objects.filter(parent_id__in=frontier).values_list("pk", flat=True))
        below += frontier
    if below:
        Action.objects.filter(pk__in=below).update(objective=objective)


# The roll-up -----------------------------------------------------------------------------


def progress_of(actions: Iterable[Action]) -> dict[int, float]:
    """Each action's progress, parents rolled up from their parts (``amniyat.plans.progress``)."""
    return rollup.rolled_up(
        rollup.Node(
            id=a.pk,
            parent_id=a.parent_id,
            progress=float(a.progress),
            weight=float(a.weight),
            dropped=a.status == Action.Status.DROPPED,
        )
        for a in actions
    )


def objective_progress(
    actions: Iterable[Action], rolled: dict[int, float]
) -> dict[int, float | None]:
    """Each objective's progress: the weighted mean of its top-level actions (dropped ones
    not counted); None for an objective with none."""
    pairs: dict[int, list[tuple[float, float]]] = {}
    for a in actions:
        if a.parent_id is None and a.status != Action.Status.DROPPED:
            pairs.setdefault(a.objective_id, []).append((rolled[a.pk], float(a.weight)))
    return {objective: rollup.weighted_mean(items) for objective, items in pairs.items()}
