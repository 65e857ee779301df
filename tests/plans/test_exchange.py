"""The workplan in and out (XLSX, CSV), every problem an import can meet, and the due dates
as an iCalendar feed."""

from __future__ import annotations

import csv
import datetime
import io
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape
from djmoney.money import Money
from icalendar import Calendar
from openpyxl import load_workbook

from amniyat.accounts.models import Membership
from amniyat.accounts.translations.services import translations_save
from amniyat.audit.models import AuditEvent
from amniyat.demo.plans import build_plan
from amniyat.plans import exchange, services
from amniyat.plans.models import Action, ActionPlan, Side
from tests.plans.conftest import START, Scene, make_action, make_plan

Role = Membership.Role


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _demo(scene: Scene) -> ActionPlan:
    plan = build_plan(scene.group)
    assert plan is not None
    patrols = Action.objects.get(objective__plan=plan, title__startswith="Joint police")
    translations_save(
        obj=patrols,
        programme=scene.programme,
        content_language="en",
        texts={(patrols, "title", "ru"): "Совместное патрулирование полиции и общины"},
        acting_user=scene.users[Role.LEAD],
    )
    return plan


def _empty_plan(scene: Scene) -> ActionPlan:
    """A plan of the same group from the same agreed priorities (the same objectives)."""
    priorities = list(scene.priority_list.priorities.order_by("rank", "pk"))
    return services.plan_create_from_priorities(
        user=scene.users[Role.LEAD],
        priority_list=scene.priority_list,
        priorities=priorities,
        title="Copy",
        period_start=START,
        period_end=datetime.date(2025, 12, 31),
    )


def _download(scene: Scene, plan: ActionPlan, kind: str, language: str = "en") -> bytes:
    client = _client(scene.users[Role.LEAD])
    url = reverse("plans:workplan", args=[scene.programme.slug, plan.pk])
    response = client.get(f"{url}?format={kind}", HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    return b"".join(response.streaming_content) if response.streaming else response.content


def _import(scene: Scene, plan: ActionPlan, name: str, content: bytes) -> Any:
    client = _client(scene.users[Role.LEAD])
    url = reverse("plans:workplan_import", args=[scene.programme.slug, plan.pk])
    return client.post(url, {"upload": _upload(name, content)})


def _upload(name: str, content: bytes) -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content)


def _tree(plan: ActionPlan) -> list[dict[str, Any]]:
    """Every field of every action of the plan, parents named by their titles."""
    out = []
    for action in Action.objects.filter(objective__plan=plan).order_by(
        "objective__position", "parent_id", "position", "pk"
    ):
        out.append(
            {
                "objective": action.objective.title,
                "parent": action.parent.title if action.parent else None,
                "position": action.position,
                "title": action.title,
                "content_language": action.content_language,
                "translations": {
                    code: action.translation("title", code) for code in ("en", "ru", "tg", "uz")
                },
                "lead_actor": action.lead_actor,
                "lead_side": action.lead_side,
                "supporting_actors": action.supporting_actors,
                "start_on": action.start_on,
                "due_on": action.due_on,
                "cost": action.cost,
                "cost_currency": str(action.cost.currency) if action.cost else None,
                "funding": action.funding,
                "expected_result": action.expected_result,
                "beneficiaries": action.beneficiaries,
                "status": action.status,
                "status_reason": action.status_reason,
                "progress": action.progress,
                "weight": action.weight,
                "factors": sorted(action.factors.values_list("pk", flat=True)),
                "priorities": sorted(action.priorities.values_list("pk", flat=True)),
            }
        )
    return out


@pytest.mark.parametrize(("kind", "language"), [("xlsx", "en"), ("csv", "en"), ("xlsx", "ru")])
def test_the_demo_workplan_imports_back_into_an_empty_plan_identical(
    scene: Scene, kind: str, language: str
) -> None:
    plan = _demo(scene)
    content = _download(scene, plan, kind, language)
    copy = _empty_plan(scene)
    response = _import(scene, copy, f"plan.{kind}", content)
    assert response.status_code == 302, response.content.decode()
    original, imported = _tree(plan), _tree(copy)
    assert len(imported) == len(original) >= 5
    assert imported == original
    assert any(a["translations"]["ru"] for a in imported)
    costs = [a["cost"] for a in imported if a["cost"] is not None]
    assert costs and all(isinstance(c.amount, Decimal) for c in costs)
    assert Decimal("45000.00") in [c.amount for c in costs]


