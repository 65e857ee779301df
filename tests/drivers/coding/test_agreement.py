"""Agreement between two coders: Cohen's kappa per code over the passages of the notes both
coded (checked against scikit-learn), the degenerate cases said in words, the Landis & Koch
bands, and the disagreements side by side."""

from __future__ import annotations

from typing import Any

import pytest
from sklearn.metrics import cohen_kappa_score

from amniyat.audit.models import AuditEvent
from amniyat.drivers.coding import agreement as service
from amniyat.drivers.coding import services as sources_service
from amniyat.drivers.models import Code, Source
from tests.drivers.coding.test_sources import client_for, make_code, make_source, scene, url

__all__ = ["scene"]

TEN = " ".join(f"Предложение номер {n}." for n in range(10))


def code_passages(
    scene: dict[str, Any], who: str, source: Source, code: Code, *positions: int
) -> None:
    for position in positions:
        passage = source.passages.get(position=position)
        sources_service.excerpt_create(
            user=scene[who], source=source, code=code, start=passage.start, end=passage.end
        )


def row_for(report: service.AgreementReport, code: Code) -> service.CodeAgreement:
    return next(row for row in report.rows if row.code == code)


def test_kappa_per_code_matches_scikit_learn(scene: dict[str, Any]) -> None:
    source = make_source(scene, text=TEN)
    code = scene["violence"]
    a_positions, b_positions = {0, 1, 2, 3, 7}, {0, 1, 2, 5, 8, 9}
    code_passages(scene, "lead", source, code, *a_positions)
    code_passages(scene, "analyst", source, code, *b_positions)
    report = service.agreement(
        user=scene["lead"],
        programme=scene["programme"],
        coder_a=scene["lead"],
        coder_b=scene["analyst"],
    )
    row = row_for(report, code)
    expected = cohen_kappa_score(
        [n in a_positions for n in range(10)], [n in b_positions for n in range(10)]
    )
    assert row.kappa == pytest.approx(expected, abs=1e-3)
    assert (row.both, row.only_a, row.only_b, row.neither) == (3, 2, 3, 2)
    assert row.observed == pytest.approx(0.5)
    assert report.passages == 10 and report.sources == [source]


def test_an_excerpt_counts_for_every_passage_it_overlaps(scene: dict[str, Any]) -> None:
    source = make_source(scene, text=TEN)
    code = scene["violence"]
    third, fourth = source.passages.get(position=3), source.passages.get(position=4)
    # Coder A selects from the middle of passage 3 to the middle of passage 4.
    sources_service.excerpt_create(
        user=scene["lead"], source=source, code=code, start=third.start + 5, end=fourth.start + 3
    )
    code_passages(scene, "analyst", source, code, 3, 4)
    row = row_for(
        service.agreement(
            user=scene["lead"],
            programme=scene["programme"],
            coder_a=scene["lead"],
            coder_b=scene["analyst"],
        ),
        code,
    )
    assert (row.both, row.only_a, row.only_b, row.kappa) == (2, 0, 0, 1.0)
    assert (row.band, row.note) == ("almost_perfect", "Full agreement.")


def test_degenerate_cases_are_said_in_words(scene: dict[str, Any]) -> None:
    source = make_source(scene, text=TEN)
    everywhere, alone = scene["violence"], scene["unemployment"]
    code_passages(scene, "lead", source, everywhere, *range(10))
    code_passages(scene, "analyst", source, everywhere, *range(10))
    code_passages(scene, "lead", source, alone, 4)
    report = service.agreement(
        user=scene["lead"],
        programme=scene["programme"],
        coder_a=scene["lead"],
        coder_b=scene["analyst"],
    )
    full = row_for(report, everywhere)
    assert full.kappa is None and full.band == "undefined"
    assert "kappa is undefined" in full.note
    one_sided = row_for(report, alone)
    assert one_sided.kappa == 0.0 and one_sided.note == "Only lead applied this code."
    assert report.unused == [scene["migration"]]  # a code nobody used is listed, not computed


def test_coders_with_no_shared_sources(scene: dict[str, Any]) -> None:
    first = make_source(scene, text=TEN, title="FIRST")
    second = make_source(scene, text=TEN, title="SECOND")
    code_passages(scene, "lead", first, scene["violence"], 1)
    code_passages(scene, "analyst", second, scene["violence"], 1)
    report = service.agreement(
        user=scene["lead"],
        programme=scene["programme"],
        coder_a=scene["lead"],
        coder_b=scene["analyst"],
    )
    assert report.sources == [] and report.rows == [] and report.passages == 0
    page = client_for(scene["lead"]).get(
        url("agreement", scene), {"a": scene["lead"].pk, "b": scene["analyst"].pk}
    )
    assert 'id="no-shared"' in page.content.decode()


