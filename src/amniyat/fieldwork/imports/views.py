"""Pages for importing files of submissions and for the submissions themselves: upload a
file, follow its import (a progress bar htmx refreshes every second), read the report; the
table of a form's submissions with filters, personal answers masked unless the person may see
them (and every unmasked view audited); exports in the formats people and tools read."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from amniyat.accounts import policies
from amniyat.accounts.models import Programme
from amniyat.accounts.selectors import programme_get
from amniyat.core.fields import keyed_hashes_for_lookup
from amniyat.core.forms import apply_errors
from amniyat.core.http import AuthenticatedRequest, upload_limit
from amniyat.fieldwork import exporters, selectors
from amniyat.fieldwork.forms_imports import ExportForm, ImportUploadForm, SubmissionFilterForm
from amniyat.fieldwork.importers import limits, plan_for
from amniyat.fieldwork.importers.schema import FormPlan
from amniyat.fieldwork.models import Form, ImportJob, Submission
from amniyat.fieldwork.services import imports as services
from amniyat.places.models import Place

PAGE_SIZE = 50


def _form(request: AuthenticatedRequest, slug: str, pk: int, verb: str) -> tuple[Programme, Form]:
    programme = programme_get(user=request.user, slug=slug)
    if not policies.can(request.user, verb, programme):
        raise Http404("No such page.")
    form = selectors.form_get(user=request.user, pk=pk, programme=programme)
    return programme, form


def _job(request: AuthenticatedRequest, slug: str, pk: int) -> tuple[Programme, ImportJob]:
    programme = programme_get(user=request.user, slug=slug)
    job = selectors.import_job_get(user=request.user, pk=pk)
    if job.form.assessment.programme_id != programme.pk:
        raise Http404("No such import.")
    return programme, services.live_progress(job)


def _plan(form: Form) -> FormPlan | None:
    version = form.current_version()
    return plan_for(version) if version is not None else None


@upload_limit(limits.max_import_bytes)
@login_required
def import_create(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    programme, form = _form(request, slug, pk, "submission.import")
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


def _enumerator_hidden(request: AuthenticatedRequest, programme: Programme, form: Form) -> bool:
    """Whether the enumerator is masked for this person: it takes the class of the form's
    enumerator question, and they may not see personal and sensitive answers."""
    if policies.can(request.user, "submission.view_protected", programme):
        return False
    plan = _plan(form)
    return plan is None or plan.enumerator_protected


def _filtered(
    request: AuthenticatedRequest, programme: Programme, form: Form
) -> tuple[QuerySet[Submission], SubmissionFilterForm]:
    submissions = selectors.submissions_visible(user=request.user, form=form)
    places = Place.objects.filter(pk__in=submissions.values("place_id")).order_by("name_en")
    filters = SubmissionFilterForm(
        request.GET or None, places=places, versions=selectors.form_versions(form=form)
    )
    if _enumerator_hidden(request, programme, form):
        # Filtering on a name one may not see would tell who collected which submission.
        del filters.fields["enumerator"]
    if filters.is_bound and filters.is_valid():
        data = filters.cleaned_data
        if data.get("place"):
            submissions = submissions.filter(place=data["place"])
        if data.get("submitted_from"):
            submissions = submissions.filter(submitted_at__date__gte=data["submitted_from"])
        if data.get("submitted_to"):
            submissions = submissions.filter(submitted_at__date__lte=data["submitted_to"])
        if data.get("version"):
            submissions = submissions.filter(form_version=data["version"])
        if data.get("enumerator"):
            # Stored encrypted: found by its keyed hash (under every key, for rotation).
            submissions = submissions.filter(
                enumerator_hash__in=keyed_hashes_for_lookup(data["enumerator"])
            )
    elif filters.is_bound:
        submissions = submissions.none()
    return submissions.order_by("-submitted_at", "-id"), filters


@login_required
def submission_list(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    programme, form = _form(request, slug, pk, "submission.view")
    submissions, filters = _filtered(request, programme, form)
    plan = _plan(form)
    reveal = policies.can(request.user, "submission.view_protected", programme)
    enumerator_protected = plan is None or plan.enumerator_protected
    page = Paginator(submissions, PAGE_SIZE).get_page(request.GET.get("page"))
    language = (get_language() or "en").split("-")[0]
    fields = plan.main_fields if plan else []
    rows = []
    shown: list[Submission] = []
    for submission in page.object_list:
        answers = exporters.stored_answers(submission.data, submission.protected_data or "")
        cells = []
        for spec in fields:
            value = answers.get(spec.path)
            if spec.protected and not reveal and value is not None:
                cells.append(exporters.MASK)
            else:
                cells.append(_display(spec, value, language))
        enumerator = submission.enumerator
        protected_enumerator = bool(enumerator) and enumerator_protected
        if protected_enumerator and not reveal:
            enumerator = exporters.MASK
        if reveal and (submission.protected_data or protected_enumerator):
            shown.append(submission)
        rows.append((submission, enumerator, cells))
    if shown:
        services.protected_answers_viewed(
            user=request.user, form=form, submissions=shown, request=request
        )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "fieldwork/imports/submission_list.html",
        {
            "programme": programme,
            "form": form,
            "fields": [(spec, spec.label(language)) for spec in fields],
            "rows": rows,
            "page": page,
            "query": query.urlencode(),
            "filters": filters,
            "reveal": reveal,
            "export": ExportForm(initial={"language": language}),
            "can_export": policies.can(request.user, "submission.export", programme),
            "can_import": policies.can(request.user, "submission.import", programme),
        },
    )


def _display(spec: Any, value: Any, language: str) -> str:
    if value is None:
        return ""
    if spec.kind == "select_one":
        return str(spec.choice_label(str(value), language))
    if spec.kind == "select_multiple" and isinstance(value, list):
        return ", ".join(spec.choice_label(str(v), language) for v in value)
    if isinstance(value, list):
        return "; ".join("" if v is None else str(v) for v in value)
    return str(value)


EXPORT_TYPES = {
    "csv": ("csv", "text/csv; charset=utf-8"),
    "xlsx": ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "kobo-csv": ("csv", "text/csv; charset=utf-8"),
    "kobo-xlsx": ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "kobo-json": ("json", "application/json"),
    "odk-csv": ("csv", "text/csv; charset=utf-8"),
    "odk-zip": ("zip", "application/zip"),
}


@login_required
def submission_export(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponseBase:
    programme, form = _form(request, slug, pk, "submission.export")
    choice = ExportForm(request.GET or None)
    plan = _plan(form)
    if not choice.is_valid() or plan is None:
        messages.error(request, _("Choose a format and a language to export."))
        return redirect("fieldwork:submission_list", slug=slug, pk=form.pk)
    export_format = choice.cleaned_data["export_format"]
    language = choice.cleaned_data["language"]
    submissions, _filters = _filtered(request, programme, form)
    reveal = policies.can(request.user, "submission.view_protected", programme)
    count = submissions.count()
    rows = exporters.rows_of(
        submissions.select_related("place").iterator(chunk_size=2000), plan=plan, reveal=reveal
    )
    target = Path(tempfile.mkdtemp(prefix="amniyat-export-")) / "export"
    writers: dict[str, Callable[[], None]] = {
        "csv": lambda: _text_file(
            target, lambda out: exporters.write_table_csv(out, plan, rows, language)
        ),
        "xlsx": lambda: exporters.write_table_xlsx(target, plan, rows, language),
        "kobo-csv": lambda: _text_file(
            target, lambda out: exporters.write_kobo_csv(out, plan, rows)
        ),
        "kobo-xlsx": lambda: exporters.write_kobo_xlsx(target, plan, rows, title=form.form_id),
        "kobo-json": lambda: _text_file(
            target, lambda out: exporters.write_kobo_json(out, plan, rows)
        ),
        "odk-csv": lambda: _text_file(target, lambda out: exporters.write_odk_csv(out, plan, rows)),
        "odk-zip": lambda: exporters.write_odk_zip(target, plan, rows, form_id=form.form_id),
    }
    writers[export_format]()
    if reveal and (plan.protected_paths or plan.enumerator_protected) and count:
        services.protected_answers_viewed(
            user=request.user, form=form, export=export_format, count=count, request=request
        )
    extension, content_type = EXPORT_TYPES[export_format]
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    handle = _self_deleting(target)
    return FileResponse(
        handle,
        as_attachment=True,
        filename=f"{form.form_id}-{stamp}.{extension}",
        content_type=content_type,
    )


def _text_file(path: Path, write: Callable[[TextIO], None]) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        write(out)


def _self_deleting(path: Path) -> Any:
    """Open ``path`` for the response and remove it from the disk at once (the open handle
    keeps it readable until the response is sent)."""
    handle = path.open("rb")
    path.unlink()
    path.parent.rmdir()
    return handle
