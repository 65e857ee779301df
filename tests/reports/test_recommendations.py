"""An analyst links each recommendation to the factors of the programme's driver maps and the
community priorities it answers, in the recommendations section's form; the links show on the
page, in the DOCX and in the PDF; a factor or priority of another programme is refused and
nothing changes."""

from __future__ import annotations

import datetime
import io
import subprocess
import zipfile
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from amniyat.accounts.models import Membership, User
from amniyat.audit.models import AuditEvent
from amniyat.drivers.models import Priority, PriorityList
from amniyat.reports import document, pdf, selectors, services, word
from amniyat.reports.models import Recommendation, Report, Section
from tests.factories import CommunityGroupFactory, ProgrammeFactory, member_of
from tests.reports.test_built_driver_map import _map

Role = Membership.Role


def _priority(programme: Any, concern: str) -> Priority:
    priority_list = PriorityList.objects.create(
        group=CommunityGroupFactory(programme=programme),
        title=f"List of {concern}",
        agreed_on=datetime.date(2022, 3, 1),
    )
    return Priority.objects.create(
        priority_list=priority_list,
        concern=concern,
        severity=4,
        affected=3,
        urgency=3,
        changeable=3,
        rank=1,
    )


@pytest.fixture
def lead(db: None) -> User:
    return member_of(ProgrammeFactory(), Role.LEAD)


def _post(section: Section, rows: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "heading": "",
        "text": "",
        "recommendations-TOTAL_FORMS": str(len(rows)),
        "recommendations-INITIAL_FORMS": "0",
        "recommendations-MIN_NUM_FORMS": "0",
        "recommendations-MAX_NUM_FORMS": "40",
        **extra,
    }
    for index, row in enumerate(rows):
        for key, value in row.items():
            data[f"recommendations-{index}-{key}"] = value
    return data


def test_recommendations_answer_factors_and_priorities(lead: User) -> None:
    programme = lead.memberships.get().programme  # type: ignore[attr-defined]
    analyst = member_of(programme, Role.ANALYST)
    driver_map = _map(lead)
    theft = driver_map.factors.get(label="Theft")
    lighting = _priority(programme, "Street lighting")
    elsewhere = _map(member_of(ProgrammeFactory(), Role.LEAD), title="Elsewhere")
    foreign = elsewhere.factors.get(label="Theft")
    draft = _map(lead, title="Draft", publish=False).factors.get(label="Theft")
    unagreed = _priority(programme, "Roads")
    unagreed.priority_list.agreed_on = None
    unagreed.priority_list.save(update_fields=["agreed_on"])
    report = services.report_create(
        user=analyst, programme=programme, kind=Report.Kind.BRIEFING, language="en", title="B"
    )
    section = selectors.sections_of(report).get(kind=Section.Kind.RECOMMENDATIONS)
    edit = reverse("reports:section_edit", args=[programme.slug, report.pk, section.pk])
    client = Client()
    client.force_login(analyst)
    form = client.get(edit).content.decode()
    assert "Vakhsh: everyone&#x27;s view: Theft" in form and "Street lighting" in form
    assert "Elsewhere" not in form and "Draft" not in form and "Roads" not in form

    # A factor of another programme: refused with a clear message, nothing written.
    response = client.post(
        edit, _post(section, [{"text": "Patrol the market", "factors": [foreign.pk]}])
    )
    assert response.status_code == 200
    assert "Choose factors of this programme&#x27;s published driver maps." in (
        response.content.decode()
    )
    assert not Recommendation.objects.exists()
    # Nor a factor of a map not published, nor a priority of a list not agreed: what a
    # document names must be publishable.
    for item in (
        {"text": "x", "factors": [foreign.pk]},
        {"text": "x", "factors": [draft.pk]},
        {"text": "x", "priorities": [unagreed.pk]},
    ):
        with pytest.raises(ValidationError):
            services.recommendations_set(user=analyst, section=section, items=[item])
    assert not Recommendation.objects.exists()

    response = client.post(
        edit,
        _post(
            section,
            [
                {
                    "text": "Light the streets to the market",
                    "factors": [theft.pk],
                    "priorities": [lighting.pk],
                },
                {"text": "Open a youth centre"},
                {"text": ""},  # an empty one is left out
            ],
        ),
    )
    assert response.status_code == 302
    made = list(Recommendation.objects.order_by("position"))
    assert [r.text for r in made] == ["Light the streets to the market", "Open a youth centre"]
    assert list(made[0].factors.all()) == [theft]
    assert list(made[0].priorities.all()) == [lighting]
    event = AuditEvent.objects.filter(details__change="recommendations_set").get()
    assert "Light" not in str(event.details)  # the audit names what changed, not the words

    page = client.get(reverse("reports:detail", args=[programme.slug, report.pk])).content.decode()
    assert "Light the streets to the market" in page
    assert "Factors it answers: Theft" in page and "Priorities it answers: Street lighting" in page

    out = io.BytesIO()
    word.write(document.drawn(report), out)
    with zipfile.ZipFile(io.BytesIO(out.getvalue())) as package:
        body = package.read("word/document.xml").decode()
    assert "Light the streets to the market" in body and "Factors it answers: Theft" in body
    out = io.BytesIO()
    pdf.write(document.drawn(report), out)
    text = subprocess.run(
        ["/usr/bin/pdftotext", "-", "-"], input=out.getvalue(), capture_output=True, check=True
    ).stdout.decode()
    assert "Priorities it answers: Street lighting" in text

    # Editing again keeps the links it is shown with.
    form = client.get(edit).content.decode()
    assert "Light the streets to the market" in form
    assert f'value="{theft.pk}" selected' in form


