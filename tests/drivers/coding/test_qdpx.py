"""REFI-QDA project exchange (.qdpx): an Amniyat export imports back with identical codes
(all four names, the tree) and excerpts; files shaped as QualCoder, NVivo and ATLAS.ti write
them import with their codings in the right place; bad files are refused with a message and
store nothing."""

# The hand-written project files below keep the long lines other programs write.
# ruff: noqa: E501

from __future__ import annotations

import io
import uuid
import zipfile
from pathlib import Path

import pytest
from defusedxml.ElementTree import fromstring
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from amniyat.accounts.models import Membership, Programme, User
from amniyat.audit.models import AuditEvent
from amniyat.core import fields as encrypted_fields
from amniyat.demo.build import INDICATORS_FILE
from amniyat.downloads.models import Download
from amniyat.downloads.services import download_run
from amniyat.drivers.codebook import services as codebook
from amniyat.drivers.coding import qdpx
from amniyat.drivers.coding.services import source_create
from amniyat.drivers.models import Code, Excerpt, Source
from amniyat.fieldwork.models import Assessment
from amniyat.findings import services as findings_services
from tests.factories import OrganisationFactory, ProgrammeFactory, member_of

Role = Membership.Role
NS = "urn:QDA-XML:project:1.0"
TEXT_TG = (
    "Ҷавонон кор надоранд ва ба хориҷа мераванд.\n\nМилитсия ба шикоятҳои занон гӯш намедиҳад."
)
TEXT_EN = "Young men have no work. Some were recruited online.\nWomen fear the market at night."


def _with_indicators(programme: Programme) -> Programme:
    findings_services.indicator_set_save(
        acting_user=None, programme=programme, spec=INDICATORS_FILE.read_text(encoding="utf-8")
    )
    return programme


@pytest.fixture
def programme(db: None) -> Programme:
    return _with_indicators(ProgrammeFactory())


@pytest.fixture
def lead(programme: Programme) -> User:
    return member_of(programme, Role.LEAD, username="dilnoza")


def _assessment(programme: Programme) -> Assessment:
    return Assessment.objects.get_or_create(programme=programme, title="Assessment 2021")[0]


def _source(
    programme: Programme, assessment: Assessment, title: str, text: str, **kw: object
) -> Source:
    return source_create(
        user=None,
        programme=programme,
        assessment=assessment,
        title=title,
        kind=Source.Kind.FOCUS_GROUP,
        language="tg" if "ҷ" in text else "en",
        text=text,
        participants=12,
        women=12,
        **kw,  # type: ignore[arg-type]
    )


def _code_state(programme: Programme) -> list[tuple[object, ...]]:
    return sorted(
        (
            code.key,
            code.kind,
            code.parent.key if code.parent else None,
            tuple(code.names().values()),
            code.description_en,
            code.description_ru,
            code.description_tg,
            code.description_uz,
            tuple(code.indicator_keys),
        )
        for code in Code.objects.filter(programme=programme).select_related("parent")
    )


def _excerpt_state(programme: Programme) -> list[tuple[object, ...]]:
    return sorted(
        (e.source.title, e.source.text, e.start, e.end, e.code.key, e.coder.username, e.memo)
        for e in Excerpt.objects.filter(source__programme=programme).select_related(
            "source", "code", "coder"
        )
    )


def _counts() -> tuple[int, int, int]:
    return Code.objects.count(), Source.objects.count(), Excerpt.objects.count()


def _qdpx(project_xml: str, files: dict[str, bytes] | None = None) -> io.BytesIO:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("project.qde", project_xml.encode("utf-8"))
        for name, content in (files or {}).items():
            archive.writestr(name, content)
    buffer.seek(0)
    return buffer


def _import(programme: Programme, user: User, data: io.BytesIO, **kwargs: object) -> qdpx.Imported:
    return qdpx.qdpx_import(
        user=user,
        programme=programme,
        assessment=_assessment(programme),
        data=data,
        file_name="project.qdpx",
        **kwargs,  # type: ignore[arg-type]
    )


