"""Writing audit events. Every service that changes important data or shows personal data
calls :func:`audit_record` inside its own transaction."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import models
from django.http import HttpRequest

from amniyat.audit.models import AuditEvent
from amniyat.core.i18n import Translatable

if TYPE_CHECKING:
    from amniyat.accounts.models import Programme, User


def client_address(request: HttpRequest | None) -> str | None:
    """The client's address: REMOTE_ADDR, or with ``AMNIYAT_PROXY_COUNT`` trusted proxies in
    front, the address the outermost of them saw (it appended it to X-Forwarded-For)."""
    if request is None:
        return None
    proxies = settings.AMNIYAT_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if len(hops) >= proxies:
            return str(hops[-proxies])
    return request.META.get("REMOTE_ADDR") or None


def audit_record(
    *,
    actor: User | None,
    verb: str,
    obj: models.Model | None = None,
    programme: Programme | None = None,
    request: HttpRequest | None = None,
    details: dict[str, Any] | None = None,
    actor_label: str = "",
) -> AuditEvent:
    event = _event(actor, verb, obj, programme, request, details, actor_label)
    event.save(force_insert=True)
    return event


def audit_records(
    *,
    actor: User | None,
    verb: str,
    objects: Iterable[tuple[models.Model | None, dict[str, Any]]],
    programme: Programme | None = None,
    request: HttpRequest | None = None,
    actor_label: str = "",
) -> list[AuditEvent]:
    """Several events of one actor and verb, one per (object, details), written at once: the
    rows :func:`audit_record` would write one by one (an export reading twenty sources)."""
    return audit_records_across(
        actor=actor,
        verb=verb,
        objects=[(obj, programme, details) for obj, details in objects],
        request=request,
        actor_label=actor_label,
    )


def audit_records_across(
    *,
    actor: User | None,
    verb: str,
    objects: Iterable[tuple[models.Model | None, Programme | None, dict[str, Any]]],
    request: HttpRequest | None = None,
    actor_label: str = "",
) -> list[AuditEvent]:
    """As :func:`audit_records`, for objects of several programmes, one per (object,
    programme, details): a page of members of several groups, of submissions of several
    forms, in one INSERT."""
    events = [
        _event(actor, verb, obj, programme, request, details, actor_label)
        for obj, programme, details in objects
    ]
    if len(events) == 1:
        # One row is one statement, atomic by itself: bulk_create would wrap it in a
        # transaction of its own, and on PostgreSQL BEGIN and COMMIT are two more round trips
        # on every page that records what it showed.
        events[0].save(force_insert=True)
        return events
    return AuditEvent.objects.bulk_create(events)


def _event(
    actor: User | None,
    verb: str,
    obj: models.Model | None,
    programme: Programme | None,
    request: HttpRequest | None,
    details: dict[str, Any] | None,
    actor_label: str,
) -> AuditEvent:
    return AuditEvent(
        actor=actor if actor is not None and actor.pk else None,
        actor_label=(actor.get_username() if actor is not None and actor.pk else actor_label)[:150],
        verb=verb,
        programme=programme,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        object_label=_recorded_label(obj),
        ip_address=client_address(request),
        details=details or {},
    )


def _recorded_label(obj: models.Model | None) -> str:
    """What the object was called, as written: a record of the time must not depend on the
    language its actor happened to read in."""
    if obj is None:
        return ""
    if isinstance(obj, Translatable) and obj.TRANSLATED:
        return str(getattr(obj, obj.TRANSLATED[0]) or "")[:200]
    return str(obj)[:200]
