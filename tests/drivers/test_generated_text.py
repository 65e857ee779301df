"""Sentences the drivers module writes, read in Russian, Tajik and Uzbek: names listed with the
language's "and" («a», «b» и «c»; “a”, “b” va “c”), quoted with its marks, counts and shares
with its separators and percent sign, and plurals that agree with the number.

Each test renders the message through the code that writes it, in the reader's language.
Where a sentence is new and its translation is still to come, the list, the quotes and the
numbers inside it are already the reader's.
"""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from unittest import mock

import pytest
from babel.messages.pofile import read_po
from django.core.exceptions import ValidationError
from django.utils import translation

import amniyat
from amniyat.accounts.models import Membership, User
from amniyat.drivers.codebook import services as codebook
from amniyat.drivers.coding import services as coding
from amniyat.drivers.coding import text as notes
from amniyat.drivers.coding.views import Segment, _stored_message
from amniyat.drivers.maps import exchange, network
from amniyat.drivers.maps import services as maps
from amniyat.drivers.priorities import services as priorities
from tests.drivers.coding.test_sources import client_for, make_source, scene, url
from tests.drivers.maps.test_network import VAKHSH, VAKHSH_LINKS, build
from tests.factories import CommunityGroupFactory, ProgrammeFactory, member_of

__all__ = ["scene"]  # the fixture of the source tests

NBSP = "\u00a0"
# language, its quotation marks, its "and"
READERS = [
    pytest.param("ru", "«", "»", " и ", id="ru"),
    pytest.param("tg", "«", "»", " ва ", id="tg"),
    pytest.param("uz", "“", "”", " va ", id="uz"),
]


@pytest.fixture
def lead(db: None) -> User:
    return member_of(ProgrammeFactory(), Membership.Role.LEAD)


# --- Driver map analysis ---------------------------------------------------------------------


@pytest.mark.parametrize(("language", "start", "end", "and_"), READERS)
def test_a_root_cause_lists_the_concerns_it_reaches_in_the_readers_language(
    lead: User, language: str, start: str, end: str, and_: str
) -> None:
    driver_map = build(lead, "Vakhsh", VAKHSH, VAKHSH_LINKS)

    def q(label: str) -> str:
        return f"{start}{label}{end}"

    with translation.override(language):
        explanation = network.analyse_map(driver_map).root_causes[0].explanation
    concerns = f"{q('Domestic violence')}, {q('Theft')}{and_}{q('Youth violence')}"
    assert f"({concerns})" in explanation
    assert f"{q('Idle youth')}{and_}{q('Labour migration')}" in explanation
    assert explanation.startswith(q("Unemployment"))
    assert "“" not in explanation if start == "«" else "«" not in explanation


@pytest.mark.parametrize(("language", "start", "end", "and_"), READERS)
def test_a_leverage_point_names_both_sides_and_its_share_as_the_reader_writes_it(
    lead: User, language: str, start: str, end: str, and_: str
) -> None:
    driver_map = build(lead, "Vakhsh", VAKHSH, VAKHSH_LINKS)
    with translation.override(language):
        explanation = network.analyse_map(driver_map).leverage_points[0].explanation
    assert f"{start}Drug use{end}{and_}{start}Unemployment{end}" in explanation
    assert f"{start}Theft{end}{and_}{start}Youth violence{end}" in explanation
    # Russian puts a no-break space before the percent sign; Tajik and Uzbek do not.
    share = re.search(r"\d+(\u00a0?)%", explanation)
    assert share is not None
    assert share.group(1) == (NBSP if language == "ru" else "")


def test_the_leverage_point_sentence_keeps_the_two_sides_apart_in_english(lead: User) -> None:
    driver_map = build(lead, "Vakhsh", VAKHSH, VAKHSH_LINKS)
    explanation = network.analyse_map(driver_map).leverage_points[0].explanation
    assert explanation.startswith(
        "“Idle youth” stands on the way from “Drug use” and “Unemployment” to “Theft” and "
        "“Youth violence”: "
    )


@pytest.mark.parametrize(("language", "start", "end", "and_"), READERS)
def test_unreadable_excerpts_are_listed_and_counted(
    lead: User, language: str, start: str, end: str, and_: str
) -> None:
    programme = lead.memberships.get().programme  # type: ignore[attr-defined]
    driver_map = maps.map_create(acting_user=lead, programme=programme, title="Evidence")
    with translation.override(language), pytest.raises(ValidationError) as error:
        maps._clean_excerpts(lead, driver_map, [999_998, 999_999])
    # Excerpt numbers are names, not amounts: no grouping.
    assert f"999998{and_}999999" in error.value.message_dict["excerpts"][0]


