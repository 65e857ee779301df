"""Quotes need a second person before they are published.

``Excerpt.publishable`` (one lead's or analyst's mark) becomes ``publication`` (none, proposed,
approved, returned) with who proposed and who reviewed it. A quote marked publishable before
had only one person's decision, so it becomes *proposed*, not approved: it leaves published
maps until another lead or analyst approves it against the checklist. Its proposer is whoever
marked it publishable, as the audit log recorded it (its coder when the log does not say), so
that person cannot be the one who approves it now. The old field goes in the next migration
(PostgreSQL does not alter a table with rows updated in the same transaction).
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.utils import timezone

import amniyat.core.fields


def marked_publishable_become_proposed(apps, schema_editor):
    Excerpt = apps.get_model("drivers", "Excerpt")
    AuditEvent = apps.get_model("audit", "AuditEvent")
    marked = dict(Excerpt.objects.filter(publishable=True).values_list("pk", "coder_id"))
    if not marked:
        return
    # The last time each was marked publishable: its actor is the proposer.
    marked_by: dict[int, tuple[int | None, object]] = {}
    events = AuditEvent.objects.filter(
        object_type="drivers.excerpt",
        object_id__in=[str(pk) for pk in marked],
        verb="updated",
    ).order_by("at", "pk")
    for object_id, actor_id, at, details in events.values_list(
        "object_id", "actor_id", "at", "details"
    ):
        if isinstance(details, dict) and details.get("publishable") is True:
            marked_by[int(object_id)] = (actor_id, at)
    now = timezone.now()
    for pk, coder_id in marked.items():
        actor_id, at = marked_by.get(pk, (None, None))
        Excerpt.objects.filter(pk=pk).update(
            publication="proposed",
            proposed_by_id=actor_id or coder_id,
            proposed_at=at or now,
        )


def approved_become_publishable(apps, schema_editor):
    Excerpt = apps.get_model("drivers", "Excerpt")
    Excerpt.objects.filter(publication="approved").update(publishable=True)


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0003_publish_verbs"),
        ("drivers", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="excerpt",
            name="publication",
            field=models.CharField(
                choices=[
                    ("none", "not proposed for publication"),
                    ("proposed", "awaiting a second reviewer"),
                    ("approved", "approved for publication"),
                    ("returned", "returned by the reviewer"),
                ],
                default="none",
                max_length=10,
                verbose_name="publication",
            ),
        ),
        migrations.AddField(
            model_name="excerpt",
            name="proposed_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="proposed by",
            ),
        ),
        migrations.AddField(
            model_name="excerpt",
            name="proposed_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="proposed"),
        ),
        migrations.AddField(
            model_name="excerpt",
            name="reviewed_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="reviewed by",
            ),
        ),
        migrations.AddField(
            model_name="excerpt",
            name="reviewed_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="reviewed"),
        ),
        migrations.AddField(
            model_name="excerpt",
            name="review_note",
            field=amniyat.core.fields.EncryptedTextField(
                blank=True, verbose_name="why it was returned"
            ),
        ),
        migrations.RunPython(marked_publishable_become_proposed, approved_become_publishable),
    ]
