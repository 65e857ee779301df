"""Priority lists: the matrix's ranking, "how many are affected" from published survey
findings, the group's agreement, who may read and change them, and bad input."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
import vl_convert
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from amniyat.accounts.models import Membership, Organisation, Programme
from amniyat.audit.models import AuditEvent
from amniyat.communities.models import CommunityGroup
from amniyat.demo.build import INDICATORS_FILE
from amniyat.drivers.models import Code, DriverMap, Factor, Priority, PriorityList
from amniyat.drivers.priorities import services
from amniyat.drivers.priorities.tasks import draw_priority_chart
from amniyat.fieldwork.models import Assessment
from amniyat.findings import charts
from amniyat.findings import services as findings_services
from amniyat.findings.models import Findings
from tests.factories import (
    CommunityGroupFactory,
    OrganisationFactory,
    ProgrammeFactory,
    member_of,
    shipped_place,
)
from tests.findings.test_findings import TJ_DISTRICTS, survey_assessment

Role = Membership.Role


@pytest.fixture
def programme(db: None) -> Programme:
    return ProgrammeFactory(districts=[shipped_place(code) for code in TJ_DISTRICTS])


def _group(programme: Programme, organisation: Organisation | None = None, **kwargs: object):  # type: ignore[no-untyped-def]
    organisation = organisation or programme.lead_organisation
    if organisation.pk != programme.lead_organisation_id:
        programme.partners.add(organisation)
    return CommunityGroupFactory(
        programme=programme, facilitating_organisation=organisation, **kwargs
    )


def _list(group: CommunityGroup, title: str = "Our priorities") -> PriorityList:
    return services.priority_list_create(
        user=None, programme=group.programme, group=group, title=title
    )


def _add(priority_list: PriorityList, concern: str, *scores: int, **kwargs: object) -> Priority:
    severity, affected, urgency, changeable = scores
    return services.priority_add(
        user=None,
        priority_list=priority_list,
        concern=concern,
        severity=severity,
        affected=affected,
        urgency=urgency,
        changeable=changeable,
        **kwargs,  # type: ignore[arg-type]
    )


def _ranks(priority_list: PriorityList) -> list[tuple[str, int]]:
    return [
        (p.concern, p.rank)
        for p in Priority.objects.filter(priority_list=priority_list).order_by("rank", "concern")
    ]


# Ranking ----------------------------------------------------------------------------------


def test_concerns_rank_by_score_then_severity_then_urgency(programme: Programme) -> None:
    priority_list = _list(_group(programme))
    _add(priority_list, "Drugs", 3, 3, 3, 3)  # 12
    _add(priority_list, "Domestic violence", 5, 4, 4, 2)  # 15, severity 5
    _add(priority_list, "Unemployment", 4, 5, 4, 2)  # 15, severity 4, urgency 4
    _add(priority_list, "Street lighting", 4, 3, 3, 5)  # 15, severity 4, urgency 3
    _add(priority_list, "Theft", 3, 3, 3, 3)  # 12: a full tie with Drugs shares its rank
    _add(priority_list, "Land disputes", 1, 1, 1, 1)

    assert _ranks(priority_list) == [
        ("Domestic violence", 1),
        ("Unemployment", 2),
        ("Street lighting", 3),
        ("Drugs", 4),
        ("Theft", 4),
        ("Land disputes", 6),
    ]
    lowest = Priority.objects.get(priority_list=priority_list, concern="Land disputes")
    services.priority_update(user=None, priority=lowest, severity=5, urgency=5, changeable=5)
    assert _ranks(priority_list)[0] == ("Land disputes", 1)
    services.priority_delete(
        user=None, priority=Priority.objects.get(priority_list=priority_list, concern="Drugs")
    )
    assert ("Theft", 5) in _ranks(priority_list)


def test_the_share_of_respondents_maps_to_the_affected_score() -> None:
    assert [services.affected_band(p) for p in (0, 4.9, 5, 14.9, 15, 29.9, 30, 49.9, 50, 100)] == [
        1,
        1,
        2,
        2,
        3,
        3,
        4,
        4,
        5,
        5,
    ]


# The survey -------------------------------------------------------------------------------


@pytest.fixture
def surveyed(db: None) -> tuple[Assessment, Findings]:
    assessment = survey_assessment(n=400)
    findings_services.indicator_set_save(
        acting_user=None,
        programme=assessment.programme,
        spec=INDICATORS_FILE.read_text(encoding="utf-8"),
    )
    findings = findings_services.findings_for(assessment.forms.get(), enqueue=False)
    assert findings is not None
    findings = findings_services.findings_compute(findings.pk)
    assert findings.status == Findings.Status.READY, findings.error
    return assessment, findings


def _estimate(findings: Findings, indicator: str, district: str | None = None) -> dict:  # type: ignore[type-arg]
    for record in findings.results["estimates"]:
        if record["indicator"] != indicator:
            continue
        if district is None and not record["by"]:
            return record  # type: ignore[no-any-return]
        if district and record["by"] == ["district"] and record["domain"]["district"] == district:
            return record  # type: ignore[no-any-return]
    raise AssertionError(f"no estimate for {indicator} {district}")


def test_how_many_are_affected_comes_from_the_published_survey_figure(
    surveyed: tuple[Assessment, Findings],
) -> None:
    assessment, findings = surveyed
    programme = assessment.programme
    group = _group(programme, place=shipped_place("TJ-KT-KUL"))
    drugs = Code.objects.create(
        programme=programme, key="drugs", name_en="Drugs", kind=Code.Kind.CONCERN,
        indicator_keys=["concern.drugs"],
    )  # fmt: skip
    priority_list = services.priority_list_create(
        user=None, programme=programme, group=group, title="Kulob", assessment=assessment
    )
    # Draft findings are never used: facilitators and members may not see them.
    draft = _add(priority_list, "", 4, 1, 4, 3, code=drugs)
    assert draft.concern == "Drugs"
    assert draft.affected_percent is None and draft.affected == 1

    lead = member_of(programme, Role.LEAD)
    findings_services.findings_publish(acting_user=lead, findings=findings)
    figure = services.affected_from_survey(draft, user=lead)
    local = _estimate(findings, "concern.drugs", "TJ-KT-KUL")
    expected = local if not local["suppressed"] else _estimate(findings, "concern.drugs")
    assert figure is not None and figure.indicator == "concern.drugs"
    assert figure.district == ("TJ-KT-KUL" if not local["suppressed"] else "")
    draft.refresh_from_db()
    assert draft.affected_percent == pytest.approx(round(expected["estimate"] * 100, 1))
    assert draft.affected == services.affected_band(draft.affected_percent or 0)
    assert draft.affected_indicator == "concern.drugs"

    # A new concern linked to the same survey is filled as it is added, whatever was typed.
    gbv = Code.objects.create(
        programme=programme, key="gbv", name_en="Gender-based violence",
        kind=Code.Kind.CONCERN, indicator_keys=["no_such_indicator", "concern.gbv"],
    )  # fmt: skip
    added = _add(priority_list, "Violence against women", 5, 5, 5, 2, code=gbv)
    assert added.affected_indicator == "concern.gbv"
    assert added.affected == services.affected_band(added.affected_percent or 0)

    # An indicator of the opposite sense (the share who trust the police) is not a share of
    # people affected; the share who distrust both the police and the authorities is.
    mistrust = Code.objects.create(
        programme=programme, key="police_mistrust", name_en="Mistrust of the police",
        kind=Code.Kind.DRIVER, indicator_keys=["trust_police", "distrust_both"],
    )  # fmt: skip
    assert _add(priority_list, "", 3, 3, 3, 3, code=mistrust).affected_indicator == "distrust_both"

    # The page shows the share and the indicator's label, in the reader's language; the
    # findings' results are read for the first page, not again for every page after it.
    client = Client()
    client.force_login(lead)
    page = client.get(f"/p/{programme.slug}/drivers/priorities/{priority_list.pk}/")
    text = page.content.decode()
    assert f"{round(draft.affected_percent)}% in the survey" in text
    assert "Names as a main security concern" in text
    with CaptureQueriesContext(connection) as queries:
        page = client.get(
            f"/p/{programme.slug}/drivers/priorities/{priority_list.pk}/",
            headers={"Accept-Language": "tg"},
        )
    assert "Ҳамчун мушкили асосии амниятӣ номбар мекунанд" in page.content.decode()
    assert not [q for q in queries if '"findings_findings"."results"' in q["sql"]]

    # Without the survey the share goes, and the typed score stays.
    services.priority_list_update(user=lead, priority_list=priority_list, assessment=None)
    added.refresh_from_db()
    assert added.affected_percent is None and added.affected_indicator == ""


# Agreement --------------------------------------------------------------------------------


def test_the_agreement_records_who_took_part_and_a_change_reopens_it(
    programme: Programme,
) -> None:
    group = _group(programme)
    lead = member_of(programme, Role.LEAD)
    priority_list = _list(group)
    with pytest.raises(ValidationError, match="at least one concern"):
        services.priority_list_agree(
            user=lead, priority_list=priority_list, agreed_on=datetime.date(2022, 3, 1),
            participants=12, women=6, men=6,
        )  # fmt: skip
    _add(priority_list, "Drugs", 3, 3, 3, 3)
    with pytest.raises(ValidationError) as raised:
        services.priority_list_agree(
            user=lead, priority_list=priority_list, agreed_on=datetime.date(2022, 3, 1),
            participants=10, women=6, men=6,
        )  # fmt: skip
    assert "cannot outnumber the participants" in str(raised.value)
    priority_list.refresh_from_db()
    assert priority_list.agreed_on is None and priority_list.participants == 0

    services.priority_list_agree(
        user=lead,
        priority_list=priority_list,
        agreed_on=datetime.date(2022, 3, 1),
        participants=12,
        women=7,
        men=5,
        sectors=["police", "teacher"],
        took_part="mahalla chair, two teachers, district police inspector",
    )
    priority_list.refresh_from_db()
    assert priority_list.agreed_on == datetime.date(2022, 3, 1)
    assert (priority_list.participants, priority_list.women, priority_list.men) == (12, 7, 5)
    event = AuditEvent.objects.filter(object_id=str(priority_list.pk)).latest("pk")
    assert event.details["agreed_on"] == "2022-03-01" and event.details["ranking"] == ["Drugs"]

    _add(priority_list, "Theft", 2, 2, 2, 2)
    priority_list.refresh_from_db()
    assert priority_list.agreed_on is None and priority_list.participants == 12
    assert AuditEvent.objects.filter(details__reopened="2022-03-01").exists()


# Permissions ------------------------------------------------------------------------------


def test_facilitators_change_only_their_own_organisation_s_groups(programme: Programme) -> None:
    ours, theirs = OrganisationFactory(), OrganisationFactory()
    our_group, their_group = _group(programme, ours), _group(programme, theirs)
    their_list = _list(their_group)
    facilitator = member_of(programme, Role.FACILITATOR, organisation=ours)
    client = Client()
    client.force_login(facilitator)
    base = f"/p/{programme.slug}/drivers/priorities/"

    response = client.post(f"{base}group/{our_group.pk}/new/", {"title": "Spring 2022"})
    created = PriorityList.objects.get(group=our_group)
    assert response.status_code == 302 and created.created_by == facilitator
    response = client.post(
        f"{base}{created.pk}/add/",
        {"concern": "Drugs", "severity": 4, "affected": 3, "urgency": 5, "changeable": 2},
    )
    assert response.status_code == 302
    assert created.priorities.get().score == 14

    assert client.get(f"{base}group/{their_group.pk}/new/").status_code == 404
    assert client.get(f"{base}{their_list.pk}/").status_code == 404
    assert client.post(f"{base}{their_list.pk}/delete/").status_code == 404
    with pytest.raises(PermissionDenied):
        services.priority_list_create(
            user=facilitator, programme=programme, group=their_group, title="x"
        )
    index = client.get(base).content.decode()
    assert our_group.name in index and their_group.name not in index


def test_a_member_reads_their_own_group_s_list_only_and_a_viewer_nothing(
    programme: Programme,
) -> None:
    own_group, other_group = _group(programme), _group(programme)
    own_list, other_list = _list(own_group), _list(other_group)
    own_priority = _add(own_list, "Drugs", 3, 3, 3, 3)
    member = member_of(programme, Role.GROUP_MEMBER, group=own_group)
    viewer = member_of(programme, Role.VIEWER)
    analyst = member_of(programme, Role.ANALYST)
    base = f"/p/{programme.slug}/drivers/priorities/"
    client = Client()

    client.force_login(member)
    page = client.get(f"{base}{own_list.pk}/")
    assert page.status_code == 200 and "Drugs" in page.content.decode()
    assert "Add a concern" not in page.content.decode()
    assert client.get(f"{base}{other_list.pk}/").status_code == 404
    assert client.get(f"{base}concern/{own_priority.pk}/edit/").status_code == 404
    assert (
        client.post(
            f"{base}{own_list.pk}/add/",
            {"concern": "Theft", "severity": 1, "affected": 1, "urgency": 1, "changeable": 1},
        ).status_code
        == 404
    )

    client.force_login(analyst)  # reads every group's list, changes none
    assert client.get(f"{base}{other_list.pk}/").status_code == 200
    assert client.post(f"{base}concern/{own_priority.pk}/delete/").status_code == 404

    client.force_login(viewer)
    assert client.get(f"{base}{own_list.pk}/").status_code == 404
    index = client.get(base)
    assert index.status_code == 200 and own_group.name not in index.content.decode()
    assert Priority.objects.filter(priority_list=own_list).count() == 1


# Bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize("score", [0, 6])
def test_a_score_outside_1_to_5_is_refused_and_nothing_saved(
    programme: Programme, score: int
) -> None:
    group = _group(programme)
    priority_list = _list(group)
    lead = member_of(programme, Role.LEAD)
    with pytest.raises(ValidationError) as raised:
        _add(priority_list, "Drugs", score, 3, 3, 3)
    assert raised.value.message_dict["severity"] == [
        f"Severity: give a score from 1 to 5 (got {score})."
    ]
    client = Client()
    client.force_login(lead)
    page = client.post(
        f"/p/{programme.slug}/drivers/priorities/{priority_list.pk}/add/",
        {"concern": "Drugs", "severity": 3, "affected": 3, "urgency": score, "changeable": 3},
    )
    assert page.status_code == 200
    assert f"{score} is not one of the available choices" in page.content.decode()
    assert not Priority.objects.exists()


def test_a_concern_twice_is_refused_with_a_message(programme: Programme) -> None:
    group = _group(programme)
    priority_list = _list(group)
    _add(priority_list, "Drugs", 3, 3, 3, 3)
    lead = member_of(programme, Role.LEAD)
    client = Client()
    client.force_login(lead)
    page = client.post(
        f"/p/{programme.slug}/drivers/priorities/{priority_list.pk}/add/",
        {"concern": "  drugs ", "severity": 5, "affected": 5, "urgency": 5, "changeable": 5},
    )
    assert page.status_code == 200
    assert "“drugs” is already on this list." in page.content.decode()
    assert Priority.objects.get().score == 12


def test_a_group_survey_or_code_of_another_programme_is_refused(programme: Programme) -> None:
    other = ProgrammeFactory()
    other_group = _group(other)
    other_code = Code.objects.create(programme=other, key="drugs", name_en="Drugs")
    other_assessment = Assessment.objects.create(programme=other, title="Other survey")
    lead = member_of(programme, Role.LEAD)
    with pytest.raises(ValidationError, match="not part of the programme"):
        services.priority_list_create(user=lead, programme=programme, group=other_group, title="x")
    client = Client()
    client.force_login(lead)
    base = f"/p/{programme.slug}/drivers/priorities/"
    assert client.post(f"{base}group/{other_group.pk}/new/", {"title": "x"}).status_code == 404

    group = _group(programme)
    page = client.post(
        f"{base}group/{group.pk}/new/", {"title": "x", "assessment": other_assessment.pk}
    )
    assert "This survey is not one of the programme" in page.content.decode()
    assert not PriorityList.objects.exists()

    priority_list = _list(group)
    page = client.post(
        f"{base}{priority_list.pk}/add/",
        {"code": other_code.pk, "severity": 3, "affected": 3, "urgency": 3, "changeable": 3},
    )
    assert "This code is not in the programme" in page.content.decode()
    assert not Priority.objects.exists()


def test_a_list_starts_from_a_driver_map_s_concerns(programme: Programme) -> None:
    group = _group(programme)
    drugs = Code.objects.create(programme=programme, key="drugs", name_en="Drugs")
    driver_map = DriverMap.objects.create(programme=programme, title="Women's map")
    Factor.objects.create(map=driver_map, kind=Factor.Kind.CONCERN, label="Drugs", code=drugs)
    Factor.objects.create(map=driver_map, kind=Factor.Kind.CONCERN, label="Night-time streets")
    Factor.objects.create(map=driver_map, kind=Factor.Kind.DRIVER, label="Unemployment")
    lead = member_of(programme, Role.LEAD)
    client = Client()
    client.force_login(lead)
    response = client.post(
        f"/p/{programme.slug}/drivers/priorities/group/{group.pk}/new/",
        {"title": "From the map", "driver_map": driver_map.pk},
    )
    assert response.status_code == 302
    priority_list = PriorityList.objects.get(group=group)
    assert sorted(priority_list.priorities.values_list("concern", flat=True)) == [
        "Drugs",
        "Night-time streets",
    ]
    page = client.get(response["Location"]).content.decode()
    assert "Prioritisation matrix" in page
    assert '<figure class="chart" id="chart-priorities">' in page
    # The chart is drawn on the server: no chart library runs in the browser, and hovering a
    # concern's segment says its score, as the matrix does.
    assert "vega" not in page
    chart = page.split('id="chart-priorities">', 1)[1].split("</figure>", 1)[0]
    assert "<title>1. Drugs\nSeverity: 3\nScore: 12</title>" in chart


def test_a_change_draws_the_chart_in_every_language_so_that_the_page_does_not(
    programme: Programme,
    django_capture_on_commit_callbacks: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Drawing the chart takes a tenth of a second (more for the first in a process): each
    change to the concerns queues its drawing, in every language, once committed."""
    charts._drawings().clear()
    priority_list = _list(_group(programme))
    queued = DBTaskResult.objects.filter(task_path=draw_priority_chart.module_path)
    with django_capture_on_commit_callbacks(execute=True):
        _add(priority_list, "Drugs", 3, 3, 3, 3)
    assert queued.count() == 1
    # A second change while that drawing waits queues no other: it will draw the list as it
    # is when it runs.
    with django_capture_on_commit_callbacks(execute=True):
        _add(priority_list, "Water", 1, 1, 1, 1)
    assert queued.count() == 1
    draw_priority_chart.call(**queued.get().args_kwargs["kwargs"])
    queued.update(status=TaskResultStatus.SUCCESSFUL)  # as the worker marks it

    def refuse(*args: Any, **kwargs: Any) -> str:
        raise AssertionError("a page drew the chart")

    monkeypatch.setattr(vl_convert, "vegalite_to_svg", refuse)
    client = Client()
    client.force_login(member_of(programme, Role.LEAD))
    page = reverse("drivers:priority_list_detail", args=[programme.slug, priority_list.pk])
    for language in ("en", "ru", "tg", "uz"):
        html = client.get(page, headers={"Accept-Language": language}).content.decode()
        assert "<title>1. Drugs" in html.split('id="chart-priorities">', 1)[1]
    # The next change, once nothing waits, queues the next drawing.
    with django_capture_on_commit_callbacks(execute=True):
        _add(priority_list, "Theft", 5, 5, 5, 5)
    assert queued.count() == 2


