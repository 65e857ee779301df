"""The demo survey: its XLSForm converts with pyxform in four languages, and the generated
respondents follow the sampling design and show the patterns built into them."""

from __future__ import annotations

import datetime as dt
import io
import re
from functools import cache
from typing import Any

import polars as pl
import pytest
import yaml
from openpyxl import load_workbook
from pyxform.xls2xform import convert

from amniyat.demo.survey import (
    CONCERNS,
    COUNTRIES,
    DEFAULT_N,
    FIELDS,
    FIELDWORK,
    LANGUAGES,
    PLACES_FILE,
    TIME_ZONES,
    Country,
    Phase,
    build_xlsform,
    design_info,
    generate_responses,
)
from amniyat.stats import Design, estimate

SEED = 7
SELECT_ONE = {
    "consent": "consent",
    "district": "district",
    "settlement": "settlement",
    "sex": "sex",
    "returning_migrant": "yes_no",
    "safe_day": "safety",
    "safe_night": "safety",
    "trust_police": "trust",
    "trust_local_authority": "trust",
    "authorities_consult": "yes_no_dk",
    "women_participate": "yes_no_dk",
    "youth_participate": "yes_no_dk",
    "aware_community_group": "yes_no",
    "participated_community_meeting": "yes_no",
    "harassment_experienced": "yes_no_refused",
    "violence_experienced": "yes_no_refused",
}


@cache
def responses(country: Country, phase: Phase) -> pl.DataFrame:
    return generate_responses(country, phase=phase, seed=SEED)


@cache
def workbook(country: Country) -> dict[str, list[dict[str, Any]]]:
    """Each sheet of the XLSForm as a list of rows keyed by header."""
    book = load_workbook(io.BytesIO(build_xlsform(country)), read_only=True)
    sheets = {}
    for sheet in book.worksheets:
        rows = list(sheet.iter_rows(values_only=True))
        header = [str(h) for h in rows[0]]
        sheets[sheet.title] = [dict(zip(header, row, strict=True)) for row in rows[1:]]
    return sheets


def choice_names(country: Country, list_name: str) -> set[str]:
    return {str(r["name"]) for r in workbook(country)["choices"] if r["list_name"] == list_name}


def weighted_share(frame: pl.DataFrame, condition: pl.Expr) -> float:
    """Weighted proportion of rows meeting ``condition`` (nulls count as not meeting it)."""
    value = frame.select(
        (condition.fill_null(False).cast(pl.Float64) * pl.col("weight")).sum()
        / pl.col("weight").sum()
    ).item()
    return float(value)


# --- the XLSForm -------------------------------------------------------------------------------


@pytest.mark.parametrize("country", COUNTRIES)
def test_xlsform_converts_with_pyxform(country: Country) -> None:
    warnings: list[str] = []
    result = convert(xlsform=build_xlsform(country), warnings=warnings, file_type=".xlsx")

    assert warnings == []
    assert f'id="community_security_{country.lower()}"' in result.xform
    for language in LANGUAGES.values():
        assert f'<translation lang="{language}"' in result.xform
    for name in set(FIELDS) - {"instance_id", "submitted_at"}:
        assert re.search(rf'<bind nodeset="/data/(safety/)?{name}"', result.xform), name
    # Settlements are filtered by district; the weight is looked up on the chosen settlement.
    assert "instance('settlement')/root/item[district =  /data/district ]" in result.xform
    assert 'nodeset="/data/weight" type="decimal"' in result.xform


@pytest.mark.parametrize("country", COUNTRIES)
def test_every_label_hint_and_choice_is_in_four_languages(country: Country) -> None:
    sheets = workbook(country)
    for sheet, kinds in (
        ("survey", ("label", "hint", "constraint_message")),
        ("choices", ("label",)),
    ):
        for row in sheets[sheet]:
            for kind in kinds:
                texts = [row[f"{kind}::{language}"] for language in LANGUAGES.values()]
                assert all(texts) or not any(texts), (sheet, row["name"], kind)
    labelled = [r for r in sheets["survey"] if r["label::English (en)"]]
    assert len(labelled) > 20
    # Tajik in Cyrillic with its own letters, Uzbek in Latin.
    tajik = " ".join(str(r["label::Tajik (tg)"]) for r in labelled)
    uzbek = " ".join(str(r["label::Uzbek (uz)"]) for r in labelled)
    assert re.search("[ҳҷӣӯқғ]", tajik)
    assert not re.search("[а-яА-Я]", uzbek)
    settings = sheets["settings"][0]
    assert settings["form_id"] == f"community_security_{country.lower()}"
    assert settings["default_language"] == "English (en)"
    assert settings["version"]


