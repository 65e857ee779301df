"""Reading an uploaded XLSForm: checked as a file first, then converted by pyxform.

:func:`xlsform_convert` takes the bytes a person uploaded (an .xlsx or .xls workbook, or a
.csv exported from a spreadsheet) and returns a :class:`ConvertedForm`: the form id, title and
version from the settings sheet, the XForm that ODK Collect downloads, every label language,
and the field schema Amniyat stores with each :class:`~amniyat.fieldwork.models.FormVersion`.

Whatever goes wrong comes back as a :class:`FormError` listing each problem with the file,
sheet, row and column it is in, in the person's language where Amniyat knows the problem, with
pyxform's own words beside it. Nothing here writes to the database.

The file is checked before any parser sees it: empty, too large, not what its name says (a
PDF renamed to .xlsx), or a zip bomb (an .xlsx whose members would unpack to more than the
limits in :mod:`amniyat.fieldwork.conf`).
"""

from __future__ import annotations

import csv
import io
import logging
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from pyxform import constants as pyxform_constants
from pyxform.builder import SurveyElementBuilder, create_survey_element_from_dict
from pyxform.errors import PyXFormError
from pyxform.xls2json import workbook_to_json
from pyxform.xls2json_backends import DefinitionData, get_xlsform

from amniyat.core.archives import ArchiveRefused, checked_members
from amniyat.fieldwork import conf
from amniyat.fieldwork.imports import limits
from amniyat.fieldwork.models import Sensitivity

logger = logging.getLogger(__name__)

# .xlsm: a workbook with macros, which pyxform reads as any .xlsx (the macros are never run).
EXTENSIONS = (".xlsx", ".xlsm", ".xls", ".csv")
XLSX_MAGIC = b"PK\x03\x04"
OLE2_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")  # the old binary .xls (and .doc) container
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
SHEET_NAMES = frozenset(pyxform_constants.SUPPORTED_SHEET_NAMES)
CSV_CODE_PAGES = ["cp1251", "cp1252", "cp866", "koi8_r", "cp1254"]

# Model limits the converted form must fit in.
MAX_FORM_ID = 100
MAX_TITLE = 200
MAX_VERSION = 100

# pyxform's JSON names select types in words; Amniyat stores the XLSForm spelling.
TYPE_NAMES = {
    "select one": "select_one",
    "select all that apply": "select_multiple",
    "select one external": "select_one_external",
    "location": "geopoint",
    "photo": "image",
    "string": "text",
}
CONTAINER_TYPES = frozenset({"group", "repeat", "survey"})

# Default sensitivity. Free text, names, phone numbers, places and recordings can identify a
# respondent, so they start protected; notes and calculations start internal; everything else
# the person who uploads the form must decide.
SENSITIVE_TYPES = frozenset(
    {
        "text",
        "geopoint",
        "geotrace",
        "geoshape",
        "start-geopoint",
        "audio",
        "background-audio",
        "image",
        "video",
        "file",
        "audit",
        "deviceid",
        "subscriberid",
        "simserial",
        "phonenumber",
        "username",
        "email",
    }
)
INTERNAL_TYPES = frozenset({"note", "calculate", "start", "end", "today"})
NAME_WORDS = ("name", "familiya", "surname")  # anywhere in the field name
NAME_TOKEN_PREFIXES = ("fio", "ism", "nom", "imya")  # at the start of a word of the name
PHONE_WORDS = ("phone", "mobile")
PHONE_TOKEN_PREFIXES = ("tel",)
_TOKEN_SPLIT = re.compile(r"[^a-z]+")


@dataclass(frozen=True)
class FormProblem:
    """One thing wrong with an uploaded form, and where it is."""

    message: str
    file: str = ""
    sheet: str = ""
    row: int | None = None
    column: str = ""
    detail: str = ""  # pyxform's own (English) words, where the message is Amniyat's

    @property
    def location(self) -> str:
        parts = [self.file] if self.file else []
        if self.sheet:
            parts.append(_("sheet “{sheet}”").format(sheet=self.sheet))
        if self.row is not None:
            parts.append(_("row {row}").format(row=self.row))
        if self.column:
            parts.append(_("column “{column}”").format(column=self.column))
        return ", ".join(parts)

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.location else self.message

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "sheet": self.sheet,
            "row": self.row,
            "column": self.column,
            "message": self.message,
            "detail": self.detail,
        }


