"""API lists read a page at a time by cursor: every row once, in the endpoint's order, ties
included; filters kept from page to page; no count of the table; the scope as before. And a
list never decrypts what it masks."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from amniyat.accounts import policies
from amniyat.accounts.models import Membership
from amniyat.api import pagination
from amniyat.core import fields
from amniyat.fieldwork.models import Form, Submission
from amniyat.fieldwork.submissions import exporters
from tests.factories import GroupMemberFactory, ProgrammeFactory, member_of, shipped_place
from tests.fieldwork.imports.test_importers import SCHEMA, make_form
from tests.fieldwork.submissions.test_export import TRICKY, imported

Role = Membership.Role
MASK = exporters.MASK
WHEN = datetime.datetime(2024, 5, 1, 9, 0, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def copies(form: Form, count: int, *, start: int = 0, place: Any = None) -> list[Submission]:
    """``count`` more submissions of ``form``, copies of its first: every third shares its
    submission time with the one before (ties the cursor must not lose)."""
    template = Submission.objects.filter(form=form).order_by("pk").first()
    assert template is not None
    made = []
    for number in range(start, start + count):
        template.pk = None
        template.instance_id = f"uuid:{form.form_id}-{number}"
        template.submitted_at = WHEN - datetime.timedelta(minutes=number - number % 3 // 2)
        template.place = place or template.place
        template.save()
        made.append(Submission.objects.get(pk=template.pk))
    return made


@pytest.fixture
def scene(db: None, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Two forms of one programme (so a lead's list spans them), their submissions in Vakhsh
    and Kulob; a lead, and a facilitator who works in Vakhsh only and may not see personal
    answers."""
    programme = ProgrammeFactory(slug="tj")
    household = make_form(programme, schema=SCHEMA)
    imported(household, TRICKY.encode(), "tricky.csv")
    market = make_form(programme, schema=SCHEMA, form_id="market")
    imported(market, TRICKY.encode(), "tricky.csv")
    vakhsh, kulob = shipped_place("TJ-KT-VAK"), shipped_place("TJ-KT-KUL")
    Submission.objects.update(place=vakhsh)
    Submission.objects.filter(instance_id="uuid:u3").update(place=kulob, review_state="approved")
    for rule in ("facilitator_area", "facilitator_place_ids"):
        monkeypatch.setattr(policies, rule, lambda membership: {vakhsh.pk})
    return {
        "programme": programme,
        "forms": [household, market],
        "lead": member_of(programme, Role.LEAD),
        "facilitator": member_of(programme, Role.FACILITATOR),
        "vakhsh": vakhsh,
        "kulob": kulob,
    }


