"""Indicator definitions: semantics of proportions, means and expansions; YAML; validation."""

from __future__ import annotations

import polars as pl
import pytest

from amniyat.analysis import (
    IndicatorError,
    UnknownFieldError,
    dump_indicators,
    form_fields,
    load_indicators,
    measures_for,
    run_analysis,
)
from amniyat.analysis.errors import ExpressionError

from .survey import INDICATORS_FILE, make_demo_survey

FRAME = pl.DataFrame(
    {
        "safe": ["safe", "unsafe", None, "", "very_safe", "safe"],
        "trust": ["4", "2", "", None, "5", "not sure"],
        "concerns": ["gbv theft", "theft", None, "", "drugs", "gbv"],
        "sex": ["female", "male", "female", "male", "female", "male"],
    }
)

DEMO_FIELDS = {
    "district", "settlement", "sex", "age", "age_band", "returning_migrant", "safe_day",
    "safe_night", "concerns", "causes", "trust_police", "trust_local_authority",
    "authorities_consult", "women_participate", "youth_participate", "harassment_experienced",
    "violence_experienced", "aware_community_group", "participated_community_meeting", "weight",
    "stratum", "cluster",
}  # fmt: skip


def column(spec: str, frame: pl.DataFrame = FRAME) -> dict[str, list[float | None]]:
    indicators = load_indicators(spec, fields=frame.columns)
    measures = measures_for(indicators, frame)
    return {m.id: frame.select(m.column(frame.schema).alias("x"))["x"].to_list() for m in measures}


def test_proportion_denominator_is_those_asked() -> None:
    values = column(
        """
indicators:
  - {id: feels_safe, label: Safe, type: proportion, numerator: "${safe} = 'safe'"}
"""
    )
    # Rows 3 and 4 were not asked (null / empty): out of the denominator, not "no".
    assert values["feels_safe"] == [1.0, 0.0, None, None, 0.0, 1.0]


def test_denominator_counts_every_field_the_numerator_reads() -> None:
    values = column(
        """
indicators:
  - id: safe_and_trusting
    label: x
    type: proportion
    numerator: ${safe} = 'safe' and ${trust} >= 4
"""
    )
    assert values["safe_and_trusting"] == [1.0, 0.0, None, None, 0.0, 0.0]


def test_explicit_denominator_and_filter() -> None:
    values = column(
        """
indicators:
  - id: safe_women
    label: x
    type: proportion
    numerator: ${safe} = 'safe' or ${safe} = 'very_safe'
    denominator: ${safe} != 'unsafe'
    filter: ${sex} = 'female'
"""
    )
    # Denominator: not 'unsafe' (empties included, as written), and female.
    assert values["safe_women"] == [1.0, None, 0.0, None, 1.0, None]


def test_mean_leaves_empty_and_non_numbers_out() -> None:
    values = column(
        """
indicators:
  - {id: trust, label: x, type: mean, value: "${trust}"}
  - {id: trust_women, label: x, type: total, value: "${trust} * 2", filter: "${sex} = 'female'"}
"""
    )
    assert values["trust"] == [4.0, 2.0, None, None, 5.0, None]
    assert values["trust_women"] == [8.0, None, None, None, 10.0, None]
    indicators = load_indicators(
        "indicators: [{id: trust, label: x, type: mean, value: '${trust}'}]"
    )
    (overall,) = run_analysis(FRAME, indicators, min_cell=1).estimates
    assert overall.estimate.n == 3  # never counted as zero
    assert overall.estimate.value == pytest.approx(11 / 3)


def test_expand_from_data_and_from_the_definition() -> None:
    values = column(
        """
indicators:
  - {id: concern, label: Concern, type: proportion, expand: "${concerns}"}
"""
    )
    assert list(values) == ["concern.drugs", "concern.gbv", "concern.theft"]
    assert values["concern.gbv"] == [1.0, 0.0, None, None, 0.0, 1.0]
    indicators = load_indicators(
        """
indicators:
  - id: concern
    label: Concern
    type: proportion
    expand: concerns
    choices: {theft: Theft, corruption: Corruption}
"""
    )
    measures = measures_for(indicators, FRAME)
    assert [(m.id, m.label) for m in measures] == [
        ("concern.theft", "Concern: Theft"),
        ("concern.corruption", "Concern: Corruption"),
    ]
    corruption = FRAME.select(measures[1].column(FRAME.schema).alias("x"))["x"].to_list()
    assert corruption == [0.0, 0.0, None, None, 0.0, 0.0]


def test_expand_takes_choices_from_the_form() -> None:
    schema = [
        {"name": "concerns", "type": "select_multiple", "choices": [{"name": "gbv"}]},
        {"name": "sex", "type": "select_one", "choices": [{"name": "female"}, {"name": "male"}]},
    ]
    names, choices = form_fields(schema)
    assert names == {"concerns", "sex"}
    indicators = load_indicators(
        "indicators: [{id: c, label: C, type: proportion, expand: '${concerns}'}]", fields=names
    )
    assert [m.id for m in measures_for(indicators, FRAME, choices=choices)] == ["c.gbv"]


