"""Background work of downloads: a thin task that loads by id and calls the service."""

from __future__ import annotations

from django_tasks import task

from amniyat.downloads.services import download_run


@task()
def prepare_download(download_id: int) -> str:
    """Write a queued download; answers its final status."""
    return str(download_run(download_id).status)
