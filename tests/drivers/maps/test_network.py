"""The network analysis of a driver map (root causes, leverage points, feedback loops, each
explained in a sentence) and two maps compared, on small hand-made maps whose answers are
known."""

from __future__ import annotations

import networkx as nx
import pytest

from amniyat.accounts.models import Membership, User
from amniyat.drivers.maps import network
from amniyat.drivers.maps import services as maps
from amniyat.drivers.models import Code, DriverMap, Factor
from tests.factories import ProgrammeFactory, member_of


@pytest.fixture
def lead(db: None) -> User:
    return member_of(ProgrammeFactory(), Membership.Role.LEAD)


def build(lead: User, title: str, factors: dict[str, str], links: list[tuple]) -> DriverMap:  # type: ignore[type-arg]
    """A map from {label: kind} and (source, target, kind, strength) tuples."""
    programme = lead.memberships.get().programme  # type: ignore[attr-defined]
    driver_map = maps.map_create(acting_user=lead, programme=programme, title=title)
    made = {
        label: maps.factor_add(acting_user=lead, driver_map=driver_map, label=label, kind=kind)
        for label, kind in factors.items()
    }
    for source, target, kind, strength in links:
        maps.link_add(
            acting_user=lead,
            driver_map=driver_map,
            source=made[source],
            target=made[target],
            kind=kind,
            strength=strength,
        )
    return driver_map


VAKHSH = {
    "Unemployment": "driver",
    "Labour migration": "driver",
    "Idle youth": "driver",
    "Drug use": "driver",
    "Mistrust of police": "driver",
    "Community dialogue": "driver",
    "Domestic violence": "concern",
    "Theft": "concern",
    "Youth violence": "concern",
}
VAKHSH_LINKS = [
    ("Unemployment", "Labour migration", "causes", 3),
    ("Labour migration", "Domestic violence", "worsens", 2),
    ("Unemployment", "Idle youth", "causes", 3),
    ("Drug use", "Idle youth", "worsens", 1),
    ("Idle youth", "Theft", "causes", 2),
    ("Idle youth", "Youth violence", "causes", 2),
    ("Youth violence", "Mistrust of police", "worsens", 2),
    ("Mistrust of police", "Youth violence", "worsens", 2),
    ("Community dialogue", "Mistrust of police", "mitigates", 2),
]


def test_the_root_cause_is_the_factor_reaching_most_concerns(lead: User) -> None:
    analysis = network.analyse_map(build(lead, "Vakhsh", VAKHSH, VAKHSH_LINKS))
    assert analysis.concerns == 3
    # Labour migration and mistrust of police lead to concerns too, but only to ones that
    # unemployment, which leads to them, reaches as well.
    assert [f.labels[0] for f in analysis.root_causes] == ["Unemployment", "Drug use"]
    assert analysis.root_causes[0].explanation == (
        "“Unemployment” reaches 3 of the 3 concerns on this map (“Domestic violence”, "
        "“Theft” and “Youth violence”), through “Idle youth” and “Labour migration”."
    )
    # Mitigating is not causing: dialogue reaches no concern by causing or worsening.
    assert "Community dialogue" not in {f.labels[0] for f in analysis.root_causes}


def test_a_root_cause_linked_straight_to_a_concern_is_told_so(lead: User) -> None:
    analysis = network.analyse_map(
        build(
            lead,
            "Kulob",
            {"Poverty": "root_cause", "Theft": "concern", "Debt": "driver", "Fraud": "concern"},
            [("Poverty", "Theft", "causes", 3), ("Debt", "Fraud", "worsens", 1)],
        )
    )
    assert [f.explanation for f in analysis.root_causes] == [
        "“Debt” leads directly to 1 of the 2 concerns on this map (“Fraud”).",
        "“Poverty” leads directly to 1 of the 2 concerns on this map (“Theft”).",
    ]


