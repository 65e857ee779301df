"""Background work of fieldwork: thin tasks that load by id and call a service."""

from __future__ import annotations

from django_tasks import task

from amniyat.fieldwork.imports.services import checkpoint, import_run


@task()
def run_import(job_id: int) -> str:
    """Run a queued import of submissions; answers the job's final status."""
    job = import_run(job_id)
    checkpoint()
    return str(job.status)
