"""Phone-width pages: nothing may push the page sideways on a 360 px screen."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from amniyat.accounts.models import Membership, Organisation
from amniyat.communities.models import RepresentationTarget, Sector
from tests.browser.conftest import sign_in
from tests.factories import (
    CommunityGroupFactory,
    GroupMemberFactory,
    OrganisationFactory,
    ProgrammeFactory,
    RepresentationTargetFactory,
    member_of,
)

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

WIDTH = 360
TOLERANCE = 2  # px: sub-pixel rounding


def _scroll_width(page: Page) -> int:
    return int(page.evaluate("document.documentElement.scrollWidth"))


def test_programme_home_and_group_page_fit_a_phone(
    phone_page: Page, live_server: Any, screenshots: Path
) -> None:
    from playwright.sync_api import expect

    programme = ProgrammeFactory(
        name="Community security in Khatlon and Sughd, phase II",
        lead_organisation=OrganisationFactory(
            name="International Alliance for Peacebuilding and Community Security",
            kind=Organisation.Kind.INTERNATIONAL_NGO,
        ),
    )
    RepresentationTargetFactory(programme=programme, min_share=40)
    RepresentationTargetFactory(
        programme=programme, dimension=RepresentationTarget.Dimension.YOUTH, min_share=25
    )
    RepresentationTargetFactory(
        programme=programme,
        dimension=RepresentationTarget.Dimension.SECTOR,
        sector=Sector.POLICE,
        min_share=None,
        min_count=1,
    )
    partner = OrganisationFactory(name="Public Organisation “Bonuvoni Sharq” (women-led)")
    programme.partners.add(partner)
    group = CommunityGroupFactory(
        programme=programme,
        name="Vakhsh district community security working group",
        facilitating_organisation=partner,
        established_on=datetime.date(2021, 9, 1),
    )
    people = [
        ("female", "18_24", ["womens_activist", "youth"], None),
        ("female", "45_59", ["teacher", "mahalla_leader"], None),
        ("male", "30_44", ["returning_migrant", "local_government", "religious_leader"], None),
        ("male", "60_plus", ["police"], datetime.date(2022, 3, 31)),
        ("male", "25_29", ["health_worker", "minority"], None),
    ]
    for sex, age, sectors, left in people:
        GroupMemberFactory(
            group=group,
            display_name="Gulnora Abdurahmonova-Saidzoda",
            sex=sex,
            age_band=age,
            sectors=sectors,
            left_on=left,
        )
    lead = member_of(programme, Membership.Role.LEAD)
    base = live_server.url

    sign_in(phone_page, base, lead.username)

    phone_page.goto(f"{base}/p/{programme.slug}/")
    expect(phone_page.locator("main h1")).to_have_text(programme.name)
    phone_page.screenshot(path=str(screenshots / "programme-home-360.png"), full_page=True)
    home_width = _scroll_width(phone_page)

    phone_page.goto(f"{base}/p/{programme.slug}/groups/{group.pk}/")
    expect(phone_page.locator("main h1")).to_have_text(group.name)
    phone_page.screenshot(path=str(screenshots / "group-360.png"), full_page=True)
    group_width = _scroll_width(phone_page)

    assert home_width <= WIDTH + TOLERANCE, f"programme home is {home_width}px wide"
    assert group_width <= WIDTH + TOLERANCE, f"group page is {group_width}px wide"
