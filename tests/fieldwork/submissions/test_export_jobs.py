"""Exports written in the background, a kind of prepared download (amniyat.downloads): the
file holds exactly what the synchronous export held for the same person and filters; only
its requester can follow and download it (404 for everyone else); no GET writes an export;
the progress is saved and shown; the file is encrypted at rest, expires, and every showing of
personal answers is audited."""

from __future__ import annotations

import io
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

import pytest
from cryptography.fernet import Fernet
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from django_tasks_db.models import DBTaskResult

from amniyat.accounts import policies
from amniyat.accounts.models import Membership
from amniyat.audit.models import AuditEvent
from amniyat.core import encrypted_files
from amniyat.downloads import services as download_services
from amniyat.downloads.models import Download
from amniyat.fieldwork.imports.schema import plan_for
from amniyat.fieldwork.models import Assessment, Form, Submission
from amniyat.fieldwork.submissions import exporters, services
from amniyat.fieldwork.submissions.selectors import submissions_visible
from tests.factories import ProgrammeFactory, member_of, shipped_place
from tests.fieldwork.imports.test_importers import SCHEMA, make_form
from tests.fieldwork.submissions.exporting import (
    download_url,
    export_url,
    exported,
    request_export,
    run_queued_tasks,
)
from tests.fieldwork.submissions.test_export import TRICKY, imported, repeat_source

