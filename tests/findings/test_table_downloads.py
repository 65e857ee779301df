"""Every table of the findings, gender-gap and baseline → endline pages downloads as CSV and
XLSX: the page's own cells (a suppressed one empty, its hidden count never written), labels in
the reader's language and script, no formula, and only for those who may see the page."""

from __future__ import annotations

import csv
import io
import re
from html.parser import HTMLParser
from typing import Any

import openpyxl
import pytest
from django.conf import settings
from django.test import Client

from amniyat.accounts.models import Membership, Programme
from amniyat.core.cells import neutralise
from amniyat.fieldwork.models import Assessment
from amniyat.findings import services
from amniyat.findings.models import Findings
from tests.factories import ProgrammeFactory, member_of

from .test_chart_svg import SAFE_NIGHT_TG, SAFE_NIGHT_UZ
from .test_findings import compute, survey_assessment

Role = Membership.Role
FORMULA = '=HYPERLINK("http://evil.example","click")'
SPEC = f"""
indicators:
  - id: safe_night
    label:
      en: Feel safe or very safe in their area at night
      tg: {SAFE_NIGHT_TG}
      uz: {SAFE_NIGHT_UZ}
    type: proportion
    numerator: ${{safe_night}} = 'very_safe' or ${{safe_night}} = 'safe'
  - id: formula
    label: '{FORMULA}'
    type: proportion
    numerator: ${{trust_police}} >= 4
  - id: trust_police_score
    label: Trust in the police, mean score (1-5)
    type: mean
    value: ${{trust_police}}
  - id: rare
    label: Women returning migrants who feel safe at night
    type: proportion
    numerator: ${{safe_night}} = 'very_safe' or ${{safe_night}} = 'safe'
    filter: ${{returning_migrant}} = 'yes' and ${{sex}} = 'female'
"""
MIN_CELL = 30
BREAKDOWN = "returning_migrant"


@pytest.fixture
def programme(db: None) -> Programme:
    baseline = survey_assessment(n=300)
    programme: Programme = baseline.programme
    services.indicator_set_save(acting_user=None, programme=programme, spec=SPEC)
    # A large minimum cell, so that some cells are suppressed.
    Programme.objects.filter(pk=programme.pk).update(min_cell_size=MIN_CELL)
    endline = survey_assessment(n=300, kind="endline", programme=programme)
    compute(baseline)
    compute(endline)
    return programme


def _assessment(programme: Programme, kind: str = "baseline") -> Assessment:
    return Assessment.objects.get(programme=programme, kind=kind)


def _client(programme: Programme, role: str = Role.ANALYST, language: str = "en") -> Client:
    client = Client()
    client.force_login(member_of(programme, role))
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


# --- Reading the page's tables and the files --------------------------------------------


class _Tables(HTMLParser):
    """The tables of a page by their id (``table-<id>``): rows of cells, each cell its text,
    its colspan, whether it is a heading and whether it is marked suppressed."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[dict[str, Any]]]] = {}
        self._current: str | None = None
        self._cell: dict[str, Any] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "div" and (attributes.get("id") or "").startswith("table-"):
            self._current = str(attributes["id"])[len("table-") :]
            self.tables[self._current] = []
        elif self._current and tag == "tr":
            self.tables[self._current].append([])
        elif self._current and tag in ("td", "th") and self.tables[self._current]:
            self._cell = {
                "text": "",
                "span": int(attributes.get("colspan") or 1),
                "heading": tag == "th" and attributes.get("scope") != "row",
                "suppressed": "suppressed" in (attributes.get("class") or ""),
            }

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._current:
            self._cell["text"] = self._cell["text"].strip()
            self.tables[self._current][-1].append(self._cell)
            self._cell = None
        elif tag == "table":
            self._current = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell["text"] += data


def page_tables(html: str) -> dict[str, list[list[dict[str, Any]]]]:
    parser = _Tables()
    parser.feed(html)
    return parser.tables


def download_links(html: str) -> dict[str, dict[str, str]]:
    """``{table id: {format: address}}`` of the page's download links."""
    links: dict[str, dict[str, str]] = {}
    for url in re.findall(r'<a href="([^"]*/table/\?[^"]*)" download', html):
        url = url.replace("&amp;", "&")
        table = re.search(r"[?&]table=([^&]+)", url)
        file_format = re.search(r"[?&]format=([^&]+)", url)
        assert table and file_format, url
        links.setdefault(table.group(1), {})[file_format.group(1)] = url
    return links


