"""Consultation pages: the programme's register of consultations (filtered by level, group and
period, with a summary of who came whose every number opens the consultations it counts),
one consultation, recording and editing one, its commitments, and a commitment becoming an
action of a plan of the same group."""

from __future__ import annotations

import datetime
from typing import Any
from urllib.parse import urlencode

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
from amniyat.accounts.models import Programme
from amniyat.accounts.selectors import programme_get
from amniyat.communities.forms import group_offer
from amniyat.communities.models import CommunityGroup
from amniyat.communities.selectors import group_choices
from amniyat.core.forms import apply_errors
from amniyat.core.paging import page_of
from amniyat.places.forms import place_offer
from amniyat.plans import consultation_selectors as selectors
from amniyat.plans import consultations as services
from amniyat.plans.consultation_forms import CommitmentActionForm, CommitmentForm, ConsultationForm
from amniyat.plans.models import Consultation

CONSULTATIONS_PER_PAGE = 25
# The groups the list's filter offers: those with consultations, at most this many.
GROUPS_OFFERED = 200


def _editable(request: AuthenticatedRequest, consultation: Consultation) -> None:
    """Those who may only read a consultation get 404 on its writing routes."""
    if not policies.can(request.user, "consultation.edit", consultation):
        raise Http404("No such consultation.")


def _not_yours(group: CommunityGroup | None) -> str:
    if group is None:
        return _(
            "Choose one of your community groups: a consultation of no group is recorded by "
            "the programme's lead."
        )
    return _("You may not record consultations of this group.")


def _date(value: str) -> datetime.date | None:
    try:
        return datetime.date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _filters(request: AuthenticatedRequest) -> tuple[selectors.Filters, list[str]]:
    """The list's filters from its address; a value not understood is left out, and said."""
    problems: list[str] = []
    level = request.GET.get("level", "")
    if level and level not in Consultation.Level.values:
        problems.append(_("There is no such level: every level is shown."))
        level = ""
    group = request.GET.get("group", "")
    group_id = int(group) if group.isascii() and group.isdigit() and len(group) < 12 else None
    if group and group_id is None:
        problems.append(_("There is no such community group: every group is shown."))
    start, end = _date(request.GET.get("from", "")), _date(request.GET.get("to", ""))
    if (request.GET.get("from") and start is None) or (request.GET.get("to") and end is None):
        problems.append(_("A date of the period was not understood and is left out."))
    attended = request.GET.get("attended", "")
    filters = selectors.Filters(
        level=level or None,
        group_id=group_id,
        start=start,
        end=end,
        attended=attended if attended in selectors.ATTENDANCE else None,
    )
    return filters, problems


def _link(filters: selectors.Filters, **changes: str) -> str:
    query = filters.query()
    query.pop("page", None)
    for key, value in changes.items():
        if value:
            query[key] = value
        else:
            query.pop(key, None)
    return "?" + urlencode(query)


