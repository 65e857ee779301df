"""Pages for community groups, their members and how representative they are."""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from amniyat.accounts import policies
from amniyat.accounts.http import AuthenticatedRequest
from amniyat.accounts.models import Programme
from amniyat.accounts.selectors import organisations_visible, programme_get
from amniyat.communities import representativeness, selectors, services
from amniyat.communities.forms import CommunityGroupForm, GroupMemberForm, TargetForm
from amniyat.communities.models import CommunityGroup
from amniyat.core.forms import apply_errors
from amniyat.core.paging import page_of
from amniyat.core.picker import FIELD_NAME, RESULTS_SHOWN, Result, results
from amniyat.core.text import format_date
from amniyat.places.forms import place_offer

# A national programme has hundreds of groups: a page shows this many (every demo programme's
# fit on one), a group's composition chart being several times a row of the list.
GROUPS_PER_PAGE = 50
CHARTS_PER_PAGE = 20


def _group_form(
    request: AuthenticatedRequest, programme: Programme, **kwargs: Any
) -> CommunityGroupForm:
    organisations = organisations_visible(user=request.user, programme=programme)
    if programme.donor_id:
        organisations = organisations.exclude(pk=programme.donor_id)
    own = policies.organisation_for_new_group(request.user, programme)
    if own is not None:
        organisations = organisations.filter(pk=own)
    return CommunityGroupForm(
        request.POST if request.method == "POST" else None,
        places=place_offer(user=request.user, programme=programme, within="groups"),
        organisations=organisations,
        **kwargs,
    )


