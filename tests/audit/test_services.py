"""Writing audit events one at a time and several at once."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from amniyat.accounts.models import Membership
from amniyat.audit.models import AuditEvent
from amniyat.audit.services import audit_record, audit_records
from tests.factories import CommunityGroupFactory, member_of

FIELDS = ("actor_id", "actor_label", "verb", "programme_id", "object_type", "object_id")
MORE = ("object_label", "ip_address", "details")


@pytest.mark.django_db
def test_several_events_are_the_rows_one_at_a_time_would_be_in_one_insert() -> None:
    groups = [CommunityGroupFactory(), CommunityGroupFactory()]
    programme = groups[0].programme
    lead = member_of(programme, Membership.Role.LEAD)
    request = RequestFactory().get("/", REMOTE_ADDR="10.1.2.3")
    one_by_one = [
        audit_record(
            actor=lead,
            verb="viewed_personal",
            obj=group,
            programme=programme,
            request=request,
            details={"n": index},
        )
        for index, group in enumerate(groups)
    ]
    with CaptureQueriesContext(connection) as queries:
        at_once = audit_records(
            actor=lead,
            verb="viewed_personal",
            objects=[(group, {"n": index}) for index, group in enumerate(groups)],
            programme=programme,
            request=request,
        )
    assert len(queries.captured_queries) == 1
    stored = AuditEvent.objects.order_by("pk")
    assert stored.count() == 4
    rows = list(stored.values_list(*FIELDS, *MORE))
    assert rows[:2] == rows[2:]
    assert rows[0][-2:] == ("10.1.2.3", {"n": 0})
    assert all(event.at is not None for event in at_once + one_by_one)


@pytest.mark.django_db
def test_nothing_to_record_writes_nothing() -> None:
    with CaptureQueriesContext(connection) as queries:
        assert audit_records(actor=None, verb="exported", objects=[]) == []
    assert queries.captured_queries == []
