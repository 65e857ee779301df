"""The report page reads a few queries whatever the number of its sections: more methodology,
driver map, district map, comparison and recommendations sections (with more
recommendations, each answering factors and priorities) add none."""

from __future__ import annotations

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from amniyat.accounts.models import Membership
from amniyat.fieldwork.models import Assessment
from amniyat.reports import selectors, services
from amniyat.reports.models import Report, Section
from tests.factories import member_of
from tests.reports.test_built_driver_map import _map
from tests.reports.test_built_findings import _published, assessment  # noqa: F401
from tests.reports.test_recommendations import _priority

Role = Membership.Role
KINDS = (
    Section.Kind.METHODOLOGY,
    Section.Kind.DRIVER_MAP,
    Section.Kind.DISTRICT_MAP,
    Section.Kind.CHANGE,
)


def _queries(client: Client, url: str) -> int:
    client.get(url)  # warm: what a process keeps (findings shown, drawings)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_the_page_reads_as_much_with_more_sections(assessment: Assessment) -> None:  # noqa: F811
    programme = assessment.programme
    lead, analyst = member_of(programme, Role.LEAD), member_of(programme, Role.ANALYST)
    _published(assessment, lead)
    driver_map = _map(lead)
    factors = list(driver_map.factors.all()[:3])
    priorities = [_priority(programme, f"Concern {n}") for n in range(3)]
    report = services.report_create(
        user=analyst,
        programme=programme,
        kind=Report.Kind.BRIEFING,
        language="ru",
        title="B",
        assessment=assessment,
    )

    def grow() -> None:
        for kind in KINDS:
            section = services.section_add(user=analyst, report=report, kind=kind)
            options = {"indicator": "safe_night"} if kind == Section.Kind.DISTRICT_MAP else {}
            services.section_set_options(user=analyst, section=section, options=options)
            if not options:
                services.section_build(user=analyst, section=section)
        section = services.section_add(
            user=analyst, report=report, kind=Section.Kind.RECOMMENDATIONS
        )
        services.recommendations_set(
            user=analyst,
            section=section,
            items=[
                {
                    "text": f"Recommendation {n}",
                    "factors": [f.pk for f in factors],
                    "priorities": [p.pk for p in priorities],
                }
                for n in range(3)
            ],
        )

    for section in selectors.sections_of(report):
        if section.kind != Section.Kind.TITLE:
            services.section_remove(user=analyst, section=section)
    client = Client()
    client.force_login(analyst)
    url = reverse("reports:detail", args=[programme.slug, report.pk])
    grow()
    once = _queries(client, url)
    grow()
    grow()
    thrice = _queries(client, url)
    assert thrice == once, (once, thrice)
    # The report, its sections, what each kind of built section is built from (the
    # methodology's forms, versions, data revisions and discussions; the maps; the published
    # findings of each assessment read), the recommendations with their factors and
    # priorities, the files: 18 with the session and the membership.
    assert once <= 18, once
    page = client.get(url).content.decode()
    assert page.count("Recommendation 2") == 3 and page.count("<svg") >= 6
