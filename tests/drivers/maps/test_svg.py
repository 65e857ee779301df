"""The driver map drawn on the server, as readers see it: factors where the editor placed
them (laid out in columns where nobody did), links styled as the legend, labels wrapped and
escaped, a tooltip on everything; the read view, the comparison and the analysis without a
script; the editor on the same drawing, drawn again for each change and only for those who
may edit the map; the drawing exported as SVG and PNG."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
from django.urls import reverse

from amniyat.audit.models import AuditEvent
from amniyat.drivers.maps import services as maps
from amniyat.drivers.maps import svg
from tests.drivers.maps.test_maps import World, a_map, build_world, client_for, factor, url

NS = {"svg": svg.SVG_NS}
HOSTILE = "</svg><script>alert(1)</script>"


@pytest.fixture
def world(db: None) -> World:
    return build_world()


def parse(markup: str) -> ET.Element:
    return ET.fromstring(markup)  # noqa: S314 — markup this test made


def drawn(page: str, prefix: str = "map") -> ET.Element:
    """The drawing with id ``prefix`` in a page, parsed as the XML it must be."""
    start = page.index(f'<svg xmlns="{svg.SVG_NS}" id="{prefix}"')
    end = page.index("</svg>", start) + len("</svg>")
    return parse(page[start:end])


def titles(root: ET.Element) -> list[str]:
    return [t.text or "" for t in root.iter(f"{{{svg.SVG_NS}}}title")]


def test_labels_wrap_at_word_ends_and_long_words_are_cut() -> None:
    assert svg.wrap_label("Unemployment of young men") == ["Unemployment of", "young men"]
    assert svg.wrap_label("Ишғолнашудагииҷавононидеҳот") == ["Ишғолнашудагииҷаво", "нонидеҳот"]
    many = svg.wrap_label(" ".join(["word"] * 40))
    assert len(many) == svg.MAX_LINES and many[-1].endswith("…")
    assert svg.wrap_label("") == [""]


def test_factors_stand_where_they_were_placed_and_links_follow_the_legend() -> None:
    factors = [
        svg.MapFactor("f1", "Unemployment", "driver", 100, 50, "Unemployment (driver)"),
        svg.MapFactor("f2", "Theft", "concern", 400, 50, "Theft (security concern)"),
        svg.MapFactor("f3", "Dialogue", "driver", 100, 250, "Dialogue (driver)"),
    ]
    links = [
        svg.MapLink("l1", "f1", "f2", "worsens", 3, "Unemployment → Theft"),
        svg.MapLink("l2", "f3", "f2", "mitigates", 1, "Dialogue → Theft"),
        svg.MapLink("l3", "f2", "f1", "causes", 2, "Theft → Unemployment"),
    ]
    root = parse(svg.draw_map(factors, links, title="Vakhsh"))
    assert root.get("role") == "group" and titles(root)[0] == "Vakhsh"
    shapes = {
        g.get("id"): g[1]
        for g in root.iter(f"{{{svg.SVG_NS}}}g")
        if "factor" in (g.get("class") or "").split()
    }
    driver = shapes["map-f1"]
    assert driver.tag.endswith("ellipse")
    assert (float(driver.get("cx", "")), float(driver.get("cy", ""))) == (100, 50)
    assert shapes["map-f2"].tag.endswith("rect")
    paths = {
        g.get("id"): g.find("svg:path", NS)
        for g in root.iter(f"{{{svg.SVG_NS}}}g")
        if "link" in (g.get("class") or "").split()
    }
    worsens, mitigates, causes = paths["map-l1"], paths["map-l2"], paths["map-l3"]
    assert worsens is not None and mitigates is not None and causes is not None
    assert (worsens.get("stroke"), worsens.get("stroke-width")) == ("#c0392b", "6")
    assert mitigates.get("stroke-dasharray") and mitigates.get("stroke") == "#1e8449"
    assert mitigates.get("stroke-width") == "1.5"
    assert causes.get("stroke") == "#4d4d4d"
    # Links both ways between two factors are bent apart; the others are straight.
    assert " Q" in (worsens.get("d") or "") and " Q" in (causes.get("d") or "")
    assert " Q" not in (mitigates.get("d") or "")
    # Every factor and link has its tooltip.
    assert set(titles(root)) >= {"Unemployment (driver)", "Theft → Unemployment"}
    # The drawing is as large as its factors with room around them: the labels stay 13 px.
    assert root.get("font-size") == "13"
    assert float(root.get("width", "0")) > 300


def test_factors_never_placed_are_laid_out_in_columns_without_overlapping() -> None:
    factors = [
        svg.MapFactor(f"f{i}", label, kind, 0, 0, label)
        for i, (label, kind) in enumerate(
            [
                ("Theft", "concern"),
                ("Unemployment", "driver"),
                ("Corruption", "root_cause"),
                ("Migration", "driver"),
                ("Family strain", "effect"),
            ]
        )
    ]
    links = [
        svg.MapLink("l1", "f2", "f1", "causes", 2, ""),
        svg.MapLink("l2", "f1", "f0", "worsens", 2, ""),
    ]
    positions, laid_out = svg.layout(factors, links)
    assert laid_out
    xs = {key: x for key, (x, _y) in positions.items()}
    assert xs["f2"] < xs["f1"] == xs["f3"] < xs["f0"] < xs["f4"]
    assert len(set(positions.values())) == len(factors)
    # One factor at (0, 0) was put there.
    alone = [
        svg.MapFactor("f1", "Theft", "concern", 0, 0, ""),
        svg.MapFactor("f2", "X", "driver", 300, 0, ""),
    ]
    assert svg.layout(alone, []) == ({"f1": (0.0, 0.0), "f2": (300.0, 0.0)}, False)


def test_a_label_that_closes_the_drawing_stays_text(world: World) -> None:
    driver_map = a_map(world)
    factor(world, driver_map, HOSTILE, kind="concern", x=300, y=100)
    factor(world, driver_map, "Unemployment", x=0, y=100)
    maps.map_publish(acting_user=world.analyst, driver_map=driver_map)
    viewer = client_for(world.viewer)
    page = viewer.get(url("map_detail", world, driver_map)).content.decode()
    assert "<script>alert(1)" not in page
    assert "&lt;/svg&gt;&lt;script&gt;alert(1)&lt;/script&gt; (security concern)" in page
    root = drawn(page)  # well-formed, and the label inside it
    assert f"{HOSTILE} (security concern)" in titles(root)
    lines = [t.text or "" for t in root.iter(f"{{{svg.SVG_NS}}}tspan")]
    assert "".join(lines[:2]) == HOSTILE
    assert not [e for e in root.iter() if e.tag.rsplit("}", 1)[-1] == "script"]
    # The same in a file of its own, and in the comparison.
    exported = viewer.get(url("map_export", world, driver_map), {"format": "svg"})
    assert exported["Content-Type"] == "image/svg+xml; charset=utf-8"
    assert f"{HOSTILE} (security concern)" in titles(parse(exported.content.decode()))
    compare = viewer.get(url("map_compare", world), {"a": driver_map.pk, "b": driver_map.pk})
    assert "<script>alert(1)" not in compare.content.decode()


def test_a_label_in_braces_is_drawn_as_written_and_only_names_are_written_unescaped() -> None:
    """The page's markup is one format_html over the drawing: a label's braces are text, not
    places for values, and a name that is not one never reaches the markup."""
    label = "{0} {} {label} & <b>"
    markup = svg.page_markup(
        [svg.MapFactor("f1", label, "driver", 0, 0, label)], [], title="{}", id_prefix="map"
    )
    root = parse(markup)
    assert titles(root)[0] == "{}"
    assert label in titles(root)
    assert "&lt;b&gt;" in markup and "<b>" not in markup
    with pytest.raises(ValueError, match="not an SVG name"):
        svg._markup(ET.Element("g", {'x="1" onload': "alert(1)"}))


def test_readers_get_the_drawing_and_the_list_and_no_cytoscape(world: World) -> None:
    driver_map = a_map(world)
    theft = factor(world, driver_map, "Theft", kind="concern", x=300, y=0)
    jobs = factor(world, driver_map, "Unemployment", x=0, y=0)
    link = maps.link_add(
        acting_user=world.analyst, driver_map=driver_map, source=jobs, target=theft
    ).link
    maps.map_publish(acting_user=world.analyst, driver_map=driver_map)
    for user in (world.viewer, world.analyst):
        page = client_for(user).get(url("map_detail", world, driver_map)).content.decode()
        assert "cytoscape" not in page and "map.js" not in page
        root = drawn(page)
        # Each factor and link leads to its entry in the list beside the drawing.
        hrefs = {a.get("href") for a in root.iter(f"{{{svg.SVG_NS}}}a")}
        assert hrefs == {f"#factor-{theft.pk}", f"#factor-{jobs.pk}", f"#link-{link.pk}"}
        assert f'id="factor-{theft.pk}"' in page and f'id="link-{link.pk}"' in page
        assert "Unemployment → Theft: causes, strength 2" in titles(root)
    # Only those who may change the map are offered the editor, which alone loads a script:
    # its own, on the same drawing, and no drawing library.
    viewer_page = client_for(world.viewer).get(url("map_detail", world, driver_map))
    assert 'id="map-open-editor"' not in viewer_page.content.decode()
    assert client_for(world.viewer).get(url("map_editor", world, driver_map)).status_code == 404
    other = client_for(world.other_facilitator)
    assert other.get(url("map_detail", world, driver_map)).status_code == 200
    assert other.get(url("map_editor", world, driver_map)).status_code == 404
    editor = client_for(world.analyst).get(url("map_editor", world, driver_map)).content.decode()
    assert "drivers/map.js" in editor and "cytoscape" not in editor.lower()
    assert "Unemployment → Theft: causes, strength 2" in titles(drawn(editor, "editor"))
    analysis = client_for(world.viewer).get(url("map_analysis", world, driver_map))
    body = analysis.content.decode()
    assert "cytoscape" not in body
    detail = url("map_detail", world, driver_map)
    assert {a.get("href") for a in drawn(body).iter(f"{{{svg.SVG_NS}}}a")} >= {
        f"{detail}#factor-{theft.pk}"
    }


def test_the_comparison_draws_both_maps_and_marks_what_differs(world: World) -> None:
    women = a_map(world, title="Women")
    men = a_map(world, title="Men")
    only_women = factor(world, women, "Domestic violence", kind="concern", x=300, y=0)
    shared_w = factor(world, women, "Unemployment", x=0, y=0)
    shared_m = factor(world, men, "Unemployment", x=0, y=0)
    page = (
        client_for(world.analyst)
        .get(url("map_compare", world), {"a": women.pk, "b": men.pk})
        .content.decode()
    )
    assert "cytoscape" not in page
    a, b = drawn(page, "map-a"), drawn(page, "map-b")
    classes = {e.get("id"): e.get("class", "") for e in a.iter() if e.get("id")}
    assert "differs" in classes[f"map-a-f{only_women.pk}"]
    assert "same" in classes[f"map-a-f{shared_w.pk}"]
    assert any(e.get("id") == f"map-b-f{shared_m.pk}" for e in b.iter())


def test_a_map_never_placed_opens_laid_out_and_the_editor_keeps_that_layout(
    world: World,
) -> None:
    driver_map = a_map(world)
    for label, kind in [("Theft", "concern"), ("Unemployment", "driver"), ("Drugs", "concern")]:
        factor(world, driver_map, label, kind=kind)  # no position: all at (0, 0)
    response = client_for(world.analyst).get(url("map_editor", world, driver_map))
    assert response.context["map_config"]["laidOut"] is True
    positions = [
        (e["position"]["x"], e["position"]["y"])
        for e in response.context["elements"]
        if e["group"] == "nodes"
    ]
    assert len(set(positions)) == 3
    root = drawn(
        client_for(world.analyst).get(url("map_detail", world, driver_map)).content.decode()
    )
    assert len([g for g in root.iter() if "factor" in (g.get("class") or "").split()]) == 3


def test_the_drawing_exports_as_svg_and_png_and_is_audited(world: World) -> None:
    driver_map = a_map(world, title="Vakhsh: women's view")
    factor(world, driver_map, "Бекории ҷавонон", x=0, y=0)
    factor(world, driver_map, "Дуздӣ", kind="concern", x=280, y=0)
    client = client_for(world.analyst)
    before = AuditEvent.objects.filter(verb=AuditEvent.Verb.EXPORTED).count()
    drawing = client.get(url("map_export", world, driver_map), {"format": "svg"})
    assert drawing["Content-Disposition"] == 'attachment; filename="vakhsh-womens-view.svg"'
    root = parse(drawing.content.decode())
    assert root.find("svg:rect", NS) is not None  # a white ground, for a file of its own
    picture = client.get(url("map_export", world, driver_map), {"format": "png"})
    assert picture["Content-Type"] == "image/png"
    assert picture.content.startswith(b"\x89PNG\r\n\x1a\n")
    exports = AuditEvent.objects.filter(verb=AuditEvent.Verb.EXPORTED).order_by("at", "id")
    assert exports.count() == before + 2
    assert [e.details["format"] for e in exports][-2:] == ["svg", "png"]
    assert reverse("drivers:map_export", args=[world.programme.slug, driver_map.pk])


def test_the_editor_draws_the_map_with_every_factor_and_link_selectable(world: World) -> None:
    """The editor's drawing: each factor and link a focusable group naming it in data-id,
    factors with their centres, as far apart as they were placed (a reader's drawing of a
    map wider than MAX_SPAN is drawn closer together), and hostile labels still text."""
    driver_map = a_map(world)
    theft = factor(world, driver_map, HOSTILE, kind="concern", x=svg.MAX_SPAN * 2, y=40)
    jobs = factor(world, driver_map, "Unemployment", x=0, y=40)
    link = maps.link_add(
        acting_user=world.analyst, driver_map=driver_map, source=jobs, target=theft
    ).link
    page = client_for(world.analyst).get(url("map_editor", world, driver_map)).content.decode()
    assert "<script>alert(1)" not in page
    root = drawn(page, "editor")
    groups = {g.get("data-id"): g for g in root.iter() if g.get("data-id")}
    assert set(groups) == {f"f{theft.pk}", f"f{jobs.pk}", f"l{link.pk}"}
    assert all(g.get("tabindex") == "0" and g.get("role") == "button" for g in groups.values())
    assert (groups[f"f{theft.pk}"].get("data-x"), groups[f"f{theft.pk}"].get("data-y")) == (
        str(int(svg.MAX_SPAN * 2)),
        "40",
    )
    assert f"{HOSTILE} (security concern)" in titles(root)
    # A finger can hit a link: a wide invisible stroke under the drawn one.
    hit = groups[f"l{link.pk}"].find("svg:path", NS)
    assert hit is not None and (hit.get("class"), hit.get("stroke-width")) == ("link-hit", "16")
    reader = drawn(
        client_for(world.analyst).get(url("map_detail", world, driver_map)).content.decode()
    )
    assert not [e for e in reader.iter() if e.get("data-id") or e.get("tabindex")]


def test_the_editor_draws_labels_as_written_and_readers_read_them_translated(
    world: World,
) -> None:
    driver_map = a_map(world)
    jobs = factor(world, driver_map, "Unemployment", x=0, y=0)
    jobs.set_translation("label", "tg", "Бекорӣ")
    jobs.save(update_fields=["translations"])
    client = client_for(world.analyst)
    client.post(reverse("core:set_language"), {"language": "tg", "next": "/"})
    editor = drawn(client.get(url("map_editor", world, driver_map)).content.decode(), "editor")
    group = next(e for e in editor.iter() if e.get("data-id") == f"f{jobs.pk}")
    # What the editor changes, marked with the language it is written in.
    assert [t.text for t in group.iter(f"{{{svg.SVG_NS}}}tspan")] == ["Unemployment"]
    assert group.get("lang") == jobs.content_language == "en"
    reader = drawn(client.get(url("map_detail", world, driver_map)).content.decode())
    assert [t.text for t in reader.iter(f"{{{svg.SVG_NS}}}tspan")] == ["Бекорӣ"]


def test_each_change_is_answered_with_the_map_drawn_again_for_editors_only(world: World) -> None:
    driver_map = a_map(world)
    jobs = factor(world, driver_map, "Unemployment", x=0, y=0)
    analyst = client_for(world.analyst)
    graph = url("map_graph", world, driver_map)
    # A move, answered with the drawing where the factor now stands.
    response = analyst.post(
        graph + "?drawing=1",
        data=json.dumps({"op": "factors_move", "positions": [{"id": jobs.pk, "x": 120, "y": 75}]}),
        content_type="application/json",
    )
    assert response.status_code == 200
    root = parse(response.json()["drawing"])
    moved = next(e for e in root.iter() if e.get("data-id") == f"f{jobs.pk}")
    assert (moved.get("data-x"), moved.get("data-y")) == ("120", "75")
    # A new factor, with a label that would close the drawing: still text.
    response = analyst.post(
        graph + "?drawing=1",
        data=json.dumps({"op": "factor_add", "label": HOSTILE, "kind": "concern", "x": 400}),
        content_type="application/json",
    )
    answer = response.json()
    assert answer["ok"] and "<script>" not in answer["drawing"]
    assert f"{HOSTILE} (security concern)" in titles(parse(answer["drawing"]))
    # Without asking, the answer stays as it was; a refused change carries no drawing.
    response = analyst.post(
        graph,
        data=json.dumps({"op": "factor_update", "id": jobs.pk, "note": "young men"}),
        content_type="application/json",
    )
    assert "drawing" not in response.json()
    response = analyst.post(
        graph + "?drawing=1",
        data=json.dumps({"op": "factor_add", "label": "Unemployment", "kind": "driver"}),
        content_type="application/json",
    )
    assert response.status_code == 400 and "drawing" not in response.json()
    # The drawing alone, for the editor to start again from.
    fresh = parse(analyst.get(graph, {"drawing": "1"}).json()["drawing"])
    assert len([e for e in fresh.iter() if (e.get("data-id") or "").startswith("f")]) == 2
    # Only those who may edit the map: others are answered as if it did not exist, even
    # where they may read it.
    maps.map_publish(acting_user=world.analyst, driver_map=driver_map)
    for user in (world.viewer, world.other_facilitator, world.facilitator):
        client = client_for(user)
        assert client.get(graph).status_code == 200
        assert client.get(graph, {"drawing": "1"}).status_code == 404
        response = client.post(
            graph + "?drawing=1",
            data=json.dumps({"op": "factor_delete", "id": jobs.pk}),
            content_type="application/json",
        )
        assert response.status_code == 404
    assert driver_map.factors.count() == 2
    own = maps.map_create(acting_user=world.facilitator, programme=world.programme, title="Ours")
    assert client_for(world.facilitator).get(url("map_graph", world, own), {"drawing": "1"}).json()
