"""Counting what a request asks of the database, as Zulip's ``queries_captured`` does: the
page-cost tests of each app and the growth test of every route (tests/test_query_growth.py)
read a request's queries through :func:`queries_of`, and report them grouped by shape, so a
failure says which query repeated and how often rather than only that there were too many."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from django.db import connection, reset_queries
from django.http import HttpResponse
from django.test import Client
from django.test.utils import CaptureQueriesContext

_STRING = re.compile(r"'(?:[^']|'')*'")
_NUMBER = re.compile(r"(?<![\w.\"])-?\d+(?:\.\d+)?(?![\w\"])")
_LIST = re.compile(r"\((?:\?|NULL)(?:, (?:\?|NULL))*\)")


def shape(sql: str) -> str:
    """A query with its values left out (``?``, a list of them ``(…)``): the same query for
    another object has the same shape."""
    return _LIST.sub("(…)", _NUMBER.sub("?", _STRING.sub("?", sql)))


def grouped(sqls: list[str]) -> Counter[str]:
    """How many times each shape of query was made."""
    return Counter(shape(sql) for sql in sqls)


def describe(counts: Counter[str], *, width: int = 300) -> str:
    """One line per shape, the most repeated first: ``3 × SELECT …``."""
    lines = []
    for sql, n in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        text = sql if len(sql) <= width else sql[: width - 1] + "…"
        lines.append(f"  {n} × {text}")
    return "\n".join(lines)


def added(before: list[str], after: list[str]) -> str:
    """What ``after`` asked that ``before`` did not, by shape: the queries a page added when
    its rows grew (a query made once per row shows as ``n × …``)."""
    more = grouped(after) - grouped(before)
    return describe(more) if more else "  (no query added; some were left out)"


def differences(before: list[Queries], after: list[Queries]) -> str:
    """For each request (in the same order) whose count differs: its URL, both counts and the
    queries added."""
    return "\n".join(
        f"{b.url or a.url}: {len(b)} queries, then {len(a)}; added:\n{added(b, a)}"
        for b, a in zip(before, after, strict=True)
        if len(b) != len(a)
    )


class Queries(list[str]):
    """The SQL of one request, in the order it was sent; ``str()`` lists them by shape."""

    def __init__(
        self,
        sqls: list[str],
        *,
        url: str = "",
        response: HttpResponse | None = None,
        body: bytes = b"",
    ) -> None:
        super().__init__(sqls)
        self.url = url
        self.response = response
        self.body = body  # what the response sent (a streamed file is read to count it)

    def grouped(self) -> Counter[str]:
        return grouped(self)

    def __str__(self) -> str:
        return f"{len(self)} queries for {self.url or 'the request'}:\n{describe(self.grouped())}"


def _body(response: HttpResponse) -> bytes:
    """What the response sends: a file written as it is sent reads the database as it is
    sent, so it is read here, inside the count."""
    if response.streaming:
        return b"".join(response.streaming_content)  # type: ignore[arg-type]
    return response.content


def queries_of(
    client: Client,
    url: str,
    query: dict[str, Any] | None = None,
    *,
    headers: dict[str, str] | None = None,
    warm: bool = True,
    status: int | None = 200,
) -> Queries:
    """The queries of one GET of ``url``. ``warm``: after a first GET, so that what every page
    reads once per session or per process (the session, the user, what is kept) is not
    counted as the page's. ``status``: the answer expected (None: any)."""
    if warm:
        _body(client.get(url, query, headers=headers))
    reset_queries()  # Django's log keeps 9,000 queries: start each request with it empty
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, query, headers=headers)
        body = _body(response)
    shown = url + (f" {query}" if query else "")
    if status is not None:
        assert response.status_code == status, (
            f"GET {shown} answered {response.status_code}, not {status}"
        )
    sqls = [q["sql"] for q in captured.captured_queries]
    return Queries(sqls, url=shown, response=response, body=body)
