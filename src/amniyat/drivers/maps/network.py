"""What the shape of a driver map says, found with networkx, each finding explained in one
sentence that names the factors:

* likely root causes — factors few links lead into that reach many of the map's security
  concerns by links that cause or worsen;
* leverage points — factors many of the strongest paths between other factors pass through
  (betweenness centrality, with a link of strength 3 counted as the shortest step);
* feedback loops — chains of links that come back to where they started (simple cycles,
  capped), reinforcing or, with an odd number of mitigating links, balancing.

``map_compare`` sets two maps side by side (women's and men's, baseline and endline).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

import networkx as nx
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from amniyat.core.text import format_list, format_number, format_percent, quoted
from amniyat.drivers.maps.selectors import MapContent, map_content
from amniyat.drivers.models import DriverMap, Factor, Link

ROOT_CAUSES_MAX = 5
LEVERAGE_MAX = 5
LOOPS_MAX = 20
# Johnson's algorithm lists every simple cycle, which explodes on dense maps: stop looking
# after this many and at this length.
LOOP_LENGTH_MAX = 8
ROOT_IN_DEGREE_MAX = 1
PUSHING = frozenset({Link.Kind.CAUSES, Link.Kind.WORSENS})


@dataclass(frozen=True)
class NetworkFinding:
    """One finding: the factors it is about (ids, in order), a score and the sentence."""

    factor_ids: list[int]
    labels: list[str]
    score: float
    explanation: str


@dataclass(frozen=True)
class MapAnalysis:
    concerns: int
    root_causes: list[NetworkFinding]
    leverage_points: list[NetworkFinding]
    loops: list[NetworkFinding]
    loops_capped: bool = False

    @property
    def is_empty(self) -> bool:
        return not (self.root_causes or self.leverage_points or self.loops)


def map_graph(driver_map: DriverMap, content: MapContent | None = None) -> nx.DiGraph:
    """The map (of ``content``, when a page has already read it) as a directed graph: nodes
    are factor ids (``label`` in the reader's language, ``kind``), edges carry the link's
    ``kind`` and ``strength``."""
    factors, links = map_content(driver_map, content)
    graph = nx.DiGraph()
    for factor in factors:
        graph.add_node(factor.pk, label=str(factor.translated("label")), kind=factor.kind)
    for link in links:
        graph.add_edge(link.source_id, link.target_id, kind=link.kind, strength=link.strength)
    return graph


def _labels(graph: nx.DiGraph, nodes: list[int]) -> list[str]:
    return [str(graph.nodes[n]["label"]) for n in nodes]


def _listed(labels: list[str]) -> str:
    """Factor labels quoted and listed as the reader's language does: “a”, “b” and “c”;
    «a», «b» и «c»; «a», «b» ва «c»; “a”, “b” va “c”."""
    return format_list(quoted(label) for label in labels)


def root_causes(graph: nx.DiGraph, *, limit: int = ROOT_CAUSES_MAX) -> list[NetworkFinding]:
    """Factors with at most one link leading into them (by causing or worsening) that reach
    the most concerns; ties go to the one fewer links lead into."""
    pushing = nx.DiGraph()
    pushing.add_nodes_from(graph.nodes(data=True))
    pushing.add_edges_from(
        (s, t, d) for s, t, d in graph.edges(data=True) if d.get("kind") in PUSHING
    )
    concerns = {n for n, d in graph.nodes(data=True) if d.get("kind") == Factor.Kind.CONCERN}

    def label_of(node: int) -> str:
        return str(graph.nodes[node]["label"]).casefold()

    found = []
    for node in pushing.nodes:
        if node in concerns or pushing.in_degree(node) > ROOT_IN_DEGREE_MAX:
            continue
        reached = sorted(nx.descendants(pushing, node) & concerns, key=label_of)
        if not reached:
            continue
        paths = [nx.shortest_path(pushing, node, concern) for concern in reached]
        via = sorted({step for path in paths for step in path[1:-1]}, key=label_of)
        found.append((node, reached, via))
    # A factor some other candidate leads to, and which reaches no concern that candidate
    # does not, is a step on the way rather than a root.
    reach = {node: set(reached) for node, reached, _via in found}
    found = [
        (node, reached, via)
        for node, reached, via in found
        if not any(
            other != node and reach[other] >= reach[node]
            for other in nx.ancestors(pushing, node)
            if other in reach
        )
    ]
    found.sort(key=lambda f: (-len(f[1]), pushing.in_degree(f[0]), str(graph.nodes[f[0]]["label"])))
    findings = []
    for node, reached, via in found[:limit]:
        label = str(graph.nodes[node]["label"])
        values = {
            "factor": label,
            "n": format_number(len(reached)),
            "total": format_number(len(concerns)),
            "concerns": _listed(_labels(graph, reached)),
            "via": _listed(_labels(graph, via)),
        }
        if via:
            explanation = ngettext(
                "“{factor}” reaches {n} of the {total} concerns on this map ({concerns}), "
                "through {via}.",
                "“{factor}” reaches {n} of the {total} concerns on this map ({concerns}), "
                "through {via}.",
                len(reached),
            ).format(**values)
        else:
            explanation = ngettext(
                "“{factor}” leads directly to {n} of the {total} concerns on this map "
                "({concerns}).",
                "“{factor}” leads directly to {n} of the {total} concerns on this map "
                "({concerns}).",
                len(reached),
            ).format(**values)
        findings.append(
            NetworkFinding(
                factor_ids=[node],
                labels=[label],
                score=float(len(reached)),
                explanation=explanation,
            )
        )
    return findings


def leverage_points(graph: nx.DiGraph, *, limit: int = LEVERAGE_MAX) -> list[NetworkFinding]:
    """Factors with the highest betweenness centrality; a link's length is 1 / strength, so
    strong links make short paths."""
    if graph.number_of_nodes() < 3 or graph.number_of_edges() == 0:
        return []
    weighted = nx.DiGraph()
    weighted.add_nodes_from(graph.nodes)
    weighted.add_edges_from(
        (s, t, {"length": 1.0 / max(int(d.get("strength", 2)), 1)})
        for s, t, d in graph.edges(data=True)
    )
    centrality = nx.betweenness_centrality(weighted, weight="length", normalized=True)
    ranked = sorted(
        (node for node, value in centrality.items() if value > 0),
        key=lambda n: (-centrality[n], str(graph.nodes[n]["label"])),
    )
    findings = []
    for node in ranked[:limit]:
        label = str(graph.nodes[node]["label"])
        before = sorted(graph.predecessors(node), key=lambda n: str(graph.nodes[n]["label"]))
        after = sorted(graph.successors(node), key=lambda n: str(graph.nodes[n]["label"]))
        share = format_percent(centrality[node])
        explanation = _(
            "“{factor}” stands on the way from {before} to {after}: {share} of the strongest "
            "paths between other factors pass through it, so a change here spreads furthest."
        ).format(
            factor=label,
            before=_listed(_labels(graph, before)),
            after=_listed(_labels(graph, after)),
            share=share,
        )
        findings.append(
            NetworkFinding(
                factor_ids=[node],
                labels=[label],
                score=round(float(centrality[node]), 4),
                explanation=explanation,
            )
        )
    return findings


def feedback_loops(
    graph: nx.DiGraph, *, limit: int = LOOPS_MAX
) -> tuple[list[NetworkFinding], bool]:
    """The map's simple cycles, shortest first, at most ``limit`` (and True if there were
    more); each starts at its factor with the smallest id."""
    cycles = list(
        itertools.islice(nx.simple_cycles(graph, length_bound=LOOP_LENGTH_MAX), limit + 1)
    )
    capped = len(cycles) > limit
    cycles = cycles[:limit]
    findings = []
    for cycle in cycles:
        start = cycle.index(min(cycle))
        ordered = cycle[start:] + cycle[:start]
        labels = _labels(graph, ordered)
        steps = list(zip(ordered, ordered[1:] + ordered[:1], strict=True))
        mitigating = sum(
            1 for s, t in steps if graph.edges[s, t].get("kind") == Link.Kind.MITIGATES
        )
        chain = " → ".join([*labels, labels[0]])
        if mitigating % 2:
            explanation = _(
                "{chain}: a balancing loop — through “{mitigation}” it holds itself back."
            ).format(
                chain=chain,
                mitigation=next(
                    str(graph.nodes[s]["label"])
                    for s, t in steps
                    if graph.edges[s, t].get("kind") == Link.Kind.MITIGATES
                ),
            )
        else:
            explanation = _(
                "{chain}: a vicious circle — each of these {n} factors makes the next worse, "
                "and the last feeds the first."
            ).format(chain=chain, n=format_number(len(ordered)))
        findings.append(
            NetworkFinding(
                factor_ids=ordered,
                labels=labels,
                score=float(len(ordered)),
                explanation=explanation,
            )
        )
    findings.sort(key=lambda f: (len(f.factor_ids), f.labels))
    return findings, capped


def analyse_graph(graph: nx.DiGraph) -> MapAnalysis:
    loops, capped = feedback_loops(graph)
    return MapAnalysis(
        concerns=sum(1 for _n, d in graph.nodes(data=True) if d.get("kind") == Factor.Kind.CONCERN),
        root_causes=root_causes(graph),
        leverage_points=leverage_points(graph),
        loops=loops,
        loops_capped=capped,
    )


def analyse_map(driver_map: DriverMap, content: MapContent | None = None) -> MapAnalysis:
    return analyse_graph(map_graph(driver_map, content))


# ----------------------------------------------------------------------------------------
# Two maps side by side.


@dataclass
class MapComparison:
    """Factors matched by code (else by label, ignoring case); links matched by their matched
    ends. ``links_changed`` holds links in both whose kind or strength differ."""

    factors_only_a: list[Factor] = field(default_factory=list)
    factors_only_b: list[Factor] = field(default_factory=list)
    factors_both: list[tuple[Factor, Factor]] = field(default_factory=list)
    links_only_a: list[Link] = field(default_factory=list)
    links_only_b: list[Link] = field(default_factory=list)
    links_both: list[tuple[Link, Link]] = field(default_factory=list)
    links_changed: list[tuple[Link, Link]] = field(default_factory=list)

    def differing_ids(self) -> tuple[set[str], set[str]]:
        """The drawing's element ids (``f<pk>``, ``l<pk>``) to highlight in A and in B."""
        in_a = {f"f{f.pk}" for f in self.factors_only_a} | {f"l{k.pk}" for k in self.links_only_a}
        in_b = {f"f{f.pk}" for f in self.factors_only_b} | {f"l{k.pk}" for k in self.links_only_b}
        in_a |= {f"l{a.pk}" for a, _b in self.links_changed}
        in_b |= {f"l{b.pk}" for _a, b in self.links_changed}
        return in_a, in_b