def test_the_edit_pages_save_and_delete(programme: Programme) -> None:
    group = _group(programme)
    priority_list = _list(group)
    priority = _add(priority_list, "Drugs", 3, 3, 3, 3)
    lead = member_of(programme, Role.LEAD)
    client = Client()
    client.force_login(lead)
    base = f"/p/{programme.slug}/drivers/priorities/"
    assert client.get(f"{base}concern/{priority.pk}/edit/").status_code == 200
    response = client.post(
        f"{base}concern/{priority.pk}/edit/",
        {
            "concern": "Drug selling near the school",
            "severity": 5,
            "affected": 3,
            "urgency": 4,
            "changeable": 3,
            "most_affected": ["youth", "boys"],
        },
    )
    assert response.status_code == 302
    priority.refresh_from_db()
    assert priority.concern == "Drug selling near the school" and priority.most_affected == [
        "youth",
        "boys",
    ]
    assert client.get(f"{base}{priority_list.pk}/edit/").status_code == 200
    response = client.post(f"{base}{priority_list.pk}/edit/", {"title": "Renamed"})
    assert response.status_code == 302
    response = client.post(
        f"{base}{priority_list.pk}/agree/",
        {"agreed_on": "2022-04-02", "participants": 9, "women": 5, "men": 4},
    )
    assert response.status_code == 302
    page = client.get(f"{base}{priority_list.pk}/").content.decode()
    assert "Agreed by the group on" in page
    page = client.post(
        f"{base}{priority_list.pk}/agree/",
        {"agreed_on": "2099-01-01", "participants": 9, "women": 5, "men": 4},
    ).content.decode()
    assert "cannot be in the future" in page
    assert client.post(f"{base}concern/{priority.pk}/delete/").status_code == 302
    assert client.post(f"{base}{priority_list.pk}/delete/").status_code == 302
    assert not PriorityList.objects.exists()