@login_required
def consultation_list(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    programme = programme_get(user=request.user, slug=slug)
    filters, problems = _filters(request)
    consultations = selectors.consultation_list(
        user=request.user, programme=programme, filters=filters
    )
    # The summary counts what the list shows, whatever its "who came" narrowing: each of
    # its numbers opens the consultations it counts.
    counted = selectors.consultation_list(
        user=request.user,
        programme=programme,
        filters=selectors.Filters(
            level=filters.level, group_id=filters.group_id, start=filters.start, end=filters.end
        ),
    )
    summary = []
    for row in selectors.consultation_summary(counted):
        summary.append(
            {
                "row": row,
                "link": _link(filters, level=row.level, attended=""),
                "cells": [
                    (row.attendance[name], _link(filters, level=row.level, attended=name))
                    for name in selectors.ATTENDANCE
                ],
            }
        )
    groups = (
        CommunityGroup.objects.filter(
            pk__in=selectors.consultations_visible(user=request.user)
            .filter(programme=programme, group__isnull=False)
            .values("group_id")
        )
        .only("name", "content_language", "translations")
        .order_by("name")[:GROUPS_OFFERED]
    )
    return render(
        request,
        "plans/consultations/list.html",
        {
            "programme": programme,
            "page": page_of(request, consultations, size=CONSULTATIONS_PER_PAGE),
            "filters": filters,
            "problems": problems,
            "summary": summary,
            "levels": Consultation.Level.choices,
            "groups": groups,
            "can_create": policies.can(request.user, "consultation.create", programme),
        },
    )


def _chosen_group(
    request: AuthenticatedRequest, programme: Programme, fallback: CommunityGroup | None
) -> CommunityGroup | None:
    """The group the form is being filled for (posted, or ``?group=``): the factors and
    priorities it offers are that group's."""
    value = request.POST.get("group") if request.method == "POST" else request.GET.get("group")
    if value is None:
        return fallback
    if not (value.isascii() and value.isdigit() and len(value) < 12):
        return None
    return group_choices(user=request.user, programme=programme).filter(pk=int(value)).first()


def _form(
    request: AuthenticatedRequest,
    programme: Programme,
    group: CommunityGroup | None,
    initial: dict[str, Any],
) -> ConsultationForm:
    return ConsultationForm(
        request.POST if request.method == "POST" else None,
        groups=group_offer(user=request.user, programme=programme),
        places=place_offer(user=request.user, programme=programme, within="area"),
        factors=selectors.factors_for(user=request.user, programme=programme, group=group),
        priorities=selectors.priorities_for(group=group),
        initial=initial,
    )


@login_required
def consultation_create(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    programme = programme_get(user=request.user, slug=slug)
    if not policies.can(request.user, "consultation.create", programme):
        raise Http404("No such page.")
    group = _chosen_group(request, programme, None)
    form = _form(
        request,
        programme,
        group,
        {
            "held_on": timezone.localdate(),
            "level": Consultation.Level.LOCAL,
            "group": group and group.pk,
        },
    )
    if request.method == "POST" and form.is_valid():
        values = form.service_values()
        try:
            consultation = services.consultation_create(
                user=request.user,
                programme=programme,
                content_language=request.LANGUAGE_CODE[:2],
                **values,
            )
        except ValidationError as error:
            apply_errors(form, error)
        except PermissionDenied:
            form.add_error("group", _not_yours(values["group"]))
        else:
            messages.success(request, _("Consultation recorded."))
            return redirect("plans:consultation_detail", slug=programme.slug, pk=consultation.pk)
    return render(
        request,
        "plans/consultations/form.html",
        {"programme": programme, "form": form, "consultation": None},
    )


@login_required
def consultation_edit(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    programme = programme_get(user=request.user, slug=slug)
    consultation = selectors.consultation_get(user=request.user, programme=programme, pk=pk)
    _editable(request, consultation)
    group = _chosen_group(request, programme, consultation.group)
    form = _form(request, programme, group, ConsultationForm.initial_of(consultation))
    if request.method == "POST" and form.is_valid():
        try:
            services.consultation_update(
                user=request.user, consultation=consultation, **form.service_values()
            )
        except ValidationError as error:
            apply_errors(form, error)
        except PermissionDenied:
            form.add_error("group", _not_yours(form.cleaned_data.get("group")))
        else:
            messages.success(request, _("Consultation saved."))
            return redirect("plans:consultation_detail", slug=programme.slug, pk=consultation.pk)
    return render(
        request,
        "plans/consultations/form.html",
        {"programme": programme, "form": form, "consultation": consultation},
    )


@login_required
def consultation_detail(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    programme = programme_get(user=request.user, slug=slug)
    consultation = selectors.consultation_get(user=request.user, programme=programme, pk=pk)
    factors, priorities = selectors.issues_of(consultation, user=request.user)
    can_edit = policies.can(request.user, "consultation.edit", consultation)
    notes = services.consultation_notes_read(
        user=request.user, consultation=consultation, request=request
    )
    return render(
        request,
        "plans/consultations/detail.html",
        {
            "programme": programme,
            "consultation": consultation,
            "factors": factors,
            "priorities": priorities,
            "notes": notes,
            "commitments": selectors.commitments_of(consultation),
            "can_edit": can_edit,
            "commitment_form": CommitmentForm(initial={"side": "authority"}) if can_edit else None,
        },
    )


@login_required
@require_POST
def commitment_add(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    programme = programme_get(user=request.user, slug=slug)
    consultation = selectors.consultation_get(user=request.user, programme=programme, pk=pk)
    _editable(request, consultation)
    form = CommitmentForm(request.POST)
    if form.is_valid():
        try:
            services.commitment_add(
                user=request.user, consultation=consultation, **form.cleaned_data
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _("Commitment recorded."))
            return redirect("plans:consultation_detail", slug=programme.slug, pk=consultation.pk)
    return render(
        request,
        "plans/consultations/commitment.html",
        {"programme": programme, "consultation": consultation, "form": form},
    )


@login_required
def commitment_action(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    programme = programme_get(user=request.user, slug=slug)
    commitment = selectors.commitment_get(user=request.user, programme=programme, pk=pk)
    consultation = commitment.consultation
    _editable(request, consultation)
    objectives = selectors.objectives_for(user=request.user, consultation=consultation)
    form = CommitmentActionForm(
        request.POST if request.method == "POST" else None,
        objectives=objectives,
        initial={"start_on": timezone.localdate(), "due_on": commitment.due_on},
    )
    if request.method == "POST" and commitment.action_id is not None:
        form.is_valid()
        form.add_error(None, _("This commitment is already an action of a plan."))
    elif request.method == "POST" and form.is_valid():
        try:
            action = services.commitment_to_action(
                user=request.user, commitment=commitment, **form.cleaned_data
            )
        except ValidationError as error:
            apply_errors(form, error)
        except PermissionDenied:
            form.add_error(
                "objective", _("Choose an objective of a plan of this consultation's group.")
            )
        else:
            messages.success(request, _("The commitment is now an action of the plan."))
            return redirect("plans:detail", slug=programme.slug, pk=action.objective.plan_id)
    return render(
        request,
        "plans/consultations/commitment_action.html",
        {
            "programme": programme,
            "consultation": consultation,
            "commitment": commitment,
            "form": form,
            "has_objectives": objectives.exists(),
        },
    )
