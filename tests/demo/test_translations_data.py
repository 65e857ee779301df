"""The demo's content in four languages (issue #14 point 4), checked as data: every text the
demo names once and everyone reads has its three other languages, written the way a reader of
each language expects (Uzbek Latin with ʻ and ʼ, Tajik in Cyrillic, «…» in Russian and Tajik)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

import amniyat.demo

TRANSLATIONS_FILE = Path(amniyat.demo.__file__).resolve().parent / "data" / "translations.yaml"
LANGUAGES = frozenset({"en", "ru", "tg", "uz"})

# Latin words a Russian or Tajik text may keep as they are (brand names, acronyms).
LATIN_KEPT = frozenset({"Amniyat", "Saferworld", "USIP", "CSWG", "NGO", "CSO"})

OKINA = "\u02bb"  # ʻ MODIFIER LETTER TURNED COMMA: oʻ gʻ
APOSTROPHE = "\u02bc"  # ʼ MODIFIER LETTER APOSTROPHE: maʼlumot
TAJIK_ONLY = "ӣӢӯӮқҚғҒҳҲҷҶ"
NOT_TAJIK = "цЦщЩыЫьЬ"  # Russian letters the Tajik alphabet does not have (милитсия, not милиция)


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe loader that refuses a key given twice (plain YAML keeps the last silently)."""


def _mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> Any:
    seen: set[Any] = set()
    for key_node, _value in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def _load() -> dict[str, dict[str, str]]:
    loader = _UniqueKeyLoader(TRANSLATIONS_FILE.read_text(encoding="utf-8"))
    try:
        data = loader.get_single_data()
    finally:
        loader.dispose()
    assert isinstance(data, dict)
    return data


TRANSLATIONS = _load()


def _values(language: str) -> list[tuple[str, str]]:
    return [
        (source, languages[language])
        for source, languages in TRANSLATIONS.items()
        if language in languages
    ]


def _latin_words(text: str) -> set[str]:
    return set(re.findall(r"[A-Za-z]+", text)) - LATIN_KEPT


def test_the_file_holds_the_demo_content() -> None:
    # Programmes, organisations, groups, assessments, forms, sources, maps, factors, lists.
    assert len(TRANSLATIONS) >= 150
    assert "Community security in ten districts of Tajikistan" in TRANSLATIONS
    assert "Mistrust of police" in TRANSLATIONS


@pytest.mark.parametrize("source", sorted(TRANSLATIONS))
def test_every_text_has_its_three_other_languages(source: str) -> None:
    languages = TRANSLATIONS[source]
    assert isinstance(languages, dict), source
    assert set(languages) <= LANGUAGES, source
    assert len(languages) == 3, f"{source!r}: {sorted(languages)}"  # all but its own
    for language, text in languages.items():
        assert isinstance(text, str), (source, language)
        assert text.strip(), (source, language)
        assert text == text.strip() and "  " not in text, (source, language)
        if _latin_words(source):  # a copy of the source text is a translation forgotten
            assert text != source, (source, language)


@pytest.mark.parametrize("source", sorted(TRANSLATIONS))
def test_numbers_and_dates_carry_over(source: str) -> None:
    numbers = sorted(re.findall(r"\d+", source))
    for language, text in TRANSLATIONS[source].items():
        assert sorted(re.findall(r"\d+", text)) == numbers, (source, language, text)


def test_uzbek_writes_o_and_g_with_the_turned_comma() -> None:
    wrong = re.compile(r"[oOgG]['`‘’\u02bc]")
    bad = [(source, text) for source, text in _values("uz") if wrong.search(text)]
    assert not bad, bad
    assert any(f"o{OKINA}" in text for _source, text in _values("uz"))


def test_uzbek_apostrophe_is_the_modifier_letter() -> None:
    bad = [(source, text) for source, text in _values("uz") if re.search(r"['`‘’]", text)]
    assert not bad, bad
    assert any(APOSTROPHE in text for _source, text in _values("uz"))


def test_uzbek_quotes_are_curly() -> None:
    for source, text in _values("uz"):
        assert not re.search(r'["«»„]', text), (source, text)
        assert text.count("“") == text.count("”"), (source, text)


@pytest.mark.parametrize("language", ["ru", "tg"])
def test_russian_and_tajik_quotes_are_guillemets(language: str) -> None:
    for source, text in _values(language):
        assert not re.search(r'["“”„]', text), (source, text)
        assert text.count("«") == text.count("»"), (source, text)


def test_tajik_is_cyrillic_with_tajik_letters() -> None:
    for source, text in _values("tg"):
        assert not _latin_words(text), (source, text)
        assert not set(text) & set(NOT_TAJIK), (source, text)
    written = "".join(text for _source, text in _values("tg"))
    assert all(letter in written for letter in "ӣӯқғҳҷ")


def test_russian_is_cyrillic_without_tajik_letters() -> None:
    for source, text in _values("ru"):
        assert not _latin_words(text), (source, text)
        assert not set(text) & set(TAJIK_ONLY), (source, text)
