"""``amniyat worker``: run queued background tasks (imports, …) from the database queue.

The same as django-tasks-db's ``db_worker``, under the name the documentation uses; every
option of ``db_worker`` (``--batch``, ``--max-tasks``, ``--queue-name`` …) works here too.
"""

from __future__ import annotations

from django_tasks_db.management.commands.db_worker import Command as DatabaseWorkerCommand


class Command(DatabaseWorkerCommand):
    help = "Run queued background tasks (imports of submissions, …) until stopped."
