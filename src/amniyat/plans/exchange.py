"""A plan's actions as the workplan NGOs keep in a spreadsheet, and back.

**Out.** One row per action, in the order of the plan's page (each objective's actions, parts
under their parent, numbered 1, 1.1, 1.1.1): objective, action, who leads it and on which side,
partners, start, due, a timeline of the plan's months (a Gantt: the months an action runs are
filled), budget (a number in its currency's format, written from a Decimal), funding source,
expected result, who benefits, status and progress. XLSX (the header frozen, printable on
landscape pages one page wide) or CSV (UTF-8 with a byte-order mark, as other exports).
Headers, choices and the texts people name (objectives, actions) are in the reader's language.

**Machine keys.** Under the header is a row of stable keys (hidden in XLSX), so that reading a
file back never depends on the language it was written in; hidden columns at the end keep what
a person does not edit but a round trip needs: the action's text in each language and the
language it was written in, and the factors and priorities it addresses (by number).

**In.** :func:`read_workplan` reads such a file (or a hand-made one whose header names the
columns in any of the four languages) and checks every row; :func:`workplan_import` adds the
actions to a plan through the plans' services, in one transaction: every problem is reported
with its file, row and column, and either every action is saved or none is. Plans are small
(hundreds of actions): files are limited to :data:`MAX_IMPORT_BYTES` and :data:`MAX_ROWS`
rows, read within the request.
"""

from __future__ import annotations

import csv
import datetime
import io
import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.functional import Promise
from django.utils.text import format_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, override
from djmoney.money import Money

from amniyat.accounts.translations.services import translations_save
from amniyat.audit.models import AuditEvent
from amniyat.audit.services import audit_record
from amniyat.core.archives import ArchiveRefused, checked_members
from amniyat.core.cells import CellWriter
from amniyat.core.i18n import CONTENT_LANGUAGES, Translatable, reader_language
from amniyat.core.text import format_date
from amniyat.drivers.maps.exchange import ImportProblem
from amniyat.fieldwork.imports import limits
from amniyat.fieldwork.imports.convert import unneutralise
from amniyat.plans import selectors, services
from amniyat.plans.models import Action, ActionPlan, Currency, Objective, Side

if TYPE_CHECKING:
    from django.http import HttpRequest

    from amniyat.accounts.models import User

MAX_IMPORT_BYTES = 1024 * 1024
MAX_UNPACKED_BYTES = 20 * 1024 * 1024
MAX_ROWS = 1000
PROBLEMS_MAX = 200
SEPARATOR = ";"  # between partners, and between beneficiaries
ID_SEPARATOR = "|"  # between factor and priority numbers
MONTH = "month:"  # the key of a timeline column: month:2027-03
TITLE_IN = "title@"  # the key of an action's text in one language: title@ru


@dataclass(frozen=True)
class Column:
    key: str
    label: str | Promise
    width: int
    hidden: bool = False


COLUMNS_BEFORE_TIMELINE = (
    Column("ref", gettext_lazy("No."), 7),
    Column("objective", gettext_lazy("Objective"), 28),
    Column("title", gettext_lazy("Action"), 44),
    Column("lead_actor", gettext_lazy("Responsible"), 22),
    Column("lead_side", gettext_lazy("Side"), 15),
    Column("partners", gettext_lazy("Partners"), 30),
    Column("start_on", gettext_lazy("Start"), 11),
    Column("due_on", gettext_lazy("Due"), 11),
)
COLUMNS_AFTER_TIMELINE = (
    Column("cost", gettext_lazy("Budget"), 15),
    Column("currency", gettext_lazy("Currency"), 9),
    Column("funding", gettext_lazy("Funding source"), 18),
    Column("expected_result", gettext_lazy("Expected result"), 30),
    Column("beneficiaries", gettext_lazy("Beneficiaries"), 24),
    Column("status", gettext_lazy("Status"), 13),
    Column("progress", gettext_lazy("Progress (%)"), 10),
    Column("weight", gettext_lazy("Weight"), 8),
    Column("status_reason", gettext_lazy("Why it was dropped"), 20),
    Column("parent", gettext_lazy("Part of"), 8),
    Column("language", gettext_lazy("Language of the texts"), 8, hidden=True),
    Column("written_in", gettext_lazy("Written in"), 8, hidden=True),
    *(
        Column(f"{TITLE_IN}{code}", format_lazy("{} ({})", gettext_lazy("Action"), code), 20, True)
        for code in CONTENT_LANGUAGES
    ),
    Column("factor_ids", gettext_lazy("Factors addressed"), 10, hidden=True),
    Column("priority_ids", gettext_lazy("Priorities addressed"), 10, hidden=True),
)
COLUMNS = {c.key: c for c in (*COLUMNS_BEFORE_TIMELINE, *COLUMNS_AFTER_TIMELINE)}
REQUIRED = ("objective", "title", "lead_actor", "lead_side", "start_on", "due_on")
# Which column a service's message about a field belongs to.
FIELD_COLUMN = {
    "supporting_actors": "partners",
    "factors": "factor_ids",
    "priorities": "priority_ids",
}


