"""The consultations register: recording one (bad input refused with its message, nothing
changed), who reads what (the plans' rule; invisible is 404), the summary whose numbers open
what they count, the encrypted words and who reads them, and a commitment becoming an action
of a plan of the same group, linked back."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from amniyat.audit.models import AuditEvent
from amniyat.plans import consultations as services
from amniyat.plans.models import Action, Commitment, Consultation
from tests.plans.conftest import Role, Scene, make_plan

HELD = datetime.date(2024, 3, 5)


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def make_consultation(scene: Scene, user: Any = None, **overrides: Any) -> Consultation:
    values: dict[str, Any] = {
        "group": scene.group,
        "held_on": HELD,
        "level": "district",
        "title": "Hokimiyat hearing on the market",
        "community_women": 12,
        "community_men": 7,
        "authority_women": 1,
        "authority_men": 4,
        "attendees": [
            {"organisation": "Women's council", "role": "chair", "side": "community"},
            {"organisation": "District police", "role": "deputy head", "side": "authority"},
        ],
        "factors": [scene.factors[0]],
        "priorities": [scene.priorities[0]],
        "issues_note": "Stalls close at dusk; girls walk home past the bus yard.",
        "reflected": "partly",
        "reflected_note": "Lighting was promised, patrols were not.",
        **overrides,
    }
    return services.consultation_create(
        user=user or scene.users[Role.LEAD], programme=scene.programme, **values
    )


def _post(scene: Scene, **overrides: Any) -> dict[str, Any]:
    return {
        "title": "Mahalla meeting",
        "held_on": "2024-03-05",
        "level": "local",
        "group": scene.group.pk,
        "community_women": "9",
        "community_men": "3",
        "authority_women": "0",
        "authority_men": "2",
        "attendees_community": "Youth club — leader",
        "attendees_authority": "Mahalla committee — chair",
        "factors": [scene.factors[0].pk],
        "priorities": [scene.priorities[0].pk],
        "issues_note": "Dark streets by the school.",
        "reflected": "yes",
        **overrides,
    }


# Recording, and bad input ------------------------------------------------------------------


def test_a_consultation_through_the_page(scene: Scene) -> None:
    client = _client(scene.users[Role.FACILITATOR])
    slug = scene.programme.slug
    response = client.post(reverse("plans:consultation_create", args=[slug]), _post(scene))
    assert response.status_code == 302, response.content.decode()[:3000]
    consultation = Consultation.objects.get(title="Mahalla meeting")
    assert consultation.attendees == [
        {"organisation": "Youth club", "role": "leader", "side": "community"},
        {"organisation": "Mahalla committee", "role": "chair", "side": "authority"},
    ]
    assert list(consultation.factors.all()) == [scene.factors[0]]
    assert list(consultation.priorities.all()) == [scene.priorities[0]]
    # The words are stored encrypted, not as written.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT issues_note FROM plans_consultation WHERE id = %s", [consultation.pk]
        )
        stored = cursor.fetchone()[0]
    assert "Dark streets" not in stored
    assert consultation.issues_note == "Dark streets by the school."
    assert AuditEvent.objects.filter(verb="created", object_id=str(consultation.pk)).exists()
    page = client.get(reverse("plans:consultation_detail", args=[slug, consultation.pk]))
    assert "Dark streets by the school." in page.content.decode()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"community_women": "-3"}, "Count the people who came: a whole number from 0 up."),
        ({"authority_men": "2.5"}, "Enter a whole number."),
        ({"held_on": "2024-13-45"}, "Enter a valid date."),
        ({"title": ""}, "This field is required."),
        ({"level": "galactic"}, "Select a valid choice."),
        ({"attendees_authority": "— deputy"}, "Give each attendee&#x27;s organisation and side."),
    ],
)
def test_bad_input_is_shown_again_and_saves_nothing(
    scene: Scene, overrides: dict[str, Any], message: str
) -> None:
    client = _client(scene.users[Role.LEAD])
    response = client.post(
        reverse("plans:consultation_create", args=[scene.programme.slug]),
        _post(scene, **overrides),
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Consultation.objects.exists()


def test_a_date_in_the_future_is_refused(scene: Scene) -> None:
    """The register records consultations held: who came and what was committed are not
    known before. Today is accepted."""
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    client = _client(scene.users[Role.LEAD])
    url = reverse("plans:consultation_create", args=[scene.programme.slug])
    response = client.post(url, _post(scene, held_on=tomorrow.isoformat()))
    assert response.status_code == 200
    assert "the date cannot be in the future" in response.content.decode()
    assert not Consultation.objects.exists()
    today = timezone.localdate().isoformat()
    assert client.post(url, _post(scene, held_on=today)).status_code == 302


def test_the_service_refuses_negative_counts_and_foreign_issues(scene: Scene) -> None:
    with pytest.raises(ValidationError) as negative:
        make_consultation(scene, community_men=-1)
    assert "community_men" in negative.value.error_dict
    with pytest.raises(ValidationError) as foreign:
        make_consultation(scene, factors=[scene.foreign_factor])
    assert foreign.value.message_dict["factors"] == [
        "Choose factors of this programme's driver maps for this group."
    ]
    with pytest.raises(ValidationError) as other:
        make_consultation(scene, priorities=[scene.foreign_priority])
    assert other.value.message_dict["priorities"] == ["Choose priorities this group has agreed."]
    assert not Consultation.objects.exists()


def test_a_factor_of_another_programme_through_the_page_is_refused(scene: Scene) -> None:
    client = _client(scene.users[Role.LEAD])
    response = client.post(
        reverse("plans:consultation_create", args=[scene.programme.slug]),
        _post(scene, factors=[scene.foreign_factor.pk]),
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not Consultation.objects.exists()


def test_a_facilitator_cannot_record_for_another_partners_group(scene: Scene) -> None:
    with pytest.raises(PermissionDenied):
        make_consultation(
            scene, user=scene.users[Role.FACILITATOR], group=scene.other_group, factors=[]
        )
    client = _client(scene.users[Role.FACILITATOR])
    response = client.post(
        reverse("plans:consultation_create", args=[scene.programme.slug]),
        _post(scene, group=scene.other_group.pk, factors=[], priorities=[]),
    )
    assert response.status_code == 200
    assert not Consultation.objects.exists()


# Who reads what --------------------------------------------------------------------------


def _urls(scene: Scene, consultation: Consultation, commitment: Commitment) -> dict[str, str]:
    slug = scene.programme.slug
    return {
        "list": reverse("plans:consultation_list", args=[slug]),
        "create": reverse("plans:consultation_create", args=[slug]),
        "detail": reverse("plans:consultation_detail", args=[slug, consultation.pk]),
        "edit": reverse("plans:consultation_edit", args=[slug, consultation.pk]),
        "commitment_action": reverse("plans:commitment_action", args=[slug, commitment.pk]),
        "api": f"/api/v1/consultations/{consultation.pk}/",
    }


EXPECTED = {
    Role.LEAD: dict.fromkeys(("list", "create", "detail", "edit", "commitment_action", "api"), 200),
    Role.FACILITATOR: dict.fromkeys(
        ("list", "create", "detail", "edit", "commitment_action", "api"), 200
    ),
    Role.ANALYST: {
        "list": 200,
        "create": 404,
        "detail": 200,
        "edit": 404,
        "commitment_action": 404,
        "api": 200,
    },
    Role.GROUP_MEMBER: {
        "list": 200,
        "create": 404,
        "detail": 200,
        "edit": 404,
        "commitment_action": 404,
        "api": 200,
    },
    Role.VIEWER: {
        "list": 200,
        "create": 404,
        "detail": 404,
        "edit": 404,
        "commitment_action": 404,
        "api": 404,
    },
}


def test_each_role_reads_what_the_policy_allows(scene: Scene) -> None:
    consultation = make_consultation(scene)
    commitment = services.commitment_add(
        user=None, consultation=consultation, what="Lights", made_by="Hokimiyat", side="authority"
    )
    programme_own = make_consultation(
        scene, group=None, title="National round table", factors=[], priorities=[]
    )
    urls = _urls(scene, consultation, commitment)
    for role, expected in EXPECTED.items():
        client = _client(scene.users[role])
        for name, status in expected.items():
            response = client.get(urls[name])
            assert response.status_code == status, (role, name, response.status_code)
        listed = client.get(urls["list"]).content.decode()
        assert ("Hokimiyat hearing" in listed) == (role != Role.VIEWER), role
        # The programme's own consultation (no group): its leads and analysts only.
        own = client.get(
            reverse("plans:consultation_detail", args=[scene.programme.slug, programme_own.pk])
        )
        assert own.status_code == (200 if role in (Role.LEAD, Role.ANALYST) else 404), role
    outsider = _client(scene.outsider)
    for name in ("detail", "edit", "commitment_action", "api"):
        assert outsider.get(urls[name]).status_code == 404, name
    assert "Hokimiyat hearing" not in outsider.get(urls["list"]).content.decode()


def test_the_words_are_read_only_by_who_may_and_the_reading_is_audited(scene: Scene) -> None:
    consultation = make_consultation(scene)
    url = reverse("plans:consultation_detail", args=[scene.programme.slug, consultation.pk])
    words = "girls walk home past the bus yard"
    for role, reads in ((Role.ANALYST, True), (Role.FACILITATOR, True), (Role.GROUP_MEMBER, False)):
        before = AuditEvent.objects.filter(verb=AuditEvent.Verb.VIEWED_TEXT).count()
        page = _client(scene.users[role]).get(url).content.decode()
        assert (words in page) == reads, role
        after = AuditEvent.objects.filter(verb=AuditEvent.Verb.VIEWED_TEXT).count()
        assert after - before == (1 if reads else 0), role
    # The member still reads the summary and the issues linked to the map and priorities.
    member_page = _client(scene.users[Role.GROUP_MEMBER]).get(url).content.decode()
    assert "Priorities:" in member_page and "Hokimiyat hearing" in member_page


def test_the_summary_counts_and_each_number_opens_what_it_counts(scene: Scene) -> None:
    make_consultation(scene)
    make_consultation(scene, level="local", title="Mahalla one", community_men=0, factors=[])
    make_consultation(scene, level="local", title="Mahalla two", community_women=5, factors=[])
    client = _client(scene.users[Role.LEAD])
    url = reverse("plans:consultation_list", args=[scene.programme.slug])
    page = client.get(url).content.decode()
    # Local: two consultations, 12 + 5 community women, 7 community men (one had none).
    assert '<a href="?level=local">2</a>' in page
    assert '<a href="?level=local&amp;attended=community_women">17</a>' in page
    assert '<a href="?level=local&amp;attended=community_men">7</a>' in page
    narrowed = client.get(url + "?level=local&attended=community_men").content.decode()
    assert "Mahalla two" in narrowed and "Mahalla one" not in narrowed
    assert "Hokimiyat hearing" not in narrowed
    # Filtered by period: the summary counts what the list shows.
    none = client.get(url + "?from=2025-01-01").content.decode()
    assert "No consultations recorded that you can see." in none
    garbage = client.get(url + "?from=yesterday&level=galactic&group=x")
    assert garbage.status_code == 200
    assert "A date of the period was not understood" in garbage.content.decode()


# Commitments -----------------------------------------------------------------------------


def test_a_commitment_becomes_an_action_linked_back(scene: Scene) -> None:
    plan = make_plan(scene)
    consultation = make_consultation(scene)
    commitment = services.commitment_add(
        user=scene.users[Role.FACILITATOR],
        consultation=consultation,
        what="Street lights on Bozor street",
        made_by="Hokimiyat",
        side="authority",
        due_on=datetime.date(2024, 9, 1),
    )
    objective = plan.objectives.order_by("position").first()
    assert objective is not None
    client = _client(scene.users[Role.FACILITATOR])
    url = reverse("plans:commitment_action", args=[scene.programme.slug, commitment.pk])
    assert objective.title in client.get(url).content.decode()
    response = client.post(
        url, {"objective": objective.pk, "start_on": "2024-04-01", "due_on": "2024-09-01"}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    commitment.refresh_from_db()
    action = commitment.action
    assert action is not None and action.objective == objective
    assert (action.title, action.lead_actor, action.lead_side) == (
        "Street lights on Bozor street",
        "Hokimiyat",
        "authority",
    )
    # It addresses the issues raised that the plan may address.
    assert list(action.factors.all()) == [scene.factors[0]]
    assert list(action.priorities.all()) == [scene.priorities[0]]
    page = client.get(
        reverse("plans:consultation_detail", args=[scene.programme.slug, consultation.pk])
    ).content.decode()
    assert reverse("plans:detail", args=[scene.programme.slug, plan.pk]) in page
    # Twice is refused, and nothing more is made.
    again = client.post(
        url, {"objective": objective.pk, "start_on": "2024-04-01", "due_on": "2024-09-01"}
    )
    assert again.status_code == 200
    assert "already an action" in again.content.decode()
    assert Action.objects.count() == 1


def test_a_commitment_cannot_become_an_action_of_another_groups_plan(scene: Scene) -> None:
    """A plan of a group of another organisation (or of another group at all) is not offered,
    and is refused if posted; nothing is made."""
    plan = make_plan(scene)
    other = make_consultation(
        scene, group=scene.other_group, title="Other partner's hearing", factors=[], priorities=[]
    )
    commitment = services.commitment_add(
        user=None, consultation=other, what="Patrols", made_by="Police", side="authority"
    )
    objective = plan.objectives.order_by("position").first()
    assert objective is not None
    lead = scene.users[Role.LEAD]
    with pytest.raises(ValidationError) as refused:
        services.commitment_to_action(
            user=lead,
            commitment=commitment,
            objective=objective,
            start_on=datetime.date(2024, 4, 1),
            due_on=datetime.date(2024, 5, 1),
        )
    assert refused.value.message_dict["objective"] == [
        "Choose an objective of a plan of this consultation's group."
    ]
    # The other partner's facilitator writes their consultation, but not the plan of the
    # own partner's group: the plan is not offered, and a post naming it is refused.
    client = _client(scene.outsider)
    url = reverse("plans:commitment_action", args=[scene.programme.slug, commitment.pk])
    page = client.get(url).content.decode()
    assert "There is no open plan of this consultation" in page
    response = client.post(
        url, {"objective": objective.pk, "start_on": "2024-04-01", "due_on": "2024-05-01"}
    )
    assert response.status_code == 200
    assert not Action.objects.exists()
    commitment.refresh_from_db()
    assert commitment.action_id is None
    # And the own partner's facilitator cannot reach the other partner's commitment at all.
    mine = _client(scene.users[Role.FACILITATOR])
    assert mine.get(url).status_code == 404
    assert mine.post(url, {"objective": objective.pk}).status_code == 404


def test_bad_commitment_input(scene: Scene) -> None:
    consultation = make_consultation(scene)
    client = _client(scene.users[Role.LEAD])
    url = reverse("plans:commitment_add", args=[scene.programme.slug, consultation.pk])
    response = client.post(
        url, {"what": "Lights", "made_by": "Hokimiyat", "side": "authority", "due_on": "2024-01-01"}
    )
    assert response.status_code == 200
    assert "A commitment cannot be due before the consultation was held." in (
        response.content.decode()
    )
    assert client.post(url, {}).status_code == 200
    assert not Commitment.objects.exists()


# The API ---------------------------------------------------------------------------------


def test_the_api_lists_and_details(scene: Scene) -> None:
    plan = make_plan(scene)
    consultation = make_consultation(scene)
    services.commitment_add(
        user=None, consultation=consultation, what="Lights", made_by="Hokimiyat", side="authority"
    )
    lead = _client(scene.users[Role.LEAD])
    plans = lead.get("/api/v1/plans/").json()
    assert [p["id"] for p in plans["results"]] == [plan.pk]
    detail = lead.get(f"/api/v1/plans/{plan.pk}/").json()
    assert [o["title"] for o in detail["objectives"]] == [p.concern for p in scene.priorities]
    consultations = lead.get("/api/v1/consultations/?level=district").json()["results"]
    assert [c["id"] for c in consultations] == [consultation.pk]
    assert "issues_note" not in consultations[0]
    one = lead.get(f"/api/v1/consultations/{consultation.pk}/").json()
    assert one["commitments"][0]["what"] == "Lights"
    assert one["issues_note"].startswith("Stalls close at dusk")
    assert one["factors"] == [scene.factors[0].pk]
    member = _client(scene.users[Role.GROUP_MEMBER])
    assert member.get(f"/api/v1/consultations/{consultation.pk}/").json()["issues_note"] is None
    viewer = _client(scene.users[Role.VIEWER])
    assert viewer.get("/api/v1/consultations/").json()["results"] == []
    assert viewer.get(f"/api/v1/plans/{plan.pk}/").status_code == 404
    assert lead.get("/api/v1/consultations/?from=nonsense&level=x&group=y").status_code == 200


def test_the_api_filters_actions_by_plan_status_and_overdue(scene: Scene) -> None:
    from tests.plans.conftest import make_action

    plan = make_plan(scene)
    late = make_action(plan, title="Late lights", due_on=datetime.date(2024, 2, 1))
    done = make_action(plan, title="Done patrols", status="done", progress=100)
    lead = _client(scene.users[Role.LEAD])

    def ids(query: str) -> list[int]:
        response = lead.get(f"/api/v1/actions/{query}")
        assert response.status_code == 200, query
        return [a["id"] for a in response.json()["results"]]

    assert ids(f"?plan={plan.pk}") == [late.pk, done.pk]
    assert ids("?overdue=true") == [late.pk]
    assert ids("?overdue=false") == [done.pk]
    assert ids("?status=done") == [done.pk]
    assert ids("?plan=abc&status=nonsense&overdue=maybe") == [late.pk, done.pk]
    one = lead.get(f"/api/v1/actions/{late.pk}/").json()
    assert (one["plan"], one["overdue"], one["cost_amount"]) == (plan.pk, True, None)
    detail = lead.get(f"/api/v1/plans/{plan.pk}/").json()
    rows = detail["objectives"][0]["actions"]
    assert [(r["id"], r["depth"]) for r in rows] == [(late.pk, 0), (done.pk, 0)]
    # Another partner's facilitator reads none of it.
    outsider = _client(scene.outsider)
    assert outsider.get(f"/api/v1/actions/{late.pk}/").status_code == 404
    assert outsider.get("/api/v1/actions/").json()["results"] == []


def test_a_facilitator_without_a_group_is_told_why(scene: Scene) -> None:
    client = _client(scene.users[Role.FACILITATOR])
    response = client.post(
        reverse("plans:consultation_create", args=[scene.programme.slug]),
        _post(scene, group="", factors=[], priorities=[]),
    )
    assert response.status_code == 200
    assert "a consultation of no group is recorded by the programme" in response.content.decode()
    assert not Consultation.objects.exists()
