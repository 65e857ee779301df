"""A page's table taken away: the same cells, numbers as numbers, formulas neutralised, notes
kept, a file name safe in a header."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest

from amniyat.core.tables import Table, table_csv, table_response, table_xlsx

TABLE = Table(
    title="Feel safe at night — Вахш / Vaxsh: [baseline]",
    columns=["District", "Estimate (%)", "n"],
    rows=[["Vakhsh", 62.5, 412], ['=HYPERLINK("http://x")', None, 3], ["Oʻgʻil", -5, 20]],
    notes=["Cells resting on fewer than 5 respondents are withheld."],
)


def test_csv_has_the_cells_with_formulas_neutralised_and_the_notes() -> None:
    content = table_csv(TABLE)

    assert content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert rows == [
        ["District", "Estimate (%)", "n"],
        ["Vakhsh", "62.5", "412"],
        ['\'=HYPERLINK("http://x")', "", "3"],
        ["Oʻgʻil", "-5", "20"],
        [],
        ["Cells resting on fewer than 5 respondents are withheld."],
    ]


def test_xlsx_has_numbers_as_numbers_and_no_formula() -> None:
    sheet = openpyxl.load_workbook(io.BytesIO(table_xlsx(TABLE))).active
    assert sheet is not None

    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert values[0][0] == TABLE.title
    assert values[1] == ["District", "Estimate (%)", "n"]
    assert values[2] == ["Vakhsh", 62.5, 412]
    assert values[3][0] == '\'=HYPERLINK("http://x")'
    assert sheet["A4"].data_type == "s"
    assert values[5] == [None, None, None]
    assert values[6][0] == "Cells resting on fewer than 5 respondents are withheld."
    assert ":" not in sheet.title and "[" not in sheet.title and len(sheet.title) <= 31


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_the_download_is_an_attachment_with_a_safe_name(file_format: str) -> None:
    response = table_response(TABLE, file_format=file_format, file_stem='Findings "Vakhsh"/Oʻgʻil')

    assert response["Content-Disposition"] == (
        f'attachment; filename="Findings-Vakhsh-Ogil.{file_format}"'
    )


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError):
        table_response(TABLE, file_format="pdf", file_stem="x")
