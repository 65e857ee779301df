"""The codebook: the shipped seed (four languages, real indicator keys), seeding that never
overwrites edits, the tree without cycles, merging instead of deleting coded codes, who may
read and change it, and its pages."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from amniyat.accounts.models import Membership, Programme, User
from amniyat.analysis.indicators import load_indicators
from amniyat.audit.models import AuditEvent
from amniyat.demo.build import INDICATORS_FILE
from amniyat.drivers.codebook import services
from amniyat.drivers.codebook.services import SEED_FILE, seed_entries
from amniyat.drivers.coding.services import source_create
from amniyat.drivers.models import Code, Excerpt, Source
from amniyat.fieldwork.models import Assessment
from amniyat.findings import services as findings_services
from tests.factories import OrganisationFactory, ProgrammeFactory, member_of

Role = Membership.Role
CYRILLIC = re.compile(r"[\u0400-\u04ff]")
TAJIK_ONLY = set("ғӣқӯҳҷ")


@pytest.fixture
def programme(db: None) -> Programme:
    programme = ProgrammeFactory()
    findings_services.indicator_set_save(
        acting_user=None, programme=programme, spec=INDICATORS_FILE.read_text(encoding="utf-8")
    )
    return programme


@pytest.fixture
def lead(programme: Programme) -> User:
    return member_of(programme, Role.LEAD)


def _source(
    programme: Programme, text: str = "People have no work. Police do not listen."
) -> Source:
    assessment = Assessment.objects.create(programme=programme, title="Assessment 2021")
    return source_create(
        user=None,
        programme=programme,
        assessment=assessment,
        title="Focus group, women",
        kind=Source.Kind.FOCUS_GROUP,
        language="en",
        text=text,
    )


def _code(programme: Programme, name: str, parent: Code | None = None, **kwargs: object) -> Code:
    return services.code_create(
        user=None,
        programme=programme,
        name_en=name,
        parent=parent,
        **kwargs,  # type: ignore[arg-type]
    )


# The shipped seed --------------------------------------------------------------------------


def test_every_seed_entry_has_all_four_languages_in_the_right_script() -> None:
    entries = seed_entries()
    assert len(entries) >= 25
    keys = [entry["key"] for entry in entries]
    assert len(keys) == len(set(keys))
    for entry in entries:
        assert entry["kind"] in Code.Kind.values, entry["key"]
        for part in ("name", "description"):
            texts = entry[part]
            assert set(texts) == {"en", "ru", "tg", "uz"}, entry["key"]
            assert all(str(texts[lang]).strip() for lang in texts), entry["key"]
            assert not CYRILLIC.search(texts["en"]), entry["key"]
            assert not CYRILLIC.search(texts["uz"]), entry["key"]
            assert CYRILLIC.search(texts["ru"]), entry["key"]
            assert CYRILLIC.search(texts["tg"]), entry["key"]
        assert entry["description"]["en"].rstrip().endswith("."), entry["key"]
    # Tajik is written with its own letters, not as Russian.
    tajik = " ".join(entry["name"]["tg"] + entry["description"]["tg"] for entry in entries)
    assert TAJIK_ONLY & set(tajik)


def test_seed_names_the_drivers_of_the_programme_profiles() -> None:
    keys = {entry["key"] for entry in seed_entries()}
    assert {
        "youth_unemployment",
        "returning_migrants_unemployment",
        "exclusion_women",
        "exclusion_youth",
        "exclusion_religious_communities",
        "poor_education",
        "girls_education",
        "poor_health_care",
        "limited_dialogue",
        "restricted_expression",
        "restricted_religious_freedom",
        "police_mistrust",
        "repressive_policing",
        "gender_based_violence",
        "domestic_violence",
        "harassment_public_spaces",
        "recruitment_violent_groups",
        "reintegration_returnees",
        "theft",
        "drugs",
        "border_water_disputes",
    } <= keys


def test_seed_links_only_indicators_the_shipped_indicator_set_defines(
    programme: Programme,
) -> None:
    known = services.indicator_choices(programme)
    assert "concern.unemployment" in known and "trust_police" in known
    linked = [key for entry in seed_entries() for key in entry.get("indicators") or ()]
    assert linked
    assert [key for key in linked if key not in known] == []
    raw = yaml.safe_load(SEED_FILE.read_text(encoding="utf-8"))
    assert raw["codes"][0]["key"] == "economic_drivers"


# Seeding ----------------------------------------------------------------------------------


def test_seeding_builds_the_tree_with_indicators(programme: Programme, lead: User) -> None:
    added = services.codebook_seed(programme=programme, user=lead)
    assert added == len(seed_entries())
    youth = Code.objects.get(programme=programme, key="youth_unemployment")
    assert youth.parent is not None and youth.parent.key == "unemployment"
    assert youth.parent.parent is not None and youth.parent.parent.key == "economic_drivers"
    assert youth.name_tg == "Бекории ҷавонон"
    assert youth.indicator_keys == ["concern.unemployment", "concern.youth_idleness"]
    assert Code.objects.get(programme=programme, key="theft").kind == Code.Kind.CONCERN
    assert AuditEvent.objects.filter(programme=programme, actor=lead).exists()


def test_seeding_again_adds_only_what_is_missing_and_keeps_edits(
    programme: Programme, lead: User
) -> None:
    services.codebook_seed(programme=programme, user=lead)
    theft = Code.objects.get(programme=programme, key="theft")
    services.code_update(
        user=lead, code=theft, values={"name_en": "Stealing", "indicator_keys": []}
    )
    drugs = Code.objects.get(programme=programme, key="drugs")
    services.code_delete(user=lead, code=drugs)
    assert services.codebook_seed(programme=programme, user=lead) == 1
    theft.refresh_from_db()
    assert theft.name_en == "Stealing" and theft.indicator_keys == []
    drugs = Code.objects.get(programme=programme, key="drugs")
    assert drugs.parent is not None and drugs.parent.key == "violence"
    assert services.codebook_seed(programme=programme, user=lead) == 0


def test_seeding_a_programme_without_indicators_links_none(db: None) -> None:
    programme = ProgrammeFactory()
    services.codebook_seed(programme=programme)
    assert not Code.objects.filter(programme=programme).exclude(indicator_keys=[]).exists()


def test_only_leads_and_analysts_manage_the_codebook(programme: Programme) -> None:
    partner = OrganisationFactory()
    facilitator = member_of(programme, Role.FACILITATOR, organisation=partner)
    with pytest.raises(PermissionDenied):
        services.codebook_seed(programme=programme, user=facilitator)
    with pytest.raises(PermissionDenied):
        services.code_create(user=facilitator, programme=programme, name_en="Drugs")
    assert not Code.objects.filter(programme=programme).exists()
    analyst = member_of(programme, Role.ANALYST)
    assert services.code_create(user=analyst, programme=programme, name_en="Drugs").key == "drugs"


# Codes ------------------------------------------------------------------------------------


def test_a_new_code_gets_a_unique_key_and_checked_indicators(programme: Programme) -> None:
    first = _code(programme, "Water disputes")
    second = _code(programme, "Water disputes")
    assert (first.key, second.key) == ("water_disputes", "water_disputes_2")
    with pytest.raises(ValidationError) as error:
        _code(programme, "Drugs", indicator_keys=["concern.drugs", "no_such_indicator"])
    assert "no_such_indicator" in str(error.value)
    with pytest.raises(ValidationError):
        _code(programme, "Drugs", key="water_disputes")
    with pytest.raises(ValidationError):
        _code(programme, "")
    other = _code(ProgrammeFactory(), "Elsewhere")
    with pytest.raises(ValidationError):
        _code(programme, "Drugs", parent=other)
    assert not Code.objects.filter(programme=programme, name_en="Drugs").exists()


def test_a_code_never_moves_below_itself(programme: Programme, lead: User) -> None:
    top = _code(programme, "Violence")
    middle = _code(programme, "Gender-based violence", parent=top)
    bottom = _code(programme, "Domestic violence", parent=middle)
    for target in (top, bottom):
        with pytest.raises(ValidationError):
            services.code_update(user=lead, code=top, values={"parent": target.pk})
        with pytest.raises(ValidationError):
            services.code_move(user=lead, code=top, parent=target)
    top.refresh_from_db()
    assert top.parent is None
    services.code_move(user=lead, code=bottom, parent=top, position=1)
    bottom.refresh_from_db()
    middle.refresh_from_db()
    assert bottom.parent == top and (bottom.position, middle.position) == (1, 2)


def test_a_linked_indicator_that_left_the_set_may_stay(programme: Programme, lead: User) -> None:
    code = _code(programme, "Drugs", indicator_keys=["concern.drugs"])
    Code.objects.filter(pk=code.pk).update(indicator_keys=["retired_indicator"])
    code.refresh_from_db()
    services.code_update(
        user=lead, code=code, values={"indicator_keys": ["retired_indicator", "concern.drugs"]}
    )
    code.refresh_from_db()
    assert code.indicator_keys == ["retired_indicator", "concern.drugs"]


def test_a_code_with_excerpts_is_merged_not_deleted(programme: Programme, lead: User) -> None:
    theft = _code(programme, "Theft")
    stealing = _code(programme, "Stealing", indicator_keys=["concern.theft"])
    child = _code(programme, "Livestock theft", parent=stealing)
    source = _source(programme)
    Excerpt.objects.create(source=source, code=stealing, coder=lead, start=0, end=20)
    Excerpt.objects.create(source=source, code=stealing, coder=lead, start=21, end=42)
    Excerpt.objects.create(source=source, code=theft, coder=lead, start=0, end=20)
    with pytest.raises(ValidationError) as error:
        services.code_delete(user=lead, code=stealing)
    assert "merge it into another code" in str(error.value)
    with pytest.raises(ValidationError):
        services.code_merge(user=lead, code=stealing, into=child)
    stealing_id = stealing.pk
    services.code_merge(user=lead, code=stealing, into=theft)
    assert not Code.objects.filter(pk=stealing_id).exists()
    spans = sorted(Excerpt.objects.filter(code=theft).values_list("start", "end"))
    assert spans == [(0, 20), (21, 42)]  # the doubled excerpt is not kept twice
    child.refresh_from_db()
    theft.refresh_from_db()
    assert child.parent == theft and theft.indicator_keys == ["concern.theft"]
    event = AuditEvent.objects.get(object_id=str(stealing_id), verb=AuditEvent.Verb.DELETED)
    assert event.details["merged_into"] == theft.pk and event.details["excerpts_moved"] == 1


def test_a_code_with_sub_codes_is_not_deleted(programme: Programme, lead: User) -> None:
    top = _code(programme, "Violence")
    _code(programme, "Theft", parent=top)
    with pytest.raises(ValidationError):
        services.code_delete(user=lead, code=top)
    assert Code.objects.filter(programme=programme).count() == 2


# Pages ------------------------------------------------------------------------------------


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_codebook_page_shows_names_in_the_current_language_and_counts(
    programme: Programme, lead: User
) -> None:
    services.codebook_seed(programme=programme)
    source = _source(programme)
    theft = Code.objects.get(programme=programme, key="theft")
    Excerpt.objects.create(source=source, code=theft, coder=lead, start=0, end=20)
    client = _client(lead)
    url = reverse("drivers:codebook", args=[programme.slug])
    page = client.get(url).content.decode()
    assert "Youth unemployment" in page and "1 excerpt" in page
    assert "Names as a main security concern: Theft" in page
    client.post(reverse("core:set_language"), {"language": "tg", "next": url})
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="tg").content.decode()
    assert "Бекории ҷавонон" in page


def test_who_sees_the_codebook_pages(programme: Programme, lead: User) -> None:
    code = _code(programme, "Theft")
    facilitator = member_of(programme, Role.FACILITATOR, organisation=OrganisationFactory())
    viewer = member_of(programme, Role.VIEWER)
    outsider = member_of(ProgrammeFactory(), Role.LEAD)
    codebook = reverse("drivers:codebook", args=[programme.slug])
    edit = reverse("drivers:code_edit", args=[programme.slug, code.pk])
    create = reverse("drivers:code_create", args=[programme.slug])
    assert _client(lead).get(edit).status_code == 200
    assert _client(facilitator).get(codebook).status_code == 200
    assert _client(facilitator).get(create).status_code == 404
    assert _client(facilitator).get(edit).status_code == 404
    assert (
        _client(facilitator)
        .post(reverse("drivers:codebook_seed", args=[programme.slug]))
        .status_code
        == 404
    )
    assert _client(viewer).get(codebook).status_code == 404
    assert _client(outsider).get(codebook).status_code == 404
    assert Code.objects.filter(programme=programme).count() == 1


def test_adding_editing_merging_and_deleting_through_the_pages(
    programme: Programme, lead: User
) -> None:
    client = _client(lead)
    slug = programme.slug
    response = client.post(
        reverse("drivers:code_create", args=[slug]),
        {
            "name_en": "Water disputes",
            "name_ru": "Споры из-за воды",
            "kind": "concern",
            "parent": "",
            "indicator_keys": ["concern.land_water"],
        },
    )
    assert response.status_code == 302
    water = Code.objects.get(programme=programme, key="water_disputes")
    assert water.indicator_keys == ["concern.land_water"] and water.kind == "concern"
    bad = client.post(
        reverse("drivers:code_create", args=[slug]),
        {"name_en": "", "kind": "concern", "parent": str(water.pk)},
    )
    assert bad.status_code == 200 and Code.objects.filter(programme=programme).count() == 1
    land = _code(programme, "Land disputes")
    response = client.post(
        reverse("drivers:code_edit", args=[slug, land.pk]),
        {
            "name_en": "Land disputes",
            "name_tg": "Баҳсҳои заминӣ",
            "kind": "concern",
            "parent": str(water.pk),
        },
    )
    assert response.status_code == 302
    land.refresh_from_db()
    assert land.parent == water and land.name_tg == "Баҳсҳои заминӣ"
    cycle = client.post(
        reverse("drivers:code_edit", args=[slug, water.pk]),
        {"name_en": "Water disputes", "kind": "concern", "parent": str(land.pk)},
    )
    assert cycle.status_code == 200  # land is below water, so not offered as its parent
    water.refresh_from_db()
    assert water.parent is None
    source = _source(programme)
    Excerpt.objects.create(source=source, code=land, coder=lead, start=0, end=20)
    refused = client.post(reverse("drivers:code_delete", args=[slug, land.pk]), follow=True)
    assert "merge it into another code" in refused.content.decode()
    assert Code.objects.filter(pk=land.pk).exists()
    client.post(reverse("drivers:code_merge", args=[slug, land.pk]), {"into": str(water.pk)})
    assert not Code.objects.filter(pk=land.pk).exists()
    assert Excerpt.objects.get().code == water
    theft = _code(programme, "Theft")
    client.post(reverse("drivers:code_delete", args=[slug, theft.pk]))
    assert not Code.objects.filter(pk=theft.pk).exists()
    assert client.get(reverse("drivers:code_delete", args=[slug, water.pk])).status_code == 405


def test_seed_button_adds_the_profiles_codes_once(programme: Programme, lead: User) -> None:
    client = _client(lead)
    url = reverse("drivers:codebook_seed", args=[programme.slug])
    first = client.post(url, follow=True).content.decode()
    assert f"{len(seed_entries())} codes from the programme profiles are added." in first
    again = client.post(url, follow=True).content.decode()
    assert "already holds every code" in again
    assert Code.objects.filter(programme=programme).count() == len(seed_entries())


# Work a page does not repeat ----------------------------------------------------------------


def _page_queries(client: Client, url: str) -> int:
    client.get(url)  # what is read once per process is read
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_codebook_pages_make_as_many_queries_for_30_codes_as_for_3(
    programme: Programme, lead: User
) -> None:
    source = _source(programme)
    top = _code(programme, "Code 0")
    for n in range(1, 3):
        code = _code(programme, f"Code {n}", parent=top)
        Excerpt.objects.create(source=source, code=code, coder=lead, start=0, end=10)
    client = _client(lead)
    urls = [
        reverse("drivers:codebook", args=[programme.slug]),
        reverse("drivers:code_create", args=[programme.slug]),
        reverse("drivers:code_edit", args=[programme.slug, top.pk]),
    ]
    few = [_page_queries(client, url) for url in urls]
    for n in range(3, 30):
        code = _code(programme, f"Code {n}", parent=top if n % 2 else None)
        Excerpt.objects.create(source=source, code=code, coder=lead, start=n, end=n + 10)
    assert Code.objects.filter(programme=programme).count() == 30
    assert [_page_queries(client, url) for url in urls] == few


def test_indicator_labels_are_parsed_once_per_indicator_set(
    programme: Programme, monkeypatch: pytest.MonkeyPatch
) -> None:
    parsed: list[str] = []

    def counting(spec: str, **checked_against: Any) -> Any:
        if not checked_against:  # saving a set checks it against the forms: not a reading
            parsed.append(spec)
        return load_indicators(spec, **checked_against)

    # The findings' one reading of an indicator set, kept by the process.
    findings_services.indicators_read.cache_clear()
    monkeypatch.setattr(findings_services, "load_indicators", counting)
    with translation.override("en"):
        english = services.indicator_choices(programme)
        assert services.indicator_choices(programme) == english
    assert len(parsed) == 1
    with translation.override("tg"):
        tajik = services.indicator_choices(programme)
    assert len(parsed) == 1 and tajik != english
    # A new version of the indicators is read again.
    spec = INDICATORS_FILE.read_text(encoding="utf-8").replace(
        "en: Theft,", "en: Theft of property,", 1
    )
    findings_services.indicator_set_save(acting_user=None, programme=programme, spec=spec)
    with translation.override("en"):
        changed = services.indicator_choices(programme)
    assert len(parsed) == 2
    assert "Names as a main security concern: Theft of property" in changed.values()
