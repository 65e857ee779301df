"""What a map's pages cost the server: the same number of queries for a map of 3 factors as
for one of 30 (no query per factor, link or excerpt), each source of the evidence read once
whatever the number of its excerpts, and nothing read that the page does not show (a
place's boundary, an excerpt's memo). Twenty readers at once share two web workers, so a map
page must take a few tens of milliseconds (#14 point 3)."""

from __future__ import annotations

import csv
import datetime
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from amniyat.accounts.models import User
from amniyat.core import fields
from amniyat.drivers.codebook.services import latest_indicator_values
from amniyat.drivers.maps import services as maps
from amniyat.drivers.models import DriverMap, Excerpt
from amniyat.fieldwork.models import Form
from amniyat.findings.models import Findings, IndicatorSet
from amniyat.places.models import Place
from tests.drivers.maps.test_maps import (
    World,
    a_map,
    build_world,
    client_for,
    excerpt_of,
    factor,
    make_code,
    make_source,
    url,
)
from tests.queries import Queries, differences, queries_of

PHRASES = ("Young men have no work", "Wives left behind face violence at home")
# The pages of one map, as its readers and editors open them.
PAGES: tuple[tuple[str, dict[str, str]], ...] = (
    ("map_detail", {}),
    ("map_editor", {}),
    ("map_graph", {}),
    ("map_graph", {"drawing": "1"}),
    ("map_analysis", {}),
    ("map_analysis", {"HX-Request": "true"}),
)


@pytest.fixture
def world(db: None) -> World:
    return build_world()


def evidenced_map(w: World, title: str, size: int) -> DriverMap:
    """A published map of ``size`` factors in a chain, each factor and each link carrying an
    excerpt (approved for publication), the excerpts from two sources."""
    driver_map = a_map(w, title=title)
    sources = [make_source(w), make_source(w)]
    factors = []
    for i in range(size):
        code = make_code(w, f"{driver_map.pk}_code_{i}")
        excerpts = [
            excerpt_of(
                sources[(i + k) % 2],
                code,
                PHRASES[k],
                w.lead,
                publication=Excerpt.Publication.APPROVED,
                proposed_by=w.lead,
                reviewed_by=w.analyst,
                public_text=f"[{i}] {PHRASES[k]}",
            )
            for k in range(2)
        ]
        factors.append(
            factor(w, driver_map, f"Factor {i}", x=i * 200, y=0, excerpts=[excerpts[0].pk])
        )
        if i:
            maps.link_add(
                acting_user=w.analyst,
                driver_map=driver_map,
                source=factors[i - 1],
                target=factors[i],
                excerpts=[excerpts[1].pk],
            )
    maps.map_publish(acting_user=w.analyst, driver_map=driver_map)
    return driver_map


def map_queries(
    user: User, w: World, name: str, driver_map: DriverMap, extra: dict[str, str]
) -> Queries:
    # What starts HX- is a header (htmx asking for a part of the page), the rest the query.
    query = {k: v for k, v in extra.items() if not k.startswith("HX-")}
    headers = {k: v for k, v in extra.items() if k.startswith("HX-")}
    return queries_of(client_for(user), url(name, w, driver_map), query, headers=headers)


@pytest.mark.parametrize(("name", "extra"), PAGES)
def test_a_map_page_makes_as_many_queries_for_30_factors_as_for_3(
    world: World,
    name: str,
    extra: dict[str, str],
) -> None:
    small = evidenced_map(world, "Small", 3)
    large = evidenced_map(world, "Large", 30)
    # Every excerpt, or publishable quotes only (the editor's pages are for editors only).
    editing = name == "map_editor" or "drawing" in extra
    for user in (world.analyst,) if editing else (world.analyst, world.viewer):
        counted = [map_queries(user, world, name, m, extra) for m in (small, large)]
        assert len(counted[0]) == len(counted[1]), differences([counted[0]], [counted[1]])
        assert len(counted[1]) <= 30, (user.username, str(counted[1]))


@pytest.mark.parametrize(("name", "extra"), PAGES)
def test_a_map_page_reads_the_factors_once_and_the_links_once(
    world: World,
    name: str,
    extra: dict[str, str],
) -> None:
    """The list beside the drawing, the drawing, the analysis: all from one reading."""
    driver_map = evidenced_map(world, "Map", 4)
    queries = map_queries(world.analyst, world, name, driver_map, extra)
    assert len([q for q in queries if q.startswith('SELECT "drivers_factor"."id"')]) == 1, str(
        queries
    )
    assert len([q for q in queries if q.startswith('SELECT "drivers_link"."id"')]) == 1, str(
        queries
    )
    # Which excerpts a factor or link carries is read from the join tables, not as excerpts,
    # and the excerpts shown by those ids, without joining the factors and links again.
    assert not [q for q in queries if '"drivers_excerpt"."memo"' in q]
    assert not [q for q in queries if q.startswith("SELECT DISTINCT")]
    # Both join tables in one statement.
    joins = [
        q for q in queries if '"drivers_factor_excerpts"' in q or '"drivers_link_excerpts"' in q
    ]
    assert len(joins) <= 1 and all('"drivers_link_excerpts"' in q for q in joins), str(queries)


