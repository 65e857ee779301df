"""Driver maps in and out: GraphML that networkx reads back whole, the CSV pair Kumu and PRSM
import, imports of the same (every problem reported with file, row and field; all or
nothing), and evidence exported only as far as the reader may see it."""

from __future__ import annotations

import io
import zipfile

import networkx as nx
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from amniyat.drivers.maps import exchange as map_exchange
from amniyat.drivers.maps import services as maps
from amniyat.drivers.models import Code, DriverMap, Excerpt, Factor, Link
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


@pytest.fixture
def world(db: None) -> World:
    return build_world()


def sample_map(w: World) -> tuple[DriverMap, dict[str, object]]:
    """Jizzakh, women's view: three factors with codes, notes, positions, indicators and
    evidence; two links, one with evidence."""
    code = make_code(w, "unemployment")
    concern = make_code(w, "domestic_violence", kind=Code.Kind.CONCERN)
    source = make_source(w)
    private = excerpt_of(source, code, "Young men have no work", w.lead)
    public = excerpt_of(
        source,
        concern,
        "face violence at home",
        w.lead,
        publication=Excerpt.Publication.APPROVED,
        proposed_by=w.lead,
        reviewed_by=w.analyst,
        public_text="face violence at home",
    )
    indicator = sorted(maps.indicator_keys_of(w.programme))[0]
    driver_map = a_map(w, title="Jizzakh, women's view", perspective="women")
    unemployment = factor(
        w,
        driver_map,
        "Unemployment",
        code=code,
        note="Mostly young men",
        x=10.5,
        y=-20,
        indicator_keys=[indicator],
        excerpts=[private.pk],
    )
    migration = factor(w, driver_map, "Labour migration, to Russia", x=200, y=0)
    violence = factor(
        w,
        driver_map,
        "=Domestic violence",
        kind="concern",
        code=concern,
        x=400,
        y=30,
        excerpts=[public.pk],
    )
    maps.link_add(
        acting_user=w.analyst,
        driver_map=driver_map,
        source=unemployment,
        target=migration,
        kind="causes",
        strength=3,
        note="“Many leave”",
    )
    maps.link_add(
        acting_user=w.analyst,
        driver_map=driver_map,
        source=migration,
        target=violence,
        kind="worsens",
        strength=1,
        excerpts=[public.pk],
        indicator_keys=[indicator],
    )
    return driver_map, {"private": private, "public": public, "indicator": indicator}


def snapshot(driver_map: DriverMap) -> tuple[set[tuple], set[tuple]]:  # type: ignore[type-arg]
    factors = {
        (
            f.label,
            f.kind,
            f.code.key if f.code else "",
            f.note,
            f.x,
            f.y,
            tuple(f.indicator_keys),
            tuple(sorted(e.pk for e in f.excerpts.all())),
        )
        for f in driver_map.factors.all()
    }
    links = {
        (
            k.source.label,
            k.target.label,
            k.kind,
            k.strength,
            k.note,
            tuple(k.indicator_keys),
            tuple(sorted(e.pk for e in k.excerpts.all())),
        )
        for k in driver_map.links.all()
    }
    return factors, links


def everything(driver_map: DriverMap) -> set[int]:
    """Every excerpt on the map: what someone who may see all its evidence is shown."""
    on_factors = {e.pk for f in driver_map.factors.all() for e in f.excerpts.all()}
    return on_factors | {e.pk for k in driver_map.links.all() for e in k.excerpts.all()}


def test_graphml_loads_in_networkx_with_every_factor_link_and_attribute(world: World) -> None:
    driver_map, ev = sample_map(world)
    data = map_exchange.export_graphml(driver_map, visible_excerpts=everything(driver_map))
    graph = nx.read_graphml(io.BytesIO(data))
    assert graph.graph["title"] == "Jizzakh, women's view"
    assert set(graph.nodes) == {f"f{f.pk}" for f in driver_map.factors.all()}
    for f in driver_map.factors.all():
        node = graph.nodes[f"f{f.pk}"]
        assert node["factor_id"] == f.pk
        assert (node["label"], node["kind"], node["note"]) == (f.label, f.kind, f.note)
        assert (node["x"], node["y"]) == (f.x, f.y)
        assert node["code"] == (f.code.key if f.code else "")
        assert node["indicator_keys"] == "|".join(f.indicator_keys)
        assert node["excerpts"] == "|".join(str(e.pk) for e in f.excerpts.all())
    assert graph.number_of_edges() == driver_map.links.count() == 2
    for link in driver_map.links.all():
        edge = graph.edges[f"f{link.source_id}", f"f{link.target_id}"]
        assert (edge["kind"], edge["strength"], edge["note"]) == (
            link.kind,
            link.strength,
            link.note,
        )
        assert edge["link_id"] == link.pk
        assert edge["indicator_keys"] == "|".join(link.indicator_keys)
    last = graph.edges[
        f"f{driver_map.factors.get(label='Labour migration, to Russia').pk}",
        f"f{driver_map.factors.get(label='=Domestic violence').pk}",
    ]
    assert last["excerpts"] == str(ev["public"].pk)  # type: ignore[attr-defined]


