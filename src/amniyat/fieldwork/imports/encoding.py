"""Text encodings of submission files: recognised, never silently mangled.

Field teams send CSV files saved by Excel in Windows-1251, by LibreOffice in UTF-16, by
KoboToolbox in UTF-8 with or without a byte-order mark. :func:`utf8_copy` reads a file in
chunks (memory stays flat however large it is) and answers the path of a UTF-8 version of it:
the file itself when it already is UTF-8, otherwise a transcoded copy in ``workdir``.

A file whose lines are partly UTF-8 and partly something else (two exports pasted together)
is refused, naming one line of each kind, rather than guessed at; so is a file whose encoding
cannot be recognised, naming its first line that is not UTF-8. A NUL character, which no text
holds (but a damaged file, or a binary one renamed, does), is refused wherever it is, naming
its line: it would otherwise be stored inside an answer or a note, and PostgreSQL refuses it.
"""

from __future__ import annotations

import codecs
from pathlib import Path

import charset_normalizer
from django.utils.translation import gettext as _

from amniyat.fieldwork.imports.errors import FileRejected

CHUNK = 1024 * 1024
# Single-byte encodings a Central Asian office computer plausibly saved a file in.
LEGACY_ENCODINGS = {
    "cp1251": "cp1251",
    "windows-1251": "cp1251",
    "koi8_r": "koi8_r",
    "koi8-r": "koi8_r",
    "cp866": "cp866",
    "ibm866": "cp866",
    "mac_cyrillic": "cp1251",
    "cp1252": "cp1252",
    "windows-1252": "cp1252",
    "latin_1": "cp1252",
    "iso8859_1": "cp1252",
    "iso8859_5": "iso8859_5",
    "cp1254": "cp1254",
    "kz1048": "cp1251",
    "ptcp154": "cp1251",
}
BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def _bom_encoding(head: bytes) -> str | None:
    for bom, encoding in BOMS:
        if head.startswith(bom):
            return encoding
    return None


def _utf16_without_bom(head: bytes) -> str | None:
    """UTF-16 text without a byte-order mark has a zero byte in every other position."""
    sample = head[: 64 * 1024]
    if len(sample) < 4:
        return None
    even_zeros = sample[0::2].count(0)
    odd_zeros = sample[1::2].count(0)
    half = len(sample) / 2
    if odd_zeros > 0.3 * half and even_zeros < 0.05 * half:
        return "utf-16-le"
    if even_zeros > 0.3 * half and odd_zeros < 0.05 * half:
        return "utf-16-be"
    return None


def _nul_refused(name: str, line: int) -> FileRejected:
    return FileRejected(
        _(
            "Line {line} of “{file}” holds a NUL character, which no text holds: the file is "
            "damaged or is not a text file. Save it again as UTF-8 text."
        ).format(line=line, file=name)
    )


def _is_utf8(path: Path, name: str) -> bool:
    """Whether the file is UTF-8; refuses it, naming the line, if it holds a NUL."""
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    valid = True
    lines = 1
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            nul = chunk.find(b"\x00")
            if nul >= 0:
                raise _nul_refused(name, lines + chunk.count(b"\n", 0, nul))
            lines += chunk.count(b"\n")
            if not valid or chunk.isascii():
                continue
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError:
                valid = False  # read on: a NUL further on says more
        if valid:
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                valid = False
    return valid


def _classify_lines(path: Path, name: str) -> tuple[bytes, int]:
    """Refuse a file mixing UTF-8 lines with lines in another encoding; return a sample of
    the non-UTF-8 lines for recognising their encoding, and the number of the first."""
    first_utf8: int | None = None
    first_other: int | None = None
    sample = bytearray()
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            if line.isascii():
                continue
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                if first_other is None:
                    first_other = number
                if len(sample) < 256 * 1024:
                    sample += line
            else:
                if first_utf8 is None:
                    first_utf8 = number
            if first_utf8 is not None and first_other is not None:
                raise FileRejected(
                    _(
                        "“{file}” mixes text encodings: line {utf8} is UTF-8 but line {other} "
                        "is not. Save the whole file again in one encoding (UTF-8) and import "
                        "it again."
                    ).format(file=name, utf8=first_utf8, other=first_other)
                )
    return bytes(sample), first_other or 1


def _transcode(source: Path, target: Path, encoding: str, name: str) -> None:
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    lines = 1
    try:
        with source.open("rb") as reader, target.open("w", encoding="utf-8", newline="") as out:
            while chunk := reader.read(CHUNK):
                text = decoder.decode(chunk)
                nul = text.find("\x00")
                if nul >= 0:
                    raise _nul_refused(name, lines + text.count("\n", 0, nul))
                lines += text.count("\n")
                out.write(text)
            out.write(decoder.decode(b"", final=True))
    except UnicodeDecodeError as error:
        raise FileRejected(
            _(
                "“{file}” could not be read as {encoding} text (at byte {position}): "
                "it may mix text encodings. Save it again as UTF-8."
            ).format(file=name, encoding=encoding, position=error.start)
        ) from error


def utf8_copy(path: Path, workdir: Path, *, name: str) -> Path:
    """The path of a UTF-8 version of the text file ``path`` (a byte-order mark allowed)."""
    with path.open("rb") as handle:
        head = handle.read(64 * 1024)
    if not head.strip():
        raise FileRejected(_("“{file}” is empty.").format(file=name))
    encoding = _bom_encoding(head)
    if encoding == "utf-8-sig":
        if _is_utf8(path, name):
            return path
        _sample, line = _classify_lines(path, name)
        raise FileRejected(
            _("“{file}” says it is UTF-8 but line {line} is not. Save it again as UTF-8.").format(
                file=name, line=line
            )
        )
    encoding = encoding or _utf16_without_bom(head)
    if encoding is None:
        nul = head.find(b"\x00")
        if nul >= 0 and b"\n" in head[:nul]:
            raise _nul_refused(name, head.count(b"\n", 0, nul) + 1)  # text, then a NUL
        if nul >= 0:
            raise FileRejected(
                _("“{file}” is not a text file. Is it a renamed spreadsheet or archive?").format(
                    file=name
                )
            )
        if _is_utf8(path, name):
            return path
        sample, line = _classify_lines(path, name)
        best = charset_normalizer.from_bytes(sample).best()
        guessed = best.encoding.lower() if best is not None else ""
        encoding = LEGACY_ENCODINGS.get(guessed, "")
        if not encoding:
            raise FileRejected(
                _(
                    "Line {line} of “{file}” is not UTF-8 text, and the encoding of the file "
                    "could not be recognised. Save it again as UTF-8."
                ).format(line=line, file=name)
            )
    target = workdir / "utf8.txt"
    _transcode(path, target, encoding, name)
    return target
