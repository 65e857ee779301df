"""An import killed with ``kill -9`` halfway leaves nothing stored, and the same file imports
whole afterwards.

Real processes against a real database file, as on a server: ``amniyat migrate`` into a
SQLite file of the test's own, a programme and a form, then ``amniyat import`` of 160,000
submissions, killed once its progress note shows that half of them have been read and the
first batches are being written; a fresh process then finds no submission and an intact
database, and ``amniyat import`` of the same file stores every one. The killed run keeps
SQLite's page cache small, so that its uncommitted rows are on disk in the write-ahead log
when it dies (checked): the database must discard them, not merely never have seen them.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.fieldwork.imports.test_importers import KOBO_HEADER

ROWS = 160_000
KILL_AFTER = 80_000  # rows read: the writer, two batches behind at most, has stored some
REPO = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent

pytestmark = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "sqlite").startswith("sqlite"),
    reason=(
        "runs its processes against a SQLite file of its own, so the SQLite run of the suite "
        "covers it; on PostgreSQL the same guarantee is the import's single transaction, "
        "which the server rolls back when the killed process's connection drops"
    ),
)


def _environment(home: Path) -> dict[str, str]:
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DATABASE_", "AMNIYAT_", "DJANGO_", "MEDIA_", "STATIC_"))
    }
    return environment | {
        "AMNIYAT_HOME": str(home),
        "DATABASE_URL": f"sqlite:///{home / 'amniyat.sqlite3'}",
        "MEDIA_ROOT": str(home / "media"),
        "AMNIYAT_PROGRESS_DIR": str(home / "progress"),
        "AMNIYAT_NODE_MODULES": str(REPO / "node_modules"),
        "DJANGO_SETTINGS_MODULE": "amniyat.settings",
        # This checkout's code, whichever one the virtual environment was installed from.
        "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)]),
    }


def _python(script: str, environment: dict[str, str]) -> str:
    """Run ``script`` in a fresh Django process; its standard output."""
    code = "import django\ndjango.setup()\n" + textwrap.dedent(script)
    done = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", code], env=environment, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip()


def _write_submissions(path: Path) -> None:
    with path.open("w", encoding="utf-8") as out:
        out.write(KOBO_HEADER + "\n")
        for n in range(ROWS):
            out.write(
                f"Person {n};{20 + n % 50};{n % 1000}.5;2021-09-01;;vakhsh;theft police;1;0;1;"
                f"Comment {n};uuid:k{n};{n};k{n};2021-09-01T05:20:00;;{n}\n"
            )


def _rows_read(progress: Path) -> int:
    for note in progress.glob("import-*.json"):
        try:
            return int(json.loads(note.read_text()).get("done") or 0)
        except (OSError, ValueError):
            continue  # being replaced just now
    return 0


STATE = """
    from django.db import connection
    from amniyat.fieldwork.models import ImportJob, Submission

    with connection.cursor() as cursor:
        cursor.execute("PRAGMA integrity_check")
        (integrity,) = cursor.fetchone()
    print(integrity, Submission.objects.filter(form_id={form}).count(),
          *ImportJob.objects.order_by("pk").values_list("status", flat=True))
"""


def test_an_import_killed_halfway_stores_nothing_and_the_next_one_stores_all(
    tmp_path: Path,
) -> None:
    environment = _environment(tmp_path)
    migrated = subprocess.run(  # noqa: S603 - our own command
        [BIN / "amniyat", "migrate", "--verbosity", "0", "--skip-checks"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert migrated.returncode == 0, migrated.stderr[-3000:]
    form = _python(
        """
        from tests.factories import ProgrammeFactory
        from tests.fieldwork.imports.test_importers import SCHEMA, make_form

        print(make_form(ProgrammeFactory(slug="killed"), schema=SCHEMA).pk)
        """,
        environment,
    )
    submissions = tmp_path / "submissions.csv"
    _write_submissions(submissions)

    # The command itself, in a process whose SQLite page cache holds 1 MB: written rows spill
    # into the write-ahead log long before the commit.
    killed_run = textwrap.dedent(
        f"""
        import django
        django.setup()
        from django.core.management import call_command
        from amniyat.fieldwork.imports import services as imports

        imports.SQLITE_IMPORT_PRAGMAS["cache_size"] = -1024
        call_command("import", {str(submissions)!r}, form={form}, no_progress=True)
        """
    )
    importing = subprocess.Popen(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", killed_run],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    wal = tmp_path / "amniyat.sqlite3-wal"
    try:
        deadline = time.monotonic() + 90
        while _rows_read(tmp_path / "progress") < KILL_AFTER:
            assert importing.poll() is None, "the import ended before it could be killed"
            assert time.monotonic() < deadline, "the import made no progress"
            time.sleep(0.05)
        unsaved = wal.stat().st_size
        os.kill(importing.pid, signal.SIGKILL)
        assert importing.wait(timeout=30) == -signal.SIGKILL
    finally:
        if importing.poll() is None:
            importing.kill()
            importing.wait()
        assert importing.stderr is not None
        importing.stderr.close()
    assert unsaved > 4 * 1024 * 1024, "no uncommitted rows reached the disk before the kill"

    # A fresh process: the database is whole and holds none of the killed import's rows.
    state = _python(STATE.format(form=form), environment).split()
    assert state == ["ok", "0", "running"]  # the killed job never got to say how it ended

    # The same file, imported again with the command, is stored whole.
    again = subprocess.run(  # noqa: S603 - our own command, a file we made
        [BIN / "amniyat", "import", str(submissions), "--form", form, "--no-progress"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert again.returncode == 0, again.stderr[-3000:]
    assert f"Stored: {ROWS}" in again.stdout
    state = _python(STATE.format(form=form), environment).split()
    assert state == ["ok", str(ROWS), "running", "succeeded"]
