"""Charts are drawn on the server: every kind of chart, from real findings, carries in its SVG
the same numbers as the table beside it, and a suppressed cell in neither; labels stay text,
in any script; and no chart library is sent to the browser."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from xml.etree.ElementTree import Element

import pytest
from defusedxml.ElementTree import fromstring
from django.conf import settings
from django.test import Client
from django.utils import translation

from amniyat.accounts.models import Membership, Programme
from amniyat.fieldwork.models import Assessment
from amniyat.findings import charts, present, services
from amniyat.places.models import Place
from tests.factories import member_of

from .test_findings import TJ_DISTRICTS, compute, survey_assessment

HOSTILE = "</svg><script>alert(1)</script>"
SAFE_NIGHT_TG = "Шабона дар маҳалли худ худро бехатар ё хеле бехатар ҳис мекунанд"
SAFE_NIGHT_UZ = "Kechasi oʻz hududida oʻzini xavfsiz yoki juda xavfsiz his qiladiganlar"
SPEC = f"""
indicators:
  - id: safe_night
    label:
      en: Feel safe or very safe in their area at night
      tg: {SAFE_NIGHT_TG}
      uz: {SAFE_NIGHT_UZ}
    type: proportion
    numerator: ${{safe_night}} = 'very_safe' or ${{safe_night}} = 'safe'
  - id: hostile
    label: "{HOSTILE}"
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
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def programme(db: None) -> Programme:
    baseline = survey_assessment(n=300)
    programme: Programme = baseline.programme
    services.indicator_set_save(acting_user=None, programme=programme, spec=SPEC)
    # A large minimum cell, so that some districts are suppressed.
    Programme.objects.filter(pk=programme.pk).update(min_cell_size=30)
    endline = survey_assessment(n=300, kind="endline", programme=programme)
    compute(baseline)
    compute(endline)
    return programme


def _assessment(programme: Programme, kind: str) -> Assessment:
    return Assessment.objects.get(programme=programme, kind=kind)


def _reader(programme: Programme, language: str = "en") -> Client:
    client = Client()
    client.force_login(member_of(programme, Membership.Role.ANALYST))
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


def _page(client: Client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


@dataclass
class Row:
    label: str
    values: list[str]
    note: str


@dataclass
class Figure:
    svg: Element
    headers: list[str]
    rows: list[Row]

    def tip(self, row: Row) -> str:
        """What hovering the row's mark should say: the row of the table, a column a line."""
        if row.note:
            return f"{row.label}\n{row.note}"
        pairs = zip(self.headers[1:], row.values, strict=True)
        return "\n".join([row.label, *(f"{header}: {value}" for header, value in pairs)])

    @property
    def titles(self) -> list[str]:
        return [title.text or "" for title in self.svg.iter(f"{SVG}title")]

    @property
    def texts(self) -> list[str]:
        """The text drawn, a text element (its lines joined by spaces) an item."""
        return [" ".join(text.itertext()) for text in self.svg.iter(f"{SVG}text")]


def _cells(row_html: str) -> list[str]:
    return [html.unescape(cell) for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row_html)]


def figure(page: str, chart_id: str) -> Figure:
    """The chart ``chart_id`` of a page: its SVG, parsed, and the table beside it."""
    match = re.search(rf'<figure class="chart" id="{chart_id}">(.*?)</figure>', page, re.S)
    assert match is not None, f"no {chart_id} on the page"
    content = match.group(1)
    svg = re.search(r"<svg .*?</svg>", content, re.S)
    assert svg is not None
    rows = re.findall(r"<tr>(.*?)</tr>", content, re.S)
    headers = _cells(rows[0])
    body = []
    for row in rows[1:]:
        label, *values = _cells(row)
        suppressed = 'class="suppressed"' in row
        body.append(
            Row(
                label=label,
                values=[] if suppressed else values,
                note=values[0] if suppressed else "",
            )
        )
    return Figure(svg=fromstring(svg.group(0)), headers=headers, rows=body)


def assert_same_numbers(chart: Figure, *, draws_withheld: bool = False) -> None:
    """Every row of the table with numbers is a mark of the chart saying those numbers, and
    the chart says nothing else; a suppressed row has no number in the table and, when the
    chart draws it at all (a grey district), none in the chart."""
    shown = {chart.tip(row) for row in chart.rows if not row.note}
    withheld = {chart.tip(row) for row in chart.rows if row.note}
    assert shown, "the chart draws something"
    titles = set(chart.titles)
    assert shown <= titles
    assert titles - shown == (withheld if draws_withheld else set())
    for row in chart.rows:
        if row.note:
            assert row.values == [] and not re.search(r"\d+ ?%|\d\.\d\d", row.note)


