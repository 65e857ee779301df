"""Lists, quotes, dates and numbers in each of the app's four languages (amniyat.core.text)."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.utils import translation
from djmoney.money import Money

from amniyat.core.text import (
    format_date,
    format_list,
    format_money,
    format_number,
    format_percent,
    quoted,
)

NBSP = "\u00a0"  # the group separator of ru, tg and uz, and the space before Russian "%"
NNBSP = "\u202f"  # narrow no-break space, before Russian "г."
APRIL_19 = datetime.date(2021, 4, 19)


@pytest.mark.parametrize(
    ("language", "two", "three", "four"),
    [
        ("en", "police and youth", "police, youth and women", "a, b, c and d"),
        ("ru", "police и youth", "police, youth и women", "a, b, c и d"),
        ("tg", "police ва youth", "police, youth ва women", "a, b, c ва d"),
        ("uz", "police va youth", "police, youth va women", "a, b, c va d"),
    ],
)
def test_a_list_ends_with_the_languages_and(language: str, two: str, three: str, four: str) -> None:
    assert format_list(["police", "youth"], language) == two
    assert format_list(["police", "youth", "women"], language) == three
    assert format_list("abcd", language) == four


@pytest.mark.parametrize(
    ("language", "expected"),
    [("en", "a, b or c"), ("ru", "a, b или c"), ("tg", "a, b ё c"), ("uz", "a, b yoki c")],
)
def test_alternatives_end_with_or(language: str, expected: str) -> None:
    assert format_list(["a", "b", "c"], language, style="or") == expected


@pytest.mark.parametrize("language", ["en", "ru", "tg", "uz"])
def test_short_lists_need_no_conjunction(language: str) -> None:
    assert format_list([], language) == ""
    assert format_list(["only"], language) == "only"


def test_a_style_tajik_data_lacks_falls_back_to_the_full_list() -> None:
    assert format_list(["a", "b", "c"], "tg", style="standard-short") == "a, b ва c"


@pytest.mark.parametrize(
    ("language", "outer", "inner"),
    [
        ("en", "“police”", "‘police’"),
        ("ru", "«police»", "„police“"),
        ("tg", "«police»", "„police“"),
        ("uz", "“police”", "‘police’"),
    ],
)
def test_quotation_marks_are_the_languages(language: str, outer: str, inner: str) -> None:
    assert quoted("police", language) == outer
    assert quoted("police", language, inner=True) == inner


@pytest.mark.parametrize(
    ("language", "long", "month", "short", "full"),
    [
        ("en", "19 April 2021", "April 2021", "19/04/2021", "Monday, 19 April 2021"),
        (
            "ru",
            f"19 апреля 2021{NNBSP}г.",
            f"апрель 2021{NNBSP}г.",
            "19.04.2021",
            f"понедельник, 19 апреля 2021{NNBSP}г.",
        ),
        ("tg", "19 апрел 2021", "апрел 2021", "19.04.2021", "Душанбе, 19 апрел 2021"),
        ("uz", "19-aprel 2021", "aprel 2021", "19.04.2021", "dushanba, 19-aprel 2021"),
    ],
)
def test_dates_are_written_the_languages_way(
    language: str, long: str, month: str, short: str, full: str
) -> None:
    assert format_date(APRIL_19, language) == long
    assert format_date(APRIL_19, language, format="month") == month
    assert format_date(APRIL_19, language, format="short") == short
    assert format_date(APRIL_19, language, format="full") == full


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "9 Mar 2022"),
        ("ru", f"9 мар. 2022{NNBSP}г."),
        ("tg", "9 мар 2022"),
        ("uz", "9-mar 2022"),
    ],
)
def test_a_medium_date_abbreviates_the_month(language: str, expected: str) -> None:
    assert format_date(datetime.date(2022, 3, 9), language, format="medium") == expected


def test_a_datetime_is_shown_as_its_date() -> None:
    moment = datetime.datetime(2021, 4, 19, 23, 30, tzinfo=datetime.UTC)
    assert format_date(moment, "uz") == "19-aprel 2021"


@pytest.mark.parametrize(
    ("language", "grouped", "fixed"),
    [
        ("en", "1,234,567.5", "0.50"),
        ("ru", f"1{NBSP}234{NBSP}567,5", "0,50"),
        ("tg", f"1{NBSP}234{NBSP}567,5", "0,50"),
        ("uz", f"1{NBSP}234{NBSP}567,5", "0,50"),
    ],
)
def test_numbers_use_the_languages_separators(language: str, grouped: str, fixed: str) -> None:
    assert format_number(1234567.5, language) == grouped
    assert format_number(Decimal("0.5"), language, decimals=2) == fixed
    assert format_number(2.6, language, decimals=0) == "3"


@pytest.mark.parametrize(
    ("language", "whole", "one_decimal"),
    [
        ("en", "26%", "25.6%"),
        ("ru", f"26{NBSP}%", f"25,6{NBSP}%"),
        ("tg", "26%", "25,6%"),
        ("uz", "26%", "25,6%"),
    ],
)
def test_percentages_follow_the_language(language: str, whole: str, one_decimal: str) -> None:
    assert format_percent(0.256, language) == whole
    assert format_percent(0.256, language, decimals=1) == one_decimal


def test_without_a_language_the_requests_language_is_used() -> None:
    with translation.override("uz"):
        assert format_list(["a", "b"]) == "a va b"
        assert format_date(APRIL_19) == "19-aprel 2021"
        assert quoted("a") == "“a”"
    with translation.override("ru"):
        assert format_percent(0.5) == f"50{NBSP}%"


def test_an_unknown_language_is_written_in_english() -> None:
    assert format_list(["a", "b", "c"], "de") == "a, b and c"
    assert format_date(APRIL_19, "uz-latn") == "19-aprel 2021"


def test_the_template_filters_write_in_the_requests_language() -> None:
    from django.template import Context, Template

    page = Template(
        "{% load amniyat_text %}{{ day|local_date }} · {{ day|local_date:'month' }} · "
        "{{ names|local_list }} · {{ name|quoted }} · {{ share|local_percent }} · "
        "{{ value|local_number:1 }} · [{{ none|local_date }}{{ none|local_percent }}]"
    )
    values = {"day": APRIL_19, "names": ["a", "b", "c"], "name": "x", "share": 0.4, "value": 2.26}
    with translation.override("uz"):
        assert page.render(Context({**values, "none": None})) == (
            "19-aprel 2021 · aprel 2021 · a, b va c · “x” · 40% · 2,3 · []"
        )
    with translation.override("tg"):
        assert page.render(Context({**values, "none": None})) == (
            "19 апрел 2021 · апрел 2021 · a, b ва c · «x» · 40% · 2,3 · []"
        )


@pytest.mark.parametrize(
    ("language", "somoni", "som"),
    [
        ("en", "TJS\u00a01,500.50", "UZS\u00a02,500,000.00"),
        ("ru", "1\u00a0500,50\u00a0TJS", "2\u00a0500\u00a0000,00\u00a0UZS"),
        ("tg", "1\u00a0500,50\u00a0TJS", "2\u00a0500\u00a0000,00\u00a0UZS"),
        ("uz", "1\u00a0500,50\u00a0TJS", "2\u00a0500\u00a0000,00\u00a0soʻm"),
    ],
)
def test_money_is_written_with_its_currency_as_the_language_writes_it(
    language: str, somoni: str, som: str
) -> None:
    assert format_money(Money("1500.5", "TJS"), language) == somoni
    assert format_money(Money("2500000", "UZS"), language) == som
    assert format_money(Money("12", "USD"), "en") == "$12.00"
