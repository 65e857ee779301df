"""Pages for importing files of submissions: upload a file, follow its import (a progress bar
htmx refreshes every second), read the report of the rows it refused."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from amniyat.accounts.http import AuthenticatedRequest
from amniyat.accounts.models import Programme
from amniyat.accounts.selectors import programme_get
from amniyat.core.forms import apply_errors
from amniyat.core.http import upload_limit
from amniyat.fieldwork.forms import selectors as forms_selectors
from amniyat.fieldwork.imports import limits, selectors, services
from amniyat.fieldwork.imports.forms import ImportUploadForm
from amniyat.fieldwork.models import ImportJob


def _job(request: AuthenticatedRequest, slug: str, pk: int) -> tuple[Programme, ImportJob]:
    programme = programme_get(user=request.user, slug=slug)
    job = selectors.import_job_get(user=request.user, pk=pk)
    if job.form.assessment.programme_id != programme.pk:
        raise Http404("No such import.")
    return programme, services.live_progress(job)


@upload_limit(limits.max_import_bytes)
@login_required
def import_create(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    programme, form = forms_selectors.programme_form_get(
        user=request.user, slug=slug, pk=pk, verb="submission.import"
    )
    upload = ImportUploadForm(
        request.POST if request.method == "POST" else None,
        request.FILES if request.method == "POST" else None,
    )
    if request.method == "POST" and upload.is_valid():
        file = upload.cleaned_data["file"]
        try:
            job = services.import_start(
                acting_user=request.user,
                form=form,
                file_name=file.name or "upload",
                content=file,
                file_format=upload.cleaned_data["file_format"],
                skip_bad_rows=upload.cleaned_data["skip_bad_rows"],
            )
        except ValidationError as error:
            apply_errors(upload, error)
        else:
            services.import_enqueue(job=job)
            messages.success(request, _("The file was received; its import has started."))
            return redirect("fieldwork:import_detail", slug=slug, pk=job.pk)
    jobs = selectors.import_jobs_visible(user=request.user, form=form)[:10]
    return render(
        request,
        "fieldwork/imports/import_form.html",
        {"programme": programme, "form": form, "upload": upload, "jobs": jobs},
    )


def _job_context(programme: Programme, job: ImportJob) -> dict[str, Any]:
    report = job.report or {}
    return {
        "programme": programme,
        "job": job,
        "form": job.form,
        "report": report,
        "problems": report.get("problems") or [],
        "more_problems": max(
            0, int(report.get("problem_count") or 0) - len(report.get("problems") or [])
        ),
        "finished": job.status in (ImportJob.Status.SUCCEEDED, ImportJob.Status.FAILED),
        "storing": report.get("stage") == "storing",
    }


@login_required
def import_detail(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    programme, job = _job(request, slug, pk)
    return render(request, "fieldwork/imports/import_detail.html", _job_context(programme, job))


@login_required
def import_progress(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    """The progress partial htmx polls; once the job is done it comes without the polling
    trigger, so the polling stops."""
    programme, job = _job(request, slug, pk)
    return render(request, "fieldwork/imports/partials/progress.html", _job_context(programme, job))


@login_required
def import_problems(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponseBase:
    _programme, job = _job(request, slug, pk)
    handle = services.problems_file(job)
    if handle is None:
        raise Http404("No report.")
    return FileResponse(
        handle,
        as_attachment=True,
        filename=f"import-{job.pk}-problems.csv",
        content_type="text/csv; charset=utf-8",
    )
