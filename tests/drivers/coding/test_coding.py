"""Coding: applying codes to a selection or a whole passage (with and without the script),
refusing spans outside the text and codes of another programme, redaction before a quote
may be published, and reading all excerpts of a code by place, sex and age."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from amniyat.audit.models import AuditEvent
from amniyat.drivers.coding import services
from amniyat.drivers.models import Excerpt, RedactionFlag, Source
from tests.drivers.coding.test_sources import NOTES, client_for, make_source, scene, url

__all__ = ["scene"]  # the fixture, shared with the source tests

HX = {"HX-Request": "true"}


def span_of(source: Source, words: str) -> tuple[int, int]:
    start = source.text.index(words)
    return start, start + len(words)


def test_a_selection_is_coded_with_exact_offsets_and_audited(scene: dict[str, Any]) -> None:
    source = make_source(scene)
    start, end = span_of(source, "без работы")
    excerpt = services.excerpt_create(
        user=scene["facilitator"], source=source, code=scene["unemployment"], start=start, end=end
    )
    assert (excerpt.start, excerpt.end, excerpt.coder) == (start, end, scene["facilitator"])
    assert source.text[excerpt.start : excerpt.end] == "без работы"
    event = AuditEvent.objects.get(verb="created", object_type="drivers.excerpt")
    assert event.details == {
        "source": source.pk,
        "code": scene["unemployment"].pk,
        "span": [start, end],
    }


def test_the_script_applies_several_codes_and_gets_the_coding_area_back(
    scene: dict[str, Any],
) -> None:
    source = make_source(scene)
    start, end = span_of(source, "Женщины боятся ходить к роднику.")
    response = client_for(scene["facilitator"]).post(
        url("excerpt_create", scene, source.pk),
        {"start": start, "end": end, "code": [scene["violence"].pk, scene["migration"].pk]},
        headers=HX,
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert page.startswith('<div id="coding"') and "<html" not in page
    assert page.count('class="excerpt"') == 2
    assert set(Excerpt.objects.values_list("code__key", "start", "end")) == {
        ("violence", start, end),
        ("migration", start, end),
    }


def test_without_the_script_a_whole_passage_is_coded(scene: dict[str, Any]) -> None:
    source = make_source(scene)
    passage = source.passages.get(position=3)
    response = client_for(scene["lead"]).post(
        url("excerpt_create", scene, source.pk),
        {"passage": 3, "code": [scene["violence"].pk], "start": "", "end": ""},
    )
    assert response.status_code == 302
    assert response["Location"] == url("source_detail", scene, source.pk)
    excerpt = Excerpt.objects.get()
    assert (excerpt.start, excerpt.end) == (passage.start, passage.end)


@pytest.mark.parametrize(
    ("start", "end"),
    [(0, len(NOTES) + 1), (-3, 4), (10, 10), (40, 20), (10_000, 10_010)],
)
def test_a_span_outside_the_text_is_refused_with_a_message(
    scene: dict[str, Any], start: int, end: int
) -> None:
    source = make_source(scene)
    with pytest.raises(ValidationError):
        services.excerpt_create(
            user=scene["lead"], source=source, code=scene["violence"], start=start, end=end
        )
    response = client_for(scene["lead"]).post(
        url("excerpt_create", scene, source.pk),
        {"start": start, "end": end, "code": [scene["violence"].pk]},
        headers=HX,
    )
    assert response.status_code == 422
    assert response.content.decode()  # a message the page shows
    assert not Excerpt.objects.exists()


def test_the_message_for_a_span_past_the_end_says_why(scene: dict[str, Any]) -> None:
    source = make_source(scene)
    response = client_for(scene["lead"]).post(
        url("excerpt_create", scene, source.pk),
        {"start": 5, "end": len(NOTES) + 50, "code": [scene["violence"].pk]},
        follow=True,
    )
    assert (
        f"The selection 5–{len(NOTES) + 50} lies outside the text, which has {len(NOTES)} "
        "characters." in response.content.decode()
    )
    assert not Excerpt.objects.exists()


def test_a_code_of_another_programme_is_refused(scene: dict[str, Any]) -> None:
    source = make_source(scene)
    with pytest.raises(ValidationError) as error:
        services.excerpt_create(
            user=scene["lead"], source=source, code=scene["foreign_code"], start=0, end=5
        )
    assert error.value.message_dict["code"] == ["This code is not in this programme's codebook."]
    response = client_for(scene["lead"]).post(
        url("excerpt_create", scene, source.pk),
        {"start": 0, "end": 5, "code": [scene["violence"].pk, scene["foreign_code"].pk]},
        headers=HX,
    )
    assert response.status_code == 422
    assert response.content.decode() == "This code is not in this programme's codebook."
    assert not Excerpt.objects.exists()  # the good code was not applied either


def test_coding_needs_a_selection_and_a_code(scene: dict[str, Any]) -> None:
    source = make_source(scene)
    client = client_for(scene["lead"])
    response = client.post(
        url("excerpt_create", scene, source.pk), {"code": [scene["violence"].pk]}, headers=HX
    )
    assert "Select words in the text, or click a passage" in response.content.decode()
    response = client.post(url("excerpt_create", scene, source.pk), {"passage": 1}, headers=HX)
    assert "Choose at least one code to apply." in response.content.decode()
    response = client.post(
        url("excerpt_create", scene, source.pk),
        {"passage": 99, "code": [scene["violence"].pk]},
        headers=HX,
    )
    assert "There is no such passage in these notes." in response.content.decode()
    assert not Excerpt.objects.exists()


def test_the_same_code_on_the_same_words_twice_is_refused_clearly(scene: dict[str, Any]) -> None:
    source = make_source(scene)
    services.excerpt_create(
        user=scene["lead"], source=source, code=scene["violence"], start=0, end=5
    )
    with pytest.raises(ValidationError) as error:
        services.excerpt_create(
            user=scene["lead"], source=source, code=scene["violence"], start=0, end=5
        )
    assert "You have already applied “Violence” to exactly this text." in str(error.value)
    assert Excerpt.objects.count() == 1


def test_only_those_who_may_read_a_source_code_it(scene: dict[str, Any]) -> None:
    source = make_source(scene, organisation=scene["other"])
    with pytest.raises(PermissionDenied):
        services.excerpt_create(
            user=scene["facilitator"], source=source, code=scene["violence"], start=0, end=5
        )
    response = client_for(scene["facilitator"]).post(
        url("excerpt_create", scene, source.pk), {"passage": 0, "code": [scene["violence"].pk]}
    )
    assert response.status_code == 404
    assert not Excerpt.objects.exists()


def test_a_coder_removes_their_own_coding_and_only_the_codebook_managers_anyones(
    scene: dict[str, Any],
) -> None:
    source = make_source(scene)
    excerpt = services.excerpt_create(
        user=scene["facilitator"], source=source, code=scene["violence"], start=0, end=5
    )
    with pytest.raises(PermissionDenied):
        services.excerpt_delete(user=scene["colleague"], excerpt=excerpt)
    assert (
        client_for(scene["outsider"]).post(url("excerpt_delete", scene, excerpt.pk)).status_code
        == 404
    )
    assert Excerpt.objects.filter(pk=excerpt.pk).exists()
    response = client_for(scene["facilitator"]).post(url("excerpt_delete", scene, excerpt.pk))
    assert response.status_code == 302 and not Excerpt.objects.exists()
    other = services.excerpt_create(
        user=scene["facilitator"], source=source, code=scene["violence"], start=0, end=5
    )
    services.excerpt_delete(user=scene["lead"], excerpt=other)
    assert not Excerpt.objects.exists()


def test_switching_to_another_coders_coding(scene: dict[str, Any]) -> None:
    source = make_source(scene)
    services.excerpt_create(
        user=scene["analyst"], source=source, code=scene["violence"], start=0, end=10
    )
    client = client_for(scene["lead"])
    own = client.get(url("source_detail", scene, source.pk)).content.decode()
    assert 'class="excerpt"' not in own and 'id="coder-switch"' in own
    theirs = client.get(
        url("source_detail", scene, source.pk), {"coder": scene["analyst"].pk}
    ).content.decode()
    assert theirs.count('class="excerpt"') == 1 and 'id="viewing-other"' in theirs
    assert 'class="seg coded"' in theirs


# Redaction and publishing -------------------------------------------------------------------


def flag_over(source: Source, words: str) -> RedactionFlag:
    start, end = span_of(source, words)
    return source.redaction_flags.get(start=start, end=end)


def test_a_quote_with_an_open_flag_cannot_be_published(scene: dict[str, Any]) -> None:
    source = make_source(scene)
    start, end = span_of(source, "Мой сосед Рахимов Алишер звонил по номеру +992 93 123 45 67.")
    excerpt = services.excerpt_create(
        user=scene["lead"], source=source, code=scene["violence"], start=start, end=end
    )
    with pytest.raises(ValidationError) as error:
        services.excerpt_propose(user=scene["lead"], excerpt=excerpt)
    assert "2 possible personal details still to check (name and phone number)" in str(error.value)
    response = client_for(scene["lead"]).post(
        url("excerpt_publish", scene, excerpt.pk), {"publishable": "1"}, headers=HX
    )
    assert response.status_code == 422
    excerpt.refresh_from_db()
    assert excerpt.publication == "none" and excerpt.public_text == ""


def test_redacted_details_are_replaced_in_the_published_quote(scene: dict[str, Any]) -> None:
    source = make_source(scene)
    start, end = span_of(source, "Мой сосед Рахимов Алишер звонил по номеру +992 93 123 45 67.")
    excerpt = services.excerpt_create(
        user=scene["lead"], source=source, code=scene["violence"], start=start, end=end
    )
    client = client_for(scene["lead"])
    client.post(
        url("redaction_decide", scene, flag_over(source, "Рахимов Алишер").pk),
        {"status": "redact"},
    )
    client.post(
        url("redaction_decide", scene, flag_over(source, "+992 93 123 45 67").pk),
        {"status": "keep"},
    )
    response = client.post(url("excerpt_publish", scene, excerpt.pk), {"publishable": "1"})
    assert response.status_code == 302
    excerpt.refresh_from_db()
    assert excerpt.publication == "proposed"
    assert excerpt.public_text == "Мой сосед [name] звонил по номеру +992 93 123 45 67."
    services.excerpt_approve(user=scene["analyst"], excerpt=excerpt, checklist=Excerpt.Check.values)
    excerpt.refresh_from_db()
    assert excerpt.publishable
    # Changing one's mind: redacting the phone too rewrites the quote, which needs a second
    # reviewer again …
    client.post(
        url("redaction_decide", scene, flag_over(source, "+992 93 123 45 67").pk),
        {"status": "redact"},
    )
    excerpt.refresh_from_db()
    assert excerpt.public_text == "Мой сосед [name] звонил по номеру [phone]."
    assert excerpt.publication == "proposed" and not excerpt.publishable
    # … and reopening a flag withdraws the quote until it is settled and proposed again.
    client.post(
        url("redaction_decide", scene, flag_over(source, "Рахимов Алишер").pk),
        {"status": "open"},
    )
    excerpt.refresh_from_db()
    assert excerpt.publication == "none" and excerpt.public_text == ""


def test_proposing_for_publication_needs_the_right(scene: dict[str, Any]) -> None:
    source = make_source(scene, text="Людей мало. Патрулей нет.")
    excerpt = services.excerpt_create(
        user=scene["facilitator"], source=source, code=scene["violence"], start=0, end=11
    )
    with pytest.raises(PermissionDenied):
        services.excerpt_propose(user=scene["facilitator"], excerpt=excerpt)
    response = client_for(scene["facilitator"]).post(
        url("excerpt_publish", scene, excerpt.pk), {"publishable": "1"}
    )
    assert response.status_code == 404
    services.excerpt_propose(user=scene["analyst"], excerpt=excerpt)
    excerpt.refresh_from_db()
    assert excerpt.publication == "proposed" and excerpt.public_text == "Людей мало."


def test_a_bad_redaction_decision_changes_nothing(scene: dict[str, Any]) -> None:
    source = make_source(scene)
    flag = flag_over(source, "Рахимов Алишер")
    response = client_for(scene["lead"]).post(
        url("redaction_decide", scene, flag.pk), {"status": "burn"}, headers=HX
    )
    assert response.status_code == 422
    assert "Choose redact, keep or check later." in response.content.decode()
    flag.refresh_from_db()
    assert flag.status == RedactionFlag.Status.OPEN and flag.decided_by is None
    outsider = client_for(scene["outsider"]).post(
        url("redaction_decide", scene, flag.pk), {"status": "keep"}
    )
    assert outsider.status_code == 404


# Excerpts of a code -------------------------------------------------------------------------


def test_excerpts_of_a_code_filter_by_place_sex_and_age(scene: dict[str, Any]) -> None:
    women = make_source(scene, title="WOMEN-FGD", text="Женщинам страшно.")
    men = make_source(
        scene,
        title="MEN-FGD",
        text="Мужчины уезжают на заработки.",
        women=0,
        men=6,
        participants=6,
        age_bands=["45_59"],
        place=scene["vakhsh"],
    )
    mixed = make_source(
        scene, title="MIXED-FGD", text="Все без работы.", women=3, men=3, participants=6
    )
    for source, code in (
        (women, scene["violence"]),
        (men, scene["migration"]),
        (mixed, scene["unemployment"]),
    ):
        services.excerpt_create(
            user=scene["lead"], source=source, code=code, start=0, end=len(source.text)
        )

    def titles(**filters: Any) -> list[str]:
        rows = services.code_excerpt_rows(
            user=scene["lead"], programme=scene["programme"], code=scene["unemployment"], **filters
        )
        return sorted(excerpt.source.title for excerpt in rows)

    assert titles() == ["MEN-FGD", "MIXED-FGD"]  # with the code under it, migration
    assert titles(with_children=False) == ["MIXED-FGD"]
    assert titles(sex="men") == ["MEN-FGD"]
    assert titles(sex="mixed") == ["MIXED-FGD"]
    assert titles(sex="women") == []
    assert titles(age_band="45_59") == ["MEN-FGD"]
    assert titles(place=scene["mahalla"].pk) == ["MIXED-FGD"]
    assert titles(place=scene["vakhsh"].pk) == ["MEN-FGD", "MIXED-FGD"]

    page = client_for(scene["lead"]).get(
        url("code_excerpts", scene, scene["unemployment"].pk), {"sex": "men"}
    )
    text = page.content.decode()
    assert "Мужчины уезжают на заработки." in text and "Все без работы." not in text
    audit = AuditEvent.objects.filter(verb=services.VIEW_TEXT).latest("at")
    assert audit.details["sources"] == [men.pk]


def test_excerpts_of_a_code_respect_the_facilitators_scope(scene: dict[str, Any]) -> None:
    own = make_source(scene, title="OWN", text="Своё.")
    theirs = make_source(scene, title="THEIRS", text="Чужое.", organisation=scene["other"])
    for source in (own, theirs):
        services.excerpt_create(
            user=scene["lead"], source=source, code=scene["violence"], start=0, end=4
        )
    page = client_for(scene["facilitator"]).get(url("code_excerpts", scene, scene["violence"].pk))
    assert "Своё" in page.content.decode() and "Чужое" not in page.content.decode()
    foreign = client_for(scene["lead"]).get(url("code_excerpts", scene, scene["foreign_code"].pk))
    assert foreign.status_code == 404
    assert (
        client_for(scene["viewer"])
        .get(url("code_excerpts", scene, scene["violence"].pk))
        .status_code
        == 404
    )


def test_a_personal_detail_the_heuristics_missed_is_flagged_by_hand(
    scene: dict[str, Any],
) -> None:
    """A lone first name is not found on upload; a coder selects it and flags it, and the
    published quote has it redacted. Without a selection, or with a span outside the text,
    nothing is flagged."""
    source = make_source(scene, text="Алишер сказал, что патрулей нет. Люди боятся.")
    assert not source.redaction_flags.exists()
    excerpt = services.excerpt_create(
        user=scene["lead"], source=source, code=scene["violence"], start=0, end=32
    )
    client = client_for(scene["lead"])
    before = RedactionFlag.objects.count()
    empty = client.post(url("redaction_add", scene, source.pk), {"kind": "name"}, headers=HX)
    assert empty.status_code == 422
    assert "Select the words to flag in the text first." in empty.content.decode()
    outside = client.post(
        url("redaction_add", scene, source.pk),
        {"kind": "name", "start": 0, "end": 500},
        headers=HX,
    )
    assert outside.status_code == 422
    bad_kind = client.post(
        url("redaction_add", scene, source.pk),
        {"kind": "shoe size", "start": 0, "end": 6},
        headers=HX,
    )
    assert bad_kind.status_code == 422
    assert RedactionFlag.objects.count() == before
    start, end = span_of(source, "Алишер")
    response = client.post(
        url("redaction_add", scene, source.pk),
        {"kind": "name", "start": start, "end": end},
        headers=HX,
    )
    assert response.status_code == 200
    flag = source.redaction_flags.get()
    assert (flag.kind, flag.status, flag.start, flag.end) == ("name", "redact", start, end)
    services.excerpt_propose(user=scene["lead"], excerpt=excerpt)
    excerpt.refresh_from_db()
    assert excerpt.public_text == "[name] сказал, что патрулей нет."
    # Someone who may not code these notes cannot flag in them either.
    outsider = client_for(scene["outsider"]).post(
        url("redaction_add", scene, source.pk), {"kind": "name", "start": 0, "end": 6}
    )
    assert outsider.status_code == 404


def _page_queries(client: Any, page: str) -> int:
    client.get(page)  # what is read once per process is read
    with CaptureQueriesContext(connection) as queries:
        assert client.get(page).status_code == 200
    return len(queries)


def test_the_coding_page_makes_as_many_queries_for_30_excerpts_as_for_3(
    scene: dict[str, Any],
) -> None:
    """Each excerpt in the margin shows its code and who proposed it: read with the excerpts,
    not one query per excerpt."""
    source = make_source(scene)
    codes = [scene["unemployment"], scene["violence"], scene["migration"]]
    proposers = [scene["analyst"], scene["facilitator"], scene["colleague"]]

    def code(n: int) -> None:
        excerpt = Excerpt.objects.create(
            source=source, code=codes[n % 3], coder=scene["lead"], start=n, end=n + 5
        )
        Excerpt.objects.filter(pk=excerpt.pk).update(
            publication=Excerpt.Publication.PROPOSED, proposed_by=proposers[n % 3]
        )

    for n in range(3):
        code(n)
    client = client_for(scene["lead"])
    page = url("source_detail", scene, source.pk)
    few = _page_queries(client, page)
    for n in range(3, 30):
        code(n)
    assert _page_queries(client, page) == few
    assert client.get(page).content.decode().count("Proposed by colleague.") == 10
