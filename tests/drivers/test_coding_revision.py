"""What pages compute from a programme's coding and keep between requests (the assistant's
queue, the codes that appear together on the map suggestions page), under its coding revision
(``coding.selectors.coding_kept``): after every kind of change to the coding, what is kept is
what computing afresh gives; the second request computes nothing; and nothing decrypted is
kept."""

from __future__ import annotations

import ast
import pickle
import random
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

import amniyat
from amniyat.accounts.models import Membership, User
from amniyat.drivers.assist import services as assist
from amniyat.drivers.codebook import services as codebook
from amniyat.drivers.coding import services as coding
from amniyat.drivers.maps import services as maps
from amniyat.drivers.models import DriverMap, Excerpt, Passage
from tests.drivers.assist.test_assist import (
    Capture,
    World,
    add_source,
    build_world,
    open_trained,
)
from tests.factories import OrganisationFactory, member_of
from tests.queries import describe, queries_of

Role = Membership.Role
EXCERPTS = 'FROM "drivers_excerpt"'
DECISIONS = 'FROM "drivers_suggestion"'


@pytest.fixture(autouse=True)
def _fresh_models() -> Any:
    assist.assist_cache_clear()
    yield
    assist.assist_cache_clear()


@pytest.fixture
def world(db: None) -> World:
    """The assistant's world (24 coded discussions, 6 uncoded), two uncoded ones of a partner
    whose facilitator codes them, and a map."""
    world = build_world()
    partner = OrganisationFactory(name="Partner CSO")
    world.programme.partners.add(partner)
    rng = random.Random(5)
    for i in range(2):
        add_source(world, rng, title=f"Partner {i}", coded=False, organisation=partner)
    member_of(world.programme, Role.FACILITATOR, organisation=partner)
    maps.map_create(acting_user=world.lead, programme=world.programme, title="Concerns")
    return world


def _facilitator(world: World) -> User:
    return User.objects.get(
        memberships__programme=world.programme, memberships__role=Role.FACILITATOR
    )


def _shown(reader: User, world: World) -> tuple[Any, ...]:
    """What the two pages show the reader: the queue (passage, codes, text) and the map's
    suggested links and factors (with every pair that appears together once)."""
    queue = assist.suggestions_for(user=reader, programme=world.programme, limit=500)
    driver_map = DriverMap.objects.get(programme=world.programme)
    suggested = maps.map_suggest_from_codes(user=reader, driver_map=driver_map, min_together=1)
    return (
        [(s.passage.pk, s.text, [(c.code.pk, c.probability) for c in s.codes]) for s in queue],
        [(x.source.pk, x.target.pk, x.together, x.excerpt_ids) for x in suggested.links],
        [(f.code.pk, f.excerpts) for f in suggested.factors],
    )


def _afresh(reader: User, world: World) -> tuple[Any, ...]:
    cache.clear()
    return _shown(reader, world)


def _first_passage(world: World, index: int = 0) -> Passage:
    passage = world.uncoded[index].passages.order_by("position").first()
    assert passage is not None
    return passage


def _a_decision(world: World, *, accept: bool) -> object:
    suggestion = assist.suggestions_for(user=world.lead, programme=world.programme)[0]
    decide = assist.suggestion_accept if accept else assist.suggestion_reject
    return decide(
        user=world.lead,
        passage=suggestion.passage,
        code=suggestion.codes[0].code,
        probability=suggestion.codes[0].probability,
    )


def _two_codes_together(world: World) -> object:
    """A coded sentence coded with a second code: the two appear together."""
    excerpt = Excerpt.objects.filter(source=world.coded[0], code=world.codes["water"]).first()
    excerpt = excerpt or Excerpt.objects.filter(source=world.coded[0]).first()
    assert excerpt is not None
    other = world.codes["jobs" if excerpt.code != world.codes["jobs"] else "police"]
    return coding.excerpt_create(
        user=world.lead, source=excerpt.source, code=other, start=excerpt.start, end=excerpt.end
    )


