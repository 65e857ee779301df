"""What the findings pages cost the server: a page reads its findings record without the half
megabyte of stored results (what it shows of them is made once per record, data state and
language, and kept: `findings.shown`), reads each thing it shows once, and a table's file is
written once for the same cells. Twenty readers at once share two web workers, so a findings
page must take a few tens of milliseconds (#14 point 3)."""

from __future__ import annotations

from typing import Any

import pytest

from amniyat.accounts.models import Membership, Programme
from amniyat.core import tables as core_tables
from amniyat.findings import present, services, shown
from amniyat.findings.models import Findings
from tests.factories import member_of
from tests.queries import queries_of

from .test_table_downloads import _assessment, _client
from .test_table_downloads import programme as programme  # the fixture

Role = Membership.Role
RESULTS = '"findings_findings"."results"'

# Each page with its query, and the most queries it may make for one who analyses (drafts:
# the data's state is checked on every request) and for one who reads published findings.
PAGES: tuple[tuple[str, dict[str, str], int, int], ...] = (
    ("index", {}, 7, 7),
    ("assessment", {}, 12, 7),
    ("assessment_table", {"table": "indicators", "format": "csv"}, 12, 7),
    ("assessment_table", {"table": "indicators", "format": "xlsx"}, 12, 7),
    ("gender_gap", {}, 11, 7),
    ("gender_gap_table", {"table": "gaps", "format": "csv"}, 11, 7),
    ("change", {}, 16, 8),
    ("change_table", {"table": "change", "format": "csv"}, 16, 8),
    ("indicators", {}, 7, 0),
)


def _url(programme: Programme, name: str) -> str:
    base = f"/p/{programme.slug}/findings/"
    pk = _assessment(programme).pk
    return {
        "index": base,
        "assessment": f"{base}{pk}/",
        "assessment_table": f"{base}{pk}/table/",
        "gender_gap": f"{base}{pk}/gender/",
        "gender_gap_table": f"{base}{pk}/gender/table/",
        "change": f"{base}change/",
        "change_table": f"{base}change/table/",
        "indicators": f"/p/{programme.slug}/indicators/",
    }[name]


def _publish(programme: Programme) -> None:
    lead = member_of(programme, Role.LEAD)
    for findings in Findings.objects.filter(assessment__programme=programme):
        services.findings_publish(acting_user=lead, findings=findings)


@pytest.mark.parametrize(("name", "query", "analysing", "reading"), PAGES)
def test_a_findings_page_reads_its_findings_without_their_results(
    programme: Programme, name: str, query: dict[str, str], analysing: int, reading: int
) -> None:
    queries = queries_of(_client(programme, Role.ANALYST), _url(programme, name), query)
    assert not [q for q in queries if RESULTS in q], str(queries)
    assert len(queries) <= analysing, str(queries)
    if not reading:
        return
    _publish(programme)
    queries = queries_of(_client(programme, Role.VIEWER), _url(programme, name), query)
    assert not [q for q in queries if RESULTS in q], str(queries)
    assert len(queries) <= reading, str(queries)


def test_what_a_record_shows_is_made_once_per_data_state_and_language(
    programme: Programme, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The indicators' views, the gaps and the comparison: made by the first page that needs
    them, in its language; the other pages and their downloads use them."""
    made: list[str] = []
    for function in ("indicator_views", "gender_gaps", "change_table"):
        original = getattr(present, function)

        def counting(*args: Any, _name: str = function, _f: Any = original, **kw: Any) -> Any:
            made.append(_name)
            return _f(*args, **kw)

        monkeypatch.setattr(present, function, counting)
    client = _client(programme)
    for name, query, *_caps in PAGES[:-1]:
        assert client.get(_url(programme, name), query).status_code == 200
    assert sorted(made) == ["change_table", "gender_gaps", "indicator_views"]
    made.clear()
    for name, query, *_caps in PAGES[:-1]:
        client.get(_url(programme, name), query)
    assert made == []
    _client(programme, language="ru").get(_url(programme, "assessment"))
    assert made == ["indicator_views", "gender_gaps"]


def test_a_table_s_file_is_written_once_for_the_same_cells(
    programme: Programme, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A workbook of every indicator takes a tenth of a second to write: it is written again
    only when what it holds changes (here its notes, once the findings are published)."""
    written: list[str] = []
    original = core_tables.table_response

    def counting(table: Any, **kwargs: Any) -> Any:
        written.append(kwargs["file_format"])
        return original(table, **kwargs)

    monkeypatch.setattr(shown, "table_response", counting)
    url = _url(programme, "assessment_table")
    query = {"table": "indicators", "format": "xlsx"}
    client = _client(programme)
    first = client.get(url, query)
    again = client.get(url, query)
    assert written == ["xlsx"] and first.content == again.content
    assert first["Content-Disposition"] == again["Content-Disposition"]
    _publish(programme)
    published = client.get(url, query)
    assert written == ["xlsx", "xlsx"] and published.content != first.content


def test_a_page_s_links_and_notes_go_on_its_own_copies_of_the_tables(
    programme: Programme,
) -> None:
    """The tables kept are shared by every page and reader: one page's query in its download
    links (and its notes) never reach another's."""
    url = _url(programme, "assessment")
    client = _client(programme)
    chosen = client.get(url, {"indicator": "rare"}).content.decode()
    plain = client.get(url).content.decode()
    assert "indicator=rare" in chosen
    assert "indicator=rare" not in plain


@pytest.mark.parametrize("name", ["assessment", "gender_gap"])
def test_what_a_page_keeps_drawn_follows_the_assessment_s_name(
    programme: Programme, name: str
) -> None:
    """The parts of a page kept as drawn are kept by all they show: renamed, the assessment's
    tables carry the new name at once."""
    from amniyat.fieldwork.models import Assessment

    client = _client(programme)
    url = _url(programme, name)
    assert "Renamed survey" not in client.get(url).content.decode()
    Assessment.objects.filter(pk=_assessment(programme).pk).update(title="Renamed survey")
    assert "Renamed survey: " in client.get(url).content.decode()


def test_the_indicator_set_is_read_once_for_every_page(
    programme: Programme, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Which questions an indicator reads (left out of the breakdowns offered beside it) comes
    from one reading of the indicator set, whichever indicator a page shows."""
    read: list[str] = []
    original = services.load_indicators

    def counting(spec: str, **kwargs: Any) -> Any:
        read.append(spec)
        return original(spec, **kwargs)

    monkeypatch.setattr(services, "load_indicators", counting)
    client = _client(programme)
    url = _url(programme, "assessment")
    for indicator in ("safe_night", "rare", "trust_police_score"):
        page = client.get(url, {"indicator": indicator}).content.decode()
        assert 'name="by"' in page
    assert len(read) == 1
