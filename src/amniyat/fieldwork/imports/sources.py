"""Reading files of submissions as streams of column batches.

Every format becomes a :class:`Workbook`: a main :class:`Sheet` of submissions and, where the
format keeps them apart, a sheet per repeat. A sheet gives its header and then batches of rows
as Polars frames of text (one column per header, plus :data:`ROW`, the row number a person
sees in a spreadsheet), so that memory stays flat however large the file: CSV cut into pieces
of whole records, each read by Polars; XLSX through openpyxl in read-only mode; JSON through an
incremental decoder.

Nothing here knows the form; :mod:`amniyat.fieldwork.imports.convert` maps and checks.
"""

from __future__ import annotations

import csv
import datetime
import json
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from django.utils.translation import gettext as _

from amniyat.core.archives import MEMBER_ERRORS, ArchiveRefused, checked_members
from amniyat.fieldwork.conf import size_label
from amniyat.fieldwork.imports import limits
from amniyat.fieldwork.imports.encoding import utf8_copy
from amniyat.fieldwork.imports.errors import FileRejected

ROW = "\x00row"
PARENT = "\x00parent"  # a JSON repetition: the key of the repetition or submission holding it
OWN = "\x00own"  # a JSON repetition's own key, which the repetitions inside it name
FORMATS = ("auto", "kobo-csv", "kobo-xlsx", "kobo-json", "odk-csv", "odk-zip", "csv", "xlsx")
KOBO_MARKERS = frozenset(
    {"_uuid", "_submission_time", "_index", "_id", "meta/instanceID", "formhub/uuid"}
)
ODK_MARKERS = frozenset({"KEY", "SubmissionDate", "meta-instanceID", "PARENT_KEY"})
ZIP_MAGIC = b"PK\x03\x04"
EMPTY_ZIP_MAGIC = b"PK\x05\x06"
# An HXL hashtag with its attributes (``#indicator +num``, ``#adm1+name``): KoboToolbox writes
# a row of them under the header when a form tags its questions (its ``hxl`` column).
# https://hxlstandard.org/standard/1-1final/dictionary/
HXL_HASHTAG = r"^#[A-Za-z][A-Za-z0-9_]*(\s*\+[A-Za-z][A-Za-z0-9_]*)*$"


@dataclass
class Batch:
    """Rows of the main sheet and, for JSON, the repeat rows nested in them (by repeat key,
    each with the :data:`ROW` of its submission, :data:`PARENT` and :data:`OWN`)."""

    main: pl.DataFrame
    repeats: dict[str, pl.DataFrame] = field(default_factory=dict)


@dataclass
class Sheet:
    name: str
    header: list[str]
    read: Callable[[int], Iterator[Batch]]
    total_rows: int | None = None


@dataclass
class Workbook:
    file_format: str
    main: Sheet
    repeats: list[Sheet] = field(default_factory=list)


# ----------------------------------------------------------------------------------------
# Recognising the format.


def sniff_format(path: Path, name: str) -> str:
    """The format of a file from its content (never from its name alone)."""
    with path.open("rb") as handle:
        head = handle.read(64 * 1024)
    if not head.strip():
        raise FileRejected(_("“{file}” is empty.").format(file=name))
    if head.startswith(ZIP_MAGIC) or head.startswith(EMPTY_ZIP_MAGIC):
        names = _zip_names(path, name)
        if "xl/workbook.xml" in names:
            return "xlsx"
        if any(n.lower().endswith(".csv") for n in names):
            return "odk-zip"
        raise FileRejected(
            _("“{file}” is a zip archive without a workbook or CSV files in it.").format(file=name)
        )
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise FileRejected(
            _(
                "“{file}” is an old Excel (.xls) workbook. Save it as .xlsx or CSV and import "
                "it again."
            ).format(file=name)
        )
    if head.startswith(b"%PDF"):
        raise FileRejected(_("“{file}” is a PDF document, not a file of data.").format(file=name))
    text = _head_text(head)
    if text.lstrip().startswith(("{", "[")):
        return "kobo-json"
    return "csv"


def _head_text(head: bytes) -> str:
    for encoding in ("utf-8-sig", "utf-16"):
        try:
            return head.decode(encoding)
        except UnicodeDecodeError:
            continue
    return head.decode("latin-1")


