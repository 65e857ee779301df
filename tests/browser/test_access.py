"""What a facilitator sees: their own organisation's groups, nobody else's."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from amniyat.accounts.models import Membership
from tests.browser.conftest import sign_in
from tests.factories import CommunityGroupFactory, OrganisationFactory, ProgrammeFactory, member_of

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_facilitator_sees_only_own_organisations_groups(page: Page, live_server: Any) -> None:
    from playwright.sync_api import expect

    programme = ProgrammeFactory()
    ours, theirs = OrganisationFactory(name="Umed"), OrganisationFactory(name="Dusti")
    programme.partners.add(ours, theirs)
    own_group = CommunityGroupFactory(
        programme=programme, name="Umed youth group", facilitating_organisation=ours
    )
    other_group = CommunityGroupFactory(
        programme=programme, name="Dusti mahalla council", facilitating_organisation=theirs
    )
    facilitator = member_of(programme, Membership.Role.FACILITATOR, organisation=ours)
    base = live_server.url

    sign_in(page, base, facilitator.username)
    page.goto(f"{base}/p/{programme.slug}/groups/")

    rows = page.locator("main table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(own_group.name)
    assert other_group.name not in page.content()
    assert other_group.name not in page.locator("body").inner_text()

    # The other organisation's group is absent, not forbidden.
    response = page.goto(f"{base}/p/{programme.slug}/groups/{other_group.pk}/")
    assert response is not None
    assert response.status == 404