# Round trip -------------------------------------------------------------------------------


def test_an_export_imports_back_with_identical_codes_and_excerpts(
    programme: Programme, lead: User
) -> None:
    codebook.codebook_seed(programme=programme)
    analyst = member_of(programme, Role.ANALYST, username="farrukh")
    unemployment = Code.objects.get(programme=programme, key="youth_unemployment")
    police = Code.objects.get(programme=programme, key="police_mistrust")
    extra = codebook.code_create(
        user=None,
        programme=programme,
        name_en="Online recruitment",
        name_ru="Вербовка через интернет",
        parent=Code.objects.get(programme=programme, key="recruitment_violent_groups"),
        kind=Code.Kind.CONCERN,
    )
    assessment = _assessment(programme)
    tajik = _source(programme, assessment, "Фокус-гурӯҳ, занон, Вахш", TEXT_TG)
    english = _source(programme, assessment, "Interview, youth worker", TEXT_EN)
    Excerpt.objects.create(
        source=tajik, code=unemployment, coder=lead, start=0, end=43, memo="Ҳама ҷавонон"
    )
    Excerpt.objects.create(source=tajik, code=police, coder=analyst, start=45, end=len(TEXT_TG))
    Excerpt.objects.create(source=tajik, code=police, coder=lead, start=45, end=len(TEXT_TG))
    Excerpt.objects.create(source=english, code=extra, coder=lead, start=24, end=51)
    Excerpt.objects.create(source=english, code=unemployment, coder=lead, start=0, end=23)

    exported = qdpx.qdpx_export(user=lead, programme=programme)
    assert (exported.codes, exported.sources, exported.excerpts) == (
        len(codebook.seed_entries()) + 1,
        2,
        5,
    )

    target = _with_indicators(ProgrammeFactory())
    importer = member_of(target, Role.LEAD, username="importer")
    # A member of the same name, who may code here, keeps their excerpts.
    member_of(target, Role.ANALYST, username="farrukh")
    report = _import(target, importer, io.BytesIO(exported.content))
    assert (report.codes_created, report.codes_matched, report.sources, report.excerpts) == (
        len(codebook.seed_entries()) + 1,
        0,
        2,
        5,
    )
    assert _code_state(target) == _code_state(programme)
    coders = {"dilnoza": "importer", "farrukh": "farrukh"}
    expected = sorted((*row[:5], coders[str(row[5])], row[6]) for row in _excerpt_state(programme))
    assert _excerpt_state(target) == expected
    imported = Source.objects.get(programme=target, title="Фокус-гурӯҳ, занон, Вахш")
    assert (imported.kind, imported.language, imported.participants, imported.women) == (
        "focus_group",
        "tg",
        12,
        12,
    )
    assert set(
        Excerpt.objects.filter(source__programme=target).values_list("origin", flat=True)
    ) == {"imported"}
    # Importing the same file again matches every code by key and adds no code.
    again = _import(target, importer, io.BytesIO(exported.content))
    assert (again.codes_created, again.codes_matched) == (0, len(codebook.seed_entries()) + 1)


def test_the_export_is_valid_refi_qda(programme: Programme, lead: User) -> None:
    codebook.codebook_seed(programme=programme)
    source = _source(programme, _assessment(programme), "Notes", TEXT_EN)
    theft = Code.objects.get(programme=programme, key="theft")
    Excerpt.objects.create(source=source, code=theft, coder=lead, start=0, end=10)
    exported = qdpx.qdpx_export(user=lead, programme=programme)
    with zipfile.ZipFile(io.BytesIO(exported.content)) as archive:
        names = archive.namelist()
        root = fromstring(archive.read("project.qde"))
        assert root.tag == f"{{{NS}}}Project"
        # Project.xsd's order of children.
        assert [child.tag.split("}")[1] for child in root] == [
            "Users",
            "CodeBook",
            "Sources",
            "Description",
        ]
        text_source = root.find(f"{{{NS}}}Sources/{{{NS}}}TextSource")
        assert text_source is not None
        path = text_source.get("plainTextPath")
        assert path is not None and path.startswith("internal://")
        member = f"sources/{path.removeprefix('internal://')}"
        assert member in names
        assert archive.read(member).decode("utf-8") == TEXT_EN  # no byte-order mark
        selection = text_source.find(f"{{{NS}}}PlainTextSelection")
        assert selection is not None
        assert (selection.get("startPosition"), selection.get("endPosition")) == ("0", "10")
        top = root.find(f"{{{NS}}}CodeBook/{{{NS}}}Codes/{{{NS}}}Code")
        assert top is not None and top.get("isCodable") == "true"
        assert top[0].tag == f"{{{NS}}}Description"  # before the sub-codes


