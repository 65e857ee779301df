"""Submissions imported into SQLite before this kept their times with six zero decimals
("2021-05-01 10:15:30.000000") where Django writes "2021-05-01 10:15:30". SQLite compares
and sorts the text, so such a row sorted after others of the same second and escaped an
equality: the times are written again as Django writes them. Nothing to do on PostgreSQL,
which stores timestamps."""

from django.db import migrations


def _as_django_writes(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor != "sqlite":
        return
    with schema_editor.connection.cursor() as cursor:
        for column in ("submitted_at", "received_at"):
            cursor.execute(
                f"UPDATE fieldwork_submission SET {column} = substr({column}, 1, 19) "  # noqa: S608
                f"WHERE {column} LIKE '%.000000'"
            )


class Migration(migrations.Migration):
    dependencies = [("fieldwork", "0011_submission_form_time_with_id")]

    operations = [migrations.RunPython(_as_django_writes, migrations.RunPython.noop)]