def test_the_map_page_decrypts_each_source_once_not_each_excerpt(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    driver_map = evidenced_map(world, "Map", 12)  # 24 excerpts of 2 sources
    client = client_for(world.analyst)
    client.get(url("map_detail", world, driver_map))
    decrypted: list[str] = []
    decrypt = fields.decrypt_text

    def counted(value: str) -> str:
        decrypted.append(value)
        return decrypt(value)

    monkeypatch.setattr(fields, "decrypt_text", counted)
    page = client.get(url("map_detail", world, driver_map)).content.decode()
    assert len(decrypted) == 2
    assert page.count(PHRASES[0]) >= 12 and page.count(PHRASES[1]) >= 11


@pytest.mark.parametrize("kind", ["graphml", "nodes", "edges", "zip"])
def test_an_export_names_the_evidence_by_id_decrypting_nothing(
    world: World, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A map's file names its evidence by id: the excerpts' rows (their memos, reviews and
    public texts, encrypted) are not read, and a map of 30 factors costs the queries of one
    of 3; a reader of the published map is given the ids of publishable quotes only."""
    small = evidenced_map(world, "Small", 3)
    large = evidenced_map(world, "Large", 30)
    counted = [
        map_queries(world.analyst, world, "map_export", m, {"format": kind}) for m in (small, large)
    ]
    assert len(counted[0]) == len(counted[1]) <= 12, differences([counted[0]], [counted[1]])
    assert not [q for q in counted[1] if '"drivers_excerpt"."memo"' in q]
    assert not [q for q in counted[1] if q.startswith("SELECT DISTINCT")]
    decrypted: list[str] = []
    decrypt = fields.decrypt_text

    def counting(value: str) -> str:
        decrypted.append(value)
        return decrypt(value)

    monkeypatch.setattr(fields, "decrypt_text", counting)
    response = client_for(world.analyst).get(url("map_export", world, large), {"format": kind})
    assert response.status_code == 200 and decrypted == []
    if kind == "nodes":
        # Factor 0's excerpt by id, and an excerpt not approved for publication added to it:
        # named to the analyst, not to a reader of the published map.
        first = large.factors.get(label="Factor 0")
        private = excerpt_of(
            make_source(world), make_code(world, "private"), PHRASES[0], world.lead
        )
        first.excerpts.add(private)
        expected = {
            world.analyst: sorted(first.excerpts.values_list("pk", flat=True)),
            world.viewer: sorted(
                first.excerpts.exclude(pk=private.pk).values_list("pk", flat=True)
            ),
        }
        for user, ids in expected.items():
            text = client_for(user).get(url("map_export", world, large), {"format": kind})
            rows = {row[0]: row for row in csv.reader(io.StringIO(text.content.decode()))}
            assert rows["Factor 0"][6] == "|".join(str(pk) for pk in ids), user.username


def test_map_pages_and_forms_never_read_a_places_boundary(world: World) -> None:
    place = Place.objects.create(
        name_en="Vakhsh", level=Place.Level.DISTRICT, boundary={"type": "Polygon"}
    )
    world.programme.places.add(place)
    driver_map = a_map(world, place=place)
    factor(world, driver_map, "Unemployment")
    for name, target in (
        ("map_list", None),
        ("map_create", None),
        ("map_detail", driver_map),
        ("map_edit", driver_map),
        ("map_editor", driver_map),
    ):
        queries = queries_of(client_for(world.analyst), url(name, world, target), warm=False)
        assert "Vakhsh" in queries.body.decode(), name
        # (What a programme's own page header reads is not the map pages' to choose.)
        boundary = [
            q
            for q in queries
            if '"places_place"."boundary"' in q and not q.startswith('SELECT "accounts_programme"')
        ]
        assert not boundary, (name, boundary)


def findings_of(w: World, overall: dict[str, float], *, published: bool) -> Findings:
    """Ready findings of the world's survey with these overall estimates (and one by sex,
    which the figures beside a factor leave out)."""
    form = Form.objects.create(assessment=w.assessment, form_id=f"f{len(overall)}", title="F")
    now = timezone.now()
    return Findings.objects.create(
        assessment=w.assessment,
        form=form,
        indicator_set=IndicatorSet.objects.get(programme=w.programme),
        source_key=f"key-{form.pk}",
        status=Findings.Status.READY,
        results={
            "estimates": [
                *({"indicator": k, "by": [], "estimate": v} for k, v in overall.items()),
                {"indicator": "safe_night", "by": ["sex"], "estimate": 0.99},
            ],
            "kinds": {"safe_night": "proportion", "trust_police": "mean"},
        },
        computed_at=now,
        published_at=now if published else None,
    )


def test_the_figures_beside_a_factor_read_the_findings_results_once(world: World) -> None:
    """The latest findings a user may read give each indicator's figure beside a factor:
    drafts for those who analyse, published findings for the others. Their half megabyte of
    results is read once, not on every map page; computed again, they give the new figures."""
    published = findings_of(world, {"safe_night": 0.25, "trust_police": 2.46}, published=True)
    draft = findings_of(world, {"safe_night": 0.5}, published=False)
    draft.computed_at = published.computed_at + datetime.timedelta(minutes=1)
    draft.save(update_fields=["computed_at"])
    programme = world.programme
    with CaptureQueriesContext(connection) as first:
        assert latest_indicator_values(user=world.analyst, programme=programme) == {
            "safe_night": "50%"
        }
    assert [q["sql"] for q in first if '"findings_findings"."results"' in q["sql"]]
    assert latest_indicator_values(user=world.viewer, programme=programme) == {
        "safe_night": "25%",
        "trust_police": "2.5",
    }
    with CaptureQueriesContext(connection) as again:
        for user in (world.analyst, world.viewer, world.lead):
            latest_indicator_values(user=user, programme=programme)
    assert not [q["sql"] for q in again if '"findings_findings"."results"' in q["sql"]]
    # Each language writes the figures its own way (Russian: a no-break space before %).
    with translation.override("ru"):
        russian = latest_indicator_values(user=world.viewer, programme=programme)
    assert russian == {"safe_night": "25\u00a0%", "trust_police": "2,5"}
    # Computed again: new figures at once.
    draft.results["estimates"][0]["estimate"] = 0.75
    draft.computed_at += datetime.timedelta(minutes=1)
    draft.save(update_fields=["results", "computed_at"])
    assert latest_indicator_values(user=world.analyst, programme=programme) == {"safe_night": "75%"}
    facilitator = latest_indicator_values(user=world.facilitator, programme=programme)
    assert facilitator["safe_night"] == "25%"


def test_the_suggestions_cost_the_same_for_3_or_30_factors_and_read_the_map_once(
    world: World,
) -> None:
    small = evidenced_map(world, "Small", 3)
    large = evidenced_map(world, "Large", 30)
    counted = [map_queries(world.analyst, world, "map_suggest", m, {}) for m in (small, large)]
    assert len(counted[0]) == len(counted[1]) <= 14, differences([counted[0]], [counted[1]])
    # Which codes are on the map, and which of them are linked: one read of each.
    factors = [q for q in counted[1] if q.startswith('SELECT "drivers_factor"')]
    assert len(factors) == 1, factors


def test_the_comparison_reads_each_map_once_whatever_its_size(world: World) -> None:
    """Factors with codes read with their codes' names (before: one query per factor), and
    the comparison and the two drawings share one reading of each map."""
    small = [evidenced_map(world, f"Small {n}", 3) for n in range(2)]
    large = [evidenced_map(world, f"Large {n}", 30) for n in range(2)]
    # Nothing in common: every factor and link is listed as on one map only.
    for driver_map in (*small, *large):
        for item in driver_map.factors.all():
            item.code = make_code(world, f"coded_{item.pk}")
            item.label = f"{driver_map.title}: {item.pk}"
            item.save(update_fields=["code", "label"])
    client = client_for(world.analyst)
    page = url("map_compare", world)
    counted = [queries_of(client, page, {"a": a.pk, "b": b.pk}) for a, b in (small, large)]
    assert len(counted[0]) == len(counted[1]) <= 16, differences([counted[0]], [counted[1]])
    factors = [q for q in counted[1] if q.startswith('SELECT "drivers_factor"')]
    assert len(factors) == 2, factors


def test_the_import_page_reads_the_maps_once(world: World) -> None:
    for n in range(3):
        a_map(world, title=f"Map {n}")
    client = client_for(world.analyst)
    page = url("map_import", world)
    client.get(page)
    queries = queries_of(client, page, {"into": "0"}, warm=False)
    assert queries.body.decode().count("Map ") >= 3
    maps_read = [q for q in queries if q.startswith('SELECT "drivers_drivermap"')]
    assert len(maps_read) == 1, maps_read
