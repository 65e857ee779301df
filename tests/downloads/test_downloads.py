"""Files prepared in the background (amniyat.downloads), through the first kind that uses
them, the REFI-QDA project of the codebook page: asking writes nothing but the request and
queues a task; the file is written with what its requester may see when it is written,
encrypted at rest; only they may follow and download it, while they may still see what it
holds; opening it is audited as reading those discussions; it expires and is cleared."""

from __future__ import annotations

import datetime
import io
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from django_tasks_db.models import DBTaskResult

from amniyat.accounts.models import Membership, Programme, User
from amniyat.audit.models import AuditEvent
from amniyat.core import encrypted_files
from amniyat.downloads import kinds, services
from amniyat.downloads.models import Download
from amniyat.drivers.codebook import services as codebook
from amniyat.drivers.coding import qdpx
from amniyat.drivers.coding.services import source_create
from amniyat.drivers.models import Code, Excerpt, Source
from amniyat.fieldwork.models import Assessment
from tests.factories import OrganisationFactory, ProgrammeFactory, member_of

Role = Membership.Role
SECRET = "Милитсия ба шикоятҳои занон гӯш намедиҳад."


@pytest.fixture
def scene(db: None) -> dict[str, Any]:
    programme = ProgrammeFactory()
    codebook.codebook_seed(programme=programme)
    analyst = member_of(programme, Role.ANALYST, username="nigora")
    assessment = Assessment.objects.create(programme=programme, title="Assessment 2021")
    sources = [
        source_create(
            user=None,
            programme=programme,
            assessment=assessment,
            title=f"Women's group {n}",
            kind=Source.Kind.FOCUS_GROUP,
            language="tg",
            text=f"{SECRET} {n}",
            participants=10,
            women=10,
        )
        for n in range(3)
    ]
    code = Code.objects.filter(programme=programme).first()
    assert code is not None
    for source in sources:
        Excerpt.objects.create(source=source, code=code, coder=analyst, start=0, end=8)
    return {"programme": programme, "analyst": analyst, "sources": sources}