def _zip_names(path: Path, name: str) -> list[str]:
    try:
        with zipfile.ZipFile(path) as archive:
            return archive.namelist()
    except (zipfile.BadZipFile, OSError) as error:
        raise FileRejected(_("“{file}” is a damaged zip archive.").format(file=name)) from error


def check_zip(path: Path, name: str) -> None:
    """Refuse zip bombs: too many members, too much once unpacked, or packed too tightly."""
    try:
        with zipfile.ZipFile(path) as archive:
            checked_members(
                archive,
                file=name,
                max_members=limits.max_zip_members(),
                max_unpacked=limits.max_unpacked_bytes(),
                max_ratio=limits.max_compression_ratio(),
            )
    except (zipfile.BadZipFile, OSError) as error:
        raise FileRejected(_("“{file}” is a damaged zip archive.").format(file=name)) from error
    except ArchiveRefused as refused:
        raise FileRejected(refused.message) from refused


# ----------------------------------------------------------------------------------------
# CSV


def _sniff_delimiter(line: str) -> str:
    counts = {d: 0 for d in (",", ";", "\t")}
    quoted = False
    for char in line:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in counts:
            counts[char] += 1
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _row_too_long(name: str, row: int) -> FileRejected:
    return FileRejected(
        _(
            "Row {row} of “{file}” is longer than {limit}: no row of answers is so long, so "
            "the file is damaged or is not an export of submissions."
        ).format(row=row, file=name, limit=size_label(limits.max_row_bytes()))
    )


def _csv_header(path: Path, name: str) -> tuple[list[str], str]:
    with path.open("r", encoding="utf-8-sig", newline="") as handle:
        longest = limits.max_row_bytes()
        first = handle.readline(longest + 1)
        if len(first) > longest:
            raise _row_too_long(name, 1)
        if not first.strip():
            raise FileRejected(_("“{file}” is empty.").format(file=name))
        delimiter = _sniff_delimiter(first)
        handle.seek(0)
        if handle.read(1) != "\ufeff":
            handle.seek(0)
        try:
            header = next(csv.reader(handle, delimiter=delimiter))
        except (csv.Error, StopIteration) as error:
            raise FileRejected(
                _("The first row of “{file}” is not a row of column names.").format(file=name)
            ) from error
    header = [h.strip() for h in header]
    _check_header(header, name)
    return header, delimiter


def _check_header(header: list[str], name: str) -> None:
    if not any(header):
        raise FileRejected(
            _("The first row of “{file}” is not a row of column names.").format(file=name)
        )
    seen: set[str] = set()
    for column in header:
        if not column:
            raise FileRejected(_("“{file}” has a column without a name.").format(file=name))
        if column in seen:
            raise FileRejected(
                _("“{file}” has the column “{column}” twice.").format(file=name, column=column)
            )
        seen.add(column)


def _count_lines(path: Path) -> int:
    lines = 0
    last = b"\n"
    with path.open("rb") as handle:
        while chunk := handle.read(4 * 1024 * 1024):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    return lines + (0 if last == b"\n" else 1)


READ_BYTES = 4 * 2**20


def _record_chunks(path: Path, records: int, name: str = "") -> Iterator[bytes]:
    """The CSV cut into pieces of at most ``records`` records, each starting with the header
    record, one at a time (each is read before the next is cut), so memory stays flat. A
    record longer than :func:`limits.max_row_bytes` is refused, naming its row, as soon as
    it is seen: a file of one endless line is never held whole.

    A record ends at a line break outside quotes. With CSV quoting (a quote inside a quoted
    field is doubled) a line break is outside quotes exactly when the quote characters before
    it in the file are even in number, so a running count of quotes finds every record's end;
    a record broken over lines inside quotes stays whole. The count runs over blocks of bytes
    with numpy (a Python loop over a million lines costs more than Polars' whole reading of
    them). An unclosed quote runs to the end of the file and the reader then refuses that last
    piece."""
    longest = limits.max_row_bytes()
    with path.open("rb") as source:
        pending = bytearray()
        ends: list[int] = []  # offsets in ``pending`` just after each complete record
        quotes = 0  # quotes seen so far in the file, modulo 2
        header: bytes | None = None
        first_row = 1  # the row of the record ``pending`` starts with (the header is row 1)
        while True:
            block = source.read(READ_BYTES)
            if block:
                found, quotes = _record_ends(block, quotes)
                found += len(pending)
                starts = np.concatenate(([ends[-1] if ends else 0], found[:-1]))
                too_long = np.flatnonzero(found - starts > longest)
                if len(too_long):
                    raise _row_too_long(name, first_row + len(ends) + int(too_long[0]))
                ends.extend(found.tolist())
                pending += block
                if len(pending) - (ends[-1] if ends else 0) > longest:
                    raise _row_too_long(name, first_row + len(ends))
            if header is None and ends:
                header = bytes(pending[: ends[0]])
                del pending[: ends[0]]
                ends = [end - len(header) for end in ends[1:]]
                first_row = 2
            while header is not None and len(ends) >= records:
                cut = ends[records - 1]
                yield header + pending[:cut]
                del pending[:cut]
                ends = [end - cut for end in ends[records:]]
                first_row += records
            if not block:
                break
        if header is not None and pending:
            yield header + pending


