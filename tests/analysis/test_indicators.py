"""Indicator definitions: semantics of proportions, means and expansions; YAML; validation."""

from __future__ import annotations

from typing import Any

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
from amniyat.analysis.indicators import LANGUAGES, form_labels

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


# --- Labels in four languages ----------------------------------------------------------------

TRANSLATED = """
indicators:
  - id: safe
    label: {en: Feel safe, ru: Чувствуют себя в безопасности, tg: Худро бехатар ҳис мекунанд}
    type: proportion
    numerator: ${safe} = 'safe'
  - id: concern
    label:
      en: Names as a main concern
      tg: Ҳамчун мушкили асосӣ номбар мекунанд
      uz: Asosiy muammo deb ataganlar
    type: proportion
    expand: ${concerns}
    choices:
      theft: {en: Theft, ru: Кражи, tg: Дуздӣ, uz: O'g'rilik}
      gbv: Gender-based violence
      drugs:
"""


def test_a_label_is_text_or_a_mapping_of_language_to_text() -> None:
    plain, translated = (
        load_indicators(
            """
indicators:
  - {id: trust, label: Trust in the police, type: mean, value: '${trust}'}
"""
        )
        + load_indicators(TRANSLATED)[:1]
    )
    assert plain.label == "Trust in the police"
    assert plain.labels == {"en": "Trust in the police"}
    assert plain.label_in("tg") == "Trust in the police"  # no Tajik: English
    assert translated.label == "Feel safe"
    assert translated.labels == {
        "en": "Feel safe",
        "ru": "Чувствуют себя в безопасности",
        "tg": "Худро бехатар ҳис мекунанд",
    }
    assert translated.label_in("tg") == "Худро бехатар ҳис мекунанд"
    assert translated.label_in("ru-ru") == "Чувствуют себя в безопасности"
    assert translated.label_in("uz") == "Feel safe"
    assert translated.label_in(None) == "Feel safe"


def test_a_choice_label_is_text_or_a_mapping_and_expanded_labels_compose_per_language() -> None:
    (_, concern) = load_indicators(TRANSLATED)
    assert concern.choices == {"theft": "Theft", "gbv": "Gender-based violence", "drugs": "drugs"}
    assert concern.choice_labels["theft"]["uz"] == "O'g'rilik"
    theft, gbv, drugs = measures_for([concern], FRAME)
    assert theft.label == "Names as a main concern: Theft"
    assert theft.labels == {
        "en": "Names as a main concern: Theft",
        # No Russian label of the indicator: its English, with the Russian choice.
        "ru": "Names as a main concern: Кражи",
        "tg": "Ҳамчун мушкили асосӣ номбар мекунанд: Дуздӣ",
        "uz": "Asosiy muammo deb ataganlar: O'g'rilik",
    }
    assert gbv.label_in("tg") == "Ҳамчун мушкили асосӣ номбар мекунанд: Gender-based violence"
    assert drugs.label_in("uz") == "Asosiy muammo deb ataganlar: drugs"


def test_expanded_labels_take_the_form_s_choice_labels_in_every_language() -> None:
    schema: list[dict[str, Any]] = [
        {
            "name": "concerns",
            "type": "select_multiple",
            "label": {"English (en)": "Main concerns"},
            "choices": [
                {
                    "name": "gbv",
                    "label": {
                        "English (en)": "Violence against women",
                        "Russian (ru)": "Насилие в отношении женщин",
                        "Tajik (tg)": "Зӯроварӣ нисбати занон",
                    },
                },
                {"name": "theft", "label": {}},
            ],
        }
    ]
    choices = {
        field["name"]: {c["name"]: form_labels(c["label"]) for c in field["choices"]}
        for field in schema
    }
    indicators = load_indicators(
        "indicators: [{id: c, label: {en: Concern, tg: Мушкил}, type: proportion, "
        "expand: '${concerns}'}]"
    )
    gbv, theft = measures_for(indicators, FRAME, choices=choices)
    assert gbv.label == "Concern: Violence against women"
    assert gbv.label_in("tg") == "Мушкил: Зӯроварӣ нисбати занон"
    assert gbv.label_in("ru") == "Concern: Насилие в отношении женщин"
    assert theft.label_in("tg") == "Мушкил: theft"  # the form has no label: the name


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"English (en)": "Theft", "Tajik (tg)": "Дуздӣ"}, {"en": "Theft", "tg": "Дуздӣ"}),
        ({"tg": "Дуздӣ", "en": "Theft"}, {"en": "Theft", "tg": "Дуздӣ"}),
        ({"Russian": "Кражи", "French (fr)": "Vol"}, {"en": "Кражи", "ru": "Кражи"}),
        ({"default": "Theft", "Uzbek (uz)": "O'g'rilik"}, {"en": "Theft", "uz": "O'g'rilik"}),
        ("Theft", {"en": "Theft"}),
        (None, {}),
    ],
)
def test_form_labels_are_keyed_by_language_code(
    value: dict[str, str] | str | None, expected: dict[str, str]
) -> None:
    assert form_labels(value) == expected


