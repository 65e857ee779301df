"""The text of focus-group, interview and workshop notes: read from the files field teams send,
split into the sentences coders code, and searched for personal details to redact.

Pure functions: no database, no request. Everything here is deterministic, so the same notes
always give the same passages and the same redaction flags.

* :func:`extract_text` reads ``.txt``/``.md`` (any encoding an office computer in the region
  plausibly saved), ``.docx`` and ``.odt``. It sniffs the bytes rather than trusting the name:
  a ``.docx`` that is not a Word zip package is refused with a message naming the file.
* :func:`split_passages` cuts the text into sentences grouped by paragraph; offsets index
  the text exactly, so ``text[start:end]`` is the sentence.
* :func:`find_personal_details` flags likely names, phone numbers, email addresses and street
  addresses in Russian, Tajik, Uzbek and English notes. The heuristics over-flag on purpose:
  a person confirms each flag before a quote leaves the team.
"""

from __future__ import annotations

import io
import re
import tempfile
import unicodedata
import zipfile
from collections.abc import Collection
from pathlib import Path, PureWindowsPath
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from amniyat.core.archives import ArchiveRefused, checked_members
from amniyat.core.text import format_number
from amniyat.fieldwork.imports import limits
from amniyat.fieldwork.imports.encoding import utf8_copy
from amniyat.fieldwork.imports.errors import FileRejected

# An upload larger than this is refused before it is read.
MAX_UPLOAD_BYTES = 5 * 1024 * 1024
# A zip package (docx, odt) may not unpack to more than this: a guard against zip bombs.
MAX_UNPACKED_BYTES = 50 * 1024 * 1024
# About 150 pages of notes: more is almost certainly not one discussion.
MAX_TEXT_CHARS = 400_000

TEXT_SUFFIXES = (".txt", ".md")
DOCX_SUFFIX = ".docx"
ODT_SUFFIX = ".odt"
ACCEPTED_SUFFIXES = (*TEXT_SUFFIXES, DOCX_SUFFIX, ODT_SUFFIX)
ODT_MIMETYPE = b"application/vnd.oasis.opendocument.text"


# ----------------------------------------------------------------------------------------
# Reading files.


def _megabytes(size: int, *, decimals: int | None = 1) -> str:
    """``size`` bytes in MB with the reader's decimal separator ("5.3", "5,3")."""
    return format_number(size / (1024 * 1024), decimals=decimals)


def extract_text(name: str, data: bytes) -> str:
    """The text of the uploaded file ``name`` with content ``data``, normalised by
    :func:`clean_text`. Raises ``ValidationError`` (translated, naming the file) for a type
    not accepted, a file too large, a binary file posing as a document, or no text at all."""
    # Browsers on Windows may send the whole path; either separator ends a folder.
    file = PureWindowsPath(name).name or name
    suffix = PureWindowsPath(file).suffix.lower()
    if suffix not in ACCEPTED_SUFFIXES:
        raise ValidationError(
            _(
                "“{file}” is not a file Amniyat can read. Upload notes as plain text (.txt, "
                ".md), Word (.docx) or OpenDocument (.odt)."
            ).format(file=file),
            code="file_type",
        )
    check_size(file, len(data))
    if not data.strip():
        raise ValidationError(_("“{file}” is empty.").format(file=file), code="empty")
    if suffix == DOCX_SUFFIX:
        raw = _docx_text(file, data)
    elif suffix == ODT_SUFFIX:
        raw = _odt_text(file, data)
    else:
        raw = _plain_text(file, data)
    text = clean_text(raw)
    if not text:
        raise ValidationError(_("“{file}” contains no text.").format(file=file), code="empty")
    if len(text) > MAX_TEXT_CHARS:
        raise ValidationError(
            _(
                "“{file}” holds {count} characters; one source may hold at most {limit}. "
                "Split the notes into one file per discussion."
            ).format(
                file=file, count=format_number(len(text)), limit=format_number(MAX_TEXT_CHARS)
            ),
            code="too_long",
        )
    return text


def check_size(name: str, size: int) -> None:
    """Refuse a file of ``size`` bytes larger than an upload of notes may be."""
    if size > MAX_UPLOAD_BYTES:
        raise ValidationError(
            _("“{file}” is {size} MB; notes may be at most {limit} MB.").format(
                file=PureWindowsPath(name).name or name,
                size=_megabytes(size),
                limit=_megabytes(MAX_UPLOAD_BYTES),
            ),
            code="too_large",
        )


