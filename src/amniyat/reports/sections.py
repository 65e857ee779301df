"""How a section built from data is built, and how it is known to be stale.

Each kind of built section has a :class:`Builder`, registered in :data:`BUILDERS` by the
module that builds it: ``build`` reads what the section shows (through selectors that take
the user building it, and only what may be published: published findings through disclosure
control, publishable quotes, published maps) and returns it with the record of exactly what
it was built from; ``sources_of`` returns that record as the sources are now for several
sections at once (a report's page asks for all of its sections in a few queries), without
building. A section is stale when the two records differ: its findings were recomputed, its
map changed, a quote was withdrawn.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
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

    def sources_of(self, *, sections: Sequence[Section]) -> dict[int, Mapping[str, Any]]: ...


BUILDERS: dict[str, Builder] = {}
# The kinds people write (``Section.WRITTEN``), here so as not to import the models.
WRITTEN_KINDS = frozenset({"title", "text", "recommendations"})


def register(kind: str, builder: Builder) -> None:
    if kind in BUILDERS:
        raise ValueError(f"A builder for {kind!r} sections is registered already.")
    BUILDERS[kind] = builder


def stale(sections: Iterable[Section]) -> set[int]:
    """The built sections among ``sections`` (of one report) whose sources changed since they
    were built; a section of a kind without a builder yet, or never built, is stale. A few
    queries, however many sections."""
    by_kind: dict[str, list[Section]] = defaultdict(list)
    found: set[int] = set()
    for section in sections:
        if section.kind in WRITTEN_KINDS:
            continue
        if section.kind not in BUILDERS or section.built_at is None:
            found.add(section.pk)
        else:
            by_kind[section.kind].append(section)
    for kind, group in by_kind.items():
        now = BUILDERS[kind].sources_of(sections=group)
        found.update(s.pk for s in group if dict(now[s.pk]) != dict(s.built_from))
    return found


def is_stale(section: Section) -> bool:
    return section.pk in stale([section])
