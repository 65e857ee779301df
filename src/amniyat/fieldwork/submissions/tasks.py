"""Background work of the submissions pages: thin tasks that load by id and call a service."""

from __future__ import annotations

from django_tasks import task

from amniyat.fieldwork.submissions.services import export_run


@task()
def write_export(job_id: int) -> str:
    """Write a queued export of submissions; answers the job's final status."""
    return str(export_run(job_id).status)
