"""How a section built from data is built, and how it is known to be stale.

Each kind of built section has a :class:`Builder`, registered in :data:`BUILDERS` by the
module that builds it: ``build`` reads what the section shows (through selectors that take
the user building it, and only what may be published: published findings through disclosure
control, publishable quotes, published maps) and returns it with the record of exactly what
it was built from; ``sources`` returns that record as the sources are now, without building.
A section is stale when the two records differ: its findings were recomputed, its map
changed, a quote was withdrawn.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from amniyat.accounts.models import User
    from amniyat.reports.models import Section


@dataclass(frozen=True)
class Built:
    """What a section shows (plain values: numbers as published, labels, the drawn charts'
    specifications) and exactly what it was built from (ids and data states)."""

    content: Mapping[str, Any]
    sources: Mapping[str, Any]


class Builder(Protocol):
    def build(self, *, user: User | None, section: Section) -> Built:
        """``user`` None: the system (the command line), which may read what is published."""
        ...

    def sources(self, *, section: Section) -> Mapping[str, Any]: ...


BUILDERS: dict[str, Builder] = {}


def register(kind: str, builder: Builder) -> None:
    if kind in BUILDERS:
        raise ValueError(f"A builder for {kind!r} sections is registered already.")
    BUILDERS[kind] = builder


def is_stale(section: Section) -> bool:
    """Whether the sources a built section was built from changed since (a section of a kind
    without a builder yet, or never built, is stale)."""
    builder = BUILDERS.get(section.kind)
    if builder is None or section.built_at is None:
        return True
    return dict(builder.sources(section=section)) != dict(section.built_from)
