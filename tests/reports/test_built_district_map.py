"""A district map section draws one indicator's published estimate by district as its findings
page does: a map where every district has a boundary; otherwise it says so and draws bars.
New findings make it stale; the page says where its figures come from."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from amniyat.accounts.models import Membership
from amniyat.fieldwork.models import Assessment
from amniyat.findings.models import Findings
from amniyat.places.models import Place
from amniyat.reports import sections, services
from amniyat.reports.models import Report, Section
from tests.factories import member_of
from tests.findings.test_findings import TJ_DISTRICTS
from tests.reports.test_built_findings import _published, assessment  # noqa: F401

Role = Membership.Role


def test_bars_where_districts_have_no_boundary_then_stale(assessment: Assessment) -> None:  # noqa: F811
    Place.objects.filter(code__in=TJ_DISTRICTS).update(boundary=None)
    programme = assessment.programme
    lead, analyst = member_of(programme, Role.LEAD), member_of(programme, Role.ANALYST)
    findings = _published(assessment, lead)
    report = services.report_create(
        user=analyst,
        programme=programme,
        kind=Report.Kind.BRIEFING,
        language="en",
        title="Briefing",
        assessment=assessment,
    )
    section = services.section_add(user=analyst, report=report, kind=Section.Kind.DISTRICT_MAP)
    with pytest.raises(ValidationError) as refused:
        services.section_set_options(user=analyst, section=section, options={"indicator": "x"})
    assert refused.value.message_dict == {
        "indicator": ["Choose one of the findings' indicators to draw."]
    }
    services.section_set_options(user=analyst, section=section, options={"indicator": "safe_night"})
    section.refresh_from_db()
    assert not section.built["is_map"]
    assert section.built["fallback"].startswith("Not every district has a boundary")
    assert "projection" not in section.built["chart"]["spec"]
    assert section.built_from["findings"] == findings.pk
    client = Client()
    client.force_login(analyst)
    page = client.get(reverse("reports:detail", args=[programme.slug, report.pk])).content.decode()
    assert "Not every district has a boundary" in page
    assert f"/findings/{assessment.pk}/?indicator=safe_night" in page
    assert not sections.is_stale(section)
    Findings.objects.filter(pk=findings.pk).update(computed_at=section.built_at)
    assert sections.is_stale(section)