# ----------------------------------------------------------------------------------------
# Every problem, by row and column; nothing saved.

OBJECTIVE = "own theft at the market"
GOOD = {
    "ref": "1",
    "objective": OBJECTIVE,
    "title": "Joint patrols",
    "lead_actor": "District police",
    "lead_side": "authority side",
    "partners": "Women's council (community side); Mahalla committee (authority)",
    "start_on": "2024-01-15",
    "due_on": "2024-06-30",
    "cost": "1500.50",
    "currency": "TJS",
    "status": "on track",
    "progress": "20",
    "parent": "",
}


def _csv(*rows: dict[str, str]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(GOOD))
    writer.writeheader()
    for row in rows:
        writer.writerow({**GOOD, **row})
    return out.getvalue().encode()


def _counts() -> tuple[int, int]:
    return Action.objects.count(), AuditEvent.objects.count()


BAD = [
    (
        {"lead_side": "neighbours"},
        "Side",
        "“neighbours” is not a side: community or authority.",
    ),
    (
        {"partners": "Women's council"},
        "Partners",
        "“Women's council”: give each partner's side in brackets",
    ),
    (
        {"partners": "Women's council (the mayor's side)"},
        "Partners",
        "“Women's council (the mayor's side)”: give each partner's side in brackets",
    ),
    ({"start_on": "2024-02-31"}, "Start", "“2024-02-31” is not a date: write it as 2027-03-31."),
    ({"due_on": "soon"}, "Due", "“soon” is not a date"),
    ({"due_on": "2023-12-31"}, "Due", "An action cannot be due before it starts."),
    ({"objective": "Unknown"}, "Objective", "“Unknown” is not an objective of this plan."),
    ({"currency": "EUR"}, "Currency", "“EUR” is not a currency of plans: use TJS, UZS or USD."),
    ({"currency": ""}, "Currency", "Give the currency of the cost estimate."),
    ({"cost": "10.555"}, "Budget", "An amount has at most 2 digits after the decimal point."),
    ({"cost": "-5"}, "Budget", "Give a cost from 0 up."),
    ({"progress": "101"}, "Progress (%)", "Progress is a whole number from 0 to 100 %."),
    ({"progress": "12.5"}, "Progress (%)", "Progress is a whole number from 0 to 100 %."),
    ({"status": "finished-ish"}, "Status", "“finished-ish” is not a status."),
    # A rule the service keeps, reported in the same way.
    (
        {"status": "done", "progress": "0"},
        "Progress (%)",
        "An action that is done cannot be at 0 %. Give its progress.",
    ),
    ({"lead_actor": ""}, "Responsible", "Name who leads the action."),
    ({"parent": "9"}, "Part of", "No row has the number “9”."),
    ({"title": "Joint patrols"}, "Action", "The same action is in row 2."),
]


@pytest.mark.parametrize(("bad", "column", "message"), BAD)
def test_a_bad_row_is_named_by_row_and_column_and_nothing_is_saved(
    scene: Scene, bad: dict[str, str], column: str, message: str
) -> None:
    plan = make_plan(scene)
    before = _counts()
    second = {"ref": "2", "title": "Street lighting", **bad}
    response = _import(scene, plan, "workplan.csv", _csv({}, second))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Nothing was imported" in page
    assert escape(f"workplan.csv, row 3, {column}: {message}") in page, page
    assert _counts() == before


def test_a_cycle_of_parts_is_refused_on_each_of_its_rows(scene: Scene) -> None:
    plan = make_plan(scene)
    before = _counts()
    content = _csv(
        {"ref": "1", "parent": "3"},
        {"ref": "2", "title": "Lighting", "parent": "1"},
        {"ref": "3", "title": "Meetings", "parent": "2"},
        {"ref": "4", "title": "Alone", "parent": "4"},
    )
    page = _import(scene, plan, "workplan.csv", content).content.decode()
    cycle = "An action cannot be a part of itself or of one of its parts."
    for row in (2, 3, 4, 5):
        assert page.count(escape(f"workplan.csv, row {row}, Part of: {cycle}")) == 1
    assert _counts() == before


