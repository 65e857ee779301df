from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

# Timing never gates the suite: no example fails for taking longer than Hypothesis's default
# 200 ms, nor a test for drawing its examples slowly, which a loaded two-core machine does now
# and then (the benchmarks measure time).
hypothesis_settings.register_profile(
    "amniyat", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
hypothesis_settings.load_profile("amniyat")


def pytest_configure(config: pytest.Config) -> None:
    Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)


@pytest.fixture(autouse=True)
def _defaults(settings: object) -> None:
    settings.AMNIYAT_REQUIRE_2FA = False  # type: ignore[attr-defined]
    settings.AXES_ENABLED = True  # type: ignore[attr-defined]


def forget_kept() -> None:
    """Empty the caches and what the process keeps (findings shown, indicator sets read)."""
    from django.core.cache import caches

    from amniyat.findings import services, shown

    for cache in caches.all():
        cache.clear()
    shown.forget()
    services.indicators_read.cache_clear()


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    """Each test starts with an empty cache, and nothing kept by the process: ids and times
    repeat from one test's database to the next, and a page cached by one must not answer
    another."""
    forget_kept()
    yield
    from amniyat.findings import shown

    shown.forget()


@pytest.fixture(autouse=True)
def _english() -> None:
    from django.utils import translation

    translation.activate("en")


IN_CI = os.environ.get("CI") == "true"


@pytest.fixture(autouse=True)
def _restore_shipped_places(request: pytest.FixtureRequest, django_db_blocker: object) -> object:
    """Transactional tests (the browser tests' live server) flush the database when they end,
    taking the places the data migration shipped with it; put them back for the tests after."""
    yield
    if {"live_server", "transactional_db"} & set(request.fixturenames):
        from amniyat.places.services import administrative_places_load

        with django_db_blocker.unblock():  # type: ignore[attr-defined]
            administrative_places_load()


@contextlib.contextmanager
def committed_for_module(django_db_blocker: Any) -> Iterator[None]:
    """Database access for a build that a whole module shares, committed outside the tests'
    transactions: on leaving, the audit rows it wrote and the tasks it queued (a priority
    list's chart, on every change) go too, or the tests after it would find them. The caller
    removes its own programme."""
    from django_tasks_db.models import DBTaskResult

    from amniyat.audit.models import AuditEvent

    with django_db_blocker.unblock():
        last_event = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        queued = set(DBTaskResult.objects.values_list("pk", flat=True))
        try:
            yield
        finally:
            AuditEvent.objects.filter(pk__gt=last_event).delete()
            DBTaskResult.objects.exclude(pk__in=queued).delete()


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    """Drop the test database even if a thread of a concurrency or live-server test left an
    idle PostgreSQL session behind (their connections belong to threads that have ended)."""
    yield
    with django_db_blocker.unblock():
        from django.db import connection

        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
