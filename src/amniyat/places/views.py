"""Pages for the places a programme works in."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from amniyat.accounts import policies
from amniyat.accounts.http import AuthenticatedRequest
from amniyat.accounts.selectors import organisation_get, programme_get
from amniyat.communities.selectors import groups_visible
from amniyat.core.forms import apply_errors
from amniyat.core.paging import page_of
from amniyat.places import selectors, services
from amniyat.places.forms import CommunityForm, PartnerAreaForm
from amniyat.places.models import Place

# Rows of the places tree a page shows: a national programme works in hundreds of communities.
PLACES_PER_PAGE = 100


@login_required
def place_list(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    programme = programme_get(user=request.user, slug=slug)
    places = list(selectors.programme_places(user=request.user, programme=programme))
    children: dict[int | None, list[Place]] = {}
    for place in places:
        children.setdefault(place.parent_id, []).append(place)
    visible_ids = {p.pk for p in places}
    roots = [p for p in places if p.parent_id not in visible_ids]

    def flatten(nodes: list[Place], depth: int) -> list[tuple[Place, int]]:
        rows: list[tuple[Place, int]] = []
        for node in sorted(nodes, key=lambda p: p.name):
            rows.append((node, depth))
            rows.extend(flatten(children.get(node.pk, []), depth + 1))
        return rows

    page = page_of(request, flatten(roots, 0), size=PLACES_PER_PAGE)
    return render(
        request,
        "places/place_list.html",
        {
            "programme": programme,
            "rows": page.object_list,
            "page": page,
            "can_add": policies.can(request.user, "place.create", programme),
        },
    )


@login_required
def place_detail(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    programme = programme_get(user=request.user, slug=slug)
    place = selectors.place_get(user=request.user, programme=programme, pk=pk)
    groups = groups_visible(user=request.user, programme=programme).filter(place=place)
    children = selectors.programme_places(user=request.user, programme=programme).filter(
        parent=place
    )
    return render(
        request,
        "places/place_detail.html",
        {
            "programme": programme,
            "place": place,
            "groups": groups,
            "children": children,
            "can_edit": policies.can(request.user, "place.edit", place),
        },
    )


@login_required
def community_create(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    programme = programme_get(user=request.user, slug=slug)
    if not policies.can(request.user, "place.create", programme):
        raise Http404("No such page.")
    districts = selectors.place_choices_for_groups(user=request.user, programme=programme).filter(
        level=Place.Level.DISTRICT
    )
    form = CommunityForm(request.POST if request.method == "POST" else None, districts=districts)
    if request.method == "POST" and form.is_valid():
        try:
            place = services.community_create(
                acting_user=request.user,
                programme=programme,
                **form.cleaned_data,
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _("The community was added."))
            return redirect("places:detail", slug=slug, pk=place.pk)
    return render(request, "places/community_form.html", {"programme": programme, "form": form})


@login_required
def community_edit(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    programme = programme_get(user=request.user, slug=slug)
    place = selectors.place_get(user=request.user, programme=programme, pk=pk)
    if not policies.can(request.user, "place.edit", place):
        raise Http404("No such page.")
    districts = selectors.place_choices_for_groups(user=request.user, programme=programme).filter(
        level=Place.Level.DISTRICT
    )
    initial = {"parent": place.parent, "kind": place.kind, **place.names()}
    initial = {("name_" + k if k in ("en", "ru", "tg", "uz") else k): v for k, v in initial.items()}
    form = CommunityForm(
        request.POST if request.method == "POST" else None, initial=initial, districts=districts
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.community_update(acting_user=request.user, place=place, **form.cleaned_data)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _("The community was saved."))
            return redirect("places:detail", slug=slug, pk=place.pk)
    return render(
        request,
        "places/community_form.html",
        {"programme": programme, "form": form, "place": place},
    )


@login_required
def partner_area(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    """The lead assigns a partner organisation the places it works in."""
    programme = programme_get(user=request.user, slug=slug)
    if not policies.can(request.user, "partner.assign", programme):
        raise Http404("No such page.")
    # One of the organisations taking part: only the donor (unless it partners too) is not a
    # partner.
    organisation = organisation_get(user=request.user, programme=programme, pk=pk)
    if organisation.pk == programme.donor_id and organisation.pk not in (
        programme.taking_part_ids(with_donor=False)
    ):
        raise Http404("No such partner.")
    assigned = selectors.partner_area_places(programme=programme, organisation_id=organisation.pk)
    form = PartnerAreaForm(
        request.POST if request.method == "POST" else None,
        initial={"places": list(assigned)},
        places=selectors.partner_area_choices(user=request.user, programme=programme),
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.partner_area_assign(
                acting_user=request.user,
                programme=programme,
                organisation=organisation,
                places=list(form.cleaned_data["places"]),
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _("The partner's area was saved."))
            return redirect("accounts:organisation_detail", slug=slug, pk=organisation.pk)
    return render(
        request,
        "places/partner_area.html",
        {"programme": programme, "organisation": organisation, "form": form},
    )
