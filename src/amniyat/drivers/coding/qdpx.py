"""REFI-QDA project exchange (.qdpx): move a programme's codebook, notes and coding to and
from NVivo, ATLAS.ti, MAXQDA and QualCoder.

A .qdpx file is a zip archive holding ``project.qde`` (XML in the namespace
``urn:QDA-XML:project:1.0``, REFI-QDA Project.xsd of March 2019) and a ``sources`` folder with
one plain-text file per text source, which the XML names as ``internal://<guid>.txt``.
Codings are ``PlainTextSelection`` elements whose ``startPosition`` and ``endPosition`` count
characters (Unicode code points) of that plain text, the end exclusive.

Amniyat keeps more about a code than the standard does (its key, kind, names and
descriptions in four languages, linked indicators) and more about a source (kind, language,
date, participant profile). The extra is written after a ``[Amniyat]`` line at the end of the
code's or source's ``Description``, as JSON: the file stays valid against the schema, other
programs show it as part of the description, and an Amniyat import reads it back, so a round
trip loses nothing.

Reading never trusts the file: the XML is parsed with defusedxml (no DTDs, entities or
external references), the archive's size, member count and packing ratio are bounded, and a
source's text is read only from the archive's ``sources`` folder by a plain file name. Every
problem is reported as a translated message naming the file, source or selection, and an
import stores all or nothing.
"""

from __future__ import annotations

import datetime
import hashlib
import io
import json
import re
import unicodedata
import uuid
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any
from xml.etree import ElementTree as ET

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError
from defusedxml.ElementTree import fromstring as parse_xml
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from amniyat.accounts import policies
from amniyat.accounts.models import User
from amniyat.accounts.policies import require
from amniyat.audit.models import AuditEvent
from amniyat.audit.services import audit_record, audit_records
from amniyat.core.archives import ArchiveRefused, checked_members, member_bytes
from amniyat.core.i18n import CONTENT_LANGUAGES
from amniyat.core.text import format_list, format_number
from amniyat.downloads.kinds import Kind, Written
from amniyat.drivers.codebook import selectors as codebook_selectors
from amniyat.drivers.codebook.services import codebook_tree, indicator_choices, unique_key
from amniyat.drivers.coding import selectors
from amniyat.drivers.coding import text as notes
from amniyat.drivers.coding.services import VIEW_TEXT, coding_changed, source_create
from amniyat.drivers.models import Code, Excerpt, Language, Source
from amniyat.fieldwork.imports import limits

if TYPE_CHECKING:
    from django.http import HttpRequest

    from amniyat.accounts.models import Programme
    from amniyat.fieldwork.models import Assessment

NAMESPACE = "urn:QDA-XML:project:1.0"
NAMESPACE_PREFIX = "urn:QDA-XML:project:"
MARKER = "[Amniyat]"
SOURCES_FOLDER = "sources"
# GUIDs derived from ids, so exporting the same data twice gives the same file.
GUID_NAMESPACE = uuid.UUID("6f1c9a52-3b0e-4f7e-9a51-2f4d8e0c7b13")
_GUID_PREFIX = GUID_NAMESPACE.bytes
KIND_COLOURS = {
    Code.Kind.THEME: "#5B6770",
    Code.Kind.DRIVER: "#D97B29",
    Code.Kind.CONCERN: "#B8333A",
}
SELECTION_NAME_CHARS = 60
EXPORT_DEFLATE_LEVEL = 3
# Exporting reads every exported source's text: one "source.view_text" row per source, and
# one row for the export as a whole.
EXPORT_VERB = AuditEvent.Verb.EXPORTED
TAJIK_LETTERS = set("ғӣқӯҳҷҒӢҚӮҲҶ")
UZBEK_LATIN = re.compile(r"\b\w*(?:o'|g'|o‘|g‘|oʻ|gʻ|sh|ch)\w*\b", re.IGNORECASE)


EXPORTED_SOURCE_FIELDS = (
    "programme",
    "title",
    "kind",
    "language",
    "held_on",
    "place",
    "participants",
    "women",
    "men",
    "age_bands",
    "sectors",
    "text",
    "created_at",
    "created_by",
)
EXPORTED_EXCERPT_FIELDS = (
    "pk",
    "source_id",
    "code_id",
    "coder_id",
    "start",
    "end",
    "memo",
    "created_at",
)


def max_qdpx_bytes() -> int:
    return int(getattr(settings, "AMNIYAT_MAX_QDPX_BYTES", 200 * 1024 * 1024))


def max_qdpx_unpacked_bytes() -> int:
    return int(getattr(settings, "AMNIYAT_MAX_QDPX_UNPACKED_BYTES", 500 * 1024 * 1024))


def _guid(kind: str, pk: int | str) -> str:
    """``str(uuid.uuid5(GUID_NAMESPACE, f"{kind}:{pk}"))`` without making UUID objects: an
    export names every excerpt four times, and the objects took a quarter of its time."""
    name = _GUID_PREFIX + f"{kind}:{pk}".encode()
    digest = bytearray(hashlib.sha1(name, usedforsecurity=False).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    hexed = digest.hex()
    return f"{hexed[:8]}-{hexed[8:12]}-{hexed[12:16]}-{hexed[16:20]}-{hexed[20:]}"


def _timestamp(moment: Any) -> str:
    """xsd:dateTime in UTC, as the other programs write it."""
    if moment is None:
        moment = timezone.now()
    return str(moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))


