"""Scoped reads of the coded evidence: sources, their passages and redaction flags, excerpts
and the quotes approved for publication. An object outside the user's scope is absent (404)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import QuerySet

from amniyat.accounts import policies
from amniyat.core.selectors import one_or_404
from amniyat.drivers.models import Excerpt, Passage, RedactionFlag, Source

if TYPE_CHECKING:
    from amniyat.accounts.models import Programme
    from amniyat.accounts.policies import AnyUser


# A source's place is shown by name: its boundary and population are not read with it.
_PLACE_UNSHOWN = ("place__boundary", "place__population")


def source_list(*, user: AnyUser, programme: Programme) -> QuerySet[Source]:
    """The programme's sources this user may read; the (encrypted) text is deferred."""
    return (
        Source.objects.filter(policies.source_scope(user), programme=programme)
        .select_related("assessment", "place", "organisation")
        .defer("text", *_PLACE_UNSHOWN)
    )


def source_get(*, user: AnyUser, programme: Programme, pk: int | str) -> Source:
    queryset = Source.objects.filter(policies.source_scope(user), programme=programme)
    source = one_or_404(
        queryset.select_related("assessment", "place", "organisation").defer(*_PLACE_UNSHOWN),
        pk,
        "source",
    )
    source.programme = programme  # the one it was found in, not read again
    return source


def passage_list(*, user: AnyUser, programme: Programme) -> QuerySet[Passage]:
    return Passage.objects.filter(
        policies.source_scope(user, "source__"), source__programme=programme
    )


def redaction_flag_get(*, user: AnyUser, programme: Programme, pk: int | str) -> RedactionFlag:
    """A flag of notes the user may read."""
    queryset = RedactionFlag.objects.filter(
        policies.source_scope(user, "source__"), source__programme=programme
    ).select_related("source", "source__programme")
    return one_or_404(queryset, pk, "redaction flag")


def excerpt_list(*, user: AnyUser, programme: Programme) -> QuerySet[Excerpt]:
    """Excerpts of the sources this user may read."""
    return Excerpt.objects.filter(
        policies.source_scope(user, "source__"), source__programme=programme
    ).select_related("code", "coder", "source", "source__place")


def excerpt_get(*, user: AnyUser, programme: Programme, pk: int | str) -> Excerpt:
    return one_or_404(excerpt_list(user=user, programme=programme), pk, "excerpt")


def publishable_excerpts(*, programme: Programme) -> QuerySet[Excerpt]:
    """Quotes a second lead or analyst approved for publication (redacted): what may be shown
    with a published map. A quote only proposed, or returned, is not among them."""
    return Excerpt.objects.filter(
        source__programme=programme, publication=Excerpt.Publication.APPROVED
    ).select_related("code")
