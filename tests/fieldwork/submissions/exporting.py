"""Exporting through the pages as a person does: ask for an export (POST) on the export page,
let the worker write the prepared download, download it. For the tests of every export
format."""

from __future__ import annotations

from typing import Any

from django.test import Client, TestCase
from django.urls import reverse
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

from amniyat.downloads.models import Download
from amniyat.fieldwork.models import Form


def run_queued_tasks() -> int:
    """Run the queued tasks as ``amniyat worker`` does (claim, run, store the result), without
    its loop; how many ran."""
    worker = Worker(
        queue_names=["default"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="test",
        excluded_queue_names=[],
    )
    ran = 0
    for result in DBTaskResult.objects.ready():
        result.claim("test")
        worker.run_task(result)
        ran += 1
    return ran


def export_url(form: Form) -> str:
    return reverse("fieldwork:submission_export", args=[form.assessment.programme.slug, form.pk])


def request_export(client: Client, form: Form, data: dict[str, Any]) -> Download:
    """POST the export form as the page does; what the request queues is queued when it
    ends (nothing runs yet). The page that follows it is the download's."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = client.post(export_url(form), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    download = Download.objects.get(kind="submissions", choices__form=form.pk, pk=_pk(response))
    slug = form.assessment.programme.slug
    assert response["Location"] == reverse("downloads:detail", args=[slug, download.pk])
    return download


def _pk(response: Any) -> int:
    return int(response["Location"].rstrip("/").rsplit("/", 1)[-1])


def download_url(download: Download) -> str:
    return reverse("downloads:file", args=[download.programme.slug, download.pk])


def exported(client: Client, form: Form, data: dict[str, Any]) -> Any:
    """Ask for an export, let the worker write it, and answer the download's response."""
    download = request_export(client, form, data)
    assert run_queued_tasks() == 1
    download.refresh_from_db()
    assert download.status == Download.Status.SUCCEEDED, download.message
    return client.get(download_url(download))
