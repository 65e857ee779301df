"""A programme's own Word template: checking an upload, and preparing a document from it for
the DOCX writer (:mod:`amniyat.reports.word`).

**Checking.** A template is a zip its sender made, so it passes the one check every uploaded
zip passes (:func:`amniyat.core.archives.checked_members`: how many files, how large once
unpacked, how tightly packed, no unsafe names), and then every member is read, never more than
its header declares (zipfile checks each one's CRC), so the sizes weighed are the real ones
before python-docx opens anything. It must be a Word document (``word/document.xml`` and its
content types); a Word template (.dotx) is taken as the document it describes. Macros
(``vbaProject.bin``, a .docm/.dotm content type), embedded objects and ActiveX controls are
refused: a file people will open in Word must not carry code; so is any part Word would fetch
from another server when the document opens (an attached template or a linked picture, the way
"remote template" attacks and tracking pixels come in). A template may lack some of the styles
the engine writes with: it is accepted, and those styles are copied from the engine's own
template when a document is built (:func:`prepared`), which the upload page and the rendered
file's page say.

**Building on it.** The template keeps its styles, numbering, headers and footers (with their
logos), page size and margins; its body is replaced by the report, except what comes before
its first page break or section break, which is its cover page and is kept. This is how
python-docx users build on a template (``Document(template)``, then clear the body), keeping
the body's last ``w:sectPr``, which holds the page set-up and the header and footer
references.
"""

from __future__ import annotations

import copy
import io
import zipfile
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from amniyat.core.archives import ArchiveRefused, checked_members, member_bytes

MAX_TEMPLATE_BYTES = 10 * 2**20
MAX_UNPACKED_BYTES = 60 * 2**20
MAX_MEMBERS = 1000
MAX_RATIO = 100

# The styles the engine writes with (word.py), by the names python-docx gives Word's
# built-in styles.
STYLES = (
    "Normal",
    "Title",
    "Subtitle",
    "Heading 1",
    "Heading 2",
    "Heading 3",
    "Caption",
    "Quote",
    "List Bullet",
    "List Bullet 2",
    "List Bullet 3",
    "List Number",
    "List Number 2",
    "List Number 3",
    "Table Grid",
)

CONTENT_TYPES = "[Content_Types].xml"
DOCUMENT_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
TEMPLATE_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .doc, .dot and other files of Office 97–2003
MACRO_MARKERS = (b"macroEnabled", b"vbaProject", b"vbaData")


@dataclass(frozen=True)
class Checked:
    """An accepted template: its content as a DOCX, and the engine's styles it has and lacks."""

    content: bytes
    found: list[str]
    missing: list[str]


def _not_a_docx(file: str) -> ValidationError:
    return ValidationError(
        _(
            "“{file}” is not a Word document (.docx). Upload a .docx or .dotx file saved from "
            "Word or LibreOffice."
        ).format(file=file),
        code="not_docx",
    )


def check(file_name: str, data: bytes) -> Checked:
    """``data`` as a template, or :class:`ValidationError` saying, with the file's name, why
    not. Nothing is opened by python-docx before the archive is weighed and read."""
    file = PurePath(file_name or "template.docx").name
    if len(data) > MAX_TEMPLATE_BYTES:
        raise ValidationError(
            _("“{file}” is larger than {limit} MB.").format(
                file=file, limit=MAX_TEMPLATE_BYTES // 2**20
            ),
            code="too_large",
        )
    if data.startswith(OLE_MAGIC):
        raise ValidationError(
            _(
                "“{file}” is an old Word file (.doc or .dot). Open it in Word or LibreOffice "
                "and save it as a Word document (.docx)."
            ).format(file=file),
            code="old_word",
        )
    parts = _members(file, data)
    if CONTENT_TYPES not in parts or "word/document.xml" not in parts:
        raise _not_a_docx(file)
    types = parts[CONTENT_TYPES]
    if any(name.lower().rsplit("/", 1)[-1].startswith("vba") for name in parts) or any(
        marker in types for marker in MACRO_MARKERS
    ):
        raise ValidationError(
            _(
                "“{file}” contains macros. Upload a template without them (.docx or .dotx, "
                "not .docm or .dotm)."
            ).format(file=file),
            code="macros",
        )
    _check_references(file, parts)
    if TEMPLATE_TYPE.encode() in types:
        # A Word template (.dotx) is the document it describes: python-docx opens only that.
        parts[CONTENT_TYPES] = types.replace(TEMPLATE_TYPE.encode(), DOCUMENT_TYPE.encode())
        data = _zipped(parts)
    try:
        found = styles_in(data)
    except Exception as error:  # python-docx and lxml fail in many ways on a damaged part
        raise _not_a_docx(file) from error
    return Checked(
        content=data,
        found=[name for name in STYLES if name in found],
        missing=[name for name in STYLES if name not in found],
    )