def clean_text(text: str) -> str:
    """Line endings as ``\\n``, Unicode in composed form (NFC: a Tajik ``ӯ`` is one character
    whichever keyboard typed it), control characters and trailing spaces removed, and no
    leading or trailing blank lines. Offsets of passages and excerpts index this form."""
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = "".join(
        ch for ch in text if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cf", "Cs")
    )
    lines = [line.rstrip() for line in text.replace("\t", " ").split("\n")]
    return "\n".join(lines).strip()


def _plain_text(file: str, data: bytes) -> str:
    """Plain text in UTF-8 (with or without a byte-order mark), UTF-16 or a legacy Cyrillic
    code page, recognised the way submission files are (fieldwork's ``encoding`` module)."""
    if data[:4] in (b"PK\x03\x04", b"%PDF") or data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise ValidationError(
            _(
                "“{file}” is not a text file although its name says so. Is it a renamed Word, "
                "PDF or archive file?"
            ).format(file=file),
            code="binary",
        )
    with tempfile.TemporaryDirectory(prefix="amniyat-notes-") as workdir:
        path = Path(workdir) / "upload.txt"
        path.write_bytes(data)
        try:
            utf8 = utf8_copy(path, Path(workdir), name=file)
        except FileRejected as error:
            raise ValidationError(error.message, code="encoding") from error
        return utf8.read_bytes().decode("utf-8-sig")


def _zip_package(file: str, data: bytes, required: Collection[str], kind: str) -> zipfile.ZipFile:
    """Open ``data`` as a zip package with the parts ``required``, or refuse it clearly."""
    not_a_document = ValidationError(
        _(
            "“{file}” is not a real {kind} document although its name says so (it may be a "
            "renamed or damaged file). Open it and save it again as {kind}, or paste the text."
        ).format(file=file, kind=kind),
        code="binary",
    )
    try:
        package = zipfile.ZipFile(io.BytesIO(data))
        names = {
            info.filename
            for info in checked_members(
                package,
                file=file,
                max_members=limits.max_zip_members(),
                max_unpacked=MAX_UNPACKED_BYTES,
                max_ratio=limits.max_compression_ratio(),
            )
        }
    except (zipfile.BadZipFile, ValueError, OSError) as error:
        raise not_a_document from error
    except ArchiveRefused as refused:
        raise ValidationError(refused.message, code="too_large") from refused
    if not set(required) <= names:
        raise not_a_document
    return package


def _docx_text(file: str, data: bytes) -> str:
    """Paragraphs and table cells of a Word document, in document order, one per line."""
    import docx
    from docx.table import Table

    _zip_package(file, data, ("[Content_Types].xml", "word/document.xml"), "Word (.docx)")
    try:
        document = docx.Document(io.BytesIO(data))
        lines: list[str] = []
        for block in document.iter_inner_content():
            if isinstance(block, Table):
                for row in block.rows:
                    for cell in row.cells:
                        lines.extend(p.text for p in cell.paragraphs)
            else:
                lines.append(block.text)
    except Exception as error:  # python-docx raises many kinds on a damaged package
        raise ValidationError(
            _("“{file}” could not be read as a Word document: it may be damaged.").format(
                file=file
            ),
            code="damaged",
        ) from error
    return "\n".join(lines)


def _odt_text(file: str, data: bytes) -> str:
    """Headings, paragraphs, list items and table cells of an OpenDocument text, in order."""
    from odf import teletype
    from odf.namespaces import TEXTNS
    from odf.opendocument import load

    package = _zip_package(file, data, ("mimetype", "content.xml"), "OpenDocument (.odt)")
    if package.read("mimetype").strip() != ODT_MIMETYPE:
        raise ValidationError(
            _(
                "“{file}” is an OpenDocument file but not a text document (a spreadsheet or a "
                "presentation?). Save the notes as a text document."
            ).format(file=file),
            code="file_type",
        )
    blocks = {(TEXTNS, "p"), (TEXTNS, "h")}
    lines: list[str] = []

    def walk(node: Any) -> None:
        for child in node.childNodes:
            if getattr(child, "qname", None) in blocks:
                lines.append(teletype.extractText(child))
            elif child.nodeType == child.ELEMENT_NODE:
                walk(child)

    try:
        document = load(io.BytesIO(data))
        walk(document.text)
    except Exception as error:  # odfpy raises many kinds on damaged XML
        raise ValidationError(
            _("“{file}” could not be read as an OpenDocument text: it may be damaged.").format(
                file=file
            ),
            code="damaged",
        ) from error
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------
# Sentences.