def _match_key(factor: Factor) -> str:
    return factor.label.strip().casefold()


def _with_ends(links: Sequence[Link], factors: Sequence[Factor]) -> list[Link]:
    """``links`` with the factors they join (of ``factors``, the map's) as their ends, so that
    naming an end reads nothing more."""
    by_pk = {factor.pk: factor for factor in factors}
    for link in links:
        link.source, link.target = by_pk[link.source_id], by_pk[link.target_id]
    return list(links)


def map_compare(
    a: DriverMap,
    b: DriverMap,
    content_a: MapContent | None = None,
    content_b: MapContent | None = None,
) -> MapComparison:
    """The two maps compared (of their ``content``, when a page has already read it): each
    map's factors and links read once, each factor with its code's names."""
    factors_a, all_links_a = map_content(a, content_a)
    factors_b, all_links_b = map_content(b, content_b)
    comparison = MapComparison()
    by_code = {f.code_id: f for f in factors_b if f.code_id is not None}
    by_label = {_match_key(f): f for f in factors_b}
    matched: dict[int, Factor] = {}  # factor of A -> factor of B
    taken: set[int] = set()
    # Codes first, so a factor renamed on one map still matches its code on the other.
    for factor in factors_a:
        other = by_code.get(factor.code_id) if factor.code_id is not None else None
        if other is not None and other.pk not in taken:
            matched[factor.pk] = other
            taken.add(other.pk)
    for factor in factors_a:
        if factor.pk in matched:
            continue
        other = by_label.get(_match_key(factor))
        if other is not None and other.pk not in taken:
            matched[factor.pk] = other
            taken.add(other.pk)
    for factor in factors_a:
        if factor.pk in matched:
            comparison.factors_both.append((factor, matched[factor.pk]))
        else:
            comparison.factors_only_a.append(factor)
    comparison.factors_only_b = [f for f in factors_b if f.pk not in taken]

    links_b = {(k.source_id, k.target_id): k for k in _with_ends(all_links_b, factors_b)}
    seen: set[int] = set()
    for link in _with_ends(all_links_a, factors_a):
        source, target = matched.get(link.source_id), matched.get(link.target_id)
        twin = links_b.get((source.pk, target.pk)) if source and target else None
        if twin is None:
            comparison.links_only_a.append(link)
            continue
        seen.add(twin.pk)
        comparison.links_both.append((link, twin))
        if (link.kind, link.strength) != (twin.kind, twin.strength):
            comparison.links_changed.append((link, twin))
    comparison.links_only_b = [k for k in links_b.values() if k.pk not in seen]
    return comparison
