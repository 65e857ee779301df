"""A quote leaves the team only after two people: one proposes it, a second lead or analyst —
neither its coder nor its proposer — approves it against the checklist shown on the review
page. Proposing publishes nothing; a later redaction sends it back for review; the audit log
names both people; viewers of a published map see approved quotes only."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse
from django.utils.html import escape

from amniyat.audit.models import AuditEvent
from amniyat.drivers.coding import selectors as coding_selectors
from amniyat.drivers.coding import services
from amniyat.drivers.maps import services as maps
from amniyat.drivers.models import Excerpt, Source
from tests.drivers.coding.test_sources import client_for, make_source, scene, url

__all__ = ["scene"]  # the fixture, shared with the source tests

QUOTE = "Женщины боятся ходить к роднику."
ALL_ITEMS = list(Excerpt.Check.values)
OWN_CODING = "You coded this quote, so you cannot approve it: another lead or analyst must."
OWN_PROPOSAL = "You proposed this quote, so you cannot approve it: another lead or analyst must."


def coded(scene: dict[str, Any], coder: str = "facilitator", words: str = QUOTE) -> Excerpt:
    source = make_source(scene)
    start = source.text.index(words)
    return services.excerpt_create(
        user=scene[coder],
        source=source,
        code=scene["violence"],
        start=start,
        end=start + len(words),
    )


def proposed(scene: dict[str, Any], coder: str = "facilitator", by: str = "lead") -> Excerpt:
    excerpt = coded(scene, coder)
    return services.excerpt_propose(user=scene[by], excerpt=excerpt)


def review(
    scene: dict[str, Any], who: str, excerpt: Excerpt, decision: str = "approve", **data: Any
) -> Any:
    body = {"checklist": ALL_ITEMS, "decision": decision} | data
    return client_for(scene[who]).post(url("excerpt_review", scene, excerpt.pk), body)


def state(excerpt: Excerpt) -> tuple[str, int | None, int | None]:
    excerpt.refresh_from_db()
    return excerpt.publication, excerpt.proposed_by_id, excerpt.reviewed_by_id


def published_quotes(scene: dict[str, Any]) -> set[int]:
    return set(
        coding_selectors.publishable_excerpts(programme=scene["programme"]).values_list(
            "pk", flat=True
        )
    )


def test_proposing_a_quote_does_not_make_it_publishable(scene: dict[str, Any]) -> None:
    excerpt = coded(scene)
    response = client_for(scene["lead"]).post(
        url("excerpt_publish", scene, excerpt.pk), {"publishable": "1"}
    )
    assert response.status_code == 302
    assert state(excerpt) == ("proposed", scene["lead"].pk, None)
    assert not excerpt.publishable
    assert excerpt.public_text == QUOTE  # what the reviewer will read
    assert published_quotes(scene) == set()
    # The coding page says so, and offers the proposer no way to approve it.
    page = client_for(scene["lead"]).get(
        url("source_detail", scene, excerpt.source_id), {"coder": scene["facilitator"].pk}
    )
    html = page.content.decode()
    assert "awaiting a second reviewer" in html
    assert url("excerpt_review", scene, excerpt.pk) not in html


def test_a_second_lead_or_analyst_approves_with_every_item_ticked(
    scene: dict[str, Any],
) -> None:
    excerpt = proposed(scene)
    client = client_for(scene["analyst"])
    # The coding page points the second person to the quote waiting for them.
    coding = client.get(url("source_detail", scene, excerpt.source_id)).content.decode()
    assert 'id="quotes-to-review"' in coding
    assert url("excerpt_review", scene, excerpt.pk) in coding
    page = client.get(url("excerpt_review", scene, excerpt.pk))
    assert page.status_code == 200
    html = page.content.decode()
    assert f'id="public-text" lang="ru">{QUOTE}</blockquote>' in html
    for item in Excerpt.Check:
        assert f'value="{item.value}"' in html and escape(str(item.label)) in html
    response = review(scene, "analyst", excerpt)
    assert response.status_code == 302
    assert state(excerpt) == ("approved", scene["lead"].pk, scene["analyst"].pk)
    assert excerpt.publishable and excerpt.public_text == QUOTE
    assert published_quotes(scene) == {excerpt.pk}


def test_the_coder_cannot_approve_their_own_quote(scene: dict[str, Any]) -> None:
    excerpt = proposed(scene, coder="analyst", by="lead")
    page = client_for(scene["analyst"]).get(url("excerpt_review", scene, excerpt.pk))
    assert OWN_CODING in page.content.decode()  # said before anyone ticks anything
    response = review(scene, "analyst", excerpt)
    assert response.status_code == 200
    assert OWN_CODING in response.content.decode()
    assert state(excerpt) == ("proposed", scene["lead"].pk, None)
    with pytest.raises(ValidationError) as error:
        services.excerpt_approve(user=scene["analyst"], excerpt=excerpt, checklist=ALL_ITEMS)
    assert error.value.messages == [OWN_CODING]
    assert published_quotes(scene) == set()


def test_the_proposer_cannot_approve_the_quote_they_proposed(scene: dict[str, Any]) -> None:
    excerpt = proposed(scene, coder="facilitator", by="lead")
    response = review(scene, "lead", excerpt)
    assert response.status_code == 200
    assert OWN_PROPOSAL in response.content.decode()
    assert state(excerpt) == ("proposed", scene["lead"].pk, None)
    assert published_quotes(scene) == set()
    # A lead who proposes and codes alike still needs someone else.
    own = proposed(scene, coder="lead", by="lead")
    with pytest.raises(ValidationError):
        services.excerpt_approve(user=scene["lead"], excerpt=own, checklist=ALL_ITEMS)
    assert state(own) == ("proposed", scene["lead"].pk, None)


@pytest.mark.parametrize("ticked", [[], ALL_ITEMS[:3], ALL_ITEMS[1:]])
def test_an_approval_with_an_item_of_the_checklist_unticked_is_refused(
    scene: dict[str, Any], ticked: list[str]
) -> None:
    excerpt = proposed(scene)
    before = AuditEvent.objects.filter(verb="published").count()
    response = review(scene, "analyst", excerpt, checklist=ticked)
    assert response.status_code == 200
    html = response.content.decode()
    assert escape("Confirm every item of the checklist before approving.") in html
    for item in Excerpt.Check:
        if item.value not in ticked:
            assert escape(str(item.label)) in html.split("Not confirmed:")[1]
    assert state(excerpt) == ("proposed", scene["lead"].pk, None)
    assert AuditEvent.objects.filter(verb="published").count() == before
    assert published_quotes(scene) == set()


@pytest.mark.parametrize("who", ["facilitator", "colleague", "outsider", "member", "viewer"])
def test_only_leads_and_analysts_may_review_others_get_404(scene: dict[str, Any], who: str) -> None:
    excerpt = proposed(scene)
    client = client_for(scene[who])
    assert client.get(url("excerpt_review", scene, excerpt.pk)).status_code == 404
    assert review(scene, who, excerpt).status_code == 404
    assert state(excerpt) == ("proposed", scene["lead"].pk, None)
    with pytest.raises(PermissionDenied):
        services.excerpt_approve(user=scene[who], excerpt=excerpt, checklist=ALL_ITEMS)
    assert published_quotes(scene) == set()


def test_returning_a_quote_needs_a_reason_which_the_coding_page_shows(
    scene: dict[str, Any],
) -> None:
    excerpt = proposed(scene)
    no_reason = review(scene, "analyst", excerpt, decision="return", reason="  ")
    assert no_reason.status_code == 200
    assert "Say why the quote is returned, so that it can be put right." in (
        no_reason.content.decode()
    )
    assert state(excerpt) == ("proposed", scene["lead"].pk, None)
    reason = "The spring is the only one in the mahalla: people will know who said this."
    response = review(scene, "analyst", excerpt, decision="return", reason=reason, checklist=[])
    assert response.status_code == 302
    assert state(excerpt) == ("returned", scene["lead"].pk, scene["analyst"].pk)
    assert excerpt.review_note == reason and not excerpt.publishable
    coding = client_for(scene["lead"]).get(
        url("source_detail", scene, excerpt.source_id), {"coder": scene["facilitator"].pk}
    )
    assert escape(reason) in coding.content.decode()
    # A returned quote cannot be approved; it can be proposed again.
    with pytest.raises(ValidationError):
        services.excerpt_approve(user=scene["analyst"], excerpt=excerpt, checklist=ALL_ITEMS)
    services.excerpt_propose(user=scene["lead"], excerpt=excerpt)
    assert state(excerpt) == ("proposed", scene["lead"].pk, None)


def test_a_later_redaction_over_the_quote_withdraws_its_approval(scene: dict[str, Any]) -> None:
    excerpt = proposed(scene)
    services.excerpt_approve(user=scene["analyst"], excerpt=excerpt, checklist=ALL_ITEMS)
    assert published_quotes(scene) == {excerpt.pk}
    spring = excerpt.source.text.index("роднику")
    response = client_for(scene["facilitator"]).post(
        url("redaction_add", scene, excerpt.source_id),
        {"kind": "address", "start": spring, "end": spring + len("роднику")},
    )
    assert response.status_code == 302
    assert state(excerpt) == ("proposed", scene["lead"].pk, None)
    assert excerpt.public_text == "Женщины боятся ходить к [address]."
    assert published_quotes(scene) == set()
    flagged = AuditEvent.objects.get(verb="created", object_type="drivers.redactionflag")
    assert flagged.details["quotes_to_review_again"] == [excerpt.pk]
    # The second person approves the new words; un-redacting them sends it back again.
    services.excerpt_approve(user=scene["analyst"], excerpt=excerpt, checklist=ALL_ITEMS)
    flag = excerpt.source.redaction_flags.get(start=spring)
    services.redaction_decide(user=scene["lead"], flag=flag, status="keep")
    assert state(excerpt) == ("proposed", scene["lead"].pk, None)
    assert excerpt.public_text == QUOTE


def test_changing_who_spoke_sends_an_approved_quote_back_for_review(
    scene: dict[str, Any],
) -> None:
    excerpt = proposed(scene)
    services.excerpt_approve(user=scene["analyst"], excerpt=excerpt, checklist=ALL_ITEMS)
    source = Source.objects.get(pk=excerpt.source_id)
    services.source_update(user=scene["lead"], source=source, title="Renamed")
    assert state(excerpt)[0] == "approved"  # the title is not what the reviewer weighed
    services.source_update(user=scene["lead"], source=source, sectors=["teacher", "police"])
    assert state(excerpt) == ("proposed", scene["lead"].pk, None)


def test_a_quote_changed_while_it_was_reviewed_is_not_approved(scene: dict[str, Any]) -> None:
    excerpt = proposed(scene)
    seen = services.quote_digest(excerpt.public_text)
    spring = excerpt.source.text.index("роднику")
    services.redaction_flag_add(
        user=scene["lead"],
        source=excerpt.source,
        kind="address",
        start=spring,
        end=spring + len("роднику"),
    )
    response = review(scene, "analyst", excerpt, seen=seen)
    assert response.status_code == 200
    assert "The quote changed while you were reviewing it" in response.content.decode()
    assert state(excerpt) == ("proposed", scene["lead"].pk, None)


def test_the_audit_log_names_the_proposer_and_the_approver(scene: dict[str, Any]) -> None:
    excerpt = coded(scene)
    client_for(scene["lead"]).post(url("excerpt_publish", scene, excerpt.pk), {"publishable": "1"})
    review(scene, "analyst", excerpt)
    events = AuditEvent.objects.filter(
        object_type="drivers.excerpt", object_id=str(excerpt.pk)
    ).order_by("at", "id")
    proposal, approval = [e for e in events if "publication" in e.details]
    assert (proposal.actor, proposal.verb) == (scene["lead"], "updated")
    assert proposal.details == {"publication": ["none", "proposed"], "coder": "facilitator"}
    assert (approval.actor, approval.verb) == (scene["analyst"], "published")
    assert approval.details == {
        "publication": ["proposed", "approved"],
        "coder": "facilitator",
        "proposed_by": "lead",
        "checklist": dict.fromkeys(ALL_ITEMS, True),
    }
    log = client_for(scene["lead"]).get(
        reverse("core:audit", kwargs={"slug": scene["programme"].slug}), {"verb": "published"}
    )
    assert "analyst" in log.content.decode()


def test_viewers_of_a_published_map_see_approved_quotes_only(scene: dict[str, Any]) -> None:
    waiting = proposed(scene)
    approved = services.excerpt_propose(
        user=scene["analyst"], excerpt=coded(scene, words="Вечером на улице страшно.")
    )
    services.excerpt_approve(user=scene["lead"], excerpt=approved, checklist=ALL_ITEMS)
    driver_map = maps.map_create(
        acting_user=scene["lead"], programme=scene["programme"], title="Vakhsh, women's view"
    )
    maps.factor_add(
        acting_user=scene["lead"],
        driver_map=driver_map,
        label="Fear",
        kind="concern",
        excerpts=[waiting.pk, approved.pk],
    )
    maps.map_publish(acting_user=scene["lead"], driver_map=driver_map)
    viewer = client_for(scene["viewer"])
    page = viewer.get(url("map_detail", scene, driver_map.pk)).content.decode()
    assert "Вечером на улице страшно." in page and QUOTE not in page
    graph = viewer.get(url("map_graph", scene, driver_map.pk)).json()
    shown = [e["id"] for el in graph["elements"] for e in el["data"].get("evidence", [])]
    assert shown == [approved.pk]


def test_the_database_refuses_an_approval_by_the_coder_or_the_proposer(
    scene: dict[str, Any],
) -> None:
    excerpt = proposed(scene, coder="analyst", by="lead")
    for reviewer in ("analyst", "lead"):
        with pytest.raises(IntegrityError), transaction.atomic():
            Excerpt.objects.filter(pk=excerpt.pk).update(
                publication="approved", reviewed_by=scene[reviewer]
            )
    assert state(excerpt) == ("proposed", scene["lead"].pk, None)


def test_quotes_marked_publishable_before_wait_for_a_second_reviewer(
    transactional_db: None, scene: dict[str, Any]
) -> None:
    """The migration: a quote one person marked publishable becomes proposed, with that
    person (from the audit log) as its proposer, so they cannot be the one to approve it."""
    marked = coded(scene, coder="facilitator")
    unmarked = coded(scene, coder="facilitator", words="Вечером на улице страшно.")
    executor = MigrationExecutor(connection)
    executor.migrate([("drivers", "0001_initial")])
    old = executor.loader.project_state([("drivers", "0001_initial")]).apps
    old.get_model("drivers", "Excerpt").objects.filter(pk=marked.pk).update(
        publishable=True, public_text=QUOTE
    )
    AuditEvent.objects.create(
        actor=scene["analyst"],
        verb="updated",
        object_type="drivers.excerpt",
        object_id=str(marked.pk),
        details={"publishable": True},
    )
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes("drivers"))
    assert state(marked) == ("proposed", scene["analyst"].pk, None)
    assert marked.public_text == QUOTE
    assert state(unmarked) == ("none", None, None)
    assert published_quotes(scene) == set()
    with pytest.raises(ValidationError):
        services.excerpt_approve(user=scene["analyst"], excerpt=marked, checklist=ALL_ITEMS)
    services.excerpt_approve(user=scene["lead"], excerpt=marked, checklist=ALL_ITEMS)
    assert published_quotes(scene) == {marked.pk}