class FormError(ValidationError):
    """An uploaded form that cannot be used, with every problem found.

    A ``ValidationError``, so that pages and the API show it like any other refusal.
    """

    def __init__(self, problems: list[FormProblem]) -> None:
        self.problems = list(problems)
        super().__init__([str(problem) for problem in self.problems])


@dataclass(frozen=True)
class ConvertedForm:
    """An XLSForm converted by pyxform, with what Amniyat needs to store it."""

    file_name: str
    form_id: str
    title: str
    version: str
    xform: str
    languages: list[str]
    default_language: str
    fields: list[dict[str, Any]]
    public_key: str = ""
    warnings: list[str] = field(default_factory=list)

    def default_sensitivity(self) -> dict[str, str]:
        """The class Amniyat proposes for each field it can judge (others stay unset)."""
        proposed = {}
        for item in self.fields:
            value = default_sensitivity(item)
            if value is not None:
                proposed[item["path"]] = value
        return proposed

    def fields_lacking_sensitivity(self, classes: dict[str, str] | None = None) -> list[str]:
        classes = self.default_sensitivity() if classes is None else classes
        return [item["path"] for item in self.fields if item["path"] not in classes]


def default_sensitivity(item: dict[str, Any]) -> str | None:
    """Amniyat's proposal for one schema field: ``None`` means the person must decide."""
    name = str(item.get("name", "")).lower()
    tokens = [token for token in _TOKEN_SPLIT.split(name) if token]
    if any(word in name for word in NAME_WORDS + PHONE_WORDS) or any(
        token.startswith(NAME_TOKEN_PREFIXES + PHONE_TOKEN_PREFIXES) for token in tokens
    ):
        return Sensitivity.SENSITIVE.value
    kind = item.get("type", "")
    if kind in SENSITIVE_TYPES:
        return Sensitivity.SENSITIVE.value
    if kind in INTERNAL_TYPES:
        return Sensitivity.INTERNAL.value
    return None


# ----------------------------------------------------------------------------------------
# Checking the file before any parser reads it.


def _describe(content: bytes) -> str | None:
    """What a file that is not a spreadsheet seems to be, for the message."""
    head = content[:16]
    if head.startswith(b"%PDF"):
        return _("a PDF document")
    if head.startswith((b"\x89PNG", b"\xff\xd8\xff", b"GIF8")):
        return _("an image")
    if head.startswith((b"\x1f\x8b", b"Rar!", b"7z\xbc\xaf")):
        return _("a compressed archive")
    stripped = content[:200].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if stripped.startswith((b"<?xml", b"<h:html", b"<html", b"<!doctype")):
        return _("an XML or HTML document (upload the XLSForm spreadsheet, not the XForm)")
    return None


def _sniff(content: bytes) -> str:
    """``xlsx``, ``xls``, ``text`` or ``other``, by the content, whatever the name says."""
    if content.startswith(XLSX_MAGIC):
        return "xlsx"
    if content.startswith(OLE2_MAGIC):
        return "xls"
    if content.startswith(UTF16_BOMS):  # "Unicode text" as Excel saves it
        return "text"
    if b"\x00" not in content[:8192] and _describe(content) is None:
        return "text"
    return "other"