Role = Membership.Role
FORMATS = exporters.EXPORT_FORMATS
Status = Download.Status


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def scene(db: None, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """A form with the tricky answers (formulas, Cyrillic, a protected name), three
    submissions in Vakhsh and Kulob with review states; a lead, and a facilitator who works
    in Vakhsh only and may not see personal answers."""
    programme = ProgrammeFactory(slug="tj")
    form = make_form(programme, schema=SCHEMA)
    imported(form, TRICKY.encode(), "tricky.csv")
    vakhsh, kulob = shipped_place("TJ-KT-VAK"), shipped_place("TJ-KT-KUL")
    Submission.objects.filter(instance_id__in=["uuid:u1", "uuid:u2"]).update(place=vakhsh)
    Submission.objects.filter(instance_id="uuid:u3").update(place=kulob)
    Submission.objects.filter(instance_id="uuid:u1").update(review_state="approved")
    for rule in ("facilitator_area", "facilitator_place_ids"):
        monkeypatch.setattr(policies, rule, lambda membership: {vakhsh.pk})
    lead = member_of(programme, Role.LEAD)
    facilitator = member_of(programme, Role.FACILITATOR)
    return {
        "programme": programme,
        "form": form,
        "lead": lead,
        "facilitator": facilitator,
        "vakhsh": vakhsh,
    }


def client_of(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


# ----------------------------------------------------------------------------------------
# The synchronous export as it was (the view before #14 point 3), for comparison.


def synchronous_export(
    user: Any, form: Form, query: dict[str, str], export_format: str, language: str
) -> bytes:
    programme = form.assessment.programme
    submissions = submissions_visible(user=user, form=form)
    if query.get("place"):
        submissions = submissions.filter(place=int(query["place"]))
    if query.get("submitted_from"):
        submissions = submissions.filter(submitted_at__date__gte=query["submitted_from"])
    if "review_state" in query and query["review_state"] != "any":
        submissions = submissions.filter(review_state=query["review_state"])
    submissions = submissions.order_by("-submitted_at", "-id")
    plan = plan_for(form.current_version())  # type: ignore[arg-type]
    reveal = policies.can(user, "submission.view_protected", programme)
    rows = exporters.rows_of(
        submissions.select_related("place").iterator(chunk_size=2000), plan=plan, reveal=reveal
    )
    target = Path(tempfile.mkdtemp(prefix="amniyat-test-")) / "export"

    def text_file(write: Callable[[TextIO], None]) -> None:
        with target.open("w", encoding="utf-8-sig", newline="") as out:
            write(out)

    writers: dict[str, Callable[[], None]] = {
        "csv": lambda: text_file(lambda o: exporters.write_table_csv(o, plan, rows, language)),
        "xlsx": lambda: exporters.write_table_xlsx(target, plan, rows, language),
        "kobo-csv": lambda: text_file(lambda o: exporters.write_kobo_csv(o, plan, rows)),
        "kobo-xlsx": lambda: exporters.write_kobo_xlsx(target, plan, rows, title=form.form_id),
        "kobo-json": lambda: text_file(lambda o: exporters.write_kobo_json(o, plan, rows)),
        "odk-csv": lambda: text_file(lambda o: exporters.write_odk_csv(o, plan, rows)),
        "odk-zip": lambda: exporters.write_odk_zip(target, plan, rows, form_id=form.form_id),
    }
    writers[export_format]()
    return target.read_bytes()


def comparable(content: bytes) -> Any:
    """A zip (XLSX, ODK's zip) as its members, without the time each was written; any other
    file as its bytes."""
    if content[:2] != b"PK":
        return content
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return {
            name: archive.read(name)
            for name in archive.namelist()
            if name != "docProps/core.xml"  # openpyxl stamps the time of writing here
        }


@pytest.mark.parametrize("export_format", FORMATS)
@pytest.mark.parametrize("who", ["lead", "facilitator"])
def test_the_file_holds_what_the_synchronous_export_held(
    scene: dict[str, Any], export_format: str, who: str
) -> None:
    user, form = scene[who], scene["form"]
    query = {"review_state": "any", "submitted_from": "2021-09-01"}
    expected = synchronous_export(user, form, query, export_format, "ru")
    response = exported(
        client_of(user), form, {"export_format": export_format, "language": "ru", **query}
    )
    assert response.status_code == 200
    content = b"".join(response.streaming_content)
    if export_format in ("csv", "kobo-csv", "kobo-json", "odk-csv"):
        assert content == expected  # byte for byte
    assert comparable(content) == comparable(expected)
    assert int(response["Content-Length"]) == len(content)
    assert response["Content-Disposition"].startswith('attachment; filename="household-')
    assert (b"\xd0\x94\xd0\xb8\xd0\xbb" in content) == (who == "lead" and content[:2] != b"PK")


@pytest.mark.parametrize("export_format", ["xlsx", "kobo-xlsx", "kobo-json", "odk-zip"])
def test_repeats_and_filters_and_the_page_language_are_kept(db: None, export_format: str) -> None:
    programme = ProgrammeFactory(slug="tj")
    form = repeat_source(programme)
    lead = member_of(programme, Role.LEAD)
    Submission.objects.filter(instance_id="uuid:a2").update(review_state="rejected")
    query = {"review_state": ""}  # "not reviewed": a state of its own
    with translation.override("ru"):
        expected = synchronous_export(lead, form, query, export_format, "en")
    client = client_of(lead)
    client.cookies["amniyat_language"] = "ru"
    response = exported(client, form, {"export_format": export_format, "language": "en", **query})
    content = b"".join(response.streaming_content)
    assert comparable(content) == comparable(expected)
    job = Download.objects.get()
    assert (job.language, job.total, job.summary["submissions"]) == ("ru", 2, 2)
    assert job.choices["language"] == "en"


# ----------------------------------------------------------------------------------------
# Who may see an export


def urls_of(job: Download) -> list[str]:
    slug = job.programme.slug
    return [
        reverse(f"downloads:{name}", args=[slug, job.pk]) for name in ("detail", "progress", "file")
    ]


def test_only_the_requester_follows_and_downloads_an_export(scene: dict[str, Any]) -> None:
    programme, form, lead = scene["programme"], scene["form"], scene["lead"]
    job = request_export(client_of(lead), form, {"export_format": "csv", "language": "en"})
    run_queued_tasks()
    job.refresh_from_db()
    assert job.file_name.startswith("household-")
    for url in urls_of(job):
        assert client_of(lead).get(url).status_code == 200, url
    page = client_of(lead).get(urls_of(job)[0]).content.decode()
    assert "CSV with labels · labels in English" in page  # what was chosen
    assert "It holds 3 submissions." in page and job.file_name in page
    others = [member_of(programme, role) for role in Role.values]  # a second lead too
    others.append(member_of(ProgrammeFactory(slug="other"), Role.LEAD))
    for user in others:
        client = client_of(user)
        for url in urls_of(job):
            response = client.get(url)
            assert response.status_code == 404, (user.username, url)
            assert job.file_name not in response.content.decode()
    # Under another programme's address, for the requester too.
    elsewhere = ProgrammeFactory(slug="elsewhere")
    Membership.objects.create(
        user=lead, programme=elsewhere, organisation=elsewhere.lead_organisation, role=Role.LEAD
    )
    assert client_of(lead).get(f"/p/elsewhere/downloads/{job.pk}/").status_code == 404
    # A requester who may no longer export finds it gone.
    Membership.objects.filter(user=lead, programme=programme).update(role=Role.VIEWER)
    for url in urls_of(job):
        assert client_of(lead).get(url).status_code == 404


def test_those_who_may_not_export_cannot_ask_for_one(scene: dict[str, Any]) -> None:
    for role in (Role.GROUP_MEMBER, Role.VIEWER):
        client = client_of(member_of(scene["programme"], role))
        url = export_url(scene["form"])
        assert client.get(url).status_code == 404
        assert client.post(url, {"export_format": "csv", "language": "en"}).status_code == 404
    assert not Download.objects.exists()


def test_a_form_out_of_sight_when_the_file_is_written_gives_no_file(
    scene: dict[str, Any],
) -> None:
    # The scope is checked when the file is written, not only when it was asked for: here
    # the form's assessment went to another programme, where the lead leads too.
    lead, form = scene["lead"], scene["form"]
    client = client_of(lead)
    job = request_export(client, form, {"export_format": "csv", "language": "en"})
    elsewhere = ProgrammeFactory(slug="elsewhere")
    Membership.objects.create(
        user=lead, programme=elsewhere, organisation=elsewhere.lead_organisation, role=Role.LEAD
    )
    Assessment.objects.filter(pk=form.assessment_id).update(programme=elsewhere)
    assert run_queued_tasks() == 1
    job.refresh_from_db()
    assert (job.status, job.file.name) == (Status.FAILED, "")
    assert job.message == "You may no longer see what this file would hold."
    assert client.get(download_url(job)).status_code == 404
    assert not AuditEvent.objects.filter(verb=AuditEvent.Verb.VIEWED_PERSONAL).exists()


def test_the_export_page_lists_the_requesters_exports_of_that_form_alone(
    scene: dict[str, Any],
) -> None:
    programme, lead, form = scene["programme"], scene["lead"], scene["form"]
    mine = request_export(client_of(lead), form, {"export_format": "csv", "language": "en"})
    other_form = make_form(programme, schema=SCHEMA, form_id="household-2")
    imported(other_form, TRICKY.encode(), "tricky.csv")
    elsewhere = request_export(
        client_of(lead), other_form, {"export_format": "csv", "language": "en"}
    )
    second_lead = member_of(programme, Role.LEAD)
    theirs = request_export(
        client_of(second_lead), form, {"export_format": "csv", "language": "en"}
    )
    page = client_of(lead).get(export_url(form)).content.decode()
    detail = f"/p/{programme.slug}/downloads/{{}}/"
    assert detail.format(mine.pk) in page
    assert detail.format(elsewhere.pk) not in page and detail.format(theirs.pk) not in page


def test_a_file_with_personal_answers_is_not_given_once_they_may_not_be_seen(
    scene: dict[str, Any],
) -> None:
    lead = scene["lead"]
    job = request_export(client_of(lead), scene["form"], {"export_format": "csv", "language": "en"})
    run_queued_tasks()
    job.refresh_from_db()
    assert job.summary["protected"]
    Membership.objects.filter(user=lead).update(role=Role.FACILITATOR)
    assert client_of(lead).get(download_url(job)).status_code == 404


# ----------------------------------------------------------------------------------------
# No GET writes an export


def test_no_get_writes_an_export(scene: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    lead, form = scene["lead"], scene["form"]
    client = client_of(lead)
    written: list[str] = []
    real = exporters.write_export
    monkeypatch.setattr(
        exporters, "write_export", lambda *a, **k: written.append("!") or real(*a, **k)
    )
    page = client.get(export_url(form), {"export_format": "kobo-json", "language": "ru"})
    assert page.status_code == 200
    assert 'value="kobo-json" selected' in page.content.decode()  # the choice kept
    assert not Download.objects.exists() and not DBTaskResult.objects.exists()
    table = client.get(reverse("fieldwork:submission_list", args=["tj", form.pk]))
    assert 'method="post"' in table.content.decode()
    job = request_export(client, form, {"export_format": "csv", "language": "en"})
    assert DBTaskResult.objects.count() == 1  # queued, not run
    for url in urls_of(job)[:2]:
        assert client.get(url).status_code == 200
    assert client.get(download_url(job)).status_code == 404  # not written yet
    job.refresh_from_db()
    assert (job.status, written) == (Status.QUEUED, [])
    assert run_queued_tasks() == 1
    assert written == ["!"]


# ----------------------------------------------------------------------------------------
# Progress


def test_progress_is_saved_as_the_file_is_written_and_shown(
    scene: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    lead, form = scene["lead"], scene["form"]
    client = client_of(lead)
    job = request_export(client, form, {"export_format": "odk-csv", "language": "en"})
    progress_url = urls_of(job)[1]
    waiting = client.get(progress_url, HTTP_HX_REQUEST="true").content.decode()
    assert "Waiting for a worker" in waiting and 'hx-trigger="every 1s"' in waiting
    monkeypatch.setattr(services, "BATCH", 1)
    monkeypatch.setattr(download_services, "PROGRESS_SECONDS", 0)
    seen: list[tuple[int, int, int, str]] = []

    def watch(done: int, total: int) -> None:
        stored = Download.objects.get(pk=job.pk)
        seen.append((done, total, stored.done, stored.status))
        if done == 2 and len(seen) == 3:
            page = client.get(progress_url, HTTP_HX_REQUEST="true").content.decode()
            assert "Writing the file: 2 of 3 submissions" in page
            assert 'value="67"' in page and 'hx-trigger="every 1s"' in page

    download_services.download_run(job.pk, progress=watch)
    assert [s[:2] for s in seen] == [(0, 3), (1, 3), (2, 3), (3, 3), (3, 3)]
    assert [s[2] for s in seen[:4]] == [0, 1, 2, 3]  # saved in the download's row as it went
    assert {s[3] for s in seen} == {Status.RUNNING}
    done = client.get(progress_url, HTTP_HX_REQUEST="true").content.decode()
    assert "hx-get" not in done  # the polling stops
    assert download_url(job) in done and "3 submissions" in done


def test_a_failed_export_says_so(scene: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    client = client_of(scene["lead"])
    job = request_export(client, scene["form"], {"export_format": "csv", "language": "en"})

    def broken(*args: Any, **kwargs: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(exporters, "write_export", broken)
    assert download_services.download_run(job.pk).status == Status.FAILED
    page = client.get(urls_of(job)[0]).content.decode()
    assert "could not be written" in page and "hx-get" not in page
    assert client.get(download_url(job)).status_code == 404
    assert not Download.objects.get(pk=job.pk).file
    assert not default_storage.exists("downloads")


# ----------------------------------------------------------------------------------------
# Stored encrypted, audited, expiring


def test_the_stored_file_is_encrypted(scene: dict[str, Any]) -> None:
    client = client_of(scene["lead"])
    response = exported(client, scene["form"], {"export_format": "csv", "language": "en"})
    content = b"".join(response.streaming_content)
    assert "Дилноза".encode() in content
    job = Download.objects.get()
    stored = Path(job.file.path).read_bytes()
    assert stored.startswith(encrypted_files.MAGIC)
    assert "Дилноза".encode() not in stored and b"household" not in stored


def test_files_stay_readable_across_a_key_rotation(settings: Any) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [old]
    sealed = io.BytesIO()
    encrypted_files.encrypt_file(io.BytesIO(b"answers"), sealed)
    settings.FIELD_ENCRYPTION_KEYS = [new, old]
    assert b"".join(encrypted_files.decrypted_pieces(io.BytesIO(sealed.getvalue()))) == b"answers"
    settings.FIELD_ENCRYPTION_KEYS = [new]
    with pytest.raises(encrypted_files.UnreadableFile):
        b"".join(encrypted_files.decrypted_pieces(io.BytesIO(sealed.getvalue())))


def test_an_altered_or_cut_file_is_not_served() -> None:
    clear = bytes(range(256)) * 9000  # a little over two pieces
    sealed = io.BytesIO()
    encrypted_files.encrypt_file(io.BytesIO(clear), sealed)
    data = sealed.getvalue()
    assert b"".join(encrypted_files.decrypted_pieces(io.BytesIO(data))) == clear
    altered = bytearray(data)
    altered[-100] ^= 1
    cut = data[: encrypted_files.HEADER_BYTES + encrypted_files.PIECE + 16]
    for bad in (bytes(altered), cut, b"not an export"):
        with pytest.raises(encrypted_files.UnreadableFile):
            b"".join(encrypted_files.decrypted_pieces(io.BytesIO(bad)))
    empty = io.BytesIO()
    encrypted_files.encrypt_file(io.BytesIO(b""), empty)
    assert b"".join(encrypted_files.decrypted_pieces(io.BytesIO(empty.getvalue()))) == b""


def test_asking_and_each_download_of_personal_answers_are_audited(
    scene: dict[str, Any],
) -> None:
    lead, facilitator, form = scene["lead"], scene["facilitator"], scene["form"]
    client = client_of(lead)
    job = request_export(
        client, form, {"export_format": "kobo-json", "language": "en", "review_state": "approved"}
    )
    created = AuditEvent.objects.get(verb=AuditEvent.Verb.CREATED, actor=lead)
    assert created.object_id == str(job.pk)
    assert created.details == {
        "download": "submissions",
        "form": form.pk,
        "export": "kobo-json",
        "language": "en",
        "filters": ["review_state"],
    }
    run_queued_tasks()
    assert not AuditEvent.objects.filter(verb=AuditEvent.Verb.VIEWED_PERSONAL).exists()
    for _time in range(2):
        b"".join(client.get(download_url(job)).streaming_content)
    shown = AuditEvent.objects.filter(verb=AuditEvent.Verb.VIEWED_PERSONAL, actor=lead)
    assert [e.details for e in shown] == [
        {"form": form.pk, "export": "kobo-json", "count": 1, "download": job.pk}
    ] * 2
    # Masked for the facilitator: nothing personal shown, nothing recorded as shown.
    response = exported(client_of(facilitator), form, {"export_format": "csv", "language": "en"})
    assert exporters.MASK in b"".join(response.streaming_content).decode("utf-8-sig")
    assert not AuditEvent.objects.filter(
        verb=AuditEvent.Verb.VIEWED_PERSONAL, actor=facilitator
    ).exists()


def test_an_enumerator_filter_is_kept_only_as_keyed_hashes(scene: dict[str, Any]) -> None:
    job = request_export(
        client_of(scene["lead"]),
        scene["form"],
        {"export_format": "csv", "language": "en", "enumerator": "Farrukh Saidov"},
    )
    filters = job.choices["filters"]
    assert "Farrukh" not in str(job.choices) and len(filters["enumerator_hashes"]) >= 1


def test_files_expire_and_are_cleared(scene: dict[str, Any]) -> None:
    client = client_of(scene["lead"])
    exported(client, scene["form"], {"export_format": "csv", "language": "en"})
    job = Download.objects.get()
    assert job.expires_at is not None
    assert job.expires_at - job.finished_at == download_services.LIFETIME  # type: ignore[operator]
    path = Path(job.file.path)
    Download.objects.filter(pk=job.pk).update(expires_at=timezone.now())
    assert client.get(download_url(job)).status_code == 404  # before any clean-up
    assert "has expired" in client.get(urls_of(job)[0]).content.decode()
    assert path.exists()
    call_command("export", "clean", stdout=io.StringIO())
    job.refresh_from_db()
    assert (job.status, job.file.name, path.exists()) == (Status.EXPIRED, "", False)
    assert client.get(download_url(job)).status_code == 404


def test_bad_choices_show_the_form_again_and_queue_nothing(scene: dict[str, Any]) -> None:
    client = client_of(scene["lead"])
    for data in (
        {"export_format": "exe", "language": "en"},
        {"export_format": "csv", "language": "en", "submitted_from": "yesterday"},
        {"export_format": "csv", "language": "en", "place": "999999"},
        {},
    ):
        response = client.post(export_url(scene["form"]), data)
        assert response.status_code == 200
        assert 'role="alert"' in response.content.decode()
    assert not Download.objects.exists() and not DBTaskResult.objects.exists()


def test_the_command_line_export_shows_progress_and_writes_the_file(
    scene: dict[str, Any], tmp_path: Path
) -> None:
    lead, form = scene["lead"], scene["form"]
    target = tmp_path / "out.csv"
    err = io.StringIO()
    call_command(
        "export",
        "submissions",
        str(target),
        "--form",
        str(form.pk),
        "--user",
        lead.username,
        "--format",
        "kobo-json",
        stdout=io.StringIO(),
        stderr=err,
    )
    assert target.read_bytes() == synchronous_export(lead, form, {}, "kobo-json", "en")
    assert "3/3" in err.getvalue()  # the progress bar
    assert AuditEvent.objects.filter(verb=AuditEvent.Verb.VIEWED_PERSONAL, actor=lead).exists()


# ----------------------------------------------------------------------------------------
# The table's cost does not grow with its rows


def test_the_table_and_the_export_page_take_a_fixed_number_of_queries(
    scene: dict[str, Any],
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    form = scene["form"]
    pages = {
        "table": reverse("fieldwork:submission_list", args=["tj", form.pk]),
        "export": export_url(form),
    }

    def counts() -> dict[tuple[str, str], int]:
        found = {}
        for who in ("lead", "facilitator"):
            client = client_of(scene[who])
            for name, url in pages.items():
                with CaptureQueriesContext(connection) as queries:
                    assert client.get(url).status_code == 200
                found[(who, name)] = len(queries.captured_queries)
        return found

    few = counts()
    template = Submission.objects.get(instance_id="uuid:u2")
    for number in range(60):
        template.pk = None
        template.instance_id = f"uuid:copy-{number}"
        template.save()
    many = counts()
    assert many == few  # no query per row
    # Session, user, memberships, programme, form, version, count, page, audit, places…
    assert max(many.values()) <= 13, many