# Words that end in a full stop without ending the sentence, lower-cased, without the stop.
# Russian, Tajik and Uzbek street and address words, titles and the usual Latin ones. Single
# letters (initials, "г." for year or city, "ш." for shahr) are handled separately. Uzbek Latin
# words are written with the modifier letter ʻ (koʻch. for koʻchasi, "street", as in
# "Navoiy koʻch. 12-uy"); notes typed with ' ‘ ’ ʼ or ` in its place are read the same way
# (:func:`_same_apostrophe`). Uzbek Cyrillic writes кўч.
ABBREVIATIONS = frozenset(
    {
        # Russian
        "ул", "пр", "пер", "мкр", "кв", "обл", "р-н", "пос", "им", "др", "пр-т", "тыс",
        "млн", "млрд", "руб", "стр", "см", "напр", "тел", "гг", "вв", "т.е", "т.к", "т.д",
        "т.п", "и.о", "зам", "нач", "проф", "доц", "акад", "тов", "ст", "чел", "мин", "сек",
        # Tajik and Uzbek
        "ноҳ", "даҳ", "кӯч", "кўч", "маҳ", "mah", "koʻch", "tel", "sh", "tum",
        # English and Latin
        "mr", "mrs", "ms", "dr", "prof", "st", "no", "nos", "vs", "e.g", "i.e", "jr", "sr",
        "approx", "dept", "fig", "ca",
    }
)  # fmt: skip
_TERMINATOR = re.compile(r"[.!?…]+[\"'»”’)\]]*(?=\s)")
# The word before a full stop. Apostrophes stay inside it: Uzbek Latin writes o‘ and g‘ with
# one ("yo'q."), and that word must not be read as the initial "q.".
_WORD_BEFORE = re.compile(r"([^\s(\"«“\[]+)$")
_APOSTROPHES = "'‘’ʻʼ"
# Every way notes write the Uzbek oʻ/gʻ sign, mapped to the modifier letter ʻ (U+02BB).
_TO_OKINA = str.maketrans(dict.fromkeys("'‘’ʼ`", "ʻ"))


def _same_apostrophe(word: str) -> str:
    """``word`` with any apostrophe-like sign written as ʻ: ko'ch, ko‘ch → koʻch."""
    return word.translate(_TO_OKINA)


# The first letter after a sentence end, past dashes, quotes and brackets.
_NEXT_LETTER = re.compile(r"[\s\-–—«\"“„(\[]*([^\W\d_])")
_ENUMERATOR = re.compile(r"\(?[0-9]{1,3}|[A-Za-zА-Яа-яЁё]")


def split_passages(text: str) -> list[tuple[int, int, int]]:
    """Sentences of ``text`` as ``(paragraph, start, end)``; ``text[start:end]`` is the
    sentence without surrounding spaces and paragraphs count non-empty lines from 0.

    A line break always ends a sentence and starts a paragraph (notes are typed one
    statement per line, and Word paragraphs become lines). Inside a line a sentence ends at
    ``.``, ``!``, ``?`` or ``…`` (possibly repeated, possibly followed by closing quotes or
    brackets) followed by a space, unless:

    * the next word starts with a lower-case letter (``т. е. люди``, ``?! — сказала она``
      continue the sentence); numbers, quotes and capitals may start one;
    * for a full stop, the word before it is a known abbreviation (``ул.``, ``им.``,
      ``Mr.``), a single letter (an initial: ``А. Рахимов``, ``г. Душанбе``) or an
      enumerator opening the sentence (``1. Вопрос``).
    """
    passages: list[tuple[int, int, int]] = []
    paragraph = 0
    line_start = 0
    for line in text.split("\n"):
        line_end = line_start + len(line)
        if line.strip():
            for start, end in _sentences(line):
                passages.append((paragraph, line_start + start, line_start + end))
            paragraph += 1
        line_start = line_end + 1
    return passages