CHANGES: dict[str, Callable[[World], object]] = {
    "a source coded": lambda w: coding.excerpt_create(
        user=w.lead,
        source=w.uncoded[0],
        code=w.codes["water"],
        start=_first_passage(w).start,
        end=_first_passage(w).end,
    ),
    "two codes applied together": _two_codes_together,
    "an excerpt removed": lambda w: coding.excerpt_delete(
        user=w.lead,
        excerpt=Excerpt.objects.filter(source=w.coded[0]).order_by("pk").first(),  # type: ignore[arg-type]
    ),
    "a suggestion rejected": lambda w: _a_decision(w, accept=False),
    "a suggestion accepted": lambda w: _a_decision(w, accept=True),
    "a source added": lambda w: coding.source_create(
        user=w.lead,
        programme=w.programme,
        assessment=w.uncoded[0].assessment,
        title="Added",
        kind="focus_group",
        language="en",
        text="Neighbours block the irrigation canal. The police only come for money.\n\n"
        "The women spoke first. The border crossing was closed.",
    ),
    "a source deleted": lambda w: coding.source_delete(user=w.lead, source=w.uncoded[0]),
    "a source given to the partner": lambda w: coding.source_update(
        user=w.lead,
        source=w.uncoded[0],
        organisation=_facilitator(w).memberships.get().organisation,
    ),
    "codes merged": lambda w: codebook.code_merge(
        user=w.lead, code=w.codes["police"], into=w.codes["jobs"]
    ),
}


@pytest.mark.django_db
@pytest.mark.parametrize("change", list(CHANGES))
@pytest.mark.parametrize("role", [Role.LEAD, Role.FACILITATOR])
def test_what_is_kept_is_computed_afresh_after_every_change(
    world: World, change: str, role: str
) -> None:
    reader = world.lead if role == Role.LEAD else _facilitator(world)
    before = _shown(reader, world)
    assert _shown(reader, world) == before == _afresh(reader, world)
    _shown(reader, world)  # kept again
    CHANGES[change](world)
    shown = _shown(reader, world)
    # What was kept before the change is not shown after it...
    assert shown == _afresh(reader, world)
    # ...and the change changes what the lead is shown (else this test could not fail); the
    # facilitator sees only the partner's two discussions, which only a decision on them (the
    # first the lead is asked about may be one) or a third given to the partner changes.
    if role == Role.LEAD:
        assert (shown != before) is not (change == "a source given to the partner")
    elif change == "a source given to the partner":
        assert shown != before


@pytest.mark.django_db
def test_a_facilitator_is_not_given_what_is_kept_for_the_lead(world: World) -> None:
    kept_for_the_lead = _shown(world.lead, world)
    facilitator = _facilitator(world)
    shown = _shown(facilitator, world)
    assert shown == _afresh(facilitator, world)
    assert shown[0] and shown[0] != kept_for_the_lead[0]


def _urls(world: World) -> list[str]:
    driver_map = DriverMap.objects.get(programme=world.programme)
    return [
        reverse("drivers:assist", args=[world.programme.slug]),
        reverse("drivers:map_suggest", args=[world.programme.slug, driver_map.pk]),
    ]


@pytest.mark.django_db
def test_the_second_request_ranks_nothing(
    world: World, django_capture_on_commit_callbacks: Capture
) -> None:
    """The assistant's queue and the map's suggestions are computed by the first request;
    the next reads neither the excerpts nor the decisions, only what it shows."""
    _two_codes_together(world)
    client = Client()
    client.force_login(world.lead)
    assist_url, suggest_url = _urls(world)
    page = open_trained(client, assist_url, django_capture_on_commit_callbacks)
    assert b'name="passage"' in page.content
    cache.clear()
    for url in (assist_url, suggest_url):
        first = queries_of(client, url, warm=False)
        second = queries_of(client, url, warm=False)
        assert [q for q in first if EXCERPTS in q]
        assert not [q for q in second if EXCERPTS in q or DECISIONS in q], url
        assert len(second) < len(first)
        # The session, the user, the map or the task store's trainings, the revision, what
        # is shown (codes, passages, their notes, audited; the map's factors and links).
        assert len(second) <= (10 if url == assist_url else 7), describe(second.grouped())


