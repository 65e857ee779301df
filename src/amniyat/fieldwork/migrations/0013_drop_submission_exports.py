"""Exports of submissions are prepared downloads now (``downloads.Download`` of the kind
``submissions``): the ``SubmissionExport`` table goes, its rows dropped, not migrated.

Dropped because each lived a day at most (``AMNIYAT_EXPORT_HOURS``, 24 by default): one
still queued or being written waits for the ``write_export`` task, which no longer exists,
so it would never be written; a finished one could have been carried over, but for at most
a day's use, where asking again from the export page costs its requester one click and gives
the submissions as they are now. Each dropped row's encrypted file is deleted from storage
first, so that no file is left behind without the row that says whose it is.
"""

from django.db import migrations


def delete_files(apps, schema_editor):
    SubmissionExport = apps.get_model("fieldwork", "SubmissionExport")
    for export in SubmissionExport.objects.exclude(file="").only("pk", "file").iterator():
        export.file.delete(save=False)


class Migration(migrations.Migration):
    dependencies = [
        ("fieldwork", "0012_sqlite_datetimes_as_django_writes_them"),
    ]

    operations = [
        migrations.RunPython(delete_files, migrations.RunPython.noop, elidable=True),
        migrations.DeleteModel(name="SubmissionExport"),
    ]