def test_demo_indicators_round_trip_through_yaml() -> None:
    text = INDICATORS_FILE.read_text(encoding="utf-8")
    indicators = load_indicators(text, fields=DEMO_FIELDS)
    assert len(indicators) >= 20
    again = load_indicators(dump_indicators(indicators), fields=DEMO_FIELDS)
    assert again == indicators
    assert dump_indicators(again) == dump_indicators(indicators)


def test_demo_indicators_run_on_the_demo_survey() -> None:
    frame = make_demo_survey()
    indicators = load_indicators(INDICATORS_FILE.read_text(encoding="utf-8"), fields=DEMO_FIELDS)
    result = run_analysis(frame, indicators)
    assert len(result.measures) == len(indicators) - 1 + 12  # concerns expanded per choice
    values = {f.measure.id: f.estimate.value for f in result.estimates}
    assert all(value is not None and value >= 0 for value in values.values())


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            "indicators: [{id: a, label: A, type: proportion, numerator: \"${saef} = 'x'\"}]",
            "indicator a reads ${saef}, which is not in the data or the form; "
            "did you mean ${safe}?",
        ),
        (
            "indicators: [{id: a, label: A, type: mean, value: '${zzz_qqq}'}]",
            "indicator a reads ${zzz_qqq}, which is not in the data or the form",
        ),
        (
            "indicators: [{id: b, label: B, type: proportion, expand: '${nothing_like_it}'}]",
            "indicator b reads ${nothing_like_it}",
        ),
    ],
)
def test_unknown_fields_name_the_field_and_the_indicator(spec: str, message: str) -> None:
    with pytest.raises(UnknownFieldError) as caught:
        load_indicators(spec, fields=FRAME.columns)
    assert str(caught.value).startswith(message)


def test_malformed_expression_names_indicator_role_and_column() -> None:
    with pytest.raises(IndicatorError) as caught:
        load_indicators(
            'indicators: [{id: safe, label: S, type: proportion, numerator: "${safe} = = 1"}]'
        )
    assert str(caught.value).startswith("indicator safe, numerator: expected a value")
    assert "at column 11, found '='" in str(caught.value)
    assert isinstance(caught.value.__cause__, ExpressionError)
    assert caught.value.__cause__.column == 11


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("indicators: [", "not valid YAML (line"),
        ("- a", "top-level indicators: list"),
        ("indicators: []", "non-empty list"),
        ("indicators: [1]", "indicator number 1 must be a mapping"),
        ("indicators: [{label: x, type: mean, value: '1'}]", "needs an id"),
        ("indicators: [{id: a, type: ratio, value: '1'}]", "type must be proportion"),
        ("indicators: [{id: a, type: mean, value: '1', numerater: x}]", "unknown key 'numerater'"),
        ("indicators: [{id: a, type: proportion}]", "needs a numerator or expand"),
        ("indicators: [{id: a, type: proportion, value: '1'}]", "not a value"),
        ("indicators: [{id: a, type: mean, numerator: '1'}]", "a mean has a value"),
        ("indicators: [{id: a, type: total}]", "a total needs a value"),
        (
            "indicators: [{id: a, type: proportion, expand: x, numerator: '1'}]",
            "either expand or numerator",
        ),
        ("indicators: [{id: a, type: proportion, numerator: '1', choices: [x]}]", "with expand"),
        (
            "indicators: [{id: a, type: mean, value: '1'}, {id: a, type: mean, value: '2'}]",
            "indicator id a is used twice",
        ),
        ("indicators: [{id: a, type: proportion, expand: '1 + 1'}]", "expand must name"),
        ("indicators: [{id: a, type: mean, value: [1]}]", "value must be text"),
        ("wrong: 1\nindicators: [{id: a, type: mean, value: '1'}]", "unknown top-level key"),
    ],
)
def test_invalid_definitions(spec: str, message: str) -> None:
    with pytest.raises(IndicatorError) as caught:
        load_indicators(spec)
    assert message in str(caught.value)


def test_errors_translate_their_template_and_nested_errors() -> None:
    with pytest.raises(IndicatorError) as caught:
        load_indicators("indicators: [{id: a, type: mean, value: '${x} +'}]")
    catalogue = {
        "indicator {indicator}, {role}: {problem}": "показатель {indicator}, {role}: {problem}",
        "the expression ends too early (column {column}); expected a value": (
            "выражение обрывается (столбец {column})"
        ),
    }
    translated = caught.value.translated(lambda message: catalogue.get(message, message))
    assert translated == "показатель a, value: выражение обрывается (столбец 7)"
