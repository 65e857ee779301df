"""Scoped reads of the codebook."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import QuerySet

from amniyat.accounts import policies
from amniyat.core.selectors import one_or_404
from amniyat.drivers.models import Code

if TYPE_CHECKING:
    from amniyat.accounts.models import Programme
    from amniyat.accounts.policies import AnyUser


def code_list(*, user: AnyUser, programme: Programme) -> QuerySet[Code]:
    """The programme's codebook, for those who code or read coded evidence; the names of
    codes also appear on published maps, which carry their own labels."""
    if not policies.can(user, "codebook.view", programme):
        return Code.objects.none()
    return Code.objects.filter(programme=programme).select_related("parent")


def code_get(*, user: AnyUser, programme: Programme, pk: int | str) -> Code:
    return one_or_404(code_list(user=user, programme=programme), pk, "code")
