"""Scoped reads of stored submissions and of the exports of them people asked for."""

from __future__ import annotations

import datetime
import hashlib
import time
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.core.cache import cache
from django.db.models import BooleanField, ExpressionWrapper, Q, QuerySet

from amniyat.accounts import policies
from amniyat.downloads.models import Download
from amniyat.downloads.selectors import downloads_of
from amniyat.fieldwork.models import Form, Submission

if TYPE_CHECKING:
    from amniyat.accounts.policies import AnyUser


def submissions_visible(*, user: AnyUser, form: Form | None = None) -> QuerySet[Submission]:
    queryset = Submission.objects.filter(policies.submission_scope(user))
    if form is not None:
        queryset = queryset.filter(form=form)
    # Not the form version: nothing shown per row reads it beyond its id, and joining it
    # parsed its whole schema (64 kB on the demo form) once for every row of a page. Nor what
    # no page, export or API reads: the payload a device encrypted (kept, never decrypted on
    # the server), the place's boundary and population.
    return queryset.select_related("place").defer(
        "encrypted_payload", "place__boundary", "place__population"
    )


# The encrypted columns of a submission: decrypted as a row loads, so a list defers them and
# reads them for the rows that show them (encrypted_columns_loaded), never for masked rows.
ENCRYPTED_COLUMNS = ("protected_data", "enumerator")


def submissions_listed(
    submissions: QuerySet[Submission], *, encrypted: bool = False
) -> QuerySet[Submission]:
    """``submissions`` (as :func:`submissions_visible` gives them) for a list: without their
    encrypted columns unless ``encrypted`` (a list that shows them on every row), each knowing
    whether it holds protected answers (``has_protected_data``) and an enumerator
    (``has_enumerator``), which the stored text tells without decrypting it."""
    if not encrypted:
        submissions = submissions.defer(*ENCRYPTED_COLUMNS)
    return submissions.annotate(
        has_protected_data=ExpressionWrapper(~Q(protected_data=""), output_field=BooleanField()),
        has_enumerator=ExpressionWrapper(~Q(enumerator=""), output_field=BooleanField()),
    )


def encrypted_columns_loaded(
    submissions: Iterable[Submission],
    *,
    user: AnyUser,
    answers: Collection[int],
    enumerators: Collection[int] = (),
) -> None:
    """Read and decrypt, for a page of :func:`submissions_listed`, the protected answers and
    the enumerator of the submissions whose ids are in ``answers`` and the enumerator alone of
    those in ``enumerators`` (those the page shows in clear): at most two queries, whatever
    the page's length. The others' stay unread: touching them would read them row by row."""
    loaded: dict[int, dict[str, Any]] = {}
    for wanted, columns in ((answers, ENCRYPTED_COLUMNS), (enumerators, ("enumerator",))):
        ids = [pk for pk in wanted if pk not in loaded]
        if not ids:
            continue
        visible = Submission.objects.filter(policies.submission_scope(user), pk__in=ids)
        for row in visible.order_by().values("pk", *columns):
            loaded[row.pop("pk")] = row
    for submission in submissions:
        for column, value in loaded.get(submission.pk, {}).items():
            setattr(submission, column, value)


def submissions_filtered(
    *, user: AnyUser, form: Form, filters: Mapping[str, Any]
) -> QuerySet[Submission]:
    """The submissions of ``form`` that ``user`` sees, narrowed by the table's filters as
    :meth:`SubmissionFilterForm.as_filters` gives them, newest first: what the table pages
    through and what an export of it writes."""
    return submissions_narrowed(submissions_visible(user=user, form=form), filters=filters)