def test_the_leverage_point_is_the_factor_most_strong_paths_pass_through(lead: User) -> None:
    driver_map = build(lead, "Vakhsh", VAKHSH, VAKHSH_LINKS)
    analysis = network.analyse_map(driver_map)
    top = analysis.leverage_points[0]
    assert top.labels == ["Idle youth"]
    assert top.explanation.startswith(
        "“Idle youth” stands on the way from “Drug use” and “Unemployment” to “Theft” and "
        "“Youth violence”:"
    )
    assert "% of the strongest paths" in top.explanation
    centrality = nx.betweenness_centrality(network.map_graph(driver_map))
    assert max(centrality, key=centrality.get) == top.factor_ids[0]  # type: ignore[arg-type]


def test_feedback_loops_are_found_and_told_apart(lead: User) -> None:
    analysis = network.analyse_map(build(lead, "Vakhsh", VAKHSH, VAKHSH_LINKS))
    assert [f.labels for f in analysis.loops] == [["Mistrust of police", "Youth violence"]]
    assert analysis.loops[0].explanation == (
        "Mistrust of police → Youth violence → Mistrust of police: a vicious circle — each of "
        "these 2 factors makes the next worse, and the last feeds the first."
    )
    balancing = network.analyse_map(
        build(
            lead,
            "Dialogue",
            {"Tension": "concern", "Dialogue": "driver"},
            [("Tension", "Dialogue", "causes", 2), ("Dialogue", "Tension", "mitigates", 3)],
        )
    )
    assert balancing.loops[0].explanation == (
        "Tension → Dialogue → Tension: a balancing loop — through “Dialogue” it holds itself back."
    )


def test_loops_are_capped_on_a_dense_map() -> None:
    graph = nx.complete_graph(6, create_using=nx.DiGraph)
    nx.set_node_attributes(graph, {n: f"F{n}" for n in graph}, "label")
    nx.set_node_attributes(graph, "driver", "kind")
    nx.set_edge_attributes(graph, "causes", "kind")
    nx.set_edge_attributes(graph, 2, "strength")
    loops, capped = network.feedback_loops(graph)
    assert capped and len(loops) == network.LOOPS_MAX
    assert all(len(f.factor_ids) >= 2 for f in loops)


def test_an_empty_map_has_nothing_to_point_out(lead: User) -> None:
    analysis = network.analyse_map(build(lead, "Empty", {}, []))
    assert analysis.is_empty


def test_two_maps_compared_by_code_then_label(lead: User) -> None:
    programme = lead.memberships.get().programme  # type: ignore[attr-defined]
    code = Code.objects.create(programme=programme, key="unemployment", name_en="Unemployment")
    women = build(
        lead,
        "Women",
        {"Unemployment": "driver", "Migration": "driver", "Domestic violence": "concern"},
        [
            ("Unemployment", "Migration", "causes", 2),
            ("Migration", "Domestic violence", "worsens", 2),
        ],
    )
    men = build(
        lead,
        "Men",
        {"Joblessness": "driver", "migration": "driver", "Police": "concern"},
        [("Joblessness", "migration", "causes", 3), ("migration", "Police", "causes", 1)],
    )
    Factor.objects.filter(map__in=[women, men], label__in=["Unemployment", "Joblessness"]).update(
        code=code
    )
    comparison = network.map_compare(women, men)
    assert sorted((a.label, b.label) for a, b in comparison.factors_both) == [
        ("Migration", "migration"),
        ("Unemployment", "Joblessness"),
    ]
    assert [f.label for f in comparison.factors_only_a] == ["Domestic violence"]
    assert [f.label for f in comparison.factors_only_b] == ["Police"]
    assert [(k.source.label, k.target.label) for k in comparison.links_only_a] == [
        ("Migration", "Domestic violence")
    ]
    assert [(k.source.label, k.target.label) for k in comparison.links_only_b] == [
        ("migration", "Police")
    ]
    assert [(a.strength, b.strength) for a, b in comparison.links_changed] == [(2, 3)]
    in_a, in_b = comparison.differing_ids()
    domestic = women.factors.get(label="Domestic violence")
    police = men.factors.get(label="Police")
    assert f"f{domestic.pk}" in in_a and f"f{police.pk}" in in_b
    assert len(in_a) == 3 and len(in_b) == 3  # factor, link only here, changed link