def test_a_number_twice_and_an_action_already_in_the_plan_are_refused(scene: Scene) -> None:
    plan = make_plan(scene)
    make_action(plan, title="Joint patrols")
    before = _counts()
    page = _import(
        scene, plan, "w.csv", _csv({}, {"title": "Lighting"}, {"ref": "3", "title": "Other"})
    ).content.decode()
    assert escape("w.csv, row 3, No.: Number “1” is also the number of row 2.") in page
    assert escape("w.csv, row 2, Action: This action is already in the plan.") in page
    assert _counts() == before


def test_a_row_of_the_exported_workbook_is_named_as_the_spreadsheet_numbers_it(
    scene: Scene,
) -> None:
    plan = _demo(scene)
    book = load_workbook(io.BytesIO(_download(scene, plan, "xlsx")))
    sheet = book.active
    assert sheet is not None
    keys = [c.value for c in sheet[2]]
    sheet.cell(row=4, column=keys.index("due_on") + 1).value = datetime.date(2000, 1, 1)
    sheet.cell(row=5, column=keys.index("cost") + 1).value = 12.345
    sheet.cell(row=6, column=keys.index("currency") + 1).value = "XXX"
    out = io.BytesIO()
    book.save(out)
    copy = _empty_plan(scene)
    before = _counts()
    page = _import(scene, copy, "plan.xlsx", out.getvalue()).content.decode()
    assert escape("plan.xlsx, row 4, Due: An action cannot be due before it starts.") in page
    assert escape("plan.xlsx, row 5, Budget: An amount has at most 2 digits") in page
    assert escape("plan.xlsx, row 6, Currency: “XXX” is not a currency of plans") in page
    assert _counts() == before


def test_files_that_cannot_be_read_are_refused_with_a_message(scene: Scene, settings: Any) -> None:
    plan = make_plan(scene)
    before = _counts()
    cases = [
        (b"", "The submitted file is empty.", "x.csv"),
        (b"\n\n", "x.csv: The file is empty.", "x.csv"),
        (
            b"PK\x03\x04 not really a zip",
            "This is not an XLSX workbook that can be read.",
            "x.xlsx",
        ),
        (b"\xff\xfe\x00bad", "The file is not UTF-8 text.", "x.csv"),
        (b"a,b\n1,2\n", "The file has no column", "x.csv"),
        (b"x" * (exchange.MAX_IMPORT_BYTES + 1), "The file is too large: at most 1 MB.", "x.csv"),
    ]
    for content, message, name in cases:
        response = _import(scene, plan, name, content)
        assert response.status_code in (200, 413)
        if response.status_code == 200:
            assert escape(message) in response.content.decode(), message
    assert _counts() == before


def test_too_many_rows_are_refused(scene: Scene, monkeypatch: Any) -> None:
    monkeypatch.setattr(exchange, "MAX_ROWS", 1)
    plan = make_plan(scene)
    page = _import(scene, plan, "w.csv", _csv({}, {"ref": "2", "title": "B"})).content.decode()
    assert escape("w.csv: A workplan has at most 1 rows; split the file.") in page
    assert not Action.objects.exists()


def test_a_hand_made_csv_with_a_russian_header_imports(scene: Scene) -> None:
    plan = make_plan(scene)
    with translation.override("ru"):
        header = [str(exchange.COLUMNS[k].label) for k in GOOD]
        side, status = str(Side.AUTHORITY.label), str(Action.Status.ON_TRACK.label)
    assert status != "on track"  # the catalogue's Russian
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow(header)
    writer.writerow([*list(GOOD.values())[:4], side, *list(GOOD.values())[5:10], status, "20", ""])
    response = _import(scene, plan, "w.csv", out.getvalue().encode())
    assert response.status_code == 302, response.content.decode()
    action = Action.objects.get(objective__plan=plan)
    assert action.lead_side == "authority" and action.status == "on_track"
    assert action.cost == Money(Decimal("1500.50"), "TJS")
    assert action.supporting_actors == [
        {"name": "Women's council", "side": "community"},
        {"name": "Mahalla committee", "side": "authority"},
    ]