def test_one_unreadable_excerpt_is_one_and_several_are_several(lead: User) -> None:
    programme = lead.memberships.get().programme  # type: ignore[attr-defined]
    driver_map = maps.map_create(acting_user=lead, programme=programme, title="Evidence")
    with pytest.raises(ValidationError) as one:
        maps._clean_excerpts(lead, driver_map, [999_999])
    with pytest.raises(ValidationError) as two:
        maps._clean_excerpts(lead, driver_map, [999_998, 999_999])
    assert one.value.message_dict["excerpts"] == [
        "Excerpt 999999 is not evidence you can read in this programme."
    ]
    assert two.value.message_dict["excerpts"] == [
        "Excerpts 999998 and 999999 are not evidence you can read in this programme."
    ]


@pytest.mark.parametrize(("language", "start", "end", "and_"), READERS)
def test_files_too_large_to_import_are_named_together_with_the_limit(
    language: str, start: str, end: str, and_: str
) -> None:
    three_mb = b"x" * (3 * 2**20)
    with translation.override(language), pytest.raises(exchange.MapImportError) as error:
        exchange.read_map_files(
            [("factors.csv", three_mb), ("links.csv", three_mb)],
            programme=None,  # type: ignore[arg-type]
        )
    (problem,) = error.value.problems
    assert problem.file == f"factors.csv{and_}links.csv"
    assert " 5 " in problem.message and "5,0" not in problem.message


# --- Priorities -------------------------------------------------------------------------------


@pytest.mark.parametrize(("language", "start", "end", "and_"), READERS)
def test_unknown_affected_groups_are_listed_in_the_readers_language(
    language: str, start: str, end: str, and_: str
) -> None:
    with translation.override(language), pytest.raises(ValidationError) as error:
        priorities._check_most_affected(["astronauts", "pirates", "wizards"])
    (message,) = error.value.message_dict["most_affected"]
    assert f"astronauts, pirates{and_}wizards." in message
    assert not message.startswith("Unknown group")  # the sentence is translated too


@pytest.mark.parametrize("language", ["ru", "tg", "uz"])
def test_the_agreement_counts_are_refused_with_grouped_numbers(lead: User, language: str) -> None:
    programme = lead.memberships.get().programme  # type: ignore[attr-defined]
    group = CommunityGroupFactory(programme=programme)
    priority_list = priorities.priority_list_create(
        user=lead, programme=programme, group=group, title="Concerns"
    )
    priorities.priority_add(
        user=lead,
        priority_list=priority_list,
        concern="Theft",
        severity=3,
        affected=3,
        urgency=3,
        changeable=3,
    )
    with translation.override(language), pytest.raises(ValidationError) as error:
        priorities.priority_list_agree(
            user=lead,
            priority_list=priority_list,
            agreed_on=None,
            participants=20_000,
            women=0,
            men=0,
            sectors=[],
        )
    # The same sentence as a source's participant counts, whose translations group 10 000.
    assert re.search(r"10[ \u00a0]000", error.value.message_dict["participants"][0])


# --- Coding -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("language", "start", "end", "and_"), READERS)
def test_the_personal_details_still_to_check_are_listed(
    scene: dict[str, Any], language: str, start: str, end: str, and_: str
) -> None:
    source = make_source(scene)
    words = "Мой сосед Рахимов Алишер звонил по номеру +992 93 123 45 67."
    first = source.text.index(words)
    excerpt = coding.excerpt_create(
        user=scene["lead"],
        source=source,
        code=scene["violence"],
        start=first,
        end=first + len(words),
    )
    with translation.override(language), pytest.raises(ValidationError) as error:
        coding.excerpt_propose(user=scene["lead"], excerpt=excerpt)
    kinds = re.search(r"\(([^()]+)\)", error.value.messages[0])
    assert kinds is not None
    assert and_ in kinds.group(1) and "," not in kinds.group(1)


