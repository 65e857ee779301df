"""Exporting through the pages as a person does: ask for an export (POST), let the worker
write it, download it. For the tests of every export format."""

from __future__ import annotations

from typing import Any

from django.test import Client, TestCase
from django.urls import reverse
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

from amniyat.fieldwork.models import Form, SubmissionExport


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


def request_export(client: Client, form: Form, data: dict[str, Any]) -> SubmissionExport:
    """POST the export form as the page does; what the request queues is queued when it
    ends (nothing runs yet)."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = client.post(export_url(form), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    pk = int(response["Location"].rstrip("/").rsplit("/", 1)[-1])
    return SubmissionExport.objects.get(pk=pk)


def download_url(job: SubmissionExport) -> str:
    return reverse("fieldwork:export_download", args=[job.form.assessment.programme.slug, job.pk])


def exported(client: Client, form: Form, data: dict[str, Any]) -> Any:
    """Ask for an export, let the worker write it, and answer the download's response."""
    job = request_export(client, form, data)
    assert run_queued_tasks() == 1
    job.refresh_from_db()
    assert job.status == SubmissionExport.Status.SUCCEEDED, job.message
    return client.get(download_url(job))