def test_graphml_round_trips_into_a_new_map(world: World) -> None:
    driver_map, _ = sample_map(world)
    data = map_exchange.export_graphml(driver_map, visible_excerpts=everything(driver_map))
    rows = map_exchange.read_map_files([("map.graphml", data)], programme=world.programme)
    result = map_exchange.map_import_new(
        acting_user=world.analyst, programme=world.programme, title="Copy", data=rows
    )
    assert snapshot(result.driver_map) == snapshot(driver_map)


def test_csv_follows_kumu_and_prsm_columns_and_imports_into_a_new_map_unchanged(
    world: World,
) -> None:
    driver_map, _ = sample_map(world)
    visible = everything(driver_map)
    nodes = map_exchange.export_csv_nodes(driver_map, visible_excerpts=visible)
    edges = map_exchange.export_csv_edges(driver_map, visible_excerpts=visible)
    assert nodes.splitlines()[0].startswith("Label,Type,Description,Tags,")
    assert nodes.splitlines()[0].endswith(",x,y")
    assert edges.splitlines()[0].startswith("From,To,Type,Strength,Description")
    assert "'=Domestic violence" in nodes  # a spreadsheet will not run it as a formula
    assert '"Labour migration, to Russia"' in nodes
    rows = map_exchange.read_map_files(
        [("elements.csv", nodes.encode()), ("connections.csv", edges.encode())],
        programme=world.programme,
    )
    result = map_exchange.map_import_new(
        acting_user=world.analyst, programme=world.programme, title="From CSV", data=rows
    )
    assert (result.factors_added, result.links_added) == (3, 2)
    assert snapshot(result.driver_map) == snapshot(driver_map)


def test_importing_into_an_existing_map_updates_factors_with_the_same_label(
    world: World,
) -> None:
    driver_map, _ = sample_map(world)
    nodes = "Label,Type,Description\nUnemployment,root_cause,Changed\nPoverty,driver,\n"
    edges = (
        "From,To,Type,Strength\nPoverty,Unemployment,causes,2\n"
        'Unemployment,"Labour migration, to Russia",mitigates,1\n'
    )
    rows = map_exchange.read_map_files(
        [("n.csv", nodes.encode()), ("e.csv", edges.encode())], programme=world.programme
    )
    result = map_exchange.map_import(acting_user=world.analyst, driver_map=driver_map, data=rows)
    assert (result.factors_added, result.factors_updated) == (1, 1)
    assert (result.links_added, result.links_updated) == (1, 1)
    unemployment = driver_map.factors.get(label="Unemployment")
    assert (unemployment.kind, unemployment.note, unemployment.x) == ("root_cause", "Changed", 10.5)
    changed = driver_map.links.get(source=unemployment)
    assert (changed.kind, changed.strength) == ("mitigates", 1)


def test_every_problem_is_reported_with_file_row_and_field_and_nothing_is_saved(
    world: World,
) -> None:
    nodes = (
        "Label,Type,Description,Code,x\n"
        "Unemployment,driver,,,1\n"
        ",driver,,,\n"  # row 3: no label
        "Theft,villain,,,\n"  # row 4: unknown kind
        "Drugs,driver,,no_such_code,\n"  # row 5: unknown code
        "unemployment,concern,,,left\n"  # row 6: duplicate label and a bad x
    )
    edges = (
        "From,To,Type,Strength\n"
        "Unemployment,Nowhere,causes,2\n"  # row 2: unknown factor
        "Unemployment,Unemployment,causes,2\n"  # row 3: self-link
        "Unemployment,Drugs,causes,5\n"  # row 4: bad strength
    )
    before = (DriverMap.objects.count(), Factor.objects.count(), Link.objects.count())
    with pytest.raises(map_exchange.MapImportError) as error:
        rows = map_exchange.read_map_files(
            [("elements.csv", nodes.encode()), ("connections.csv", edges.encode())],
            programme=world.programme,
        )
    found = {(p.file, p.row, p.field) for p in error.value.problems}
    assert {
        ("elements.csv", 3, "Label"),
        ("elements.csv", 4, "Type"),
        ("elements.csv", 5, "Code"),
        ("elements.csv", 6, "x"),
        ("connections.csv", 3, "To"),
        ("connections.csv", 4, "Strength"),
    } <= found
    messages = [str(p) for p in error.value.problems]
    assert (
        "elements.csv, row 4, Type: “villain” is not a kind of factor: use concern, driver, "
        "root_cause or effect." in messages
    )
    # A link to a factor in neither the file nor the map is caught when writing: all or nothing.
    rows = map_exchange.read_map_files(
        [
            ("elements.csv", b"Label,Type\nUnemployment,driver\nTheft,concern\n"),
            ("connections.csv", b"From,To\nUnemployment,Theft\nUnemployment,Nowhere\n"),
        ],
        programme=world.programme,
    )
    with pytest.raises(map_exchange.MapImportError) as error:
        map_exchange.map_import_new(
            acting_user=world.analyst, programme=world.programme, title="Half", data=rows
        )
    assert [str(p) for p in error.value.problems] == [
        "connections.csv, row 3, To: There is no factor “Nowhere” in the file or on the map."
    ]
    assert (DriverMap.objects.count(), Factor.objects.count(), Link.objects.count()) == before