def _record_ends(block: bytes, quotes: int) -> tuple[np.ndarray, int]:
    """The offsets just after each line break of ``block`` that ends a record, and the parity
    of quotes at its end, given the parity before it. A line break ends a record when the
    quotes before it are even in number: counted for each line break by its place among the
    quotes' positions, rather than by a running count over every byte (six times slower)."""
    data = np.frombuffer(block, dtype=np.uint8)
    breaks = np.flatnonzero(data == ord("\n"))
    marks = np.flatnonzero(data == ord('"'))
    if not len(marks):
        return (breaks + 1 if quotes == 0 else breaks[:0]), quotes
    odd = (np.searchsorted(marks, breaks) + quotes) & 1
    return breaks[odd == 0] + 1, (len(marks) + quotes) & 1


def _without_hashtag_row(
    read: Callable[[int], Iterator[Batch]],
) -> Callable[[int], Iterator[Batch]]:
    """``read``, leaving out the row right under the header when it is a row of HXL hashtags
    (every cell a hashtag or empty, one at least): it describes the columns, it is not a
    submission. The rows keep their numbers, so a report still points at the right line."""

    def without(chunk_size: int) -> Iterator[Batch]:
        first = True
        for batch in read(chunk_size):
            if first and batch.main.height:
                first = False
                head = batch.main.head(1)
                if head[ROW].item() == 2 and _is_hashtag_row(head.drop(ROW).row(0)):
                    batch = Batch(main=batch.main.slice(1), repeats=batch.repeats)
            yield batch

    return without


def _is_hashtag_row(cells: tuple[Any, ...]) -> bool:
    texts = [str(cell).strip() for cell in cells if cell is not None and str(cell).strip()]
    return bool(texts) and all(re.match(HXL_HASHTAG, text) for text in texts)


def csv_sheet(path: Path, workdir: Path, name: str) -> Sheet:
    text_path = utf8_copy(path, workdir, name=name)
    header, delimiter = _csv_header(text_path, name)
    total = max(_count_lines(text_path) - 1, 0)

    def read(chunk_size: int) -> Iterator[Batch]:
        # Piece by piece, so that memory stays flat however large the file: Polars' own
        # batched collection runs the whole scan ahead of the reader and holds it.
        first_row = 2
        try:
            for piece in _record_chunks(text_path, chunk_size, name):
                batch = pl.read_csv(
                    piece,
                    separator=delimiter,
                    has_header=True,
                    new_columns=header,
                    infer_schema=False,
                    quote_char='"',
                    raise_if_empty=False,
                    truncate_ragged_lines=False,
                    row_index_name=ROW,
                    row_index_offset=first_row,
                    low_memory=True,
                )
                first_row += batch.height
                yield Batch(main=batch.with_columns(pl.col(ROW).cast(pl.Int64)))
        except (pl.exceptions.PolarsError, OSError) as error:
            raise FileRejected(
                _(
                    "“{file}” is not a well-formed CSV file: a row has more cells than the "
                    "header or an unclosed quote."
                ).format(file=name)
            ) from error

    return Sheet(name=name, header=header, read=_without_hashtag_row(read), total_rows=total)


# ----------------------------------------------------------------------------------------
# XLSX


def cell_text(value: Any) -> str | None:
    """A spreadsheet cell as the text a CSV export would hold."""
    if value is None:
        return None
    if isinstance(value, str):
        return value if value != "" else None
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e16 else repr(value)
    if isinstance(value, datetime.datetime):
        if value.time() == datetime.time(0) and value.tzinfo is None:
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    return str(value)