def _client(user: User, language: str = "en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


def _ask(client: Client, programme: Programme) -> Download:
    response = client.post(reverse("drivers:qdpx_export", args=[programme.slug]))
    download = Download.objects.latest("pk")
    assert response.status_code == 302
    assert response["Location"] == reverse("downloads:detail", args=[programme.slug, download.pk])
    return download


def _file(client: Client, download: Download) -> bytes:
    response = client.get(reverse("downloads:file", args=[download.programme.slug, download.pk]))
    assert response.status_code == 200
    return b"".join(response.streaming_content)


def test_asking_queues_a_task_and_writes_no_file(
    scene: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    programme, analyst = scene["programme"], scene["analyst"]
    client = _client(analyst, "tg")
    with translation.override("tg"), django_capture_on_commit_callbacks(execute=True):
        download = _ask(client, programme)
    assert download.status == Download.Status.QUEUED and not download.file
    assert download.language == "tg" and download.kind == "qdpx"
    queued = DBTaskResult.objects.filter(task_path="amniyat.downloads.tasks.prepare_download")
    assert list(queued.values_list("args_kwargs", flat=True)) == [
        {"args": [download.pk], "kwargs": {}}
    ]
    page = client.get(reverse("downloads:detail", args=[programme.slug, download.pk]))
    assert page.status_code == 200
    assert 'hx-trigger="every 1s"' in page.content.decode()  # polls until it is written
    assert not AuditEvent.objects.filter(verb=AuditEvent.Verb.VIEWED_TEXT).exists()
    # Asking is itself a request: GET does nothing.
    assert client.get(reverse("drivers:qdpx_export", args=[programme.slug])).status_code == 405


def test_the_file_is_the_project_encrypted_at_rest_and_opening_it_is_audited(
    scene: dict[str, Any],
) -> None:
    programme, analyst, sources = scene["programme"], scene["analyst"], scene["sources"]
    client = _client(analyst)
    download = _ask(client, programme)
    services.download_run(download.pk)
    download.refresh_from_db()
    assert download.status == Download.Status.SUCCEEDED
    assert download.done == download.total == 3  # sources written
    assert download.file_name.endswith(".qdpx") and download.content_type == "application/zip"
    stored = Path(download.file.path).read_bytes()
    assert stored.startswith(encrypted_files.MAGIC)
    assert SECRET.encode() not in stored and b"PK" not in stored[:2]
    # Nothing read yet: writing the file is not reading it.
    assert not AuditEvent.objects.filter(verb=AuditEvent.Verb.VIEWED_TEXT).exists()
    page = client.get(reverse("downloads:progress", args=[programme.slug, download.pk]))
    shown = page.content.decode()
    assert "every 1s" not in shown  # the polling stops
    assert "It holds 33 codes, 3 sources and 3 excerpts." in shown.replace("\n", " ")

    content = _file(client, download)
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        texts = [archive.read(name).decode() for name in archive.namelist() if "sources/" in name]
    assert sorted(texts) == sorted(source.text for source in sources)
    read = AuditEvent.objects.filter(verb=AuditEvent.Verb.VIEWED_TEXT, actor=analyst)
    assert sorted(read.values_list("object_id", flat=True)) == sorted(
        str(source.pk) for source in sources
    )
    exported = AuditEvent.objects.filter(verb=AuditEvent.Verb.EXPORTED, actor=analyst)
    assert exported.count() == 2  # the project's export, and the download as such
    # Each opening is a reading.
    _file(client, download)
    assert read.count() == 6


def test_the_file_holds_what_the_requester_may_see_when_it_is_written(
    scene: dict[str, Any],
) -> None:
    programme, analyst, sources = scene["programme"], scene["analyst"], scene["sources"]
    partner = OrganisationFactory()
    facilitator = member_of(programme, Role.FACILITATOR, organisation=partner)
    Source.objects.filter(pk=sources[0].pk).update(organisation=partner)
    Source.objects.filter(pk__in=[s.pk for s in sources[1:]]).update(
        organisation=OrganisationFactory()
    )
    client = _client(facilitator)
    download = _ask(client, programme)
    # Given the partner's second discussion after asking: the file has it.
    Source.objects.filter(pk=sources[1].pk).update(organisation=partner)
    services.download_run(download.pk)
    with zipfile.ZipFile(io.BytesIO(_file(client, download))) as archive:
        names = [name for name in archive.namelist() if name.startswith("sources/")]
    assert len(names) == 2
    download.refresh_from_db()
    assert sorted(download.summary["sources"]) == sorted([sources[0].pk, sources[1].pk])
    del analyst


def test_only_the_requester_follows_and_downloads_it(scene: dict[str, Any]) -> None:
    programme, analyst = scene["programme"], scene["analyst"]
    download = _ask(_client(analyst), programme)
    services.download_run(download.pk)
    lead = member_of(programme, Role.LEAD)
    elsewhere = member_of(ProgrammeFactory(), Role.LEAD)
    for other in (lead, elsewhere):
        client = _client(other)
        for name in ("downloads:detail", "downloads:progress", "downloads:file"):
            assert client.get(reverse(name, args=[programme.slug, download.pk])).status_code == 404
    signed_out = Client().get(reverse("downloads:file", args=[programme.slug, download.pk]))
    assert signed_out.status_code == 302
    assert not AuditEvent.objects.filter(verb=AuditEvent.Verb.VIEWED_TEXT).exists()


def test_those_who_may_not_read_the_codebook_cannot_ask(scene: dict[str, Any]) -> None:
    programme = scene["programme"]
    viewer = member_of(programme, Role.VIEWER)
    response = _client(viewer).post(reverse("drivers:qdpx_export", args=[programme.slug]))
    assert response.status_code == 404
    assert not Download.objects.exists()


def test_a_requester_who_lost_access_gets_no_file(scene: dict[str, Any]) -> None:
    programme, analyst = scene["programme"], scene["analyst"]
    client = _client(analyst)
    written = _ask(client, programme)
    services.download_run(written.pk)
    queued = _ask(client, programme)
    Membership.objects.filter(user=analyst, programme=programme).update(role=Role.VIEWER)
    # Written before: no longer given. Asked before: not written.
    assert (
        client.get(reverse("downloads:file", args=[programme.slug, written.pk])).status_code == 404
    )
    services.download_run(queued.pk)
    queued.refresh_from_db()
    assert queued.status == Download.Status.FAILED and not queued.file
    assert queued.message == "You may no longer see what this file would hold."
    assert not AuditEvent.objects.filter(verb=AuditEvent.Verb.VIEWED_TEXT).exists()


def test_a_failed_file_says_so_in_the_language_it_was_asked_in(
    scene: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    programme, analyst = scene["programme"], scene["analyst"]
    client = _client(analyst, "ru")
    with translation.override("ru"):
        download = _ask(client, programme)

    def broken(*_args: Any, **_kw: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(qdpx, "_codebook_xml", broken)
    services.download_run(download.pk)
    download.refresh_from_db()
    assert download.status == Download.Status.FAILED and not download.file
    assert download.message.startswith("Не удалось")
    page = client.get(reverse("downloads:detail", args=[programme.slug, download.pk]))
    assert download.message in page.content.decode()


def test_files_expire_and_are_cleared(scene: dict[str, Any]) -> None:
    programme, analyst = scene["programme"], scene["analyst"]
    client = _client(analyst)
    download = _ask(client, programme)
    services.download_run(download.pk)
    download.refresh_from_db()
    path = Path(download.file.path)
    assert path.exists()
    later = timezone.now() + datetime.timedelta(hours=25)
    assert services.downloads_expired_clear(later) == 1
    download.refresh_from_db()
    assert download.status == Download.Status.EXPIRED and not download.file
    assert not path.exists()
    page = client.get(reverse("downloads:detail", args=[programme.slug, download.pk]))
    assert "has expired" in page.content.decode()
    assert (
        client.get(reverse("downloads:file", args=[programme.slug, download.pk])).status_code == 404
    )
    # The command that clears expired exports clears downloads too.
    again = _ask(client, programme)
    services.download_run(again.pk)
    Download.objects.filter(pk=again.pk).update(expires_at=timezone.now())
    out = io.StringIO()
    call_command("export", "clean", stdout=out)
    assert "1" in out.getvalue()
    assert Download.objects.get(pk=again.pk).status == Download.Status.EXPIRED


def test_the_codebook_page_lists_the_requesters_own_files(scene: dict[str, Any]) -> None:
    programme, analyst = scene["programme"], scene["analyst"]
    client = _client(analyst)
    download = _ask(client, programme)
    lead = member_of(programme, Role.LEAD)
    mine = client.get(reverse("drivers:codebook", args=[programme.slug])).content.decode()
    detail = reverse("downloads:detail", args=[programme.slug, download.pk])
    assert detail in mine
    theirs = _client(lead).get(reverse("drivers:codebook", args=[programme.slug])).content.decode()
    assert detail not in theirs


def test_an_unknown_kind_is_refused() -> None:
    with pytest.raises(LookupError):
        kinds.kind_of("nothing")
    with pytest.raises(Exception, match="Two kinds"):
        kinds.register(
            kinds.Kind(
                name="qdpx",
                label="x",
                verb="codebook.view",
                write=qdpx.DOWNLOAD.write,
                opened=qdpx.DOWNLOAD.opened,
                describe=qdpx.DOWNLOAD.describe,
                asked_from=qdpx.DOWNLOAD.asked_from,
            )
        )
