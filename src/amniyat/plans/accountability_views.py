"""Accountability pages of action plans: per plan, its timeline with overdue actions, progress
by objective, commitments by actor and the chain from each action back to its priority,
factor and evidence; per programme, its plans across groups, overdue commitments by actor
and the share of actions done on time; a plan's public page (no personal data) for viewers
once a lead has published it; and publishing it.

Every count on these pages links to the actions it counts (``?actor=…&show=…``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from amniyat.accounts import policies
from amniyat.accounts.http import AuthenticatedRequest
from amniyat.accounts.models import Programme
from amniyat.accounts.selectors import programme_get
from amniyat.core.paging import page_of
from amniyat.findings import charts
from amniyat.plans import accountability as ac
from amniyat.plans import progress as rollup
from amniyat.plans import selectors, services
from amniyat.plans.models import Action, ActionPlan

PLANS_PER_PAGE = 25


@dataclass
class Line:
    """An action as these pages list it: its depth in the tree, rolled-up progress, whether
    it is overdue and by how many days."""

    action: Action
    depth: int
    progress: float
    overdue: bool
    days_late: int
    # The statuses the community says hold, while its disputes are open (shown beside the
    # status reported: progress is not only what the actor responsible says).
    disputed: list[str]


def _in_order(actions: list[Action]) -> list[tuple[Action, int]]:
    """Actions in the plan's tree order (objective by objective, parents before their parts)
    with their depth."""
    children: dict[int | None, list[Action]] = {}
    known = {a.pk for a in actions}
    for action in actions:
        parent = action.parent_id if action.parent_id in known else None
        children.setdefault(parent, []).append(action)
    ordered: list[tuple[Action, int]] = []
    stack = [(a, 0) for a in reversed(children.get(None, []))]
    while stack:
        action, depth = stack.pop()
        ordered.append((action, depth))
        stack += [(kid, depth + 1) for kid in reversed(children.get(action.pk, []))]
    return ordered


def _filters(request: AuthenticatedRequest) -> tuple[str, str]:
    """The actor and the kind of count a link asked for; anything else is no filter."""
    actor = ac.actor_key(request.GET.get("actor", ""))[:200]
    show = request.GET.get("show", "")
    if show not in ac.SHOWN:
        show = "all" if actor else ""
    return actor, show


def _plan_context(
    request: AuthenticatedRequest, programme: Programme, plan: ActionPlan
) -> dict[str, Any]:
    """What both a plan's accountability page and its public page show."""
    today = timezone.localdate()
    user = request.user
    actions = selectors.actions_with_chain(plan, user=user)
    objectives = selectors.objectives_of(plan, user=user)
    rolled = services.progress_of(actions)
    by_objective = services.objective_progress(actions, rolled)
    for objective in objectives:
        objective.rolled = by_objective.get(objective.pk)  # type: ignore[attr-defined]
    ordered = _in_order(actions)
    objective_of = {o.pk: o for o in objectives}
    disputed = selectors.disputed_statuses(plan)
    status_names = dict(Action.Status.choices)
    lines = [
        Line(
            a,
            depth,
            rolled[a.pk],
            ac.is_overdue(a, today),
            ac.days_late(a, today),
            [str(status_names.get(s, s)) for s in disputed.get(a.pk, [])],
        )
        for a, depth in ordered
    ]
    for line in lines:
        line.action.objective = objective_of[line.action.objective_id]
    actor, show = _filters(request)
    counted_ids = (
        {a.pk for a in ac.counted_actions(actions, today, actor=actor, show=show)}
        if show
        else set()
    )
    chart = (
        charts.render_svg(
            ac.timeline_spec(
                [(a, str(a.translated("title")), depth) for a, depth in ordered], today
            )
        )
        if ordered
        else None
    )
    return {
        "programme": programme,
        "plan": plan,
        "today": today,
        "objectives": objectives,
        "lines": lines,
        "overdue": sum(line.overdue for line in lines),
        "chart": chart,
        "charted": min(len(lines), ac.CHART_ROWS),
        "actors": ac.commitments_by_actor(actions, today),
        "on_time": ac.on_time_share(actions, today),
        "actor": actor,
        "show": show,
        "counted": [line for line in lines if line.action.pk in counted_ids],
        "signatories": list(selectors.signatories_of(plan)),
    }