def test_evidence_the_importer_cannot_read_is_refused(world: World) -> None:
    code = make_code(world, "unemployment")
    hidden = excerpt_of(
        make_source(world, organisation=world.other_partner), code, "Young men", world.lead
    )
    rows = map_exchange.read_map_files(
        [("elements.csv", f"Label,Type,Excerpts\nUnemployment,driver,{hidden.pk}\n".encode())],
        programme=world.programme,
    )
    with pytest.raises(map_exchange.MapImportError) as error:
        map_exchange.map_import_new(
            acting_user=world.facilitator, programme=world.programme, title="Ours", data=rows
        )
    assert [(p.row, p.field) for p in error.value.problems] == [(2, "excerpts")]
    assert not DriverMap.objects.filter(title="Ours").exists()


def test_graphml_with_a_dtd_or_entities_is_refused(world: World) -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
        b'<graphml xmlns="http://graphml.graphdrawing.org/xmlns"><graph edgedefault="directed">'
        b'<node id="n0"/></graph></graphml>'
    )
    with pytest.raises(map_exchange.MapImportError) as error:
        map_exchange.read_map_files([("bomb.graphml", bomb)], programme=world.programme)
    assert str(error.value.problems[0]) == (
        "bomb.graphml: This is not a GraphML file that can be read safely."
    )
    with pytest.raises(map_exchange.MapImportError):
        map_exchange.read_map_files([("map.graphml", b"<graphml><node")], programme=world.programme)


def test_export_shows_evidence_only_as_far_as_the_reader_may_see_it(world: World) -> None:
    driver_map, ev = sample_map(world)
    maps.map_publish(acting_user=world.analyst, driver_map=driver_map)
    private, public = ev["private"].pk, ev["public"].pk  # type: ignore[attr-defined]
    analyst = client_for(world.analyst).get(
        url("map_export", world, driver_map), {"format": "nodes"}
    )
    assert f",{private}," in analyst.content.decode()
    viewer = client_for(world.viewer)
    nodes = viewer.get(url("map_export", world, driver_map), {"format": "nodes"}).content.decode()
    assert f",{private}," not in nodes and f",{public}," in nodes
    response = viewer.get(url("map_export", world, driver_map), {"format": "graphml"})
    assert response["Content-Disposition"] == 'attachment; filename="jizzakh-womens-view.graphml"'
    graph = nx.read_graphml(io.BytesIO(response.content))
    assert {d["excerpts"] for _n, d in graph.nodes(data=True)} == {"", str(public)}
    archive = zipfile.ZipFile(
        io.BytesIO(viewer.get(url("map_export", world, driver_map), {"format": "zip"}).content)
    )
    assert sorted(archive.namelist()) == ["connections.csv", "elements.csv"]
    assert viewer.get(url("map_export", world, driver_map), {"format": "pdf"}).status_code == 404


def test_the_import_page_takes_a_zip_or_two_files_and_shows_every_problem(world: World) -> None:
    driver_map, _ = sample_map(world)
    analyst = client_for(world.analyst)
    archive = analyst.get(url("map_export", world, driver_map), {"format": "zip"})
    response = analyst.post(
        url("map_import", world),
        {
            "upload": SimpleUploadedFile("map.zip", archive.content),
            "title": "Jizzakh, imported",
            "perspective": "women",
        },
    )
    imported = DriverMap.objects.get(title="Jizzakh, imported")
    assert response.status_code == 302
    assert snapshot(imported) == snapshot(driver_map)
    # A facilitator's import: every problem is shown, and nothing is saved.
    client = client_for(world.facilitator)
    bad = client.post(
        url("map_import", world),
        {
            "upload": [
                SimpleUploadedFile("elements.csv", b"Label,Type\nA,driver\nB,nonsense\n"),
                SimpleUploadedFile("connections.csv", b"From,To,Strength\nA,B,9\n"),
            ],
            "title": "Broken",
            "perspective": "everyone",
        },
    )
    body = bad.content.decode()
    assert bad.status_code == 200 and 'id="import-problems"' in body
    assert "elements.csv, row 3, Type" in body and "connections.csv, row 2, Strength" in body
    assert not DriverMap.objects.filter(title="Broken").exists()
    too_big = client.post(
        url("map_import", world),
        {
            "upload": SimpleUploadedFile("big.csv", b"Label\n" + b"x" * (5 * 1024 * 1024 + 1)),
            "title": "Big",
            "perspective": "everyone",
        },
    )
    assert "The files are too large" in too_big.content.decode()
    assert not DriverMap.objects.filter(title="Big").exists()
