"""The acceptance scenario: a programme lead, in Tajik, creates a group, adds a member who
leaves the group short of its targets, and is warned about it."""

from __future__ import annotations

import datetime
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from django.utils import timezone, translation
from django.utils.translation import gettext

from amniyat.accounts.models import Membership
from amniyat.communities.models import CommunityGroup, RepresentationTarget, Sector
from tests.browser.conftest import sign_in
from tests.factories import ProgrammeFactory, RepresentationTargetFactory, member_of

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = [
    pytest.mark.browser,
    # Transactional (the live server runs in another thread); serialized rollback keeps the
    # places the data migration loads, which the factories need.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

GROUP_NAME = "Jamoat Tojikiston community group"


def expected_warnings_tg() -> list[str]:
    """The warnings for a group of one man and no police, as the Tajik catalogue has them
    (the English text while a string is still untranslated)."""
    with translation.override("tg"):
        police = str(Sector.POLICE.label)
        return [
            gettext("The group has no women members."),
            gettext("No member from “%(sector)s” yet.") % {"sector": police},
        ]


def test_lead_creates_group_in_tajik_and_is_warned(
    page: Page, live_server: Any, screenshots: Path
) -> None:
    from playwright.sync_api import expect

    today = timezone.localdate()
    programme = ProgrammeFactory(  # running now, so the group's history reaches today
        starts_on=today - datetime.timedelta(days=365), ends_on=today + datetime.timedelta(days=365)
    )
    RepresentationTargetFactory(
        programme=programme, dimension=RepresentationTarget.Dimension.WOMEN, min_share=40
    )
    RepresentationTargetFactory(
        programme=programme,
        dimension=RepresentationTarget.Dimension.SECTOR,
        sector=Sector.POLICE,
        min_share=None,
        min_count=1,
    )
    lead = member_of(programme, Membership.Role.LEAD)
    place = programme.places.get()
    base = live_server.url

    # Sign in through the real form.
    sign_in(page, base, lead.username, screenshot=screenshots / "login.png")
    expect(page.locator("html")).to_have_attribute("lang", "en")

    # Switch to Tajik with the header's language selector (it submits on change).
    page.goto(f"{base}/p/{programme.slug}/groups/")
    page.select_option("header select[name=language]", "tg")
    expect(page.locator("html")).to_have_attribute("lang", "tg")
    expect(page).to_have_url(f"{base}/p/{programme.slug}/groups/")

    # The "new group" form, reached from the group list.
    page.locator(f"a[href='/p/{programme.slug}/groups/new/']").click()
    expect(page).to_have_url(f"{base}/p/{programme.slug}/groups/new/")
    expect(page.locator("html")).to_have_attribute("lang", "tg")
    established = (programme.starts_on + datetime.timedelta(days=40)).replace(day=1)
    page.fill("#id_name", GROUP_NAME)
    page.select_option("#id_kind", CommunityGroup.Kind.COMMUNITY_GROUP.value)
    # The place picker: a few letters of its name, then the one found.
    page.locator("#id_place").fill(place.name_en[:4])
    page.locator(f"#id_place_results input[value='{place.pk}']").check()
    page.select_option("#id_facilitating_organisation", str(programme.lead_organisation_id))
    page.fill("#id_established_on", established.isoformat())
    page.fill("#id_description", "Meets every second Thursday at the jamoat office.")
    page.screenshot(path=str(screenshots / "group-form-tg.png"), full_page=True)
    page.locator("main form button.primary").click()

    # Lands on the new group's page.
    group = CommunityGroup.objects.get(programme=programme, name=GROUP_NAME)
    expect(page).to_have_url(f"{base}/p/{programme.slug}/groups/{group.pk}/")
    expect(page.locator("main h1")).to_have_text(GROUP_NAME)
    assert group.facilitating_organisation_id == programme.lead_organisation_id

    # Add one member: a man, no police sector.
    page.locator(f"a[href='/p/{programme.slug}/groups/{group.pk}/members/new/']").click()
    expect(page).to_have_url(re.compile(r"/members/new/$"))
    page.fill("#id_display_name", "Farrukh")
    page.select_option("#id_sex", "male")
    page.select_option("#id_age_band", "30_44")
    expect(page.locator("input[name=sectors][value=police]")).not_to_be_checked()
    page.screenshot(path=str(screenshots / "member-form-tg.png"), full_page=True)
    page.locator("main form button.primary").click()
    expect(page).to_have_url(f"{base}/p/{programme.slug}/groups/{group.pk}/")

    # The representativeness warnings, in Tajik, on a Tajik page.
    expect(page.locator("html")).to_have_attribute("lang", "tg")
    warnings = page.locator("main p.warning")
    expect(warnings).to_have_count(2)
    page.screenshot(path=str(screenshots / "group-detail-tg.png"), full_page=True)
    shown = warnings.all_inner_texts()
    for expected in expected_warnings_tg():
        assert any(expected in text for text in shown), (expected, shown)
    assert group.members.get().sex == "male"