@pytest.mark.parametrize("country", COUNTRIES)
def test_consent_comes_first_and_guards_the_interview(country: Country) -> None:
    survey = workbook(country)["survey"]
    questions = [r for r in survey if r["type"] not in ("start", "end", "username")]
    assert questions[0]["name"] == "consent"
    for row in questions[1:]:
        if row["type"] in ("end group",) or row["name"] in ("participated_community_meeting",):
            continue
        if row["name"] in ("safe_day", "safe_night", "concerns", "causes"):
            continue  # inside the safety group, which carries the condition
        assert row["relevant"] == "${consent} = 'yes'", row["name"]
    group = [r["name"] for r in survey]
    start, end = group.index("safety"), len(group) - 1 - group[::-1].index("safety")
    assert group[start + 1 : end] == ["safe_day", "safe_night", "concerns", "causes"]
    by_name = {r["name"]: r for r in survey}
    assert by_name["participated_community_meeting"]["relevant"] == (
        "${aware_community_group} = 'yes'"
    )
    assert by_name["causes"]["required"] in (None, "")
    assert by_name["age"]["constraint"] == ". >= 15 and . <= 90"
    assert by_name["stratum"]["calculation"] == "${district}"
    assert by_name["cluster"]["calculation"] == "${settlement}"


@pytest.mark.parametrize("country", COUNTRIES)
def test_districts_are_place_codes_with_about_six_settlements_each(country: Country) -> None:
    places = yaml.safe_load(PLACES_FILE.read_text(encoding="utf-8"))
    codes: set[str] = set()

    def visit(node: dict[str, Any]) -> None:
        codes.add(node["code"])
        for child in node.get("children", []):
            visit(child)

    for root in places:
        visit(root)
    districts = choice_names(country, "district")
    assert districts == set(design_info(country)["clusters_per_stratum"])
    assert districts <= codes
    assert len(districts) == (10 if country == "TJ" else 8)
    settlements = [r for r in workbook(country)["choices"] if r["list_name"] == "settlement"]
    for district in districts:
        own = [r for r in settlements if r["district"] == district]
        assert 6 <= len(own) <= 8
        assert all(re.fullmatch(rf"{district}-\d\d", str(r["name"])) for r in own)
        assert all(float(r["design_weight"]) > 0 for r in own)
    assert choice_names(country, "concerns") == set(CONCERNS)
    assert choice_names(country, "trust") == {"1", "2", "3", "4", "5"}


# --- the generated respondents -----------------------------------------------------------------


@pytest.mark.parametrize("country", COUNTRIES)
def test_frame_has_the_form_fields_and_default_size(country: Country) -> None:
    frame = responses(country, "baseline")

    assert tuple(frame.columns) == FIELDS
    assert frame.height == DEFAULT_N[country]
    assert frame.schema["age"] == pl.Int64
    assert frame.schema["weight"] == pl.Float64
    assert frame.schema["submitted_at"] == pl.Datetime("us", "UTC")
    assert frame["instance_id"].str.contains(r"^uuid:[0-9a-f-]{36}$").all()
    assert frame["instance_id"].n_unique() == frame.height
    assert frame["enumerator"].str.contains(rf"^{country}-E\d\d$").all()


def test_same_seed_same_frame_other_seed_other_frame() -> None:
    first = generate_responses("UZ", phase="endline", n=400, seed=3)
    again = generate_responses("UZ", phase="endline", n=400, seed=3)
    other = generate_responses("UZ", phase="endline", n=400, seed=4)

    assert first.equals(again)
    assert not first.equals(other)
    assert first.height == 400