def test_every_imported_action_is_audited(scene: Scene) -> None:
    plan = make_plan(scene)
    _import(scene, plan, "w.csv", _csv({}, {"ref": "2", "title": "B", "parent": "1"}))
    assert Action.objects.filter(objective__plan=plan).count() == 2
    verbs = list(AuditEvent.objects.order_by("pk").values_list("verb", flat=True))
    assert verbs[-3:] == ["created", "created", "imported"]


def test_a_closed_plan_takes_no_import(scene: Scene) -> None:
    plan = make_plan(scene)
    services.plan_status_set(user=None, plan=plan, status="closed", reason="Funding ended")
    page = _import(scene, plan, "w.csv", _csv({})).content.decode()
    assert "A completed or closed plan is not changed." in page
    assert not Action.objects.exists()


# ----------------------------------------------------------------------------------------
# Scope and audit.


def test_another_organisations_facilitator_gets_404_and_a_reader_cannot_import(
    scene: Scene,
) -> None:
    plan = make_plan(scene)
    slug = scene.programme.slug
    urls = [
        reverse("plans:workplan", args=[slug, plan.pk]) + "?format=xlsx",
        reverse("plans:workplan", args=[slug, plan.pk]) + "?format=csv",
        reverse("plans:calendar", args=[slug, plan.pk]),
        reverse("plans:workplan_import", args=[slug, plan.pk]),
    ]
    outsider = _client(scene.outsider)
    for url in urls:
        assert outsider.get(url).status_code == 404
    assert outsider.post(urls[3], {"upload": _upload("w.csv", _csv({}))}).status_code == 404
    member = _client(scene.users[Role.GROUP_MEMBER])
    assert member.get(urls[0]).status_code == 200
    assert member.get(urls[3]).status_code == 404
    assert member.post(urls[3], {"upload": _upload("w.csv", _csv({}))}).status_code == 404
    assert _client(scene.users[Role.LEAD]).get(urls[0].replace("xlsx", "pdf")).status_code == 404
    assert not Action.objects.exists()


def test_every_download_is_audited(scene: Scene) -> None:
    plan = make_plan(scene)
    client = _client(scene.users[Role.FACILITATOR])
    for url in (
        reverse("plans:workplan", args=[scene.programme.slug, plan.pk]) + "?format=csv",
        reverse("plans:calendar", args=[scene.programme.slug, plan.pk]),
    ):
        assert client.get(url).status_code == 200
    events = AuditEvent.objects.filter(verb="exported", object_id=str(plan.pk))
    assert sorted(e.details["format"] for e in events) == ["csv", "ics"]


# ----------------------------------------------------------------------------------------
# The XLSX as people read it.