def xlsx_workbook(path: Path, name: str, *, with_repeats: bool) -> Workbook:
    import openpyxl

    check_zip(path, name)
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many kinds on a damaged workbook
        raise FileRejected(
            _("“{file}” could not be opened as an Excel workbook.").format(file=name)
        ) from error
    sheets: list[Sheet] = []
    for worksheet in book.worksheets:
        rows = worksheet.iter_rows(max_row=1, values_only=True)
        first = next(rows, None)
        header = [cell_text(v) or "" for v in (first or ())]
        while header and not header[-1]:
            header.pop()
        if not header:
            if not sheets:
                raise FileRejected(_("“{file}” is empty.").format(file=name))
            continue
        label = name if not sheets else f"{name} › {worksheet.title}"
        _check_header([h.strip() for h in header], label)
        sheets.append(_xlsx_sheet(path, worksheet.title, label, [h.strip() for h in header]))
        if not with_repeats:
            break
    book.close()
    main, *rest = sheets
    repeats = [s for s in rest if "_parent_index" in s.header or "PARENT_KEY" in s.header]
    return Workbook(file_format="xlsx", main=main, repeats=repeats)


def _xlsx_sheet(path: Path, title: str, label: str, header: list[str]) -> Sheet:
    import openpyxl

    width = len(header)
    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    dimension = book[title].max_row
    book.close()

    def read(chunk_size: int) -> Iterator[Batch]:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        try:
            worksheet = book[title]
            columns: list[list[str | None]] = [[] for _ in range(width)]
            numbers: list[int] = []
            for number, row in enumerate(worksheet.iter_rows(min_row=2, values_only=True), 2):
                texts = [cell_text(v) for v in row[:width]]
                if not any(t is not None for t in texts):
                    continue
                if any(v is not None and v != "" for v in row[width:]):
                    raise FileRejected(
                        _("Row {row} of “{file}” has cells beyond the named columns.").format(
                            row=number, file=label
                        )
                    )
                texts += [None] * (width - len(texts))
                for index, text in enumerate(texts):
                    columns[index].append(text)
                numbers.append(number)
                if len(numbers) >= chunk_size:
                    yield Batch(main=_frame(header, columns, numbers))
                    columns = [[] for _ in range(width)]
                    numbers = []
            if numbers:
                yield Batch(main=_frame(header, columns, numbers))
        finally:
            book.close()

    total = max((dimension or 1) - 1, 0)
    return Sheet(name=label, header=header, read=_without_hashtag_row(read), total_rows=total)


def _frame(header: list[str], columns: list[list[str | None]], numbers: list[int]) -> pl.DataFrame:
    data: dict[str, Any] = {ROW: pl.Series(ROW, numbers, dtype=pl.Int64)}
    for column, values in zip(header, columns, strict=True):
        data[column] = pl.Series(column, values, dtype=pl.String)
    return pl.DataFrame(data)


# ----------------------------------------------------------------------------------------
# KoboToolbox API JSON


def _iter_json_records(path: Path, name: str) -> Iterator[dict[str, Any]]:
    """The submissions of a KoboToolbox API answer (``{"results": [...]}``) or of a plain
    list, one at a time, without reading the whole file into memory."""
    decoder = json.JSONDecoder()
    with path.open("r", encoding="utf-8-sig") as handle:
        buffer = ""
        position = 0
        eof = False

        def fill() -> bool:
            nonlocal buffer, position, eof
            if eof:
                return False
            chunk = handle.read(1024 * 1024)
            if not chunk:
                eof = True
                return False
            buffer = buffer[position:] + chunk
            position = 0
            return True

        def skip_space() -> str:
            nonlocal position
            while True:
                while position < len(buffer) and buffer[position] in " \t\r\n":
                    position += 1
                if position < len(buffer):
                    return buffer[position]
                if not fill():
                    return ""

        def value() -> Any:
            nonlocal position
            skip_space()
            while True:
                try:
                    result, end = decoder.raw_decode(buffer, position)
                except json.JSONDecodeError as error:
                    # Perhaps the value runs on past what has been read so far.
                    if not fill():
                        raise FileRejected(
                            _("“{file}” is not valid JSON (near character {at}).").format(
                                file=name, at=error.pos
                            )
                        ) from error
                    continue
                # A number cut at the end of the buffer: read more to be sure.
                cut = end == len(buffer) and not eof and isinstance(result, int | float)
                if cut and fill():
                    continue
                position = end
                return result

        def expect(char: str) -> None:
            nonlocal position
            if skip_space() != char:
                raise FileRejected(
                    _("“{file}” is not a KoboToolbox JSON export.").format(file=name)
                )
            position += 1

        fill()
        start = skip_space()
        if start == "{":
            position += 1
            found = False
            while True:
                if skip_space() == "}":
                    break
                key = value()
                expect(":")
                if key == "results":
                    found = True
                    break
                value()
                if skip_space() == ",":
                    position += 1
            if not found:
                raise FileRejected(
                    _("“{file}” has no “results” list of submissions.").format(file=name)
                )
        elif start != "[":
            raise FileRejected(_("“{file}” is not a KoboToolbox JSON export.").format(file=name))
        expect("[")
        while True:
            following = skip_space()
            if following == "]":
                return
            if following == ",":
                position += 1
                continue
            if following == "":
                raise FileRejected(_("“{file}” ends in the middle.").format(file=name))
            record = value()
            if not isinstance(record, dict):
                raise FileRejected(
                    _("“{file}” lists something other than submissions.").format(file=name)
                )
            yield record


