"""Writes about stored submissions: the record that someone was shown their personal and
sensitive answers, and exports of a form's submissions, a kind of prepared download.

An export is never written inside a request. :func:`submissions_export_start` checks what
the person chose (format, label language, the table's filters) and asks
:func:`amniyat.downloads.services.download_start` for a download of :data:`DOWNLOAD`; the
``prepare_download`` task writes it with :func:`submissions_write`: the rows the person sees
at that moment, masked as their role says, a batch at a time. The downloads app keeps the
file encrypted at rest, shows its progress, gives it to its requester alone and clears it
when it expires; opening a file that holds personal and sensitive answers is audited here
(:func:`protected_answers_viewed`), and refused once its requester may no longer see them.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Iterator, Mapping
from typing import IO, TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from amniyat.accounts import policies
from amniyat.accounts.models import Programme, User
from amniyat.audit.models import AuditEvent
from amniyat.audit.services import audit_record, audit_records_across
from amniyat.core.text import format_number
from amniyat.downloads.kinds import Kind, Progress, Written
from amniyat.downloads.models import Download
from amniyat.downloads.services import download_start
from amniyat.fieldwork.forms import selectors as forms_selectors
from amniyat.fieldwork.imports.schema import plan_for
from amniyat.fieldwork.models import (
    Form,
    FormDataRevision,
    Submission,
    data_revision_stripe,
    new_data_revision,
)
from amniyat.fieldwork.submissions import exporters, selectors
from amniyat.fieldwork.submissions.forms import EXPORT_CHOICES

if TYPE_CHECKING:
    from django.http import HttpRequest

Verb = AuditEvent.Verb
# Submissions read at a time; the progress is saved between batches, when no query is open.
BATCH = 2000


def submissions_changed(*, form_ids: Iterable[int]) -> None:
    """Give the forms a new data revision: call it in the transaction of every write of their
    submissions (stored, deleted, their answers, place or review changed), whatever writes
    them. Findings and the cached frames are keyed by the revision
    (:func:`~amniyat.fieldwork.submissions.frames.data_key`), so they change exactly when the
    data do, and reading the state of a million submissions costs one row."""
    ids = sorted(set(form_ids))
    if ids:
        # One stripe of each form's revision, not the form's row: see FormDataRevision.
        stripe = data_revision_stripe()
        FormDataRevision.objects.bulk_create(
            [FormDataRevision(form_id=pk, stripe=stripe, value=new_data_revision()) for pk in ids],
            update_conflicts=True,
            unique_fields=["form", "stripe"],
            update_fields=["value"],
        )


def protected_answers_viewed(
    *,
    user: User,
    form: Form,
    export: str,
    count: int,
    request: Any = None,
    download_id: int | None = None,
) -> None:
    """Record that ``user`` was given the personal and sensitive answers of ``form``'s
    submissions in an export (its format, how many, and which download); on a page or
    through the API, :func:`protected_answers_shown`."""
    details: dict[str, Any] = {"form": form.pk, "export": export, "count": count}
    if download_id is not None:
        details["download"] = download_id
    audit_record(
        actor=user,
        verb=Verb.VIEWED_PERSONAL,
        obj=form,
        programme=form.assessment.programme,
        request=request,
        details=details,
    )


def protected_answers_shown(
    *, user: User, submissions: list[Submission], request: Any = None
) -> None:
    """Record that ``user`` was shown the personal and sensitive answers of ``submissions`` on
    a page or through the API: a row per form (the submissions' ids), the rows of a page
    written at once, whatever forms it holds. The submissions come with their form and its
    assessment and programme."""
    by_form: dict[int, list[Submission]] = {}
    for submission in submissions:
        by_form.setdefault(submission.form_id, []).append(submission)
    audit_records_across(
        actor=user,
        verb=Verb.VIEWED_PERSONAL,
        objects=[
            (
                shown[0].form,
                shown[0].form.assessment.programme,
                {"form": shown[0].form_id, "submissions": [s.pk for s in shown]},
            )
            for shown in by_form.values()
        ],
        request=request,
    )


# ----------------------------------------------------------------------------------------
# Exports: a kind of prepared download (amniyat.downloads)


def submissions_export_start(
    *,
    acting_user: User,
    form: Form,
    export_format: str,
    language: str,
    filters: Mapping[str, Any] | None = None,
    request: Any = None,
    queue: bool = True,
) -> Download:
    """Ask for ``form``'s submissions in ``export_format``, labels in ``language``, narrowed
    by ``filters`` (:meth:`SubmissionFilterForm.as_filters`): a download of :data:`DOWNLOAD`,
    queued once the current transaction commits (``queue``: see
    :func:`~amniyat.downloads.services.download_start`). Headers the export writes itself
    come in the language active now, as the page showed them."""
    programme = form.assessment.programme
    policies.require(acting_user, DOWNLOAD.verb, programme)
    if export_format not in exporters.EXPORT_FORMATS:
        raise ValidationError({"export_format": _("Choose one of the formats offered.")})
    if form.current_version() is None:
        raise ValidationError(_("This form has no version yet: upload its XLSForm first."))
    return download_start(
        acting_user=acting_user,
        programme=programme,
        kind=DOWNLOAD.name,
        choices={
            "form": form.pk,
            "export_format": export_format,
            "language": language,
            "filters": dict(filters or {}),
        },
        request=request,
        queue=queue,
    )


def submissions_write(
    *,
    user: User,
    programme: Programme,
    choices: Mapping[str, Any],
    target: IO[bytes],
    progress: Progress,
) -> Written:
    """Write to ``target`` the submissions of the chosen form that ``user`` sees now (not
    when they asked), narrowed by the chosen filters, newest first, in the chosen format;
    personal and sensitive answers masked unless they may see them. ``progress(done,
    total)`` between batches. Records nothing: opening the file does
    (:func:`_opened`)."""
    try:
        form = forms_selectors.form_get(user=user, pk=int(choices["form"]), programme=programme)
    except Http404:
        raise PermissionDenied("The form is not (or no longer) theirs to see.") from None
    version = form.current_version()
    if version is None:
        raise ValueError("The form has no version.")
    export_format = choices["export_format"]
    plan = plan_for(version)
    reveal = policies.can(user, "submission.view_protected", programme)
    submissions = selectors.submissions_filtered(
        user=user, form=form, filters=choices.get("filters") or {}
    )
    total = submissions.count()
    counted = _Counted(total, progress)
    progress(0, total)
    rows = exporters.rows_of(_in_batches(submissions, counted), plan=plan, reveal=reveal)
    exporters.write_export(
        target, export_format, plan, rows, language=choices["language"], form_id=form.form_id
    )
    progress(counted.count, total)
    extension, content_type = exporters.EXPORT_TYPES[export_format]
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    holds_protected = bool(reveal and (plan.protected_paths or plan.enumerator_protected))
    return Written(
        file_name=f"{form.form_id}-{stamp}.{extension}",
        content_type=content_type,
        summary={
            "form": form.pk,
            "export": export_format,
            "submissions": counted.count,
            # Opening it is then audited, and only given while they may see such answers.
            "protected": holds_protected and counted.count > 0,
        },
    )


class _Counted:
    """How many submissions have been written; told to ``progress`` between batches."""

    def __init__(self, total: int, progress: Progress) -> None:
        self.total = total
        self.progress = progress
        self.count = 0


def _in_batches(submissions: Any, counted: _Counted) -> Iterator[Submission]:
    """``submissions`` (ordered newest first) a batch at a time, by their place in that
    order, so that no query is left open while the progress is saved (SQLite would refuse
    a write on a connection that is still reading)."""
    last: tuple[datetime.datetime, int] | None = None
    while True:
        page = submissions
        if last is not None:
            at, pk = last
            page = page.filter(Q(submitted_at__lt=at) | Q(submitted_at=at, pk__lt=pk))
        batch = list(page[:BATCH])
        if not batch:
            return
        for submission in batch:
            yield submission
            counted.count += 1
        last = (batch[-1].submitted_at, batch[-1].pk)
        counted.progress(counted.count, counted.total)


def _opened(
    *,
    user: User,
    programme: Programme,
    summary: Mapping[str, Any],
    download_id: int,
    request: HttpRequest | None,
) -> None:
    """Opening an export that holds personal and sensitive answers shows them: audited, and
    refused once its requester may no longer see them."""
    if not summary.get("protected"):
        return
    if not policies.can(user, "submission.view_protected", programme):
        raise PermissionDenied("They may no longer see personal answers.")
    form = Form.objects.select_related("assessment__programme").filter(pk=summary["form"]).first()
    if form is None:
        raise PermissionDenied("The form was deleted.")
    protected_answers_viewed(
        user=user,
        form=form,
        export=summary["export"],
        count=summary["submissions"],
        request=request,
        download_id=download_id,
    )


def _format_label(export_format: str) -> str:
    return str(dict(EXPORT_CHOICES).get(export_format, export_format))


def _described(summary: Mapping[str, Any]) -> str:
    count = int(summary.get("submissions", 0))
    return ngettext("It holds {count} submission.", "It holds {count} submissions.", count).format(
        count=format_number(count)
    )


def _chosen(choices: Mapping[str, Any]) -> str:
    # As the export's own page said it before exports were downloads, in the same words.
    language = dict(settings.LANGUAGES).get(choices.get("language", ""), "")
    chosen = [_format_label(choices.get("export_format", "")), f"{_('labels in')} {language}"]
    if choices.get("filters"):
        chosen.append(_("filtered as the table was"))
    return " · ".join(chosen)


def _writing(done: int, total: int | None) -> str:
    return _("Writing the file: %(done)s of %(total)s submissions") % {
        "done": format_number(done),
        "total": "?" if total is None else format_number(total),
    }


def _audited(choices: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "form": choices["form"],
        "export": choices["export_format"],
        "language": choices["language"],
        # Which filters, not their values: an enumerator's name is personal data.
        "filters": sorted(choices.get("filters") or {}),
    }


DOWNLOAD = Kind(
    name="submissions",
    label=capfirst(gettext_lazy("export of submissions")),
    verb="submission.export",
    write=submissions_write,
    opened=_opened,
    describe=_described,
    asked_from=lambda programme, choices: reverse(
        "fieldwork:submission_export", args=[programme.slug, choices["form"]]
    ),
    audited=_audited,
    chosen=_chosen,
    writing=_writing,
)
