"""Content in the reader's language: written once, translated by whoever may edit it, read in
the reader's language with a visible fallback (core.i18n.Translatable, accounts.translations)."""

from __future__ import annotations

from typing import Any

import pytest
from django.template import Context, Template
from django.test import Client
from django.urls import reverse
from django.utils import translation

from amniyat.accounts.models import Membership
from amniyat.audit.models import AuditEvent
from amniyat.communities.models import CommunityGroup
from amniyat.drivers.maps import services as maps
from amniyat.drivers.models import Code, Factor
from tests.drivers.maps.test_maps import World, build_world
from tests.factories import CommunityGroupFactory, member_of

Role = Membership.Role


@pytest.fixture
def world(db: None) -> World:
    return build_world()


def client_of(user: Any, language: str = "en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


def group_url(w: World, group: CommunityGroup) -> str:
    return reverse("accounts:translate_communitygroup", args=[w.programme.slug, group.pk])


def render(template: str, **context: Any) -> str:
    return Template(template).render(Context(context))


def test_a_text_is_read_in_the_readers_language_and_falls_back_visibly(world: World) -> None:
    group = CommunityGroupFactory(programme=world.programme, name="Women of Vakhsh")
    group.set_translation("name", "tg", "Занони Вахш")
    group.save()
    with translation.override("tg"):
        assert str(group) == "Занони Вахш"
        assert render('{{ g|tr:"name" }}', g=group) == "Занони Вахш"
    with translation.override("uz"):
        shown = render('{{ g|tr:"name" }}', g=group)
        assert shown.startswith('<span lang="en" class="untranslated" data-language="EN"')
        assert ">Women of Vakhsh</span>" in shown
        # Attributes and titles get the text alone.
        assert render('{{ g|tr_text:"name" }}', g=group) == "Women of Vakhsh"
    with translation.override("en"):
        assert render('{{ g|tr:"name" }}', g=group) == "Women of Vakhsh"


def test_markup_in_a_translation_is_escaped(world: World) -> None:
    group = CommunityGroupFactory(programme=world.programme, name="<b>x</b>")
    group.set_translation("name", "ru", "<script>alert(1)</script>")
    group.save()
    with translation.override("ru"):
        assert "<script>" not in render('{{ g|tr:"name" }}', g=group)
    with translation.override("tg"):
        assert "<b>" not in render('{{ g|tr:"name" }}', g=group)


def test_content_is_written_in_the_language_of_its_writer(world: World) -> None:
    with translation.override("tg"):
        group = CommunityGroupFactory(programme=world.programme, name="Гурӯҳи занон")
    assert group.content_language == "tg"
    with translation.override("en"):
        assert group.translated("name").fallback
        assert group.translated("name").language == "tg"


def test_the_lead_translates_a_group_and_it_is_audited_without_the_texts(world: World) -> None:
    group = CommunityGroupFactory(programme=world.programme, name="Women of Vakhsh")
    client = client_of(world.lead)
    page = client.get(group_url(world, group))
    assert page.status_code == 200
    assert b'lang="tg"' in page.content and b'lang="ru"' in page.content
    field = f"communitygroup-{group.pk}-name"
    response = client.post(
        group_url(world, group),
        {
            "content_language": "en",
            f"{field}-ru": "Женщины Вахша",
            f"{field}-tg": "Занони Вахш",
            f"{field}-uz": "",
        },
    )
    assert response.status_code == 302
    group.refresh_from_db()
    assert group.translation("name", "tg") == "Занони Вахш"
    assert group.translation_status("uz") == "missing"
    assert group.translation_status("ru") == "done"
    event = AuditEvent.objects.get(verb=AuditEvent.Verb.TRANSLATED)
    assert event.details == {"languages": ["ru", "tg"], "written_in": "en"}
    assert "Занони" not in str(event.details) and event.object_label == "Women of Vakhsh"
    detail = client_of(world.lead, "tg").get(
        reverse("communities:detail", args=[world.programme.slug, group.pk])
    )
    assert "Занони Вахш" in detail.content.decode()


def test_a_translation_of_an_older_text_is_flagged_out_of_date(world: World) -> None:
    group = CommunityGroupFactory(programme=world.programme, name="Women of Vakhsh")
    group.set_translation("name", "ru", "Женщины Вахша")
    group.name = "Women and girls of Vakhsh"
    group.save()
    assert group.translation_outdated("name", "ru")
    assert group.translation_status("ru") == "outdated"
    page = client_of(world.lead).get(group_url(world, group)).content.decode()
    assert 'class="badge outdated"' in page


def test_only_those_who_may_edit_it_may_translate_it(world: World) -> None:
    group = CommunityGroupFactory(
        programme=world.programme, name="Theirs", facilitating_organisation=world.other_partner
    )
    assert client_of(world.viewer).get(group_url(world, group)).status_code == 404
    assert client_of(world.facilitator).get(group_url(world, group)).status_code == 404
    assert client_of(world.other_facilitator).get(group_url(world, group)).status_code == 200
    # The programme itself is the lead's.
    programme_url = reverse("accounts:translate_programme", args=[world.programme.slug])
    assert client_of(world.analyst).get(programme_url).status_code == 404
    assert client_of(world.lead).get(programme_url).status_code == 200
    # Another programme's group answers 404 under this programme's address.
    other = member_of(CommunityGroupFactory().programme, Role.LEAD)
    assert client_of(other).get(group_url(world, group)).status_code == 404


def test_a_maps_factors_are_translated_on_its_page_and_a_coded_one_reads_as_its_code(
    world: World,
) -> None:
    driver_map = maps.map_create(acting_user=world.analyst, programme=world.programme, title="Map")
    code = Code.objects.create(
        programme=world.programme, key="unemployment", name_en="Unemployment", name_tg="Бекорӣ"
    )
    coded = maps.factor_add(
        acting_user=world.analyst, driver_map=driver_map, label="No jobs", kind="driver", code=code
    )
    plain = maps.factor_add(
        acting_user=world.analyst, driver_map=driver_map, label="Migration", kind="effect"
    )
    url = reverse("accounts:translate_drivermap", args=[world.programme.slug, driver_map.pk])
    client = client_of(world.analyst)
    page = client.get(url).content.decode()
    assert f"factor-{plain.pk}-label-tg" in page
    # A coded factor is translated by the codebook: no box for it here.
    assert f"factor-{coded.pk}-label-tg" not in page
    client.post(
        url,
        {"content_language": "en", f"factor-{plain.pk}-label-tg": "Муҳоҷират"},
    )
    plain = Factor.objects.get(pk=plain.pk)
    assert plain.translated("label", "tg") == "Муҳоҷират"
    coded = Factor.objects.get(pk=coded.pk)
    assert coded.translated("label", "tg") == "Бекорӣ"
    # Where the code has no name in the language, the factor's own translation serves.
    coded.set_translation("label", "ru", "Нет работы")
    assert coded.translated("label", "ru") == "Нет работы"
    assert coded.translated("label", "uz") == "Unemployment"
    assert coded.translated("label", "uz").fallback


def test_changing_the_written_language_keeps_the_text_and_drops_its_own_box(
    world: World,
) -> None:
    group = CommunityGroupFactory(programme=world.programme, name="Гурӯҳи занон")
    assert group.content_language == "en"  # written in a Tajik text, recorded wrongly
    field = f"communitygroup-{group.pk}-name"
    client = client_of(world.lead)
    client.post(group_url(world, group), {"content_language": "tg", f"{field}-tg": "ignored"})
    group.refresh_from_db()
    assert group.content_language == "tg"
    assert group.translation("name", "tg") == ""
    # Now English is a translation, with its own box.
    assert f"{field}-en" in client.get(group_url(world, group)).content.decode()
    client.post(group_url(world, group), {"content_language": "tg", f"{field}-en": "Women's group"})
    group.refresh_from_db()
    assert group.translated("name", "en") == "Women's group"
    assert group.translated("name", "tg") == "Гурӯҳи занон"