def test_one_personal_detail_is_one(scene: dict[str, Any]) -> None:
    source = make_source(scene, text="Звоните по номеру +992 93 123 45 67.")
    excerpt = coding.excerpt_create(
        user=scene["lead"], source=source, code=scene["violence"], start=0, end=len(source.text)
    )
    with pytest.raises(ValidationError) as error:
        coding.excerpt_propose(user=scene["lead"], excerpt=excerpt)
    assert error.value.messages == [
        "This quote contains 1 possible personal detail still to check (phone number). "
        "Decide whether to redact it before publishing."
    ]


def test_the_stored_notes_are_counted_with_plurals(scene: dict[str, Any]) -> None:
    several = make_source(scene)
    assert _stored_message(several) == (
        f"The notes were stored: {several.passages.count()} passages to code, "
        "2 possible personal details to check."
    )
    one = make_source(scene, text="Вечером на улице страшно.", title="One line")
    assert _stored_message(one) == (
        "The notes were stored: 1 passage to code, 0 possible personal details to check."
    )
    with translation.override("ru"):
        assert _stored_message(one).count("1") == 1  # the count, written once


@pytest.mark.parametrize(("language", "start", "end", "and_"), READERS)
def test_the_codes_on_a_span_are_listed_as_the_reader_lists(
    language: str, start: str, end: str, and_: str
) -> None:
    excerpts = [SimpleNamespace(code=SimpleNamespace(name=name)) for name in ("c", "a", "b")]
    segment = Segment(start=0, end=1, text="x", excerpts=excerpts)  # type: ignore[arg-type]
    with translation.override(language):
        assert segment.code_names == f"a, b{and_}c"


@pytest.mark.parametrize(("language", "start", "end", "and_"), READERS)
def test_coding_with_several_codes_names_them_quoted(
    scene: dict[str, Any], language: str, start: str, end: str, and_: str
) -> None:
    source = make_source(scene)
    first = source.text.index("Женщины боятся")
    client = client_for(scene["lead"])
    client.cookies["amniyat_language"] = language
    response = client.post(
        url("excerpt_create", scene, source.pk),
        {"start": first, "end": first + 10, "code": [scene["violence"].pk, scene["migration"].pk]},
        headers={"HX-Request": "true"},
    )
    page = response.content.decode()
    names = [f"{start}Violence{end}", f"{start}Migration{end}"]
    assert and_.join(names) in page or and_.join(reversed(names)) in page


@pytest.mark.parametrize(
    ("language", "size", "limit"),
    [("en", "5.0", "5.0"), ("ru", "5,0", "5,0"), ("tg", "5,0", "5,0"), ("uz", "5,0", "5,0")],
)
def test_a_file_too_large_gives_sizes_with_the_readers_decimal_sign(
    language: str, size: str, limit: str
) -> None:
    with translation.override(language), pytest.raises(ValidationError) as error:
        notes.extract_text("big.txt", b"a" * (notes.MAX_UPLOAD_BYTES + 1))
    assert f"{size} MB" in error.value.messages[0] or f"{size} МБ" in error.value.messages[0]
    assert limit in error.value.messages[0]


@pytest.mark.parametrize("language", ["ru", "tg", "uz"])
def test_notes_too_long_give_their_length_grouped(language: str) -> None:
    text = ("Слово. " * 60_000).encode()
    with translation.override(language), pytest.raises(ValidationError) as error:
        notes.extract_text("long.txt", text)
    assert f"400{NBSP}000" in error.value.messages[0]


# --- Uzbek street abbreviations ---------------------------------------------------------------

# Uzbek Latin writes koʻchasi ("street") with the modifier letter ʻ and abbreviates it koʻch.;
# notes typed on a keyboard without it use ', ‘, ’ or ʼ. All are one abbreviation, and none ends
# the sentence; the street with its house is an address to check before a quote is published.
SPELLINGS = ["koʻch.", "ko'ch.", "ko‘ch.", "ko’ch.", "koʼch."]


@pytest.mark.parametrize("street", SPELLINGS)
def test_an_uzbek_street_abbreviation_does_not_end_the_sentence(street: str) -> None:
    text = f"U Navoiy {street} 12-uyda yashaydi. Keyin ketdi."
    sentences = [text[start:end] for _p, start, end in notes.split_passages(text)]
    assert sentences == [f"U Navoiy {street} 12-uyda yashaydi.", "Keyin ketdi."]


