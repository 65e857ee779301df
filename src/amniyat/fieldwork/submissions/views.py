"""Pages of a form's submissions: the table with filters and, below it, each submission's
repeats with the repeats inside each repetition, at any depth; personal answers masked unless
the person may see them (and every unmasked view audited); and the page that asks
for an export in the formats people and tools read: a prepared download (amniyat.downloads),
written in the background, whose page follows it and gives the file to the person who asked,
and no one else."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.text import Truncator
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from amniyat.accounts import policies
from amniyat.accounts.http import AuthenticatedRequest
from amniyat.accounts.models import Programme
from amniyat.core import keyset
from amniyat.core.forms import apply_errors
from amniyat.core.text import format_number
from amniyat.downloads.services import lifetime as download_lifetime
from amniyat.fieldwork.forms import selectors as forms_selectors
from amniyat.fieldwork.imports.schema import FieldSpec, FormPlan, nested_answers, plan_for
from amniyat.fieldwork.models import Form, Submission
from amniyat.fieldwork.submissions import exporters, selectors, services
from amniyat.fieldwork.submissions.forms import ExportForm, SubmissionFilterForm
from amniyat.fieldwork.submissions.masking import masked_without_decrypting
from amniyat.places.forms import place_offer

PAGE_SIZE = 50


# Read for a page's filters and plan: never the uploaded XLSForm nor pyxform's XForm.
_HEAVY = ("xlsform", "xform")


def _plan(form: Form) -> FormPlan | None:
    version = form.versions.defer(*_HEAVY).order_by("-created_at", "-id").first()
    return plan_for(version) if version is not None else None


def _enumerator_hidden(
    request: AuthenticatedRequest, programme: Programme, plan: Callable[[], FormPlan | None]
) -> bool:
    """Whether the enumerator is masked for this person: it takes the class of the form's
    enumerator question (``plan()``, read only if they may not see personal and sensitive
    answers), and they may not see those."""
    if policies.can(request.user, "submission.view_protected", programme):
        return False
    read = plan()
    return read is None or read.enumerator_protected


def _filter_form(
    request: AuthenticatedRequest,
    programme: Programme,
    form: Form,
    data: Any,
    plan: Callable[[], FormPlan | None],
) -> SubmissionFilterForm:
    """The table's filters, bound to ``data`` (a query string or a posted form) if any."""
    # The programme's places, found with a picker: a national programme's submissions come
    # from hundreds of them, too many to list on every page of the table.
    places = place_offer(user=request.user, programme=programme, within="area")
    # Each version is named with its form's title: one query, without the files.
    versions = (
        forms_selectors.form_versions(form=form)
        .select_related("form")
        .defer(*_HEAVY, "schema", "sensitivity")
    )
    filters = SubmissionFilterForm(data or None, places=places, versions=versions)
    if _enumerator_hidden(request, programme, plan):
        # Filtering on a name one may not see would tell who collected which submission.
        del filters.fields["enumerator"]
    return filters


def _filtered(
    request: AuthenticatedRequest, programme: Programme, form: Form, plan: FormPlan | None
) -> tuple[QuerySet[Submission], SubmissionFilterForm, selectors.RowCount]:
    """The submissions the table lists, its filters, and how many it lists (counted once
    where nothing narrows them)."""
    visible = selectors.submissions_visible(user=request.user, form=form)
    counted = selectors.submissions_counted(visible)
    filters = _filter_form(request, programme, form, request.GET, lambda: plan)
    if filters.is_bound and not filters.is_valid():
        return Submission.objects.none(), filters, selectors.RowCount(0, exact=True)
    chosen = filters.as_filters() if filters.is_bound else {}
    listed = selectors.submissions_narrowed(visible, filters=chosen)
    return listed, filters, selectors.submissions_counted(listed) if chosen else counted


