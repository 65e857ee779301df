"""Each form keeps the state of its submissions (``Form.data_revision``), which every write of
them changes: findings and cached frames are keyed by it instead of counting the rows. Existing
forms all start with one new value (the key names the form too); their findings are computed
again once."""

from django.db import migrations, models

import amniyat.fieldwork.models


class Migration(migrations.Migration):
    dependencies = [("fieldwork", "0013_drop_submission_exports")]

    operations = [
        migrations.AddField(
            model_name="form",
            name="data_revision",
            field=models.CharField(
                default=amniyat.fieldwork.models.new_data_revision, editable=False, max_length=32
            ),
        ),
    ]
