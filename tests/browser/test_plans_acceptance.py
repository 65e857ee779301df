"""The acceptance story of joint action plans (#16), in Uzbek, on a 360 px phone, through the
real pages: a facilitator starts a plan from the group's agreed priorities and adds an action
linked to a factor of the group's driver map; the lead records the endorsements of the group
and of the hokimiyat and the plan becomes agreed; a group member posts a progress update with a
photo (its GPS position gone from the file served) and disputes a status another reported; the
lead verifies the update and publishes the plan; a viewer reads its public page, which fits the
phone and names no one."""

from __future__ import annotations

import datetime
import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from django.utils import timezone, translation
from django.utils.translation import gettext, ngettext
from PIL import ExifTags, Image

from amniyat.accounts.models import Membership, Programme, User
from amniyat.communities.models import CommunityGroup
from amniyat.drivers.models import Code, DriverMap, Factor, Priority, PriorityList
from amniyat.plans.models import Action, ActionPlan, ActionUpdate, Dispute, Evidence, Signatory
from tests.browser.conftest import sign_in
from tests.factories import (
    CommunityGroupFactory,
    GroupMemberFactory,
    OrganisationFactory,
    ProgrammeFactory,
    member_of,
)

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

Role = Membership.Role
WIDTH = 360
LANGUAGE = "uz"
PLAN_TITLE = "Mahallada xavfsizlik: 2027-yil harakatlar rejasi"
LIGHTS = "Koʻcha chiroqlarini oʻrnatish, ayniqsa maktab yoʻlida"
PATROLS = "Militsiya va mahalla yoshlarining qoʻshma patrullari"
UPDATE_TEXT = "Shavkat aka bilan oltita chiroq oʻrnatildi, qolganlari kelasi oyda."
DISPUTE_TEXT = "Patrullar faqat bir marta chiqdi, bozorda hech kim koʻrmadi."
GPS_MAKE = "AmniyatTestPhone"
PEOPLE = {  # username: (first name, last name)
    Role.FACILITATOR: ("Gulnora", "Rahimova"),
    Role.LEAD: ("Bahodir", "Toshmatov"),
    Role.GROUP_MEMBER: ("Dilfuza", "Yusupova"),
    Role.VIEWER: ("Jasur", "Qodirov"),
}
MEMBER_NAMES = ["Nodira Saidova", "Ulugʻbek Ergashev", "Malika Xolmatova"]


def uz(msgid: str) -> str:
    """The Uzbek text of ``msgid``: failing if the catalogue leaves it in English, so every
    text the story clicks or reads is checked to be translated."""
    with translation.override(LANGUAGE):
        text = gettext(msgid)
    assert text != msgid, f"not translated into Uzbek: {msgid!r}"
    return text


def uz_n(singular: str, plural: str, n: int) -> str:
    with translation.override(LANGUAGE):
        text = ngettext(singular, plural, n)
    assert text not in (singular, plural), f"not translated into Uzbek: {singular!r}"
    return text