def _with_extra(text: str, extra: Mapping[str, Any]) -> str:
    block = json.dumps(extra, ensure_ascii=False, indent=1, sort_keys=True)
    return f"{text}\n\n{MARKER}\n{block}" if text else f"{MARKER}\n{block}"


def _split_extra(description: str) -> tuple[str, dict[str, Any]]:
    """The human description and Amniyat's extra of a ``Description`` (empty if none)."""
    position = description.rfind(MARKER)
    if position < 0 or (position > 0 and description[position - 1] != "\n"):
        return description.strip(), {}
    try:
        extra = json.loads(description[position + len(MARKER) :])
    except ValueError:
        return description.strip(), {}
    if not isinstance(extra, dict):
        return description.strip(), {}
    return description[:position].strip(), extra


# ----------------------------------------------------------------------------------------
# Export


@dataclass(frozen=True)
class Exported:
    content: bytes
    file_name: str
    codes: int
    sources: int
    excerpts: int


def _q(tag: str) -> str:
    return f"{{{NAMESPACE}}}{tag}"


def qdpx_export(
    *, user: User, programme: Programme, request: HttpRequest | None = None
) -> Exported:
    """The programme's codebook, the sources ``user`` may read and their excerpts, as a
    .qdpx archive (for the command line: pages prepare it in the background, see
    :data:`DOWNLOAD`). The export is audited with the sources it holds."""
    buffer = io.BytesIO()
    written = qdpx_write(user=user, programme=programme, target=buffer)
    held = written.summary
    qdpx_opened(
        user=user,
        programme=programme,
        source_ids=held["sources"],
        codes=held["codes"],
        excerpts=held["excerpts"],
        request=request,
    )
    return Exported(
        content=buffer.getvalue(),
        file_name=written.file_name,
        codes=held["codes"],
        sources=len(held["sources"]),
        excerpts=held["excerpts"],
    )


def qdpx_write(
    *,
    user: User,
    programme: Programme,
    target: IO[bytes],
    progress: Callable[[int, int], None] | None = None,
    choices: Mapping[str, Any] | None = None,
) -> Written:
    """Write to ``target`` the programme's codebook, the sources ``user`` may read and their
    excerpts, as a .qdpx archive; ``progress(done, total)`` as sources are written. What it
    holds comes back in the summary: the counts of codes and excerpts, and the ids of the
    sources whose text it holds (``sources``), for the audit log when someone opens it.
    Records nothing: whoever hands the file to a person records it (:func:`qdpx_opened`).
    A project has no choices: ``choices`` is there for :data:`DOWNLOAD`'s writer."""
    require(user, "codebook.view", programme)
    progress = progress or (lambda done, total: None)
    codes = codebook_tree(
        codebook_selectors.code_list(user=user, programme=programme).select_related(None)
    )
    # Each source's text is read (and decrypted) once, with the source; its excerpts carry
    # only ids and offsets, not their source, code and coder again.
    sources = list(
        selectors.source_list(user=user, programme=programme)
        .select_related(None)
        .select_related("place")
        .defer(None)
        .only(*EXPORTED_SOURCE_FIELDS, "place__code")
        .order_by("pk")
    )
    # Rows, not model instances: an export holds every excerpt of the programme.
    excerpts: list[Any] = list(
        selectors.excerpt_list(user=user, programme=programme)
        .filter(source__in=[source.pk for source in sources])
        .order_by("source_id", "start", "end", "pk")
        .values_list(*EXPORTED_EXCERPT_FIELDS, named=True)
    )
    user_ids = {user.pk}
    user_ids |= {excerpt.coder_id for excerpt in excerpts}
    user_ids |= {source.created_by_id for source in sources if source.created_by_id}
    users: dict[int, User] = {
        member.pk: member for member in User.objects.filter(pk__in=user_ids).only("username")
    }

    ET.register_namespace("", NAMESPACE)
    root = ET.Element(
        _q("Project"),
        {
            "name": programme.name,
            "origin": "Amniyat",
            "creatingUserGUID": _guid("user", user.pk),
            "creationDateTime": _timestamp(None),
        },
    )
    users_element = ET.SubElement(root, _q("Users"))
    for pk, member in sorted(users.items()):
        ET.SubElement(
            users_element, _q("User"), {"guid": _guid("user", pk), "name": member.get_username()}
        )
    _codebook_xml(root, codes)
    files: dict[str, str] = {}
    if sources:
        sources_element = ET.SubElement(root, _q("Sources"))
        by_source: dict[int, list[Any]] = {}
        for excerpt in excerpts:
            by_source.setdefault(excerpt.source_id, []).append(excerpt)
        # Each coder and code is named by every excerpt: its GUID is made once.
        guids = {("user", pk): _guid("user", pk) for pk in users}
        guids |= {("code", code.pk): _guid("code", code.pk) for code, _depth in codes}
        for done, source in enumerate(sources, start=1):
            files.update(_source_xml(sources_element, source, by_source.get(source.pk, []), guids))
            progress(done, len(sources))
    ET.SubElement(root, _q("Description")).text = _("Exported from Amniyat: {programme}.").format(
        programme=programme.name
    )
    xml = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    # Deflate level 3: half the time of the default level 6, for a file about 8% larger.
    with zipfile.ZipFile(
        target, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=EXPORT_DEFLATE_LEVEL
    ) as archive:
        archive.writestr("project.qde", xml)
        for name, content in files.items():
            archive.writestr(f"{SOURCES_FOLDER}/{name}", content.encode("utf-8"))
    stamp = timezone.localdate().isoformat()
    return Written(
        file_name=f"{programme.slug}-codebook-{stamp}.qdpx",
        content_type="application/zip",
        summary={
            "codes": len(codes),
            "sources": [source.pk for source in sources],
            "excerpts": len(excerpts),
        },
    )