def _page_queries(client: Client, page: str) -> int:
    client.get(page)  # what is read once per process is read
    with CaptureQueriesContext(connection) as queries:
        assert client.get(page).status_code == 200
    return len(queries)


def test_the_matrix_pages_make_as_many_queries_for_12_concerns_as_for_3(
    programme: Programme,
) -> None:
    priority_list = _list(_group(programme))
    theme = Code.objects.create(programme=programme, key="theme", name_en="Theme")
    codes = [
        Code.objects.create(programme=programme, key=f"c{n}", name_en=f"Code {n}", parent=theme)
        for n in range(12)
    ]
    for n in range(3):
        _add(priority_list, f"Concern {n}", 3, 3, 3, 3, code=codes[n])
    client = Client()
    client.force_login(member_of(programme, Role.LEAD))
    pages = [
        reverse("drivers:priority_list_detail", args=[programme.slug, priority_list.pk]),
        reverse(
            "drivers:priority_edit", args=[programme.slug, priority_list.priorities.first().pk]
        ),
    ]
    few = [_page_queries(client, page) for page in pages]
    for n in range(3, 12):
        _add(priority_list, f"Concern {n}", 2, 4, 3, 1, code=codes[n])
    assert [_page_queries(client, page) for page in pages] == few
    # The group's place is named with the list, its outline never read (what a programme's
    # own page header reads is not the matrix's to choose); the matrix reads codes' names.
    read = {}
    for page in pages:
        with CaptureQueriesContext(connection) as captured:
            client.get(page)
        read[page] = [
            q["sql"] for q in captured if not q["sql"].startswith('SELECT "accounts_programme"')
        ]
        assert not [q for q in read[page] if '"places_place"."boundary"' in q], page
    assert not [q for q in read[pages[0]] if '"drivers_code"."description_en"' in q]


def test_the_new_list_page_reads_names_only(programme: Programme) -> None:
    """The group is named, not its members counted; maps are offered by name."""
    group = _group(programme)
    client = Client()
    client.force_login(member_of(programme, Role.LEAD))
    page = reverse("drivers:priority_list_create", args=[programme.slug, group.pk])
    client.get(page)
    with CaptureQueriesContext(connection) as captured:
        assert client.get(page).status_code == 200
    read = " ".join(q["sql"] for q in captured)
    assert "communities_groupmember" not in read
    assert '"drivers_drivermap"."description"' not in read