def _check_references(file: str, parts: dict[str, bytes]) -> None:
    """Refuses what Word would fetch or run when a report built on the template is opened:
    a part taken from another server (an attached template, a linked picture: the way
    "remote template" attacks and tracking pixels get in), an embedded object or an ActiveX
    control. Links people click stay links."""
    import defusedxml.ElementTree as SafeXML

    active = [
        name
        for name in parts
        if name.lower().startswith(("word/activex/", "word/embeddings/"))
        and not name.lower().endswith((".png", ".jpeg", ".jpg", ".gif", ".emf", ".wmf"))
    ]
    if active:
        raise ValidationError(
            _(
                "“{file}” contains embedded objects or controls ({part}). Upload a template "
                "without them."
            ).format(file=file, part=active[0]),
            code="active",
        )
    for name, content in parts.items():
        if not name.endswith(".rels"):
            continue
        try:
            root = SafeXML.fromstring(content)
        except Exception as error:  # damaged, or an XML bomb defusedxml refuses
            raise _not_a_docx(file) from error
        for rel in root:
            external = rel.get("TargetMode", "").lower() == "external"
            if external and not rel.get("Type", "").endswith("/hyperlink"):
                raise ValidationError(
                    _(
                        "“{file}” refers to a file on another server ({target}), which Word "
                        "would fetch when a report is opened. Remove it and upload the "
                        "template again."
                    ).format(file=file, target=rel.get("Target", "")[:200]),
                    code="external",
                )


