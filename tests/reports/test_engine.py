"""The report engine: a report starts from its kind's template, its sections are written,
added, moved and removed, it goes from draft to published with the one policy deciding each
step, everything audited; readers see only what their role may."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection

from amniyat.accounts.models import Membership, Programme, User
from amniyat.audit.models import AuditEvent
from amniyat.core.fields import is_encrypted
from amniyat.fieldwork.models import Assessment
from amniyat.reports import selectors, services
from amniyat.reports.models import Report, Section
from tests.factories import ProgrammeFactory, member_of

Role = Membership.Role
Kind = Section.Kind


@pytest.fixture
def programme(db: None) -> Programme:
    return ProgrammeFactory()


@pytest.fixture
def lead(programme: Programme) -> User:
    return member_of(programme, Role.LEAD)


@pytest.fixture
def analyst(programme: Programme) -> User:
    return member_of(programme, Role.ANALYST)


def _briefing(user: User, programme: Programme, **values: object) -> Report:
    return services.report_create(
        user=user,
        programme=programme,
        kind=Report.Kind.BRIEFING,
        language=str(values.pop("language", "tg")),
        title=str(values.pop("title", "Drivers of insecurity")),
        **values,  # type: ignore[arg-type]
    )


def _kinds(report: Report) -> list[str]:
    return list(selectors.sections_of(report).values_list("kind", flat=True))


def test_a_briefing_paper_starts_from_its_template(analyst: User, programme: Programme) -> None:
    report = _briefing(analyst, programme)
    assert report.status == Report.Status.DRAFT
    assert _kinds(report) == list(services.TEMPLATES[Report.Kind.BRIEFING])
    assert list(report.authors.all()) == [analyst]
    assert AuditEvent.objects.filter(
        verb=AuditEvent.Verb.CREATED, object_id=str(report.pk)
    ).exists()


def test_only_leads_and_analysts_start_reports(programme: Programme) -> None:
    for role in (Role.FACILITATOR, Role.VIEWER):
        with pytest.raises(PermissionDenied):
            _briefing(member_of(programme, role), programme)
    assert not Report.objects.exists()


def test_an_assessment_of_another_programme_is_refused(analyst: User, programme: Programme) -> None:
    other = Assessment.objects.create(
        programme=ProgrammeFactory(), title="Elsewhere", kind=Assessment.Kind.BASELINE
    )
    with pytest.raises(ValidationError) as caught:
        _briefing(analyst, programme, assessment=other)
    assert "assessment" in caught.value.message_dict
    assert not Report.objects.exists()


def test_sections_are_written_moved_added_and_removed(analyst: User, programme: Programme) -> None:
    report = _briefing(analyst, programme)
    start = report.revision
    summary = selectors.sections_of(report).get(kind=Kind.TEXT)
    services.section_update(
        user=analyst, section=summary, heading="Summary", text="Women feel *unsafe*.[^1]\n\n[^1]: n"
    )
    summary.refresh_from_db()
    assert summary.text.startswith("Women feel")
    # Free text is encrypted at rest.
    with connection.cursor() as cursor:
        cursor.execute("SELECT text FROM reports_section WHERE id = %s", [summary.pk])
        (stored,) = cursor.fetchone()
    assert "Women" not in stored and is_encrypted(stored)

    services.section_move(user=analyst, section=summary, by=2)
    assert _kinds(report)[1:4] == [Kind.METHODOLOGY, Kind.FINDINGS, Kind.TEXT]
    chart = services.section_add(user=analyst, report=report, kind=Kind.CHART, after=summary)
    assert _kinds(report)[4] == Kind.CHART
    services.section_remove(user=analyst, section=chart)
    assert Kind.CHART not in _kinds(report)
    report.refresh_from_db()
    assert report.revision == start + 4
    changes = [
        details["change"]
        for details in AuditEvent.objects.filter(
            object_id=str(report.pk), verb=AuditEvent.Verb.UPDATED
        )
        .order_by("id")
        .values_list("details", flat=True)
    ]
    assert changes == ["section_update", "sections_reorder", "section_add", "section_remove"]
    # The audit never holds what was written.
    details = AuditEvent.objects.values_list("details", flat=True)
    assert all("unsafe" not in str(d) for d in details)


def test_the_title_page_stays_first_and_is_kept(analyst: User, programme: Programme) -> None:
    report = _briefing(analyst, programme)
    title = selectors.sections_of(report).get(kind=Kind.TITLE)
    order = list(selectors.sections_of(report).values_list("pk", flat=True))
    with pytest.raises(ValidationError):
        services.sections_reorder(user=analyst, report=report, order=[*order[1:], order[0]])
    with pytest.raises(ValidationError):
        services.section_remove(user=analyst, section=title)
    with pytest.raises(ValidationError):
        services.sections_reorder(user=analyst, report=report, order=order[:-1])
    assert list(selectors.sections_of(report).values_list("pk", flat=True)) == order


def test_too_long_a_text_is_refused_and_nothing_changes(
    analyst: User, programme: Programme
) -> None:
    report = _briefing(analyst, programme)
    summary = selectors.sections_of(report).get(kind=Kind.TEXT)
    with pytest.raises(ValidationError) as caught:
        services.section_update(user=analyst, section=summary, text="x" * 60_001)
    assert "text" in caught.value.message_dict
    summary.refresh_from_db()
    assert summary.text == ""


def test_from_draft_to_published(lead: User, analyst: User, programme: Programme) -> None:
    report = _briefing(analyst, programme)
    services.report_submit(user=analyst, report=report)
    services.report_return(user=lead, report=report, reason="Shorten the summary.")
    assert report.status == Report.Status.DRAFT
    services.report_submit(user=analyst, report=report)
    # Built sections that were never built keep it from approval.
    with pytest.raises(ValidationError):
        services.report_approve(user=lead, report=report)
    for section in services.unready_sections(report):
        services.section_remove(user=analyst, section=section)
    with pytest.raises(PermissionDenied):
        services.report_approve(user=analyst, report=report)
    services.report_approve(user=lead, report=report)
    assert report.approved_by == lead
    # Approved: no change until reopened.
    with pytest.raises(ValidationError):
        services.report_update(user=analyst, report=report, title="Another")
    services.report_publish(user=lead, report=report)
    report.refresh_from_db()
    assert report.status == Report.Status.PUBLISHED and report.published_by == lead
    with pytest.raises(ValidationError):
        services.report_reopen(user=lead, report=report)
    Verb = AuditEvent.Verb
    verbs = list(
        AuditEvent.objects.filter(object_id=str(report.pk))
        .exclude(verb__in=[Verb.CREATED, Verb.UPDATED])
        .order_by("id")
        .values_list("verb", flat=True)
    )
    assert verbs == [
        Verb.REVIEW_ASKED,
        Verb.RETURNED,
        Verb.REVIEW_ASKED,
        Verb.APPROVED,
        Verb.PUBLISHED,
    ]


def test_readers_see_what_their_role_may(lead: User, analyst: User, programme: Programme) -> None:
    draft = _briefing(analyst, programme, title="Draft")
    published = _briefing(analyst, programme, title="Published")
    Report.objects.filter(pk=published.pk).update(status=Report.Status.PUBLISHED)
    viewer = member_of(programme, Role.VIEWER)
    facilitator = member_of(programme, Role.FACILITATOR)
    outsider = member_of(ProgrammeFactory(), Role.LEAD)
    titles = lambda user: sorted(  # noqa: E731
        selectors.report_list(user=user, programme=programme).values_list("title", flat=True)
    )
    assert titles(lead) == titles(analyst) == ["Draft", "Published"]
    assert titles(viewer) == titles(facilitator) == ["Published"]
    assert titles(outsider) == []
    from django.http import Http404

    with pytest.raises(Http404):
        selectors.report_get(user=viewer, programme=programme, pk=draft.pk)