def test_the_district_bars_hold_the_numbers_of_their_table(programme: Programme) -> None:
    """Without boundaries, the districts are bars: one per district with a number, the
    suppressed ones in the table with the reason and in the chart not at all."""
    Place.objects.filter(code__in=TJ_DISTRICTS).update(boundary=None)
    baseline = _assessment(programme, "baseline")
    url = f"/p/{programme.slug}/findings/{baseline.pk}/?indicator=safe_night"
    chart = figure(_page(_reader(programme), url), "chart-district")

    assert_same_numbers(chart)
    assert chart.headers == ["District", "Estimate", "95% interval", "n"]
    findings = services.latest_ready(baseline.forms.get())
    assert findings is not None
    records = [
        r
        for r in findings.results["estimates"]
        if r["indicator"] == "safe_night" and r["by"] == ["district"]
    ]
    names = present.place_names({r["domain"]["district"] for r in records})
    suppressed = {names[r["domain"]["district"]] for r in records if r["estimate"] is None}
    assert suppressed, "a minimum cell of 30 suppresses some of ten districts of 300"
    assert {row.label for row in chart.rows if row.note} == suppressed
    assert len(chart.titles) == len(records) - len(suppressed)
    assert not suppressed & {text for text in chart.texts}  # no bar, no axis label
    # Fits a phone: scales with its box, drawn no wider than a 360 px screen's chart area
    # needs (so its text stays legible when it shrinks).
    assert chart.svg.get("width") == "100%" and chart.svg.get("viewBox")
    assert float((chart.svg.get("viewBox") or "").split()[2]) <= 400


def test_the_district_map_greys_out_suppressed_districts(programme: Programme) -> None:
    square = [[0.0, 0.0], [0.1, 0.0], [0.1, 0.1], [0.0, 0.1], [0.0, 0.0]]
    for index, place in enumerate(Place.objects.filter(code__in=TJ_DISTRICTS).order_by("code")):
        ring = [[68 + index * 0.2 + x, 38 + y] for x, y in square]
        place.boundary = {"type": "Polygon", "coordinates": [ring]}
        place.save(update_fields=["boundary"])
    baseline = _assessment(programme, "baseline")
    url = f"/p/{programme.slug}/findings/{baseline.pk}/?indicator=safe_night"
    page = _page(_reader(programme), url)
    chart = figure(page, "chart-district")

    assert_same_numbers(chart, draws_withheld=True)
    assert any(row.note for row in chart.rows)
    assert "<figcaption>Grey districts are suppressed; the table below says why." in page
    assert len(list(chart.svg.iter(f"{SVG}title"))) == len(TJ_DISTRICTS)


def test_the_breakdown_by_a_question_shows_its_choice_labels(programme: Programme) -> None:
    baseline = _assessment(programme, "baseline")
    url = f"/p/{programme.slug}/findings/{baseline.pk}/?indicator=safe_night&by=returning_migrant"
    page = _page(_reader(programme, "tg"), url)
    chart = figure(page, "chart-breakdown")

    assert_same_numbers(chart)
    with translation.override("tg"):
        labels = present.choice_labels(baseline.forms.get())["returning_migrant"]
    assert {row.label for row in chart.rows} <= set(labels.values())
    assert {"yes", "no"}.isdisjoint(row.label for row in chart.rows)
    assert {"yes", "no"}.isdisjoint(chart.texts)
    assert chart.headers[0].startswith("Оё шумо")  # the question, in Tajik


def test_the_gender_gap_dots_hold_the_numbers_of_their_table(programme: Programme) -> None:
    baseline = _assessment(programme, "baseline")
    page = _page(_reader(programme), f"/p/{programme.slug}/findings/{baseline.pk}/gender/")
    chart = figure(page, "chart-gap")

    assert_same_numbers(chart)
    rows = {row.label: row for row in chart.rows}
    assert rows["Women returning migrants who feel safe at night"].note
    # Two dots a row: women and men.
    assert len(chart.titles) == 2 * sum(1 for row in chart.rows if not row.note)


def test_the_change_bars_are_sorted_by_the_change_and_carry_their_values(
    programme: Programme,
) -> None:
    baseline, endline = _assessment(programme, "baseline"), _assessment(programme, "endline")
    url = f"/p/{programme.slug}/findings/change/?baseline={baseline.pk}&endline={endline.pk}"
    chart = figure(_page(_reader(programme), url), "chart-change")

    assert_same_numbers(chart)
    assert chart.headers == ["Indicator", "Baseline", "Endline", "Change"]
    changes = [int(row.values[2].split()[0]) for row in chart.rows if not row.note]
    assert changes == sorted(changes, key=abs, reverse=True)
    assert [row.note for row in chart.rows][-1], "the suppressed indicator comes last"
    # The values are written on the bars, and the change after each indicator's label.
    for row in chart.rows:
        if not row.note:
            assert {row.values[0], row.values[1]} <= set(chart.texts)
            assert any(text.endswith(f"({row.values[2]})") for text in chart.texts)
    assert "Trust in the police, mean score (1-5)" not in " ".join(chart.titles)