def client_of(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def pages(client: Client, url: str) -> Iterator[dict[str, Any]]:
    """Every page of a list, following its next links."""
    following: str | None = url
    while following:
        response = client.get(following)
        assert response.status_code == 200, response.content[:500]
        body = response.json()
        yield body
        following = body["next"]


def newest_first(submissions: Any) -> list[int]:
    return list(submissions.order_by("-submitted_at", "-id").values_list("pk", flat=True))


def test_the_pages_hold_every_submission_once_newest_first(scene: dict[str, Any]) -> None:
    for form in scene["forms"]:
        copies(form, 10)
    client = client_of(scene["lead"])
    read = [body["results"] for body in pages(client, "/api/v1/submissions/?page_size=4")]
    assert [len(page) for page in read] == [4] * 6 + [2]
    ids = [row["id"] for page in read for row in page]
    assert ids == newest_first(Submission.objects.all())
    first = client.get("/api/v1/submissions/?page_size=4").json()
    assert set(first) == {"next", "previous", "results"}  # no count of the table
    assert first["previous"] is None


def test_the_previous_link_goes_back_a_page(scene: dict[str, Any]) -> None:
    copies(scene["forms"][0], 9)
    client = client_of(scene["lead"])
    first = client.get("/api/v1/submissions/?page_size=5").json()
    second = client.get(first["next"]).json()
    back = client.get(second["previous"]).json()
    assert [r["id"] for r in back["results"]] == [r["id"] for r in first["results"]]
    assert back["previous"] is None


def test_filters_hold_from_page_to_page(scene: dict[str, Any]) -> None:
    market = scene["forms"][1]
    copies(market, 7)
    client = client_of(scene["lead"])
    url = f"/api/v1/submissions/?form={market.pk}&page_size=3"
    ids = [row["id"] for body in pages(client, url) for row in body["results"]]
    assert ids == newest_first(Submission.objects.filter(form=market))
    approved = "/api/v1/submissions/?review_state=approved&page_size=1"
    ids = [row["id"] for body in pages(client, approved) for row in body["results"]]
    assert ids == newest_first(Submission.objects.filter(review_state="approved"))
    assert len(ids) == 2  # one of each form


def test_the_pages_keep_the_callers_scope(scene: dict[str, Any]) -> None:
    for form in scene["forms"]:
        copies(form, 4, place=scene["kulob"])  # not the facilitator's
        copies(form, 3, start=10)
    client = client_of(scene["facilitator"])
    ids = [
        row["id"]
        for body in pages(client, "/api/v1/submissions/?page_size=2")
        for row in body["results"]
    ]
    assert ids == newest_first(Submission.objects.filter(place=scene["vakhsh"]))


def test_a_page_holds_at_most_the_largest_page_size(
    scene: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pagination.KeysetPagination, "max_page_size", 3)
    client = client_of(scene["lead"])
    assert len(client.get("/api/v1/submissions/?page_size=100").json()["results"]) == 3
    default = client.get("/api/v1/submissions/").json()["results"]
    assert len(default) == 6  # fewer than a page (100)


@pytest.mark.parametrize("cursor", ["nonsense", "cD1bXQ==", "cD1bImJhZCIsMV0=", "cD0x"])
def test_a_forged_cursor_is_not_found(scene: dict[str, Any], cursor: str) -> None:
    # "p=[]", "p=["bad",1]", "p=1": not positions of this list.
    response = client_of(scene["lead"]).get(f"/api/v1/submissions/?cursor={cursor}")
    assert response.status_code == 404


def test_every_list_describes_its_cursor_in_the_schema(scene: dict[str, Any]) -> None:
    schema = client_of(scene["lead"]).get("/api/schema/?format=json").json()
    lists = [
        operation
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method == "get"
        and not path.endswith("}/")
        and operation["operationId"].endswith("_list")
    ]
    assert len(lists) >= 10
    for operation in lists:
        names = {p["name"] for p in operation.get("parameters", [])}
        assert {"cursor", "page_size"} <= names, operation["operationId"]
        assert not names & {"limit", "offset"}
        page = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        body = schema["components"]["schemas"][page.rsplit("/", 1)[-1]]
        assert set(body["properties"]) == {"next", "previous", "results"}


# ----------------------------------------------------------------------------------------
# Nothing masked is decrypted


@pytest.fixture
def decrypted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every text the encrypted fields decrypt while the test runs."""
    seen: list[str] = []
    real = fields.decrypt_text

    def recording(token: str) -> str:
        text = real(token)
        seen.append(text)
        return text

    monkeypatch.setattr(fields, "decrypt_text", recording)
    return seen


def test_a_caller_who_may_not_see_protected_answers_has_none_decrypted(
    scene: dict[str, Any], decrypted: list[str]
) -> None:
    client = client_of(scene["facilitator"])
    rows = client.get("/api/v1/submissions/").json()["results"]
    assert len(rows) == 4  # u1 and u2 of each form
    assert {row["answers"]["respondent/name"] for row in rows} == {MASK}
    assert all(row["answers"]["respondent/age"] is not None for row in rows)
    assert not any("Дилноза" in text or "HYPERLINK" in text for text in decrypted)
    assert decrypted == []  # nor the enumerator, whose question the form does not have


def test_a_lead_is_shown_protected_answers(scene: dict[str, Any], decrypted: list[str]) -> None:
    rows = client_of(scene["lead"]).get("/api/v1/submissions/").json()["results"]
    assert "Дилноза" in {row["answers"]["respondent/name"] for row in rows}


def test_member_names_are_decrypted_only_for_those_who_see_them(
    scene: dict[str, Any], decrypted: list[str]
) -> None:
    from tests.factories import CommunityGroupFactory

    group = CommunityGroupFactory(programme=scene["programme"])
    GroupMemberFactory(group=group, display_name="Malika Saidova")
    analyst = member_of(scene["programme"], Role.ANALYST)
    viewer_rows = client_of(analyst).get("/api/v1/members/").json()["results"]
    assert [row["display_name"] for row in viewer_rows] == ["Malika Saidova"]
    decrypted.clear()
    facilitator = member_of(
        scene["programme"], Role.FACILITATOR, organisation=scene["programme"].lead_organisation
    )
    rows = client_of(facilitator).get("/api/v1/members/").json()["results"]
    assert [row["display_name"] for row in rows] == [None]
    assert "Malika Saidova" not in decrypted
