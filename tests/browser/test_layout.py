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


def test_a_submissions_repeats_inside_repeats_fit_a_phone(
    phone_page: Page, live_server: Any, screenshots: Path
) -> None:
    """A household's members, incidents and witnesses, with long answers, shown nested under
    the table: the table scrolls in its own box, the page never sideways."""
    from playwright.sync_api import expect

    from amniyat.fieldwork.forms.services import assessment_create, form_add, sensitivity_set
    from amniyat.fieldwork.models import Submission
    from tests.fieldwork.collection.test_nested_repeats import CLASSES, xlsform

    programme = ProgrammeFactory()
    lead = member_of(programme, Membership.Role.LEAD)
    assessment = assessment_create(
        acting_user=lead, programme=programme, title="Household survey", kind="baseline"
    )
    version = form_add(
        acting_user=lead, assessment=assessment, file_name="household.xlsx", content=xlsform()
    )
    sensitivity_set(acting_user=lead, version=version, classes=CLASSES)
    long = "Bozori markazii shahraki Vahdat, nazdi istgohi avtobusho " * 3
    Submission.objects.create(
        form=version.form,
        form_version=version,
        instance_id="uuid:phone-1",
        submitted_at=datetime.datetime(2024, 7, 1, 9, 30, tzinfo=datetime.UTC),
        source=Submission.Source.IMPORT,
        review_state=Submission.ReviewState.HAS_ISSUES,
        data={
            "village": long,
            "members/member_age": [34, 71],
            "members/incidents/incident_type": [["theft", "fraud"], ["theft"]],
            "members/incidents/witnesses/witness_roles": [
                [[["neighbour", "police", "family"]], []],
                [[["police"], ["family"]]],
            ],
        },
    )
    base = live_server.url

    sign_in(phone_page, base, lead.username)
    phone_page.goto(f"{base}/p/{programme.slug}/forms/{version.form.pk}/submissions/")
    expect(phone_page.locator("main h1")).to_be_visible()
    # Filtering by review state starts at "any", not at one of the states.
    expect(phone_page.locator("#id_review_state")).to_have_value("any")
    phone_page.locator("details.submission-repeat summary").click()
    expect(phone_page.locator("details.submission-repeat .repeat-entries").first).to_be_visible()
    phone_page.screenshot(path=str(screenshots / "submission-repeats-360.png"), full_page=True)

    assert _scroll_width(phone_page) <= WIDTH + TOLERANCE
    assert phone_page.locator("details.submission-repeat .repeat-entries .repeat-entries").count()