def test_translated_labels_round_trip_through_yaml() -> None:
    indicators = load_indicators(TRANSLATED)
    text = dump_indicators(indicators)
    assert "tg: Худро бехатар ҳис мекунанд" in text  # Cyrillic written as is
    again = load_indicators(text)
    assert again == indicators
    safe, concern = (indicator.to_dict() for indicator in again)
    assert safe["label"] == {
        "en": "Feel safe",
        "ru": "Чувствуют себя в безопасности",
        "tg": "Худро бехатар ҳис мекунанд",
    }
    assert concern["choices"] == {
        "theft": {"en": "Theft", "ru": "Кражи", "tg": "Дуздӣ", "uz": "O'g'rilik"},
        "gbv": "Gender-based violence",
        "drugs": "drugs",
    }
    plain = load_indicators("indicators: [{id: a, label: A, type: mean, value: '1'}]")
    assert plain[0].to_dict()["label"] == "A"  # one language: plain text, as before


def test_every_demo_label_is_in_the_four_languages() -> None:
    indicators = load_indicators(INDICATORS_FILE.read_text(encoding="utf-8"))
    for indicator in indicators:
        assert list(indicator.labels) == list(LANGUAGES), indicator.id
        for name, labels in indicator.choice_labels.items():
            assert list(labels) == list(LANGUAGES), (indicator.id, name)
    safe_night = next(i for i in indicators if i.id == "safe_night")
    assert safe_night.label == "Feel safe or very safe in their area at night"
    assert safe_night.label_in("tg").startswith("Шабона")


def test_label_languages_are_the_interface_s() -> None:
    from django.conf import settings

    assert tuple(code for code, _name in settings.LANGUAGES) == LANGUAGES


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            "indicators: [{id: a, label: {en: A, tj: Б}, type: mean, value: '1'}]",
            "indicator a: label has an unknown language 'tj'; the languages are en, ru, tg, uz",
        ),
        (
            "indicators: [{id: a, label: {EN: A}, type: mean, value: '1'}]",
            "indicator a: label has an unknown language 'EN'",
        ),
        (
            "indicators: [{id: c, label: C, type: proportion, expand: x, "
            "choices: {theft: {en: Theft, kk: Ұрлық}}}]",
            "indicator c: choice theft has an unknown language 'kk'",
        ),
        (
            "indicators: [{id: a, label: {ru: А, tg: А}, type: mean, value: '1'}]",
            "indicator a: label needs an English text (en) besides its other languages",
        ),
        (
            "indicators: [{id: a, label: {en: A, ru: [x]}, type: mean, value: '1'}]",
            "indicator a: label in ru must be text",
        ),
        (
            "indicators: [{id: a, label: [A], type: mean, value: '1'}]",
            "indicator a: label must be text, or a mapping of language to text",
        ),
    ],
)
def test_labels_in_unknown_languages_are_refused(spec: str, message: str) -> None:
    with pytest.raises(IndicatorError) as caught:
        load_indicators(spec)
    assert str(caught.value).startswith(message)


def test_an_empty_translation_falls_back_to_english() -> None:
    (indicator,) = load_indicators(
        "indicators: [{id: a, label: {en: A, ru: '', tg: null, uz: Bir}, type: mean, value: '1'}]"
    )
    assert indicator.labels == {"en": "A", "uz": "Bir"}
    assert indicator.label_in("ru") == "A"
