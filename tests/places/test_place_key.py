"""Matching an answer to the place it names: each place keeps its code and four names folded
(lower case in every alphabet, computed in Python: SQLite's ``lower()`` folds only ASCII),
indexed, so that one submission finds its place with one query however many places there
are, and answers exactly as an import's table of every place does."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext

from amniyat.core.search import folded
from amniyat.fieldwork.imports.services import place_lookup
from amniyat.fieldwork.models import Assessment, Form
from amniyat.places.models import Place
from amniyat.places.selectors import place_named
from tests.factories import ProgrammeFactory, shipped_place

pytestmark = pytest.mark.django_db

# Shipped: TJ-KT-VAK, Vakhsh · Вахшский район · Ноҳияи Вахш · Vaxsh tumani.


def _form(programme: object) -> Form:
    assessment = Assessment.objects.create(
        programme=programme, title="Baseline", kind=Assessment.Kind.BASELINE
    )
    return Form.objects.create(assessment=assessment, form_id="f", title="F", is_open=True)


def _community(programme: object, **names: str) -> Place:
    return Place.objects.create(
        level=Place.Level.COMMUNITY,
        parent=shipped_place("TJ-KT-VAK"),
        programme=programme,
        **names,
    )


def test_the_key_folds_every_alphabet_and_the_spaces_around() -> None:
    assert folded("  НОҲИЯИ ВАХШ ") == "ноҳияи вахш"
    assert folded("ВАХШСКИЙ РАЙОН") == "вахшский район"
    assert folded("GʻALLAOROL") == "gʻallaorol"
    assert folded(None) == ""


def test_saving_a_place_keeps_its_keys_also_when_only_some_fields_are_saved() -> None:
    place = _community(ProgrammeFactory(), name_en="Navobod", name_tg="НАВОБОД")
    place.refresh_from_db()
    assert (place.name_en_key, place.name_tg_key, place.name_ru_key) == ("navobod", "навобод", "")
    place.name_ru = "Навобод Ru"
    place.save(update_fields=["name_ru"])
    place.refresh_from_db()
    assert place.name_ru_key == "навобод ru"


@pytest.mark.parametrize(
    "answer",
    [
        *("Vakhsh", "VAKHSH", " vakhsh ", "ВАХШСКИЙ РАЙОН", "Ноҳияи Вахш", "НОҲИЯИ ВАХШ"),
        *("VAXSH TUMANI", "tj-kt-vak", "TJ-KT-VAK"),
    ],
)
def test_a_code_or_a_name_in_any_language_and_case_names_the_place(answer: str) -> None:
    programme = ProgrammeFactory()
    vakhsh = shipped_place("TJ-KT-VAK")
    with CaptureQueriesContext(connection) as queries:
        assert place_named(programme_id=programme.pk, answers=[answer]) == vakhsh.pk
    assert len(queries) == 1


def test_a_name_two_places_share_names_none_and_a_code_comes_before_a_name() -> None:
    programme = ProgrammeFactory()
    _community(programme, name_en="Navobod")
    second = _community(programme, name_en="Obod", name_tg="NAVOBOD")
    assert place_named(programme_id=programme.pk, answers=["navobod"]) is None
    coded = _community(programme, name_en="Somewhere", code="NAVOBOD")
    assert place_named(programme_id=programme.pk, answers=["Navobod"]) == coded.pk
    # The first answer that names a place wins; unknown and blank answers are passed over.
    answers = ["", "nowhere", "obod", "navobod"]
    assert place_named(programme_id=programme.pk, answers=answers) == second.pk
    assert place_named(programme_id=programme.pk, answers=["  ", "nowhere"]) is None


def test_another_programmes_community_is_not_named() -> None:
    ours, theirs = ProgrammeFactory(), ProgrammeFactory()
    _community(theirs, name_en="Guliston")
    assert place_named(programme_id=ours.pk, answers=["Guliston"]) is None
    own = _community(ours, name_en="Guliston")
    # Theirs does not make ours ambiguous.
    assert place_named(programme_id=ours.pk, answers=["GULISTON"]) == own.pk


def test_one_submissions_lookup_answers_as_the_imports_table_does() -> None:
    ours, theirs = ProgrammeFactory(), ProgrammeFactory()
    _community(ours, name_en="Navobod", name_tg="Навобод")
    _community(ours, name_en="Obod", name_ru="Навобод")
    _community(ours, name_en="Bahor", name_uz="Bahor mahallasi", code="BHR-1")
    _community(theirs, name_en="Bahor")
    table = place_lookup(_form(ours))
    answers = ["navobod", "НАВОБОД", "obod", "bahor", "BHR-1", "bahor mahallasi", "Vakhsh"]
    answers += ["vaxsh tumani", "TJ", "Tajikistan", "nowhere", "bhr-1 "]
    for answer in answers:
        assert place_named(programme_id=ours.pk, answers=[answer]) == table.get(
            answer.strip().lower()
        ), answer


def test_the_migration_fills_the_keys_of_places_already_stored() -> None:
    programme = ProgrammeFactory()
    place = _community(programme, name_en="Sharq", name_ru="ШАРҚ")
    Place.objects.update(code_key="", name_en_key="", name_ru_key="")  # as before the keys
    migration = importlib.import_module("amniyat.places.migrations.0004_place_keys")
    migration.fill(apps, connection.schema_editor())
    place.refresh_from_db()
    assert (place.name_en_key, place.name_ru_key) == ("sharq", "шарқ")
    assert Place.objects.get(code="TJ-KT-VAK").code_key == "tj-kt-vak"
    assert place_named(programme_id=programme.pk, answers=["шарқ"]) == place.pk
