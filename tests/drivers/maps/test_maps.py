"""Driver maps: building them through the services (links only between factors of one map, no
self-links, loops allowed and reported, evidence the user may read), suggestions from codes
that appear together, copies, and the pages — who sees which map and which evidence, and the
editor's autosave endpoint."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse

from amniyat.accounts.models import Membership, Organisation, Programme, User
from amniyat.audit.models import AuditEvent
from amniyat.demo.build import INDICATORS_FILE
from amniyat.drivers.maps import services as maps
from amniyat.drivers.models import Code, DriverMap, Excerpt, Factor, Link, Passage, Source
from amniyat.fieldwork.models import Assessment
from amniyat.findings import services as findings_services
from tests.factories import OrganisationFactory, ProgrammeFactory, member_of

Role = Membership.Role
TEXT = (
    "Young men have no work, so many leave for Russia. "
    "Wives left behind face violence at home. "
    "Without work, some young men steal."
)


@dataclass
class World:
    programme: Programme
    partner: Organisation
    other_partner: Organisation
    lead: User
    analyst: User
    facilitator: User
    other_facilitator: User
    viewer: User
    assessment: Assessment


def build_world() -> World:
    """A programme with an indicator set, two partner organisations and one user per role."""
    programme = ProgrammeFactory()
    findings_services.indicator_set_save(
        acting_user=None, programme=programme, spec=INDICATORS_FILE.read_text(encoding="utf-8")
    )
    partner, other_partner = OrganisationFactory(), OrganisationFactory()
    return World(
        programme=programme,
        partner=partner,
        other_partner=other_partner,
        lead=member_of(programme, Role.LEAD),
        analyst=member_of(programme, Role.ANALYST),
        facilitator=member_of(programme, Role.FACILITATOR, organisation=partner),
        other_facilitator=member_of(programme, Role.FACILITATOR, organisation=other_partner),
        viewer=member_of(programme, Role.VIEWER),
        assessment=Assessment.objects.create(programme=programme, title="Baseline 2021"),
    )


@pytest.fixture
def world(db: None) -> World:
    return build_world()


def make_source(
    w: World, *, organisation: Organisation | None = None, text: str = TEXT, split: bool = True
) -> Source:
    source = Source.objects.create(
        programme=w.programme,
        assessment=w.assessment,
        organisation=organisation,
        title="Focus group, women, Vakhsh",
        kind=Source.Kind.FOCUS_GROUP,
        language="en",
        participants=12,
        women=12,
        text=text,
    )
    if split:
        start = 0
        for position, sentence in enumerate(text.split(". ")):
            end = start + len(sentence) + (1 if position < text.count(". ") else 0)
            Passage.objects.create(
                source=source, position=position, paragraph=0, start=start, end=end
            )
            start = end + 1
    return source


def make_code(w: World, key: str, kind: str = Code.Kind.DRIVER, **extra: object) -> Code:
    return Code.objects.create(
        programme=w.programme, key=key, name_en=key.replace("_", " ").title(), kind=kind, **extra
    )


def excerpt_of(source: Source, code: Code, phrase: str, coder: User, **extra: object) -> Excerpt:
    start = source.text.index(phrase)
    return Excerpt.objects.create(
        source=source, code=code, coder=coder, start=start, end=start + len(phrase), **extra
    )


def a_map(w: World, title: str = "Vakhsh, women's view", **values: object) -> DriverMap:
    return maps.map_create(acting_user=w.analyst, programme=w.programme, title=title, **values)  # type: ignore[arg-type]


def factor(
    w: World, driver_map: DriverMap, label: str, kind: str = "driver", **kw: object
) -> Factor:
    return maps.factor_add(
        acting_user=w.analyst, driver_map=driver_map, label=label, kind=kind, **kw
    )  # type: ignore[arg-type]


def audit_count() -> int:
    return AuditEvent.objects.count()


# Services ---------------------------------------------------------------------------------


def test_a_facilitators_map_belongs_to_their_organisation(world: World) -> None:
    own = maps.map_create(acting_user=world.facilitator, programme=world.programme, title="Ours")
    programme_map = a_map(world)
    assert own.organisation_id == world.partner.pk
    assert programme_map.organisation_id is None
    assert AuditEvent.objects.filter(verb="created", object_id=str(own.pk)).exists()
    with pytest.raises(ValidationError) as error:
        a_map(world, title="ours")  # titles are unique per programme, ignoring case
    assert "already has a map" in str(error.value)
    with pytest.raises(PermissionDenied):
        maps.map_create(acting_user=world.viewer, programme=world.programme, title="Viewer's")


def test_a_link_to_a_factor_of_another_programme_is_refused_and_nothing_is_saved(
    world: World,
) -> None:
    driver_map = a_map(world)
    unemployment = factor(world, driver_map, "Unemployment")
    elsewhere = ProgrammeFactory()
    other_lead = member_of(elsewhere, Role.LEAD)
    other_map = maps.map_create(acting_user=other_lead, programme=elsewhere, title="Elsewhere")
    foreign = maps.factor_add(
        acting_user=other_lead, driver_map=other_map, label="Theft", kind="concern"
    )
    before = audit_count()
    for target in (foreign, foreign.pk):
        with pytest.raises(ValidationError) as error:
            maps.link_add(
                acting_user=world.analyst,
                driver_map=driver_map,
                source=unemployment,
                target=target,
            )
        assert error.value.message_dict == {
            "target": [
                f"Factor {foreign.pk} is not on this map: a link joins two factors of the same map."
            ]
        }
    assert Link.objects.count() == 0
    assert audit_count() == before


def test_a_self_link_and_a_second_link_between_the_same_factors_are_refused(world: World) -> None:
    driver_map = a_map(world)
    a, b = factor(world, driver_map, "Unemployment"), factor(world, driver_map, "Migration")
    with pytest.raises(ValidationError) as error:
        maps.link_add(acting_user=world.analyst, driver_map=driver_map, source=a, target=a)
    assert error.value.message_dict["target"] == ["A factor cannot be linked to itself."]
    maps.link_add(acting_user=world.analyst, driver_map=driver_map, source=a, target=b)
    with pytest.raises(ValidationError) as error:
        maps.link_add(acting_user=world.analyst, driver_map=driver_map, source=a, target=b)
    assert "already linked" in error.value.message_dict["target"][0]
    with pytest.raises(ValidationError) as error:
        maps.link_add(
            acting_user=world.analyst, driver_map=driver_map, source=b, target=a, strength=4
        )
    assert error.value.message_dict["strength"] == ["The strength of a link is 1, 2 or 3."]
    assert Link.objects.count() == 1


def test_a_link_closing_a_loop_is_saved_and_the_loop_reported(world: World) -> None:
    driver_map = a_map(world)
    a = factor(world, driver_map, "Unemployment")
    b = factor(world, driver_map, "Migration")
    c = factor(world, driver_map, "Family breakdown")
    first = maps.link_add(acting_user=world.analyst, driver_map=driver_map, source=a, target=b)
    maps.link_add(acting_user=world.analyst, driver_map=driver_map, source=b, target=c)
    assert first.loop == []
    closing = maps.link_add(acting_user=world.analyst, driver_map=driver_map, source=c, target=a)
    assert closing.link.pk is not None
    assert [f.label for f in closing.loop] == ["Family breakdown", "Unemployment", "Migration"]
    assert closing.loop_text() == "Family breakdown → Unemployment → Migration → Family breakdown"


def test_factor_labels_are_unique_on_a_map_and_kinds_checked(world: World) -> None:
    driver_map = a_map(world)
    factor(world, driver_map, "Unemployment")
    with pytest.raises(ValidationError) as error:
        factor(world, driver_map, "  unemployment ")
    assert error.value.message_dict["label"] == [
        "There is already a factor “unemployment” on this map."
    ]
    with pytest.raises(ValidationError):
        factor(world, driver_map, "Drugs", kind="villain")
    moved = maps.factor_update(
        acting_user=world.analyst, factor=driver_map.factors.get(), x="120.56", y=-40
    )
    assert (moved.x, moved.y) == (120.6, -40.0)
    with pytest.raises(ValidationError):
        maps.factor_update(acting_user=world.analyst, factor=moved, x="far away")


def test_evidence_must_be_readable_and_of_the_programme_and_indicators_known(
    world: World,
) -> None:
    code = make_code(world, "unemployment", indicator_keys=[])
    own_source = make_source(world, organisation=world.partner)
    other_source = make_source(world, organisation=world.other_partner)
    readable = excerpt_of(own_source, code, "Young men have no work", world.lead)
    hidden = excerpt_of(other_source, code, "Young men have no work", world.lead)
    driver_map = maps.map_create(
        acting_user=world.facilitator, programme=world.programme, title="Ours"
    )
    unemployment = maps.factor_add(
        acting_user=world.facilitator, driver_map=driver_map, label="Unemployment", kind="driver"
    )
    with pytest.raises(ValidationError) as error:
        maps.evidence_attach(
            acting_user=world.facilitator, item=unemployment, excerpts=[readable.pk, hidden.pk]
        )
    assert error.value.message_dict["excerpts"] == [
        f"Excerpt {hidden.pk} is not evidence you can read in this programme."
    ]
    assert unemployment.excerpts.count() == 0  # nothing half-saved
    known = sorted(maps.indicator_keys_of(world.programme))[0]
    with pytest.raises(ValidationError) as error:
        maps.evidence_attach(
            acting_user=world.facilitator, item=unemployment, indicator_keys=["no_such_thing"]
        )
    assert "no_such_thing" in error.value.message_dict["indicator_keys"][0]
    maps.evidence_attach(
        acting_user=world.facilitator,
        item=unemployment,
        excerpts=[readable.pk],
        indicator_keys=[known],
    )
    unemployment.refresh_from_db()
    assert list(unemployment.excerpts.all()) == [readable]
    assert unemployment.indicator_keys == [known]
    maps.evidence_detach(acting_user=world.facilitator, item=unemployment, excerpts=[readable])
    assert unemployment.excerpts.count() == 0


def test_a_copy_keeps_factors_links_and_evidence_and_starts_unpublished(world: World) -> None:
    code = make_code(world, "unemployment")
    source = make_source(world)
    quote = excerpt_of(source, code, "Young men have no work", world.lead)
    women = a_map(world, perspective="women")
    a = factor(world, women, "Unemployment", code=code, excerpts=[quote.pk], x=10, y=20)
    b = factor(world, women, "Domestic violence", kind="concern")
    maps.link_add(
        acting_user=world.analyst,
        driver_map=women,
        source=a,
        target=b,
        kind="worsens",
        strength=3,
        excerpts=[quote.pk],
    )
    maps.map_publish(acting_user=world.analyst, driver_map=women)
    men = maps.map_copy(
        acting_user=world.analyst, driver_map=women, title="Vakhsh, men's view", perspective="men"
    )
    assert men.perspective == "men" and men.published_at is None
    copied = {f.label: f for f in men.factors.all()}
    assert set(copied) == {"Unemployment", "Domestic violence"}
    assert copied["Unemployment"].code == code and (
        copied["Unemployment"].x,
        copied["Unemployment"].y,
    ) == (10, 20)
    assert list(copied["Unemployment"].excerpts.all()) == [quote]
    link = men.links.get()
    assert (link.source, link.target, link.kind, link.strength) == (
        copied["Unemployment"],
        copied["Domestic violence"],
        "worsens",
        3,
    )
    assert women.links.count() == 1


def test_suggestions_come_from_codes_applied_together_and_are_not_saved(world: World) -> None:
    unemployment = make_code(world, "unemployment")
    migration = make_code(world, "labour_migration")
    violence = make_code(world, "domestic_violence", kind=Code.Kind.CONCERN)
    for _ in range(2):
        source = make_source(world)
        excerpt_of(source, unemployment, "Young men have no work", world.lead)
        excerpt_of(source, migration, "many leave for Russia", world.lead)
        excerpt_of(source, violence, "face violence at home", world.lead)
    # Not split into passages: excerpts that overlap count as appearing together.
    loose = make_source(world, split=False)
    excerpt_of(loose, unemployment, "Young men have no work", world.lead)
    excerpt_of(loose, violence, "men have no work, so", world.lead)
    driver_map = a_map(world)
    suggestions = maps.map_suggest_from_codes(user=world.analyst, driver_map=driver_map)
    pairs = {(s.source.key, s.target.key): s.together for s in suggestions.links}
    assert pairs == {("unemployment", "labour_migration"): 2}
    assert {s.code.key for s in suggestions.factors} == {
        "unemployment",
        "labour_migration",
        "domestic_violence",
    }
    assert driver_map.factors.count() == 0  # suggestions are never saved by themselves
    once = maps.map_suggest_from_codes(user=world.analyst, driver_map=driver_map, min_together=1)
    assert ("unemployment", "domestic_violence") in {
        (s.source.key, s.target.key) for s in once.links
    }
    suggested = suggestions.links[0]
    change = maps.suggestion_add(
        acting_user=world.analyst,
        driver_map=driver_map,
        code=suggested.source,
        target=suggested.target,
        excerpts=suggested.excerpt_ids,
    )
    assert isinstance(change, maps.LinkChange)
    assert (change.link.source.code, change.link.target.code) == (unemployment, migration)
    assert change.link.excerpts.count() == 4
    after = maps.map_suggest_from_codes(user=world.analyst, driver_map=driver_map)
    assert after.links == []
    assert {s.code.key for s in after.factors} == {"domestic_violence"}


def test_facilitators_get_suggestions_only_from_their_organisations_evidence(
    world: World,
) -> None:
    unemployment, migration = make_code(world, "unemployment"), make_code(world, "migration")
    for _ in range(2):
        source = make_source(world, organisation=world.other_partner)
        excerpt_of(source, unemployment, "Young men have no work", world.lead)
        excerpt_of(source, migration, "many leave for Russia", world.lead)
    driver_map = maps.map_create(
        acting_user=world.facilitator, programme=world.programme, title="Ours"
    )
    suggestions = maps.map_suggest_from_codes(user=world.facilitator, driver_map=driver_map)
    assert suggestions.links == [] and suggestions.factors == []


# Pages ------------------------------------------------------------------------------------


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def url(name: str, w: World, driver_map: DriverMap | None = None) -> str:
    args: list[object] = [w.programme.slug] + ([driver_map.pk] if driver_map else [])
    return reverse(f"drivers:{name}", args=args)


def test_facilitators_see_only_their_organisations_maps(world: World) -> None:
    ours = maps.map_create(acting_user=world.facilitator, programme=world.programme, title="Ours")
    theirs = maps.map_create(
        acting_user=world.other_facilitator, programme=world.programme, title="Theirs"
    )
    client = client_for(world.facilitator)
    listing = client.get(url("map_list", world)).content.decode()
    assert "Ours" in listing and "Theirs" not in listing
    assert client.get(url("map_detail", world, ours)).status_code == 200
    for name in ("map_detail", "map_graph", "map_export", "map_analysis", "map_edit"):
        assert client.get(url(name, world, theirs)).status_code == 404, name
    compare = client.get(url("map_compare", world), {"a": ours.pk, "b": theirs.pk})
    assert compare.status_code == 404
    posted = client.post(
        url("map_graph", world, theirs),
        data=json.dumps({"op": "factor_add", "label": "X", "kind": "driver"}),
        content_type="application/json",
    )
    assert posted.status_code == 404
    assert theirs.factors.count() == 0
    # The analyst sees both.
    listing = client_for(world.analyst).get(url("map_list", world)).content.decode()
    assert "Ours" in listing and "Theirs" in listing


def test_viewers_see_published_maps_with_publishable_quotes_only(world: World) -> None:
    code = make_code(world, "unemployment")
    source = make_source(world)
    private = excerpt_of(source, code, "Young men have no work", world.lead)
    public = excerpt_of(
        source,
        code,
        "Without work, some young men steal",
        world.lead,
        publication=Excerpt.Publication.APPROVED,
        proposed_by=world.lead,
        reviewed_by=world.analyst,
        public_text="Without work, some [name] steal",
    )
    draft = a_map(world, title="Draft map")
    published = a_map(world, title="Published map")
    factor(world, published, "Unemployment", excerpts=[private.pk, public.pk])
    maps.map_publish(acting_user=world.analyst, driver_map=published)
    viewer = client_for(world.viewer)
    listing = viewer.get(url("map_list", world)).content.decode()
    assert "Published map" in listing and "Draft map" not in listing
    assert viewer.get(url("map_detail", world, draft)).status_code == 404
    page = viewer.get(url("map_detail", world, published)).content.decode()
    assert "Without work, some [name] steal" in page
    assert "Young men have no work" not in page
    assert "Without work, some young men steal" not in page
    assert "Focus group, women" not in page  # the source's title is not shown either
    graph = viewer.get(url("map_graph", world, published)).json()
    evidence = [e for el in graph["elements"] for e in el["data"].get("evidence", [])]
    assert [e["id"] for e in evidence] == [public.pk]
    assert graph["editable"] is False
    # Those who may edit it see every excerpt, and the view is audited.
    before = AuditEvent.objects.filter(verb="viewed_personal").count()
    page = client_for(world.analyst).get(url("map_detail", world, published)).content.decode()
    assert "Young men have no work" in page
    assert AuditEvent.objects.filter(verb="viewed_personal").count() == before + 1
    # Viewers may not edit, publish or import.
    response = viewer.post(
        url("map_graph", world, published),
        data=json.dumps({"op": "factor_add", "label": "X", "kind": "driver"}),
        content_type="application/json",
    )
    assert response.status_code == 404
    assert viewer.post(url("map_publish", world, draft)).status_code == 404
    assert viewer.get(url("map_import", world)).status_code == 404


def test_only_leads_and_analysts_publish(world: World) -> None:
    ours = maps.map_create(acting_user=world.facilitator, programme=world.programme, title="Ours")
    response = client_for(world.facilitator).post(url("map_publish", world, ours))
    assert response.status_code == 404
    ours.refresh_from_db()
    assert ours.published_at is None
    client_for(world.analyst).post(url("map_publish", world, ours))
    ours.refresh_from_db()
    assert ours.published_at is not None
    client_for(world.analyst).post(url("map_publish", world, ours), {"action": "unpublish"})
    ours.refresh_from_db()
    assert ours.published_at is None
    verbs = AuditEvent.objects.filter(object_id=str(ours.pk), object_type="drivers.drivermap")
    assert list(verbs.order_by("at", "id").values_list("verb", flat=True))[-2:] == [
        "published",
        "unpublished",
    ]


def post_op(client: Client, w: World, driver_map: DriverMap, **op: object) -> tuple[int, dict]:  # type: ignore[type-arg]
    response = client.post(
        url("map_graph", w, driver_map), data=json.dumps(op), content_type="application/json"
    )
    return response.status_code, response.json()


def test_the_editor_saves_each_change_and_a_reload_shows_it(world: World) -> None:
    driver_map = a_map(world)
    client = client_for(world.analyst)
    status, answer = post_op(
        client, world, driver_map, op="factor_add", label="Безработица", kind="driver", x=50, y=60
    )
    assert status == 200 and answer["ok"], answer
    unemployment = answer["factor"]["pk"]
    _, answer = post_op(
        client, world, driver_map, op="factor_add", label="Кража", kind="concern", x=250, y=60
    )
    theft = answer["factor"]["pk"]
    status, answer = post_op(
        client,
        world,
        driver_map,
        op="link_add",
        source=unemployment,
        target=theft,
        kind="worsens",
        strength=3,
    )
    assert status == 200 and "loop" not in answer
    status, _ = post_op(
        client,
        world,
        driver_map,
        op="factors_move",
        positions=[{"id": unemployment, "x": 80.25, "y": 90}],
    )
    assert status == 200
    # A reload shows exactly what was saved.
    graph = client.get(url("map_graph", world, driver_map)).json()
    nodes = {e["data"]["label"]: e for e in graph["elements"] if e["group"] == "nodes"}
    assert nodes["Безработица"]["position"] == {"x": 80.2, "y": 90.0}
    edges = [e["data"] for e in graph["elements"] if e["group"] == "edges"]
    assert [(e["source"], e["target"], e["kind"], e["strength"]) for e in edges] == [
        (f"f{unemployment}", f"f{theft}", "worsens", 3)
    ]
    page = client.get(url("map_editor", world, driver_map)).content.decode()
    assert "Безработица" in page and 'id="factor-add"' in page and 'id="map-status"' in page
    page = client.get(url("map_detail", world, driver_map)).content.decode()
    assert "Безработица" in page and 'id="factor-add"' not in page
    # A link back closes a loop: saved, and the answer says which.
    status, answer = post_op(
        client, world, driver_map, op="link_add", source=theft, target=unemployment
    )
    assert status == 200
    assert answer["loop"] == ["Кража", "Безработица"]
    assert answer["message"] == "This link closes a feedback loop: Кража → Безработица → Кража"
    # Edit and delete.
    status, answer = post_op(
        client, world, driver_map, op="factor_update", id=theft, label="Theft", note="market"
    )
    assert answer["factor"]["label"] == "Theft"
    status, answer = post_op(client, world, driver_map, op="factor_delete", id=unemployment)
    assert status == 200
    assert driver_map.factors.count() == 1 and driver_map.links.count() == 0


def test_the_editor_answers_bad_changes_with_a_clear_message_and_saves_nothing(
    world: World,
) -> None:
    driver_map = a_map(world)
    other_map = a_map(world, title="Another map")
    client = client_for(world.analyst)
    mine = factor(world, driver_map, "Unemployment")
    foreign = factor(world, other_map, "Theft", kind="concern")
    before = (Link.objects.count(), audit_count())
    status, answer = post_op(
        client, world, driver_map, op="link_add", source=mine.pk, target=foreign.pk
    )
    assert status == 400 and answer["ok"] is False
    assert answer["message"] == (
        f"Factor {foreign.pk} is not on this map: a link joins two factors of the same map."
    )
    status, answer = post_op(
        client, world, driver_map, op="link_add", source=mine.pk, target=mine.pk
    )
    assert (status, answer["errors"]) == (400, {"target": ["A factor cannot be linked to itself."]})
    status, answer = post_op(client, world, driver_map, op="factor_add", label="", kind="driver")
    assert answer["errors"] == {"label": ["Give the factor a name."]}
    status, answer = post_op(client, world, driver_map, op="factor_delete", id=foreign.pk)
    assert status == 400 and Factor.objects.filter(pk=foreign.pk).exists()
    status, answer = post_op(
        client,
        world,
        driver_map,
        op="factors_move",
        positions=[{"id": mine.pk, "x": 5, "y": 5}, {"id": foreign.pk, "x": 9, "y": 9}],
    )
    assert status == 400
    mine.refresh_from_db()
    assert (mine.x, mine.y) == (0, 0)  # nothing half-saved
    status, answer = post_op(
        client,
        world,
        driver_map,
        op="factor_add",
        label="Drugs",
        kind="driver",
        indicator_keys="abc",
    )
    assert (status, answer["errors"]) == (400, {"indicator_keys": ["Send a list."]})
    status, answer = post_op(client, world, driver_map, op="explode")
    assert status == 400 and "Unknown change" in answer["message"]
    response = client.post(
        url("map_graph", world, driver_map), data="{not json", content_type="application/json"
    )
    assert response.status_code == 400
    assert (Link.objects.count(), audit_count()) == before


def test_the_editor_endpoint_needs_the_csrf_token(world: World) -> None:
    driver_map = a_map(world)
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.analyst)
    response = client.post(
        url("map_graph", world, driver_map),
        data=json.dumps({"op": "factor_add", "label": "X", "kind": "driver"}),
        content_type="application/json",
    )
    assert response.status_code == 403
    assert driver_map.factors.count() == 0


def test_map_pages_create_edit_suggest_analyse_compare_and_delete(world: World) -> None:
    client = client_for(world.facilitator)
    assert client.get(url("map_create", world)).status_code == 200
    response = client.post(
        url("map_create", world), {"title": "Jizzakh, women", "perspective": "women"}
    )
    women = DriverMap.objects.get(title="Jizzakh, women")
    assert response.status_code == 302 and women.organisation_id == world.partner.pk
    factor_a = maps.factor_add(
        acting_user=world.facilitator, driver_map=women, label="Unemployment", kind="driver"
    )
    response = client.post(
        url("map_create", world),
        {"title": "Jizzakh, men", "perspective": "men", "copy_from": women.pk},
    )
    men = DriverMap.objects.get(title="Jizzakh, men")
    assert list(men.factors.values_list("label", flat=True)) == ["Unemployment"]
    response = client.post(url("map_edit", world, men), {"title": "", "perspective": "men"})
    assert response.status_code == 200 and "This field is required" in response.content.decode()
    response = client.post(
        url("map_edit", world, men), {"title": "Jizzakh, men's view", "perspective": "men"}
    )
    assert response.status_code == 302
    assert client.get(url("map_suggest", world, women)).status_code == 200
    page = client.get(url("map_analysis", world, women)).content.decode()
    assert "What the map shows" in page
    fragment = client.get(url("map_analysis", world, women), headers={"HX-Request": "true"})
    assert b"<html" not in fragment.content
    maps.factor_add(
        acting_user=world.facilitator, driver_map=men, label="Police mistrust", kind="driver"
    )
    compare = client.get(url("map_compare", world), {"a": women.pk, "b": men.pk})
    assert compare.status_code == 200
    body = compare.content.decode()
    assert "Police mistrust" in body and 'id="map-a"' in body and 'id="map-b"' in body
    assert "cytoscape" not in body
    assert client.get(url("map_delete", world, women)).status_code == 200
    assert client.post(url("map_delete", world, women)).status_code == 302
    assert not DriverMap.objects.filter(pk=women.pk).exists()
    assert not Factor.objects.filter(pk=factor_a.pk).exists()


def test_a_suggestion_is_added_with_a_click(world: World) -> None:
    unemployment = make_code(world, "unemployment")
    migration = make_code(world, "labour_migration")
    for _ in range(2):
        source = make_source(world)
        excerpt_of(source, unemployment, "Young men have no work", world.lead)
        excerpt_of(source, migration, "many leave for Russia", world.lead)
    driver_map = a_map(world)
    client = client_for(world.analyst)
    page = client.get(url("map_suggest", world, driver_map)).content.decode()
    assert "Labour Migration" in page and "Add link" in page
    response = client.post(
        url("map_suggest", world, driver_map),
        {"code": unemployment.pk, "target": migration.pk},
    )
    assert response.status_code == 302
    link = driver_map.links.get()
    assert (link.source.code, link.target.code) == (unemployment, migration)
    response = client.post(url("map_suggest", world, driver_map), {"code": 999999})
    assert response.status_code == 404


def test_the_map_page_and_its_editor_work_in_tajik(world: World) -> None:
    driver_map = a_map(world)
    factor(world, driver_map, "Бекорӣ")
    client = client_for(world.analyst)
    client.cookies["django_language"] = "tg"
    response = client.get(url("map_detail", world, driver_map), headers={"Accept-Language": "tg"})
    assert response.status_code == 200
    assert '<html lang="tg">' in response.content.decode()
    assert "Бекорӣ" in response.content.decode()
    response = client.get(url("map_editor", world, driver_map), headers={"Accept-Language": "tg"})
    assert response.status_code == 200
    body = response.content.decode()
    assert '<html lang="tg">' in body
    assert "Бекорӣ" in body
    strings = json.loads(
        body.split('id="map-strings" type="application/json">')[1].split("</script>")[0]
    )
    assert set(strings["kinds"]) == set(Factor.Kind.values)


def test_an_editor_attaches_and_removes_evidence_and_sees_indicator_values(
    world: World,
) -> None:
    """The editor's evidence controls: the quotes an editor may attach (of the factor's code,
    audited), attaching one and an indicator answers the item's evidence, removing takes it
    off again; the page gives the picker the programme's indicators."""
    source = make_source(world)
    unemployment = make_code(world, "unemployment")
    excerpt = excerpt_of(source, unemployment, "Young men have no work", world.analyst)
    driver_map = a_map(world)
    item = factor(world, driver_map, "Unemployment", code=unemployment)
    client = Client()
    client.force_login(world.analyst)
    graph = reverse("drivers:map_graph", args=[world.programme.slug, driver_map.pk])
    quotes = client.get(graph, {"quotes": "unemployment"}).json()["quotes"]
    assert [(q["id"], q["quote"]) for q in quotes] == [(excerpt.pk, "Young men have no work")]
    assert AuditEvent.objects.filter(
        verb=AuditEvent.Verb.VIEWED_TEXT, object_id=str(driver_map.pk)
    ).exists()

    def change(op: str, **fields: object) -> dict[str, object]:
        body = {"op": op, "item": "factor", "id": item.pk, **fields}
        answer = client.post(graph, json.dumps(body), content_type="application/json")
        return answer.json()  # type: ignore[no-any-return]

    answer = change("evidence_attach", excerpts=[excerpt.pk], indicator_keys=["safe_night"])
    assert answer["ok"]
    assert [e["id"] for e in answer["item"]["evidence"]] == [excerpt.pk]  # type: ignore[index]
    assert answer["item"]["indicators"] == ["safe_night"]  # type: ignore[index]
    assert list(item.excerpts.all()) == [excerpt]
    answer = change("evidence_detach", excerpts=[excerpt.pk], indicator_keys=["safe_night"])
    assert answer["item"] == {"id": f"f{item.pk}", "evidence": [], "indicators": []}
    page = client.get(reverse("drivers:map_editor", args=[world.programme.slug, driver_map.pk]))
    keys = {option["key"] for option in page.context["map_config"]["indicators"]}
    assert {"safe_night", "trust_police"} <= keys
    # Someone who may not edit the map cannot list quotes to attach.
    maps.map_publish(acting_user=world.analyst, driver_map=driver_map)
    viewer = Client()
    viewer.force_login(world.viewer)
    assert viewer.get(graph).status_code == 200
    assert viewer.get(graph, {"quotes": ""}).status_code == 404
