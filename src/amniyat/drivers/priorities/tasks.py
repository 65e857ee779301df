"""Background work of the prioritisation matrix: thin, by id."""

from __future__ import annotations

from django_tasks import task

from amniyat.drivers.priorities import services


@task()
def draw_priority_chart(*, priority_list_id: int) -> None:
    """Draw a priority list's chart in every language after a change, so that its page finds
    the drawing made."""
    services.priority_chart_draw(priority_list_id=priority_list_id)