@pytest.mark.parametrize("country", COUNTRIES)
def test_stratified_two_stage_design(country: Country) -> None:
    info = design_info(country)
    frame = responses(country, "baseline")

    assert (info["weight"], info["strata"], info["cluster"]) == ("weight", "stratum", "cluster")
    assert (frame["weight"] > 0).all()
    assert frame["stratum"].equals(frame["district"], check_names=False)
    assert frame["cluster"].equals(frame["settlement"], check_names=False)
    per_stratum = frame.group_by("stratum").agg(
        clusters=pl.col("cluster").n_unique(),
        weight=pl.col("weight").sum(),
        wmin=pl.col("weight").min(),
        wmax=pl.col("weight").max(),
    )
    assert set(per_stratum["stratum"]) == set(info["clusters_per_stratum"])
    for row in per_stratum.iter_rows(named=True):
        assert row["clusters"] == info["clusters_per_stratum"][row["stratum"]] >= 2
        # Weights add up to each district's (invented) adult population.
        assert row["weight"] == pytest.approx(info["adult_population"][row["stratum"]], rel=1e-3)
    # Weights vary: between districts (allocation) and within them (achieved takes).
    assert frame.select(pl.col("weight").max() / pl.col("weight").min()).item() > 2
    assert (per_stratum["wmax"] > per_stratum["wmin"]).any()
    # Clusters are nested in strata, and every settlement has several respondents.
    per_cluster = frame.group_by("cluster").agg(pl.len(), strata=pl.col("stratum").n_unique())
    assert per_cluster.select(pl.col("strata").max()).item() == 1
    assert per_cluster.select(pl.col("len").min()).item() >= 5
    # The same seed visits the same settlements at endline.
    endline = responses(country, "endline")
    assert set(endline["cluster"]) == set(frame["cluster"])


@pytest.mark.parametrize("country", COUNTRIES)
@pytest.mark.parametrize("phase", ["baseline", "endline"])
def test_answers_are_valid_for_the_form(country: Country, phase: Phase) -> None:
    frame = responses(country, phase)

    for column, list_name in SELECT_ONE.items():
        values = set(frame[column].drop_nulls())
        assert values <= choice_names(country, list_name), column
    tokens = set(frame["concerns"].str.split(" ").explode())
    assert tokens <= set(CONCERNS)
    assert frame["concerns"].null_count() == 0
    assert frame["age"].is_between(15, 90).all()
    bands = frame.select(
        pl.col("age_band")
        == pl.when(pl.col("age") < 18)
        .then(pl.lit("under_18"))
        .when(pl.col("age") < 25)
        .then(pl.lit("18_24"))
        .when(pl.col("age") < 30)
        .then(pl.lit("25_29"))
        .when(pl.col("age") < 45)
        .then(pl.lit("30_44"))
        .when(pl.col("age") < 60)
        .then(pl.lit("45_59"))
        .otherwise(pl.lit("60_plus"))
    )
    assert bands.to_series().all()
    # Skip logic: the meeting question only for those who know a group.
    asked = frame["aware_community_group"] == "yes"
    assert frame.filter(asked)["participated_community_meeting"].null_count() == 0
    assert frame.filter(~asked)["participated_community_meeting"].null_count() == (~asked).sum()
    # Some missing and refused answers, as in real fieldwork.
    assert 0 < frame["trust_police"].null_count() < 0.1 * frame.height
    assert (frame["harassment_experienced"] == "refused").any()
    assert (frame["authorities_consult"] == "dont_know").any()
    # Times fall within the fieldwork dates, in order.
    first, last = FIELDWORK[(country, phase)]
    local = frame.select(
        pl.col("start", "submitted_at").dt.convert_time_zone(TIME_ZONES[country]).dt.date()
    )
    assert local.select(pl.col("start").min()).item() >= first
    assert local.select(pl.col("submitted_at").max()).item() <= last
    assert (frame["start"] < frame["end"]).all()
    assert (frame["end"] <= frame["submitted_at"]).all()
    assert frame["submitted_at"].is_sorted()


@pytest.mark.parametrize("country", COUNTRIES)
def test_open_answers_in_several_languages(country: Country) -> None:
    causes = responses(country, "baseline")["causes"]
    answered = causes.drop_nulls()

    assert 0.15 < answered.len() / causes.len() < 0.4
    cyrillic = answered.str.contains("[А-Яа-яЁё]")
    tajik = answered.str.contains("[ҳҷӣӯқғ]")
    uzbek = answered.str.contains("o'|g'|sh|ch") & ~cyrillic
    assert cyrillic.sum() > 0 and uzbek.sum() > 0 and tajik.sum() > 0
    main = tajik if country == "TJ" else uzbek
    assert main.sum() > 0.4 * answered.len()


# --- the designed differences ------------------------------------------------------------------


@pytest.mark.parametrize("country", COUNTRIES)
def test_women_feel_less_safe_at_night_and_report_more_harassment(country: Country) -> None:
    frame = responses(country, "baseline")
    women, men = frame.filter(pl.col("sex") == "female"), frame.filter(pl.col("sex") == "male")
    safe_night = pl.col("safe_night").is_in(["safe", "very_safe"])
    harassed = pl.col("harassment_experienced") == "yes"

    assert weighted_share(men, safe_night) - weighted_share(women, safe_night) > 0.10
    assert weighted_share(women, harassed) > weighted_share(men, harassed) + 0.08


