"""Pages for the places a programme works in."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from amniyat.accounts import policies
from amniyat.accounts.http import AuthenticatedRequest
from amniyat.accounts.selectors import organisation_get, programme_get
from amniyat.communities.selectors import groups_visible
from amniyat.core.forms import apply_errors
from amniyat.core.paging import page_of
from amniyat.core.picker import FIELD_NAME, RESULTS_BROWSED, RESULTS_SHOWN, Result, results
from amniyat.places import selectors, services
from amniyat.places.forms import CommunityForm, PartnerAreaForm, place_offer
from amniyat.places.models import Place

# Rows of the places tree a page shows: a national programme works in hundreds of communities.
PLACES_PER_PAGE = 100


@login_required
def place_list(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    programme = programme_get(user=request.user, slug=slug)
    # The tree is ordered from each place's id, parent and names alone (a national programme
    # has hundreds of places); only the page's rows are read whole.
    tree = selectors.place_tree(user=request.user, programme=programme)
    page = page_of(request, tree, size=PLACES_PER_PAGE)
    return render(
        request,
        "places/place_list.html",
        {
            "programme": programme,
            "rows": _tree_rows(list(page.object_list), slug),
            "page": page,
            "can_add": policies.can(request.user, "place.create", programme),
        },
    )


def _tree_rows(rows: list[selectors.TreeRow], slug: str) -> SafeString:
    """The list's rows, written here rather than by a template loop (a hundred a page)."""
    levels = dict(Place.Level.choices)
    # Each place's address is the list's with its id: reversed once.
    detail = reverse("places:detail", args=[slug, 1])[:-2]

    def notes(row: selectors.TreeRow) -> str:
        parts = [str(levels.get(row.level, row.level))]
        parts += [row.code] if row.code else []
        parts += [row.kind] if row.kind and row.kind != row.level else []
        return " · ".join(parts)

    return format_html_join(
        "\n",
        '<li class="depth-{}"><a href="{}{}/">{}</a> <small class="muted">{}</small></li>',
        ((row.depth, detail, row.pk, row.name, notes(row)) for row in rows),
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
    districts = place_offer(user=request.user, programme=programme, within="districts")
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
    districts = place_offer(user=request.user, programme=programme, within="districts")
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
        places=place_offer(user=request.user, programme=programme, within="partner"),
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


@login_required
def place_pick(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    """A place picker's answer (``core.picker``): the places of a set (``within``) whose
    name contains what was typed (``q``), or those inside a place (``under``), or the
    topmost ones, as inputs named ``name``; only places this user may choose there."""
    programme = programme_get(user=request.user, slug=slug)
    within = request.GET.get("within", "area")
    choices = selectors.place_choices(user=request.user, programme=programme, within=within)
    name = request.GET.get("name", "place")
    if not FIELD_NAME.fullmatch(name):
        raise Http404("No such field.")
    multiple = request.GET.get("multiple") == "1"
    query = " ".join(request.GET.get("q", "").replace("\x00", "").split())[:100]
    under = None
    if not query and request.GET.get("under"):
        under_id = request.GET["under"]
        valid = under_id.isdigit() and len(under_id) < 19
        under = choices.filter(pk=int(under_id)).first() if valid else None
        if under is None:
            raise Http404("No such place.")
    limit = RESULTS_SHOWN if query else RESULTS_BROWSED
    rows, more = selectors.places_found(choices, query=query, under=under, limit=limit)
    base = {"within": within, "name": name, **({"multiple": "1"} if multiple else {})}
    address = request.path + "?"
    found = [
        Result(pk, path, address + urlencode({**base, "under": pk}) if inside else "")
        for pk, path, inside in rows
    ]
    heading = ""
    up = ""
    if under is not None:
        heading = _("Inside {place}").format(place=selectors.place_path(under))
        above = under.parent_id
        if above is not None and not choices.filter(pk=above).exists():
            above = None
        up = address + urlencode({**base, **({"under": above} if above else {})})
    return HttpResponse(
        results(
            name=name,
            multiple=multiple,
            rows=found,
            more=more,
            query=query,
            heading=heading,
            up=up,
        )
    )