def _check_workbook_zip(
    content: bytes, problem: Callable[[str], FormError], file_name: str = ""
) -> None:
    """Refuse an .xlsx that is not a workbook or that would unpack to too much; then the
    check every uploaded zip passes (core.archives): zip bombs, unsafe member names."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            members = archive.infolist()
            if len(members) > conf.max_zip_members():
                raise problem(
                    _(
                        "The workbook contains {count} files; at most {limit} are allowed. "
                        "It may be damaged or built to harm the server."
                    ).format(count=len(members), limit=conf.max_zip_members())
                )
            unpacked = sum(member.file_size for member in members)
            if unpacked > conf.max_unpacked_bytes():
                raise problem(
                    _(
                        "The workbook would unpack to {size}; at most {limit} are allowed. "
                        "It may be damaged or built to harm the server."
                    ).format(
                        size=conf.size_label(unpacked),
                        limit=conf.size_label(conf.max_unpacked_bytes()),
                    )
                )
            names = {member.filename for member in members}
            checked_members(
                archive,
                file=PurePath(file_name).name,
                max_members=conf.max_zip_members(),
                max_unpacked=conf.max_unpacked_bytes(),
                max_ratio=limits.max_compression_ratio(),
            )
    except zipfile.BadZipFile:
        raise problem(_("The file is damaged: it is not a readable .xlsx workbook.")) from None
    except ArchiveRefused as refused:
        raise problem(refused.message) from None
    if "xl/workbook.xml" not in names:
        if "word/document.xml" in names:
            raise problem(_("This is a Word document, not an XLSForm spreadsheet."))
        if "mimetype" in names or "content.xml" in names:
            raise problem(
                _(
                    "This is an OpenDocument file. Save it from your spreadsheet program "
                    "as an Excel workbook (.xlsx)."
                )
            )
        raise problem(_("This zip file is not an Excel workbook."))


def _decode_text(content: bytes) -> str | None:
    """The text of a CSV file: UTF-8, or the code page a spreadsheet program exported it in."""
    try:
        if content.startswith(UTF16_BOMS):
            return content.decode("utf-16")
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    # Spreadsheet programs in Central Asia export CSV in a Cyrillic or Latin Windows code page.
    best = from_bytes(content[: 1024 * 1024], cp_isolation=CSV_CODE_PAGES).best()
    if best is None or best.encoding is None:
        return None
    try:
        return content.decode(best.encoding)
    except (UnicodeDecodeError, LookupError):
        return None


def _csv_for_pyxform(text: str) -> bytes:
    """pyxform's CSV names each sheet in its first column; a CSV exported from one sheet of a
    spreadsheet does not, so it becomes the survey sheet. Exports with ``;`` or tabs (the
    Russian and Uzbek Excel defaults) are accepted too."""
    sample = text[:20_000]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    rows = list(csv.reader(io.StringIO(text, newline=""), dialect))
    first = next((row for row in rows if any(cell.strip() for cell in row)), [])
    is_pyxform_layout = bool(first) and (
        first[0].strip().lower() in SHEET_NAMES and not any(c.strip() for c in first[1:])
    )
    if not is_pyxform_layout:
        rows = [["survey"], *[["", *row] for row in rows]]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for row in rows:
        # pyxform needs a few commas to recognise CSV: pad single-cell sheet-name rows.
        writer.writerow(row if len(row) > 1 else [*row, "", "", ""])
    return out.getvalue().encode("utf-8")


def _prepare(file_name: str, content: bytes) -> tuple[bytes, str]:
    """Check the upload; return what pyxform should read, and its file type."""

    def problem(message: str) -> FormError:
        return FormError([FormProblem(message=message, file=file_name)])

    if not content:
        raise problem(_("The file is empty."))
    limit = conf.max_upload_bytes()
    if len(content) > limit:
        raise problem(
            _("The file is larger than {limit}, the most this server accepts.").format(
                limit=conf.size_label(limit)
            )
        )
    extension = PurePath(file_name).suffix.lower()
    if extension not in EXTENSIONS:
        raise problem(
            _(
                "Upload an XLSForm saved as .xlsx, .xlsm, .xls or .csv (this file is “{name}”)."
            ).format(name=PurePath(file_name).name)
        )
    kind = _sniff(content)
    if kind == "other":
        what = _describe(content)
        raise problem(
            _("This is not an XLSForm spreadsheet: it looks like {what}.").format(what=what)
            if what
            else _("This is not an XLSForm spreadsheet.")
        )
    expected = {".xlsx": "xlsx", ".xlsm": "xlsx", ".xls": "xls", ".csv": "text"}[extension]
    if kind != expected:
        raise problem(
            _(
                "The file is named {extension} but its content is not: it may have been "
                "renamed. Open it in your spreadsheet program and save it again as .xlsx."
            ).format(extension=extension)
        )
    if kind == "xlsx":
        _check_workbook_zip(content, problem, file_name)
        return content, ".xlsx"
    if kind == "xls":
        return content, ".xls"
    text = _decode_text(content)
    if text is None or not text.strip():
        raise problem(_("The file has no readable text."))
    return _csv_for_pyxform(text), ".csv"


# ----------------------------------------------------------------------------------------
# Turning pyxform's errors into problems with a place and a translated message.

_ROW = re.compile(r"\[row : (\d+)\]\s*")
_SHEET = re.compile(r"[Oo]n the '(\w+)' sheet|sheet named '(\w+)'|(\w+) sheet")
_COLUMN = re.compile(r"the '([^']+)' (?:value|column)")


def _known_problems() -> list[tuple[re.Pattern[str], str, str, str]]:
    """(pattern, message, sheet, column) for the errors people make most often."""
    return [
        (
            re.compile(r"Unknown question type '(?P<type>.*?)'"),
            _("“{type}” is not a question type XLSForm knows. Check its spelling."),
            "survey",
            "type",
        ),
        (
            re.compile(r"List name not in choices sheet: (?P<list>.+)"),
            _("The choice list “{list}” is not on the choices sheet."),
            "survey",
            "type",
        ),
        (
            re.compile(r"There should be a choices sheet"),
            _(
                "A select question needs a “choices” sheet with the columns list_name, name "
                "and label."
            ),
            "choices",
            "",
        ),
        (
            re.compile(r"Unmatched '(?P<keyword>(?:begin|end)[ _](?:group|repeat))'"),
            _("“{keyword}” has no matching begin or end row."),
            "survey",
            "type",
        ),
        (
            re.compile(r"the 'name' value '(?P<name>[^']*)' is invalid\. Questions, groups"),
            _("The name “{name}” is used twice in the same group or repeat."),
            "survey",
            "name",
        ),
        (
            re.compile(r"the 'name' value is invalid\. Names must begin"),
            _(
                "A name must begin with a letter or an underscore and contain only letters, "
                "digits, underscores, hyphens and periods."
            ),
            "",
            "name",
        ),
        (
            re.compile(r"Question or group with no name"),
            _("This question or group has no name."),
            "survey",
            "name",
        ),
        (
            re.compile(r"Question with no type"),
            _("This row has a name but no type."),
            "survey",
            "type",
        ),
        (
            re.compile(r"You must have a sheet named 'survey'"),
            _("The workbook has no sheet named “survey”."),
            "survey",
            "",
        ),
        (
            re.compile(r"Choice names must be unique"),
            _("This choice name is used twice in the same list."),
            "choices",
            "name",
        ),
        (
            re.compile(r"Missing calculation"),
            _("This calculate row has no calculation."),
            "survey",
            "calculation",
        ),
        (
            re.compile(r"Could not find the name '(?P<name>[^']+)'"),
            _("${{{name}}} refers to a question that is not on the survey sheet."),
            "survey",
            "",
        ),
        (
            re.compile(r"The survey element named '(?P<name>[^']+)' has no label or hint"),
            _("The question “{name}” has neither a label nor a hint."),
            "survey",
            "label",
        ),
    ]


def _row_of(workbook: DefinitionData | None, column: str, value: str) -> int | None:
    """The spreadsheet row of the survey sheet whose ``column`` is ``value`` (first match)."""
    if workbook is None or not workbook.survey:
        return None
    for index, row in enumerate(workbook.survey):
        cell = str(row.get(column, "")).strip()
        if cell == value or (column == "type" and cell.split(" ")[0] == value):
            return index + 2  # the header is row 1
    return None


def _problem_from(
    error: PyXFormError, file_name: str, workbook: DefinitionData | None
) -> FormProblem:
    original = str(error).split("\n", 1)[0].strip()
    context = getattr(error, "context", None) or {}
    row_match = _ROW.search(original)
    row: int | None = int(context["row"]) if context.get("row") else None
    if row is None and row_match:
        row = int(row_match.group(1))
    text = _ROW.sub("", original).strip()
    sheet = str(context.get("sheet") or "")
    mentioned_sheet = ""
    sheet_match = _SHEET.search(text)
    if sheet_match:
        found = next(g for g in sheet_match.groups() if g)
        mentioned_sheet = found if found in SHEET_NAMES else ""
    column = str(context.get("column") or "")
    if not column:
        column_match = _COLUMN.search(text)
        column = column_match.group(1) if column_match else ""
    for pattern, template, known_sheet, known_column in _known_problems():
        match = pattern.search(text)
        if match is None:
            continue
        values = match.groupdict()
        column = column or known_column
        # A sheet the message names may not be the one the row is on ("not in choices sheet").
        sheet = sheet or known_sheet or mentioned_sheet
        if row is None and "type" in values:
            row = _row_of(workbook, "type", values["type"])
        if row is None and "name" in values and "label" in template.lower():
            row = _row_of(workbook, "name", values["name"])
        return FormProblem(
            message=template.format(**values),
            file=file_name,
            sheet=sheet,
            row=row,
            column=column,
            detail=text,
        )
    sheet = sheet or mentioned_sheet
    if row is not None and not sheet:
        sheet = "survey"  # pyxform numbers rows of the survey sheet unless it says otherwise
    return FormProblem(message=text, file=file_name, sheet=sheet, row=row, column=column)


# ----------------------------------------------------------------------------------------
# The field schema.


def _labels(value: Any, default_language: str) -> dict[str, str]:
    if isinstance(value, dict):
        return {str(lang): str(text) for lang, text in value.items() if text is not None}
    if value in (None, ""):
        return {}
    return {default_language: str(value)}


def _is_required(value: Any) -> bool:
    text = str(value or "").strip().lower()
    return text not in {"", "no", "false", "false()", "0"}


def _schema(
    children: list[dict[str, Any]],
    *,
    default_language: str,
    choice_lists: dict[str, list[dict[str, Any]]],
    prefix: str = "",
    repeat: str | None = None,
    repeats: tuple[str, ...] = (),
    group_conditions: tuple[str, ...] = (),
) -> list[dict[str, Any]]:
    fields: list[dict[str, Any]] = []
    for child in children:
        name = str(child.get("name", ""))
        kind = str(child.get("type", ""))
        path = f"{prefix}/{name}" if prefix else name
        if kind == "loop":
            # pyxform makes a loop one group per choice of its list ("none" left out), each
            # question's name and label filled in with the choice's: the instance, ODK
            # Collect's submissions and every export name those groups. The same function
            # as pyxform's builder (_create_loop_from_dict) does the filling in.
            condition = str((child.get("bind") or {}).get("relevant") or "").strip()
            for column in child.get("columns") or []:
                if column.get("name") == "none":
                    continue
                fields += _schema(
                    [
                        SurveyElementBuilder._name_and_label_substitutions(question, column)
                        for question in child.get("children") or []
                    ],
                    default_language=default_language,
                    choice_lists=choice_lists,
                    prefix=f"{path}/{column['name']}",
                    repeat=repeat,
                    repeats=repeats,
                    group_conditions=group_conditions + ((condition,) if condition else ()),
                )
            continue
        if kind in CONTAINER_TYPES:
            # A group's relevance holds for every question in it: a required question of a
            # skipped group is left empty, as its own skip logic would leave it.
            condition = str((child.get("bind") or {}).get("relevant") or "").strip()
            fields += _schema(
                child.get("children") or [],
                default_language=default_language,
                choice_lists=choice_lists,
                prefix=path,
                repeat=path if kind == "repeat" else repeat,
                repeats=(*repeats, path) if kind == "repeat" else repeats,
                group_conditions=group_conditions + ((condition,) if condition else ()),
            )
            continue
        bind = child.get("bind") or {}
        options = child.get("choices") or choice_lists.get(str(child.get("itemset", ""))) or []
        fields.append(
            {
                "name": name,
                "path": path,
                "type": TYPE_NAMES.get(kind, kind),
                "label": _labels(child.get("label"), default_language),
                "choices": [
                    {
                        "name": str(option.get("name", "")),
                        "label": _labels(option.get("label"), default_language),
                    }
                    for option in options
                    if isinstance(option, dict)
                ],
                "repeat": repeat,
                # The repeats holding the question, outermost first: a repeat inside a
                # repeat keeps its place even where the outer one has no question of its own.
                "repeats": list(repeats),
                "required": _is_required(bind.get("required")),
                "relevant": str(bind.get("relevant") or ""),
                "relevant_groups": list(group_conditions),
                # The type the form gives a calculation (``bind::type``): int, decimal, date…
                "bind_type": str(bind.get("type") or ""),
                "constraint": str(bind.get("constraint") or ""),
            }
        )
    return fields


def _languages(fields: list[dict[str, Any]], default_language: str) -> list[str]:
    seen: dict[str, None] = {}
    for item in fields:
        seen.update(dict.fromkeys(item["label"]))
        for option in item["choices"]:
            seen.update(dict.fromkeys(option["label"]))
    languages = list(seen)
    if default_language in languages:  # the default language first
        languages.remove(default_language)
        languages.insert(0, default_language)
    return languages


def _fallback_name(file_name: str) -> str:
    """A valid XML name from the file name, for forms whose settings name no form_id."""
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", PurePath(file_name).stem).strip("_.-") or "form"
    return stem if re.match(r"[A-Za-z_]", stem) else f"form_{stem}"


# ----------------------------------------------------------------------------------------


def xlsform_convert(*, file_name: str, content: bytes) -> ConvertedForm:
    """Check and convert one uploaded XLSForm; raise :class:`FormError` with every problem."""
    file_name = PurePath(file_name or "form.xlsx").name
    data, file_type = _prepare(file_name, content)
    workbook: DefinitionData | None = None
    warnings: list[str] = []
    try:
        workbook = get_xlsform(xlsform=data, file_type=file_type)
        pyxform_json = workbook_to_json(
            workbook_dict=workbook,
            fallback_form_name=_fallback_name(file_name),
            warnings=warnings,
        )
        default_language = str(pyxform_json.get("default_language") or "default")
        fields = _schema(
            pyxform_json.get("children") or [],
            default_language=default_language,
            choice_lists=pyxform_json.get("choices") or {},
        )
        if not [item for item in fields if not item["path"].startswith("meta/")]:
            raise FormError(
                [
                    FormProblem(
                        message=_("The survey sheet has no questions."),
                        file=file_name,
                        sheet="survey",
                    )
                ]
            )
        if not pyxform_json.get("version"):
            # ODK Collect tells versions apart by this string; a form without one gets the
            # moment of its upload, as ODK Central does.
            pyxform_json["version"] = timezone.now().strftime("%Y%m%d%H%M%S")
        survey = create_survey_element_from_dict(pyxform_json)
        xform = survey.to_xml(validate=False, pretty_print=False, warnings=warnings)
    except FormError:
        raise
    except PyXFormError as error:
        raise FormError([_problem_from(error, file_name, workbook)]) from None
    except Exception:
        # Hostile or damaged files make spreadsheet readers fail in many ways; none of them
        # may reach the person as a traceback.
        logger.warning("Could not read the XLSForm %s", file_name, exc_info=True)
        raise FormError(
            [
                FormProblem(
                    message=_(
                        "The file could not be read as an XLSForm. Open it in your "
                        "spreadsheet program, check it, and save it again as .xlsx."
                    ),
                    file=file_name,
                )
            ]
        ) from None

    converted = ConvertedForm(
        file_name=file_name,
        form_id=str(pyxform_json.get("id_string") or ""),
        title=str(pyxform_json.get("title") or pyxform_json.get("id_string") or ""),
        version=str(pyxform_json["version"]),
        xform=xform,
        languages=_languages(fields, default_language),
        default_language=default_language,
        fields=fields,
        public_key=str(pyxform_json.get("public_key") or ""),
        warnings=[_ROW.sub("", w).strip() for w in warnings],
    )
    _check_limits(converted)
    return converted


def _check_limits(converted: ConvertedForm) -> None:
    problems = []
    for value, limit, column in (
        (converted.form_id, MAX_FORM_ID, "form_id"),
        (converted.title, MAX_TITLE, "form_title"),
        (converted.version, MAX_VERSION, "version"),
    ):
        if len(value) > limit:
            problems.append(
                FormProblem(
                    message=_("This value is longer than {limit} characters.").format(limit=limit),
                    file=converted.file_name,
                    sheet="settings",
                    row=2,
                    column=column,
                )
            )
    if problems:
        raise FormError(problems)