def _members(file: str, data: bytes) -> dict[str, bytes]:
    """Every member of the zip, read within the limits (the sizes read, not only those
    declared), by name."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError) as error:
        raise _not_a_docx(file) from error
    with archive:
        try:
            infos = checked_members(
                archive,
                file=file,
                max_members=MAX_MEMBERS,
                max_unpacked=MAX_UNPACKED_BYTES,
                max_ratio=MAX_RATIO,
            )
            parts: dict[str, bytes] = {}
            left = MAX_UNPACKED_BYTES
            for info in infos:
                if info.is_dir():
                    continue
                content = member_bytes(archive, info, file=file, limit=left)
                left -= len(content)
                parts[info.filename] = content
        except ArchiveRefused as refused:
            raise ValidationError(refused.message, code="archive") from refused
    return parts


def _zipped(parts: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in parts.items():
            archive.writestr(name, content)
    return out.getvalue()


def styles_in(content: bytes) -> set[str]:
    """The names of the styles a DOCX defines (python-docx's names for Word's built-in ones)."""
    import docx

    document = docx.Document(io.BytesIO(content))
    return {style.name for style in document.styles if style.name}


# ----------------------------------------------------------------------------------------
# Building on a template.


def prepared(content: bytes) -> tuple[Any, list[str]]:
    """A python-docx document made from the template: its cover page kept and the rest of
    its body cleared, with every style the engine writes with (copied from the engine's own
    template where the programme's lacks one). Returns it with the names of those copied."""
    import docx

    document = docx.Document(io.BytesIO(content))
    _keep_cover(document)
    missing = [name for name in STYLES if name not in {s.name for s in document.styles}]
    if missing:
        _copy_styles(document, docx.Document(), missing)
    return document, missing


def _keep_cover(document: Any) -> None:
    """Removes the body's content after its first page or section break (what comes before
    is the cover page); without a break, all of it. The final ``w:sectPr`` stays."""
    from docx.enum.text import WD_BREAK
    from docx.oxml.ns import qn

    body = document.element.body
    final = body.find(qn("w:sectPr"))
    children = [child for child in body if child is not final]
    keep, new_page = 0, False
    for index, child in enumerate(children):
        if index and child.xpath(
            './w:pPr/w:pageBreakBefore[not(@w:val="0") and not(@w:val="false")]'
        ):
            keep, new_page = index, True  # the cover ends where a paragraph asks for a page
            break
        if child.xpath('.//w:br[@w:type="page"] | .//w:pPr/w:sectPr'):
            keep = index + 1
            break
    for child in children[keep:]:
        body.remove(child)
    if new_page:
        document.add_paragraph().add_run().add_break(WD_BREAK.PAGE)


def _copy_styles(document: Any, engine: Any, names: list[str]) -> None:
    """Copies the styles ``names`` (and the styles they are based on, link to or continue
    with, where the document lacks them) from the engine's template ``engine``, with the
    list definitions a list style numbers with."""
    from docx.oxml.ns import qn

    target = document.styles.element
    ids = {style.get(qn("w:styleId")) for style in target.findall(qn("w:style"))}
    by_name = {s.name: s for s in engine.styles if s.name}
    by_id = {s.element.get(qn("w:styleId")): s for s in engine.styles}
    have = {s.name for s in document.styles if s.name}
    queue = list(names)
    while queue:
        name = queue.pop(0)
        if name in have or name not in by_name:
            continue
        element = copy.deepcopy(by_name[name].element)
        style_id = element.get(qn("w:styleId"))
        if style_id in ids:  # a different style of the document has that id: take another
            style_id = f"{style_id}Amniyat"
            element.set(qn("w:styleId"), style_id)
        target.append(element)
        ids.add(style_id)
        have.add(name)
        for tag in ("w:basedOn", "w:next", "w:link"):
            reference = element.find(qn(tag))
            if reference is None:
                continue
            other = by_id.get(reference.get(qn("w:val")))
            if other is not None and other.name not in have:
                queue.append(other.name)
        for num_id in element.xpath("./w:pPr/w:numPr/w:numId"):
            try:
                num_id.set(qn("w:val"), str(_copy_list(document, engine, num_id.get(qn("w:val")))))
            except (KeyError, StopIteration, ValueError):  # no such list: a plain paragraph
                number = num_id.getparent()
                number.getparent().remove(number)


def _copy_list(document: Any, engine: Any, num_id: str) -> int:
    """The engine's list definition ``num_id`` added to the document's numbering (made if it
    has none); returns its id there."""
    from docx.oxml.ns import qn

    numbering = _numbering(document)
    engine_numbering = engine.part.numbering_part.element
    num = engine_numbering.num_having_numId(int(num_id))
    abstract_id = num.abstractNumId.val
    abstract = next(
        a
        for a in engine_numbering.findall(qn("w:abstractNum"))
        if a.get(qn("w:abstractNumId")) == str(abstract_id)
    )
    taken = [int(a.get(qn("w:abstractNumId"))) for a in numbering.findall(qn("w:abstractNum"))]
    new_abstract = copy.deepcopy(abstract)
    new_abstract.set(qn("w:abstractNumId"), str(max(taken, default=-1) + 1))
    for nsid in new_abstract.findall(qn("w:nsid")):
        new_abstract.remove(nsid)
    # Schema order: every abstractNum before the first num.
    first_num = numbering.find(qn("w:num"))
    if first_num is not None:
        first_num.addprevious(new_abstract)
    else:
        numbering.append(new_abstract)
    added = numbering.add_num(int(new_abstract.get(qn("w:abstractNumId"))))
    return int(added.numId)


def _numbering(document: Any) -> Any:
    """The document's list definitions (``word/numbering.xml``), made empty if it has none
    (python-docx does not make one)."""
    from docx.opc.constants import CONTENT_TYPE as CT
    from docx.opc.constants import RELATIONSHIP_TYPE as RT
    from docx.opc.packuri import PackURI
    from docx.oxml.ns import nsdecls
    from docx.parts.numbering import NumberingPart

    part = document.part
    try:
        return part.part_related_by(RT.NUMBERING).element
    except KeyError:
        blob = f"<w:numbering {nsdecls('w')}/>".encode()
        numbering = NumberingPart.load(
            PackURI("/word/numbering.xml"), CT.WML_NUMBERING, blob, part.package
        )
        part.relate_to(numbering, RT.NUMBERING)
        return numbering.element
