"""A chart's data cannot end its <script> element: a label typed as "</script><img …>" reaches
the chart as text and the page as escaped text, never as markup."""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client

from amniyat.accounts.models import Membership, Programme
from amniyat.fieldwork.models import Assessment
from amniyat.findings import services
from tests.drivers.priorities.test_priorities import _add, _group, _list
from tests.factories import ProgrammeFactory, member_of

from .test_findings import compute, survey_assessment

HOSTILE = "</script><img src=x onerror=alert(1)>"
SPEC = f"""
indicators:
  - id: safe_night
    label: "{HOSTILE}"
    type: proportion
    numerator: ${{safe_night}} = 'very_safe' or ${{safe_night}} = 'safe'
"""


def chart_spec(html: str, element_id: str) -> dict:  # type: ignore[type-arg]
    """The JSON that json_script wrote for ``element_id``, read back the way charts.js does."""
    match = re.search(
        rf'<script id="{element_id}" type="application/json">(.*?)</script>', html, re.S
    )
    assert match is not None, f"no {element_id} in the page"
    spec: dict = json.loads(match.group(1))  # type: ignore[type-arg]
    return spec


def assert_inert(html: str) -> None:
    assert HOSTILE not in html
    assert "<img src=x" not in html
    # Every </script> in the page closes a <script> the templates opened.
    assert html.count("</script>") == len(re.findall(r"<script[\s>]", html))


@pytest.fixture
def assessment(db: None) -> Assessment:
    assessment = survey_assessment(n=300)
    services.indicator_set_save(acting_user=None, programme=assessment.programme, spec=SPEC)
    compute(assessment)
    return assessment


def _analyst(programme: Programme) -> Client:
    client = Client()
    client.force_login(member_of(programme, Membership.Role.ANALYST))
    return client


def test_an_indicator_label_that_closes_a_script_is_inert_on_the_findings_charts(
    assessment: Assessment,
) -> None:
    client = _analyst(assessment.programme)
    base = f"/p/{assessment.programme.slug}/findings/{assessment.pk}/"

    html = client.get(base).content.decode()
    assert_inert(html)
    assert "&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;" in html  # shown, as text
    assert HOSTILE in json.dumps(chart_spec(html, "chart-district-spec"), ensure_ascii=False)

    html = client.get(base + "gender/").content.decode()
    assert_inert(html)
    assert HOSTILE in json.dumps(chart_spec(html, "chart-gap-spec"), ensure_ascii=False)


def test_a_concern_that_closes_a_script_is_inert_on_the_priorities_chart(db: None) -> None:
    programme = ProgrammeFactory()
    priority_list = _list(_group(programme))
    _add(priority_list, HOSTILE, 4, 3, 5, 2)
    client = Client()
    client.force_login(member_of(programme, Membership.Role.LEAD))

    html = client.get(
        f"/p/{programme.slug}/drivers/priorities/{priority_list.pk}/"
    ).content.decode()

    assert_inert(html)
    values = chart_spec(html, "chart-priorities-spec")["data"]["values"]
    assert {row["concern"] for row in values} == {f"1. {HOSTILE}"}