def test_the_export_holds_only_sources_the_user_may_read_and_is_audited(
    programme: Programme, lead: User
) -> None:
    partner = OrganisationFactory()
    facilitator = member_of(programme, Role.FACILITATOR, organisation=partner)
    assessment = _assessment(programme)
    own = _source(programme, assessment, "Partner's notes", TEXT_EN, organisation=partner)
    _source(programme, assessment, "Lead's notes", TEXT_EN)
    exported = qdpx.qdpx_export(user=facilitator, programme=programme)
    assert exported.sources == 1
    with zipfile.ZipFile(io.BytesIO(exported.content)) as archive:
        xml = archive.read("project.qde").decode("utf-8")
    assert "Partner's notes" in xml and "Lead's notes" not in xml
    viewed = AuditEvent.objects.filter(actor=facilitator, verb="source.view_text")
    assert list(viewed.values_list("object_id", flat=True)) == [str(own.pk)]
    assert AuditEvent.objects.filter(actor=facilitator, verb=qdpx.EXPORT_VERB).exists()


def _export_reads(programme: Programme, lead: User) -> tuple[int, int]:
    """The queries an export makes and the texts it decrypts."""
    decrypted: list[str] = []

    def counting(value: str) -> str:
        decrypted.append(value)
        return original(value)

    original = encrypted_fields.decrypt_text
    with CaptureQueriesContext(connection) as queries, pytest.MonkeyPatch.context() as patch:
        patch.setattr(encrypted_fields, "decrypt_text", counting)
        qdpx.qdpx_export(user=lead, programme=programme)
    return len(queries), len(decrypted)


def test_an_export_reads_each_source_once_however_many_excerpts(
    programme: Programme, lead: User
) -> None:
    """Each source's text is decrypted once, with the source, and the excerpts come in one
    query without their source, code and coder: 3 excerpts or 30 make the same reads."""
    codebook.codebook_seed(programme=programme)
    codes = list(Code.objects.filter(programme=programme).order_by("pk")[:10])
    assessment = _assessment(programme)
    sources = [_source(programme, assessment, f"Notes {n}", TEXT_EN) for n in range(3)]
    for source in sources:
        Excerpt.objects.create(source=source, code=codes[0], coder=lead, start=0, end=10)
    _export_reads(programme, lead)  # what is read once per process (memberships) is read
    few = _export_reads(programme, lead)
    coders = [lead, *(member_of(programme, Role.ANALYST) for _ in range(2))]
    for source in sources:
        for n, code in enumerate(codes[1:], start=1):
            Excerpt.objects.create(
                source=source, code=code, coder=coders[n % 3], start=n, end=n + 10
            )
    assert Excerpt.objects.filter(source__programme=programme).count() == 30
    many = _export_reads(programme, lead)
    assert many == few
    assert few[1] == len(sources)


def test_guids_are_uuid5_of_kind_and_id() -> None:
    for kind, pk in (("code", 1), ("excerpt", 123456), ("user", "7"), ("source", 0)):
        assert qdpx._guid(kind, pk) == str(uuid.uuid5(qdpx.GUID_NAMESPACE, f"{kind}:{pk}"))