def months_of(start: datetime.date, end: datetime.date) -> list[datetime.date]:
    """The first day of each month from ``start``'s to ``end``'s."""
    months, month = [], start.replace(day=1)
    while month <= end:
        months.append(month)
        month = (month + datetime.timedelta(days=32)).replace(day=1)
    return months


def _runs_in(month: datetime.date, start: datetime.date, due: datetime.date) -> bool:
    following = (month + datetime.timedelta(days=32)).replace(day=1)
    return start < following and due >= month


# ----------------------------------------------------------------------------------------
# Out.


@dataclass
class WorkplanRow:
    """One action as the workplan shows it (texts in the reader's language)."""

    action: Action
    ref: str
    depth: int
    parent_ref: str
    objective: str


def workplan_rows(plan: ActionPlan, *, user: Any) -> list[WorkplanRow]:
    """The plan's actions in the order of its page, each numbered within its parent (top-level
    actions 1, 2, 3 through the plan; parts 1.1, 1.1.1)."""
    # The objectives' titles only (not the factors they carry); the actions with the factors
    # the user may read and the priorities they address.
    objectives = list(plan.objectives.order_by("position", "pk"))
    actions = selectors.actions_of(plan, user=user)
    children: dict[int | None, list[Action]] = {}
    for action in actions:
        children.setdefault(action.parent_id, []).append(action)
    titles = {o.pk: str(o.translated("title")) for o in objectives}
    rows: list[WorkplanRow] = []

    def visit(action: Action, ref: str, depth: int, parent_ref: str) -> None:
        rows.append(WorkplanRow(action, ref, depth, parent_ref, titles[action.objective_id]))
        for number, part in enumerate(children.get(action.pk, []), start=1):
            visit(part, f"{ref}.{number}", depth + 1, ref)

    top = 0
    for objective in objectives:
        for action in children.get(None, []):
            if action.objective_id == objective.pk:
                top += 1
                visit(action, str(top), 0, "")
    return rows


def _side_label(side: str) -> str:
    return str(Side(side).label) if side in Side.values else side


def _partners_text(actors: Iterable[dict[str, str]]) -> str:
    return f"{SEPARATOR} ".join(f"{a['name']} ({_side_label(a['side'])})" for a in actors)


def _values(row: WorkplanRow, language: str) -> dict[str, Any]:
    """The cells of one row by key (dates as dates, money as a Decimal)."""
    action = row.action
    cost = action.cost
    values: dict[str, Any] = {
        "ref": row.ref,
        "objective": row.objective,
        "title": str(action.translated("title", language)),
        "lead_actor": action.lead_actor,
        "lead_side": _side_label(action.lead_side),
        "partners": _partners_text(action.supporting_actors or []),
        "start_on": action.start_on,
        "due_on": action.due_on,
        "cost": cost.amount if cost is not None else None,
        "currency": str(cost.currency) if cost is not None else "",
        "funding": action.get_funding_display(),
        "expected_result": action.expected_result,
        "beneficiaries": f"{SEPARATOR} ".join(
            str(Action.Beneficiary(b).label)
            for b in action.beneficiaries
            if b in Action.Beneficiary.values
        ),
        "status": action.get_status_display(),
        "progress": action.progress,
        "weight": action.weight,
        "status_reason": action.status_reason,
        "parent": row.parent_ref,
        "language": language,
        "written_in": action.content_language,
        "factor_ids": ID_SEPARATOR.join(str(f.pk) for f in action.factors.all()),
        "priority_ids": ID_SEPARATOR.join(str(p.pk) for p in action.priorities.all()),
    }
    for code in CONTENT_LANGUAGES:
        text = (
            action.title if code == action.content_language else action.translation("title", code)
        )
        values[f"{TITLE_IN}{code}"] = text
    return values


