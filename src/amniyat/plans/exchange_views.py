"""A plan's workplan to download (XLSX or CSV) and to import actions from, and its due dates
as an iCalendar feed. Each is read through the plans' selectors (a plan one may not read is
404), every download is audited, and importing is for those who may edit the plan.

The feed is signed in like every other page (a session): a calendar app that cannot sign in
cannot subscribe to it; one downloads the file and imports it instead (see
docs/workflows/action-plans.md).
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_http_methods

from amniyat.accounts import policies
from amniyat.accounts.http import AuthenticatedRequest
from amniyat.accounts.selectors import programme_get
from amniyat.audit.models import AuditEvent
from amniyat.audit.services import audit_record
from amniyat.core.http import upload_limit
from amniyat.core.tables import DOWNLOAD_FORMATS
from amniyat.drivers.maps.exchange import ImportProblem
from amniyat.plans import exchange, ical, selectors, services
from amniyat.plans.models import ActionPlan


class WorkplanImportForm(forms.Form):
    upload = forms.FileField(
        label=gettext_lazy("Workplan"),
        help_text=gettext_lazy(
            "An XLSX or CSV workplan with the columns of this plan's download, at most 1 MB."
        ),
    )


def _file_stem(plan: ActionPlan) -> str:
    return slugify(str(plan.translated("title"))) or f"plan-{plan.pk}"


def _audited(request: AuthenticatedRequest, plan: ActionPlan, kind: str) -> None:
    audit_record(
        actor=request.user,
        verb=AuditEvent.Verb.EXPORTED,
        obj=plan,
        programme=plan.programme,
        request=request,
        details={"format": kind},
    )


@login_required
def workplan_export(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    programme = programme_get(user=request.user, slug=slug)
    plan = selectors.plan_get(user=request.user, programme=programme, pk=pk)
    kind = request.GET.get("format", "xlsx")
    if kind not in DOWNLOAD_FORMATS:
        raise Http404("No such format.")
    rows = exchange.workplan_rows(plan, user=request.user)
    content = (
        exchange.workplan_xlsx(plan, rows) if kind == "xlsx" else exchange.workplan_csv(plan, rows)
    )
    _audited(request, plan, kind)
    response = HttpResponse(content, content_type=DOWNLOAD_FORMATS[kind])
    response["Content-Disposition"] = f'attachment; filename="{_file_stem(plan)}.{kind}"'
    return response


@login_required
def plan_calendar(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    programme = programme_get(user=request.user, slug=slug)
    plan = selectors.plan_get(user=request.user, programme=programme, pk=pk)
    content = ical.plan_calendar(plan, ical.dated_actions(plan))
    _audited(request, plan, "ics")
    response = HttpResponse(content, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{_file_stem(plan)}.ics"'
    return response


@upload_limit(lambda: exchange.MAX_IMPORT_BYTES)
@login_required
@require_http_methods(["GET", "POST"])
def workplan_import(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    programme = programme_get(user=request.user, slug=slug)
    plan = selectors.plan_get(user=request.user, programme=programme, pk=pk)
    if not policies.can(request.user, "plan.edit", plan):
        raise Http404("No such action plan.")
    form = WorkplanImportForm(
        request.POST if request.method == "POST" else None,
        request.FILES if request.method == "POST" else None,
    )
    problems: list[ImportProblem] = []
    closed = plan.status in services.FINAL
    if request.method == "POST" and closed:
        problems = [ImportProblem("", None, "", _("A completed or closed plan is not changed."))]
    elif request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["upload"]
        name = upload.name or "workplan"
        try:
            if (upload.size or 0) > exchange.MAX_IMPORT_BYTES:
                raise exchange.WorkplanImportError(
                    [
                        ImportProblem(
                            name,
                            None,
                            "",
                            _("The file is too large: at most {n} MB.").format(
                                n=exchange.MAX_IMPORT_BYTES // 2**20
                            ),
                        )
                    ]
                )
            workplan = exchange.read_workplan(name, upload.read(), plan=plan)
            result = exchange.workplan_import(
                user=request.user, plan=plan, workplan=workplan, request=request
            )
        except exchange.WorkplanImportError as error:
            problems = error.problems
        except PermissionDenied:
            raise Http404("No such action plan.") from None
        else:
            messages.success(
                request,
                ngettext(
                    "Imported {n} action into the plan.",
                    "Imported {n} actions into the plan.",
                    result.added,
                ).format(n=result.added),
            )
            return redirect("plans:detail", slug=programme.slug, pk=plan.pk)
    return render(
        request,
        "plans/exchange/import.html",
        {
            "programme": programme,
            "plan": plan,
            "form": form,
            "problems": problems,
            "closed": closed,
            "max_rows": exchange.MAX_ROWS,
        },
    )
