"""Ship the countries, regions and districts the programmes work in."""

from django.db import migrations


def load(apps, schema_editor):  # type: ignore[no-untyped-def]
    from amniyat.places.services import administrative_places_load

    administrative_places_load(place_model=apps.get_model("places", "Place"))


class Migration(migrations.Migration):
    dependencies = [("places", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