@dataclass(frozen=True)
class Layout:
    """The columns of one plan's workplan: the fixed ones around a timeline of its months."""

    keys: list[str]
    labels: list[str]
    months: list[datetime.date]

    @classmethod
    def of(cls, plan: ActionPlan, language: str) -> Layout:
        months = months_of(plan.period_start, plan.period_end)
        keys = [c.key for c in COLUMNS_BEFORE_TIMELINE]
        keys += [f"{MONTH}{m:%Y-%m}" for m in months]
        keys += [c.key for c in COLUMNS_AFTER_TIMELINE]
        labels = [str(c.label) for c in COLUMNS_BEFORE_TIMELINE]
        labels += [format_date(m, language, "month") for m in months]
        labels += [str(c.label) for c in COLUMNS_AFTER_TIMELINE]
        return cls(keys, labels, months)


def _csv_cell(value: Any) -> Any:
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    return value


def workplan_csv(plan: ActionPlan, rows: Sequence[WorkplanRow]) -> bytes:
    """The workplan as CSV: the header in the reader's language, the row of keys, the rows
    (a month the action runs in marked ``x``)."""
    language = reader_language()
    layout = Layout.of(plan, language)
    out = io.StringIO()
    writer = CellWriter.for_csv(out)
    writer.row(layout.labels)
    writer.row(layout.keys)
    for row in rows:
        values = _values(row, language)
        action = row.action
        for month in layout.months:
            values[f"{MONTH}{month:%Y-%m}"] = (
                "x" if _runs_in(month, action.start_on, action.due_on) else ""
            )
        writer.row([_csv_cell(values.get(key)) for key in layout.keys])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


# Timeline colours by status: done green, delayed amber, dropped grey, others blue.
_BAR = {"done": "8BC34A", "delayed": "FFB74D", "dropped": "BDBDBD"}
_BAR_DEFAULT = "64B5F6"
# The columns of longer texts, wrapped in their cells.
WRAPPED = ("objective", "lead_actor", "partners", "expected_result", "beneficiaries")


def money_format(currency: str) -> str:
    """An Excel number format for amounts of ``currency``: its minor digits (ISO 4217, through
    Babel) and its code after the number: ``#,##0.00 "TJS"``."""
    from babel.numbers import get_currency_precision

    digits = get_currency_precision(currency)
    return '#,##0{} "{}"'.format("." + "0" * digits if digits else "", currency)


