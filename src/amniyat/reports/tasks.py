"""Background work of reports: a thin task that loads by id and calls the service."""

from __future__ import annotations

from django_tasks import task

from amniyat.reports.services import rendering_run


@task()
def render_report(rendering_id: int) -> str:
    """Write a queued file of a report; answers its final status."""
    return str(rendering_run(rendering_id).status)
