"""Pages of progress updates: an action's updates with their evidence, verification and
disputes; posting an update; verifying one; disputing a reported status and resolving the
dispute; and a file of evidence, decrypted for those who may see it."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from amniyat.accounts import policies
from amniyat.accounts.http import AuthenticatedRequest
from amniyat.accounts.models import Programme
from amniyat.accounts.selectors import programme_get
from amniyat.core.forms import apply_errors
from amniyat.core.http import upload_limit
from amniyat.core.paging import page_of
from amniyat.plans import evidence as checks
from amniyat.plans import selectors, services, updates
from amniyat.plans.models import Action, Evidence
from amniyat.plans.update_forms import DisputeForm, ResolveForm, UpdateForm

UPDATES_PER_PAGE = 20


def _may(request: AuthenticatedRequest, verb: str, action: Action) -> None:
    """Those who may read the plan but not do this get 404 on its writing routes."""
    if not policies.can(request.user, verb, action.objective.plan):
        raise Http404("No such page.")


@login_required
def action_updates(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    programme = programme_get(user=request.user, slug=slug)
    action = selectors.action_get(user=request.user, programme=programme, pk=pk)
    return _updates_page(request, programme, action, None)


def _dispute_form(request: AuthenticatedRequest, action: Action) -> DisputeForm:
    return DisputeForm(
        request.POST if request.method == "POST" else None,
        updates=action.updates.order_by("-reported_on", "-pk").defer("text"),
        initial={"update": request.GET.get("update", "")},
    )


def _updates_page(
    request: AuthenticatedRequest,
    programme: Programme,
    action: Action,
    dispute_form: DisputeForm | None,
) -> HttpResponse:
    """The action's updates (their text read and audited), its disputes, and the form of
    those who may dispute."""
    plan = action.objective.plan
    user = request.user
    page = page_of(request, selectors.updates_of(action, user=user), size=UPDATES_PER_PAGE)
    disputes = list(selectors.disputes_of(action))
    shown = list(page.object_list)
    # Each update shows the open disputes of the status it reported.
    for update in shown:
        update.open_disputes = [d for d in disputes if d.update_id == update.pk and d.is_open]
    updates.texts_shown(
        user=user,
        programme=programme,
        action=action,
        updates=shown,
        disputes=disputes,
        request=request,
    )
    is_open = plan.status not in services.FINAL
    may_dispute = policies.can(user, "plan.dispute", plan) and is_open
    if may_dispute and dispute_form is None:
        dispute_form = _dispute_form(request, action)
    return render(
        request,
        "plans/updates/list.html",
        {
            "programme": programme,
            "plan": plan,
            "action": action,
            "page": page,
            "shown": shown,
            "disputes": disputes,
            "may_report": policies.can(user, "plan.report", plan) and is_open,
            "may_verify": policies.can(user, "plan.verify", plan),
            "may_dispute": may_dispute,
            "may_resolve": policies.can(user, "plan.resolve", plan),
            "sees_all_evidence": policies.can(user, "plan.view_all_evidence", plan),
            "dispute_form": dispute_form if may_dispute else None,
        },
    )


@upload_limit(lambda: checks.max_evidence_files() * checks.max_evidence_bytes())
@login_required
def update_create(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    programme = programme_get(user=request.user, slug=slug)
    action = selectors.action_get(user=request.user, programme=programme, pk=pk)
    _may(request, "plan.report", action)
    posted = request.method == "POST"
    form = UpdateForm(
        request.POST if posted else None,
        request.FILES if posted else None,
        initial={
            "reported_on": timezone.localdate(),
            "status": action.status,
            "progress": action.progress,
        },
    )
    if posted and form.is_valid():
        data = form.cleaned_data
        try:
            updates.update_post(
                user=request.user,
                action=action,
                reported_on=data["reported_on"],
                text=data["text"],
                status=data["status"],
                progress=data["progress"],
                status_reason=data["status_reason"],
                participants=form.participants(),
                files=form.uploads(),
            )
        except ValidationError as error:
            apply_errors(form, error)
        except PermissionDenied:
            raise Http404("No such page.") from None
        else:
            messages.success(request, _("Update recorded."))
            return redirect("plans:action_updates", slug=programme.slug, pk=action.pk)
    return render(
        request,
        "plans/updates/form.html",
        {"programme": programme, "plan": action.objective.plan, "action": action, "form": form},
    )


@login_required
@require_POST
def update_verify(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    programme = programme_get(user=request.user, slug=slug)
    update = selectors.update_get(user=request.user, programme=programme, pk=pk)
    _may(request, "plan.verify", update.action)
    try:
        updates.update_verify(user=request.user, update=update)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    except PermissionDenied:
        raise Http404("No such page.") from None
    else:
        messages.success(request, _("Update verified."))
    return redirect("plans:action_updates", slug=programme.slug, pk=update.action_id)


@login_required
@require_POST
def dispute_create(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    """The form is on the action's updates page; a refused post shows that page again with
    the form's messages."""
    programme = programme_get(user=request.user, slug=slug)
    action = selectors.action_get(user=request.user, programme=programme, pk=pk)
    _may(request, "plan.dispute", action)
    form = _dispute_form(request, action)
    if form.is_valid():
        data = form.cleaned_data
        try:
            updates.dispute_raise(
                user=request.user,
                action=action,
                update=data["update"],
                claimed_status=data["claimed_status"],
                text=data["text"],
            )
        except ValidationError as error:
            apply_errors(form, error)
        except PermissionDenied:
            raise Http404("No such page.") from None
        else:
            messages.success(
                request, _("Dispute recorded. It shows beside the action until resolved.")
            )
            return redirect("plans:action_updates", slug=programme.slug, pk=action.pk)
    # Shown again on a page of its own: the updates' text is not read (nor audited) for a
    # refused post.
    return render(
        request,
        "plans/updates/dispute.html",
        {"programme": programme, "plan": action.objective.plan, "action": action, "form": form},
    )


@login_required
def dispute_resolve(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    programme = programme_get(user=request.user, slug=slug)
    dispute = selectors.dispute_get(user=request.user, programme=programme, pk=pk)
    action = dispute.action
    _may(request, "plan.resolve", action)
    posted = request.method == "POST"
    form = ResolveForm(request.POST if posted else None)
    if posted and form.is_valid():
        try:
            updates.dispute_resolve(
                user=request.user, dispute=dispute, resolution=form.cleaned_data["resolution"]
            )
        except ValidationError as error:
            apply_errors(form, error)
        except PermissionDenied:
            raise Http404("No such page.") from None
        else:
            messages.success(request, _("Dispute resolved."))
            return redirect("plans:action_updates", slug=programme.slug, pk=action.pk)
    updates.texts_shown(
        user=request.user,
        programme=programme,
        action=action,
        updates=[],
        disputes=[dispute],
        request=request,
    )
    return render(
        request,
        "plans/updates/resolve.html",
        {
            "programme": programme,
            "plan": action.objective.plan,
            "action": action,
            "dispute": dispute,
            "form": form,
        },
    )


@login_required
def evidence_file(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponseBase:
    programme = programme_get(user=request.user, slug=slug)
    piece = selectors.evidence_get(user=request.user, programme=programme, pk=pk)
    pieces = updates.evidence_open(user=request.user, evidence=piece, request=request)
    response = StreamingHttpResponse(pieces, content_type=piece.content_type)
    name = f"{piece.kind}-{piece.pk}.{piece.extension}"
    inline = piece.kind == Evidence.Kind.PHOTO
    response["Content-Disposition"] = content_disposition_header(not inline, name) or ""
    response["Content-Length"] = str(piece.size)
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