@login_required
def submission_list(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    programme, form = forms_selectors.programme_form_get(
        user=request.user, slug=slug, pk=pk, verb="submission.view"
    )
    plan = _plan(form)
    submissions, filters, counted = _filtered(request, programme, form, plan)
    reveal = policies.can(request.user, "submission.view_protected", programme)
    enumerator_protected = plan is None or plan.enumerator_protected
    # The encrypted columns are read with the page where it shows them all; else never for
    # what is masked, and the enumerator alone where its question is not protected.
    listed_query = selectors.submissions_listed(submissions, encrypted=reveal)
    page = _list_page(request, listed_query, counted)
    listed: list[Submission] = page.object_list
    if not reveal and not enumerator_protected:
        selectors.encrypted_columns_loaded(
            listed,
            user=request.user,
            answers=(),
            enumerators=[s.pk for s in listed if s.has_enumerator],  # type: ignore[attr-defined]
        )
    language = (get_language() or "en").split("-")[0]
    fields = plan.main_fields if plan else []
    children = exporters.repeat_children(plan) if plan else {}
    rows = []
    shown: list[Submission] = []
    cell = _Cells(language)
    for submission in listed:
        if reveal or plan is None:
            answers = exporters.stored_answers(submission.data, submission.protected_data or "")
        else:
            answers = masked_without_decrypting(submission.data, plan)
        # A row's answers are its widest part (a cell per question): written in one piece
        # rather than by the template a cell at a time.
        written = [cell(spec, answers.get(spec.path)) for spec in fields]
        cells = format_html("{}" * len(written), *written) if written else ""
        repeats = (
            _shown_repeats(nested_answers(answers, plan), None, plan, children, language)
            if plan is not None
            else []
        )
        protected_enumerator = submission.has_enumerator and enumerator_protected  # type: ignore[attr-defined]
        if not submission.has_enumerator:  # type: ignore[attr-defined]
            enumerator = ""
        elif protected_enumerator and not reveal:
            enumerator = exporters.MASK
        else:
            enumerator = submission.enumerator
        if reveal and (submission.protected_data or protected_enumerator):
            shown.append(submission)
        # As the date filter would write it (Y-m-d H:i), at a fraction of its cost.
        submitted = timezone.localtime(submission.submitted_at).strftime("%Y-%m-%d %H:%M")
        rows.append((submission, submitted, enumerator, cells, repeats))
    for submission in shown:
        submission.form = form
    services.protected_answers_shown(user=request.user, submissions=shown, request=request)
    query = request.GET.copy()
    for moved in ("page", "older", "newer"):
        query.pop(moved, None)
    has_repeats = bool(plan and plan.repeats)
    return render(
        request,
        "fieldwork/submissions/submission_list.html",
        {
            "programme": programme,
            "form": form,
            # Each question's label cut as truncatechars:48 would, once per question.
            "fields": [(spec, Truncator(spec.label(language)).chars(48)) for spec in fields],
            # A column naming each submission's repeats, and below the table their entries.
            "has_repeats": has_repeats,
            "columns": len(fields) + (5 if has_repeats else 4),
            "repeats_shown": any(row[-1] for row in rows),
            "rows": rows,
            "page": page,
            # Beyond a few thousand rows, "about": see selectors.submissions_counted.
            "counted": counted,
            "about": "" if counted.exact else format_number(_rounded(counted.value)),
            "about_pages": "" if counted.exact else format_number(page.num_pages),
            "query": query.urlencode(),
            "filters": filters,
            "reveal": reveal,
            "export": ExportForm(initial={"language": language}),
            "can_export": policies.can(request.user, "submission.export", programme),
            "can_import": policies.can(request.user, "submission.import", programme),
        },
    )


# The table's order (selectors.submissions_filtered), the order of an index of the table.
ORDER = ("-submitted_at", "-id")
BACKWARDS = ("submitted_at", "id")


@dataclass
class _ListPage:
    """A page of the table: its rows, its number (a label where it was reached by a link),
    and the positions its "newer" and "older" links read on from."""

    object_list: list[Submission]
    number: int
    num_pages: int
    has_previous: bool
    has_next: bool
    newer: str = ""
    older: str = ""


def _list_page(
    request: AuthenticatedRequest, listed: QuerySet[Submission], counted: selectors.RowCount
) -> _ListPage:
    """The page an address asks for. Its "older" and "newer" links read on from the row
    they stand on (``?older=`` / ``?newer=``, a keyset position: the thousandth page costs
    what the first does, where an offset walks every row before it); an address with a page
    number alone, or a position that is not one, is counted from the start."""
    pages = max(1, -(-int(counted.value) // PAGE_SIZE))
    given = request.GET.get("page", "")
    number = min(int(given), pages) if given.isascii() and given.isdigit() and int(given) else 1
    older, newer = request.GET.get("older", ""), request.GET.get("newer", "")
    try:
        if older:
            after = keyset.rows_after(Submission, ORDER, keyset.decoded(older))
            rows = list(listed.filter(after)[: PAGE_SIZE + 1])
            page = _ListPage(rows[:PAGE_SIZE], number, pages, True, len(rows) > PAGE_SIZE)
        elif newer:
            after = keyset.rows_after(Submission, BACKWARDS, keyset.decoded(newer))
            rows = list(listed.order_by(*BACKWARDS).filter(after)[: PAGE_SIZE + 1])
            page = _ListPage(rows[:PAGE_SIZE][::-1], number, pages, len(rows) > PAGE_SIZE, True)
        else:
            raise keyset.BadPosition("No position: counted from the start.")
    except keyset.BadPosition:
        counted_page = _CountedPaginator(listed, PAGE_SIZE, counted).get_page(given)
        page = _ListPage(
            list(counted_page.object_list),
            counted_page.number,
            counted_page.paginator.num_pages,
            counted_page.has_previous(),
            counted_page.has_next(),
        )
    if not page.has_previous:
        page.number = 1
    if page.object_list:
        if page.has_previous:
            page.newer = keyset.encoded(keyset.position_of(page.object_list[0], BACKWARDS))
        if page.has_next:
            page.older = keyset.encoded(keyset.position_of(page.object_list[-1], ORDER))
    return page


class _CountedPaginator(Paginator):  # type: ignore[type-arg]
    """Pages of a list whose count is given (:func:`selectors.submissions_counted`), exact or
    not, rather than counted again."""

    def __init__(
        self, object_list: QuerySet[Submission], per_page: int, counted: selectors.RowCount
    ) -> None:
        super().__init__(object_list, per_page)
        self.counted = counted

    @cached_property
    def count(self) -> int:
        return int(self.counted.value)


def _rounded(value: int) -> int:
    """A count that is not exact, to two significant digits (987,654 → 990,000)."""
    digits = len(str(value))
    return round(value, 2 - digits) if digits > 2 else value


class _Cells:
    """Table cells of answers, each written and escaped once per page: a question's answers
    repeat down the table (the same few choices), a page holds 50 rows of them."""

    def __init__(self, language: str) -> None:
        self.language = language
        self.written: dict[tuple[str, type, Any], SafeString] = {}

    def __call__(self, spec: FieldSpec, value: Any) -> SafeString:
        if isinstance(value, list | dict):  # not a key; and rarely the same twice
            return format_html("<td>{}</td>", _display(spec, value, self.language))
        key = (spec.path, type(value), value)  # 1, 1.0 and True are equal keys otherwise
        if (written := self.written.get(key)) is None:
            written = format_html("<td>{}</td>", _display(spec, value, self.language))
            self.written[key] = written
        return written


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


@login_required
def submission_export(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    """Choose a format and the filters, and ask for an export (POST): it is written in the
    background, and the export's page follows it. Showing this page writes nothing."""
    programme, form = forms_selectors.programme_form_get(
        user=request.user, slug=slug, pk=pk, verb=services.DOWNLOAD.verb
    )
    language = (get_language() or "en").split("-")[0]
    if request.method == "POST":
        filters = _filter_form(request, programme, form, request.POST, lambda: _plan(form))
        choice = ExportForm(request.POST)
        if choice.is_valid() and filters.is_valid():
            try:
                download = services.submissions_export_start(
                    acting_user=request.user,
                    form=form,
                    export_format=choice.cleaned_data["export_format"],
                    language=choice.cleaned_data["language"],
                    filters=filters.as_filters(),
                    request=request,
                )
            except ValidationError as error:
                apply_errors(choice, error)
            else:
                messages.success(request, _("Your export has started."))
                return redirect("downloads:detail", slug=slug, pk=download.pk)
    else:
        filters = _filter_form(request, programme, form, request.GET, lambda: _plan(form))
        choice = ExportForm(initial={"language": language, **request.GET.dict()})
    return render(
        request,
        "fieldwork/submissions/export_form.html",
        {
            "programme": programme,
            "form": form,
            "filters": filters,
            "export": choice,
            "reveal": policies.can(request.user, "submission.view_protected", programme),
            "exports": selectors.exports_of(user=request.user, form=form)[:10],
            "lifetime_hours": round(download_lifetime().total_seconds() / 3600),
        },
    )
