"""The submission's enumerator, copied out of the answers, was kept in clear; it is now
encrypted like the protected answers, with a keyed hash beside it to filter on.

The column becomes text (a ciphertext is longer than the 120 characters a name had), every
stored name is encrypted and hashed, and only then does the field read and write through the
encryption. Rows of one enumerator share one ciphertext: the keyed hash already shows which
rows have the same enumerator, and a nonce never seals two different texts.
"""

from django.db import migrations, models

import amniyat.core.fields

SEALED = ("aesgcm:", "fernet:")


def _clear_rows(submissions):
    rows = submissions.objects.exclude(enumerator="")
    for prefix in SEALED:
        rows = rows.exclude(enumerator__startswith=prefix)
    return rows


def seal_enumerators(apps, schema_editor):
    from amniyat.core.fields import encrypt_text
    from amniyat.core.fields import keyed_hash

    submissions = apps.get_model("fieldwork", "Submission")
    rows = _clear_rows(submissions)
    names = list(rows.order_by().values_list("enumerator", flat=True).distinct())
    for name in names:
        rows.filter(enumerator=name).update(
            enumerator=encrypt_text(name), enumerator_hash=keyed_hash(name)
        )


def unseal_enumerators(apps, schema_editor):
    from amniyat.core.fields import decrypt_text

    submissions = apps.get_model("fieldwork", "Submission")
    tokens = set()
    for prefix in SEALED:
        tokens.update(
            submissions.objects.filter(enumerator__startswith=prefix)
            .order_by()
            .values_list("enumerator", flat=True)
            .distinct()
        )
    for token in tokens:
        submissions.objects.filter(enumerator=token).update(
            enumerator=decrypt_text(token)[:120], enumerator_hash=""
        )


class Migration(migrations.Migration):
    dependencies = [
        ("fieldwork", "0005_fewer_submission_indexes"),
    ]

    operations = [
        migrations.AlterField(
            model_name="submission",
            name="enumerator",
            field=models.TextField(blank=True, verbose_name="enumerator"),
        ),
        migrations.AddField(
            model_name="submission",
            name="enumerator_hash",
            field=models.CharField(blank=True, editable=False, max_length=32),
        ),
        migrations.RunPython(seal_enumerators, unseal_enumerators, elidable=False),
        migrations.AlterField(
            model_name="submission",
            name="enumerator",
            field=amniyat.core.fields.EncryptedTextField(blank=True, verbose_name="enumerator"),
        ),
    ]
