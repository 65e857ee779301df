"""The roll-up of progress through a tree of actions: pure Python, no Django.

A leaf's progress is what those responsible report (0–100 %). A parent's is the weighted mean
of its children's, each child counted with its weight (1 unless set):

    progress(parent) = Σ weight(c) · progress(c) / Σ weight(c)   over its children c

This is how Decidim's accountability module rolls results up (``Result#update_progress!``):
the plain average of the children where weights are not used, and Σ weight · progress where
they are, its weights being shares that add up to 1. The weighted mean above gives both: with
every weight 1 it is the average, and with shares adding up to 1 it is Decidim's sum.

A dropped child no longer counts (it will never be done, and it is not a failure of the rest);
a parent whose children are all dropped reads as its own reported progress, as a leaf does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Node:
    id: int
    parent_id: int | None
    progress: float  # as reported, 0–100
    weight: float = 1.0
    dropped: bool = False


class CycleError(ValueError):
    """The parents given do not form a tree."""


def rolled_up(nodes: Iterable[Node]) -> dict[int, float]:
    """Every node's progress, parents computed from their children (any depth). A parent
    missing from ``nodes`` makes its child a root. Raises :class:`CycleError` on a cycle."""
    by_id: dict[int, Node] = {node.id: node for node in nodes}
    children: dict[int, list[Node]] = {}
    for node in by_id.values():
        if node.parent_id is not None and node.parent_id in by_id:
            children.setdefault(node.parent_id, []).append(node)
    result: dict[int, float] = {}
    state: dict[int, int] = {}  # 1: being computed, 2: done

    def compute(start: Node) -> None:
        # Iterative post-order walk, so a deep tree does not hit the recursion limit.
        stack: list[tuple[Node, bool]] = [(start, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded:
                result[node.id] = _mean(node, children.get(node.id, []), result)
                state[node.id] = 2
                continue
            if state.get(node.id) == 2:
                continue
            if state.get(node.id) == 1:
                raise CycleError(f"action {node.id} is part of itself")
            state[node.id] = 1
            stack.append((node, True))
            for child in children.get(node.id, []):
                if state.get(child.id) == 1:
                    raise CycleError(f"action {child.id} is part of itself")
                if state.get(child.id) != 2:
                    stack.append((child, False))

    for node in by_id.values():
        if state.get(node.id) != 2:
            compute(node)
    return result


def _mean(node: Node, kids: list[Node], done: Mapping[int, float]) -> float:
    mean = weighted_mean((done[kid.id], kid.weight) for kid in kids if not kid.dropped)
    return float(node.progress) if mean is None else mean


def weighted_mean(pairs: Iterable[tuple[float, float]]) -> float | None:
    """Σ w·p / Σ w of (progress, weight) pairs; None when there are none."""
    items = [(p, w) for p, w in pairs if w > 0]
    total = sum(w for _p, w in items)
    if not items or total <= 0:
        return None
    return sum(p * w for p, w in items) / total


def is_descendant(candidate: int, of: int, parent_of: Mapping[int, int | None]) -> bool:
    """Whether ``candidate`` lies below ``of`` (or is it) in the tree ``parent_of`` gives:
    making ``of`` a part of ``candidate`` would then close a cycle."""
    seen: set[int] = set()
    current: int | None = candidate
    while current is not None and current not in seen:
        if current == of:
            return True
        seen.add(current)
        current = parent_of.get(current)
    return False