@login_required
def group_list(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    programme = programme_get(user=request.user, slug=slug)
    if not policies.can(request.user, "programme.view_groups", programme):
        raise Http404("No such page.")
    listed = selectors.groups_listed(user=request.user, programme=programme)
    kind = request.GET.get("kind", "")
    if kind in CommunityGroup.Kind.values:
        listed = listed.filter(kind=kind)
    # The page's groups chosen first, then only they counted: counting every group's members
    # to show fifty grows with the programme.
    page = page_of(request, listed.values_list("pk", flat=True), size=GROUPS_PER_PAGE)
    groups = selectors.groups_visible(user=request.user, programme=programme).filter(
        pk__in=list(page.object_list)
    )
    return render(
        request,
        "communities/group_list.html",
        {
            "programme": programme,
            "groups": groups.order_by("name", "pk"),
            "page": page,
            "kinds": CommunityGroup.Kind.choices,
            "kind": kind,
            "can_add": policies.can(request.user, "group.create", programme),
        },
    )


@login_required
def group_create(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    programme = programme_get(user=request.user, slug=slug)
    if not policies.can(request.user, "group.create", programme):
        raise Http404("No such page.")
    form = _group_form(request, programme)
    if request.method == "POST" and form.is_valid():
        try:
            group = services.group_create(
                acting_user=request.user,
                programme=programme,
                **form.cleaned_data,
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _("The group was created. Now add its members."))
            return redirect("communities:detail", slug=slug, pk=group.pk)
    return render(request, "communities/group_form.html", {"programme": programme, "form": form})


@login_required
def group_detail(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    programme = programme_get(user=request.user, slug=slug)
    group = selectors.group_get(user=request.user, programme=programme, pk=pk)
    today = timezone.localdate()
    # The members of the group in hand: not the group again with each of them.
    members = list(selectors.members_visible(user=request.user, group=group).select_related(None))
    for member in members:
        member.group = group
    show_personal = policies.can(request.user, "member.view_personal", group)
    if show_personal:
        services.personal_data_viewed(
            user=request.user, members=[m for m in members if m.display_name], request=request
        )
    composition = representativeness.composition(
        members, selectors.targets_of(programme=programme), on=today
    )
    start = group.established_on or (min((m.joined_on for m in members), default=today))
    # The months that matter: from the group's start to the end of the programme (or today).
    end = min(today, max(programme.ends_on, start))
    history = representativeness.monthly_history(members, start=start, end=end)
    history_max = max([row[1] for row in history] + [1])
    return render(
        request,
        "communities/group_detail.html",
        {
            "programme": programme,
            "group": group,
            "current": [m for m in members if m.is_active_on(today)],
            "former": [m for m in members if not m.is_active_on(today)],
            "composition": composition,
            "history": [_history_column(row, history_max) for row in history[-36:]],
            "show_personal": show_personal,
            "can_edit": policies.can(request.user, "group.edit", group),
        },
    )


def _history_column(
    row: tuple[datetime.date, int, int], history_max: int
) -> tuple[str, str, int, int, str, str]:
    """One month of the members-over-time chart: its name, its short label (m/y), the members
    and the women, and the heights of the two bars (per cent, as widthratio rounds them),
    written once here rather than through four filters and tags for each of 36 months."""
    month, total, women = row
    return (
        format_date(month, format="month"),
        month.strftime("%m/%y"),
        total,
        women,
        str(round(total / history_max * 100)),
        str(round(women / total * 100)) if total else "0",
    )


@login_required
def group_edit(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    programme = programme_get(user=request.user, slug=slug)
    group = selectors.group_get(user=request.user, programme=programme, pk=pk)
    if not policies.can(request.user, "group.edit", group):
        raise Http404("No such page.")
    form = _group_form(request, programme, initial=_group_initial(group))
    if request.method == "POST" and form.is_valid():
        try:
            services.group_update(acting_user=request.user, group=group, **form.cleaned_data)
        except ValidationError as error:
            group.refresh_from_db()
            apply_errors(form, error)
        else:
            messages.success(request, _("The group was saved."))
            return redirect("communities:detail", slug=slug, pk=group.pk)
    return render(
        request,
        "communities/group_form.html",
        {"programme": programme, "form": form, "group": group},
    )


def _group_initial(group: CommunityGroup) -> dict[str, Any]:
    return {
        "name": group.name,
        "kind": group.kind,
        "place": group.place_id,
        "facilitating_organisation": group.facilitating_organisation_id,
        "is_new": group.is_new,
        "established_on": group.established_on,
        "closed_on": group.closed_on,
        "description": group.description,
    }


@login_required
def member_create(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    programme = programme_get(user=request.user, slug=slug)
    group = selectors.group_get(user=request.user, programme=programme, pk=pk)
    if not policies.can(request.user, "member.create", group):
        raise Http404("No such page.")
    show_personal = policies.can(request.user, "member.view_personal", group)
    form = GroupMemberForm(
        request.POST if request.method == "POST" else None,
        show_personal=show_personal,
        initial={"joined_on": timezone.localdate()},
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.member_add(acting_user=request.user, group=group, **form.cleaned_data)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _("The member was added."))
            if "add_another" in request.POST:
                return redirect("communities:member_create", slug=slug, pk=group.pk)
            return redirect("communities:detail", slug=slug, pk=group.pk)
    return render(
        request,
        "communities/member_form.html",
        {"programme": programme, "group": group, "form": form},
    )


@login_required
def member_edit(request: AuthenticatedRequest, slug: str, pk: int, member_pk: int) -> HttpResponse:
    programme = programme_get(user=request.user, slug=slug)
    group = selectors.group_get(user=request.user, programme=programme, pk=pk)
    member = selectors.member_get(user=request.user, group=group, pk=member_pk)
    if not policies.can(request.user, "member.edit", member):
        raise Http404("No such page.")
    show_personal = policies.can(request.user, "member.view_personal", member)
    if show_personal and member.display_name and request.method == "GET":
        member.group = group
        services.personal_data_viewed(user=request.user, members=[member], request=request)
    initial = {
        "display_name": member.display_name,
        "sex": member.sex,
        "age_band": member.age_band,
        "sectors": member.sectors,
        "joined_on": member.joined_on,
        "left_on": member.left_on,
    }
    form = GroupMemberForm(
        request.POST if request.method == "POST" else None,
        show_personal=show_personal,
        initial=initial,
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.member_update(acting_user=request.user, member=member, **form.cleaned_data)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _("The member was saved."))
            return redirect("communities:detail", slug=slug, pk=group.pk)
    return render(
        request,
        "communities/member_form.html",
        {"programme": programme, "group": group, "form": form, "member": member},
    )


@login_required
def programme_representativeness(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    programme = programme_get(user=request.user, slug=slug)
    today = timezone.localdate()
    # Those who see aggregates only are shown no group: no page of them.
    sees_groups = policies.can(request.user, "programme.view_groups", programme)
    groups = selectors.groups_listed(user=request.user, programme=programme)
    page = page_of(request, groups if sees_groups else [], size=CHARTS_PER_PAGE)
    overall, rows = selectors.programme_representativeness(
        user=request.user, programme=programme, on=today, groups=page.object_list
    )
    return render(
        request,
        "communities/representativeness.html",
        {
            "programme": programme,
            "overall": overall,
            "rows": rows,
            "page": page,
            "can_manage": policies.can(request.user, "target.manage", programme),
        },
    )


@login_required
def targets_edit(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    programme = programme_get(user=request.user, slug=slug)
    if not policies.can(request.user, "target.manage", programme):
        raise Http404("No such page.")
    form = TargetForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        delete_id = request.POST.get("delete", "")
        if delete_id:
            if not (delete_id.isascii() and delete_id.isdigit() and len(delete_id) < 18):
                raise Http404("No such target.")
            target = selectors.targets_of(programme=programme).filter(pk=int(delete_id)).first()
            if target is None:
                raise Http404("No such target.")
            services.target_delete(acting_user=request.user, target=target)
            messages.success(request, _("The target was removed."))
            return redirect("communities:targets", slug=slug)
        if form.is_valid():
            try:
                services.target_set(
                    acting_user=request.user, programme=programme, **form.cleaned_data
                )
            except ValidationError as error:
                apply_errors(form, error)
            else:
                messages.success(request, _("The target was saved."))
                return redirect("communities:targets", slug=slug)
    return render(
        request,
        "communities/targets.html",
        {
            "programme": programme,
            "form": form,
            "targets": selectors.targets_of(programme=programme),
        },
    )


@login_required
def group_pick(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    """A group picker's answer (``core.picker``): the groups of the programme this user sees
    whose name contains what was typed (``q``), as inputs named ``name``."""
    programme = programme_get(user=request.user, slug=slug)
    name = request.GET.get("name", "group")
    if not FIELD_NAME.fullmatch(name):
        raise Http404("No such field.")
    query = " ".join(request.GET.get("q", "").replace("\x00", "").split())[:100]
    choices = selectors.group_choices(user=request.user, programme=programme)
    groups, more = selectors.groups_found(choices, query=query, limit=RESULTS_SHOWN)
    rows = sorted((Result(g.pk, str(g)) for g in groups), key=lambda r: r.label.casefold())
    return HttpResponse(
        results(
            name=name,
            multiple=request.GET.get("multiple") == "1",
            rows=rows,
            more=more,
            query=query,
        )
    )