@pytest.mark.parametrize(
    ("text", "address"),
    [
        *[(f"U Navoiy {s} 12-uy, 5-xonadonda yashaydi.", f"Navoiy {s} 12-uy") for s in SPELLINGS],
        ("У Навоий кўч. 12-уй, 5-хонадонда яшайди.", "Навоий кўч. 12-уй"),
        ("Ӯ дар кӯч. Рӯдакӣ 25 зиндагӣ мекунад.", "кӯч. Рӯдакӣ 25"),
        ("U Navoiy koʻchasi 12-uy, 5-xonadonda yashaydi.", "Navoiy koʻchasi 12-uy"),
    ],
)
def test_a_street_written_short_is_still_an_address(text: str, address: str) -> None:
    found = [text[start:end] for kind, start, end in notes.find_personal_details(text)]
    assert any(address in span for span in found), found
    kinds = {kind for kind, _s, _e in notes.find_personal_details(text)}
    assert notes.ADDRESS in kinds


# --- Codebook ---------------------------------------------------------------------------------


def test_a_code_with_one_excerpt_is_told_in_the_singular(scene: dict[str, Any]) -> None:
    source = make_source(scene)
    coding.excerpt_create(
        user=scene["lead"], source=source, code=scene["violence"], start=0, end=10
    )
    with pytest.raises(ValidationError) as error:
        codebook.code_delete(user=scene["lead"], code=scene["violence"])
    assert error.value.messages == [
        "“Violence” has 1 coded excerpt: merge it into another code instead, so the excerpt "
        "is kept."
    ]


@pytest.mark.parametrize(("language", "start", "end", "and_"), READERS)
def test_fields_that_cannot_be_changed_are_listed(
    scene: dict[str, Any], language: str, start: str, end: str, and_: str
) -> None:
    with translation.override(language), pytest.raises(ValidationError) as error:
        codebook.code_update(
            user=scene["lead"], code=scene["violence"], values={"key": "x", "programme": 1}
        )
    assert f"key{and_}programme." in error.value.messages[0]


@pytest.mark.parametrize(
    ("language", "share", "mean"),
    [("en", "26%", "2.5"), ("ru", f"26{NBSP}%", "2,5"), ("tg", "26%", "2,5"), ("uz", "26%", "2,5")],
)
def test_indicator_values_beside_codes_are_written_the_readers_way(
    language: str, share: str, mean: str
) -> None:
    latest = SimpleNamespace(
        results={
            "kinds": {"unsafe": "proportion", "trust": "mean"},
            "estimates": [
                {"indicator": "unsafe", "by": [], "estimate": 0.256},
                {"indicator": "trust", "by": [], "estimate": 2.46},
                {"indicator": "unsafe", "by": ["sex"], "estimate": 0.3},
            ],
        }
    )
    findings = mock.MagicMock()
    chain = findings.objects.filter.return_value.defer.return_value.order_by.return_value
    chain.first.return_value = latest
    with (
        mock.patch.object(codebook, "Findings", findings),
        mock.patch.object(codebook.shown, "results_of", lambda record: record.results),
        mock.patch("amniyat.accounts.policies.can", return_value=True),
        translation.override(language),
    ):
        values = codebook.latest_indicator_values(user=None, programme=None)  # type: ignore[arg-type]
    assert values == {"unsafe": share, "trust": mean}


# --- The catalogue ----------------------------------------------------------------------------

SOURCE = Path(amniyat.__file__).resolve().parent
OWN = ("drivers/coding/", "drivers/codebook/", "drivers/priorities/", "drivers/maps/", "analysis/")


@pytest.mark.parametrize(("language", "wrong"), [("ru", "“”"), ("tg", "“”"), ("uz", "«»„")])
def test_quotes_written_into_the_drivers_sentences_are_the_readers(
    language: str, wrong: str
) -> None:
    """Many sentences carry their quotation marks in the message ("“{file}” is empty."), so
    each translation chooses its own: «…» in Russian and Tajik, “…” in Uzbek."""
    path = SOURCE / "locale" / language / "LC_MESSAGES" / "django.po"
    with path.open("rb") as po:
        catalogue = read_po(po)
    misquoted = []
    for message in catalogue:
        if not message.id or not any(
            any(part in file for part in OWN) for file, _line in message.locations
        ):
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        if not any("“" in text for text in ids):
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for text in map(str, strings):
            # Russian and Tajik inner quotes are „…“: a “ after „ is allowed.
            outer = re.sub(r"„[^“]*“", "", text)
            if any(mark in outer for mark in wrong):
                misquoted.append((ids[0], text))
    assert misquoted == []
