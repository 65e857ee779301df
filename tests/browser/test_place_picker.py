"""The place picker on a 360 px phone, in Tajik, with the keyboard: a lead adds a community
group, finds its mahalla by typing a few letters of its Tajik name (the answer shows its path
"Region › District › Mahalla" in Tajik), ticks it with the space bar and saves; then chooses
two places of an assessment, one by typing and one by browsing the district. No page scrolls
sideways, nothing reports a JavaScript error, and the page carries none of the other places."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from django.urls import reverse

from amniyat.accounts.models import Membership
from amniyat.communities.models import CommunityGroup
from amniyat.fieldwork.models import Assessment
from amniyat.places import services
from amniyat.places.models import Place
from tests.browser.conftest import sign_in
from tests.factories import ProgrammeFactory, member_of, shipped_place

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

WIDTH = 360


def _scroll_width(page: Page) -> int:
    return int(page.evaluate("document.documentElement.scrollWidth"))


def test_a_place_is_chosen_by_typing_on_a_phone(
    phone_page: Page, live_server: Any, screenshots: Path
) -> None:
    from playwright.sync_api import expect

    vakhsh = shipped_place("TJ-KT-VAK")
    programme = ProgrammeFactory(slug="khatlon", districts=[vakhsh])
    navruz = services.community_create(
        acting_user=None,
        programme=programme,
        parent=vakhsh,
        name_en="Navruz",
        name_tg="Наврӯз",
        name_ru="Навруз",
    )
    others = [
        services.community_create(
            acting_user=None, programme=programme, parent=vakhsh, name_en=f"Mahalla {n}"
        )
        for n in range(40)
    ]
    lead = member_of(programme, Membership.Role.LEAD)
    errors: list[str] = []
    phone_page.on("pageerror", lambda error: errors.append(str(error)))
    base = live_server.url
    sign_in(phone_page, base, lead.username)
    phone_page.context.add_cookies([{"name": "amniyat_language", "value": "tg", "url": base}])

    phone_page.goto(base + reverse("communities:create", args=[programme.slug]))
    expect(phone_page.locator("html")).to_have_attribute("lang", "tg")
    assert "Mahalla 1" not in phone_page.content()
    phone_page.fill("#id_name", "Гурӯҳи занони Наврӯз")
    phone_page.locator("#id_kind").select_option(index=1)
    phone_page.locator("#id_facilitating_organisation").select_option(index=1)
    search = phone_page.locator("#id_place")
    search.focus()
    phone_page.keyboard.type("навр")
    found = phone_page.locator("#id_place_results input[type=radio]")
    expect(found).to_have_count(1)
    expect(phone_page.locator("#id_place_results")).to_contain_text(
        "Вилояти Хатлон › Ноҳияи Вахш › Наврӯз"
    )
    # Enter in the search box sends nothing; the keyboard reaches the answer.
    phone_page.keyboard.press("Enter")
    assert "/groups/new/" in phone_page.url
    phone_page.keyboard.press("Tab")
    focused = phone_page.evaluate("document.activeElement.value")
    assert focused == str(navruz.pk), focused
    phone_page.keyboard.press("Space")
    chosen = phone_page.locator(".picker-chosen input:checked")
    expect(chosen).to_have_value(str(navruz.pk))
    phone_page.screenshot(path=str(screenshots / "place-picker-tg-360.png"), full_page=True)
    width = _scroll_width(phone_page)
    assert width <= WIDTH, f"the group form is {width}px wide"
    phone_page.locator("button[type=submit].primary").click()
    phone_page.wait_for_url(re.compile(r"/groups/\d+/$"))
    group = CommunityGroup.objects.get(programme=programme)
    assert group.place_id == navruz.pk

    # Several places: one typed, one found by browsing the district.
    phone_page.goto(base + reverse("fieldwork:assessment_create", args=[programme.slug]))
    phone_page.fill("#id_title", "Арзёбии ибтидоӣ")
    phone_page.locator("#id_kind").select_option(index=1)
    phone_page.locator("#id_places").fill("навр")
    phone_page.locator("#id_places_results input[type=checkbox]").check()
    phone_page.locator(".picker-browse").click()
    phone_page.locator("#id_places_results li", has_text="Ноҳияи Вахш").locator("button").click()
    expect(phone_page.locator("#id_places_results")).to_contain_text("Mahalla 7")
    phone_page.locator("#id_places_results li", has_text="Mahalla 7").locator("input").check()
    expect(phone_page.locator(".picker-chosen input:checked")).to_have_count(2)
    phone_page.screenshot(path=str(screenshots / "place-picker-many-tg-360.png"), full_page=True)
    width = _scroll_width(phone_page)
    assert width <= WIDTH, f"the assessment form is {width}px wide"
    phone_page.locator("button[type=submit].primary").click()
    phone_page.wait_for_url(re.compile(r"/assessments/\d+/$"))
    assessment = Assessment.objects.get(programme=programme)
    seventh = Place.objects.get(pk=others[7].pk)
    assert set(assessment.places.all()) == {navruz, seventh}
    assert not errors, errors
