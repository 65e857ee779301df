"""Hostile uploads, sent through the pages and the API as a person or a script would send them:
zip bombs, a program renamed as a document, a body of gigabytes, a CSV of one endless line,
NUL characters and broken UTF-8, archive members whose names climb out of their folder.

Each is refused with a message naming the file (and the row or line where there is one), and
never with a 500. Nothing is stored: the rows of every table are counted before and after (an
import leaves only its failed job and the audit row of its upload, which is the design), and
no file is left in ``MEDIA_ROOT`` or in the temporary folder. Files of submissions are checked
by the import task, which runs here synchronously, as the worker would run it.
"""

from __future__ import annotations

import html
import inspect
import io
import itertools
import re
import struct
import tempfile
import tracemalloc
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from openpyxl import Workbook

from amniyat.accounts.models import Membership
from amniyat.core.http import request_limit
from amniyat.fieldwork.imports.tasks import run_import
from amniyat.fieldwork.models import Form, ImportJob
from tests.factories import ProgrammeFactory, member_of
from tests.fieldwork.imports.test_importers import KOBO_HEADER, KOBO_ROWS, SCHEMA, make_form

Role = Membership.Role
MIB = 1024 * 1024
GOOD_CSV = ("\n".join([KOBO_HEADER, *KOBO_ROWS]) + "\n").encode()
# What a program looks like in its first bytes: Linux (ELF) and Windows (MZ … PE).
ELF = b"\x7fELF\x02\x01\x01\x00" + bytes(8) + b"\x02\x00\x3e\x00" + bytes(4000) + b"\x90" * 500
PE = b"MZ\x90\x00\x03" + bytes(55) + b"\x80\x00\x00\x00" + bytes(64) + b"PE\x00\x00" + bytes(4000)


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@dataclass
class Sandbox:
    media: Path
    temp: Path
    root: Path