def test_only_chosen_shared_sources_count(scene: dict[str, Any]) -> None:
    first = make_source(scene, text=TEN, title="FIRST")
    second = make_source(scene, text=TEN, title="SECOND")
    for source in (first, second):
        code_passages(scene, "lead", source, scene["violence"], 1)
    code_passages(scene, "analyst", first, scene["violence"], 1)
    code_passages(scene, "analyst", second, scene["violence"], 2)
    report = service.agreement(
        user=scene["lead"],
        programme=scene["programme"],
        coder_a=scene["lead"],
        coder_b=scene["analyst"],
        sources=[first.pk],
    )
    assert report.sources == [first] and row_for(report, scene["violence"]).kappa == 1.0


@pytest.mark.parametrize(
    ("kappa", "band"),
    [
        (-0.1, "poor"),
        (0.0, "slight"),
        (0.2, "slight"),
        (0.21, "fair"),
        (0.4, "fair"),
        (0.55, "moderate"),
        (0.8, "substantial"),
        (0.81, "almost_perfect"),
        (1.0, "almost_perfect"),
    ],
)
def test_landis_and_koch_bands(kappa: float, band: str) -> None:
    assert service.landis_koch(kappa)[0] == band


def test_the_agreement_page_and_the_disagreements_side_by_side(scene: dict[str, Any]) -> None:
    source = make_source(scene, text=TEN)
    code = scene["violence"]
    code_passages(scene, "lead", source, code, 0, 1, 2)
    code_passages(scene, "analyst", source, code, 0, 1, 6)
    code_passages(scene, "analyst", source, scene["unemployment"], 2)
    client = client_for(scene["lead"])
    query = {"a": scene["lead"].pk, "b": scene["analyst"].pk}
    page = client.get(url("agreement", scene), query).content.decode()
    assert 'id="agreement-table"' in page and 'id="chart-kappa"' in page
    # Drawn on the server: an SVG, no script.
    assert "<svg" in page.split('id="chart-kappa"', 1)[1] and "vega" not in page.lower()
    assert f'data-code="{code.pk}"' in page
    assert url("agreement_code", scene, code.pk) in page

    response = client.get(url("agreement_code", scene, code.pk), query)
    rows = response.context["disagreements"]
    assert [(d.text, d.applied_by_a) for d in rows] == [
        ("Предложение номер 2.", True),
        ("Предложение номер 6.", False),
    ]
    assert [c.key for c in rows[0].codes_a] == ["violence"]
    assert [c.key for c in rows[0].codes_b] == ["unemployment"]
    assert response.content.decode().count('class="disagreement"') == 2
    event = AuditEvent.objects.filter(verb=sources_service.VIEW_TEXT).latest("at")
    assert event.details["sources"] == [source.pk] and len(event.details["passages"]) == 2


def test_the_same_coder_twice_is_refused_and_outsiders_see_nothing(
    scene: dict[str, Any],
) -> None:
    source = make_source(scene, text=TEN)
    code_passages(scene, "lead", source, scene["violence"], 1)
    code_passages(scene, "analyst", source, scene["violence"], 1)
    lead = scene["lead"].pk
    page = client_for(scene["lead"]).get(url("agreement", scene), {"a": lead, "b": lead})
    assert "Choose two different coders." in page.content.decode()
    # A facilitator of another organisation sees no coder of notes they cannot read.
    assert service.coders(user=scene["outsider"], programme=scene["programme"]) == []
    for who in ("viewer", "member"):
        assert client_for(scene[who]).get(url("agreement", scene)).status_code == 404


def test_kappa_chart_lists_only_defined_values(scene: dict[str, Any]) -> None:
    other = make_code(scene["programme"], "other")
    source = make_source(scene, text=TEN)
    code_passages(scene, "lead", source, scene["violence"], *range(10))
    code_passages(scene, "analyst", source, scene["violence"], *range(10))
    code_passages(scene, "lead", source, other, 1, 2)
    code_passages(scene, "analyst", source, other, 2)
    report = service.agreement(
        user=scene["lead"],
        programme=scene["programme"],
        coder_a=scene["lead"],
        coder_b=scene["analyst"],
    )
    values = service.kappa_chart(report)["data"]["values"]
    assert [v["code"] for v in values] == ["Other"]
    assert values[0]["kappa"] == row_for(report, other).kappa