def qdpx_opened(
    *,
    user: User,
    programme: Programme,
    source_ids: Iterable[int],
    codes: int,
    excerpts: int,
    request: HttpRequest | None = None,
) -> None:
    """Record that ``user`` was handed a .qdpx archive holding the text of these sources: one
    "read discussion notes" row per source (still there), and one row for the export."""
    source_ids = list(source_ids)
    sources = list(Source.objects.filter(pk__in=source_ids).only("pk", "title").order_by("pk"))
    with transaction.atomic():
        audit_records(
            actor=user,
            verb=VIEW_TEXT,
            objects=[(source, {"qdpx_export": True}) for source in sources],
            programme=programme,
            request=request,
        )
        audit_record(
            actor=user,
            verb=EXPORT_VERB,
            programme=programme,
            request=request,
            details={
                "qdpx_export": True,
                "sources": source_ids,
                "codes": codes,
                "excerpts": excerpts,
            },
        )


def _codebook_xml(root: ET.Element, codes: list[tuple[Code, int]]) -> None:
    if not codes:
        return
    book = ET.SubElement(root, _q("CodeBook"))
    holder = ET.SubElement(book, _q("Codes"))
    elements: dict[int, ET.Element] = {}
    for code, _depth in codes:
        parent = elements.get(code.parent_id) if code.parent_id else None
        element = ET.SubElement(
            parent if parent is not None else holder,
            _q("Code"),
            {
                "guid": _guid("code", code.pk),
                "name": code.name,
                "isCodable": "true",
                "color": KIND_COLOURS.get(Code.Kind(code.kind), "#5B6770"),
            },
        )
        extra = {
            "key": code.key,
            "kind": code.kind,
            "name": code.names(),
            "description": {
                language: getattr(code, f"description_{language}") for language in CONTENT_LANGUAGES
            },
            "indicators": list(code.indicator_keys),
        }
        # The description must come before the sub-codes (Project.xsd's sequence).
        description = ET.Element(_q("Description"))
        description.text = _with_extra(code.description_en, extra)
        element.insert(0, description)
        elements[code.pk] = element


def _source_xml(
    holder: ET.Element,
    source: Source,
    excerpts: list[Any],
    guids: dict[tuple[str, int], str],
) -> Iterator[tuple[str, str]]:
    """The source's ``TextSource`` element with its codings (``excerpts``: rows of
    :data:`EXPORTED_EXCERPT_FIELDS`), and its text file."""
    guid = _guid("source", source.pk)
    attributes = {
        "guid": guid,
        "name": source.title,
        "plainTextPath": f"internal://{guid}.txt",
        "creationDateTime": _timestamp(source.created_at),
    }
    if source.created_by_id:
        attributes["creatingUser"] = _guid("user", source.created_by_id)
    element = ET.SubElement(holder, _q("TextSource"), attributes)
    extra = {
        "kind": source.kind,
        "language": source.language,
        "held_on": source.held_on.isoformat() if source.held_on else None,
        "place": source.place.code if source.place_id and source.place else None,
        "participants": source.participants,
        "women": source.women,
        "men": source.men,
        "age_bands": list(source.age_bands),
        "sectors": list(source.sectors),
    }
    ET.SubElement(element, _q("Description")).text = _with_extra(source.get_kind_display(), extra)
    text = source.text
    for excerpt in excerpts:
        coder = guids.get(("user", excerpt.coder_id)) or _guid("user", excerpt.coder_id)
        created = _timestamp(excerpt.created_at)
        selection = ET.SubElement(
            element,
            _q("PlainTextSelection"),
            {
                "guid": _guid("excerpt", excerpt.pk),
                "name": " ".join(text[excerpt.start : excerpt.end].split())[:SELECTION_NAME_CHARS],
                "startPosition": str(excerpt.start),
                "endPosition": str(excerpt.end),
                "creatingUser": coder,
                "creationDateTime": created,
            },
        )
        if excerpt.memo:
            ET.SubElement(selection, _q("Description")).text = excerpt.memo
        coding = ET.SubElement(
            selection,
            _q("Coding"),
            {
                "guid": _guid("coding", excerpt.pk),
                "creatingUser": coder,
                "creationDateTime": created,
            },
        )
        code = guids.get(("code", excerpt.code_id)) or _guid("code", excerpt.code_id)
        ET.SubElement(coding, _q("CodeRef"), {"targetGUID": code})
    yield f"{guid}.txt", text