# Kobo API keys that describe the submission rather than answer a question.
KOBO_JSON_LISTS = frozenset({"_attachments", "_tags", "_notes", "_geolocation"})


def _json_text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return cell_text(value)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return " ".join(value)
    return json.dumps(value, ensure_ascii=False)


def json_workbook(path: Path, workdir: Path, name: str) -> Workbook:
    text_path = utf8_copy(path, workdir, name=name)

    def read(chunk_size: int) -> Iterator[Batch]:
        rows: list[dict[str, str | None]] = []
        repeats: dict[str, list[dict[str, str | None]]] = {}
        number = 0
        for record in _iter_json_records(text_path, name):
            number += 1
            row: dict[str, str | None] = {ROW: str(number)}
            for key, item in record.items():
                if key == "_validation_status":  # {"uid": "validation_status_approved", …}
                    row[key] = _json_text(
                        (item or {}).get("uid") if isinstance(item, dict) else item
                    )
                    continue
                if key in KOBO_JSON_LISTS:
                    continue
                if _is_repeat(item):
                    _json_repetitions(key, item, number, str(number), repeats)
                    continue
                if item == []:
                    continue  # a repeat without repetitions, or nothing chosen
                row[key] = _json_text(item)
            rows.append(row)
            if len(rows) >= chunk_size:
                yield _json_batch(rows, repeats)
                rows, repeats = [], {}
        if rows:
            yield _json_batch(rows, repeats)

    return Workbook(
        file_format="kobo-json", main=Sheet(name=name, header=[], read=read, total_rows=None)
    )


def _is_repeat(item: Any) -> bool:
    return isinstance(item, list) and bool(item) and all(isinstance(v, dict) for v in item)


def _json_repetitions(
    key: str,
    items: list[dict[str, Any]],
    number: int,
    parent: str,
    repeats: dict[str, list[dict[str, str | None]]],
) -> None:
    """The repetitions of the repeat ``key`` as rows of ``repeats[key]``, each naming its
    submission (:data:`ROW`), the repetition or submission holding it (:data:`PARENT`) and
    itself (:data:`OWN`), and those of the repeats inside each the same way, at any depth."""
    for position, entry in enumerate(items, start=1):
        own = f"{parent}.{position}"
        nested: dict[str, str | None] = {ROW: str(number), PARENT: parent, OWN: own}
        for sub_key, sub_value in entry.items():
            if _is_repeat(sub_value):
                _json_repetitions(sub_key, sub_value, number, own, repeats)
            elif sub_value != []:
                nested[sub_key] = _json_text(sub_value)
        repeats.setdefault(key, []).append(nested)


def _records_frame(rows: list[dict[str, str | None]]) -> pl.DataFrame:
    columns: dict[str, None] = {}
    for row in rows:
        for column in row:
            columns.setdefault(column)
    data = {c: pl.Series(c, [r.get(c) for r in rows], dtype=pl.String) for c in columns}
    return pl.DataFrame(data).with_columns(pl.col(ROW).cast(pl.Int64))


def _json_batch(
    rows: list[dict[str, str | None]], repeats: dict[str, list[dict[str, str | None]]]
) -> Batch:
    return Batch(
        main=_records_frame(rows),
        repeats={key: _records_frame(items) for key, items in repeats.items()},
    )


# ----------------------------------------------------------------------------------------
# ODK Central zip (main CSV and one CSV per repeat)


