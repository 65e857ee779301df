"""The tables of the findings pages: one object that the page prints and a download writes.

A :class:`PageTable` holds the rows a page shows, a withheld cell already replaced by why it
is empty, and every figure twice: as the page prints it (``62%``) and as a spreadsheet takes it
(``62``, a number, rounded as printed). The page renders it (``findings/partials/table.html``)
and a download writes :meth:`PageTable.table` through :mod:`amniyat.core.tables`, so the file
holds the page's cells and nothing more: disclosure control happened before either was made.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from amniyat.core.tables import Table

__all__ = [
    "Column",
    "Figure",
    "PageRow",
    "PageTable",
    "Withheld",
    "count",
    "estimate",
    "interval",
    "points",
    "star",
]


@dataclass(frozen=True)
class Figure:
    """A cell: ``text`` as the page prints it, ``values`` as the file holds it (one per file
    column of its page column; numbers stay numbers), ``title`` what hovering it says."""

    text: str
    values: tuple[Any, ...]
    title: str = ""

    @property
    def note(self) -> str:
        return ""  # a figure is never withheld: the page's template asks every cell


@dataclass(frozen=True)
class Withheld:
    """Cells the page replaces by why they hold no number, across ``span`` columns. In a file
    those columns are empty and the reason is in the last column, "Note"."""

    note: str
    span: int


Cells = list[Figure | Withheld]


@dataclass(frozen=True)
class Column:
    """A column as the page heads it, and the file's columns for it (an interval is two)."""

    header: str
    file_headers: tuple[str, ...] = ()

    @property
    def in_file(self) -> tuple[str, ...]:
        return self.file_headers or (self.header,)


@dataclass
class PageRow:
    labels: list[str]
    cells: Cells
    group: str = ""
    """The rows' group (``by sex``): a heading row on the page, a column in the file."""

    @property
    def note(self) -> str:
        return next((cell.note for cell in self.cells if isinstance(cell, Withheld)), "")


@dataclass
class ShownRow:
    """A row as the page prints it: the first label left out under a row with the same one."""

    labels: list[str]
    cells: Cells


@dataclass
class ShownGroup:
    title: str
    rows: list[ShownRow]


@dataclass
class PageTable:
    """A table of a findings page. ``id`` names it in its download's address and file name."""

    id: str
    title: str
    labels: list[Column]
    columns: list[Column]
    rows: list[PageRow]
    notes: list[str] = field(default_factory=list)
    group: str = ""
    """The file's header of the column naming each row's group; empty: rows are not grouped."""
    row_headers: bool = False
    """Whether the first label heads its row (``<th scope="row">``), as in a chart's table."""
    downloads: dict[str, str] = field(default_factory=dict)
    """The address of the table as a file, by format: set by the view that shows the page."""
    file_stem: str = "table"
    """The downloaded file's name without its extension: set by the same view."""

    @property
    def width(self) -> int:
        return len(self.labels) + len(self.columns)

    @property
    def groups(self) -> list[ShownGroup]:
        """The rows as the page shows them, in their groups."""
        groups: list[ShownGroup] = []
        previous: str | None = None
        for row in self.rows:
            if not groups or groups[-1].title != row.group:
                groups.append(ShownGroup(title=row.group, rows=[]))
                previous = None
            labels = list(row.labels)
            if len(labels) > 1 and labels[0] == previous:
                labels[0] = ""
            else:
                previous = labels[0] if labels else None
            groups[-1].rows.append(ShownRow(labels=labels, cells=row.cells))
        return groups

    def table(self) -> Table:
        """The same rows for a file: every label on every row, the group as a column, each
        figure's values in their columns, a withheld cell's columns empty and its reason in
        the last column."""
        columns = [
            *([self.group] if self.group else []),
            *(header for column in self.labels for header in column.in_file),
            *(header for column in self.columns for header in column.in_file),
            _("Note"),
        ]
        rows = []
        for row in self.rows:
            values: list[Any] = [*([row.group] if self.group else []), *row.labels]
            place = 0
            for cell in row.cells:
                if isinstance(cell, Withheld):
                    spanned = self.columns[place : place + cell.span]
                    values += [None] * sum(len(column.in_file) for column in spanned)
                    place += cell.span
                else:
                    values += cell.values
                    place += 1
            values.append(row.note or None)
            rows.append(values)
        return Table(title=self.title, columns=columns, rows=rows, notes=list(self.notes))


# --- Figures ---------------------------------------------------------------------------
# One function a kind of figure, so that the page and the file round alike: the file's number
# is the page's text without its sign or separators.


def _percent_points(value: float) -> int:
    # What ``f"{value:.0%}"`` prints: the value times 100, rounded half to even.
    return int(f"{value * 100:.0f}")


def _two_decimals(value: float) -> float:
    return float(f"{value:.2f}")


def _percent_text(points: int) -> str:
    return f"{points}%"


def estimate(value: float, kind: str) -> Figure:
    """A proportion in percent (``62%``, 62), a mean to two decimals (``1,234.50``)."""
    if kind == "proportion":
        points = _percent_points(value)
        return Figure(_percent_text(points), (points,))
    return Figure(f"{value:,.2f}", (_two_decimals(value),))


def interval(low: float | None, high: float | None, kind: str) -> Figure:
    """A confidence interval: one text on the page, its two ends in the file."""
    if low is None or high is None:
        return Figure("", (None, None))
    if kind == "proportion":
        ends = (_percent_points(low), _percent_points(high))
        return Figure(f"{_percent_text(ends[0])}–{_percent_text(ends[1])}", ends)
    return Figure(f"{low:,.2f}–{high:,.2f}", (_two_decimals(low), _two_decimals(high)))


def points(difference: float, kind: str = "proportion") -> Figure:
    """A change or a gap: in percentage points for proportions (``+5 points``, 5), else to
    two decimals with its sign."""
    if kind == "proportion":
        change = _percent_points(difference)
        text = _("%(change)s points") % {"change": f"{change:+d}" if change else "0"}
        return Figure(text, (change,))
    value = _two_decimals(difference)
    return Figure(f"{value:+,.2f}" if value else "0.00", (value,))


def count(n: int) -> Figure:
    return Figure(str(n), (n,))


def star(p_value: float | None) -> Figure:
    """★ where a difference is unlikely to be chance (p < 0.05), with its p on hovering."""
    if p_value is None or p_value >= 0.05:
        return Figure("", (None,))
    return Figure("★", ("★",), title=f"p = {p_value:.3f}")
