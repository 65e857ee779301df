"""Action plan pages: the programme's plans, starting a plan from an agreed priority list, a
plan with its endorsements, objectives and the tree of actions with their rolled-up progress,
recording an endorsement, moving the plan on, and writing actions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from amniyat.accounts import policies
from amniyat.accounts.http import AuthenticatedRequest
from amniyat.accounts.selectors import programme_get
from amniyat.core.forms import apply_errors
from amniyat.core.paging import page_of
from amniyat.drivers.priorities.selectors import priority_list_get
from amniyat.plans import selectors, services
from amniyat.plans.forms import ActionForm, PlanForm, SignatoryForm, StatusForm
from amniyat.plans.models import Action, ActionPlan

PLANS_PER_PAGE = 25
# The agreed lists offered for a new plan on the list page: the latest, each one query.
LISTS_OFFERED = 20


def _editable(request: AuthenticatedRequest, plan: ActionPlan) -> None:
    """Those who may only read a plan get 404 on its writing routes."""
    if not policies.can(request.user, "plan.edit", plan):
        raise Http404("No such action plan.")


@login_required
def plan_list(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    programme = programme_get(user=request.user, slug=slug)
    plans = selectors.plan_list(user=request.user, programme=programme)
    lists = selectors.agreed_priority_lists(user=request.user, programme=programme).order_by(
        "-agreed_on", "-pk"
    )[:LISTS_OFFERED]
    startable = [pl for pl in lists if policies.can(request.user, "plan.create", pl.group)]
    return render(
        request,
        "plans/list.html",
        {
            "programme": programme,
            "page": page_of(request, plans, size=PLANS_PER_PAGE),
            "startable": startable,
        },
    )


@login_required
def plan_create(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    programme = programme_get(user=request.user, slug=slug)
    priority_list = priority_list_get(user=request.user, programme=programme, pk=pk)
    if not policies.can(request.user, "plan.create", priority_list.group):
        raise Http404("No such priority list.")
    priorities = priority_list.priorities.select_related("code").order_by("rank", "pk")
    form = PlanForm(
        request.POST if request.method == "POST" else None,
        priorities=priorities,
        initial={"priorities": [p.pk for p in priorities], "period_start": timezone.localdate()},
    )
    if request.method == "POST" and form.is_valid():
        try:
            plan = services.plan_create_from_priorities(
                user=request.user,
                priority_list=priority_list,
                priorities=list(form.cleaned_data["priorities"]),
                title=form.cleaned_data["title"],
                period_start=form.cleaned_data["period_start"],
                period_end=form.cleaned_data["period_end"],
                content_language=request.LANGUAGE_CODE[:2],
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _("Plan started from the agreed priorities."))
            return redirect("plans:detail", slug=programme.slug, pk=plan.pk)
    return render(
        request,
        "plans/create.html",
        {
            "programme": programme,
            "priority_list": priority_list,
            "agreed": priority_list.agreed_on is not None,
            "form": form,
        },
    )


@dataclass
class Row:
    """An action as the plan's page shows it: its depth in the tree and rolled-up progress."""

    action: Action
    depth: int
    progress: float
    has_parts: bool


def _tree(actions: list[Action], rolled: dict[int, float]) -> dict[int, list[Row]]:
    """The actions of each objective in tree order (parents before their parts)."""
    children: dict[int | None, list[Action]] = {}
    for action in actions:
        children.setdefault(action.parent_id, []).append(action)
    rows: dict[int, list[Row]] = {}

    def visit(action: Action, depth: int) -> None:
        kids = children.get(action.pk, [])
        rows.setdefault(action.objective_id, []).append(
            Row(action, depth, rolled[action.pk], bool(kids))
        )
        for kid in kids:
            visit(kid, depth + 1)

    for action in children.get(None, []):
        visit(action, 0)
    return rows