class Scene:
    """The programme world the story runs in, built with the factories and models."""

    def __init__(self) -> None:
        today = timezone.localdate()
        self.today = today
        self.programme: Programme = ProgrammeFactory(
            name="Jamoat xavfsizligi Fargʻona vodiysida",
            starts_on=today - datetime.timedelta(days=365),
            ends_on=today + datetime.timedelta(days=730),
        )
        partner = OrganisationFactory(name="Mahalla tashabbuslari markazi")
        self.programme.partners.add(partner)
        self.group: CommunityGroup = CommunityGroupFactory(
            programme=self.programme,
            name="Yangiobod mahallasi jamoat guruhi",
            facilitating_organisation=partner,
        )
        for name in MEMBER_NAMES:
            GroupMemberFactory(group=self.group, display_name=name)
        code = Code.objects.create(
            programme=self.programme,
            key="dark-streets",
            kind=Code.Kind.CONCERN,
            name_en="Dark streets",
        )
        driver_map = DriverMap.objects.create(
            programme=self.programme,
            title="Yangiobod: xavfsizlik omillari",
            group=self.group,
            organisation=partner,
            published_at=timezone.now(),  # so the public page names the factor
        )
        self.factor = Factor.objects.create(
            map=driver_map, kind="driver", label="Kechasi yoritilmagan koʻchalar", code=code
        )
        self.priority_list = PriorityList.objects.create(
            group=self.group,
            title="Yangiobod: kelishilgan ustuvorliklar",
            agreed_on=today - datetime.timedelta(days=30),
        )
        self.priority = Priority.objects.create(
            priority_list=self.priority_list,
            concern="Qorongʻi koʻchalarda qizlarga tazyiq",
            code=code,
            severity=5,
            affected=4,
            urgency=4,
            changeable=4,
            rank=1,
        )
        self.users: dict[str, User] = {
            Role.FACILITATOR: member_of(self.programme, Role.FACILITATOR, organisation=partner),
            Role.LEAD: member_of(self.programme, Role.LEAD),
            Role.GROUP_MEMBER: member_of(self.programme, Role.GROUP_MEMBER, group=self.group),
            Role.VIEWER: member_of(self.programme, Role.VIEWER),
        }
        for role, user in self.users.items():
            user.first_name, user.last_name = PEOPLE[role]
            user.preferred_language = LANGUAGE
            user.save()

    def names_of_people(self) -> list[str]:
        """Every name of a person the public page must not show (the viewer's own username
        is in the header they read, so it is checked on the page's main part)."""
        names = [*MEMBER_NAMES, UPDATE_TEXT, DISPUTE_TEXT]
        for role, user in self.users.items():
            names += [user.first_name, user.last_name]
            if role != Role.VIEWER:
                names.append(user.username)
        return names


def gps_jpeg() -> bytes:
    """A photo as a phone takes it: EXIF with the GPS position and the phone's make."""
    image = Image.new("RGB", (640, 480), (70, 120, 160))
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = GPS_MAKE
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (40.0, 23.0, 12.5)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (71.0, 47.0, 3.25)
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    data = out.getvalue()
    sent = Image.open(io.BytesIO(data)).getexif()  # the photo does carry its position
    assert sent.get_ifd(ExifTags.IFD.GPSInfo)[ExifTags.GPS.GPSLatitudeRef] == "N"
    return data


class Story:
    """The phone the story runs on, and one screenshot per step."""

    def __init__(self, page: Page, base: str, folder: Path) -> None:
        self.page, self.base, self.folder = page, base, folder
        self.shots: list[Path] = []
        self.errors: list[str] = []
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("response", self._server_error)

    def _server_error(self, response: Any) -> None:
        if response.status >= 500:
            self.errors.append(f"{response.status} {response.url}")

    def as_user(self, user: User) -> None:
        self.page.context.clear_cookies()
        sign_in(self.page, self.base, user.username)
        self.assert_uzbek()

    def assert_uzbek(self) -> None:
        from playwright.sync_api import expect

        expect(self.page.locator("html")).to_have_attribute("lang", LANGUAGE)

    def shot(self, name: str) -> None:
        self.assert_uzbek()
        assert not self.errors, self.errors
        path = self.folder / f"acceptance-{LANGUAGE}-{len(self.shots) + 1:02d}-{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        self.shots.append(path)

    def scroll_width(self) -> int:
        return int(self.page.evaluate("document.scrollingElement.scrollWidth"))

    def menu(self, programme: Programme, text: str) -> None:
        self.page.goto(f"{self.base}/p/{programme.slug}/")
        self.page.locator("nav.cycle").get_by_role("link", name=text, exact=True).click()

    def link(self, text: str, *, within: str = "main") -> None:
        self.page.locator(within).get_by_role("link", name=text, exact=True).first.click()

    def message(self, msgid: str) -> None:
        from playwright.sync_api import expect

        expect(self.page.locator("main p.message")).to_contain_text(uz(msgid))


