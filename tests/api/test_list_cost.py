"""Every API list costs the same number of queries whatever the size of what it lists: a page
of N rows and a page of 3N take as many (no query per row), and no more than a fixed cap."""

from __future__ import annotations

import datetime
import itertools
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import get_resolver

from amniyat.accounts import policies
from amniyat.accounts.models import Membership
from amniyat.fieldwork.models import Assessment, DeviceUser, ImportJob, Submission
from amniyat.places.models import Place
from amniyat.plans.models import Action, ActionPlan, Consultation, Objective
from amniyat.reports.models import Rendering, Report
from tests.factories import (
    CommunityGroupFactory,
    GroupMemberFactory,
    OrganisationFactory,
    PlaceFactory,
    ProgrammeFactory,
    member_of,
    shipped_place,
)
from tests.fieldwork.imports.test_importers import SCHEMA, make_form
from tests.fieldwork.submissions.test_export import TRICKY, imported

Role = Membership.Role
N = 4
# Session, user, second factor, memberships; the page; what its rows refer to (each in one
# query for the page: versions, partners, places, assessments…); the protected answers of the
# rows that show them; an audit row per form shown (the submissions: 10).
MOST_QUERIES = 10
LISTS = {
    "programmes": "/api/v1/programmes/",
    "organisations": "/api/v1/organisations/",
    "places": "/api/v1/places/",
    "groups": "/api/v1/groups/",
    "members": "/api/v1/members/",
    "assessments": "/api/v1/assessments/",
    "forms": "/api/v1/forms/",
    "submissions": "/api/v1/submissions/",
    "submissions of a form": "/api/v1/submissions/?form={form}",
    "imports": "/api/v1/imports/",
    "devices": "/api/v1/devices/",
    "reports": "/api/v1/reports/",
    "files of a report": "/api/v1/reports/{report}/files/",
    "plans": "/api/v1/plans/",
    "actions": "/api/v1/actions/",
    "consultations": "/api/v1/consultations/",
}
counter = itertools.count()


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def scene(db: None, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    programme = ProgrammeFactory(slug="tj")
    vakhsh = shipped_place("TJ-KT-VAK")
    for rule in ("facilitator_area", "facilitator_place_ids"):
        monkeypatch.setattr(policies, rule, lambda membership: {vakhsh.pk})
    own = OrganisationFactory()
    forms = [make_form(programme, schema=SCHEMA), make_form(programme, form_id="market")]
    for form in forms:
        imported(form, TRICKY.encode(), "tricky.csv")
    Submission.objects.update(place=vakhsh, enumerator="Rustam")
    lead = member_of(programme, Role.LEAD)
    facilitator = member_of(
        programme, Role.FACILITATOR, organisation=own, can_view_personal_data=True
    )
    scene = {
        "programme": programme,
        "own": own,
        "forms": forms,
        "group": CommunityGroupFactory(programme=programme, facilitating_organisation=own),
        "lead": lead,
        "facilitator": facilitator,
        "analyst": member_of(programme, Role.ANALYST),
        "viewer facilitator": member_of(programme, Role.FACILITATOR, organisation=own),
        "vakhsh": vakhsh,
        # Published, so that everyone in the programme reads it and its published files.
        "report": Report.objects.create(
            programme=programme, kind="briefing", language="en", title="Ours", status="published"
        ),
    }
    grow(scene, N)
    return scene


def grow(scene: dict[str, Any], count: int) -> None:
    """``count`` more rows in every list, for everyone in the scene who reads them."""
    programme, own, vakhsh = scene["programme"], scene["own"], scene["vakhsh"]
    template = Submission.objects.filter(form=scene["forms"][0]).order_by("pk").first()
    assert template is not None
    for _ in range(count):
        number = next(counter)
        for who in ("lead", "facilitator"):
            Membership.objects.create(
                user=scene[who],
                programme=ProgrammeFactory(),
                organisation=own,
                role=Role.LEAD if who == "lead" else Role.FACILITATOR,
            )
        programme.partners.add(OrganisationFactory())
        PlaceFactory(level=Place.Level.COMMUNITY, programme=programme, parent=vakhsh)
        CommunityGroupFactory(programme=programme, facilitating_organisation=own)
        # In one group: showing names writes an audit row per group shown (as submissions'
        # answers write one per form), by design, a page holding at most a page of groups.
        GroupMemberFactory(group=scene["group"], display_name=f"Member {number}")
        GroupMemberFactory(group=scene["group"], display_name="")
        Assessment.objects.create(programme=programme, title=f"Round {number}", kind="baseline")
        make_form(programme, schema=SCHEMA, form_id=f"round-{number}")
        for form in scene["forms"]:
            for copy in range(3):
                template.pk = None
                template.form = form
                template.form_version = form.versions.get()
                template.instance_id = f"uuid:copy-{number}-{copy}"
                template.submitted_at = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
                template.save()
            for starter in ("facilitator", "viewer facilitator"):  # each follows their own
                ImportJob.objects.create(
                    form=form, file_name=f"{number}.csv", created_by=scene[starter]
                )
        DeviceUser.objects.create(
            programme=programme,
            organisation=own,
            username=f"device-{number}",
            password_hash="-",
            digest_ha1="secret",
        )
        Report.objects.create(
            programme=programme,
            kind="briefing",
            language="en",
            title=f"Report {number}",
            status="published",
        )
        # A plan of the own group with an objective and an action, and a consultation.
        plan = ActionPlan.objects.create(
            programme=programme,
            group=scene["group"],
            title=f"Plan {number}",
            period_start=datetime.date(2024, 1, 1),
            period_end=datetime.date(2024, 12, 31),
        )
        Action.objects.create(
            objective=Objective.objects.create(plan=plan, title=f"Objective {number}"),
            title=f"Action {number}",
            lead_actor="Police",
            lead_side="authority",
            start_on=datetime.date(2024, 1, 1),
            due_on=datetime.date(2024, 2, 1),
        )
        Consultation.objects.create(
            programme=programme,
            group=scene["group"],
            held_on=datetime.date(2024, 1, 2),
            level="local",
            title=f"Consultation {number}",
            issues_note="Words",
        )
        Rendering.objects.create(
            report=scene["report"],
            number=number + 1,
            format="pdf",
            report_revision=1,
            status="ready",
            approved_by=scene["lead"],
        )


def query_counts(scene: dict[str, Any]) -> dict[tuple[str, str], int]:
    counts = {}
    for who in ("lead", "facilitator", "analyst", "viewer facilitator"):
        client = Client()
        client.force_login(scene[who])
        for name, url in LISTS.items():
            with CaptureQueriesContext(connection) as queries:
                response = client.get(
                    url.format(form=scene["forms"][0].pk, report=scene["report"].pk)
                )
            assert response.status_code == 200, (who, name, response.content[:300])
            assert response.json()["results"], (who, name)
            counts[(who, name)] = len(queries.captured_queries)
    return counts


def test_every_api_list_costs_the_same_whatever_its_length(scene: dict[str, Any]) -> None:
    few = query_counts(scene)
    grow(scene, 2 * N)
    many = query_counts(scene)
    assert many == few  # no query per row
    assert max(many.values()) <= MOST_QUERIES, many


def test_every_api_list_is_measured() -> None:
    """A list added to the API is added here too."""
    listed = {
        pattern.name
        for pattern in get_resolver("amniyat.api.urls").url_patterns[0].url_patterns
        if pattern.name and pattern.name.endswith("-list")
    }
    measured = {url.split("/")[3] for url in LISTS.values()}
    names = {
        "programme-list": "programmes",
        "organisation-list": "organisations",
        "place-list": "places",
        "group-list": "groups",
        "member-list": "members",
        "assessment-list": "assessments",
        "form-list": "forms",
        "submission-list": "submissions",
        "import-job-list": "imports",
        "device-list": "devices",
        "report-list": "reports",
        "report-file-list": "reports",
        "plan-list": "plans",
        "action-list": "actions",
        "consultation-list": "consultations",
    }
    assert listed == set(names)
    assert {names[name] for name in listed} == measured
