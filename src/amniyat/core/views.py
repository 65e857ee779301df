"""The front door: the programmes a person works in, each programme's home, the audit log,
the language switch."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_POST
from django.views.i18n import set_language

from amniyat.accounts import policies, selectors, services
from amniyat.audit.models import AuditEvent
from amniyat.communities import representativeness
from amniyat.communities.models import AgeBand, Sex
from amniyat.communities.selectors import groups_visible, members_for_aggregates, targets_of
from amniyat.core.http import AuthenticatedRequest
from amniyat.places.selectors import programme_places


@login_required
def home(request: AuthenticatedRequest) -> HttpResponse:
    programmes = [
        (programme, policies.membership_in(request.user, programme))
        for programme in selectors.programmes_visible(user=request.user)
    ]
    return render(request, "core/home.html", {"programmes": programmes})


@login_required
def programme_home(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    user = request.user
    programme = selectors.programme_get(user=user, slug=slug)
    today = timezone.localdate()
    places = programme_places(user=user, programme=programme)
    place_counts = {
        row["level"]: row["n"] for row in places.order_by().values("level").annotate(n=Count("pk"))
    }
    partners = selectors.organisations_visible(user=user, programme=programme)
    groups = groups_visible(user=user, programme=programme)
    members = members_for_aggregates(user=user, programme=programme)
    # Viewers get aggregates only, and no cell small enough to point at a person.
    suppress_below = (
        0 if policies.can(user, "programme.view_groups", programme) else programme.min_cell_size
    )
    active = members.filter(joined_on__lte=today).filter(
        Q(left_on__isnull=True) | Q(left_on__gt=today)
    )
    grid = {
        (row["sex"], row["age_band"]): row["n"]
        for row in active.order_by().values("sex", "age_band").annotate(n=Count("pk"))
    }
    age_rows = []
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
    composition = representativeness.composition(members, targets_of(programme=programme), on=today)
    context = {
        "programme": programme,
        "membership": policies.membership_in(user, programme),
        "place_counts": place_counts,
        "partners": partners,
        "partner_count": partners.count(),
        "group_count": groups.count()
        if policies.can(user, "programme.view_groups", programme)
        else None,
        "groups_total": programme.community_groups.count(),
        "composition": composition,
        "age_rows": age_rows,
        "widest": widest,
        "can_manage": policies.can(user, "programme.manage", programme),
        "suppress_below": suppress_below,
    }
    return render(request, "core/programme_home.html", context)


@login_required
def audit_log(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    programme = selectors.programme_get(user=request.user, slug=slug)
    if not policies.can(request.user, "programme.view_audit", programme):
        raise Http404("No such page.")
    events = AuditEvent.objects.filter(programme=programme).select_related("actor")
    verb = request.GET.get("verb", "")
    if verb in AuditEvent.Verb.values:
        events = events.filter(verb=verb)
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "core/audit_log.html",
        {"programme": programme, "page": page, "verbs": AuditEvent.Verb.choices, "verb": verb},
    )


@require_POST
def switch_language(request: HttpRequest) -> HttpResponse:
    """Django's language switch, remembered on the account of a signed-in person."""
    language = request.POST.get("language", "")
    if request.user.is_authenticated and language in {"en", "ru", "tg", "uz"}:
        services.set_preferred_language(user=request.user, language=language)
        request.session["_language"] = language
    return set_language(request)


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})