def test_a_joint_plan_from_priorities_to_its_public_page_in_uzbek(
    phone_page: Page, live_server: Any, screenshots: Path
) -> None:
    from playwright.sync_api import expect

    with translation.override(LANGUAGE):  # the group writes its names and lists in Uzbek
        scene = Scene()
    folder = screenshots / "plans"
    folder.mkdir(parents=True, exist_ok=True)
    story = Story(phone_page, live_server.url, folder)
    page = story.page
    today = scene.today
    facilitator, lead = scene.users[Role.FACILITATOR], scene.users[Role.LEAD]
    member, viewer = scene.users[Role.GROUP_MEMBER], scene.users[Role.VIEWER]

    # 1. The facilitator starts a plan from the group's agreed priority list.
    story.as_user(facilitator)
    story.menu(scene.programme, uz("Action plans"))
    expect(page.locator("main h1")).to_have_text(uz("Action plans"))
    expect(page.locator("main")).to_contain_text(uz("Start a plan from agreed priorities"))
    story.shot("plans-list")
    story.link(scene.priority_list.title)
    expect(page.locator("main h1")).to_have_text(uz("New action plan"))
    page.fill("#id_title", PLAN_TITLE)
    page.fill("#id_period_start", today.replace(day=1).isoformat())
    page.fill("#id_period_end", (today + datetime.timedelta(days=365)).isoformat())
    priority_box = page.locator(f"input[name=priorities][value='{scene.priority.pk}']")
    priority_box.check()
    expect(priority_box).to_be_checked()
    story.shot("plan-form")
    page.locator("main form button.primary").click()
    story.message("Plan started from the agreed priorities.")
    plan = ActionPlan.objects.get(programme=scene.programme)
    assert plan.title == PLAN_TITLE and plan.status == ActionPlan.Status.DRAFT
    assert plan.priority_list_id == scene.priority_list.pk
    expect(page).to_have_url(f"{story.base}/p/{scene.programme.slug}/plans/{plan.pk}/")
    expect(page.locator("main h1")).to_have_text(PLAN_TITLE)
    objective = plan.objectives.get()
    assert list(objective.factors.all()) == [scene.factor]
    expect(page.locator("main .objective h3")).to_have_text(scene.priority.concern)
    expect(page.locator("main .objective")).to_contain_text(scene.factor.label)
    story.shot("plan-started")

    # 2. The facilitator adds two actions: the street lights, linked to the factor of the
    # group's driver map, and the patrols the police report done.
    def add_action(title: str, actor: str, side: str, status: str, progress: int) -> Action:
        story.link(uz("Add an action"))
        expect(page.locator("main h1")).to_have_text(uz("New action"))
        page.select_option("#id_objective", str(objective.pk))
        page.fill("#id_title", title)
        if title == LIGHTS:
            factor_box = page.locator(f"input[name=factors][value='{scene.factor.pk}']")
            expect(factor_box.locator("xpath=..")).to_contain_text(scene.factor.label)
            factor_box.check()
        page.fill("#id_lead_actor", actor)
        page.select_option("#id_lead_side", side)
        page.fill("#id_start_on", today.isoformat())
        page.fill("#id_due_on", (today + datetime.timedelta(days=90)).isoformat())
        page.fill("#id_cost_amount", "12500000")
        page.select_option("#id_cost_currency", "UZS")
        page.select_option("#id_funding", Action.Funding.AUTHORITY)
        page.select_option("#id_status", status)
        page.fill("#id_progress", str(progress))
        if title == LIGHTS:
            story.shot("action-form")
        page.locator("main form button.primary").click()
        story.message("Action added.")
        action = Action.objects.get(objective__plan=plan, title=title)
        expect(page.locator("main .plan-tree li", has_text=title)).to_contain_text(actor)
        return action

    lights = add_action(LIGHTS, "Tuman hokimligi", "authority", "not_started", 0)
    assert list(lights.factors.all()) == [scene.factor]
    row = page.locator("main .plan-tree li", has_text=LIGHTS)
    expect(row).to_contain_text(uz("Factors:"))
    expect(row).to_contain_text(scene.factor.label)
    patrols = add_action(PATROLS, "Tuman ichki ishlar boʻlimi", "authority", "done", 100)
    story.shot("actions-added")

    # 3. The lead records the endorsements of the group and of the hokimiyat; then the plan
    # can become agreed.
    story.as_user(lead)
    story.menu(scene.programme, uz("Action plans"))
    story.link(PLAN_TITLE)
    expect(page.locator("main h1")).to_have_text(PLAN_TITLE)
    endorsements = (
        (Signatory.Kind.GROUP, scene.group.name, "guruh rahbari"),
        (Signatory.Kind.DISTRICT, "Yangiobod tumani hokimligi", "hokim oʻrinbosari"),
    )
    for kind, name, role in endorsements:
        story.link(uz("Record an endorsement"))
        expect(page.locator("main h1")).to_have_text(uz("Record an endorsement"))
        page.select_option("#id_kind", kind)
        page.fill("#id_name", name)
        page.fill("#id_role", role)
        page.fill("#id_endorsed_on", today.isoformat())
        if kind == Signatory.Kind.DISTRICT:
            story.shot("endorsement-form")
        page.locator("main form button.primary").click()
        story.message("Endorsement recorded.")
        expect(page.locator("main ul.signatories")).to_contain_text(name)
    assert set(plan.signatories.values_list("kind", flat=True)) == {
        Signatory.Kind.GROUP,
        Signatory.Kind.DISTRICT,
    }
    page.select_option("main form.status-form select[name=status]", ActionPlan.Status.AGREED)
    page.locator("main form.status-form button[type=submit]").click()
    story.message("The plan's status was changed.")
    plan.refresh_from_db()
    assert plan.status == ActionPlan.Status.AGREED
    with translation.override(LANGUAGE):
        agreed = str(ActionPlan.Status.AGREED.label)
    expect(page.locator("main h1 + p.muted .badge")).to_have_text(agreed)
    story.shot("plan-agreed")

    # 4. A member of the group posts an update with a photo on the street lights, then
    # disputes the patrols the police reported done.
    story.as_user(member)
    story.menu(scene.programme, uz("Action plans"))
    story.link(PLAN_TITLE)
    if page.locator("main h1").inner_text() != PLAN_TITLE:
        story.link(PLAN_TITLE)
    expect(page.locator("main h1")).to_have_text(PLAN_TITLE)
    page.locator("main .plan-tree li", has_text=LIGHTS).get_by_role(
        "link", name=uz("Progress updates"), exact=True
    ).click()
    expect(page.locator("main h1")).to_have_text(LIGHTS)
    expect(page).to_have_title(f"{uz('Progress updates')} · {LIGHTS} · Amniyat")
    story.link(uz("Post an update"))
    expect(page.locator("main h1")).to_have_text(uz("Post an update"))
    page.fill("#id_reported_on", today.isoformat())
    page.fill("#id_text", UPDATE_TEXT)
    page.select_option("#id_status", Action.Status.ON_TRACK)
    page.fill("#id_progress", "60")
    page.fill("input[name=women_18_24]", "4")
    page.fill("input[name=men_25_29]", "3")
    page.set_input_files(
        "#id_photos",
        files=[{"name": "chiroqlar.jpg", "mimeType": "image/jpeg", "buffer": gps_jpeg()}],
    )
    page.check("#id_publishable")
    story.shot("update-form")
    page.locator("main form button.primary").click()
    expect(page.locator("main h1")).to_have_text(LIGHTS)
    update = ActionUpdate.objects.get(action=lights)
    assert update.reported_by_id == member.pk and update.progress == 60
    lights.refresh_from_db()
    assert lights.status == Action.Status.ON_TRACK and lights.progress == 60
    shown = page.locator("main ul.updates > li").first
    expect(shown).to_contain_text(UPDATE_TEXT)
    expect(shown).to_contain_text(uz_n("%(n)s participant", "%(n)s participants", 7) % {"n": 7})
    expect(shown).to_contain_text(uz("not verified yet"))
    photo_link = shown.locator("ul.evidence a").first
    expect(photo_link.locator("img")).to_be_visible()
    story.shot("update-posted")

    # The photo served through the page's link carries no EXIF: no position, no phone.
    href = photo_link.get_attribute("href")
    assert href
    served = page.request.get(story.base + href)
    assert served.status == 200, served.status
    body = served.body()
    assert served.headers["content-type"] == "image/jpeg"
    assert Evidence.objects.get(update=update).kind == Evidence.Kind.PHOTO
    photo = Image.open(io.BytesIO(body))
    assert photo.format == "JPEG"
    assert not photo.getexif(), dict(photo.getexif())
    assert not photo.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    assert b"Exif" not in body and GPS_MAKE.encode() not in body

    # Disputes the status the police reported on the patrols.
    page.goto(f"{story.base}/p/{scene.programme.slug}/plans/{plan.pk}/")
    page.locator("main .plan-tree li", has_text=PATROLS).get_by_role(
        "link", name=uz("Progress updates"), exact=True
    ).click()
    expect(page.locator("main h1")).to_have_text(PATROLS)
    story.link(uz("Dispute the reported status"))
    dispute_form = page.locator("main section#dispute form")
    expect(dispute_form).to_be_visible()
    page.select_option("#id_claimed_status", Action.Status.DELAYED)
    page.fill("section#dispute #id_text", DISPUTE_TEXT)
    story.shot("dispute-form")
    dispute_form.locator("button.primary").click()
    dispute = Dispute.objects.get(action=patrols)
    assert dispute.claimed_status == Action.Status.DELAYED and dispute.is_open
    expect(page.locator("main .dispute").first).to_contain_text(uz("Disputed"))
    expect(page.locator("main .dispute").first).to_contain_text(DISPUTE_TEXT)
    story.shot("disputed")

    # 5. The lead verifies the update.
    story.as_user(lead)
    page.goto(f"{story.base}/p/{scene.programme.slug}/plans/{plan.pk}/")
    summary = page.locator("main section.updates-summary")
    expect(summary).to_contain_text(
        uz_n("%(n)s not verified yet", "%(n)s not verified yet", 1) % {"n": 1}
    )
    expect(summary.locator("li.dispute")).to_contain_text(PATROLS)
    page.locator("main .plan-tree li", has_text=LIGHTS).get_by_role(
        "link", name=uz("Progress updates"), exact=True
    ).click()
    page.locator("main ul.updates > li").first.get_by_role(
        "button", name=uz("Verify"), exact=True
    ).click()
    expect(page.locator("main ul.updates > li").first).to_contain_text(uz("verified"))
    update.refresh_from_db()
    assert update.verified_at is not None and update.verified_by_id == lead.pk
    story.shot("verified")

    # 6. The lead publishes the plan from its accountability page.
    story.link(PLAN_TITLE)
    story.link(uz("Who answers for what: timeline and commitments"))
    page.locator("main section.publishing").get_by_role(
        "button", name=uz("Publish the plan"), exact=True
    ).click()
    expect(page.locator("main section.publishing")).to_contain_text(uz("Withdraw the public page"))
    plan.refresh_from_db()
    assert plan.published_at is not None
    story.shot("published")

    # 7. A viewer of the programme reads the public page on the phone: no sideways scroll,
    # no person named.
    story.as_user(viewer)
    story.menu(scene.programme, uz("Action plans"))
    story.link(PLAN_TITLE)
    expect(page).to_have_url(f"{story.base}/p/{scene.programme.slug}/plans/{plan.pk}/public/")
    expect(page.locator("main h1")).to_have_text(PLAN_TITLE)
    main = page.locator("main")
    for _kind, name, role in endorsements:
        expect(main.locator("ul.signatories", has_text=name)).to_contain_text(role)
    expect(main).to_contain_text(LIGHTS)
    expect(main).to_contain_text(scene.factor.label)
    expect(main).to_contain_text(
        uz(
            "This page shows no personal data: endorsements by role and organisation, "
            "no names of people, no participants, no notes."
        )
    )
    # The timeline's legend names each state whole, not cut short with "…".
    expect(main.locator("#timeline svg")).to_contain_text(uz("under way or not started"))
    assert page.viewport_size == {"width": WIDTH, "height": 740}
    story.shot("public-page")
    assert story.scroll_width() <= WIDTH, story.scroll_width()
    html = page.content()
    for name in scene.names_of_people():
        assert name not in html, f"a person's name or words on the public page: {name!r}"
    assert viewer.username not in main.inner_html()