@pytest.fixture
def sandbox(settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Sandbox:
    """Every place a file could be left behind, empty and this test's own: stored files,
    uploads being received, the import's working folder, its progress note."""
    media, temp = tmp_path / "media", tmp_path / "tmp"
    media.mkdir()
    temp.mkdir()
    settings.MEDIA_ROOT = media
    settings.FILE_UPLOAD_TEMP_DIR = str(temp)
    settings.IMPORT_PROGRESS_DIR = tmp_path / "progress"
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    return Sandbox(media=media, temp=temp, root=tmp_path)


@dataclass
class Scene:
    form: Form
    client: Client
    # As a browser's requests are checked: the CSRF check reads the body of every POST
    # before the view runs, so a limit must act before it.
    browser: Client


@pytest.fixture
def scene(db: None, sandbox: Sandbox) -> Scene:
    programme = ProgrammeFactory(slug="tj")
    form = make_form(programme, schema=SCHEMA)
    lead = member_of(programme, Role.LEAD)
    client, browser = Client(), Client(enforce_csrf_checks=True)
    client.force_login(lead)
    browser.force_login(lead)
    return Scene(form=form, client=client, browser=browser)


# ----------------------------------------------------------------------------------------
# The routes that take files, each sent a file as its form sends it. An import runs as a task;
# what the person then reads is the job's page, or the job in the API.


@dataclass(frozen=True)
class Route:
    name: str
    path: Callable[[Scene], str]
    file_field: str
    fields: Callable[[Scene], dict[str, str]]
    imports: bool = False  # the file is checked by an import job

    def __str__(self) -> str:
        return self.name


def _assessment(scene: Scene) -> str:
    return str(scene.form.assessment_id)


IMPORT_PAGE = Route(
    "import page",
    lambda scene: reverse("fieldwork:import_create", args=["tj", scene.form.pk]),
    "file",
    lambda scene: {"file_format": "auto"},
    imports=True,
)
IMPORT_API = Route(
    "import API",
    lambda scene: "/api/v1/imports/",
    "file",
    lambda scene: {"form": str(scene.form.pk), "file_format": "auto"},
    imports=True,
)
XLSFORM_PAGE = Route(
    "XLSForm page",
    lambda scene: reverse("fieldwork:form_upload", args=["tj", scene.form.assessment_id]),
    "file",
    lambda scene: {},
)
NOTES_PAGE = Route(
    "notes page",
    lambda scene: reverse("drivers:source_create", args=["tj"]),
    "upload",
    lambda scene: {
        "assessment": _assessment(scene),
        "title": "Hostile notes",
        "kind": "interview",
        "language": "ru",
        "participants": "1",
        "women": "0",
        "men": "1",
        "text": "",
    },
)
QDPX_PAGE = Route(
    "qdpx page",
    lambda scene: reverse("drivers:qdpx_import", args=["tj"]),
    "file",
    lambda scene: {"assessment": _assessment(scene)},
)
MAP_PAGE = Route(
    "map page",
    lambda scene: reverse("drivers:map_import", args=["tj"]),
    "upload",
    lambda scene: {"title": "Hostile map", "perspective": "everyone"},
)
ROUTES = (IMPORT_PAGE, IMPORT_API, XLSFORM_PAGE, NOTES_PAGE, QDPX_PAGE, MAP_PAGE)
IMPORTS = (IMPORT_PAGE, IMPORT_API)


def _shown(route: Route, scene: Scene, response: Any) -> str:
    """What the person reads after sending the file: the page, or the import's outcome."""
    assert response.status_code < 500, response.content[:2000]
    if not route.imports or response.status_code not in (202, 302):
        return html.unescape(response.content.decode())
    job = ImportJob.objects.latest("pk")
    assert run_import.call(job.pk) == ImportJob.Status.FAILED
    if route is IMPORT_API:
        shown = scene.client.get(f"/api/v1/imports/{job.pk}/").json()
        assert (shown["status"], shown["stored"]) == ("failed", 0)
        return str(shown["message"])
    page = scene.client.get(reverse("fieldwork:import_detail", args=["tj", job.pk]))
    return html.unescape(page.content.decode())


def send(route: Route, scene: Scene, name: str, content: bytes) -> str:
    upload = SimpleUploadedFile(name, content, "application/octet-stream")
    response = scene.client.post(
        route.path(scene), {**route.fields(scene), route.file_field: upload}
    )
    return _shown(route, scene, response)


# ----------------------------------------------------------------------------------------
# "Nothing stored": every table's rows, and every file where one could be left.


def _world(sandbox: Sandbox) -> tuple[dict[str, int], set[Path], set[Path]]:
    rows = {model._meta.label: model._default_manager.count() for model in apps.get_models()}
    stored = {p.relative_to(sandbox.media) for p in sandbox.media.rglob("*") if p.is_file()}
    temporary = {p.relative_to(sandbox.temp) for p in sandbox.temp.rglob("*")}
    return rows, stored, temporary


def _changed(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {label: after[label] - before[label] for label in after if after[label] != before[label]}


@pytest.fixture
def nothing_stored(scene: Scene, sandbox: Sandbox) -> Callable[[Route], None]:
    """Call with the route once the upload was refused: every table has the rows it had (an
    import: plus its failed job and the audit row of its upload), and no file is left."""
    rows, stored, temporary = _world(sandbox)

    def check(route: Route) -> None:
        rows_after, stored_after, temporary_after = _world(sandbox)
        expected = {"fieldwork.ImportJob": 1, "audit.AuditEvent": 1} if route.imports else {}
        assert _changed(rows, rows_after) == expected
        if route.imports:
            assert ImportJob.objects.latest("pk").status == ImportJob.Status.FAILED
        assert stored_after == stored, "files left in MEDIA_ROOT"
        assert temporary_after == temporary, "files left in the temporary folder"

    return check


# ----------------------------------------------------------------------------------------
# Files


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def _workbook_members() -> dict[str, bytes]:
    book = Workbook()
    book.active.append(["name", "age"])
    buffer = io.BytesIO()
    book.save(buffer)
    archive = zipfile.ZipFile(buffer)
    return {info.filename: archive.read(info) for info in archive.infolist()}


ZEROS = bytes(8 * MIB)  # packs to about 8 KB: a thousand times smaller than it unpacks
SHEET = "xl/worksheets/sheet1.xml"


def _declaring(content: bytes, member: str, size: int) -> bytes:
    """``content``, a zip, with ``member`` declaring ``size`` bytes once unpacked: a header
    that promises gigabytes, checked before a byte is unpacked."""
    data = bytearray(content)
    start = 0
    while (start := data.find(b"PK\x01\x02", start)) >= 0:
        name_length = struct.unpack_from("<H", data, start + 28)[0]
        if data[start + 46 : start + 46 + name_length].decode() == member:
            struct.pack_into("<I", data, start + 24, size)
            return bytes(data)
        start += 4
    raise AssertionError(member)


def xlsx_bomb() -> bytes:
    return _zip({**_workbook_members(), SHEET: ZEROS})


def xlsx_declaring_gigabytes() -> bytes:
    return _declaring(_zip(_workbook_members()), SHEET, 3 * 1024**3)


QDE = (
    b'<?xml version="1.0" encoding="utf-8"?><Project xmlns="urn:QDA-XML:project:1.0" name="x">'
    b'<Sources><TextSource guid="6f35c6f2-0000-4000-8000-000000000001" name="notes" '
    b'plainTextPath="internal://a.txt"/></Sources></Project>'
)
ELEMENTS = b"Label,Type\nUnemployment,driver\nViolence,concern\n"
CONNECTIONS = b"From,To,Strength\nUnemployment,Violence,2\n"


# ----------------------------------------------------------------------------------------
# 1. Zip bombs: a member that unpacks to a thousand times its size, and a header promising
# gigabytes. Every route that takes a zip weighs it before unpacking anything.

BOMB = "looks like a zip bomb: “{member}” unpacks to far more than its size"


@pytest.mark.parametrize(
    ("route", "name", "make", "expected"),
    [
        (IMPORT_PAGE, "bomb.xlsx", xlsx_bomb, "“bomb.xlsx” " + BOMB.format(member=SHEET)),
        (IMPORT_API, "bomb.xlsx", xlsx_bomb, "“bomb.xlsx” " + BOMB.format(member=SHEET)),
        (XLSFORM_PAGE, "bomb.xlsx", xlsx_bomb, "“bomb.xlsx” " + BOMB.format(member=SHEET)),
        (
            IMPORT_PAGE,
            "huge.xlsx",
            xlsx_declaring_gigabytes,
            "“huge.xlsx” " + BOMB.format(member=SHEET),
        ),
        (
            IMPORT_API,
            "huge.xlsx",
            xlsx_declaring_gigabytes,
            "“huge.xlsx” " + BOMB.format(member=SHEET),
        ),
        (XLSFORM_PAGE, "huge.xlsx", xlsx_declaring_gigabytes, "would unpack to 3.0 GB"),
        *(
            (
                route,
                "bomb.zip",
                lambda: _zip({"submissions.csv": GOOD_CSV, "repeat.csv": ZEROS}),
                "“bomb.zip” " + BOMB.format(member="repeat.csv"),
            )
            for route in IMPORTS
        ),
        (
            NOTES_PAGE,
            "bomb.docx",
            lambda: _zip({"[Content_Types].xml": b"<Types/>", "word/document.xml": ZEROS}),
            "“bomb.docx” " + BOMB.format(member="word/document.xml"),
        ),
        (
            NOTES_PAGE,
            "bomb.odt",
            lambda: _zip(
                {"mimetype": b"application/vnd.oasis.opendocument.text", "content.xml": ZEROS}
            ),
            "“bomb.odt” " + BOMB.format(member="content.xml"),
        ),
        (
            QDPX_PAGE,
            "bomb.qdpx",
            lambda: _zip({"project.qde": QDE, "sources/a.txt": ZEROS}),
            "“bomb.qdpx” " + BOMB.format(member="sources/a.txt"),
        ),
        (
            MAP_PAGE,
            "bomb.zip",
            lambda: _zip({"elements.csv": ZEROS, "connections.csv": CONNECTIONS}),
            "“bomb.zip” " + BOMB.format(member="elements.csv"),
        ),
    ],
    ids=lambda value: str(value) if isinstance(value, Route) else None,
)
def test_zip_bombs_are_refused_before_they_are_unpacked(
    scene: Scene,
    nothing_stored: Callable[[Route], None],
    route: Route,
    name: str,
    make: Callable[[], bytes],
    expected: str,
) -> None:
    assert expected in send(route, scene, name, make())
    nothing_stored(route)


# ----------------------------------------------------------------------------------------
# 2. A program renamed as a document.


@pytest.mark.parametrize(
    ("route", "name", "content", "expected"),
    [
        (NOTES_PAGE, "notes.docx", ELF, "“notes.docx” is not a real Word (.docx) document"),
        (NOTES_PAGE, "notes.docx", PE, "“notes.docx” is not a real Word (.docx) document"),
        (NOTES_PAGE, "notes.odt", ELF, "“notes.odt” is not a real OpenDocument (.odt) document"),
        (NOTES_PAGE, "notes.txt", PE, "“notes.txt” is not a text file"),
        (IMPORT_PAGE, "export.xlsx", ELF, "“export.xlsx” is not a text file"),
        (IMPORT_API, "export.xlsx", PE, "“export.xlsx” is not a text file"),
        (XLSFORM_PAGE, "form.xlsx", ELF, "This is not an XLSForm spreadsheet."),
        (QDPX_PAGE, "project.qdpx", PE, "“project.qdpx” is not a REFI-QDA project (.qdpx)"),
        (MAP_PAGE, "map.zip", ELF, "This is not a zip file."),
    ],
    ids=lambda value: str(value) if isinstance(value, Route) else None,
)
def test_a_program_renamed_as_a_document_is_refused(
    scene: Scene,
    nothing_stored: Callable[[Route], None],
    route: Route,
    name: str,
    content: bytes,
    expected: str,
) -> None:
    text = send(route, scene, name, content)
    assert expected in text
    if route is not XLSFORM_PAGE:  # which takes one file and names none in its messages
        assert name in text
    nothing_stored(route)


# ----------------------------------------------------------------------------------------
# 3. A body of gigabytes: refused before the server reads it. The body is made as it is read
# and counts what was read, so the test sends a header saying 2 GB without 2 GB to send.


class StreamedBody:
    """A request body made as the server reads it (a file of any size without holding it in
    memory), counting how much of it the server read."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._buffer = bytearray()
        self.read_bytes = 0

    def _fill(self, size: int, until: bytes = b"") -> None:
        while size < 0 or len(self._buffer) < size:
            if until and until in self._buffer:
                return
            chunk = next(self._chunks, None)
            if chunk is None:
                return
            self._buffer += chunk

    def _take(self, size: int) -> bytes:
        taken = bytes(self._buffer[:size])
        del self._buffer[:size]
        self.read_bytes += len(taken)
        return taken

    def read(self, size: int = -1) -> bytes:
        self._fill(size)
        return self._take(len(self._buffer) if size < 0 else size)

    def readline(self, size: int = -1) -> bytes:
        self._fill(size, until=b"\n")
        end = self._buffer.find(b"\n") + 1 or len(self._buffer)
        return self._take(end if size < 0 else min(size, end))


BOUNDARY = "hostile-7f3a"


def streamed_post(
    route: Route,
    scene: Scene,
    *,
    name: str,
    size: int,
    chunks: Iterable[bytes],
    declared: int | None = None,
    client: Client | None = None,
) -> tuple[Any, StreamedBody]:
    """POST ``route``'s form with a file of ``size`` bytes made from ``chunks`` as it is
    read; ``declared`` is the Content-Length to claim instead of the true one."""
    head = b"".join(
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode()
        for key, value in route.fields(scene).items()
    )
    head += (
        f"--{BOUNDARY}\r\nContent-Disposition: form-data; "
        f'name="{route.file_field}"; filename="{name}"\r\n'
        "Content-Type: text/csv\r\n\r\n"
    ).encode()
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()
    body = StreamedBody(itertools.chain([head], chunks, [tail]))
    response = (client or scene.client).request(
        REQUEST_METHOD="POST",
        PATH_INFO=route.path(scene),
        CONTENT_TYPE=f"multipart/form-data; boundary={BOUNDARY}",
        CONTENT_LENGTH=str(declared if declared is not None else len(head) + size + len(tail)),
        **{"wsgi.input": body},
    )
    return response, body


def _repeated(byte: bytes, size: int, chunk: int = MIB) -> Iterator[bytes]:
    whole, rest = divmod(size, chunk)
    block = byte * chunk
    for _ in range(whole):
        yield block
    yield byte * rest


TOO_LARGE = "The upload is too large: at most {limit} MB can be sent here. Nothing was stored."


def _refused_unread(response: Any, body: StreamedBody, route: Route, limit_mb: int) -> None:
    assert response.status_code == 413
    assert body.read_bytes == 0, "the body was read before it was refused"
    text = TOO_LARGE.format(limit=limit_mb)
    if route is IMPORT_API:
        assert response.json() == {"detail": text}
    else:
        assert text in html.unescape(response.content.decode())


@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_a_body_of_gigabytes_is_refused_before_it_is_read(
    scene: Scene, nothing_stored: Callable[[Route], None], route: Route
) -> None:
    """Content-Length says 2 GB (or a little more than the route takes, for the imports,
    which take up to 2 GiB); nothing of the body is read, and the answer is 413 with the
    limit."""
    limit = _route_limit(scene, route)
    declared = max(2 * 10**9, limit + 1)
    response, body = streamed_post(
        route, scene, name="huge.csv", size=0, chunks=[], declared=declared, client=scene.browser
    )
    _refused_unread(response, body, route, limit // MIB)
    nothing_stored(replace(route, imports=False))  # not even a failed job


@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_a_body_over_a_lowered_limit_is_refused_unread(
    scene: Scene, nothing_stored: Callable[[Route], None], settings: Any, route: Route
) -> None:
    """The limits are settings: lowered to 1 MB (a route that declares its file limit: 1 MB of
    file and 1 MB for the form around it), a true body 1 MB over is refused without a byte of
    it read."""
    settings.AMNIYAT_MAX_REQUEST_BYTES = MIB
    settings.AMNIYAT_MAX_IMPORT_BYTES = MIB
    settings.AMNIYAT_MAX_QDPX_BYTES = MIB
    settings.AMNIYAT_MAX_UPLOAD_BYTES = MIB
    limit = _route_limit(scene, route)
    assert limit <= 6 * MIB
    response, body = streamed_post(
        route,
        scene,
        name="big.csv",
        size=limit + MIB,
        chunks=_repeated(b"x", limit + MIB),
        client=scene.browser,
    )
    _refused_unread(response, body, route, limit // MIB)
    nothing_stored(replace(route, imports=False))


def _route_limit(scene: Scene, route: Route) -> int:
    """What the route takes, as the middleware reads it from the view the URL resolves to."""
    return request_limit(resolve(route.path(scene)).func)


def test_a_body_within_the_limit_is_read_and_imported(scene: Scene, settings: Any) -> None:
    """The limit refuses only what is over it: the same streamed upload, small, is imported."""
    settings.AMNIYAT_MAX_REQUEST_BYTES = MIB
    response, body = streamed_post(
        IMPORT_PAGE, scene, name="export.csv", size=len(GOOD_CSV), chunks=[GOOD_CSV]
    )
    assert response.status_code == 302 and body.read_bytes > len(GOOD_CSV)
    job = ImportJob.objects.get()
    assert run_import.call(job.pk) == ImportJob.Status.SUCCEEDED


# ----------------------------------------------------------------------------------------
# 4. A CSV of one endless line: 100 MB in one row, refused with its row, never read whole.


@pytest.mark.parametrize("route", IMPORTS, ids=str)
def test_a_row_of_100_mb_is_refused_with_its_row_and_memory_stays_flat(
    scene: Scene, nothing_stored: Callable[[Route], None], settings: Any, route: Route
) -> None:
    settings.AMNIYAT_MAX_UPLOAD_BYTES = 256 * MIB  # the page's own limit would refuse it first
    head = GOOD_CSV + b"Dilnoza;34;;;;vakhsh;;;;;"
    endless = 100 * MIB
    response, body = streamed_post(
        route,
        scene,
        name="endless.csv",
        size=len(head) + endless + 1,
        chunks=itertools.chain([head], _repeated(b"R", endless), [b"\n"]),
    )
    assert response.status_code in (202, 302)
    assert body.read_bytes > endless  # received whole, and recorded for its import:
    assert ImportJob.objects.get().file.size == len(head) + endless + 1
    tracemalloc.start()
    try:
        text = _shown(route, scene, response)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "Row 4 of “endless.csv” is longer than 8.0 MB" in text
    assert peak < 64 * MIB, f"the import held {peak // MIB} MB"
    nothing_stored(route)


# ----------------------------------------------------------------------------------------
# 5. NUL characters and broken UTF-8: refused, naming the file and the line.

NUL_LATE = GOOD_CSV + b"".join(
    KOBO_ROWS[1].replace("uuid:a2", f"uuid:b{n}").encode() + b"\n" for n in range(1000)
)
ROWS = GOOD_CSV.split(b"\n")


@pytest.mark.parametrize("route", IMPORTS, ids=str)
@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        (
            "nul.csv",
            GOOD_CSV.replace(b"Rustam", b"Rus\x00tam"),
            "Line 3 of “nul.csv” holds a NUL character",
        ),
        (
            "nul-late.csv",  # past the first 64 KB, which are looked at first
            NUL_LATE + KOBO_ROWS[1].replace("Rustam", "Rus\x00tam").encode() + b"\n",
            "Line 1004 of “nul-late.csv” holds a NUL character",
        ),
        (
            "nul-utf16.csv",  # the NUL is a character of the text, not a byte of UTF-16
            GOOD_CSV.replace(b"Rustam", b"Rus\x00tam").decode().encode("utf-16"),
            "Line 3 of “nul-utf16.csv” holds a NUL character",
        ),
        (
            "latin.csv",
            GOOD_CSV.replace(b"Rustam", b"Rus\xff\xfe\xfdtam"),
            "Line 3 of “latin.csv” is not UTF-8 text",
        ),
        (
            "mixed.csv",
            GOOD_CSV.replace(b"Dilnoza", "Дилноза".encode()).replace(b"Rustam", b"Rus\xfftam"),
            "“mixed.csv” mixes text encodings: line 2 is UTF-8 but line 3 is not",
        ),
        (
            "bom.csv",
            b"\xef\xbb\xbf" + GOOD_CSV.replace(b"Rustam", b"Rus\xfftam"),
            "“bom.csv” mixes text encodings: line 1 is UTF-8 but line 3 is not",
        ),
    ],
)
def test_nul_characters_and_broken_utf8_are_refused_with_their_line(
    scene: Scene,
    nothing_stored: Callable[[Route], None],
    route: Route,
    name: str,
    content: bytes,
    expected: str,
) -> None:
    assert expected in send(route, scene, name, content)
    nothing_stored(route)


NOTES = "Участник 1: Вечером на улице страшно.\nМолодёжь без работы уезжает.\n"


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("nul.txt", NOTES.encode() + b"Rus\x00tam\n", "Line 3 of “nul.txt” holds a NUL character"),
        (
            "nul-late.txt",
            NOTES.encode() * 1000 + b"Rus\x00tam\n",
            "Line 2001 of “nul-late.txt” holds a NUL character",
        ),
        ("binary.txt", b"\x00\x01\x02" * 100, "“binary.txt” is not a text file"),
        (
            "latin.txt",
            b"Women fear the market.\nRus\xff\xfe\xfdtam\n",
            "Line 2 of “latin.txt” is not UTF-8 text",
        ),
    ],
)
def test_nul_characters_and_broken_utf8_in_notes_are_refused(
    scene: Scene, nothing_stored: Callable[[Route], None], name: str, content: bytes, expected: str
) -> None:
    assert expected in send(NOTES_PAGE, scene, name, content)
    nothing_stored(NOTES_PAGE)


# ----------------------------------------------------------------------------------------
# 6. Archive members whose names climb out of their folder.

UNSAFE = [
    "../submissions.csv",
    "../../../tmp/submissions.csv",
    "/tmp/submissions.csv",  # noqa: S108 - a name inside a zip, never opened
    "..\\submissions.csv",
    "C:/submissions.csv",
]


def _unsafe_cases() -> Iterator[Any]:
    for member in UNSAFE:
        for route in IMPORTS:
            yield pytest.param(route, "odk.zip", {member: GOOD_CSV}, member, id=f"{route}-{member}")
        yield pytest.param(
            QDPX_PAGE,
            "project.qdpx",
            {"project.qde": QDE, "sources/a.txt": b"Women fear.", member: b"x"},
            member,
            id=f"qdpx page-{member}",
        )
        yield pytest.param(
            MAP_PAGE,
            "map.zip",
            {member.replace("submissions", "elements"): ELEMENTS, "connections.csv": CONNECTIONS},
            member.replace("submissions", "elements"),
            id=f"map page-{member}",
        )


@pytest.mark.parametrize(("route", "name", "members", "member"), list(_unsafe_cases()))
def test_archive_members_with_unsafe_paths_are_refused(
    scene: Scene,
    sandbox: Sandbox,
    nothing_stored: Callable[[Route], None],
    route: Route,
    name: str,
    members: dict[str, bytes],
    member: str,
) -> None:
    """Each archive is otherwise good: without the check its rows or factors would be stored."""
    text = send(route, scene, name, _zip(members))
    assert f"“{name}” holds a file with an unsafe path: “{member}”." in text
    nothing_stored(route)
    names = ("submissions.csv", "elements.csv")
    assert [p for p in sandbox.root.rglob("*") if p.name in names] == []


def _views() -> list[tuple[str, Any]]:
    """Every view the URL resolver knows, with its dotted name."""
    found: list[tuple[str, Any]] = []

    def visit(resolver: URLResolver) -> None:
        for entry in resolver.url_patterns:
            if isinstance(entry, URLResolver):
                visit(entry)
            elif isinstance(entry, URLPattern):
                found.append((entry.lookup_str, entry.callback))

    visit(get_resolver())
    return found


def test_every_route_that_takes_files_declares_its_limit() -> None:
    """A view that reads uploaded files declares how large they may be (``upload_limit``),
    so the middleware refuses a larger request before reading it; the resolver is walked, so
    a new upload route cannot forget."""
    reads_files = re.compile(r"request\.FILES|FileField|MultiPartParser")
    forgot = []
    for name, view in _views():
        if name.startswith(("django.", "rest_framework.", "drf_spectacular.")):
            continue
        target = getattr(view, "cls", None) or inspect.unwrap(view)
        try:
            source = inspect.getsource(target)
        except (OSError, TypeError):
            continue
        declared = getattr(view, "max_file_bytes", None) or getattr(
            getattr(view, "cls", None), "max_file_bytes", None
        )
        if reads_files.search(source) and declared is None:
            forgot.append(name)
    assert forgot == []