def test_export_and_import_pages(programme: Programme, lead: User) -> None:
    codebook.codebook_seed(programme=programme)
    client = Client()
    client.force_login(lead)
    # The project is prepared in the background (tests/downloads), then downloaded.
    asked = client.post(reverse("drivers:qdpx_export", args=[programme.slug]))
    download = Download.objects.get()
    assert asked["Location"] == reverse("downloads:detail", args=[programme.slug, download.pk])
    download_run(download.pk)
    response = client.get(reverse("downloads:file", args=[programme.slug, download.pk]))
    assert response.status_code == 200
    assert response["Content-Disposition"].endswith('.qdpx"')
    content = b"".join(response.streaming_content)
    viewer = member_of(programme, Role.VIEWER)
    other = Client()
    other.force_login(viewer)
    assert other.post(reverse("drivers:qdpx_export", args=[programme.slug])).status_code == 404
    assert other.get(reverse("drivers:qdpx_import", args=[programme.slug])).status_code == 404
    facilitator = member_of(programme, Role.FACILITATOR, organisation=OrganisationFactory())
    other.force_login(facilitator)
    assert other.get(reverse("drivers:qdpx_import", args=[programme.slug])).status_code == 404

    target = _with_indicators(ProgrammeFactory())
    importer = member_of(target, Role.LEAD)
    assessment = _assessment(target)
    client.force_login(importer)
    url = reverse("drivers:qdpx_import", args=[target.slug])
    assert client.get(url).status_code == 200
    upload = io.BytesIO(content)
    upload.name = "export.qdpx"
    response = client.post(url, {"file": upload, "assessment": assessment.pk}, follow=True)
    assert f"{len(codebook.seed_entries())} codes added" in response.content.decode()
    assert Code.objects.filter(programme=target).count() == len(codebook.seed_entries())
    broken = io.BytesIO(b"not a zip at all")
    broken.name = "broken.qdpx"
    response = client.post(url, {"file": broken, "assessment": assessment.pk})
    assert response.status_code == 200
    assert "“broken.qdpx” is not a REFI-QDA project (.qdpx): it is not a zip archive." in (
        response.content.decode().replace("&ldquo;", "“").replace("&rdquo;", "”")
    )


# Files from other programs ----------------------------------------------------------------

QUALCODER_XML = """<?xml version="1.0" encoding="utf-8"?>
<Project xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns="urn:QDA-XML:project:1.0"
  name="jizzakh.qda" origin="QualCoder 3.5" creatingUserGUID="5c94bc9e-db8c-4f1d-9cd6-e900c7440860">
<Users>
<User guid="5c94bc9e-db8c-4f1d-9cd6-e900c7440860" name="dilnoza" />
<User guid="0b1e2a6d-3f2c-4c57-9d0e-5a9e3f1c2b7a" name="someone_else" />
</Users>
<CodeBook><Codes>
<Code guid="a3825924-8bf7-47c1-a51b-be9196147a56" name="Drivers" isCodable="false" color="#F5A9A9">
<Description>Grouping</Description>
<Code guid="2dfba8c9-59f5-4424-99d6-ea9bce18134b" name="Unemployment" isCodable="true" color="#F5A9A9"><Description /></Code>
<Code guid="76414714-63c4-4a25-a47e-66fef80bd52e" name="Police abuse" isCodable="true"><Description>Detention and extortion</Description></Code>
</Code>
</Codes></CodeBook>
<Sources>
<TextSource guid="a2b94468-80a5-412f-92d6-e900d97b55a6" name="FGD women Jizzakh"
  plainTextPath="internal://a2b94468-80a5-412f-92d6-e900d97b55a6.txt"
  creatingUser="5c94bc9e-db8c-4f1d-9cd6-e900c7440860" creationDateTime="2021-04-15T05:25:16Z">
<Description />
<PlainTextSelection guid="08cbced0-d736-44c8-8fd6-eb4d29fe46c5" name="" startPosition="0" endPosition="29"
  creatingUser="5c94bc9e-db8c-4f1d-9cd6-e900c7440860" creationDateTime="2021-04-15T05:30:00Z">
<Description>Said by most</Description>
<Coding guid="76414714-63c4-4a25-a47e-66fef80bd52f" creatingUser="5c94bc9e-db8c-4f1d-9cd6-e900c7440860">
<CodeRef targetGUID="2dfba8c9-59f5-4424-99d6-ea9bce18134b" />
</Coding>
</PlainTextSelection>
<PlainTextSelection guid="18cbced0-d736-44c8-8fd6-eb4d29fe46c5" name="" startPosition="31" endPosition="65"
  creatingUser="0b1e2a6d-3f2c-4c57-9d0e-5a9e3f1c2b7a">
<Coding guid="86414714-63c4-4a25-a47e-66fef80bd52f"><CodeRef targetGUID="76414714-63c4-4a25-a47e-66fef80bd52e" /></Coding>
</PlainTextSelection>
</TextSource>
<PictureSource guid="04980e59-b290-4481-8cb6-e732824440a1" name="map.png" path="internal://04980e59-b290-4481-8cb6-e732824440a1.png" />
</Sources>
</Project>
"""
QUALCODER_TEXT = "Yoshlarning ishi yo'q, ko'pi.\n\nMilitsiya pul so'raydi, qo'rqitadi ham."