def workplan_xlsx(plan: ActionPlan, rows: Sequence[WorkplanRow]) -> bytes:
    """The workplan as one sheet: header row (bold, frozen, repeated on each printed page), a
    hidden row of keys, one row per action with its title indented by its depth, the months it
    runs filled; landscape, one page wide."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    language = reader_language()
    layout = Layout.of(plan, language)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = re.sub(r"[\[\]:*?/\\]", " ", _("Workplan"))[:31]
    writer = CellWriter.for_sheet(sheet)
    writer.row(layout.labels)
    writer.row(layout.keys)
    header = Font(bold=True)
    grey = PatternFill("solid", fgColor="EEEEEE")
    for cell in sheet[1]:
        cell.font = header
        cell.fill = grey
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.row_dimensions[2].hidden = True
    column = {key: index for index, key in enumerate(layout.keys, start=1)}
    # Style objects made once and shared: openpyxl compares each new one with those it has.
    top = Alignment(vertical="top", wrap_text=True)
    indented: dict[int, Alignment] = {}
    fills: dict[str, PatternFill] = {}
    money_formats: dict[str, str] = {}
    for number, row in enumerate(rows, start=3):
        values = _values(row, language)
        action = row.action
        writer.row([values.get(key) for key in layout.keys])
        for key in ("start_on", "due_on"):
            cell = sheet.cell(row=number, column=column[key])
            cell.value = values[key]
            cell.number_format = "yyyy-mm-dd"
        if values["cost"] is not None:
            cell = sheet.cell(row=number, column=column["cost"])
            cell.value = values["cost"]  # a Decimal: written as the number it is
            currency = values["currency"]
            if currency not in money_formats:
                money_formats[currency] = money_format(currency)
            cell.number_format = money_formats[currency]
        for key in WRAPPED:
            sheet.cell(row=number, column=column[key]).alignment = top
        if row.depth not in indented:
            indented[row.depth] = Alignment(indent=row.depth * 2, vertical="top", wrap_text=True)
        sheet.cell(row=number, column=column["title"]).alignment = indented[row.depth]
        colour = _BAR.get(action.status, _BAR_DEFAULT)
        if colour not in fills:
            fills[colour] = PatternFill("solid", fgColor=colour)
        for month in layout.months:
            if _runs_in(month, action.start_on, action.due_on):
                sheet.cell(row=number, column=column[f"{MONTH}{month:%Y-%m}"]).fill = fills[colour]
    for key, index in column.items():
        letter = get_column_letter(index)
        spec = COLUMNS.get(key)
        sheet.column_dimensions[letter].width = spec.width if spec else 5
        if spec is not None and spec.hidden:
            sheet.column_dimensions[letter].hidden = True
    sheet.freeze_panes = "A3"
    sheet.print_title_rows = "1:1"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# ----------------------------------------------------------------------------------------
# In: reading a file.


class WorkplanImportError(Exception):
    """The file could not be imported; nothing was saved."""

    def __init__(self, problems: list[ImportProblem]) -> None:
        super().__init__("; ".join(str(p) for p in problems[:5]))
        self.problems = problems


@dataclass
class ImportRow:
    """One row of a workplan, checked on its own."""

    row: int
    ref: str
    objective: Objective
    parent_ref: str
    values: dict[str, Any]
    texts: dict[str, str]  # the action's text by language
    written_in: str
    factor_ids: list[int] = field(default_factory=list)
    priority_ids: list[int] = field(default_factory=list)


@dataclass
class Workplan:
    file: str
    rows: list[ImportRow]


class _Problems:
    def __init__(self, file: str, labels: dict[str, str]) -> None:
        self.file = file
        self.labels = labels
        self.problems: list[ImportProblem] = []

    def add(self, row: int | None, key: str, message: str) -> None:
        if len(self.problems) < PROBLEMS_MAX:
            label = self.labels.get(key) or (str(COLUMNS[key].label) if key in COLUMNS else key)
            self.problems.append(ImportProblem(self.file, row, label, message))

    def refuse(self, message: str) -> WorkplanImportError:
        return WorkplanImportError([ImportProblem(self.file, None, "", message)])


def _choices(values: Iterable[tuple[str, Any]]) -> dict[str, str]:
    """Every accepted spelling of a choice: its key and its label in each language."""
    pairs = list(values)
    names: dict[str, str] = {}
    for code in CONTENT_LANGUAGES:
        with override(code):
            for value, label in pairs:
                names[str(label).casefold()] = value
    for value, _label in pairs:
        names[value.casefold()] = value
    return names


def _header_names() -> dict[str, str]:
    """Header texts (in any of the four languages) and keys to the key of their column."""
    names = _choices(
        (c.key, c.label)
        for c in (*COLUMNS_BEFORE_TIMELINE, *COLUMNS_AFTER_TIMELINE)
        if not c.hidden
    )
    names.update({key.casefold(): key for key in COLUMNS})
    return names


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        return value.date().isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return unneutralise(str(value).strip()).strip()


def _sheet_rows(name: str, content: bytes, problems: _Problems) -> list[list[Any]]:
    """The rows of the file's first sheet (XLSX) or of the CSV, as cell values."""
    if content.startswith(b"PK\x03\x04"):
        return _xlsx_rows(name, content, problems)
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise problems.refuse(_("The file is not UTF-8 text. Save it as CSV UTF-8.")) from None
    first = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first.count)
    try:
        return [list(r) for r in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)]
    except csv.Error:
        raise problems.refuse(_("This is not a CSV file that can be read.")) from None


def _xlsx_rows(name: str, content: bytes, problems: _Problems) -> list[list[Any]]:
    from openpyxl import load_workbook

    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            checked_members(
                archive,
                file=name,
                max_members=100,
                max_unpacked=MAX_UNPACKED_BYTES,
                max_ratio=limits.max_compression_ratio(),
            )
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except ArchiveRefused as refused:
        raise problems.refuse(refused.message) from None
    except Exception:  # openpyxl raises many kinds on a damaged workbook
        raise problems.refuse(_("This is not an XLSX workbook that can be read.")) from None
    try:
        sheet = book.worksheets[0]
        rows: list[list[Any]] = []
        for values in sheet.iter_rows(values_only=True):
            rows.append(list(values))
            if len(rows) > MAX_ROWS + 2:
                break
        return rows
    finally:
        book.close()


