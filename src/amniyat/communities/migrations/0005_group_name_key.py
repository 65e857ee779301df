"""Each community group keeps its name folded (lower case in every alphabet, computed in
Python: SQLite's ``lower()`` folds only ASCII), indexed, so that a picker finds a Cyrillic name
typed in any case. The groups already stored get theirs here."""

from django.db import migrations, models

BATCH = 1000


def fill(apps, schema_editor):  # type: ignore[no-untyped-def]
    from amniyat.core.search import folded

    group_model = apps.get_model("communities", "CommunityGroup")
    batch = []
    for group in group_model.objects.only("pk", "name").order_by("pk").iterator(BATCH):
        group.name_key = folded(group.name)
        batch.append(group)
        if len(batch) == BATCH:
            group_model.objects.bulk_update(batch, ["name_key"])
            batch = []
    if batch:
        group_model.objects.bulk_update(batch, ["name_key"])


class Migration(migrations.Migration):
    dependencies = [("communities", "0004_members_revision")]

    operations = [
        migrations.AddField(
            model_name="communitygroup",
            name="name_key",
            field=models.CharField(
                blank=True,
                db_index=True,
                editable=False,
                max_length=400,
                verbose_name="name, as searched",
            ),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