def submissions_narrowed(
    submissions: QuerySet[Submission], *, filters: Mapping[str, Any]
) -> QuerySet[Submission]:
    """``submissions`` (as :func:`submissions_visible` gave them) narrowed by the table's
    filters, newest first: for a page that has the visible submissions in hand already (its
    filters list their places), so that the user's scope is not worked out twice."""
    if filters.get("place"):
        submissions = submissions.filter(place=filters["place"])
    if filters.get("submitted_from"):
        start = datetime.date.fromisoformat(filters["submitted_from"])
        submissions = submissions.filter(submitted_at__date__gte=start)
    if filters.get("submitted_to"):
        end = datetime.date.fromisoformat(filters["submitted_to"])
        submissions = submissions.filter(submitted_at__date__lte=end)
    if filters.get("version"):
        submissions = submissions.filter(form_version=filters["version"])
    if "review_state" in filters:
        submissions = submissions.filter(review_state=filters["review_state"])
    if filters.get("enumerator_hashes"):
        # Stored encrypted: found by its keyed hash (under every key, for rotation).
        submissions = submissions.filter(enumerator_hash__in=filters["enumerator_hashes"])
    return submissions.order_by("-submitted_at", "-id")


# Up to this many rows a list counts them exactly, on every request (reading at most this
# many index entries); beyond, the count is read once, kept (in the cache every server process
# shares) and the page says "about". An exact count of a million submissions took 0.1 s on
# SQLite and 0.45 s on PostgreSQL (a facilitator's area), on every page of the table, for a
# number nobody reads to the unit. A list known to be longer is not counted, even boundedly,
# while its kept count is younger than COUNT_KEPT_SECONDS; older, one request (whichever holds
# the cache's lock) counts again while the others show the kept count, so twenty people
# opening the table at once do not all count a million rows. Kept by time, not by the form's
# data revision: while phones send, the revision changes every second or so, and a count kept
# under it would be made again for nearly every page.
EXACT_COUNT_UP_TO = 10_000
COUNT_KEPT_SECONDS = 600
# A kept count serves while another is made for this long at most; then it is forgotten.
COUNT_KEPT_AT_MOST_SECONDS = 7 * 24 * 3600
COUNT_LOCK_SECONDS = 60


@dataclass(frozen=True)
class RowCount:
    """How many rows a list has: ``exact``, or as counted up to COUNT_KEPT_SECONDS ago."""

    value: int
    exact: bool


def submissions_counted(submissions: QuerySet[Submission]) -> RowCount:
    """How many rows ``submissions`` (a scoped, filtered list) has: exactly up to
    :data:`EXACT_COUNT_UP_TO`, else as last counted (see above)."""
    rows = submissions.order_by()
    key = kept_key(rows, "count")
    kept = cache.get(key)
    if kept is not None and kept[0] > EXACT_COUNT_UP_TO:
        value, counted_at = kept
        if time.time() - counted_at > COUNT_KEPT_SECONDS:
            value = _count_again(rows, key, value)
        if value > EXACT_COUNT_UP_TO:
            return RowCount(value, exact=False)
    bounded = rows[: EXACT_COUNT_UP_TO + 1].count()
    if bounded <= EXACT_COUNT_UP_TO:
        return RowCount(bounded, exact=True)
    return RowCount(_count_again(rows, key, None), exact=False)


def _count_again(rows: QuerySet[Submission], key: str, kept: int | None) -> int:
    """Count ``rows`` and keep the number under ``key`` with the time it was counted, unless
    another request is counting them now and there is a kept number to show meanwhile. Only
    the number is kept: the user's scope and the filters are in the key's statement, so no
    one is given what another sees."""
    lock = f"{key}:counting"
    if not cache.add(lock, 1, COUNT_LOCK_SECONDS) and kept is not None:
        return kept
    try:
        value = rows.count()
        cache.set(key, (value, time.time()), COUNT_KEPT_AT_MOST_SECONDS)
    finally:
        cache.delete(lock)
    return value


def kept_key(rows: QuerySet[Any], what: str) -> str:
    """Where a number of ``rows`` is kept: under their statement."""
    sql, params = rows.query.sql_with_params()
    digest = hashlib.sha256(repr((sql, params)).encode()).hexdigest()
    return f"submissions-{what}:{digest}"


def exports_of(*, user: AnyUser, form: Form) -> QuerySet[Download]:
    """The exports of ``form``'s submissions that ``user`` asked for and may still have,
    newest first."""
    return downloads_of(user=user, programme=form.assessment.programme, kind="submissions").filter(
        choices__form=form.pk
    )
