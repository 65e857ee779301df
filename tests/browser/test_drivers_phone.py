"""The drivers pages on a 360 px phone, in Tajik and Uzbek: a donor reads a published driver
map drawn on the server (labels at least 12 px, the drawing scrolls inside its own box, no
script), a lead reads and scores a priority matrix, and an analyst opens the map editor (its
buttons wrap, the same drawing takes the width and scrolls inside its own box, labels at least
12 px, a finger drags a factor and taps one to edit it). None of the pages scrolls sideways,
and none reports a JavaScript error."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from django.urls import reverse

from amniyat.accounts.models import Membership, Programme, User
from amniyat.drivers.maps import services as maps
from amniyat.drivers.models import DriverMap, Factor, Link, PriorityList
from amniyat.drivers.priorities import services as priorities
from tests.browser.conftest import sign_in
from tests.browser.test_drivers import Pointer
from tests.factories import CommunityGroupFactory, ProgrammeFactory, member_of, shipped_place

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

WIDTH = 360
LANGUAGE_COOKIE = "amniyat_language"
LANGUAGES = ["tg", "uz"]
# Factors of the map as a women's group in Khatlon named them: long, in Tajik and Uzbek.
FACTORS = [
    ("Бекории ҷавонон ва муҳоҷирати меҳнатии мардон ба Русия", Factor.Kind.DRIVER, 280, 40),
    ("Зӯроварии хонаводагӣ нисбат ба занони муҳоҷирон", Factor.Kind.CONCERN, 560, 40),
    ("Korrupsiya va mahalliy hokimiyatga ishonchsizlik", Factor.Kind.ROOT_CAUSE, 0, 150),
    ("Oilaviy nizolar va ajrashishlar soni oshishi", Factor.Kind.EFFECT, 840, 150),
    ("Муколамаи милитсия бо маҳалла", Factor.Kind.DRIVER, 280, 260),
    ("Oʻgʻirlik va bozordagi firibgarlik", Factor.Kind.CONCERN, 560, 260),
]
LINKS = [
    (0, 1, Link.Kind.WORSENS, 3),
    (2, 0, Link.Kind.CAUSES, 2),
    (1, 3, Link.Kind.CAUSES, 2),
    (4, 5, Link.Kind.MITIGATES, 1),
    (0, 5, Link.Kind.WORSENS, 2),
    (1, 0, Link.Kind.WORSENS, 1),
]
CONCERNS = [
    ("Зӯроварии хонаводагӣ нисбат ба занони муҳоҷирон ва духтарон", 5, 4, 5, 3),
    ("Oʻgʻirlik va bozordagi firibgarlik, ayniqsa kechqurun", 3, 4, 3, 4),
    ("Нашъамандӣ дар байни ҷавонони 15–24-сола", 4, 2, 4, 2),
    ("Mahalla va militsiya oʻrtasidagi ishonchsizlik", 3, 5, 2, 5),
]


def _scroll_width(page: Page) -> int:
    return int(page.evaluate("document.documentElement.scrollWidth"))


def _programme() -> tuple[Programme, DriverMap, PriorityList, dict[str, User]]:
    vakhsh = shipped_place("TJ-KT-VAK")
    programme = ProgrammeFactory(name="Амнияти ҷамъиятӣ дар Хатлон", districts=[vakhsh])
    people = {
        "lead": member_of(programme, Membership.Role.LEAD),
        "analyst": member_of(programme, Membership.Role.ANALYST),
        "viewer": member_of(programme, Membership.Role.VIEWER),
    }
    driver_map = maps.map_create(
        acting_user=people["analyst"],
        programme=programme,
        title="Хатлон: назари занон дар бораи ноамнӣ",
        perspective=DriverMap.Perspective.WOMEN,
    )
    factors = [
        maps.factor_add(
            acting_user=people["analyst"], driver_map=driver_map, label=label, kind=kind, x=x, y=y
        )
        for label, kind, x, y in FACTORS
    ]
    for source, target, kind, strength in LINKS:
        maps.link_add(
            acting_user=people["analyst"],
            driver_map=driver_map,
            source=factors[source],
            target=factors[target],
            kind=kind,
            strength=strength,
        )
    maps.map_publish(acting_user=people["lead"], driver_map=driver_map)
    group = CommunityGroupFactory(
        programme=programme,
        place=vakhsh,
        name="Гурӯҳи кории амнияти ҷамъиятии ноҳияи Вахш",
        facilitating_organisation=programme.lead_organisation,
    )
    priority_list = priorities.priority_list_create(
        user=people["lead"],
        programme=programme,
        group=group,
        title="Афзалиятҳои амнияти гурӯҳ барои соли 2022",
    )
    for concern, *scores in CONCERNS:
        severity, affected, urgency, changeable = scores
        priorities.priority_add(
            user=people["lead"],
            priority_list=priority_list,
            concern=concern,
            severity=severity,
            affected=affected,
            urgency=urgency,
            changeable=changeable,
            most_affected=["women", "girls", "youth", "returnees"],
        )
    priorities.priority_list_agree(
        user=people["lead"],
        priority_list=priority_list,
        agreed_on=datetime.date(2022, 10, 12),
        participants=14,
        women=9,
        men=5,
        took_part="раиси маҳалла, ду муаллим, нозири минтақавии милитсия",
    )
    return programme, driver_map, priority_list, people


def _in_language(page: Page, base: str, language: str) -> None:
    page.context.add_cookies([{"name": LANGUAGE_COOKIE, "value": language, "url": base}])


def _errors(page: Page) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(f"{page.url}: {error}"))
    page.on(
        "console",
        lambda message: (
            errors.append(f"{page.url}: {message.text}") if message.type == "error" else None
        ),
    )
    return errors


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_published_map_and_the_priority_matrix_fit_a_phone(
    phone_page: Page, live_server: Any, screenshots: Path, language: str
) -> None:
    from playwright.sync_api import expect

    programme, driver_map, priority_list, people = _programme()
    base = live_server.url
    errors = _errors(phone_page)
    scripts: list[str] = []
    phone_page.on("request", lambda request: scripts.append(request.url))

    # A donor reads the published map.
    sign_in(phone_page, base, people["viewer"].username)
    _in_language(phone_page, base, language)
    phone_page.goto(base + reverse("drivers:map_detail", args=[programme.slug, driver_map.pk]))
    expect(phone_page.locator("html")).to_have_attribute("lang", language)
    drawing = phone_page.locator("#map-drawing svg.driver-map")
    expect(drawing).to_be_visible()
    expect(drawing.locator(".factor")).to_have_count(len(FACTORS))
    expect(drawing.locator(".link")).to_have_count(len(LINKS))
    expect(phone_page.locator("#evidence-list > li")).to_have_count(len(FACTORS))
    label_heights = phone_page.evaluate(
        "[...document.querySelectorAll('#map-drawing tspan')]"
        ".map((t) => t.getBoundingClientRect().height)"
    )
    phone_page.screenshot(
        path=str(screenshots / f"drivers-map-published-{language}-360.png"), full_page=True
    )
    map_width = _scroll_width(phone_page)
    assert not [url for url in scripts if "cytoscape" in url]
    # Labels are at least 12 px tall; the drawing scrolls inside its own box.
    assert min(label_heights) >= 12, label_heights
    box_scrolls = phone_page.evaluate(
        "(() => { const box = document.getElementById('map-drawing');"
        " return box.scrollWidth > box.clientWidth; })()"
    )
    assert box_scrolls
    assert map_width <= WIDTH, f"the published map page is {map_width}px wide"
    # The export menu opens within the screen too.
    phone_page.locator(".map-export summary").click()
    expect(phone_page.locator("#export-png")).to_be_visible()
    assert _scroll_width(phone_page) <= WIDTH

    # The lead reads the priority matrix of the group.
    phone_page.context.clear_cookies()
    sign_in(phone_page, base, people["lead"].username)
    _in_language(phone_page, base, language)
    phone_page.goto(
        base + reverse("drivers:priority_list_detail", args=[programme.slug, priority_list.pk])
    )
    expect(phone_page.locator("table.matrix tbody tr")).to_have_count(len(CONCERNS))
    phone_page.screenshot(
        path=str(screenshots / f"drivers-priorities-{language}-360.png"), full_page=True
    )
    matrix_width = _scroll_width(phone_page)
    assert matrix_width <= WIDTH, f"the priority matrix page is {matrix_width}px wide"
    assert errors == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_map_editor_works_on_a_phone(
    phone_page: Page, live_server: Any, screenshots: Path, language: str
) -> None:
    from playwright.sync_api import expect

    programme, driver_map, _list, people = _programme()
    base = live_server.url
    errors = _errors(phone_page)
    sign_in(phone_page, base, people["analyst"].username)
    _in_language(phone_page, base, language)
    phone_page.goto(base + reverse("drivers:map_detail", args=[programme.slug, driver_map.pk]))
    # An editor's further actions are one "More" away, and open within the screen.
    phone_page.locator(".map-menu.end summary").click()
    expect(phone_page.locator("#map-edit-details")).to_be_visible()
    assert _scroll_width(phone_page) <= WIDTH
    phone_page.click("#map-open-editor")
    expect(phone_page.locator("#map-canvas[data-ready]")).to_have_count(1)
    canvas = phone_page.locator("#map-canvas").bounding_box()
    main = phone_page.locator("main").bounding_box()
    assert canvas is not None and main is not None
    drawing = phone_page.locator("#map-canvas svg.driver-map")
    expect(drawing.locator("g.factor")).to_have_count(len(FACTORS))
    expect(drawing.locator("g.link")).to_have_count(len(LINKS))
    label_heights = drawing.locator("tspan").evaluate_all(
        "(spans) => spans.map((t) => t.getBoundingClientRect().height)"
    )
    box_scrolls = phone_page.evaluate(
        "(() => { const box = document.getElementById('map-canvas');"
        " return box.scrollWidth > box.clientWidth; })()"
    )
    phone_page.screenshot(
        path=str(screenshots / f"drivers-map-editor-{language}-360.png"), full_page=False
    )
    width = _scroll_width(phone_page)
    # The drawing takes the width of the page, at its natural size: labels are 12 px or more,
    # and a map wider than the phone scrolls inside its own box.
    assert canvas["width"] >= main["width"] - 40
    assert min(label_heights) >= 12, label_heights
    assert box_scrolls
    assert width <= WIDTH, f"the map editor is {width}px wide"
    # Adding a factor still works from the wrapped toolbar.
    phone_page.fill("#factor-label", "Набудани равшанӣ дар кӯчаҳо")
    phone_page.click("#factor-add")
    expect(phone_page.locator("#factor-label")).to_have_value("")
    expect(drawing.locator("g.factor")).to_have_count(len(FACTORS) + 1)
    assert driver_map.factors.count() == len(FACTORS) + 1
    # A finger drags a factor (the box does not scroll under it), and its place is saved.
    dialogue = driver_map.factors.get(label=FACTORS[4][0])
    pointer = Pointer(phone_page, touch=True)
    scrolled = (
        "(() => { const box = document.getElementById('map-canvas');"
        " return [box.scrollLeft, box.scrollTop, window.scrollY]; })()"
    )
    at = pointer.factor(dialogue)
    before = phone_page.evaluate(scrolled)
    pointer.drag(at, (40, 50))
    expect(drawing.locator(f"[data-id='f{dialogue.pk}']")).to_have_attribute("data-y", "310")
    dialogue.refresh_from_db()
    assert (dialogue.x, dialogue.y) == (320, 310)
    assert phone_page.evaluate(scrolled) == before
    # A tap selects it, and the panel under the map shows it, ready to edit.
    pointer.tap_factor(dialogue)
    expect(phone_page.locator("#selected-label")).to_have_value(FACTORS[4][0])
    expect(phone_page.locator("#selected-label")).to_be_in_viewport()
    phone_page.screenshot(
        path=str(screenshots / f"drivers-map-editor-{language}-360-selected.png"), full_page=False
    )
    assert _scroll_width(phone_page) <= WIDTH
    assert errors == []
