"""The programme's audit log: who did what, and when, for the lead."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import render

from amniyat.accounts import policies
from amniyat.accounts.http import AuthenticatedRequest
from amniyat.accounts.selectors import programme_get
from amniyat.audit.models import AuditEvent


@login_required
def audit_log(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    programme = programme_get(user=request.user, slug=slug)
    if not policies.can(request.user, "programme.view_audit", programme):
        raise Http404("No such page.")
    events = AuditEvent.objects.filter(programme=programme).select_related("actor")
    verb = request.GET.get("verb", "")
    if verb in AuditEvent.Verb.values:
        events = events.filter(verb=verb)
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "audit/audit_log.html",
        {"programme": programme, "page": page, "verbs": AuditEvent.Verb.choices, "verb": verb},
    )