@pytest.mark.django_db
def test_nothing_decrypted_is_kept(
    world: World, django_capture_on_commit_callbacks: Capture
) -> None:
    """The queue is kept as passage ids, offsets and scores: the text of the passages shown
    is read (decrypted, audited) by each request, and found in nothing the cache holds."""
    client = Client()
    client.force_login(world.lead)
    assist_url, suggest_url = _urls(world)
    open_trained(client, assist_url, django_capture_on_commit_callbacks)
    client.get(suggest_url)
    shown = assist.suggestions_for(user=world.lead, programme=world.programme, limit=5)
    assert shown
    kept = kept_values()
    assert kept
    for suggestion in shown:
        for words in (suggestion.text, suggestion.before, suggestion.after):
            for word in words.split():
                if len(word) > 6:
                    assert not [value for value in kept if word.encode() in value], word


def kept_values() -> list[bytes]:
    """Every value the cache holds, as the pickle it is stored as (Django's file-based
    cache: each file an expiry time, then the value's pickle compressed)."""
    values = []
    for name in cache._list_cache_files():  # type: ignore[attr-defined]
        with open(name, "rb") as kept:
            pickle.load(kept)  # noqa: S301 (the test's own cache)
            values.append(zlib.decompress(kept.read()))
    return values


# Every way the code writes the coding: the ORM's writes on the managers or querysets of its
# models, saves and deletes of instances of them, writes through a source's or a code's rows,
# and instances of them made to be saved.
SOURCE = Path(amniyat.__file__).parent
_MODELS = ("Source", "Passage", "Excerpt", "Code", "CodeQuality", "Suggestion")
_WRITES = (
    "create",
    "bulk_create",
    "update",
    "delete",
    "bulk_update",
    "get_or_create",
    "update_or_create",
)
_INSTANCES = ("source", "passage", "excerpt", "code", "quality", "suggestion", "into")
_ROWS = ("passages", "excerpts", "suggestions", "codes", "sources", "children", "quality")


def _writes_coding(tree: ast.AST, text: str) -> bool:
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.FunctionDef)
            and node.name in ("save_model", "delete_model", "delete_queryset")
            and any(model in text for model in _MODELS)
        ):
            return True
        if not isinstance(node, ast.Call):
            continue
        if isinstance(node.func, ast.Name) and node.func.id in _MODELS:
            return True  # an instance made to be saved (Excerpt(...), Passage(...))
        if not isinstance(node.func, ast.Attribute):
            continue
        receiver = ast.unparse(node.func.value)
        if node.func.attr in _WRITES and receiver.startswith(
            tuple(f"{model}.objects" for model in _MODELS)
        ):
            return True
        if node.func.attr in _WRITES and any(f".{rows}" in receiver for rows in _ROWS):
            return True
        if node.func.attr in ("save", "delete") and receiver in _INSTANCES:
            return True
    return False


def test_every_module_that_writes_the_coding_changes_the_revision() -> None:
    """A new write path (an import of coding, a merge of sources) must call
    ``coding_changed`` in its transaction, or the assistant's queue and the map suggestions
    would be those of the coding as it was."""
    writers = {}
    for path in SOURCE.rglob("*.py"):
        if "migrations" in path.parts or "tests" in path.parts:
            continue
        text = path.read_text(encoding="utf-8")
        if _writes_coding(ast.parse(text), text):
            writers[path.relative_to(SOURCE).as_posix()] = "coding_changed(" in text
    # The writers known today are found, so the search itself works.
    assert {
        "drivers/coding/services.py",
        "drivers/codebook/services.py",
        "drivers/coding/qdpx.py",
        "drivers/assist/services.py",
        "demo/drivers.py",
    } <= set(writers)
    assert [path for path, changes in writers.items() if not changes] == []