_NUMBER = re.compile(r"[-+]?\d[\d,]*(?:\.\d+)?")


def _figures(text: str) -> list[Any]:
    """What the file must hold for a figure the page prints: its numbers (``55%–70%`` is 55
    and 70, ``+5 points`` is 5); a mark (★) or a bound (``< 30``) as it is."""
    if not text:
        return []
    if text == "★" or text.startswith("<"):
        return [text]
    return [float(number.replace(",", "")) for number in _NUMBER.findall(text)]


def expected_rows(rows: list[list[dict[str, Any]]], *, labels: int) -> list[list[Any]]:
    """The rows a file must hold for a table as the page shows it: its group (a heading row
    above), every label (one left blank under the same one filled in), the numbers of every
    figure, the reason of a withheld cell; empty cells left out."""
    expected = []
    group = ""
    previous: list[str] = []
    for row in rows[1:]:  # the first is the header
        if len(row) == 1 and row[0]["heading"]:
            group = row[0]["text"]
            previous = []
            continue
        names = [cell["text"] for cell in row[:labels]]
        if labels > 1 and not names[0] and previous:
            names[0] = previous[0]
        previous = names
        values: list[Any] = [group, *names]
        note = ""
        for cell in row[labels:]:
            if cell["suppressed"]:
                note = cell["text"]
            else:
                values += _figures(cell["text"])
        # Text a spreadsheet would take for a formula is written quoted (core.cells).
        expected.append(
            [
                neutralise(value) if isinstance(value, str) else value
                for value in [*values, note]
                if value not in ("", None)
            ]
        )
    return expected