def test_a_qualcoder_project_imports_with_its_tree_users_and_codings(
    programme: Programme, lead: User
) -> None:
    data = _qdpx(
        QUALCODER_XML,
        # QualCoder writes the plain text with a byte-order mark.
        {
            "sources/a2b94468-80a5-412f-92d6-e900d97b55a6.txt": QUALCODER_TEXT.encode("utf-8-sig"),
            "sources/04980e59-b290-4481-8cb6-e732824440a1.png": b"\x89PNG",
        },
    )
    importer = member_of(programme, Role.ANALYST, username="importer")
    report = _import(programme, importer, data)
    assert (report.sources, report.excerpts, report.codes_created, report.skipped_sources) == (
        1,
        2,
        3,
        1,
    )
    drivers = Code.objects.get(programme=programme, name_en="Drivers")
    assert drivers.kind == Code.Kind.THEME
    police = Code.objects.get(programme=programme, name_en="Police abuse")
    assert police.parent == drivers and police.description_en == "Detention and extortion"
    source = Source.objects.get(programme=programme)
    assert source.language == "uz" and source.kind == "interview"
    coded = {
        (e.code.name_en, source.text[e.start : e.end], e.coder.username, e.memo)
        for e in Excerpt.objects.filter(source=source)
    }
    assert coded == {
        ("Unemployment", "Yoshlarning ishi yo'q, ko'pi.", "dilnoza", "Said by most"),
        ("Police abuse", "Militsiya pul so'raydi, qo'rqitadi", "importer", ""),
    }


def test_codes_are_matched_by_name_to_the_codebook(programme: Programme, lead: User) -> None:
    codebook.codebook_seed(programme=programme)
    before = Code.objects.filter(programme=programme).count()
    data = _qdpx(
        QUALCODER_XML,
        {"sources/a2b94468-80a5-412f-92d6-e900d97b55a6.txt": QUALCODER_TEXT.encode("utf-8")},
    )
    report = _import(programme, lead, data)
    # "Unemployment" is the seeded code; "Drivers" and "Police abuse" are new.
    assert (report.codes_matched, report.codes_created) == (1, 2)
    assert Code.objects.filter(programme=programme).count() == before + 2
    seeded = Code.objects.get(programme=programme, key="unemployment")
    assert seeded.excerpts.count() == 1


