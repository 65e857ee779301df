"""Reading downloads: each is its requester's alone."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import QuerySet
from django.http import Http404

from amniyat.accounts import policies
from amniyat.accounts.models import Programme
from amniyat.downloads import kinds
from amniyat.downloads.models import Download

if TYPE_CHECKING:
    from amniyat.accounts.policies import AnyUser


def downloads_of(
    *, user: AnyUser, programme: Programme, kind: str | None = None
) -> QuerySet[Download]:
    """The downloads that ``user`` asked for in ``programme`` (of ``kind``, or of every kind)
    and may still have, newest first."""
    if not user.is_authenticated:
        return Download.objects.none()
    names = [kind] if kind is not None else kinds.names()
    allowed = [name for name in names if policies.can(user, kinds.kind_of(name).verb, programme)]
    return Download.objects.filter(
        programme=programme, requested_by_id=user.pk, kind__in=allowed
    ).defer("summary")


def download_get(*, user: AnyUser, programme: Programme, pk: int) -> Download:
    """A download of ``programme`` that ``user`` asked for and may still have; 404 for any
    other, whoever asked for it (a file holds what its requester may see)."""
    download = (
        Download.objects.filter(pk=pk, requested_by_id=user.pk, programme=programme).first()
        if user.is_authenticated
        else None
    )
    if download is None:
        raise Http404("No such download.")
    try:
        spec = kinds.kind_of(download.kind)
    except LookupError:
        raise Http404("No such download.") from None
    if not policies.can(user, spec.verb, programme):
        raise Http404("No such download.")
    download.programme = programme
    return download
