"""Each place keeps its code and four names as submissions' answers are matched to them
(lower case in every alphabet, computed in Python: SQLite's ``lower()`` folds only ASCII),
indexed, so that a phone's submission finds the place it names with one indexed query instead
of reading every place. The places already stored get theirs here."""

from django.db import migrations, models

KEYED = {
    "code": "code_key",
    "name_en": "name_en_key",
    "name_ru": "name_ru_key",
    "name_tg": "name_tg_key",
    "name_uz": "name_uz_key",
}
BATCH = 1000


def fill(apps, schema_editor):  # type: ignore[no-untyped-def]
    from amniyat.core.search import folded

    place_model = apps.get_model("places", "Place")
    batch = []
    for place in place_model.objects.only("pk", *KEYED).order_by("pk").iterator(BATCH):
        for source, key in KEYED.items():
            setattr(place, key, folded(getattr(place, source)))
        batch.append(place)
        if len(batch) == BATCH:
            place_model.objects.bulk_update(batch, list(KEYED.values()))
            batch = []
    if batch:
        place_model.objects.bulk_update(batch, list(KEYED.values()))


def _key_field(label):  # type: ignore[no-untyped-def]
    return models.CharField(
        blank=True, db_index=True, editable=False, max_length=400, verbose_name=label
    )


class Migration(migrations.Migration):
    dependencies = [("places", "0003_partner_areas")]

    operations = [
        migrations.AddField(
            model_name="place", name="code_key", field=_key_field("code, as matched")
        ),
        migrations.AddField(
            model_name="place", name="name_en_key", field=_key_field("name (English), as matched")
        ),
        migrations.AddField(
            model_name="place", name="name_ru_key", field=_key_field("name (Russian), as matched")
        ),
        migrations.AddField(
            model_name="place", name="name_tg_key", field=_key_field("name (Tajik), as matched")
        ),
        migrations.AddField(
            model_name="place", name="name_uz_key", field=_key_field("name (Uzbek), as matched")
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
