"""Tables a page shows, taken away as CSV or XLSX: what a team puts into its own document.

A page builds a :class:`Table` from exactly what it shows (withheld cells already empty, labels
in the reader's language) and offers it for download through :func:`table_response`, so the
file can never hold more than the page: disclosure control happened before the table was made.
Every cell goes through :class:`~amniyat.core.cells.CellWriter`, the one writer that keeps text
from becoming a spreadsheet formula.

No app is imported here: any app's page can offer its tables.
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.http import HttpResponse

from amniyat.core.cells import CellWriter

__all__ = ["DOWNLOAD_FORMATS", "Table", "table_csv", "table_response", "table_xlsx"]

DOWNLOAD_FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@dataclass(frozen=True)
class Table:
    """A titled table: column headers, rows of cells (numbers stay numbers; None is an empty
    cell), and notes under it (what the numbers are, the disclosure rule, the source)."""

    title: str
    columns: Sequence[str]
    rows: Sequence[Sequence[Any]]
    notes: Sequence[str] = field(default_factory=tuple)


def table_csv(table: Table) -> bytes:
    """UTF-8 with a byte-order mark (Excel then reads Cyrillic and ʻ right): the header, the
    rows, then each note on a line of its own after an empty one."""
    out = io.StringIO()
    writer = CellWriter.for_csv(out)
    writer.row(table.columns)
    for row in table.rows:
        writer.row(row)
    if table.notes:
        writer.row([])
        for note in table.notes:
            writer.row([note])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def table_xlsx(table: Table) -> bytes:
    """One sheet: the title, the header in bold, the rows, the notes below."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = _sheet_title(table.title)
    writer = CellWriter.for_sheet(sheet)
    writer.row([table.title])
    sheet.cell(row=1, column=1).font = Font(bold=True, size=12)
    writer.row(table.columns)
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    for row in table.rows:
        writer.row(row)
    if table.notes:
        writer.row([None])  # an empty line before the notes
        for note in table.notes:
            writer.row([note])
    for index, header in enumerate(table.columns, start=1):
        width = max([len(str(header)), *(len(str(r[index - 1] or "")) for r in table.rows[:200])])
        sheet.column_dimensions[sheet.cell(row=2, column=index).column_letter].width = min(
            60, max(8, width + 2)
        )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def table_response(table: Table, *, file_format: str, file_stem: str) -> HttpResponse:
    """The table as a file to download, named ``{file_stem}.{csv|xlsx}``."""
    if file_format not in DOWNLOAD_FORMATS:
        raise ValueError(f"unknown table format {file_format!r}")
    content = table_csv(table) if file_format == "csv" else table_xlsx(table)
    response = HttpResponse(content, content_type=DOWNLOAD_FORMATS[file_format])
    name = f"{_file_stem(file_stem)}.{file_format}"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _sheet_title(title: str) -> str:
    """A sheet title Excel accepts: at most 31 characters, none of ``[]:*?/\\``."""
    cleaned = re.sub(r"[\[\]:*?/\\]", " ", title).strip() or "Table"
    return cleaned[:31]


def _file_stem(stem: str) -> str:
    """ASCII letters, digits, dots, dashes and underscores only: a header-safe file name."""
    ascii_only = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z0-9._-]+", "-", ascii_only).strip("-.") or "table"
