"""Writes about stored submissions: the record that someone was shown their personal and
sensitive answers."""

from __future__ import annotations

from typing import Any

from amniyat.accounts.models import User
from amniyat.audit.models import AuditEvent
from amniyat.audit.services import audit_record
from amniyat.fieldwork.models import Form, Submission

Verb = AuditEvent.Verb


def protected_answers_viewed(
    *,
    user: User,
    form: Form,
    submissions: list[Submission] | None = None,
    export: str = "",
    count: int = 0,
    request: Any = None,
) -> None:
    """Record that ``user`` was shown the personal and sensitive answers of submissions: on a
    page (their ids) or in an export (its format and how many)."""
    details: dict[str, Any] = {"form": form.pk}
    if submissions is not None:
        if not submissions:
            return
        details["submissions"] = [s.pk for s in submissions]
    if export:
        details.update(export=export, count=count)
    audit_record(
        actor=user,
        verb=Verb.VIEWED_PERSONAL,
        obj=form,
        programme=form.assessment.programme,
        request=request,
        details=details,
    )