@login_required
def plan_accountability(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    programme = programme_get(user=request.user, slug=slug)
    plan = selectors.plan_get(user=request.user, programme=programme, pk=pk)
    context = _plan_context(request, programme, plan)
    context["can_publish"] = policies.can(request.user, "plan.publish", plan)
    return render(request, "plans/accountability/plan.html", context)


@login_required
def plan_public(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    """The plan as the public reads it: no person's name, no free text that could name
    someone (reasons, notes), no participants; in the reader's language. Those who read the
    plan itself see it before it is published too, marked as a preview."""
    programme = programme_get(user=request.user, slug=slug)
    plan = selectors.public_plan_get(user=request.user, programme=programme, pk=pk)
    context = _plan_context(request, programme, plan)
    context["internal"] = policies.can(request.user, "plan.view", plan)
    return render(request, "plans/accountability/public.html", context)


@login_required
@require_POST
def plan_publish(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    programme = programme_get(user=request.user, slug=slug)
    plan = selectors.plan_get(user=request.user, programme=programme, pk=pk)
    if not policies.can(request.user, "plan.publish", plan):
        raise Http404("No such action plan.")
    if request.POST.get("action") == "unpublish":
        services.plan_unpublish(user=request.user, plan=plan)
        messages.success(request, _("The plan is no longer published."))
    else:
        try:
            services.plan_publish(user=request.user, plan=plan)
        except ValidationError as error:
            for message in error.messages:
                messages.error(request, message)
            return redirect("plans:accountability", slug=programme.slug, pk=plan.pk)
        messages.success(
            request,
            _(
                "The plan is published: the programme's viewers can read its public page, "
                "which shows no personal data."
            ),
        )
    return redirect("plans:accountability", slug=programme.slug, pk=plan.pk)


@dataclass
class PlanRow:
    plan: ActionPlan
    progress: float | None
    actions: int
    overdue: int
    internal: bool


def _plan_progress(rows: list[selectors.ActionRow]) -> float | None:
    """A plan's progress: the weighted mean of its top-level actions (dropped ones not
    counted), each rolled up from its parts, as an objective's is."""
    dropped = Action.Status.DROPPED
    rolled = rollup.rolled_up(
        rollup.Node(r.pk, r.parent_id, float(r.progress), float(r.weight), r.status == dropped)
        for r in rows
    )
    return rollup.weighted_mean(
        (rolled[r.pk], float(r.weight)) for r in rows if r.parent_id is None and r.status != dropped
    )


# The actions a count on the programme's page lists, at most.
COUNTED_SHOWN = 25


@login_required
def programme_accountability(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    """The programme's plans across groups (those the user may read; for viewers, the
    published ones), overdue commitments by actor and the share of actions done on time."""
    programme = programme_get(user=request.user, slug=slug)
    today = timezone.localdate()
    plans = selectors.public_plan_list(user=request.user, programme=programme)
    rows = selectors.action_rows_of_plans(plans)
    of_plan: dict[int, list[selectors.ActionRow]] = {}
    for row in rows:
        of_plan.setdefault(row.plan_id, []).append(row)
    page = page_of(request, plans, size=PLANS_PER_PAGE)
    table = []
    for plan in page.object_list:
        mine = of_plan.get(plan.pk, [])
        table.append(
            PlanRow(
                plan=plan,
                progress=_plan_progress(mine),
                actions=len(mine),
                overdue=sum(ac.is_overdue(a, today) for a in mine),
                internal=policies.can(request.user, "plan.view", plan),
            )
        )
    actor, show = _filters(request)
    chosen = ac.counted_actions(rows, today, actor=actor, show=show) if show else []
    counted = selectors.actions_counted(pks=[r.pk for r in chosen], limit=COUNTED_SHOWN)
    # Which of the counted actions' plans the user reads in full (the rest, their public
    # page): one query.
    internal_plans = (
        set(
            selectors.plan_list(user=request.user, programme=programme)
            .filter(pk__in={a.objective.plan_id for a in counted})
            .values_list("pk", flat=True)
        )
        if counted
        else set()
    )
    return render(
        request,
        "plans/accountability/programme.html",
        {
            "programme": programme,
            "today": today,
            "page": page,
            "rows": table,
            "actors": [line for line in ac.commitments_by_actor(rows, today) if line.overdue],
            "on_time": ac.on_time_share(rows, today),
            "total": len(rows),
            "actor": actor,
            "show": show,
            "counted": [
                (a, ac.days_late(a, today), a.objective.plan_id in internal_plans) for a in counted
            ],
            "counted_total": len(chosen),
        },
    )