@pytest.mark.parametrize("country", COUNTRIES)
def test_endline_improves_on_the_programme_outcomes(country: Country) -> None:
    baseline, endline = responses(country, "baseline"), responses(country, "endline")
    consulted = pl.col("authorities_consult") == "yes"
    aware = pl.col("aware_community_group") == "yes"
    trusts = pl.col("trust_police").is_in(["4", "5"])

    assert weighted_share(endline, consulted) > weighted_share(baseline, consulted) + 0.03
    assert weighted_share(endline, aware) > weighted_share(baseline, aware) + 0.03
    assert weighted_share(endline, trusts) > weighted_share(baseline, trusts)

    # More so where community groups already existed.
    existing = pl.col("district").is_in(design_info(country)["existing_groups"])

    def gain(where: pl.Expr) -> float:
        return weighted_share(endline.filter(where), aware) - weighted_share(
            baseline.filter(where), aware
        )

    assert gain(existing) > gain(~existing)


def test_trust_in_police_is_low_and_lowest_among_young_men_and_returning_migrants() -> None:
    frame = responses("TJ", "baseline")
    trusts = pl.col("trust_police").is_in(["4", "5"])
    young_men = (pl.col("sex") == "male") & (pl.col("age") < 30)
    migrants = pl.col("returning_migrant") == "yes"
    others = ~young_men & ~migrants

    assert weighted_share(frame, trusts) < 0.35
    assert weighted_share(frame.filter(young_men), trusts) < weighted_share(
        frame.filter(others), trusts
    )
    assert weighted_share(frame.filter(migrants), trusts) < weighted_share(
        frame.filter(others), trusts
    )


def test_young_people_and_returning_migrants_name_unemployment_and_idleness_more() -> None:
    frame = responses("TJ", "baseline")
    young = pl.col("age") < 30
    migrants = pl.col("returning_migrant") == "yes"
    older_settled = ~young & ~migrants
    for concern in ("unemployment", "youth_idleness"):
        named = pl.col("concerns").str.contains(rf"\b{concern}\b")
        rest = weighted_share(frame.filter(older_settled), named)
        assert weighted_share(frame.filter(young), named) > rest + 0.03, concern
        assert weighted_share(frame.filter(migrants), named) > rest + 0.03, concern


def test_districts_differ() -> None:
    frame = responses("TJ", "baseline")
    land_or_border = pl.col("concerns").str.contains("conflict_neighbours|land_water")
    trusts = pl.col("trust_police").is_in(["4", "5"])

    def share(district: str, condition: pl.Expr) -> float:
        return weighted_share(frame.filter(pl.col("district") == district), condition)

    assert share("TJ-SU-ISF", land_or_border) > share("TJ-RA-VAH", land_or_border) + 0.2
    assert share("TJ-GB-VAN", trusts) < share("TJ-RA-VAH", trusts)


def test_the_frame_works_with_the_stats_library() -> None:
    info = design_info("UZ")
    frame = responses("UZ", "baseline").with_columns(
        safe_at_night=pl.col("safe_night").is_in(["safe", "very_safe"])
    )
    design = Design(weight=info["weight"], strata=info["strata"], cluster=info["cluster"])

    result = estimate(frame, design, kind="proportion", value="safe_at_night")

    assert result.n == frame.height
    assert result.value is not None and 0.3 < result.value < 0.8
    assert result.se is not None and result.deff is not None and result.deff > 1


def test_bad_arguments_are_refused_with_a_clear_message() -> None:
    with pytest.raises(ValueError, match="country must be one of TJ, UZ"):
        generate_responses("KZ", phase="baseline")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="phase must be one of baseline, endline"):
        generate_responses("TJ", phase="midline")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="n must be an integer of at least"):
        generate_responses("TJ", phase="baseline", n=10)
    with pytest.raises(ValueError, match="country must be one of"):
        build_xlsform("tj")  # type: ignore[arg-type]


def test_design_info_describes_fieldwork_dates() -> None:
    info = design_info("TJ")
    assert info["demo"] is True
    assert info["fpc"] is None
    assert info["default_n"] == 3000
    assert info["fieldwork"]["baseline"][0].startswith("2021-09")
    assert info["fieldwork"]["endline"][0].startswith("2022-06")
    assert dt.date.fromisoformat(design_info("UZ")["fieldwork"]["baseline"][1]).month == 4