# ----------------------------------------------------------------------------------------
# Reading a .qdpx file


@dataclass
class ParsedCode:
    guid: str
    name: str
    parent: str | None
    codable: bool
    description: str
    extra: dict[str, Any]


@dataclass
class ParsedSelection:
    start: int
    end: int
    codes: list[str]
    user: str | None
    memo: str


@dataclass
class ParsedSource:
    guid: str
    name: str
    text: str
    description: str
    extra: dict[str, Any]
    user: str | None
    selections: list[ParsedSelection] = field(default_factory=list)


@dataclass
class ParsedProject:
    origin: str
    users: dict[str, str]
    codes: list[ParsedCode]
    sources: list[ParsedSource]
    skipped_sources: int = 0


def _refuse(message: str) -> ValidationError:
    return ValidationError(message, code="qdpx")


def _open_archive(data: IO[bytes], name: str) -> zipfile.ZipFile:
    try:
        archive = zipfile.ZipFile(data)
        checked_members(
            archive,
            file=name,
            max_members=limits.max_zip_members(),
            max_unpacked=max_qdpx_unpacked_bytes(),
            max_ratio=limits.max_compression_ratio(),
            safe_paths=True,
        )
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise _refuse(
            _("“{file}” is not a REFI-QDA project (.qdpx): it is not a zip archive.").format(
                file=name
            )
        ) from error
    except ArchiveRefused as refused:
        raise _refuse(refused.message) from refused
    return archive


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str) -> bytes:
    """A member's content, never more than the unpacked limit whatever its header says."""
    try:
        return member_bytes(archive, info, file=name, limit=max_qdpx_unpacked_bytes())
    except ArchiveRefused as refused:
        raise _refuse(refused.message) from refused


def _project_member(archive: zipfile.ZipFile, name: str) -> zipfile.ZipInfo:
    top = [
        info
        for info in archive.infolist()
        if "/" not in info.filename.strip("/") and info.filename.lower().endswith(".qde")
    ]
    named = [info for info in top if info.filename.lower() == "project.qde"]
    if named:
        return named[0]
    if len(top) == 1:
        return top[0]
    raise _refuse(
        _("“{file}” is not a REFI-QDA project: it holds no project.qde.").format(file=name)
    )


def _decode_text(content: bytes, file: str, member: str) -> str:
    encoding = "utf-16" if content.startswith((b"\xff\xfe", b"\xfe\xff")) else "utf-8-sig"
    try:
        return content.decode(encoding)
    except UnicodeDecodeError as error:
        raise _refuse(
            _("“{file}”: the text “{member}” is not in UTF-8 (byte {position}).").format(
                file=file, member=member, position=error.start
            )
        ) from error


def _local(tag: Any) -> tuple[str, str]:
    """(namespace, local name) of an element's tag."""
    if not isinstance(tag, str):
        return "", ""
    if tag.startswith("{"):
        namespace, _brace, local = tag[1:].partition("}")
        return namespace, local
    return "", tag


def _children(element: Any, name: str) -> list[Any]:
    return [child for child in element if _local(child.tag)[1] == name]


def _child_text(element: Any, name: str) -> str:
    found = _children(element, name)
    return (found[0].text or "") if found else ""


def _integer(value: str | None, *, file: str, what: str, attribute: str) -> int:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        raise _refuse(
            _("“{file}”: {what} has no whole number in {attribute} (found “{value}”).").format(
                file=file, what=what, attribute=attribute, value=value or ""
            )
        ) from None