def _sentences(line: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    start = len(line) - len(line.lstrip())
    for match in _TERMINATOR.finditer(line):
        end = match.end()
        if end <= start:
            continue
        rest = line[end:].lstrip()
        following = _NEXT_LETTER.match(rest)
        if not rest or (following is not None and following.group(1).islower()):
            continue
        if match.group().startswith(".") and not match.group().startswith(".."):
            before = _WORD_BEFORE.search(line[start : match.start()])
            word = before.group(1).lstrip(_APOSTROPHES).lower() if before else ""
            if _is_abbreviation(word, opens_sentence=before is not None and before.start() == 0):
                continue
        spans.append((start, end))
        start = len(line) - len(rest)
    if start < len(line.rstrip()):
        spans.append((start, len(line.rstrip())))
    return spans


def _is_abbreviation(word: str, *, opens_sentence: bool) -> bool:
    if not word:
        return False
    word = _same_apostrophe(word)
    if word in ABBREVIATIONS or word.rsplit(".", 1)[-1] in ABBREVIATIONS:
        return True
    last = word.rsplit(".", 1)[-1]
    if len(last) == 1 and last.isalpha():
        return True  # an initial, or a one-letter abbreviation
    return opens_sentence and _ENUMERATOR.fullmatch(word) is not None


# ----------------------------------------------------------------------------------------
# Personal details.

PHONE = "phone"
EMAIL = "email"
ADDRESS = "address"
NAME = "name"

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}")
# A run of digits, spaces, dashes and brackets that starts and ends with a digit (an optional
# leading +): checked further in :func:`_looks_like_phone`.
_PHONE = re.compile(r"(?<![\w+])\+?\(?\d[\d \-()]{6,}\d(?![\w])")
_THOUSANDS = re.compile(r"\d{1,3}(?: \d{3})+")

_LETTER = r"[^\W\d_]"
_WORD = rf"{_LETTER}[\w'ʻʼ‘’`-]*"
_CAP = r"[A-ZА-ЯЁЎҚҒҲҶӢӮЪ]"
_CAP_WORD = rf"{_CAP}[\w'ʻʼ‘’`-]*"
_HOUSE = (
    r"(?:дом|д\.|уй|хонаи|хона|house|h\.|No\.?)\s*№?\s*\d+[\w/]*"
    r"|\d+[\w/]*\s?-?\s?(?:uy|уй)\b"
)
_FLAT = r"(?:кв\.|квартира|хонадон|xonadon|apt\.?|flat)\s*№?\s*\d+"
_STREET_BEFORE = (
    r"(?:ул\.|улица|улицы|улице|улицу|пр-т|проспект|пер\.|переулок|мкр\.?|микрорайон|"
    r"кӯчаи|кучаи|кӯч\.|street|st\.)"
)
# Uzbek names the street first: "Navoiy koʻchasi", abbreviated "Navoiy koʻch." (кўч.).
_STREET_AFTER = r"(?:ko['ʻʼ‘’`]?ch(?:asi|\.)|кўч(?:аси|\.)|кучаси|street|St\.)"
_MAHALLA = r"(?:mahallasi|mahalla|маҳаллаи|махаллаи|маҳалла|махалла|махаллинский)"
_ADDRESSES = [
    # "ул. Ленина 5, кв. 12", "кӯчаи Рӯдакӣ 25", "street Navoi 5"
    re.compile(
        rf"(?<!\w)(?i:{_STREET_BEFORE})\s*(?:{_CAP_WORD}|\d+)(?:[ -]{_CAP_WORD}){{0,2}}"
        rf"(?:,?\s*(?:{_HOUSE}|№?\s?\d+[\w/]*))?(?:,?\s*(?i:{_FLAT}))?"
    ),
    # "Navoiy koʻchasi 12-uy", "Navoiy koʻch. 12-uy", "Amir Temur street 5"
    re.compile(
        rf"(?<!\w)(?:{_CAP_WORD}[ -]){{1,2}}{_STREET_AFTER}(?:,?\s*(?:{_HOUSE}|№?\s?\d+[\w/]*))?"
        rf"(?:,?\s*(?i:{_FLAT}))?"
    ),
    # A mahalla is a place, not an address, unless a house follows: "Bog'ishamol mahallasi,
    # 12-uy", "маҳаллаи Навбаҳор, хонаи 7".
    re.compile(
        rf"(?<!\w)(?:{_CAP_WORD}\s)?(?i:{_MAHALLA})(?:\s{_CAP_WORD})?,?\s*(?i:{_HOUSE})"
        rf"(?:,?\s*(?i:{_FLAT}))?"
    ),
    # A house and flat on their own: "дом 5, кв. 12", "house No. 7".
    re.compile(rf"(?<!\w)(?i:(?:дом|хонаи|house)\s*№?\s*\d+[\w/]*)(?:,?\s*(?i:{_FLAT}))?"),
]

