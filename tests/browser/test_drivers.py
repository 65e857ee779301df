"""The drivers of insecurity in the browser, in Tajik: an analyst codes words of a passage by
hand, accepts a suggestion of the assisted coding and draws a driver map in the editor (adds,
drags, links, renames, attaches evidence, deletes), with a mouse on a desktop and with a
finger on a 360 px phone; each change is in the database at once and still there after a
reload. The coding page and the map fit a 360 px phone, and no page reports a JavaScript
error."""

from __future__ import annotations

import datetime
import random
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from amniyat.accounts.models import Membership, Programme, User
from amniyat.drivers.assist import services as assist
from amniyat.drivers.codebook import services as codebook
from amniyat.drivers.coding import services as sources
from amniyat.drivers.maps import services as maps
from amniyat.drivers.maps import svg
from amniyat.drivers.models import (
    Code,
    DriverMap,
    Excerpt,
    Factor,
    Link,
    Passage,
    Source,
    Suggestion,
)
from amniyat.fieldwork.forms.services import assessment_create
from amniyat.fieldwork.models import Assessment
from tests.browser.conftest import sign_in
from tests.drivers.assist.test_assist import BANK, NEUTRAL, OPENERS, TOPICS
from tests.factories import ProgrammeFactory, member_of

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = [
    pytest.mark.browser,
    # Transactional (the live server runs in another thread); serialized rollback keeps the
    # places the data migration loads, which the factories need.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

CODE_NAMES = {  # key: (English, Russian, Tajik)
    "water": ("Irrigation water disputes", "Споры из-за поливной воды", "Баҳс барои оби обёрӣ"),
    "border": ("Border closures", "Закрытие границы", "Бастани сарҳад"),
    "jobs": ("Youth unemployment", "Безработица молодёжи", "Бекории ҷавонон"),
    "police": ("Distrust of the police", "Недоверие к милиции", "Нобоварӣ ба милитсия"),
}
# The discussion the analyst codes by hand, and the words they select in it.
FRESH_NOTES = (
    "Вохӯрӣ дар бинои мактаб гузашт. Занон аввал сухан карданд.\n"
    "Як зан гуфт, ки об ба заминҳои мо намерасад. Дар мобайни вохӯрӣ чой доданд."
)
SELECTED_WORDS = "об ба заминҳои мо намерасад"
FACTORS = [  # label, kind, as the analyst types them on the map
    ("Бекории ҷавонон", Factor.Kind.DRIVER),
    ("Задухӯрд дар назди канал", Factor.Kind.CONCERN),
]
PHONE_WIDTH = 360


@dataclass
class Evidence:
    programme: Programme
    analyst: User
    codes: dict[str, Code]
    fresh: Source  # not coded yet; the analyst codes it by hand


def _tajik_sentence(rng: random.Random, topic: str | None) -> str:
    if topic is None:
        return rng.choice(NEUTRAL["tg"]) + "."
    opener = rng.choice(OPENERS["tg"])
    phrase = rng.choice(BANK[topic]["tg"])
    return (f"{opener} {phrase}" if opener else phrase[0].upper() + phrase[1:]) + "."


def _focus_group_notes(rng: random.Random) -> tuple[str, list[str | None]]:
    """Ten sentences in two paragraphs about two of the topics, and the topic of each."""
    topics = rng.sample(TOPICS, 2)
    plan = [rng.choice(topics) if rng.random() < 0.45 else None for _ in range(10)]
    sentences = [_tajik_sentence(rng, topic) for topic in plan]
    text = " ".join(sentences[:5]) + "\n" + " ".join(sentences[5:])
    return unicodedata.normalize("NFC", text), plan


def _programme_with_analyst() -> tuple[Programme, User, User, Assessment]:
    programme = ProgrammeFactory(name="Амнияти ҷамъиятӣ дар Хатлон")
    lead = member_of(programme, Membership.Role.LEAD)
    analyst = member_of(programme, Membership.Role.ANALYST)
    assessment = assessment_create(
        acting_user=lead, programme=programme, title="Арзёбии ибтидоӣ", kind="baseline"
    )
    return programme, lead, analyst, assessment


def _add_codes(programme: Programme, lead: User) -> dict[str, Code]:
    return {
        key: codebook.code_create(
            user=lead, programme=programme, key=key, name_en=en, name_ru=ru, name_tg=tg
        )
        for key, (en, ru, tg) in CODE_NAMES.items()
    }


def _add_source(
    programme: Programme, lead: User, assessment: Assessment, title: str, text: str
) -> Source:
    return sources.source_create(
        user=lead,
        programme=programme,
        assessment=assessment,
        title=title,
        kind=Source.Kind.FOCUS_GROUP,
        language="tg",
        text=text,
        place=programme.places.get(),
        held_on=datetime.date(2022, 3, 15),
        participants=12,
        women=7,
        men=5,
    )


def build_evidence(*, coded: int = 20, uncoded: int = 4, seed: int = 7) -> Evidence:
    """Focus groups in Tajik, as tests.drivers.assist.test_assist builds them but through the
    services: ``coded`` ones the lead coded by hand (whole sentences), enough for the
    assistant to learn the topics; ``uncoded`` ones it suggests codes for; and the fresh
    discussion the analyst is about to code."""
    programme, lead, analyst, assessment = _programme_with_analyst()
    codes = _add_codes(programme, lead)
    rng = random.Random(seed)
    for i in range(coded + uncoded):
        text, plan = _focus_group_notes(rng)
        source = _add_source(programme, lead, assessment, f"Гурӯҳи фокусӣ {i + 1}", text)
        passages = list(source.passages.order_by("position"))
        assert len(passages) == len(plan), "one passage per sentence"
        if i >= coded:
            continue
        for passage, topic in zip(passages, plan, strict=True):
            if topic is not None:
                sources.excerpt_create(
                    user=lead,
                    source=source,
                    code=codes[topic],
                    start=passage.start,
                    end=passage.end,
                )
    fresh = _add_source(programme, lead, assessment, "Занони деҳаи Гулистон", FRESH_NOTES)
    return Evidence(programme=programme, analyst=analyst, codes=codes, fresh=fresh)


@pytest.fixture(autouse=True)
def _fresh_models() -> Iterator[None]:
    # Fitted models are kept per programme id in this process, which the live server shares.
    assist.assist_cache_clear()
    yield
    assist.assist_cache_clear()


def tajik(message: str) -> str:
    """``message`` as the Tajik catalogue has it (the English while still untranslated)."""
    with translation.override("tg"):
        return gettext(message)


def watch_for_errors(page: Page) -> list[str]:
    """Uncaught exceptions and console errors of every page ``page`` shows."""
    errors: list[str] = []

    def console(message: Any) -> None:
        if message.type == "error":
            errors.append(f"{page.url}: console: {message.text}")

    page.on("pageerror", lambda error: errors.append(f"{page.url}: {error}"))
    page.on("console", console)
    return errors


def sign_in_in_tajik(page: Page, base: str, user: User, url: str) -> None:
    """Sign in through the real form, open ``url`` and switch to Tajik with the header's
    language selector (it submits on change and comes back to the same page)."""
    from playwright.sync_api import expect

    sign_in(page, base, user.username)
    page.goto(url)
    page.select_option("header select[name=language]", "tg")
    expect(page.locator("html")).to_have_attribute("lang", "tg")
    expect(page).to_have_url(url)


# Selects ``words`` inside the text node of the coding page's leaf (span.seg) holding them, as
# a mouse drag does, and lets go of the button over them.
SELECT_WORDS = """(words) => {
  const seg = [...document.querySelectorAll("#source-text span.seg")]
    .find((leaf) => leaf.textContent.includes(words));
  const text = seg.firstChild;
  const at = text.data.indexOf(words);
  const range = document.createRange();
  range.setStart(text, at);
  range.setEnd(text, at + words.length);
  const selection = window.getSelection();
  selection.removeAllRanges();
  selection.addRange(range);
  seg.dispatchEvent(new MouseEvent("mouseup", { bubbles: true }));
  return selection.toString();
}"""


def test_analyst_codes_by_hand_and_accepts_a_suggestion_in_tajik(
    page: Page, live_server: Any, screenshots: Path
) -> None:
    from playwright.sync_api import expect

    evidence = build_evidence()
    slug, fresh, water = evidence.programme.slug, evidence.fresh, evidence.codes["water"]
    errors = watch_for_errors(page)
    base = live_server.url
    coding_url = base + reverse("drivers:source_detail", args=[slug, fresh.pk])
    sign_in_in_tajik(page, base, evidence.analyst, coding_url)

    # Select words of a passage with the mouse, tick a code, apply.
    start = fresh.text.index(SELECTED_WORDS)
    end = start + len(SELECTED_WORDS)
    expect(page.locator("#excerpt-margin .excerpt")).to_have_count(0)
    assert page.evaluate(SELECT_WORDS, SELECTED_WORDS) == SELECTED_WORDS
    expect(page.locator("#sel-start")).to_have_value(str(start))
    expect(page.locator("#sel-end")).to_have_value(str(end))
    page.check(f"#codebook input[data-code='{water.pk}']")
    page.click("#apply-code")
    excerpts = page.locator("#excerpt-margin .excerpt")
    expect(excerpts).to_have_count(1)
    expect(excerpts.locator(".code-name")).to_have_text(CODE_NAMES["water"][2])
    expect(excerpts.locator(".quote")).to_have_text(SELECTED_WORDS)

    # Still there after a reload, over exactly the selected words, in the database too.
    page.reload()
    expect(page.locator("html")).to_have_attribute("lang", "tg")
    expect(excerpts).to_have_count(1)
    expect(page.locator("#source-text .seg.coded")).to_have_text(SELECTED_WORDS)
    page.screenshot(path=str(screenshots / "drivers-coding-tg.png"), full_page=True)
    excerpt = Excerpt.objects.get(source=fresh)
    assert (excerpt.start, excerpt.end) == (start, end)
    assert fresh.text[excerpt.start : excerpt.end] == SELECTED_WORDS
    assert (excerpt.code, excerpt.coder, excerpt.origin) == (
        water,
        evidence.analyst,
        Excerpt.Origin.MANUAL,
    )

    # The assistant learns in the background (a worker runs the task), then asks about
    # passages of the sources nobody coded; accept its first code.
    from django.core.management import call_command

    assist.training_ensure(programme=evidence.programme)
    call_command("worker", batch=True, no_startup_delay=True, reload=False, verbosity=0)
    page.goto(base + reverse("drivers:assist", args=[slug]))
    card = page.locator(".suggestion").first
    expect(card).to_be_visible()
    choice = card.locator(".suggestion-code").first
    passage_pk = int(choice.locator("input[name=passage]").input_value())
    code_pk = int(choice.locator("input[name=code]").input_value())
    key = choice.get_attribute("data-code")
    passage = Passage.objects.select_related("source").get(pk=passage_pk)
    assert passage.source.title.startswith("Гурӯҳи фокусӣ")  # not the analyst's fresh notes
    # Paragraphs are counted from 1 for people (stored from 0).
    expect(card.locator(".suggestion-source")).to_contain_text(
        tajik("paragraph %(number)s") % {"number": passage.paragraph + 1}
    )
    choice.locator("button[name=accept]").click()
    accepted = card.locator(".suggestion-code.decided.accepted")
    expect(accepted).to_have_count(1)
    expect(accepted).to_contain_text(tajik("accepted: the passage is coded"))
    page.screenshot(path=str(screenshots / "drivers-assist-tg.png"), full_page=True)
    assisted = Excerpt.objects.filter(
        source=passage.source, code_id=code_pk, origin=Excerpt.Origin.ASSISTED
    )
    assert assisted.count() == 1
    assert (assisted[0].start, assisted[0].end) == (passage.start, passage.end)
    assert assisted[0].coder == evidence.analyst
    assert (
        Suggestion.objects.get(passage=passage, code_id=code_pk).decision
        == Suggestion.Decision.ACCEPTED
    )

    # Not asked again once decided; the queue goes on with other passages.
    page.reload()
    expect(page.locator(".suggestion").first).to_be_visible()
    expect(
        page.locator(f"#passage-{passage_pk} .suggestion-code[data-code='{key}']")
    ).to_have_count(0)
    queue = assist.suggestions_for(user=evidence.analyst, programme=evidence.programme, limit=500)
    assert (passage_pk, code_pk) not in {(s.passage.pk, c.code.pk) for s in queue for c in s.codes}
    assert errors == []


# The middle of a factor's shape, or of a link's line, in the page's coordinates, brought
# into the map's box first (the box scrolls, the page need not).
FACTOR_ON_SCREEN = """(key) => {
  const group = document.querySelector(`#map-canvas [data-id="${key}"]`);
  group.scrollIntoView({ block: "center", inline: "center" });
  const box = group.querySelector(".factor-shape").getBoundingClientRect();
  return [box.x + box.width / 2, box.y + box.height / 2];
}"""
LINK_ON_SCREEN = """(key) => {
  const group = document.querySelector(`#map-canvas [data-id="${key}"]`);
  const line = group.querySelector("path:not(.link-hit)");
  group.scrollIntoView({ block: "center", inline: "center" });
  const middle = line.getPointAtLength(line.getTotalLength() / 2);
  const at = new DOMPoint(middle.x, middle.y).matrixTransform(line.getScreenCTM());
  return [at.x, at.y];
}"""


class Pointer:
    """Taps and drags on the map editor's drawing, with a mouse or with a finger (touch events
    through the DevTools protocol: Playwright's touchscreen only taps)."""

    def __init__(self, page: Page, *, touch: bool) -> None:
        self.page, self.touch = page, touch
        self.cdp = page.context.new_cdp_session(page) if touch else None

    def factor(self, factor: Factor) -> tuple[float, float]:
        x, y = self.page.evaluate(FACTOR_ON_SCREEN, f"f{factor.pk}")
        return float(x), float(y)

    def tap(self, x: float, y: float) -> None:
        if self.touch:
            self.page.touchscreen.tap(x, y)
        else:
            self.page.mouse.click(x, y)

    def tap_factor(self, factor: Factor, *, adding: bool = False) -> None:
        x, y = self.factor(factor)
        if adding:
            self.page.keyboard.down("Shift")
            self.page.mouse.click(x, y)
            self.page.keyboard.up("Shift")
        else:
            self.tap(x, y)

    def tap_link(self, link: Link) -> None:
        x, y = self.page.evaluate(LINK_ON_SCREEN, f"l{link.pk}")
        self.tap(float(x), float(y))

    def drag(self, start: tuple[float, float], by: tuple[float, float]) -> None:
        (x, y), (dx, dy) = start, by
        steps = [(x + dx * i / 10, y + dy * i / 10) for i in range(1, 11)]
        if self.cdp is None:
            self.page.mouse.move(x, y)
            self.page.mouse.down()
            for px, py in steps:
                self.page.mouse.move(px, py)
            self.page.mouse.up()
            return

        def touch(kind: str, points: list[tuple[float, float]]) -> None:
            assert self.cdp is not None
            self.cdp.send(
                "Input.dispatchTouchEvent",
                {"type": kind, "touchPoints": [{"x": px, "y": py} for px, py in points]},
            )

        touch("touchStart", [(x, y)])
        for point in steps:
            touch("touchMove", [point])
        touch("touchEnd", [])


def draw_a_map(page: Page, base: str, screenshots: Path, *, touch: bool, name: str) -> None:
    """An analyst draws a map in Tajik in the editor: two factors typed in, one dragged
    elsewhere (its place saved), a link and the link back (which closes a feedback loop, and
    says so), one renamed, a quote attached as evidence, a link and a factor deleted; the
    keyboard selects and moves a factor too. Each change is in the database at once and in the
    drawing the server sends back; the drawing after a reload is the same."""
    from playwright.sync_api import expect

    programme, lead, analyst, assessment = _programme_with_analyst()
    # One coded excerpt, to attach as evidence.
    codes = _add_codes(programme, lead)
    notes = _add_source(programme, lead, assessment, "Занони деҳаи Гулистон", FRESH_NOTES)
    start = notes.text.index(SELECTED_WORDS)
    coded = sources.excerpt_create(
        user=lead, source=notes, code=codes["water"], start=start, end=start + len(SELECTED_WORDS)
    )
    driver_map = maps.map_create(
        acting_user=analyst,
        programme=programme,
        title="Ронандагони ноамнӣ дар деҳаи Гулистон",
        place=programme.places.get(),
        assessment=assessment,
        perspective=DriverMap.Perspective.WOMEN,
    )
    errors = watch_for_errors(page)
    editor_url = base + reverse("drivers:map_editor", args=[programme.slug, driver_map.pk])
    sign_in_in_tajik(page, base, analyst, editor_url)
    expect(page.locator("#map-canvas[data-ready]")).to_have_count(1)
    status = page.locator("#map-status")
    drawing = page.locator("#map-canvas svg.driver-map")
    pointer = Pointer(page, touch=touch)

    # Two factors, typed in and added; each is saved at once and drawn by the server.
    for label, kind in FACTORS:
        page.fill("#factor-label", label)
        page.select_option("#factor-kind", kind)
        page.click("#factor-add")
        expect(page.locator("#factor-label")).to_have_value("")
        expect(status).to_have_text(tajik("Saved"))
    assert dict(driver_map.factors.values_list("label", "kind")) == dict(FACTORS)
    expect(drawing.locator("g.factor")).to_have_count(2)
    (cause_label, _), (concern_label, _) = FACTORS
    cause = driver_map.factors.get(label=cause_label)
    concern = driver_map.factors.get(label=concern_label)
    # Drawn with the label as written, in the lines the server wraps it into.
    expect(drawing.locator(f"[data-id='f{concern.pk}'] tspan")).to_have_text(
        svg.wrap_label(concern_label)
    )
    # A new factor lands in a free place near the middle, never over another one.
    boxes = [
        drawing.locator(f"[data-id='f{f.pk}'] .factor-shape").bounding_box()
        for f in (cause, concern)
    ]
    a, b = boxes
    assert a is not None and b is not None
    assert (
        a["x"] + a["width"] < b["x"]
        or b["x"] + b["width"] < a["x"]
        or a["y"] + a["height"] < b["y"]
        or b["y"] + b["height"] < a["y"]
    ), boxes

    # Dragging a factor moves it, and its new place is saved (the drawing is at its natural
    # size: a pixel on the screen is a unit of the map).
    away_x, away_y = pointer.factor(cause)
    x, y = pointer.factor(concern)  # last: bringing a factor into view may scroll the other
    dx = 60 if x >= away_x else -60  # further from the other factor, so both stay apart
    dy = 40 if y >= away_y else -40
    before = (concern.x, concern.y)
    pointer.drag((x, y), (dx, dy))
    expect(status).to_have_text(tajik("Saved"))
    concern.refresh_from_db()
    assert abs(concern.x - before[0] - dx) < 2 and abs(concern.y - before[1] - dy) < 2, (
        before,
        (concern.x, concern.y),
    )
    expect(drawing.locator(f"[data-id='f{concern.pk}']")).to_have_attribute(
        "data-x", re.compile(rf"^{round(concern.x)}(\.\d)?$")
    )

    # Link them: link mode, then the factor the link starts from, then the one it leads to.
    page.click("#link-mode")
    expect(status).to_have_text(tajik("Link mode: click the factor the link starts from."))
    pointer.tap_factor(cause)
    expect(status).to_have_text(
        tajik("Now click the factor “{label}” leads to.").format(label=cause_label)
    )
    pointer.tap_factor(concern)
    expect(status).to_have_text(tajik("Saved"))
    link = Link.objects.get(map=driver_map)
    assert (link.source, link.target, link.kind) == (cause, concern, "causes")
    expect(drawing.locator("g.link")).to_have_count(1)
    # The link back closes a feedback loop: saved, and named.
    pointer.tap_factor(concern)
    pointer.tap_factor(cause)
    loop = f"{concern_label} → {cause_label} → {concern_label}"
    expect(status).to_have_text(
        tajik("Saved. This link closes a feedback loop: {loop}").format(loop=loop)
    )
    back = Link.objects.get(map=driver_map, source=concern)
    expect(drawing.locator("g.link")).to_have_count(2)
    page.keyboard.press("Escape")
    expect(status).to_have_text(tajik("Link mode off."))

    # Rename: select the factor, change its label in the panel, save.
    renamed = "Бекории ҷавонони деҳа"
    pointer.tap_factor(cause)
    expect(page.locator("#selected-label")).to_have_value(cause_label)
    page.fill("#selected-label", renamed)
    page.click("#selected-save")
    expect(status).to_have_text(tajik("Saved"))
    cause.refresh_from_db()
    assert cause.label == renamed
    expect(drawing.locator(f"[data-id='f{cause.pk}'] tspan")).to_have_text(svg.wrap_label(renamed))

    # The keyboard: a factor is reached with Tab, chosen with Enter, moved with the arrows.
    factor_group = drawing.locator(f"[data-id='f{cause.pk}']")
    factor_group.focus()
    page.keyboard.press("Enter")
    expect(factor_group).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#selected-label")).to_have_value(renamed)
    page.keyboard.press("Shift+ArrowDown")
    expect(status).to_have_text(tajik("Saved"))
    moved_y = cause.y
    cause.refresh_from_db()
    assert cause.y == pytest.approx(moved_y + 50, abs=0.2)
    expect(drawing.locator(f"[data-id='f{cause.pk}']")).to_be_focused()

    # After a reload the server draws both factors and both links, from the database.
    page.reload()
    expect(page.locator("html")).to_have_attribute("lang", "tg")
    expect(page.locator("#map-canvas[data-ready]")).to_have_count(1)
    ids = drawing.locator("[data-id]").evaluate_all("(gs) => gs.map((g) => g.dataset.id)")
    assert sorted(ids) == sorted([f"f{cause.pk}", f"f{concern.pk}", f"l{link.pk}", f"l{back.pk}"])
    expect(page.locator("#link-evidence-list li").first).to_contain_text(
        f"{renamed} → {concern_label}"
    )

    # Evidence: select the concern and attach a coded excerpt from the picker.
    pointer.tap_factor(concern)
    page.wait_for_selector("#attach-quote")
    page.select_option("#attach-quote", index=1)
    page.click("#attach-quote-add")
    expect(page.locator("#selected-evidence .evidence-list li")).to_have_count(1)
    expect(status).to_have_text(tajik("Saved"))
    assert list(concern.excerpts.all()) == [coded]
    # Quoted and listed as Tajik writes them: «…», and "a ва b".
    expect(page.locator("#selected-evidence .evidence-list li").first).to_contain_text(
        f"«{SELECTED_WORDS}»"
    )
    page.screenshot(path=str(screenshots / f"{name}-selected.png"), full_page=True)
    if not touch:
        asked: list[str] = []
        page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
        pointer.tap_factor(cause, adding=True)
        expect(drawing.locator("g.factor.selected")).to_have_count(2)
        page.click("#delete-selected")
        page.wait_for_timeout(200)
        assert asked and asked[0] in {
            tajik("Delete {label}?").format(label=f"«{a}» ва «{b}»")
            for a, b in ((renamed, concern_label), (concern_label, renamed))
        }, asked
        assert driver_map.factors.count() == 2  # dismissed: nothing deleted

    # Delete the link back, then a factor, which takes the other link with it.
    page.once("dialog", lambda dialog: dialog.accept())
    pointer.tap_link(back)
    expect(drawing.locator(f"[data-id='l{back.pk}']")).to_have_class(re.compile("selected"))
    page.click("#delete-selected")
    expect(drawing.locator("g.link")).to_have_count(1)
    expect(status).to_have_text(tajik("Saved"))
    assert list(driver_map.links.all()) == [link]
    page.once("dialog", lambda dialog: dialog.accept())
    pointer.tap_factor(cause)
    page.click("#delete-selected")
    expect(drawing.locator("g.factor")).to_have_count(1)
    expect(drawing.locator("g.link")).to_have_count(0)
    expect(status).to_have_text(tajik("Saved"))
    assert list(driver_map.factors.values_list("label", flat=True)) == [concern_label]
    assert driver_map.links.count() == 0
    page.screenshot(path=str(screenshots / f"{name}.png"), full_page=True)
    assert _fits(page)
    assert errors == []


def test_analyst_draws_a_driver_map_in_tajik(
    page: Page, live_server: Any, screenshots: Path
) -> None:
    draw_a_map(page, live_server.url, screenshots, touch=False, name="drivers-map-tg")


def test_analyst_draws_a_driver_map_on_a_phone_in_tajik(
    phone_page: Page, live_server: Any, screenshots: Path
) -> None:
    draw_a_map(phone_page, live_server.url, screenshots, touch=True, name="drivers-map-tg-360")


def test_coding_page_and_map_fit_a_phone_in_tajik(
    phone_page: Page, live_server: Any, screenshots: Path
) -> None:
    from playwright.sync_api import expect

    programme, lead, analyst, assessment = _programme_with_analyst()
    codes = _add_codes(programme, lead)
    fresh = _add_source(programme, lead, assessment, "Занони деҳаи Гулистон", FRESH_NOTES)
    start = fresh.text.index(SELECTED_WORDS)
    sources.excerpt_create(
        user=analyst,
        source=fresh,
        code=codes["water"],
        start=start,
        end=start + len(SELECTED_WORDS),
    )
    driver_map = maps.map_create(
        acting_user=analyst, programme=programme, title="Ронандагони ноамнӣ дар деҳаи Гулистон"
    )
    (cause, cause_kind), (concern, concern_kind) = FACTORS
    maps.link_add(
        acting_user=analyst,
        driver_map=driver_map,
        source=maps.factor_add(
            acting_user=analyst, driver_map=driver_map, label=cause, kind=cause_kind, x=0, y=0
        ),
        target=maps.factor_add(
            acting_user=analyst,
            driver_map=driver_map,
            label=concern,
            kind=concern_kind,
            x=220,
            y=120,
        ),
    )
    errors = watch_for_errors(phone_page)
    base = live_server.url
    coding_url = base + reverse("drivers:source_detail", args=[programme.slug, fresh.pk])
    sign_in_in_tajik(phone_page, base, analyst, coding_url)

    expect(phone_page.locator("#excerpt-margin .excerpt")).to_have_count(1)
    phone_page.screenshot(path=str(screenshots / "drivers-coding-tg-phone.png"), full_page=True)
    assert _fits(phone_page)

    phone_page.goto(base + reverse("drivers:map_editor", args=[programme.slug, driver_map.pk]))
    expect(phone_page.locator("#map-canvas[data-ready]")).to_have_count(1)
    expect(phone_page.locator("#map-canvas svg.driver-map g.link")).to_have_count(1)
    phone_page.screenshot(path=str(screenshots / "drivers-map-tg-phone.png"), full_page=True)
    assert _fits(phone_page)
    assert errors == []


def _fits(page: Page) -> bool:
    """Nothing pushes the page sideways."""
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"))
