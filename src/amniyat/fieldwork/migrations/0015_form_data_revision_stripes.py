"""A form's data revision in stripes (``FormDataRevision``): a write of its submissions changes
one of them rather than the form's row, so that concurrent writers to one form (phones sending
submissions) do not wait for each other's commit. A form's revision until its first write is
its own ``data_revision``, as before."""

import amniyat.fieldwork.models
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('fieldwork', '0014_form_data_revision'),
    ]

    operations = [
        migrations.CreateModel(
            name='FormDataRevision',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('stripe', models.PositiveSmallIntegerField()),
                ('value', models.CharField(default=amniyat.fieldwork.models.new_data_revision, max_length=32)),
                ('form', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='data_revisions', to='fieldwork.form', verbose_name='form')),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('form', 'stripe'), name='one_value_per_stripe')],
            },
        ),
    ]