@login_required
def plan_detail(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    programme = programme_get(user=request.user, slug=slug)
    plan = selectors.plan_get(user=request.user, programme=programme, pk=pk)
    objectives = selectors.objectives_of(plan, user=request.user)
    actions = selectors.actions_of(plan, user=request.user)
    rolled = services.progress_of(actions)
    by_objective = services.objective_progress(actions, rolled)
    rows = _tree(actions, rolled)
    for objective in objectives:
        objective.rows = rows.get(objective.pk, [])  # type: ignore[attr-defined]
        objective.rolled = by_objective.get(objective.pk)  # type: ignore[attr-defined]
    can_edit = policies.can(request.user, "plan.edit", plan)
    signatories = list(selectors.signatories_of(plan))
    return render(
        request,
        "plans/detail.html",
        {
            "programme": programme,
            "plan": plan,
            "objectives": objectives,
            "signatories": signatories,
            "can_edit": can_edit and plan.status not in services.FINAL,
            "next_statuses": [
                (value, label)
                for value, label in ActionPlan.Status.choices
                if value in services.NEXT[plan.status]
            ]
            if can_edit
            else [],
            "status_form": StatusForm(),
            "today": timezone.localdate(),
        },
    )


@login_required
@require_POST
def plan_status(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    programme = programme_get(user=request.user, slug=slug)
    plan = selectors.plan_get(user=request.user, programme=programme, pk=pk)
    _editable(request, plan)
    form = StatusForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a status."))
    else:
        try:
            services.plan_status_set(
                user=request.user,
                plan=plan,
                status=form.cleaned_data["status"],
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as error:
            for message in error.messages:
                messages.error(request, message)
        except PermissionDenied:
            raise Http404("No such action plan.") from None
        else:
            messages.success(request, _("The plan's status was changed."))
    return redirect("plans:detail", slug=programme.slug, pk=plan.pk)


@login_required
def signatory_add(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    programme = programme_get(user=request.user, slug=slug)
    plan = selectors.plan_get(user=request.user, programme=programme, pk=pk)
    _editable(request, plan)
    form = SignatoryForm(
        request.POST if request.method == "POST" else None,
        initial={"endorsed_on": timezone.localdate()},
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.signatory_add(user=request.user, plan=plan, **form.cleaned_data)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _("Endorsement recorded."))
            return redirect("plans:detail", slug=programme.slug, pk=plan.pk)
    return render(
        request, "plans/endorse.html", {"programme": programme, "plan": plan, "form": form}
    )


def _action_form(
    request: AuthenticatedRequest, plan: ActionPlan, action: Action | None, initial: dict[str, Any]
) -> ActionForm:
    parents = Action.objects.filter(objective__plan=plan).order_by("objective_id", "pk")
    if action is not None:
        parents = parents.exclude(pk=action.pk)
    return ActionForm(
        request.POST if request.method == "POST" else None,
        objectives=plan.objectives.order_by("position", "pk"),
        parents=parents,
        factors=selectors.factors_for(user=request.user, plan=plan),
        priorities=selectors.priorities_for(plan=plan),
        initial=initial,
    )


def _save_action(
    request: AuthenticatedRequest, form: ActionForm, action: Action | None, plan: ActionPlan
) -> Action | None:
    values = form.service_values()
    objective, parent = values.pop("objective"), values.pop("parent")
    factors, priorities = list(values.pop("factors")), list(values.pop("priorities"))
    try:
        if action is None:
            return services.action_create(
                user=request.user,
                objective=objective,
                parent=parent,
                factors=factors,
                priorities=priorities,
                **values,
            )
        return services.action_update(
            user=request.user,
            action=action,
            objective=objective,
            parent=parent,
            factors=factors,
            priorities=priorities,
            **values,
        )
    except ValidationError as error:
        apply_errors(form, error)
        return None


@login_required
def action_create(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    programme = programme_get(user=request.user, slug=slug)
    plan = selectors.plan_get(user=request.user, programme=programme, pk=pk)
    _editable(request, plan)
    initial: dict[str, Any] = {
        "objective": request.GET.get("objective", ""),
        "parent": request.GET.get("parent", ""),
        "start_on": timezone.localdate(),
        "progress": 0,
        "weight": 1,
    }
    form = _action_form(request, plan, None, initial)
    if (
        request.method == "POST"
        and form.is_valid()
        and _save_action(request, form, None, plan) is not None
    ):
        messages.success(request, _("Action added."))
        return redirect("plans:detail", slug=programme.slug, pk=plan.pk)
    return render(
        request,
        "plans/action_form.html",
        {"programme": programme, "plan": plan, "form": form, "action": None},
    )


@login_required
def action_edit(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    programme = programme_get(user=request.user, slug=slug)
    action = selectors.action_get(user=request.user, programme=programme, pk=pk)
    plan = action.objective.plan
    _editable(request, plan)
    form = _action_form(request, plan, action, ActionForm.initial_of(action))
    if (
        request.method == "POST"
        and form.is_valid()
        and _save_action(request, form, action, plan) is not None
    ):
        messages.success(request, _("Action saved."))
        return redirect("plans:detail", slug=programme.slug, pk=plan.pk)
    return render(
        request,
        "plans/action_form.html",
        {"programme": programme, "plan": plan, "form": form, "action": action},
    )
