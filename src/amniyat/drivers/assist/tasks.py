"""Background work of assisted coding: thin, by id."""

from __future__ import annotations

from typing import Any

from django_tasks import task

from amniyat.drivers.assist import services


@task()
def train_assistant(
    *, programme_id: int, data_key: str, acting_user_id: int | None = None
) -> dict[str, Any] | None:
    """Evaluate and train a programme's assistant; the result is what its pages show.
    ``data_key`` is the state of the coding the training was queued for, by which pages find
    it."""
    return services.assistant_train(
        programme_id=programme_id, data_key=data_key, acting_user_id=acting_user_id
    )