def _date(value: Any) -> datetime.date | None:
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    text = _text(value)
    for pattern in ("%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y"):
        try:
            return datetime.datetime.strptime(text, pattern).date()  # noqa: DTZ007 (a date)
        except ValueError:
            continue
    return None


def _amount(value: Any) -> Decimal | None:
    """An amount as a Decimal: a number cell (read back through its shortest text, so 1234.57
    stays 1234.57) or a text with spaces between thousands and a decimal comma or point."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        text = repr(value)
    else:
        text = re.sub(r"[\s\u00a0\u202f]", "", _text(value))
        if "," in text and "." not in text:
            text = text.replace(",", ".")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        return None
    return amount if amount.is_finite() else None


def _whole(value: Any) -> int | None:
    text = _text(value).rstrip("%").strip()
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    if not number.is_finite() or number != number.to_integral_value():
        return None
    return int(number)


def _ids(value: Any) -> list[int] | None:
    try:
        return [int(p) for p in _text(value).split(ID_SEPARATOR) if p.strip()]
    except ValueError:
        return None


class _Reader:
    """Checks one row at a time against the plan it goes into."""

    def __init__(self, plan: ActionPlan, problems: _Problems) -> None:
        self.problems = problems
        self.objectives: dict[str, Objective] = {}
        for objective in plan.objectives.order_by("position", "pk"):
            names = [objective.title] + [
                objective.translation("title", code) for code in CONTENT_LANGUAGES
            ]
            for name in names:
                if name:
                    self.objectives.setdefault(name.strip().casefold(), objective)
        self.sides = _choices(Side.choices)
        self.funding = _choices(Action.Funding.choices)
        self.statuses = _choices(Action.Status.choices)
        self.beneficiaries = _choices(Action.Beneficiary.choices)

    def row(self, number: int, cells: dict[str, Any]) -> ImportRow | None:
        add = self.problems.add
        ok = True

        def choice(key: str, names: dict[str, str], default: str, message: str) -> str | None:
            nonlocal ok
            text = _text(cells.get(key))
            if not text:
                return default
            value = names.get(text.casefold())
            if value is None:
                add(number, key, message.format(value=text))
                ok = False
            return value

        objective_name = _text(cells.get("objective"))
        objective = self.objectives.get(objective_name.casefold()) if objective_name else None
        if objective is None:
            add(
                number,
                "objective",
                _("“{value}” is not an objective of this plan.").format(value=objective_name)
                if objective_name
                else _("Name the objective of the action."),
            )
            ok = False
        lead_side = choice(
            "lead_side", self.sides, "", _("“{value}” is not a side: community or authority.")
        )
        partners = self._partners(number, _text(cells.get("partners")))
        ok = ok and partners is not None
        dates: dict[str, datetime.date | None] = {}
        for key in ("start_on", "due_on"):
            raw = cells.get(key)
            dates[key] = _date(raw)
            if dates[key] is None and _text(raw):
                add(
                    number,
                    key,
                    _("“{value}” is not a date: write it as 2027-03-31.").format(value=_text(raw)),
                )
                ok = False
        start, due = dates["start_on"], dates["due_on"]
        if start and due and due < start:
            add(number, "due_on", _("An action cannot be due before it starts."))
            ok = False
        cost = self._cost(number, cells)
        ok = ok and cost is not False
        funding = choice(
            "funding", self.funding, Action.Funding.OWN, _("“{value}” is not a funding source.")
        )
        status = choice(
            "status", self.statuses, Action.Status.NOT_STARTED, _("“{value}” is not a status.")
        )
        beneficiaries: list[str] = []
        for part in _text(cells.get("beneficiaries")).split(SEPARATOR):
            if not part.strip():
                continue
            value = self.beneficiaries.get(part.strip().casefold())
            if value is None:
                add(
                    number,
                    "beneficiaries",
                    _("“{value}” is not one of those who may benefit.").format(value=part.strip()),
                )
                ok = False
            else:
                beneficiaries.append(value)
        whole: dict[str, int] = {}
        for key, default, low, high, message in (
            ("progress", 0, 0, 100, _("Progress is a whole number from 0 to 100 %.")),
            ("weight", 1, 1, 100, _("The weight is a whole number from 1 to 100.")),
        ):
            text = _text(cells.get(key))
            number_value = _whole(cells.get(key)) if text else default
            if number_value is None or not low <= number_value <= high:
                add(number, key, message)
                ok = False
            else:
                whole[key] = number_value
        factor_ids, priority_ids = _ids(cells.get("factor_ids")), _ids(cells.get("priority_ids"))
        for key, ids in (("factor_ids", factor_ids), ("priority_ids", priority_ids)):
            if ids is None:
                add(number, key, _("List numbers separated by “|”."))
                ok = False
        language = _text(cells.get("language"))
        language = language if language in CONTENT_LANGUAGES else reader_language()
        texts = {code: _text(cells.get(f"{TITLE_IN}{code}")) for code in CONTENT_LANGUAGES}
        title = _text(cells.get("title"))
        texts[language] = title
        written_in = _text(cells.get("written_in"))
        if written_in not in CONTENT_LANGUAGES or not texts.get(written_in):
            written_in = language
        elif written_in != language and title == texts[written_in]:
            texts[language] = ""  # the text as written, shown for want of a translation
        if not ok or objective is None or cost is False:
            return None
        assert partners is not None and factor_ids is not None and priority_ids is not None
        return ImportRow(
            row=number,
            ref=_text(cells.get("ref")),
            objective=objective,
            parent_ref=_text(cells.get("parent")),
            values={
                "title": texts[written_in],
                "lead_actor": _text(cells.get("lead_actor")),
                "lead_side": lead_side,
                "supporting_actors": partners,
                "start_on": start,
                "due_on": due,
                "cost": cost,
                "funding": funding,
                "expected_result": _text(cells.get("expected_result")),
                "beneficiaries": beneficiaries,
                "status": status,
                "status_reason": _text(cells.get("status_reason")),
                "progress": whole["progress"],
                "weight": whole["weight"],
            },
            texts={code: text for code, text in texts.items() if text},
            written_in=written_in,
            factor_ids=factor_ids,
            priority_ids=priority_ids,
        )

    def _partners(self, number: int, text: str) -> list[dict[str, str]] | None:
        """``Name (side); Name (side)``: each partner with the side it is on."""
        partners: list[dict[str, str]] = []
        for part in re.split(r"[;\n]", text):
            part = part.strip()
            if not part:
                continue
            found = re.fullmatch(r"(.*?)\s*\(([^()]*)\)", part)
            side = self.sides.get(found.group(2).strip().casefold()) if found else None
            if found is None or side is None or not found.group(1).strip():
                self.problems.add(
                    number,
                    "partners",
                    _(
                        "“{value}”: give each partner's side in brackets, as in "
                        "“Women's council (community side)”."
                    ).format(value=part),
                )
                return None
            partners.append({"name": found.group(1).strip(), "side": side})
        return partners

    def _cost(self, number: int, cells: dict[str, Any]) -> Money | bool | None:
        """The cost as Money, None without one, False (reported) when it cannot be read."""
        raw, currency = cells.get("cost"), _text(cells.get("currency")).upper()
        if not _text(raw):
            return None
        amount = _amount(raw)
        if amount is None or amount < 0:
            self.problems.add(number, "cost", _("Give a cost from 0 up."))
            return False
        if amount != amount.quantize(Decimal("0.01")):
            self.problems.add(
                number, "cost", _("An amount has at most 2 digits after the decimal point.")
            )
            return False
        if amount > services.MAX_COST:
            self.problems.add(number, "cost", _("Give a cost from 0 up."))
            return False
        if currency not in Currency.values:
            self.problems.add(
                number,
                "currency",
                _("“{value}” is not a currency of plans: use TJS, UZS or USD.").format(
                    value=currency
                )
                if currency
                else _("Give the currency of the cost estimate."),
            )
            return False
        return Money(amount.quantize(Decimal("0.01")), currency)


def read_workplan(name: str, content: bytes, *, plan: ActionPlan) -> Workplan:
    """Every row of a workplan file checked on its own and against the others: the objective
    is the plan's, dates and amounts are readable, a part's parent is in the file, of the same
    objective, and no part is its own ancestor; no row twice. Raises
    :class:`WorkplanImportError` with every problem found."""
    problems = _Problems(name, {})
    if len(content) > MAX_IMPORT_BYTES:
        raise problems.refuse(
            _("The file is too large: at most {n} MB.").format(n=MAX_IMPORT_BYTES // 2**20)
        )
    if not content.strip():
        raise problems.refuse(_("The file is empty."))
    table = _sheet_rows(name, content, problems)
    keys, first = _keys_of(table, problems)
    data = table[first:]
    if len(data) > MAX_ROWS:
        raise problems.refuse(
            _("A workplan has at most {n} rows; split the file.").format(n=MAX_ROWS)
        )
    reader = _Reader(plan, problems)
    rows: list[ImportRow] = []
    for number, values in enumerate(data, start=first + 1):
        cells: dict[str, Any] = {}
        for index, key in enumerate(keys):
            if key and index < len(values) and not _text(cells.get(key)):
                cells[key] = values[index]  # a column named twice: the first one filled
        if not any(_text(v) for v in cells.values()):
            continue
        row = reader.row(number, cells)
        if row is not None:
            rows.append(row)
    _check_together(plan, rows, problems)
    if problems.problems:
        raise WorkplanImportError(problems.problems)
    if not rows:
        raise problems.refuse(_("The file has no actions."))
    return Workplan(name, rows)


def _keys_of(table: list[list[Any]], problems: _Problems) -> tuple[list[str | None], int]:
    """Each column's key and the index of the first row of data: the row of keys under the
    header when there is one, else the header read in any language."""
    if not table:
        raise problems.refuse(_("The file is empty."))
    header = [_text(v) for v in table[0]]
    if len(table) > 1:
        second = [_text(v) for v in table[1]]
        named = [v for v in second if v]
        if "title" in named and all(v in COLUMNS or v.startswith(MONTH) for v in named):
            problems.labels = {k: h for k, h in zip(second, header, strict=False) if k and h}
            return [v if v in COLUMNS else None for v in second], 2
    names = _header_names()
    keys = [names.get(h.casefold()) if h else None for h in header]
    # A header written in keys is named in the reader's language.
    problems.labels = {k: h for k, h in zip(keys, header, strict=False) if k and h != k}
    missing = [str(COLUMNS[k].label) for k in REQUIRED if k not in keys]
    if missing:
        raise problems.refuse(
            _(
                "The file has no column {columns}: export a plan's workplan to see its columns."
            ).format(columns=", ".join(f"“{m}”" for m in missing))
        )
    return keys, 1


def _check_together(plan: ActionPlan, rows: list[ImportRow], problems: _Problems) -> None:
    """What no row shows on its own: references, repeats, cycles, actions already there."""
    by_ref: dict[str, ImportRow] = {}
    for row in rows:
        if not row.ref:
            continue
        if row.ref in by_ref:
            problems.add(
                row.row,
                "ref",
                _("Number “{ref}” is also the number of row {other}.").format(
                    ref=row.ref, other=by_ref[row.ref].row
                ),
            )
        else:
            by_ref[row.ref] = row
    seen: dict[tuple[int, str, str], int] = {}
    for row in rows:
        key = (row.objective.pk, row.parent_ref, row.values["title"].casefold())
        if key in seen:
            problems.add(
                row.row,
                "title",
                _("The same action is in row {other}.").format(other=seen[key]),
            )
        else:
            seen[key] = row.row
        if row.parent_ref:
            parent = by_ref.get(row.parent_ref)
            if parent is None or parent is row:
                problems.add(
                    row.row,
                    "parent",
                    _("No row has the number “{ref}”.").format(ref=row.parent_ref)
                    if parent is None
                    else _("An action cannot be a part of itself or of one of its parts."),
                )
            elif parent.objective.pk != row.objective.pk:
                problems.add(row.row, "parent", _("Choose an action of the same objective."))
    for row in rows:
        if row.parent_ref and row.parent_ref != row.ref and _in_cycle(row, by_ref):
            problems.add(
                row.row,
                "parent",
                _("An action cannot be a part of itself or of one of its parts."),
            )
    existing = {
        (objective, title.casefold())
        for objective, title in Action.objects.filter(
            objective__plan=plan, parent__isnull=True
        ).values_list("objective_id", "title")
    }
    for row in rows:
        if not row.parent_ref and (row.objective.pk, row.values["title"].casefold()) in existing:
            problems.add(row.row, "title", _("This action is already in the plan."))


def _in_cycle(row: ImportRow, by_ref: dict[str, ImportRow]) -> bool:
    seen = {row.ref}
    current = by_ref.get(row.parent_ref)
    while current is not None and current.parent_ref:
        if current.ref in seen or current.parent_ref == row.ref:
            return True
        seen.add(current.ref)
        current = by_ref.get(current.parent_ref)
    return False


# ----------------------------------------------------------------------------------------
# In: writing.


def _depth_order(rows: list[ImportRow]) -> Iterator[ImportRow]:
    """Parents before their parts; rows of one depth in the file's order."""
    by_ref = {r.ref: r for r in rows if r.ref}

    def depth(row: ImportRow) -> int:
        level, current = 0, row
        while current.parent_ref and current.parent_ref in by_ref and level <= len(rows):
            level += 1
            current = by_ref[current.parent_ref]
        return level

    yield from sorted(rows, key=lambda r: (depth(r), r.row))