# Titles before a name and Central Asian forms of address after a first name.
_TITLES = frozenset(
    {
        "mr", "mrs", "ms", "miss", "dr", "господин", "госпожа", "гражданин", "гражданка",
        "товарищ", "устод", "муаллим", "домулло", "janob", "xonim", "ҷаноби", "мӯҳтарам",
    }
)  # fmt: skip
_FORMS_OF_ADDRESS = frozenset(
    {
        "апа", "ака", "опа", "ако", "акя", "хола", "бобо", "aka", "opa", "apa", "ako",
        "xola", "bobo", "hoji", "ҳоҷӣ", "domla", "домла", "муаллима", "muallima",
    }
)  # fmt: skip
_ADDRESSED = re.compile(r"[ -]([^\W\d_]+)")
_NAME_ENDING = re.compile(
    r"(?:ов|ова|ев|ева|ёв|ёва|ович|евич|овна|евна|ична|зода|заде|иён|йён|ov|ova|ev|eva|"
    r"ovich|evich|ovna|evna|zoda|zade|iyon)$"
)
# The endings that are rarely anything but a name, even opening a sentence (where "Готов",
# "Случаев" are ordinary words).
_SURE_NAME_ENDING = re.compile(r"(?:ова|ева|ёва|овна|евна|зода|заде|иён|ova|eva|ovna|zoda)$")
# Capitalised words that are not names even in a pair: months, days, English function words
# capitalised in titles, and the words of common organisation names.
_NOT_NAMES = frozenset(
    {
        "january", "february", "march", "april", "may", "june", "july", "august",
        "september", "october", "november", "december", "monday", "tuesday", "wednesday",
        "thursday", "friday", "saturday", "sunday", "the", "a", "an", "and", "of", "in",
        "on", "for", "to", "with", "group", "focus", "community", "security", "working",
        "committee", "council", "police", "ministry", "district", "region", "centre",
        "center", "school", "hospital", "bazaar", "university", "republic",
        "январь", "января", "февраль", "февраля", "март", "марта", "апрель", "апреля",
        "май", "мая", "июнь", "июня", "июль", "июля", "август", "августа", "сентябрь",
        "сентября", "октябрь", "октября", "ноябрь", "ноября", "декабрь", "декабря",
        "понедельник", "вторник", "среда", "четверг", "пятница", "суббота", "воскресенье",
        "республика", "республики", "министерство", "комитет", "совет", "район", "района",
        "область", "области", "школа", "школы", "больница", "милиция", "милиции",
        "полиция", "полиции", "хукумат", "ҳукумат", "джамоат", "ҷамоат", "jamoat",
        "хокимият", "hokimiyat", "ноҳияи", "вилояти", "шаҳри", "viloyati", "tumani",
        "shahri", "маҳаллаи", "mahallasi",
    }
)  # fmt: skip
_TOKEN = re.compile(rf"{_CAP}\.(?!\w)|{_WORD}")


def find_personal_details(
    text: str, *, not_names: Collection[str] = ()
) -> list[tuple[str, int, int]]:
    """Likely personal details in ``text`` as ``(kind, start, end)``, sorted and never
    overlapping; ``kind`` is ``name``, ``phone``, ``email`` or ``address``.

    ``not_names`` are words known not to be people (the programme's place names, say);
    compared case-insensitively. Where two findings overlap, the more certain kind wins:
    an email over a phone over an address over a name. See the helpers for each heuristic.
    """
    excluded = _NOT_NAMES | {word.lower() for word in not_names}
    found: list[tuple[str, int, int]] = []
    found += [(EMAIL, m.start(), m.end()) for m in _EMAIL.finditer(text)]
    found += [(PHONE, m.start(), m.end()) for m in _PHONE.finditer(text) if _looks_like_phone(m)]
    for pattern in _ADDRESSES:
        found += [(ADDRESS, m.start(), m.end()) for m in pattern.finditer(text)]
    found += [(NAME, start, end) for start, end in _names(text, excluded)]

    accepted: list[tuple[str, int, int]] = []
    for kind in (EMAIL, PHONE, ADDRESS, NAME):
        candidates = sorted(
            (f for f in found if f[0] == kind), key=lambda f: (f[1], -(f[2] - f[1]))
        )
        for candidate in candidates:
            if not any(candidate[1] < end and start < candidate[2] for _k, start, end in accepted):
                accepted.append(candidate)
    return sorted(accepted, key=lambda f: f[1])


