"""The front door and the account: the list of one's programmes and a programme's own page,
signing in and out, the second factor, the language, personal API tokens, and a programme's
team."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.i18n import set_language
from django_otp.plugins.otp_totp.models import TOTPDevice

from amniyat.accounts import policies, selectors, services
from amniyat.accounts.forms import (
    MembershipChangeForm,
    MembershipForm,
    OrganisationForm,
    PersonalTokenForm,
    SignInForm,
    TokenForm,
)
from amniyat.accounts.http import AuthenticatedRequest
from amniyat.accounts.middleware import needs_second_factor
from amniyat.communities.forms import group_offer
from amniyat.communities.models import AgeBand, Sex
from amniyat.communities.selectors import targets_overview
from amniyat.core.forms import apply_errors
from amniyat.core.qrcodes import qr_data_uri, qr_mask
from amniyat.places.selectors import programme_places


def _next_url(request: HttpRequest, default: str = "core:home") -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse(default)


@login_required
def home(request: AuthenticatedRequest) -> HttpResponse:
    programmes = [
        (programme, policies.membership_in(request.user, programme))
        for programme in selectors.programmes_of(user=request.user)
    ]
    return render(request, "accounts/home.html", {"programmes": programmes})


SHORT_GROUPS_NAMED = 12


def _with_addresses(objects: list[Any], name: str, slug: str) -> list[tuple[Any, str]]:
    """Each of ``objects`` with the address of its page (``name``, taking the programme's
    ``slug`` and the object's primary key), the route reversed once for all of them: a national
    programme's hundred partners cost ~3 ms reversed one by one."""
    pattern = reverse(name, args=[slug, 0])
    prefix, suffix = pattern.rsplit("/0/", 1)
    return [(obj, f"{prefix}/{obj.pk}/{suffix}") for obj in objects]


@login_required
def programme_home(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    user = request.user
    programme = selectors.programme_get(user=user, slug=slug)
    today = timezone.localdate()
    places = programme_places(user=user, programme=programme)
    place_counts = {
        row["level"]: row["n"] for row in places.order_by().values("level").annotate(n=Count("pk"))
    }
    # The donor funds the programme (named as such above the figures); it is no partner.
    partners = list(
        selectors.organisations_visible(user=user, programme=programme)
        .filter(pk__in=programme.taking_part_ids(with_donor=False))
        .defer("description")
    )
    # Viewers get aggregates only, and no cell small enough to point at a person.
    suppress_below = (
        0 if policies.can(user, "programme.view_groups", programme) else programme.min_cell_size
    )
    # The programme's totals can meet every target while groups miss theirs: say which. One
    # reading of the members and targets gives both, and the members by sex and age.
    overview = targets_overview(user=user, programme=programme, on=today, named=SHORT_GROUPS_NAMED)
    grid = overview.by_sex_and_age
    age_rows: list[dict[str, Any]] = []
    for band in AgeBand:
        women = grid.get((Sex.FEMALE, band.value), 0)
        men = grid.get((Sex.MALE, band.value), 0)
        age_rows.append(
            {
                "label": band.label,
                "women": women if women >= suppress_below else 0,
                "men": men if men >= suppress_below else 0,
                "women_suppressed": 0 < women < suppress_below,
                "men_suppressed": 0 < men < suppress_below,
            }
        )
    widest = max([max(r["women"], r["men"]) for r in age_rows] + [1])
    context = {
        "programme": programme,
        "membership": policies.membership_in(user, programme),
        "place_counts": place_counts,
        "partners": _with_addresses(partners, "accounts:organisation_detail", programme.slug),
        "partner_count": len(partners),
        "group_count": overview.groups
        if policies.can(user, "programme.view_groups", programme)
        else None,
        "groups_total": programme.community_groups.count(),
        "composition": overview.composition,
        # Named up to a dozen: a national programme has hundreds of groups, all on the
        # representativeness page.
        "groups_short": overview.short,
        "groups_short_more": (
            max(0, overview.short_count - SHORT_GROUPS_NAMED) if overview.short else 0
        ),
        "groups_short_count": overview.short_count,
        "groups_short_of": overview.groups,
        "age_rows": age_rows,
        "widest": widest,
        "can_manage": policies.can(user, "programme.manage", programme),
        "suppress_below": suppress_below,
    }
    return render(request, "accounts/programme_home.html", context)


@require_POST
def switch_language(request: HttpRequest) -> HttpResponse:
    """Django's language switch, remembered on the account of a signed-in person."""
    language = request.POST.get("language", "")
    if request.user.is_authenticated and language in {"en", "ru", "tg", "uz"}:
        services.set_preferred_language(user=request.user, language=language)
        request.session["_language"] = language
    return set_language(request)


def sign_in(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated and not needs_second_factor(request):
        return redirect(_next_url(request))
    form = SignInForm(request, data=request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        user = form.get_user()
        services.sign_in(request=request, user=user)
        if needs_second_factor(request):
            has_device = TOTPDevice.objects.filter(user=user, confirmed=True).exists()
            target = "accounts:two_factor_verify" if has_device else "accounts:two_factor_setup"
            return redirect(f"{reverse(target)}?{urlencode({'next': _next_url(request)})}")
        return redirect(_next_url(request))
    context: dict[str, Any] = {"form": form, "next": request.GET.get("next", "")}
    return render(request, "accounts/login.html", context)


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    services.sign_out(request=request)
    return redirect("accounts:login")


@login_required
def two_factor_setup(request: AuthenticatedRequest) -> HttpResponse:
    user = request.user
    device_id = request.session.get("pending_totp_device")
    device = TOTPDevice.objects.filter(pk=device_id, user=user, confirmed=False).first()
    if device is None:
        device = services.two_factor_device_start(user=user)
        request.session["pending_totp_device"] = device.pk
        request.session.pop("pending_totp_mask", None)
    # The code is drawn again on every visit until it is confirmed: keep what is slow to choose.
    if not isinstance(request.session.get("pending_totp_mask"), int):
        request.session["pending_totp_mask"] = qr_mask(device.config_url)
    form = TokenForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        if services.two_factor_device_confirm(
            request=request,
            user=user,
            device=device,
            token=form.cleaned_data["token"],
        ):
            request.session.pop("pending_totp_device", None)
            request.session.pop("pending_totp_mask", None)
            messages.success(request, _("Two-factor sign-in is on for your account."))
            return redirect(_next_url(request))
        form.add_error(
            "token", _("That code is not right. Check your phone's clock and try again.")
        )
    return render(
        request,
        "accounts/two_factor_setup.html",
        {
            "form": form,
            "qr": qr_data_uri(
                device.config_url, dark="#1d2433", mask=request.session["pending_totp_mask"]
            ),
            "secret": device.config_url.split("secret=")[1].split("&")[0],
            "next": request.GET.get("next", ""),
        },
    )


@login_required
def two_factor_verify(request: AuthenticatedRequest) -> HttpResponse:
    form = TokenForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        if services.two_factor_verify(
            request=request,
            user=request.user,
            token=form.cleaned_data["token"],
        ):
            return redirect(_next_url(request))
        form.add_error(
            "token", _("That code is not right. Check your phone's clock and try again.")
        )
    return render(
        request,
        "accounts/two_factor_verify.html",
        {"form": form, "next": request.GET.get("next", "")},
    )


@login_required
def account(request: AuthenticatedRequest) -> HttpResponse:
    user = request.user
    tokens = selectors.tokens_of(user=user)
    form = PersonalTokenForm(request.POST if request.method == "POST" else None)
    new_secret = None
    if request.method == "POST" and form.is_valid():
        try:
            _token, new_secret = services.token_create(user=user, name=form.cleaned_data["name"])
        except ValidationError as error:
            apply_errors(form, error)
        else:
            form = PersonalTokenForm()
    return render(
        request,
        "accounts/account.html",
        {
            "tokens": tokens,
            "form": form,
            "new_secret": new_secret,
            "has_device": TOTPDevice.objects.filter(user=user, confirmed=True).exists(),
            "memberships": policies.memberships(user).values(),
        },
    )


@login_required
@require_POST
def token_revoke(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    token = selectors.tokens_of(user=request.user).filter(pk=pk, revoked_at__isnull=True).first()
    if token is None:
        raise Http404("No such token.")
    services.token_revoke(user=request.user, token=token)
    messages.success(request, _("The token no longer works."))
    return redirect("accounts:account")


@login_required
def team(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    programme = selectors.programme_get(user=request.user, slug=slug)
    if not policies.can(request.user, "membership.manage", programme):
        raise Http404("No such page.")
    form = MembershipForm(
        request.POST if request.method == "POST" else None,
        programme=programme,
        groups=group_offer(user=request.user, programme=programme),
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.membership_grant(
                acting_user=request.user,
                programme=programme,
                user=form.cleaned_data["username"],
                organisation=form.cleaned_data["organisation"],
                role=form.cleaned_data["role"],
                community_group=form.cleaned_data["community_group"],
                can_view_personal_data=form.cleaned_data["can_view_personal_data"],
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _("The role was given."))
            return redirect("accounts:team", slug=programme.slug)
    return render(
        request,
        "accounts/team.html",
        {
            "programme": programme,
            "memberships": selectors.memberships_visible(user=request.user, programme=programme),
            "form": form,
        },
    )


@login_required
def membership_edit(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    programme = selectors.programme_get(user=request.user, slug=slug)
    membership = selectors.membership_get(user=request.user, programme=programme, pk=pk)
    original = {
        name: getattr(membership, name)
        for name in ("organisation", "role", "community_group", "can_view_personal_data")
    }
    form = MembershipChangeForm(
        request.POST if request.method == "POST" else None,
        instance=membership,
        groups=group_offer(user=request.user, programme=programme),
    )
    if request.method == "POST":
        if request.POST.get("action") == "revoke":
            try:
                services.membership_revoke(acting_user=request.user, membership=membership)
            except ValidationError as error:
                messages.error(request, " ".join(error.messages))
                return redirect("accounts:membership_edit", slug=slug, pk=pk)
            messages.success(request, _("The role was removed."))
            return redirect("accounts:team", slug=slug)
        if form.is_valid():
            values = {name: form.cleaned_data[name] for name in original}
            for name, value in original.items():  # the form wrote into the instance; undo
                setattr(membership, name, value)
            try:
                services.membership_change(
                    acting_user=request.user, membership=membership, **values
                )
            except ValidationError as error:
                for name, value in original.items():
                    setattr(membership, name, value)
                apply_errors(form, error)
            else:
                messages.success(request, _("The role was changed."))
                return redirect("accounts:team", slug=slug)
    return render(
        request,
        "accounts/membership_edit.html",
        {"programme": programme, "membership": membership, "form": form},
    )


@login_required
def organisation_list(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    programme = selectors.programme_get(user=request.user, slug=slug)
    organisations = selectors.organisations_visible(user=request.user, programme=programme)
    return render(
        request,
        "accounts/organisation_list.html",
        {
            "programme": programme,
            "organisations": organisations,
            "can_add": policies.can(request.user, "organisation.create", programme),
        },
    )


@login_required
def organisation_detail(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    from amniyat.communities.selectors import groups_visible
    from amniyat.places.selectors import partner_area_places

    programme = selectors.programme_get(user=request.user, slug=slug)
    organisation = selectors.organisation_get(user=request.user, programme=programme, pk=pk)
    groups = groups_visible(user=request.user, programme=programme).filter(
        facilitating_organisation=organisation
    )
    role = (
        _("lead organisation")
        if organisation.pk == programme.lead_organisation_id
        else _("donor")
        if organisation.pk == programme.donor_id
        else _("partner")
    )
    # Where a partner works is shown to the lead, who assigns it, and to the partner's own team.
    can_assign = policies.can(request.user, "partner.assign", programme)
    own = getattr(policies.membership_in(request.user, programme), "organisation_id", None)
    is_partner = organisation.pk in programme.taking_part_ids(with_donor=False)
    area = (
        partner_area_places(programme=programme, organisation_id=organisation.pk)
        if is_partner and (can_assign or own == organisation.pk)
        else None
    )
    return render(
        request,
        "accounts/organisation_detail.html",
        {
            "programme": programme,
            "organisation": organisation,
            "groups": groups,
            "role": role,
            "area": area,
            "can_assign": can_assign and is_partner,
        },
    )


@login_required
def organisation_create(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    programme = selectors.programme_get(user=request.user, slug=slug)
    if not policies.can(request.user, "organisation.create", programme):
        raise Http404("No such page.")
    form = OrganisationForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            organisation = services.organisation_create(
                acting_user=request.user,
                programme=programme,
                **form.cleaned_data,
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _("The organisation was added as a partner."))
            return redirect("accounts:organisation_detail", slug=slug, pk=organisation.pk)
    return render(
        request, "accounts/organisation_form.html", {"programme": programme, "form": form}
    )
