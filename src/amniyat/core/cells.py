"""Cells on their way into a spreadsheet: the one writer every CSV and XLSX file the product
writes goes through, so that no value from the data becomes a live formula.

No Django here: the analysis command's files use it too.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from openpyxl.worksheet._write_only import WriteOnlyWorksheet
    from openpyxl.worksheet.worksheet import Worksheet

# OWASP's CSV injection rule, with the full-width signs some spreadsheets also honour. Quotes
# already in front count, so that the importer's taking one quote off gives the value back.
_FORMULA = re.compile(r"^'*[=+\-@\t\r＝＋－＠]")
# A plain number is a constant in every spreadsheet, never a formula: ``-5`` stays as it is,
# so a choice named ``-99`` imports back. ``[0-9]``, not ``\d``: other digits are text.
_PLAIN_NUMBER = re.compile(r"-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def neutralise(value: str) -> str:
    """Quote text a spreadsheet would treat as a formula (a plain number is not one)."""
    if _FORMULA.match(value) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


class CellWriter:
    """The one way a row reaches a CSV file or an XLSX sheet. Numbers are written as numbers;
    every other value as text through :func:`neutralise`, and in XLSX as an explicit string
    cell, so that openpyxl never stores a formula (it would for text starting with ``=``) nor
    an error value (``#N/A``). Writers call :meth:`row` and never see the file's own writer."""

    def __init__(self, append: Callable[[list[Any]], object], text: Callable[[str], Any]) -> None:
        self._append = append
        self._text = text

    @classmethod
    def for_csv(cls, out: TextIO, **dialect: Any) -> CellWriter:
        return cls(csv.writer(out, **dialect).writerow, str)

    @classmethod
    def for_sheet(cls, sheet: Worksheet | WriteOnlyWorksheet) -> CellWriter:
        """Rows appended to an XLSX sheet, write-only (streamed) or ordinary (styled later)."""
        from openpyxl.cell import Cell, WriteOnlyCell
        from openpyxl.worksheet.worksheet import Worksheet

        def text(value: str) -> Cell | WriteOnlyCell:
            cell = (
                Cell(sheet, value=value)
                if isinstance(sheet, Worksheet)
                else WriteOnlyCell(sheet, value)
            )
            cell.data_type = "s"
            return cell

        return cls(sheet.append, text)

    def row(self, values: Iterable[Any]) -> None:
        self._append([self._cell(value) for value in values])

    def _cell(self, value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, int | float):
            return value
        return self._text(neutralise(str(value)))