def _looks_like_phone(match: re.Match[str]) -> bool:
    """Phone numbers as written in the region: ``+992 93 123 45 67``, ``+998 90 123-45-67``,
    ``8 (3422) 2-34-56``, ``(93) 123-45-67``, ``931234567``. A run with 9–13 digits counts,
    unless it is an amount grouped in thousands (``150 000 000``) or brackets are unbalanced."""
    candidate = match.group()
    digits = sum(ch.isdigit() for ch in candidate)
    if not 9 <= digits <= 13:
        return False
    if candidate.count("(") != candidate.count(")"):
        return False
    return candidate.startswith("+") or not _THOUSANDS.fullmatch(candidate)


def _names(text: str, excluded: Collection[str]) -> list[tuple[int, int]]:
    """Runs of adjacent capitalised words (and initials such as ``А.``) that look like a
    person:

    * a run holding a word with a surname or patronymic ending (``Рахимов``, ``Saidova``,
      ``Назарзода``, ``Каримович``) — except a lone word opening a sentence with an ending
      that ordinary words share (``Готов``, ``Случаев``), while ``Каримова`` still counts;
    * a run after a title (``Mr``, ``господин``, ``ҷаноби``) or before a form of address
      (``Мавлуда апа``, ``Karim-aka``), the form of address included;
    * two or more capitalised words that do not open a sentence (the opening word of a
      sentence is capitalised anyway, so it does not count towards the pair).

    Words in ``excluded`` (months, institutions, the programme's places) break runs;
    all-capital words (acronyms such as ``ОВД``, ``UNDP``) are never names. A first name
    alone in mid-sentence (``Алишер сказал``) is not found: a coder adds it by hand."""
    sentence_starts = set()
    for _paragraph, start, end in split_passages(text):
        first = _TOKEN.search(text, start, end)
        if first:
            sentence_starts.add(first.start())

    runs: list[list[re.Match[str]]] = []
    current: list[re.Match[str]] = []
    for token in _TOKEN.finditer(text):
        word = token.group()
        is_initial = len(word) == 2 and word.endswith(".")
        stem = word.rstrip(".").split("-")[0].lower()
        capitalised = (
            word[0].isupper()
            and (is_initial or not word.isupper())
            and stem not in excluded
            and stem not in _TITLES
        )
        if current and (
            not capitalised or not re.fullmatch(r"[ -]?", text[current[-1].end() : token.start()])
        ):
            runs.append(current)
            current = []
        if capitalised:
            current.append(token)
    if current:
        runs.append(current)

    names: list[tuple[int, int]] = []
    for run in runs:
        words = [t.group().rstrip(".").lower() for t in run]
        start, end = run[0].start(), run[-1].end()
        at_sentence_start = start in sentence_starts
        before = text[max(0, start - 20) : start].split()
        titled = bool(before) and before[-1].rstrip(".").lower() in _TITLES
        address = _ADDRESSED.match(text, end)
        if address and address.group(1).lower() in _FORMS_OF_ADDRESS:
            names.append((start, address.end()))
        elif ("-" in words[-1] and words[-1].rsplit("-", 1)[1] in _FORMS_OF_ADDRESS) or titled:
            names.append((start, end))
        elif any(len(w) >= 4 and _NAME_ENDING.search(w) for w in words):
            if len(run) > 1 or not at_sentence_start or _SURE_NAME_ENDING.search(words[0]):
                names.append((start, end))
        elif len(run) - (1 if at_sentence_start else 0) >= 2:
            names.append((run[1].start() if at_sentence_start else start, end))
    return names