NVIVO_XML = """<?xml version="1.0" encoding="utf-8"?>
<Project name="Vakhsh" origin="NVivo 14" xmlns="urn:QDA-XML:project:1.0">
<CodeBook><Codes>
<Code guid="{0C8F6A43-5B9B-4F1D-9E33-3C6C1C3D3A10}" name="Харассмент" isCodable="true" />
</Codes></CodeBook>
<Sources>
<TextSource guid="{6F35C6F2-BD8F-4F08-AD49-6D62CB8442A5}" name="Interview 3" plainTextPath="internal://6F35C6F2.txt">
<PlainTextSelection guid="{95916796-D0A0-4B49-80B0-5A5C8B94AE13}" startPosition="{start}" endPosition="{end}">
<Coding guid="{5C931701-6CD4-4A2B-A553-F1DDE2EAC46D}"><CodeRef targetGUID="{0C8F6A43-5B9B-4F1D-9E33-3C6C1C3D3A10}"/></Coding>
</PlainTextSelection>
</TextSource>
</Sources>
</Project>
"""
WINDOWS_TEXT = "Первая строка.\r\nНа рынке к девушкам пристают.\r\nКонец."


@pytest.mark.parametrize(
    ("origin", "start", "end"),
    [
        ("NVivo 14", 16, 45),  # \r\n counts as two characters, as written in the file
        ("ATLAS.ti 23", 15, 44),  # ATLAS.ti counts \r\n as one
    ],
)
def test_windows_line_ends_keep_codings_on_their_words(
    programme: Programme, lead: User, origin: str, start: int, end: int
) -> None:
    xml = NVIVO_XML.replace('origin="NVivo 14"', f'origin="{origin}"')
    xml = xml.replace("{start}", str(start)).replace("{end}", str(end))
    data = _qdpx(xml, {"Sources/6F35C6F2.txt": WINDOWS_TEXT.encode("utf-8")})
    _import(programme, lead, data, language="ru")
    excerpt = Excerpt.objects.get(source__programme=programme)
    assert excerpt.source.text == "Первая строка.\nНа рынке к девушкам пристают.\nКонец."
    assert excerpt.source.text[excerpt.start : excerpt.end] == "На рынке к девушкам пристают."


def test_inline_text_is_read(programme: Programme, lead: User) -> None:
    xml = (
        NVIVO_XML.replace(
            'plainTextPath="internal://6F35C6F2.txt">',
            "><PlainTextContent>Women fear the market.</PlainTextContent>",
        )
        .replace("{start}", "6")
        .replace("{end}", "22")
    )
    _import(programme, lead, _qdpx(xml))
    excerpt = Excerpt.objects.get(source__programme=programme)
    assert excerpt.source.text[excerpt.start : excerpt.end] == "fear the market."


# Bad files --------------------------------------------------------------------------------


def _nvivo(start: int = 0, end: int = 5, text: bytes = b"Women fear the market.") -> io.BytesIO:
    xml = NVIVO_XML.replace("{start}", str(start)).replace("{end}", str(end))
    return _qdpx(xml, {"sources/6F35C6F2.txt": text})


def _zip(files: dict[str, bytes]) -> io.BytesIO:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    buffer.seek(0)
    return buffer


