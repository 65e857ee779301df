"""Pages of a form's submissions: the table with filters and, below it, each submission's
repeats with the repeats inside each repetition, at any depth; personal answers masked unless
the person may see them (and every unmasked view audited); exports in the formats people and
tools read."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import FileResponse, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from amniyat.accounts import policies
from amniyat.accounts.http import AuthenticatedRequest
from amniyat.accounts.models import Programme
from amniyat.core.fields import keyed_hashes_for_lookup
from amniyat.fieldwork.forms import selectors as forms_selectors
from amniyat.fieldwork.imports.schema import FieldSpec, FormPlan, nested_answers, plan_for
from amniyat.fieldwork.models import Form, Submission
from amniyat.fieldwork.submissions import exporters, selectors, services
from amniyat.fieldwork.submissions.forms import ExportForm, SubmissionFilterForm
from amniyat.places.models import Place

PAGE_SIZE = 50


def _plan(form: Form) -> FormPlan | None:
    version = form.current_version()
    return plan_for(version) if version is not None else None


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
        request.GET or None, places=places, versions=forms_selectors.form_versions(form=form)
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
        if "review_state" in request.GET and data.get("review_state") != "any":
            submissions = submissions.filter(review_state=data.get("review_state") or "")
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
    programme, form = forms_selectors.programme_form_get(
        user=request.user, slug=slug, pk=pk, verb="submission.view"
    )
    submissions, filters = _filtered(request, programme, form)
    plan = _plan(form)
    reveal = policies.can(request.user, "submission.view_protected", programme)
    enumerator_protected = plan is None or plan.enumerator_protected
    page = Paginator(submissions, PAGE_SIZE).get_page(request.GET.get("page"))
    language = (get_language() or "en").split("-")[0]
    fields = plan.main_fields if plan else []
    children = exporters.repeat_children(plan) if plan else {}
    rows = []
    shown: list[Submission] = []
    for submission in page.object_list:
        answers = exporters.stored_answers(submission.data, submission.protected_data or "")
        if plan is not None and not reveal:
            answers = exporters.masked_answers(answers, plan)
        cells = [_display(spec, answers.get(spec.path), language) for spec in fields]
        repeats = (
            _shown_repeats(nested_answers(answers, plan), None, plan, children, language)
            if plan is not None
            else []
        )
        enumerator = submission.enumerator
        protected_enumerator = bool(enumerator) and enumerator_protected
        if protected_enumerator and not reveal:
            enumerator = exporters.MASK
        if reveal and (submission.protected_data or protected_enumerator):
            shown.append(submission)
        rows.append((submission, enumerator, cells, repeats))
    if shown:
        services.protected_answers_viewed(
            user=request.user, form=form, submissions=shown, request=request
        )
    query = request.GET.copy()
    query.pop("page", None)
    has_repeats = bool(plan and plan.repeats)
    return render(
        request,
        "fieldwork/submissions/submission_list.html",
        {
            "programme": programme,
            "form": form,
            "fields": [(spec, spec.label(language)) for spec in fields],
            # A column naming each submission's repeats, and below the table their entries.
            "has_repeats": has_repeats,
            "columns": len(fields) + (5 if has_repeats else 4),
            "repeats_shown": any(repeats for _s, _e, _c, repeats in rows),
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


def _display(spec: FieldSpec, value: Any, language: str) -> str:
    if value is None:
        return ""
    if value == exporters.MASK:
        return exporters.MASK
    if spec.kind == "select_one":
        return str(spec.choice_label(str(value), language))
    if spec.kind == "select_multiple" and isinstance(value, list):
        return ", ".join(spec.choice_label(str(v), language) for v in value)
    if isinstance(value, list):
        return "; ".join("" if v is None else str(v) for v in value)
    return str(value)


@dataclass
class ShownEntry:
    """One repetition as the page shows it: its number, its answers (question label, answer
    as shown) and the repeats inside it."""

    number: int
    answers: list[tuple[str, str]]
    repeats: list[ShownRepeat]


@dataclass
class ShownRepeat:
    name: str
    entries: list[ShownEntry]


def _shown_repeats(
    holder: dict[str, Any],
    repeat: str | None,
    plan: FormPlan,
    children: exporters.Children,
    language: str,
) -> list[ShownRepeat]:
    """The repeats inside ``repeat`` (None: the submission) of one submission's
    :func:`nested_answers`, each repetition with the repeats inside it, at any depth."""
    found = []
    for child in children.get(repeat, []):
        items = holder.get(child)
        if not isinstance(items, list) or not items:
            continue
        entries = []
        for number, item in enumerate(items, start=1):
            answers = item if isinstance(item, dict) else {}
            entries.append(
                ShownEntry(
                    number=number,
                    answers=[
                        (spec.label(language), _display(spec, answers[spec.path], language))
                        for spec in plan.repeats[child]
                        if answers.get(spec.path) is not None
                    ],
                    repeats=_shown_repeats(answers, child, plan, children, language),
                )
            )
        found.append(ShownRepeat(name=plan.repeat_names[child], entries=entries))
    return found


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
    programme, form = forms_selectors.programme_form_get(
        user=request.user, slug=slug, pk=pk, verb="submission.export"
    )
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
