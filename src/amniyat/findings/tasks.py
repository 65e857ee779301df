"""Background work for findings: thin, by id."""

from django_tasks import task

from amniyat.findings import services


@task()
def compute_findings(findings_id: int) -> None:
    services.findings_compute(findings_id)
