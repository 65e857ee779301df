"""Cursor (keyset) pages for every API list, as large APIs page (GitHub, Stripe, Slack).

A page is read as "the next ``page_size`` rows after this one, in this order": a range read
from an index, so the hundredth page costs what the first does, where ``?offset=`` made the
database walk and throw away every row before the page and ``count`` counted the whole table
on every request (4 s for 50 submissions of a million).

This is DRF's :class:`~rest_framework.pagination.CursorPagination` with one change: the cursor
holds the value of *every* ordering column of the row it stands on, not only the first, and
reads on from it by comparing them in order (``submitted_at < t OR (submitted_at = t AND id <
i)``). DRF's own cursor keeps the first column and counts ties past it with an offset, which
grows where many rows share a value (a day of imports with one submission time). Each endpoint
names its ordering (:func:`ordered_by`): unique, stable, and the order of an index, so that the
database reads the page straight out of it; a view whose rows lie in several ranges of that
index (a programme's submissions, form by form) names the column that splits them
(``page_partitions``), and each range is read on its own.

Lists carry no ``count``: an exact count of a million rows costs more than the page it goes
with. A client that wants a total reads every page, or asks the page that counts.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, cast

from django.db.models import Model, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import NotFound
from rest_framework.pagination import CursorPagination, _reverse_ordering
from rest_framework.request import Request
from rest_framework.views import APIView

from amniyat.core import keyset

# A page holds 100 rows unless the client asks for fewer (or more, up to 500): 500
# submissions with their answers are about half a megabyte of JSON. Submissions come 50 a
# page by default (SUBMISSIONS_PAGE_SIZE): about 45 kB, what a phone on 3G takes in a moment.
DEFAULT_PAGE_SIZE = 100
SUBMISSIONS_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
# A page read part by part (KeysetPagination._rows) reads at most this many parts; a list
# split further is read as one query, and left to the planner.
MAX_PARTITIONS = 100


class KeysetPagination(CursorPagination):
    """Pages read on from a cursor over every column of :attr:`ordering`; ``?page_size=``
    up to :data:`MAX_PAGE_SIZE`. Subclass it with an ordering, or use :func:`ordered_by`."""

    ordering: tuple[str, ...] = ("id",)
    page_size = DEFAULT_PAGE_SIZE
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE
    page_size_query_description = format_lazy(  # type: ignore[assignment]
        _("How many results a page holds: {default} unless given, at most {most}."),
        default=DEFAULT_PAGE_SIZE,
        most=MAX_PAGE_SIZE,
    )
    cursor_query_description = _(  # type: ignore[assignment]
        "Where the page starts: leave it out for the first page, then follow the "
        "next and previous links."
    )
    # A bad or forged cursor answers 404, as DRF's does.
    invalid_cursor_message = _("Invalid cursor.")  # type: ignore[assignment]

    def get_ordering(self, request: Request, queryset: QuerySet[Any], view: Any) -> tuple[str, ...]:
        return tuple(self.ordering)

    def paginate_queryset(
        self, queryset: QuerySet[Any], request: Request, view: APIView | None = None
    ) -> list[Any] | None:
        """DRF's, with the position compared over every ordering column (see the module)."""
        self.request = request
        size = self.get_page_size(request)
        if not size:
            return None
        self.page_size = size
        self.base_url = request.build_absolute_uri()
        self.ordering = self.get_ordering(request, queryset, view)
        self.cursor = self.decode_cursor(request)
        offset, reverse, current_position = 0, False, None
        if self.cursor is not None:
            offset, reverse = self.cursor.offset, self.cursor.reverse
            current_position = cast(str | None, self.cursor.position)
        ordering = _reverse_ordering(self.ordering) if reverse else self.ordering
        queryset = queryset.order_by(*ordering)
        if current_position is not None:
            queryset = queryset.filter(self._after(queryset.model, ordering, current_position))

        results = self._rows(queryset, offset, offset + self.page_size + 1, view)
        self.page = results[: self.page_size]
        has_following = len(results) > len(self.page)
        following = (
            self._get_position_from_instance(results[-1], self.ordering) if has_following else None
        )
        if reverse:
            self.page = list(reversed(self.page))
            self.has_next = current_position is not None or offset > 0
            self.has_previous = has_following
            self.next_position = current_position
            self.previous_position = following
        else:
            self.has_next = has_following
            self.has_previous = current_position is not None or offset > 0
            self.next_position = following
            self.previous_position = current_position
        if (self.has_previous or self.has_next) and self.template is not None:
            self.display_page_controls = True
        return self.page

    def _rows(
        self, queryset: QuerySet[Any], start: int, stop: int, view: APIView | None
    ) -> list[Any]:
        """Rows ``start`` to ``stop`` of ``queryset`` in its order. Where the view splits its
        rows (:meth:`page_partitions`, e.g. a lead's submissions by form), each part's first
        rows are read from its own index range, in one statement, and the page taken from
        them: SQLite's planner, given rows of several forms reached through joins, reads them
        form by form and sorts them all, a million rows for a page of fifty."""
        split = getattr(view, "page_partitions", None)
        parts = split() if split is not None else None
        if parts is None:
            return list(queryset[start:stop])
        column, values = parts
        if len(values) <= 1 or len(values) > MAX_PARTITIONS:
            return list(queryset.filter(**{f"{column}__in": values})[start:stop])
        # One statement: the rows whose ids are among each part's first ``stop``, each part
        # a LIMIT read from its index, put together with UNION ALL. Not an OR of IN
        # subqueries, which PostgreSQL reads by scanning the table (0.2-0.6 s for 400,000
        # rows); not Django's union(), which SQLite's backend refuses for sliced parts.
        selects: list[str] = []
        params: list[Any] = []
        for index, value in enumerate(values):
            head = queryset.filter(**{column: value}).values_list("pk")[:stop]
            sql, head_params = head.query.sql_with_params()
            selects.append(f"SELECT * FROM ({sql}) AS part_{index}")  # noqa: S608 (ORM's SQL)
            params.extend(head_params)
        heads = RawSQL(" UNION ALL ".join(selects), params)  # noqa: S611
        return list(queryset.filter(pk__in=heads)[start:stop])

    def _after(self, model: type[Model], ordering: Sequence[str], position: str) -> Q:
        """Rows after ``position`` in ``ordering`` (:func:`amniyat.core.keyset.rows_after`)."""
        try:
            return keyset.rows_after(model, ordering, json.loads(position))
        except ValueError as error:  # BadPosition, or JSON that is not
            raise NotFound(self.invalid_cursor_message) from error

    def _get_position_from_instance(self, instance: Any, ordering: Sequence[str]) -> str:
        """Every ordering column of ``instance``, as JSON text."""
        return json.dumps(
            keyset.position_of(instance, ordering), ensure_ascii=True, separators=(",", ":")
        )


def ordered_by(*ordering: str, page_size: int = DEFAULT_PAGE_SIZE) -> type[KeysetPagination]:
    """The pagination of an endpoint whose rows go in ``ordering``: unique (end on the
    primary key) and the order of an index of the table; ``page_size`` rows a page unless
    the client asks otherwise."""
    return type(
        "KeysetPagination",
        (KeysetPagination,),
        {"ordering": tuple(ordering), "page_size": page_size},
    )