def test_a_concern_many_groups_agreed_is_named_once_with_their_number(lead: User) -> None:
    """A national programme's recommendation may answer the same concern in hundreds of
    groups' lists: the page, the DOCX and the API read it once, with how many groups agreed
    it, in a fixed number of queries however many lists there are."""
    programme = lead.memberships.get().programme  # type: ignore[attr-defined]
    analyst = member_of(programme, Role.ANALYST)
    lighting = [_priority(programme, "Street lighting") for _ in range(3)]
    roads = _priority(programme, "Roads")
    report = services.report_create(
        user=analyst, programme=programme, kind=Report.Kind.BRIEFING, language="ru", title="B"
    )
    section = selectors.sections_of(report).get(kind=Section.Kind.RECOMMENDATIONS)
    services.recommendations_set(
        user=analyst,
        section=section,
        items=[{"text": "Light the streets", "priorities": [p.pk for p in [*lighting, roads]]}],
    )
    with translation.override("ru"):
        drawn = document.recommendations_of([section])
    assert drawn[section.pk][0]["priorities"] == ["Street lighting (3 группы)", "Roads"]

    for _ in range(4):
        _priority(programme, "Street lighting")
    more = list(Priority.objects.filter(concern="Street lighting").values_list("pk", flat=True))
    services.recommendations_set(
        user=analyst,
        section=section,
        items=[{"text": "Light the streets", "priorities": [*more, roads.pk]}],
    )
    with CaptureQueriesContext(connection) as queries, translation.override("en"):
        drawn = document.recommendations_of([section])
    assert drawn[section.pk][0]["priorities"] == ["Street lighting (7 groups)", "Roads"]
    assert len(queries) <= 4
    # The API gives them as the document names them, in its language.
    client = Client()
    client.force_login(analyst)
    sections = client.get(f"/api/v1/reports/{report.pk}/").json()["sections"]
    shown = next(s for s in sections if s["kind"] == "recommendations")
    assert shown["recommendations"] == [
        {
            "text": "Light the streets",
            "factors": [],
            "priorities": ["Street lighting (7 групп)", "Roads"],
        }
    ]
    assert all(s["recommendations"] == [] for s in sections if s["id"] != section.pk)