def zip_workbook(path: Path, workdir: Path, name: str) -> Workbook:
    check_zip(path, name)
    sheets: list[Sheet] = []
    with zipfile.ZipFile(path) as archive:
        members = [
            info
            for info in archive.infolist()
            if info.filename.lower().endswith(".csv") and not info.is_dir()
        ]
        if not members:
            raise FileRejected(_("“{file}” holds no CSV files.").format(file=name))
        budget = limits.max_unpacked_bytes()
        for index, info in enumerate(members):
            target = workdir / f"member-{index}.csv"
            written = 0
            try:
                with archive.open(info) as source, target.open("wb") as out:
                    while chunk := source.read(1024 * 1024):
                        written += len(chunk)
                        if written > budget:
                            raise FileRejected(
                                _("“{file}” is too large once unpacked.").format(file=name)
                            )
                        out.write(chunk)
            except MEMBER_ERRORS as error:
                raise FileRejected(
                    _("“{file}”: “{member}” cannot be read from the archive ({reason}).").format(
                        file=name, member=info.filename, reason=error
                    )
                ) from error
            budget -= written
            member_dir = workdir / f"member-{index}"
            member_dir.mkdir()
            label = f"{name} › {Path(info.filename).name}"
            sheets.append(csv_sheet(target, member_dir, label))
    mains = [s for s in sheets if "PARENT_KEY" not in s.header and "_parent_index" not in s.header]
    if len(mains) != 1:
        raise FileRejected(
            _(
                "“{file}” should hold one CSV file of submissions and one per repeat; "
                "found {count} files of submissions."
            ).format(file=name, count=len(mains))
        )
    repeats = [s for s in sheets if s is not mains[0]]
    return Workbook(file_format="odk-zip", main=mains[0], repeats=repeats)


# ----------------------------------------------------------------------------------------


def open_workbook(path: Path, workdir: Path, *, file_format: str, name: str) -> Workbook:
    """Open ``path`` as ``file_format`` ("auto": recognise it), refusing a file whose content
    is not what its format says."""
    if file_format not in FORMATS:
        raise FileRejected(_("Unknown file format “{format}”.").format(format=file_format))
    size = path.stat().st_size
    if size == 0:
        raise FileRejected(_("“{file}” is empty.").format(file=name))
    if size > limits.max_import_bytes():
        raise FileRejected(
            _("“{file}” is too large ({size} MB; the limit is {limit} MB).").format(
                file=name, size=size // 2**20, limit=limits.max_import_bytes() // 2**20
            )
        )
    found = sniff_format(path, name)
    family = {
        "kobo-csv": "csv",
        "odk-csv": "csv",
        "csv": "csv",
        "kobo-xlsx": "xlsx",
        "xlsx": "xlsx",
        "kobo-json": "kobo-json",
        "odk-zip": "odk-zip",
    }
    if file_format != "auto" and family[file_format] != found:
        raise FileRejected(
            _("“{file}” is not a {expected} file: its content is {found}.").format(
                file=name, expected=_format_label(file_format), found=_format_label(found)
            )
        )
    if found == "xlsx":
        book = xlsx_workbook(path, name, with_repeats=file_format != "xlsx")
        header = set(book.main.header)
        if file_format == "auto":
            kobo = bool(header & KOBO_MARKERS) or bool(book.repeats)
            book.file_format = "kobo-xlsx" if kobo else "xlsx"
        else:
            book.file_format = file_format
        return book
    if found == "kobo-json":
        return json_workbook(path, workdir, name)
    if found == "odk-zip":
        return zip_workbook(path, workdir, name)
    sheet = csv_sheet(path, workdir, name)
    if file_format == "auto":
        header = set(sheet.header)
        if header & ODK_MARKERS:
            file_format = "odk-csv"
        elif header & KOBO_MARKERS:
            file_format = "kobo-csv"
        else:
            file_format = "csv"
    return Workbook(file_format=file_format, main=sheet)


def _format_label(file_format: str) -> str:
    return {
        "csv": _("CSV"),
        "kobo-csv": _("KoboToolbox CSV"),
        "odk-csv": _("ODK Central CSV"),
        "xlsx": _("Excel workbook"),
        "kobo-xlsx": _("KoboToolbox Excel workbook"),
        "kobo-json": _("JSON"),
        "odk-zip": _("zip archive"),
    }.get(file_format, file_format)


def format_label(file_format: str) -> str:
    return _("recognise automatically") if file_format == "auto" else _format_label(file_format)