BOMB_XML = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<Project xmlns="urn:QDA-XML:project:1.0" name="x">&lol2;</Project>"""


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: io.BytesIO(b"PK but not really"), "it is not a zip archive"),
        (lambda: _zip({"readme.txt": b"hello"}), "it holds no project.qde"),
        (lambda: _zip({"project.qde": b"<Project><Users>"}), "is not valid XML (line 1"),
        (lambda: _zip({"project.qde": BOMB_XML.encode()}), "refused for safety"),
        (
            lambda: _zip({"project.qde": b'<Project xmlns="urn:other" name="x"/>'}),
            "is not a REFI-QDA project",
        ),
        (lambda: _nvivo(10, 99), "lies outside its text, which has 22 characters"),
        (lambda: _nvivo(5, 5), "lies outside its text"),
        (
            lambda: _qdpx(
                NVIVO_XML.replace("{start}", "0")
                .replace("{end}", "5")
                .replace('targetGUID="{0C8F', 'targetGUID="{1C8F'),
                {"sources/6F35C6F2.txt": b"Women fear the market."},
            ),
            "refers to a code that is not in the codebook",
        ),
        (
            lambda: _qdpx(
                NVIVO_XML.replace("{start}", "0")
                .replace("{end}", "5")
                .replace("internal://6F35C6F2.txt", "internal://../../etc/passwd")
            ),
            "has an unsafe path",
        ),
        (
            lambda: _qdpx(
                NVIVO_XML.replace("{start}", "0").replace("{end}", "5"),
                {"../evil.txt": b"x"},
            ),
            "holds a file with an unsafe path",
        ),
        (
            lambda: _qdpx(NVIVO_XML.replace("{start}", "0").replace("{end}", "5")),
            "is missing from the archive",
        ),
        (
            lambda: _qdpx(
                NVIVO_XML.replace("{start}", "0").replace("{end}", "5"),
                {"sources/6F35C6F2.txt": b"\xff\x00 not text \xc3"},
            ),
            "is not in UTF-8",
        ),
        (lambda: _nvivo(text=b"\0" * (3 * 1024 * 1024)), "looks like a zip bomb"),
        (
            lambda: _qdpx(
                NVIVO_XML.replace('startPosition="{start}"', 'startPosition="one"').replace(
                    "{end}", "5"
                ),
                {"sources/6F35C6F2.txt": b"Women fear the market."},
            ),
            "has no whole number in startPosition",
        ),
    ],
)
def test_bad_files_are_refused_and_store_nothing(
    programme: Programme, lead: User, make: object, message: str
) -> None:
    codebook.codebook_seed(programme=programme)
    before = _counts()
    with pytest.raises(ValidationError) as error:
        _import(programme, lead, make())  # type: ignore[operator]
    assert message in " ".join(error.value.messages)
    assert _counts() == before


def test_a_failure_late_in_the_file_undoes_everything(programme: Programme, lead: User) -> None:
    """The second source cannot be stored (no words in it): nothing of the first stays."""
    xml = QUALCODER_XML.replace(
        "</Sources>",
        '<TextSource guid="b2b94468-80a5-412f-92d6-e900d97b55a6" name="Empty">'
        "<PlainTextContent>   </PlainTextContent></TextSource></Sources>",
    )
    data = _qdpx(xml, {"sources/a2b94468-80a5-412f-92d6-e900d97b55a6.txt": QUALCODER_TEXT.encode()})
    before = _counts()
    with pytest.raises(ValidationError) as error:
        _import(programme, lead, data)
    assert "the source “Empty” cannot be stored" in " ".join(error.value.messages)
    assert _counts() == before


# The command ------------------------------------------------------------------------------


def test_command_exports_and_imports(programme: Programme, lead: User, tmp_path: Path) -> None:
    codebook.codebook_seed(programme=programme)
    _source(programme, _assessment(programme), "Notes", TEXT_EN)
    out = tmp_path / "out.qdpx"
    call_command("qdpx", "export", str(out), "--programme", programme.slug, "--user", "dilnoza")
    assert zipfile.is_zipfile(out)
    target = _with_indicators(ProgrammeFactory())
    member_of(target, Role.LEAD, username="importer")
    assessment = _assessment(target)
    call_command(
        "qdpx",
        "import",
        str(out),
        "--programme",
        target.slug,
        "--assessment",
        str(assessment.pk),
        "--user",
        "importer",
    )
    assert Source.objects.filter(programme=target, title="Notes").exists()
    bad = tmp_path / "bad.qdpx"
    bad.write_bytes(b"nonsense")
    with pytest.raises(CommandError) as error:
        call_command(
            "qdpx",
            "import",
            str(bad),
            "--programme",
            target.slug,
            "--assessment",
            str(assessment.pk),
            "--user",
            "importer",
        )
    assert error.value.returncode == 2 and "not a zip archive" in str(error.value)
    with pytest.raises(CommandError) as error:
        call_command("qdpx", "export", str(out), "--programme", "nope", "--user", "importer")
    assert error.value.returncode == 2
