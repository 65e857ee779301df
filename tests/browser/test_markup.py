"""Stored script from data does not run: an indicator label typed as
``</script><img src=x onerror=…>`` is drawn on the findings charts as text, and its handler
never runs. The charts themselves still draw under the Content-Security-Policy (the page
fixture fails the test if the policy blocked anything)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from amniyat.accounts.models import Membership
from amniyat.findings import services
from tests.browser.conftest import sign_in
from tests.factories import member_of
from tests.findings.test_findings import compute, survey_assessment

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

HOSTILE = "</script><img src=x onerror=window.__amniyatInjected=1>"
SPEC = f"""
indicators:
  - id: safe_night
    label: "{HOSTILE}"
    type: proportion
    numerator: ${{safe_night}} = 'very_safe' or ${{safe_night}} = 'safe'
"""


def test_a_label_that_closes_a_script_is_drawn_as_text_and_never_runs(
    page: Page, live_server: Any, screenshots: Path
) -> None:
    from playwright.sync_api import expect

    assessment = survey_assessment(n=300)
    services.indicator_set_save(acting_user=None, programme=assessment.programme, spec=SPEC)
    compute(assessment)
    analyst = member_of(assessment.programme, Membership.Role.ANALYST, username="analyst")
    sign_in(page, live_server.url, analyst.username)

    base = f"{live_server.url}/p/{assessment.programme.slug}/findings/{assessment.pk}/"
    page.goto(base)
    # The chart draws (Vega under the policy: no eval) and carries the label as text.
    chart = page.locator("#chart-district")
    expect(chart.locator("svg").first).to_be_visible()
    expect(chart).to_contain_text("</script><img")
    expect(page.locator("main h2").first).to_have_text(HOSTILE)
    assert page.locator("main img[src=x]").count() == 0
    page.screenshot(path=str(screenshots / "findings-hostile-label.png"), full_page=True)

    page.goto(base + "gender/")
    expect(page.locator("#chart-gap svg").first).to_be_visible()
    expect(page.locator("#chart-gap")).to_contain_text("</script><img")
    page.wait_for_load_state("networkidle")

    assert page.evaluate("window.__amniyatInjected") is None


def test_the_api_reference_and_a_confirmation_work_without_inline_script(
    page: Page, live_server: Any
) -> None:
    """The API reference (drawn on the server) opens under the policy, and the priority
    list's delete button asks first through amniyat/app.js, not an onsubmit attribute."""
    from playwright.sync_api import expect

    from amniyat.drivers.models import PriorityList
    from tests.drivers.priorities.test_priorities import _group, _list
    from tests.factories import ProgrammeFactory

    programme = ProgrammeFactory()
    priority_list = _list(_group(programme))
    lead = member_of(programme, Membership.Role.LEAD, username="lead")
    sign_in(page, live_server.url, lead.username)

    page.goto(f"{live_server.url}/api-reference/")
    expect(page.locator(".api-reference")).to_contain_text("Amniyat API")
    expect(page.locator("#groups-create summary")).to_contain_text("/api/v1/groups/")

    page.goto(f"{live_server.url}/p/{programme.slug}/drivers/priorities/{priority_list.pk}/")
    asked: list[str] = []

    def answer(dialog: Any) -> None:
        asked.append(dialog.message)
        if len(asked) == 1:
            dialog.dismiss()
        else:
            dialog.accept()

    page.on("dialog", answer)
    delete = page.get_by_role("button", name="Delete the list")
    delete.click()
    page.wait_for_timeout(300)
    assert asked == ["Delete this priority list and its concerns?"]
    assert PriorityList.objects.filter(pk=priority_list.pk).exists()
    delete.click()
    expect(page).not_to_have_url(
        f"{live_server.url}/p/{programme.slug}/drivers/priorities/{priority_list.pk}/"
    )
    assert not PriorityList.objects.filter(pk=priority_list.pk).exists()
