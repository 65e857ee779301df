"""Scoped reads of the coded evidence: sources, their passages and redaction flags, excerpts
and the quotes approved for publication. An object outside the user's scope is absent (404)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from django.core.cache import cache
from django.db.models import QuerySet

from amniyat.accounts import policies
from amniyat.core.selectors import one_or_404
from amniyat.drivers.models import CodingRevision, Excerpt, Passage, RedactionFlag, Source

if TYPE_CHECKING:
    from amniyat.accounts.models import Programme
    from amniyat.accounts.policies import AnyUser


Computed = TypeVar("Computed")
# What is computed from a programme's coding is kept this long at most; a change to the
# coding makes it be computed afresh at once (:func:`coding_kept`).
CODING_KEPT_SECONDS = 24 * 60 * 60

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


# ----------------------------------------------------------------------------------------
# What is computed from the coding, kept until it changes.


def coding_revision(programme: Programme) -> str:
    """The programme's :class:`CodingRevision` ("" before its first change)."""
    revision = (
        CodingRevision.objects.filter(programme=programme)
        .values_list("revision", flat=True)
        .first()
    )
    return revision or ""


def coding_scope(user: AnyUser, programme: Programme) -> str | None:
    """Which of the programme's sources (and so passages and excerpts) the user reads and
    codes, as a part of the key of what is computed from them (:func:`source_scope` and the
    policy's "source.code" answer alike for these): all of them, or a partner's; None (not
    kept) for anyone else."""
    membership = policies.memberships(user).get(programme.pk)
    if membership is None:
        return None
    if membership.role in policies.FULL_VIEW_ROLES:
        return "all"
    if membership.role == policies.Role.FACILITATOR:
        return f"organisation-{membership.organisation_id}"
    return None


def coding_kept(
    what: str,
    *,
    programme: Programme,
    revision: str,
    parts: tuple[object, ...],
    compute: Callable[[], Computed],
) -> Computed:
    """``compute()``, kept in the cache under the programme's coding ``revision`` (read by
    the caller before anything ``compute`` reads, so that what is kept is never older than
    the revision it is kept under) and ``parts`` (the scope it was computed for, ...):
    computed again only once the coding changes (every writer gives the revision a new
    value, ``services.coding_changed``). Only ids, offsets and scores may be kept: nothing
    decrypted (no text of a source), nothing translated."""
    key = ":".join(["drivers", what, str(programme.pk), revision, *map(str, parts)])
    kept: Computed | None = cache.get(key)
    if kept is None:
        kept = compute()
        cache.set(key, kept, CODING_KEPT_SECONDS)
    return kept
