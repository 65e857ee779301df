"""Pages of the prioritisation matrix: each community group's priority lists, the matrix of
one list (scores, survey shares, rank, a chart), its concerns and the group's agreement."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from amniyat.accounts import policies
from amniyat.accounts.http import AuthenticatedRequest
from amniyat.accounts.models import Programme
from amniyat.accounts.selectors import programme_get
from amniyat.communities.models import Sector
from amniyat.core.forms import apply_errors
from amniyat.core.i18n import CONTENT_LANGUAGES
from amniyat.core.paging import page_of
from amniyat.core.selectors import one_or_404
from amniyat.core.text import format_percent
from amniyat.drivers.codebook import selectors as codebook_selectors
from amniyat.drivers.maps import selectors as maps_selectors
from amniyat.drivers.maps.forms import names_only
from amniyat.drivers.models import AffectedGroup, PriorityList
from amniyat.drivers.priorities import selectors, services
from amniyat.drivers.priorities.forms import AgreeForm, PriorityForm, PriorityListForm
from amniyat.fieldwork.models import Assessment

# What the code choices show: each code's name and its parent's, in every language.
CODE_NAMES = tuple(f"name_{language}" for language in CONTENT_LANGUAGES)


# What the priorities page shows of a list.
# Groups a page of the priorities index shows: a national programme has hundreds.
GROUPS_PER_PAGE = 25
INDEX_COLUMNS = ("group_id", "title", "content_language", "translations", "agreed_on", "is_demo")


def _editable(request: AuthenticatedRequest, priority_list: PriorityList) -> None:
    """Those who may only read the list get 404 on its editing routes."""
    if not policies.can(request.user, "priorities.edit", priority_list.group):
        raise Http404("No such priority list.")


def _assessments(programme: Programme) -> Any:
    return Assessment.objects.filter(programme=programme).order_by("-starts_on", "title")


def _list_form(
    request: AuthenticatedRequest,
    programme: Programme,
    *,
    with_maps: bool,
    initial: dict[str, Any] | None = None,
) -> PriorityListForm:
    return PriorityListForm(
        request.POST if request.method == "POST" else None,
        assessments=_assessments(programme),
        driver_maps=(
            names_only(maps_selectors.driver_map_list(user=request.user, programme=programme))
            if with_maps
            else None
        ),
        initial=initial,
    )


def _priority_form(
    request: AuthenticatedRequest,
    programme: Programme,
    *,
    data: Any = None,
    initial: dict[str, Any] | None = None,
) -> PriorityForm:
    return PriorityForm(
        data,
        codes=codebook_selectors.code_list(user=request.user, programme=programme)
        .order_by("kind", "position", "name_en")
        .only("parent", *CODE_NAMES, *(f"parent__{name}" for name in CODE_NAMES)),
        initial=initial,
    )


def _agree_form(priority_list: PriorityList, data: Any = None) -> AgreeForm:
    initial = {
        "agreed_on": priority_list.agreed_on or timezone.localdate(),
        "participants": priority_list.participants or None,
        "women": priority_list.women,
        "men": priority_list.men,
        "sectors": priority_list.sectors,
        "took_part": priority_list.took_part,
    }
    return AgreeForm(data, initial=initial)


def _detail(
    request: AuthenticatedRequest,
    programme: Programme,
    priority_list: PriorityList,
    *,
    add_form: PriorityForm | None = None,
    agree_form: AgreeForm | None = None,
) -> HttpResponse:
    can_edit = policies.can(request.user, "priorities.edit", priority_list.group)
    priorities = selectors.ranked_priorities(priority_list)
    indicators = [p.affected_indicator for p in priorities if p.affected_indicator]
    labels = (
        selectors.survey_labels(assessment=priority_list.assessment, keys=indicators)
        if priority_list.assessment is not None and indicators
        else {}
    )
    affected_names = dict(AffectedGroup.choices)
    rows = [
        {
            "priority": p,
            "most_affected": [str(affected_names.get(g, g)) for g in p.most_affected],
            "indicator_label": labels.get(p.affected_indicator, p.affected_indicator),
        }
        for p in priorities
    ]
    sector_names = dict(Sector.choices)
    return render(
        request,
        "drivers/priorities/list_detail.html",
        {
            "programme": programme,
            "tab": "priorities",
            "priority_list": priority_list,
            "group": priority_list.group,
            "rows": rows,
            "sectors": [str(sector_names.get(s, s)) for s in priority_list.sectors],
            "chart": services.score_drawing(priorities),
            "can_edit": can_edit,
            "add_form": (add_form or _priority_form(request, programme)) if can_edit else None,
            "agree_form": (agree_form or _agree_form(priority_list)) if can_edit else None,
        },
    )


@login_required
def priority_index(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    programme = programme_get(user=request.user, slug=slug)
    page = page_of(
        request,
        selectors.priority_groups(user=request.user, programme=programme).order_by("name", "pk"),
        size=GROUPS_PER_PAGE,
    )
    groups = list(page.object_list)
    lists_by_group: dict[int, list[PriorityList]] = {}
    for priority_list in (
        selectors.priority_list_list(user=request.user, programme=programme)
        .filter(group__in=[group.pk for group in groups])
        .select_related(None)
        .only(*INDEX_COLUMNS)
        .annotate(concern_count=Count("priorities"))
    ):
        lists_by_group.setdefault(priority_list.group_id, []).append(priority_list)
    return render(
        request,
        "drivers/priorities/index.html",
        {
            "programme": programme,
            "tab": "priorities",
            "groups": [
                {
                    "group": group,
                    "lists": lists_by_group.get(group.pk, []),
                    "can_edit": policies.can(request.user, "priorities.edit", group),
                }
                for group in groups
            ],
            "page": page,
        },
    )


@login_required
def priority_list_create(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    programme = programme_get(user=request.user, slug=slug)
    group = one_or_404(
        selectors.priority_groups(user=request.user, programme=programme), pk, "group"
    )
    if not policies.can(request.user, "priorities.edit", group):
        raise Http404("No such page.")
    form = _list_form(
        request,
        programme,
        with_maps=True,
        initial={
            "title": _("Security priorities of {group}").format(group=group.translated("name"))[
                :200
            ]
        },
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            if data.get("driver_map") is not None:
                priority_list = services.priority_list_from_map(
                    user=request.user,
                    programme=programme,
                    group=group,
                    driver_map=data["driver_map"],
                    title=data["title"],
                    assessment=data["assessment"],
                )
            else:
                priority_list = services.priority_list_create(
                    user=request.user,
                    programme=programme,
                    group=group,
                    title=data["title"],
                    assessment=data["assessment"],
                )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _("The priority list was created. Now score its concerns."))
            return redirect("drivers:priority_list_detail", slug=slug, pk=priority_list.pk)
    return render(
        request,
        "drivers/priorities/list_form.html",
        {"programme": programme, "tab": "priorities", "group": group, "form": form},
    )


@login_required
def priority_list_detail(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    programme = programme_get(user=request.user, slug=slug)
    priority_list = selectors.priority_list_get(user=request.user, programme=programme, pk=pk)
    return _detail(request, programme, priority_list)


@login_required
def priority_list_edit(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    programme = programme_get(user=request.user, slug=slug)
    priority_list = selectors.priority_list_get(user=request.user, programme=programme, pk=pk)
    _editable(request, priority_list)
    form = _list_form(
        request,
        programme,
        with_maps=False,
        initial={"title": priority_list.title, "assessment": priority_list.assessment_id},
    )
    if request.method == "POST" and form.is_valid():
        was_agreed = priority_list.agreed_on is not None
        try:
            services.priority_list_update(
                user=request.user,
                priority_list=priority_list,
                title=form.cleaned_data["title"],
                assessment=form.cleaned_data["assessment"],
            )
        except ValidationError as error:
            priority_list.refresh_from_db()
            apply_errors(form, error)
        else:
            if was_agreed and priority_list.agreed_on is None:
                messages.warning(request, _("The list changed: agree it again with the group."))
            messages.success(request, _("The priority list was saved."))
            return redirect("drivers:priority_list_detail", slug=slug, pk=priority_list.pk)
    return render(
        request,
        "drivers/priorities/list_form.html",
        {
            "programme": programme,
            "tab": "priorities",
            "group": priority_list.group,
            "priority_list": priority_list,
            "form": form,
        },
    )


@login_required
@require_POST
def priority_list_agree(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    programme = programme_get(user=request.user, slug=slug)
    priority_list = selectors.priority_list_get(user=request.user, programme=programme, pk=pk)
    _editable(request, priority_list)
    form = _agree_form(priority_list, request.POST)
    if form.is_valid():
        try:
            services.priority_list_agree(
                user=request.user, priority_list=priority_list, **form.cleaned_data
            )
        except ValidationError as error:
            priority_list.refresh_from_db()
            apply_errors(form, error)
        else:
            messages.success(request, _("The group's agreement was recorded."))
            return redirect("drivers:priority_list_detail", slug=slug, pk=priority_list.pk)
    return _detail(request, programme, priority_list, agree_form=form)


@login_required
@require_POST
def priority_add(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    programme = programme_get(user=request.user, slug=slug)
    priority_list = selectors.priority_list_get(user=request.user, programme=programme, pk=pk)
    _editable(request, priority_list)
    form = _priority_form(request, programme, data=request.POST)
    if form.is_valid():
        was_agreed = priority_list.agreed_on is not None
        try:
            priority = services.priority_add(
                user=request.user, priority_list=priority_list, **form.cleaned_data
            )
        except ValidationError as error:
            priority_list.refresh_from_db()
            apply_errors(form, error)
        else:
            if was_agreed:
                messages.warning(request, _("The list changed: agree it again with the group."))
            if priority.affected_percent is not None:
                messages.info(
                    request,
                    _("“How many are affected” comes from the survey: {percent}.").format(
                        percent=format_percent(priority.affected_percent / 100)
                    ),
                )
            messages.success(request, _("The concern was added."))
            return redirect("drivers:priority_list_detail", slug=slug, pk=priority_list.pk)
    return _detail(request, programme, priority_list, add_form=form)


@login_required
def priority_edit(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    programme = programme_get(user=request.user, slug=slug)
    priority = selectors.priority_get(user=request.user, programme=programme, pk=pk)
    priority_list = priority.priority_list
    _editable(request, priority_list)
    initial = {
        "concern": priority.concern,
        "code": priority.code_id,
        "severity": priority.severity,
        "affected": priority.affected,
        "most_affected": priority.most_affected,
        "urgency": priority.urgency,
        "changeable": priority.changeable,
        "note": priority.note,
    }
    form = _priority_form(
        request,
        programme,
        data=request.POST if request.method == "POST" else None,
        initial=initial,
    )
    if request.method == "POST" and form.is_valid():
        was_agreed = priority_list.agreed_on is not None
        try:
            services.priority_update(user=request.user, priority=priority, **form.cleaned_data)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            if was_agreed and priority_list.agreed_on is None:
                messages.warning(request, _("The list changed: agree it again with the group."))
            messages.success(request, _("The concern was saved."))
            return redirect("drivers:priority_list_detail", slug=slug, pk=priority_list.pk)
    return render(
        request,
        "drivers/priorities/form.html",
        {
            "programme": programme,
            "tab": "priorities",
            "priority": priority,
            "priority_list": priority_list,
            "form": form,
        },
    )


@login_required
@require_POST
def priority_delete(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    programme = programme_get(user=request.user, slug=slug)
    priority = selectors.priority_get(user=request.user, programme=programme, pk=pk)
    priority_list = priority.priority_list
    _editable(request, priority_list)
    services.priority_delete(user=request.user, priority=priority)
    messages.success(request, _("The concern was removed from the list."))
    return redirect("drivers:priority_list_detail", slug=slug, pk=priority_list.pk)


@login_required
@require_POST
def priority_list_delete(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    programme = programme_get(user=request.user, slug=slug)
    priority_list = selectors.priority_list_get(user=request.user, programme=programme, pk=pk)
    _editable(request, priority_list)
    try:
        services.priority_list_delete(user=request.user, priority_list=priority_list)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
        return redirect("drivers:priority_list_detail", slug=slug, pk=priority_list.pk)
    messages.success(request, _("The priority list was deleted."))
    return redirect("drivers:priority_index", slug=slug)