def qdpx_read(data: IO[bytes], *, file_name: str) -> ParsedProject:
    """Read a .qdpx archive into plain data, checking everything; store nothing."""
    archive = _open_archive(data, file_name)
    with archive:
        project_info = _project_member(archive, file_name)
        xml = _read_member(archive, project_info, file_name)
        try:
            root = parse_xml(xml, forbid_dtd=True, forbid_entities=True, forbid_external=True)
        except DefusedXmlException as error:
            raise _refuse(
                _(
                    "“{file}”: project.qde declares a DTD, entities or external references, "
                    "which are refused for safety."
                ).format(file=file_name)
            ) from error
        except ParseError as error:
            line, column = getattr(error, "position", (0, 0))
            raise _refuse(
                _("“{file}”: project.qde is not valid XML (line {line}, column {column}).").format(
                    file=file_name, line=line, column=column
                )
            ) from error
        namespace, local = _local(root.tag)
        if local != "Project" or not namespace.startswith(NAMESPACE_PREFIX):
            raise _refuse(
                _(
                    "“{file}”: project.qde is not a REFI-QDA project (its root is not a "
                    "Project element in the namespace {namespace})."
                ).format(file=file_name, namespace=NAMESPACE)
            )
        origin = root.get("origin") or ""
        users = {
            user.get("guid", ""): user.get("name") or ""
            for holder in _children(root, "Users")
            for user in _children(holder, "User")
        }
        codes: list[ParsedCode] = []
        for book in _children(root, "CodeBook"):
            for holder in _children(book, "Codes"):
                for element in _children(holder, "Code"):
                    _read_code(element, None, codes, file_name)
        guids = [code.guid for code in codes]
        if len(set(guids)) != len(guids):
            raise _refuse(
                _("“{file}”: two codes of the codebook have the same guid.").format(file=file_name)
            )
        members = _source_members(archive)
        sources: list[ParsedSource] = []
        skipped = 0
        known_codes = set(guids)
        crlf_as_one = any(name in origin.upper() for name in ("ATLAS", "MAXQDA"))
        for holder in _children(root, "Sources"):
            for element in holder:
                kind = _local(element.tag)[1]
                if kind != "TextSource":
                    skipped += 1
                    continue
                sources.append(
                    _read_source(
                        element,
                        archive=archive,
                        members=members,
                        known_codes=known_codes,
                        file_name=file_name,
                        crlf_as_one=crlf_as_one,
                    )
                )
    return ParsedProject(
        origin=origin, users=users, codes=codes, sources=sources, skipped_sources=skipped
    )


def _read_code(element: Any, parent: str | None, into: list[ParsedCode], file: str) -> None:
    guid = (element.get("guid") or "").strip()
    name = (element.get("name") or "").strip()
    if not guid or not name:
        raise _refuse(
            _("“{file}”: a code of the codebook has no guid or no name.").format(file=file)
        )
    description, extra = _split_extra(_child_text(element, "Description"))
    into.append(
        ParsedCode(
            guid=guid,
            name=name,
            parent=parent,
            codable=(element.get("isCodable") or "true").strip().lower() not in ("false", "0"),
            description=description,
            extra=extra,
        )
    )
    for child in _children(element, "Code"):
        _read_code(child, guid, into, file)