def _problems_from(error: ValidationError, file: str, row: int) -> list[ImportProblem]:
    if hasattr(error, "error_dict"):
        found = []
        for name, errors in error.error_dict.items():
            key = FIELD_COLUMN.get(name, name)
            label = str(COLUMNS[key].label) if key in COLUMNS else name
            found += [ImportProblem(file, row, label, str(m)) for e in errors for m in e.messages]
        return found
    return [ImportProblem(file, row, "", str(m)) for m in error.messages]


@dataclass(frozen=True)
class ImportResult:
    plan: ActionPlan
    added: int


def workplan_import(
    *, user: User, plan: ActionPlan, workplan: Workplan, request: HttpRequest | None = None
) -> ImportResult:
    """Add the workplan's actions to ``plan`` through :func:`services.action_create` (each
    audited) with their translations (``translations_save``), parents before their parts; any
    problem, and nothing is saved."""
    file = workplan.file
    problems: list[ImportProblem] = []
    # Only what an action of this plan may address is found (the same answer for a number
    # that is another group's as for one that does not exist).
    factors = selectors.factors_for(user=user, plan=plan).in_bulk(
        {i for r in workplan.rows for i in r.factor_ids}
    )
    priorities = selectors.priorities_for(plan=plan).in_bulk(
        {i for r in workplan.rows for i in r.priority_ids}
    )
    created: dict[str, Action] = {}
    with transaction.atomic():
        for row in _depth_order(workplan.rows):
            parent = created.get(row.parent_ref) if row.parent_ref else None
            if row.parent_ref and parent is None:
                continue  # its parent's row was refused, and said why
            unknown: dict[str, str] = {}
            if any(i not in factors for i in row.factor_ids):
                unknown["factor_ids"] = _(
                    "Choose factors of this programme's driver maps for this group."
                )
            if any(i not in priorities for i in row.priority_ids):
                unknown["priority_ids"] = _("Choose priorities this group has agreed.")
            if unknown:
                problems += [
                    ImportProblem(file, row.row, str(COLUMNS[key].label), message)
                    for key, message in unknown.items()
                ]
                continue
            try:
                # The action is written in its row's language (a Translatable's default).
                with override(row.written_in):
                    action = services.action_create(
                        user=user,
                        objective=row.objective,
                        parent=parent,
                        factors=[factors[i] for i in row.factor_ids],
                        priorities=[priorities[i] for i in row.priority_ids],
                        **row.values,
                    )
            except ValidationError as error:
                problems += _problems_from(error, file, row.row)
                continue
            if row.ref:
                created[row.ref] = action
            others: dict[tuple[Translatable, str, str], str] = {
                (action, "title", code): text
                for code, text in row.texts.items()
                if code != row.written_in
            }
            if others:
                translations_save(
                    obj=action,
                    programme=plan.programme,
                    content_language=row.written_in,
                    texts=others,
                    acting_user=user,
                    request=request,
                )
        if problems:
            raise WorkplanImportError(problems[:PROBLEMS_MAX])
        audit_record(
            actor=user,
            verb=AuditEvent.Verb.IMPORTED,
            obj=plan,
            programme=plan.programme,
            request=request,
            details={"file": file, "actions": len(workplan.rows)},
        )
    return ImportResult(plan, len(workplan.rows))