def _normal(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and re.fullmatch(r"-?\d+(?:\.\d+)?", value):
        return float(value)
    return value


def csv_table(content: bytes) -> tuple[list[str], list[list[Any]], list[str]]:
    """The header, the rows (empty cells left out) and the notes of a downloaded CSV."""
    assert content.startswith(b"\xef\xbb\xbf")  # so that Excel reads Cyrillic and ʻ right
    lines = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    end = lines.index([]) if [] in lines else len(lines)
    rows = [[_normal(v) for v in line if v != ""] for line in lines[1:end]]
    return lines[0], rows, [line[0] for line in lines[end + 1 :]]


def xlsx_table(content: bytes) -> tuple[str, list[str], list[list[Any]], list[str]]:
    """The title, the header, the rows (empty cells left out) and the notes of an XLSX."""
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    assert sheet is not None
    lines = [list(row) for row in sheet.iter_rows(values_only=True)]
    end = next((i for i, line in enumerate(lines) if i > 1 and not any(line)), len(lines))
    rows = [[_normal(v) for v in line if v not in ("", None)] for line in lines[2:end]]
    return (
        str(lines[0][0]),
        [str(v) for v in lines[1]],
        rows,
        [str(line[0]) for line in lines[end + 1 :]],
    )


def download(client: Client, url: str) -> bytes:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.content


def assert_page_and_files_agree(client: Client, url: str) -> dict[str, Any]:
    """Every table with download links on the page at ``url``: its CSV and its XLSX hold its
    cells, and nothing else. Returns the page's tables and files by id."""
    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    shown = page_tables(html)
    links = download_links(html)
    objects = response.context["tables"]
    assert set(links) == set(objects), "every table offered, and only those"
    files = {}
    for table_id, formats in links.items():
        assert set(formats) == {"csv", "xlsx"}
        header, csv_rows, csv_notes = csv_table(download(client, formats["csv"]))
        title, xlsx_header, xlsx_rows, xlsx_notes = xlsx_table(download(client, formats["xlsx"]))
        assert csv_rows == xlsx_rows and header == xlsx_header and csv_notes == xlsx_notes
        assert title == objects[table_id].title
        assert header[-1] == "Note"
        files[table_id] = (header, csv_rows, csv_notes)
        if table_id == "indicators":
            continue  # the cards' tables together: checked below
        assert table_id in shown, f"{table_id} is offered but not on the page"
        expected = expected_rows(shown[table_id], labels=len(objects[table_id].labels))
        assert csv_rows == expected, table_id
    if "indicators" in files:
        # All indicators: the rows of every card's table, each named by its indicator.
        cards = [table for table in objects.values() if table.id.startswith("indicator-")]
        assert files["indicators"][1] == [
            [neutralise(table.title.split(": ", 1)[1]), *row]
            for table in cards
            for row in files[table.id][1]
        ]
    return {"html": html, "files": files, "objects": objects, "links": links}


# --- The tests ----------------------------------------------------------------------------


def test_every_table_of_the_findings_page_downloads_as_the_page_shows_it(
    programme: Programme,
) -> None:
    assessment = _assessment(programme)
    client = _client(programme)
    url = f"/p/{programme.slug}/findings/{assessment.pk}/?indicator=safe_night&by={BREAKDOWN}"

    seen = assert_page_and_files_agree(client, url)

    offered = set(seen["links"])
    assert {"chart-district", "chart-breakdown", "breakdown", "indicators"} <= offered
    assert {f"indicator-{i}" for i in ("safe_night", "formula", "trust_police_score")} <= offered
    header, rows, notes = seen["files"]["chart-district"]
    assert header == [
        "District",
        "Estimate (%)",
        "95% interval, low (%)",
        "95% interval, high (%)",
        "n",
        "Note",
    ]
    assert any("suppressed" in str(row[-1]) for row in rows), "a district is withheld"
    assert any("Disclosure control" in note and str(MIN_CELL) in note for note in notes)
    assert any(note.startswith("Source: ") for note in notes)
    assert "A draft, not published: for the programme team only." in notes


def test_a_suppressed_cell_is_empty_in_the_file_and_its_count_is_not_written(
    programme: Programme,
) -> None:
    assessment = _assessment(programme)
    findings = Findings.objects.get(assessment=assessment)
    small = [
        r
        for r in findings.results["estimates"]
        if r["indicator"] == "rare" and r["reason"] == "min_cell" and r["n"] > 0
    ]
    assert small, "the rare indicator has cells too small to show"
    client = _client(programme)
    page = client.get(f"/p/{programme.slug}/findings/{assessment.pk}/").content.decode()
    links = download_links(page)

    _header, rows, _notes = csv_table(download(client, links["indicator-rare"]["csv"]))

    withheld = [row for row in rows if "suppressed (fewer than" in str(row[-1])]
    assert withheld
    for row in withheld:
        assert f"< {MIN_CELL}" in row  # as the page shows it
        numbers = [value for value in row if isinstance(value, float)]
        assert numbers == [], f"a withheld row holds a number: {row}"
    for record in small:
        assert all(float(record["n"]) not in row for row in withheld)


def test_a_label_that_is_a_formula_is_written_as_text(programme: Programme) -> None:
    assessment = _assessment(programme)
    client = _client(programme)
    page = client.get(f"/p/{programme.slug}/findings/{assessment.pk}/").content.decode()
    links = download_links(page)

    csv_content = download(client, links["indicators"]["csv"]).decode("utf-8-sig")
    book = openpyxl.load_workbook(io.BytesIO(download(client, links["indicators"]["xlsx"])))
    sheet = book.active
    assert sheet is not None

    cells = [row[0] for row in csv.reader(io.StringIO(csv_content)) if row]
    assert "'" + FORMULA in cells and FORMULA not in cells
    written = [cell for row in sheet.iter_rows() for cell in row if cell.value]
    formula_cells = [cell for cell in written if str(cell.value).lstrip("'").startswith("=")]
    assert formula_cells
    assert all(cell.data_type == "s" and str(cell.value).startswith("'") for cell in formula_cells)


@pytest.mark.parametrize(("language", "label"), [("tg", SAFE_NIGHT_TG), ("uz", SAFE_NIGHT_UZ)])
def test_files_carry_the_reader_s_language_and_script(
    programme: Programme, language: str, label: str
) -> None:
    assessment = _assessment(programme)
    client = _client(programme, language=language)
    page = client.get(f"/p/{programme.slug}/findings/{assessment.pk}/gender/").content.decode()
    links = download_links(page)
    assert {"chart-gap", "gaps"} <= set(links)

    response = client.get(links["gaps"]["csv"])
    _header, rows, _notes = csv_table(response.content)
    _title, _xlsx_header, xlsx_rows, _xlsx_notes = xlsx_table(
        download(client, links["gaps"]["xlsx"])
    )

    assert label in [row[0] for row in rows]
    assert label in [row[0] for row in xlsx_rows]
    if language == "uz":
        assert "\u02bb" in label  # oʻz: the modifier letter, kept as it is
    disposition = response["Content-Disposition"]
    assert disposition.startswith('attachment; filename="')
    assert disposition.endswith(f'_gaps_{language}.csv"')
    assert f"{programme.slug}_{assessment.pk}-" in disposition


def test_the_gender_gap_and_change_pages_tables_download_as_shown(programme: Programme) -> None:
    baseline, endline = _assessment(programme), _assessment(programme, "endline")
    client = _client(programme)

    gap = assert_page_and_files_agree(client, f"/p/{programme.slug}/findings/{baseline.pk}/gender/")
    change = assert_page_and_files_agree(
        client,
        f"/p/{programme.slug}/findings/change/?baseline={baseline.pk}&endline={endline.pk}",
    )

    assert set(gap["links"]) == {"chart-gap", "gaps"}
    assert set(change["links"]) == {"chart-change", "change"}
    header, rows, notes = change["files"]["change"]
    assert header[:2] == ["Indicator", "Who"]
    assert {row[1] for row in rows} >= {"overall", "women", "men"}
    assert any(note.startswith("Baseline: ") for note in notes)


def test_a_viewer_downloads_published_findings_only(programme: Programme) -> None:
    baseline, endline = _assessment(programme), _assessment(programme, "endline")
    viewer = _client(programme, Role.VIEWER)
    base = f"/p/{programme.slug}/findings/{baseline.pk}"
    files = [
        f"{base}/table/?table=indicators&format=csv",
        f"{base}/table/?table=indicator-safe_night&format=xlsx",
        f"{base}/gender/table/?table=gaps&format=csv",
        f"{base}/gender/table/?table=chart-gap&format=xlsx",
    ]
    pair = f"baseline={baseline.pk}&endline={endline.pk}"
    change = f"/p/{programme.slug}/findings/change/table/?{pair}&table=change&format=csv"

    for url in [*files, change]:
        assert viewer.get(url).status_code == 404, url  # drafts: not for viewers

    lead = member_of(programme, Role.LEAD)
    services.findings_publish(acting_user=lead, findings=Findings.objects.get(assessment=baseline))

    for url in files:
        response = viewer.get(url)
        assert response.status_code == 200, url
    _header, rows, notes = csv_table(viewer.get(files[0]).content)
    assert rows and any(note.startswith("Published on ") for note in notes)
    assert viewer.get(change).status_code == 404  # the endline is still a draft
    seen = assert_page_and_files_agree(viewer, f"{base}/")
    assert "breakdown" not in seen["links"]  # breakdowns are for those who analyse


@pytest.mark.parametrize("role", [Role.LEAD, Role.ANALYST])
def test_those_who_analyse_download_drafts(programme: Programme, role: str) -> None:
    baseline = _assessment(programme)
    client = _client(programme, role)

    response = client.get(
        f"/p/{programme.slug}/findings/{baseline.pk}/table/?table=indicators&format=xlsx"
    )

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    _title, _header, rows, notes = xlsx_table(response.content)
    assert rows and "A draft, not published: for the programme team only." in notes


def test_others_get_404_and_strangers_the_login_page(programme: Programme) -> None:
    baseline = _assessment(programme)
    base = f"/p/{programme.slug}/findings/{baseline.pk}"
    outsider = Client()
    outsider.force_login(member_of(ProgrammeFactory(), Role.LEAD))
    analyst = _client(programme)

    assert outsider.get(f"{base}/table/?table=indicators&format=csv").status_code == 404
    assert outsider.get(f"{base}/gender/table/?table=gaps&format=csv").status_code == 404
    assert (
        outsider.get(
            f"/p/{programme.slug}/findings/change/table/?table=change&format=csv"
        ).status_code
        == 404
    )
    anonymous = Client().get(f"{base}/table/?table=indicators&format=csv")
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
    # A table or a format the page does not have, an assessment the user cannot see.
    assert analyst.get(f"{base}/table/?table=nothing&format=csv").status_code == 404
    assert analyst.get(f"{base}/table/?table=indicators&format=pdf").status_code == 404
    assert analyst.get(f"{base}/table/?table=breakdown&format=csv").status_code == 404
    assert (
        analyst.get(
            f"/p/{programme.slug}/findings/change/table/?baseline=999999&table=change&format=csv"
        ).status_code
        == 404
    )


def test_the_links_are_small_and_translated(programme: Programme) -> None:
    baseline = _assessment(programme)
    page = (
        _client(programme)
        .get(f"/p/{programme.slug}/findings/{baseline.pk}/gender/")
        .content.decode()
    )

    links = re.findall(r"<p class=\"muted\"><small>Download this table: .*?</small></p>", page)
    assert len(links) == 2
    assert all(">CSV</a> · <a " in link and ">XLSX</a>" in link for link in links)


def test_a_withheld_cell_never_shows_the_n_that_disclosure_control_protects() -> None:
    """With the total's n published, a complementary cell's n would give the small cell's by
    subtraction: it shows none; a small cell shows "< k"; an empty domain its 0."""
    from amniyat.findings.present import Cell
    from amniyat.findings.tables import Figure

    def n_of(reason: str, n: int) -> Figure:
        cell = Cell("x", "proportion", n, None, None, None, True, reason, min_cell=5)
        figure = cell.cells(n_column=True)[-1]
        assert isinstance(figure, Figure)
        return figure

    assert n_of("min_cell", 3) == Figure("< 5", ("< 5",))
    assert n_of("min_submissions", 18).text == "< 5"
    assert n_of("complementary", 40) == Figure("—", (None,))
    assert n_of("empty_domain", 0).values == (0,)


def test_the_findings_page_keeps_its_indicators_until_the_data_changes(
    programme: Programme, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The page's heaviest part (every indicator's card) is made once per findings record,
    language and query; a recomputation (new numbers) or another language makes it again,
    and a download still gets every table."""
    from amniyat.findings import present

    made: list[str] = []
    indicator_table = present.indicator_table

    def counting(view: Any, **kwargs: Any) -> Any:
        made.append(view.id)
        return indicator_table(view, **kwargs)

    monkeypatch.setattr(present, "indicator_table", counting)
    baseline = _assessment(programme)
    url = f"/p/{programme.slug}/findings/{baseline.pk}/"
    client = _client(programme)
    first = client.get(url).content.decode()
    assert made
    made.clear()
    again = client.get(url).content.decode()
    assert made == [] and page_tables(again) == page_tables(first)
    # Another language: made again, in that language.
    tajik = _client(programme, language="tg").get(url)
    assert made and tajik.status_code == 200
    made.clear()
    # A download of a card's table uses the cards kept for the page.
    table_id = next(key for key in page_tables(first) if key.startswith("indicator-"))
    response = client.get(
        f"/p/{programme.slug}/findings/{baseline.pk}/table/", {"table": table_id, "format": "csv"}
    )
    assert response.status_code == 200 and made == []
    assert b"\n" in response.content and response["Content-Disposition"].endswith('_en.csv"')
    # New numbers: the record is computed again, and the page shows them.
    findings = Findings.objects.filter(form__assessment=baseline).latest("computed_at")
    services.findings_compute(findings.pk)
    client.get(url)
    assert made