def _source_members(archive: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    """The files of the archive's sources folder (``sources`` or ``Sources``) by file name."""
    found: dict[str, zipfile.ZipInfo] = {}
    for info in archive.infolist():
        folder, _slash, file = info.filename.replace("\\", "/").partition("/")
        if folder.lower() == SOURCES_FOLDER and file and "/" not in file:
            found.setdefault(file, info)
    return found


def _read_source(
    element: Any,
    *,
    archive: zipfile.ZipFile,
    members: Mapping[str, zipfile.ZipInfo],
    known_codes: set[str],
    file_name: str,
    crlf_as_one: bool,
) -> ParsedSource:
    name = (element.get("name") or "").strip() or _("Imported text")
    inline = _children(element, "PlainTextContent")
    path = (element.get("plainTextPath") or "").strip()
    if inline:
        raw = inline[0].text or ""
    elif path:
        if not path.startswith("internal://"):
            raise _refuse(
                _(
                    "“{file}”: the text of “{source}” is outside the archive ({path}); export "
                    "the project with its sources included."
                ).format(file=file_name, source=name, path=path)
            )
        member = path[len("internal://") :]
        if not member or "/" in member or "\\" in member or member in (".", ".."):
            raise _refuse(
                _("“{file}”: the text of “{source}” has an unsafe path: {path}.").format(
                    file=file_name, source=name, path=path
                )
            )
        info = members.get(member)
        if info is None:
            raise _refuse(
                _(
                    "“{file}”: the text of “{source}” ({member}) is missing from the archive."
                ).format(file=file_name, source=name, member=member)
            )
        raw = _decode_text(_read_member(archive, info, file_name), file_name, member)
    else:
        raise _refuse(
            _("“{file}”: the source “{source}” has no text.").format(file=file_name, source=name)
        )
    text, boundaries = clean_with_offsets(raw, crlf_as_one=crlf_as_one)
    description, extra = _split_extra(_child_text(element, "Description"))
    source = ParsedSource(
        guid=element.get("guid") or "",
        name=name[:200],
        text=text,
        description=description,
        extra=extra,
        user=element.get("creatingUser"),
    )
    raw_length = len(boundaries) - 1
    selections = _children(element, "PlainTextSelection")
    for selection in selections:
        what = _("the selection “{name}” of “{source}”").format(
            name=(selection.get("name") or selection.get("guid") or "")[:40], source=name
        )
        start = _integer(
            selection.get("startPosition"), file=file_name, what=what, attribute="startPosition"
        )
        end = _integer(
            selection.get("endPosition"), file=file_name, what=what, attribute="endPosition"
        )
        if not 0 <= start < end <= raw_length:
            raise _refuse(
                _(
                    "“{file}”: {what} ({start}–{end}) lies outside its text, which has "
                    "{length} characters."
                ).format(
                    file=file_name,
                    what=what,
                    start=format_number(start),
                    end=format_number(end),
                    length=format_number(raw_length),
                )
            )
        codes = _coded(selection, known_codes, file=file_name, what=what)
        if not codes:
            continue  # a memo or annotation without a code
        mapped_start, mapped_end = boundaries[start], boundaries[end]
        if mapped_end <= mapped_start:
            continue  # only spaces or control characters: nothing left to code
        source.selections.append(
            ParsedSelection(
                start=mapped_start,
                end=mapped_end,
                codes=codes,
                user=selection.get("creatingUser") or selection.get("modifyingUser"),
                memo=_child_text(selection, "Description").strip(),
            )
        )
    # A coding of the whole source.
    whole = _coded(element, known_codes, file=file_name, what=name)
    if whole and text:
        source.selections.append(
            ParsedSelection(start=0, end=len(text), codes=whole, user=source.user, memo="")
        )
    return source


def _coded(element: Any, known_codes: set[str], *, file: str, what: str) -> list[str]:
    codes: list[str] = []
    for coding in _children(element, "Coding"):
        for reference in _children(coding, "CodeRef"):
            target = (reference.get("targetGUID") or "").strip()
            if target not in known_codes:
                raise _refuse(
                    _(
                        "“{file}”: {what} refers to a code that is not in the codebook ({guid})."
                    ).format(file=file, what=what, guid=target)
                )
            codes.append(target)
    return list(dict.fromkeys(codes))


def clean_with_offsets(raw: str, *, crlf_as_one: bool = False) -> tuple[str, list[int]]:
    """The text as Amniyat stores notes (:func:`amniyat.drivers.coding.text.clean_text`) and, for
    every position 0…len(raw) of ``raw``, the position it becomes in that text.

    Positions count code points of the file as written, so a Windows line end is two
    characters; with ``crlf_as_one`` (ATLAS.ti and MAXQDA count it as one) positions count
    the text with ``\\r\\n`` read as one line end.
    """
    if crlf_as_one:
        raw = raw.replace("\r\n", "\n")
    # 1. Line ends, then composed characters (NFC), control characters out, tabs as spaces.
    pieces: list[str] = []
    boundary: list[int] = []
    length = 0
    index = 0
    while index < len(raw):
        char = raw[index]
        if char == "\r":
            if index + 1 < len(raw) and raw[index + 1] == "\n":
                boundary.append(length)  # the \r of \r\n disappears
                index += 1
                continue
            char = "\n"
        if char != "\n" and unicodedata.combining(char) == 0:
            # A starter and the combining marks after it compose together.
            stop = index + 1
            while stop < len(raw) and unicodedata.combining(raw[stop]):
                stop += 1
            cluster = unicodedata.normalize("NFC", raw[index:stop])
            cluster = "".join(
                " " if c == "\t" else c
                for c in cluster
                if c in "\t" or unicodedata.category(c) not in ("Cc", "Cf", "Cs")
            )
            for _position in range(index, stop):
                boundary.append(length)
            pieces.append(cluster)
            length += len(cluster)
            index = stop
            continue
        boundary.append(length)
        if char == "\n" or unicodedata.category(char) not in ("Cc", "Cf", "Cs"):
            pieces.append(char)
            length += 1
        index += 1
    boundary.append(length)
    flat = "".join(pieces)
    # 2. Trailing spaces of each line and blank space around the whole text go.
    keep = [True] * len(flat)
    line_start = 0
    for line in flat.split("\n"):
        stop = line_start + len(line)
        cut = stop
        while cut > line_start and flat[cut - 1].isspace():
            cut -= 1
        for position in range(cut, stop):
            keep[position] = False
        line_start = stop + 1
    start = 0
    while start < len(flat) and (flat[start].isspace() or not keep[start]):
        keep[start] = False
        start += 1
    stop = len(flat)
    while stop > start and (flat[stop - 1].isspace() or not keep[stop - 1]):
        keep[stop - 1] = False
        stop -= 1
    kept_before = [0] * (len(flat) + 1)
    for position, kept in enumerate(keep):
        kept_before[position + 1] = kept_before[position] + (1 if kept else 0)
    text = "".join(char for char, kept in zip(flat, keep, strict=True) if kept)
    mapped = [kept_before[position] for position in boundary]
    if text != notes.clean_text(raw):
        # Should not happen; refuse rather than misplace excerpts.
        raise _refuse(_("The text of a source could not be read exactly; nothing was imported."))
    return text, mapped


# ----------------------------------------------------------------------------------------
# Import


@dataclass
class Imported:
    codes_created: int = 0
    codes_matched: int = 0
    sources: int = 0
    excerpts: int = 0
    skipped_sources: int = 0
    dropped_indicators: list[str] = field(default_factory=list)
    source_ids: list[int] = field(default_factory=list)


def _guess_language(text: str) -> str:
    letters = [char for char in text[:5000] if char.isalpha()]
    if not letters:
        return Language.ENGLISH
    cyrillic = sum(1 for char in letters if "\u0400" <= char <= "\u04ff")
    if cyrillic > len(letters) / 2:
        return (
            Language.TAJIK if any(char in TAJIK_LETTERS for char in letters) else Language.RUSSIAN
        )
    if "o'" in text[:5000].lower() or "g'" in text[:5000].lower() or "ʻ" in text[:5000]:
        return Language.UZBEK
    return Language.ENGLISH


def _user_map(users: Mapping[str, str], importer: User, programme: Programme) -> dict[str, User]:
    """Each user of the file as the Amniyat user of the same name who may code in this
    programme, otherwise as the importing user."""
    names = {name for name in users.values() if name}
    found = {
        candidate.get_username(): candidate
        for candidate in User.objects.filter(username__in=names, is_active=True)
        if policies.can(candidate, "source.create", programme)
    }
    return {guid: found.get(name, importer) for guid, name in users.items()}


def _names_of(code: Code) -> set[str]:
    return {name.casefold() for name in code.names().values() if name}


def qdpx_import(
    *,
    user: User,
    programme: Programme,
    assessment: Assessment,
    data: IO[bytes],
    file_name: str,
    kind: str = "",
    language: str = "",
    request: HttpRequest | None = None,
) -> Imported:
    """Import a .qdpx archive into ``assessment``: codes are matched to the programme's
    codebook by key (Amniyat files) or name, or added; every text source becomes a source
    (of ``kind`` and ``language`` unless the file says, the language guessed if neither
    does) with its codings as imported excerpts. All or nothing."""
    require(user, "codebook.manage", programme)
    require(user, "source.create", programme)
    if assessment.programme_id != programme.pk:
        raise ValidationError({"assessment": _("Choose an assessment of this programme.")})
    if kind and kind not in Source.Kind.values:
        raise ValidationError({"kind": _("Choose focus group, interview or workshop.")})
    if language and language not in Language.values:
        raise ValidationError({"language": _("Choose the language the notes are written in.")})
    size = _size_of(data)
    if size > max_qdpx_bytes():
        raise _refuse(
            _("“{file}” is too large ({size} MB; the limit is {limit} MB).").format(
                file=file_name,
                size=format_number(size / 2**20, decimals=1),
                limit=format_number(max_qdpx_bytes() / 2**20, decimals=1),
            )
        )
    project = qdpx_read(data, file_name=file_name)
    report = Imported(skipped_sources=project.skipped_sources)
    users = _user_map(project.users, user, programme)
    known_indicators = indicator_choices(programme)
    with transaction.atomic():
        code_for = _import_codes(project.codes, programme, known_indicators, report)
        for parsed in project.sources:
            source = _import_source(
                parsed,
                user=user,
                programme=programme,
                assessment=assessment,
                kind=kind,
                language=language,
                file_name=file_name,
            )
            report.sources += 1
            report.source_ids.append(source.pk)
            seen: set[tuple[int, int, int, int]] = set()
            rows: list[Excerpt] = []
            for selection in parsed.selections:
                coder = users.get(selection.user or "", user)
                for guid in selection.codes:
                    code = code_for[guid]
                    span = (code.pk, coder.pk, selection.start, selection.end)
                    if span in seen:
                        continue
                    seen.add(span)
                    rows.append(
                        Excerpt(
                            source=source,
                            code=code,
                            coder=coder,
                            start=selection.start,
                            end=selection.end,
                            origin=Excerpt.Origin.IMPORTED,
                            memo=selection.memo,
                        )
                    )
            for row in rows:
                row.save()
            report.excerpts += len(rows)
        coding_changed(programme_id=programme.pk)
        audit_record(
            actor=user,
            verb=AuditEvent.Verb.IMPORTED,
            programme=programme,
            request=request,
            details={
                "qdpx_import": file_name,
                "origin": project.origin[:100],
                "assessment": assessment.pk,
                "codes_created": report.codes_created,
                "codes_matched": report.codes_matched,
                "sources": report.source_ids,
                "excerpts": report.excerpts,
            },
        )
    return report


def _size_of(data: IO[bytes]) -> int:
    position = data.tell()
    data.seek(0, io.SEEK_END)
    size = data.tell()
    data.seek(position)
    return size


def _import_codes(
    parsed: Iterable[ParsedCode],
    programme: Programme,
    known_indicators: Mapping[str, str],
    report: Imported,
) -> dict[str, Code]:
    existing = list(Code.objects.filter(programme=programme))
    by_key = {code.key: code for code in existing}
    code_for: dict[str, Code] = {}
    for item in parsed:
        parent = code_for.get(item.parent) if item.parent else None
        key = str(item.extra.get("key") or "")
        match = by_key.get(key) if key else None
        if match is None:
            wanted = {item.name.casefold()}
            names = item.extra.get("name")
            if isinstance(names, dict):
                wanted |= {str(v).casefold() for v in names.values() if v}
            same = [code for code in existing if _names_of(code) & wanted]
            beside = [code for code in same if code.parent_id == (parent.pk if parent else None)]
            match = beside[0] if len(beside) == 1 else (same[0] if len(same) == 1 else None)
        if match is not None:
            code_for[item.guid] = match
            report.codes_matched += 1
            continue
        code = _new_code(item, programme, parent, key, known_indicators, report)
        existing.append(code)
        by_key[code.key] = code
        code_for[item.guid] = code
        report.codes_created += 1
    return code_for


def _new_code(
    item: ParsedCode,
    programme: Programme,
    parent: Code | None,
    key: str,
    known_indicators: Mapping[str, str],
    report: Imported,
) -> Code:
    names = item.extra.get("name") if isinstance(item.extra.get("name"), dict) else {}
    descriptions = (
        item.extra.get("description") if isinstance(item.extra.get("description"), dict) else {}
    )
    assert isinstance(names, dict) and isinstance(descriptions, dict)
    values = {f"name_{lang}": str(names.get(lang) or "")[:200] for lang in CONTENT_LANGUAGES} | {
        f"description_{lang}": str(descriptions.get(lang) or "") for lang in CONTENT_LANGUAGES
    }
    if not values["name_en"]:
        values["name_en"] = item.name[:200]
    if not values["description_en"]:
        values["description_en"] = item.description
    kind = str(item.extra.get("kind") or "")
    if kind not in Code.Kind.values:
        kind = Code.Kind.DRIVER if item.codable else Code.Kind.THEME
    indicators: list[str] = []
    for indicator in item.extra.get("indicators") or []:
        if str(indicator) in known_indicators:
            indicators.append(str(indicator))
        else:
            report.dropped_indicators.append(str(indicator))
    valid_key = bool(key) and len(key) <= 80 and re.fullmatch(r"[-a-zA-Z0-9_]+", key) is not None
    if not valid_key or Code.objects.filter(programme=programme, key=key).exists():
        key = unique_key(programme, values["name_en"])
    siblings = Code.objects.filter(programme=programme, parent=parent).count()
    return Code.objects.create(
        programme=programme,
        parent=parent,
        key=key,
        kind=kind,
        indicator_keys=indicators,
        position=siblings + 1,
        **values,
    )


def _import_source(
    parsed: ParsedSource,
    *,
    user: User,
    programme: Programme,
    assessment: Assessment,
    kind: str,
    language: str,
    file_name: str,
) -> Source:
    extra = parsed.extra
    source_kind = str(extra.get("kind") or "") if extra.get("kind") in Source.Kind.values else ""
    source_language = (
        str(extra.get("language") or "") if extra.get("language") in Language.values else ""
    )
    held_on = parse_date(str(extra["held_on"])) if extra.get("held_on") else None

    def number(name: str) -> int:
        value = extra.get(name)
        return value if isinstance(value, int) and not isinstance(value, bool) else 0

    place = None
    if extra.get("place"):
        from amniyat.places.models import Place
        from amniyat.places.selectors import programme_place_ids

        place = Place.objects.filter(
            code=str(extra["place"]), pk__in=programme_place_ids(programme)
        ).first()
    try:
        source = source_create(
            user=user,
            programme=programme,
            assessment=assessment,
            title=parsed.name,
            kind=source_kind or kind or Source.Kind.INTERVIEW,
            language=source_language or language or _guess_language(parsed.text),
            text=parsed.text,
            place=place,
            held_on=held_on,
            participants=number("participants"),
            women=number("women"),
            men=number("men"),
            age_bands=[str(b) for b in extra.get("age_bands") or [] if isinstance(b, str)],
            sectors=[str(s) for s in extra.get("sectors") or [] if isinstance(s, str)],
        )
    except ValidationError as error:
        raise _refuse(
            _("“{file}”: the source “{source}” cannot be stored: {reasons}").format(
                file=file_name, source=parsed.name, reasons=" ".join(error.messages)
            )
        ) from error
    if source.text != parsed.text:
        raise _refuse(
            _("“{file}”: the text of “{source}” changed when stored; nothing was imported.").format(
                file=file_name, source=parsed.name
            )
        )
    if source.file_name == "" and file_name:
        Source.objects.filter(pk=source.pk).update(file_name=file_name[:255])
    return source


# A REFI-QDA project, prepared in the background for the person who asks for it from the
# codebook page (amniyat.downloads): it reads and decrypts every discussion they may read.


def _opened_download(
    *,
    user: User,
    programme: Programme,
    summary: Mapping[str, Any],
    download_id: int,
    request: HttpRequest | None,
) -> None:
    qdpx_opened(
        user=user,
        programme=programme,
        source_ids=summary.get("sources", []),
        codes=summary.get("codes", 0),
        excerpts=summary.get("excerpts", 0),
        request=request,
    )


def _describe_download(summary: Mapping[str, Any]) -> str:
    codes = int(summary.get("codes", 0))
    sources = len(summary.get("sources", []))
    excerpts = int(summary.get("excerpts", 0))
    held = format_list(
        [
            ngettext("{count} code", "{count} codes", codes).format(count=format_number(codes)),
            ngettext("{count} source", "{count} sources", sources).format(
                count=format_number(sources)
            ),
            ngettext("{count} excerpt", "{count} excerpts", excerpts).format(
                count=format_number(excerpts)
            ),
        ]
    )
    return _("It holds {things}.").format(things=held)


DOWNLOAD = Kind(
    name="qdpx",
    label=gettext_lazy("REFI-QDA project (.qdpx)"),
    verb="codebook.view",
    write=qdpx_write,
    opened=_opened_download,
    describe=_describe_download,
    asked_from=lambda programme, choices: reverse("drivers:codebook", args=[programme.slug]),
)