def test_a_hostile_label_stays_text_in_every_chart(programme: Programme) -> None:
    baseline, endline = _assessment(programme, "baseline"), _assessment(programme, "endline")
    client = _reader(programme)
    base = f"/p/{programme.slug}/findings/"
    pages = {
        "chart-district": f"{base}{baseline.pk}/?indicator=hostile",
        "chart-gap": f"{base}{baseline.pk}/gender/",
        "chart-change": f"{base}change/?baseline={baseline.pk}&endline={endline.pk}",
    }
    for chart_id, url in pages.items():
        page = _page(client, url)
        assert HOSTILE not in page and "<script>alert" not in page
        assert page.count("</svg>") == len(re.findall(r"<svg[\s>]", page))
        assert page.count("</script>") == len(re.findall(r"<script[\s>]", page))
        chart = figure(page, chart_id)
        assert HOSTILE in "".join(chart.svg.itertext())  # drawn, as text


@pytest.mark.parametrize(("language", "label"), [("tg", SAFE_NIGHT_TG), ("uz", SAFE_NIGHT_UZ)])
def test_tajik_and_uzbek_labels_are_drawn(programme: Programme, language: str, label: str) -> None:
    baseline = _assessment(programme, "baseline")
    page = _page(
        _reader(programme, language), f"/p/{programme.slug}/findings/{baseline.pk}/gender/"
    )
    chart = figure(page, "chart-gap")
    assert label in chart.texts  # the axis label, its lines joined
    assert any(title.startswith(f"{label}\n") for title in chart.titles)
    assert 'font-family="system-ui' in page


def test_the_findings_pages_send_no_chart_library(programme: Programme) -> None:
    baseline, endline = _assessment(programme, "baseline"), _assessment(programme, "endline")
    client = _reader(programme)
    base = f"/p/{programme.slug}/findings/"
    for url in (
        f"{base}{baseline.pk}/",
        f"{base}{baseline.pk}/gender/",
        f"{base}change/?baseline={baseline.pk}&endline={endline.pk}",
    ):
        page = _page(client, url)
        assert "vega" not in page.lower() and "charts.js" not in page
        assert "<svg " in page


def test_a_chart_is_drawn_once(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = charts.domain_bars(
        [{"label": "Vanj", "estimate": 0.5, "ci_low": 0.4, "ci_high": 0.6, "tip": "Vanj"}],
        kind="proportion",
        value_title="Feel safe",
    )
    first = charts.render_svg(spec)

    import vl_convert

    def refuse(*args: object, **kwargs: object) -> str:
        raise AssertionError("drawn again")

    monkeypatch.setattr(vl_convert, "vegalite_to_svg", refuse)
    assert charts.render_svg(spec) == first


def test_only_drawing_survives_the_cleaning() -> None:
    """Whatever a renderer emitted, the page gets drawing elements and escaped text only."""
    raw = (
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
        'width="100" height="50" viewBox="0 0 100 50" onload="alert(1)">'
        "<script>alert(2)</script>"
        '<foreignObject><div xmlns="http://www.w3.org/1999/xhtml">x</div></foreignObject>'
        '<a xlink:href="javascript:alert(3)"><text>link</text></a>'
        '<g style="fill:url(http://evil.example/x)" fill="url(http://evil.example/y)">'
        '<path d="M0,0h1" fill="url(#gradient_0)" onclick="alert(4)" '
        'role="graphics-symbol" aria-label="&lt;/svg&gt;&lt;script&gt;alert(5)&lt;/script&gt;"/>'
        "<text>&lt;/svg&gt;&lt;img src=x onerror=alert(6)&gt;</text></g>"
        '<linearGradient id="gradient_0"><stop offset="0" stop-color="#fff"/></linearGradient>'
        "</svg>"
    )
    cleaned = charts.clean_svg(raw, prefix="c1-")
    for gone in ("script>", "onload", "onclick", "foreignObject", "javascript", "evil", "style="):
        assert gone not in cleaned.replace('style="display:block', "")
    assert "<img" not in cleaned and "&lt;img src=x" in cleaned
    assert "<title>&lt;/svg&gt;&lt;script&gt;alert(5)&lt;/script&gt;</title>" in cleaned
    assert 'fill="url(#c1-gradient_0)"' in cleaned and 'id="c1-gradient_0"' in cleaned
    assert cleaned.count("<svg") == 1 and cleaned.endswith("</svg>")
