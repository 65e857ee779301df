"""Names found as people type them, in every alphabet.

SQLite's ``lower()`` and ``LIKE`` fold the case of ASCII letters only: ``МАҲАЛЛА`` would not
meet ``маҳалла``, nor ``Вахш`` meet ``вахш``. So a model whose names are searched keeps each
one folded (:func:`folded`) in an indexed column of its own (:class:`FoldedKeys`), and every
search folds what was typed the same way and compares with those columns
(:func:`contains_folded`), on SQLite and on PostgreSQL alike. Places (pickers, a phone's answer
naming a place, an import's place column) and community groups (pickers) are found this way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from django.db import models
from django.db.models import Q

if TYPE_CHECKING:
    from collections.abc import Iterable

    from django_stubs_ext import StrOrPromise

__all__ = ["FoldedKeys", "contains_folded", "folded", "folded_field"]


def folded(text: str | None) -> str:
    """How a typed or answered name is compared with the names kept: without the spaces
    around it, in lower case in every alphabet."""
    return (text or "").strip().lower()


def folded_field(label: StrOrPromise) -> models.CharField:  # type: ignore[type-arg]
    """The column that keeps one name folded: indexed, never edited by hand."""
    # Lower case can be longer than the name it folds (İ → i̇): room for twice the name.
    return models.CharField(label, max_length=400, blank=True, editable=False, db_index=True)


class FoldedKeys(models.Model):
    """A model that keeps its searched names folded. ``KEYED`` maps each searched field to
    the :func:`folded_field` that keeps it; :meth:`save` keeps them (also when only some
    fields are saved). Rows written around :meth:`save` (``bulk_create``, ``update``) must
    set their keys with :meth:`keep_keys`."""

    KEYED: ClassVar[dict[str, str]] = {}

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.keep_keys()
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            named = set(update_fields)
            kwargs["update_fields"] = named | {self.KEYED[f] for f in named if f in self.KEYED}
        super().save(*args, **kwargs)

    def keep_keys(self) -> None:
        for source, key in self.KEYED.items():
            setattr(self, key, folded(getattr(self, source)))


def contains_folded(model: type[FoldedKeys], fields: Iterable[str], query: str) -> Q:
    """Rows of ``model`` one of whose ``fields`` contains ``query``, whatever its case."""
    typed = folded(query)
    condition = Q()
    for field in fields:
        condition |= Q(**{f"{model.KEYED[field]}__contains": typed})
    return condition
