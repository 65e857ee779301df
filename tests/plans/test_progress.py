"""The roll-up of progress through the action tree: hand-computed cases through three levels,
and the weighted-mean rule checked on random trees (hypothesis)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from amniyat.plans.progress import CycleError, Node, is_descendant, rolled_up, weighted_mean


def test_a_leaf_reads_as_reported() -> None:
    assert rolled_up([Node(1, None, 40)]) == {1: 40.0}


def test_three_levels_by_hand() -> None:
    # 1 ── 2 (w 1) ── 4 (w 1, 100 %)
    #  │          └── 5 (w 3, 20 %)      → 2 = (100 + 3·20) / 4 = 40
    #  └── 3 (w 2, 70 %)                 → 1 = (1·40 + 2·70) / 3 = 60
    nodes = [
        Node(1, None, 0),
        Node(2, 1, 0, weight=1),
        Node(3, 1, 70, weight=2),
        Node(4, 2, 100, weight=1),
        Node(5, 2, 20, weight=3),
    ]
    assert rolled_up(nodes) == pytest.approx({1: 60.0, 2: 40.0, 3: 70.0, 4: 100.0, 5: 20.0})


def test_equal_weights_give_the_plain_average_as_decidim_does() -> None:
    nodes = [Node(1, None, 0), Node(2, 1, 10), Node(3, 1, 20), Node(4, 1, 90)]
    assert rolled_up(nodes)[1] == pytest.approx(40.0)


def test_weights_that_are_shares_give_decidims_weighted_sum() -> None:
    # Decidim: Σ weight · progress with weights adding up to 1: 0.25·80 + 0.75·40 = 50.
    nodes = [Node(1, None, 0), Node(2, 1, 80, weight=0.25), Node(3, 1, 40, weight=0.75)]
    assert rolled_up(nodes)[1] == pytest.approx(50.0)


def test_a_dropped_part_does_not_count() -> None:
    nodes = [Node(1, None, 0), Node(2, 1, 80), Node(3, 1, 0, dropped=True)]
    assert rolled_up(nodes)[1] == pytest.approx(80.0)
    only_dropped = [Node(1, None, 15), Node(2, 1, 0, dropped=True)]
    assert rolled_up(only_dropped)[1] == pytest.approx(15.0)


def test_three_levels_with_a_dropped_grandchild() -> None:
    # 1 ── 2 ── 4 (50 %), 5 (dropped)  → 2 = 50
    #  └── 3 ── 6 (w 2, 90 %), 7 (w 1, 0 %) → 3 = 60;  1 = (50 + 60) / 2 = 55
    nodes = [
        Node(1, None, 0),
        Node(2, 1, 0),
        Node(3, 1, 0),
        Node(4, 2, 50),
        Node(5, 2, 100, dropped=True),
        Node(6, 3, 90, weight=2),
        Node(7, 3, 0),
    ]
    assert rolled_up(nodes)[1] == pytest.approx(55.0)


def test_a_cycle_is_refused() -> None:
    with pytest.raises(CycleError):
        rolled_up([Node(1, 2, 0), Node(2, 1, 0)])
    with pytest.raises(CycleError):
        rolled_up([Node(1, None, 0), Node(2, 3, 0), Node(3, 4, 0), Node(4, 2, 0)])


def test_is_descendant() -> None:
    parent_of = {1: None, 2: 1, 3: 2, 4: None}
    assert is_descendant(3, 1, parent_of)
    assert is_descendant(1, 1, parent_of)
    assert not is_descendant(1, 3, parent_of)
    assert not is_descendant(4, 1, parent_of)


def test_weighted_mean_of_nothing_is_none() -> None:
    assert weighted_mean([]) is None


@st.composite
def trees(draw: st.DrawFn) -> list[Node]:
    size = draw(st.integers(min_value=1, max_value=25))
    nodes = []
    for index in range(1, size + 1):
        parent = draw(st.one_of(st.none(), st.integers(1, index - 1))) if index > 1 else None
        nodes.append(
            Node(
                index,
                parent,
                draw(st.integers(0, 100)),
                weight=draw(st.integers(1, 10)),
                dropped=draw(st.booleans()),
            )
        )
    return nodes


@given(trees())
def test_every_parent_is_the_weighted_mean_of_its_counted_children(nodes: list[Node]) -> None:
    rolled = rolled_up(nodes)
    assert set(rolled) == {node.id for node in nodes}
    for node in nodes:
        counted = [kid for kid in nodes if kid.parent_id == node.id and not kid.dropped]
        if counted:
            expected = sum(k.weight * rolled[k.id] for k in counted) / sum(
                k.weight for k in counted
            )
        else:
            expected = node.progress
        assert rolled[node.id] == pytest.approx(expected)
        # A mean never leaves the range of what it averages.
        assert 0 <= rolled[node.id] <= 100
