"""A chart's data cannot become markup: a label typed as "</script><img …>" reaches the charts
(SVG drawn on the server) of the findings and the priorities as text, and the page as escaped
text."""

from __future__ import annotations

import re

import pytest
from defusedxml.ElementTree import fromstring
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


def drawn_text(html: str, element_id: str) -> str:
    """Every text of the SVG chart in the figure ``element_id``, as a browser reads it."""
    match = re.search(rf'<figure class="chart" id="{element_id}">.*?(<svg .*?</svg>)', html, re.S)
    assert match is not None, f"no {element_id} in the page"
    return "".join(fromstring(match.group(1)).itertext())


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
    assert HOSTILE in drawn_text(html, "chart-district")

    html = client.get(base + "gender/").content.decode()
    assert_inert(html)
    assert HOSTILE in drawn_text(html, "chart-gap")


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
    assert HOSTILE in drawn_text(html, "chart-priorities")