def test_the_workbook_reads_as_a_workplan(scene: Scene) -> None:
    plan = _demo(scene)
    sheet = load_workbook(io.BytesIO(_download(scene, plan, "xlsx", "ru"))).active
    assert sheet is not None
    assert sheet.freeze_panes == "A3"
    assert sheet.row_dimensions[2].hidden
    assert sheet.page_setup.orientation == "landscape"
    assert sheet.page_setup.fitToWidth == 1
    labels = [c.value for c in sheet[1]]
    keys = [c.value for c in sheet[2]]
    with translation.override("ru"):
        assert labels[keys.index("objective")] == str(exchange.COLUMNS["objective"].label)
    months = [k for k in keys if k.startswith("month:")]
    assert len(months) == 13 and months[0] == f"month:{plan.period_start:%Y-%m}"
    rows = list(sheet.iter_rows(min_row=3, values_only=True))
    refs = [r[keys.index("ref")] for r in rows]
    # The demo plan: the patrols with their two parts first, then one number per action.
    top = Action.objects.filter(objective__plan=plan, parent=None).count()
    assert refs[:3] == ["1", "1.1", "1.2"]
    assert sorted(refs) == sorted(["1.1", "1.2", *(str(n) for n in range(1, top + 1))])
    titles = [r[keys.index("title")] for r in rows]
    assert "Совместное патрулирование полиции и общины" in titles
    cost_column = keys.index("cost") + 1
    priced = [
        sheet.cell(row=n, column=cost_column)
        for n in range(3, 3 + len(rows))
        if sheet.cell(row=n, column=cost_column).value is not None
    ]
    assert priced and all(c.data_type == "n" for c in priced)
    assert all('"' + scene_currency(plan) + '"' in c.number_format for c in priced)
    part = next(n for n in range(3, 3 + len(rows)) if sheet.cell(row=n, column=1).value == "1.1")
    assert sheet.cell(row=part, column=keys.index("title") + 1).alignment.indent == 2
    # The timeline: the months the part runs (15 January to 15 February) are filled.
    filled = [
        keys[c - 1]
        for c in range(1, len(keys) + 1)
        if keys[c - 1].startswith("month:")
        and sheet.cell(row=part, column=c).fill.fgColor.rgb not in (None, "00000000")
    ]
    start = Action.objects.get(objective__plan=plan, title__startswith="Agree the patrol")
    assert filled == [f"month:{m:%Y-%m}" for m in exchange.months_of(start.start_on, start.due_on)]


def scene_currency(plan: ActionPlan) -> str:
    action = Action.objects.filter(objective__plan=plan, cost__isnull=False).first()
    assert action is not None and action.cost is not None
    return str(action.cost.currency)


# ----------------------------------------------------------------------------------------
# The calendar.


def test_the_calendar_has_one_all_day_event_per_action_on_its_due_date(scene: Scene) -> None:
    plan = _demo(scene)
    client = _client(scene.users[Role.LEAD])
    url = reverse("plans:calendar", args=[scene.programme.slug, plan.pk])
    response = client.get(url, HTTP_ACCEPT_LANGUAGE="ru")
    assert response["Content-Type"].startswith("text/calendar")
    calendar = Calendar.from_ical(response.content)
    events = list(calendar.walk("VEVENT"))
    actions = {a.pk: a for a in Action.objects.filter(objective__plan=plan)}
    assert len(events) == len(actions) >= 5
    for event in events:
        pk = int(str(event["UID"]).removeprefix("plan-action-").split("@")[0])
        action = actions[pk]
        assert event.decoded("DTSTART") == action.due_on
        assert not isinstance(event.decoded("DTSTART"), datetime.datetime)
        assert event.decoded("DTEND") == action.due_on + datetime.timedelta(days=1)
    summaries = {str(e["SUMMARY"]) for e in events}
    assert "Совместное патрулирование полиции и общины" in summaries
    # The same UIDs on the next reading: a calendar updates its events.
    again = Calendar.from_ical(client.get(url).content)
    assert {str(e["UID"]) for e in again.walk("VEVENT")} == {str(e["UID"]) for e in events}
    # No actor, cost or person in the feed.
    text = response.content.decode()
    assert "District police" not in text and "45000" not in text


@pytest.mark.parametrize("kind", ["xlsx", "csv"])
def test_a_text_that_looks_like_a_formula_stays_text_and_comes_back(
    scene: Scene, kind: str
) -> None:
    plan = make_plan(scene)
    make_action(plan, title='=HYPERLINK("http://evil.example","x")', lead_actor="@police")
    content = _download(scene, plan, kind)
    if kind == "csv":
        assert "'=HYPERLINK" in content.decode("utf-8-sig")
    else:
        sheet = load_workbook(io.BytesIO(content)).active
        assert sheet is not None
        assert all(c.data_type != "f" for r in sheet.iter_rows() for c in r)
    copy = _empty_plan(scene)
    assert _import(scene, copy, f"w.{kind}", content).status_code == 302
    action = Action.objects.get(objective__plan=copy)
    assert action.title == '=HYPERLINK("http://evil.example","x")'
    assert action.lead_actor == "@police"
