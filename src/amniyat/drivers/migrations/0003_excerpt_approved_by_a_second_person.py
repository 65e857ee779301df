"""The one-person ``Excerpt.publishable`` mark is gone (0002 turned it into ``publication``),
and the database itself refuses an approval by the quote's coder or its proposer."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("drivers", "0002_quotes_need_a_second_reviewer"),
    ]

    operations = [
        migrations.RemoveField(
            model_name="excerpt",
            name="publishable",
        ),
        migrations.AddConstraint(
            model_name="excerpt",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("publication", "approved"), _negated=True),
                    models.Q(
                        ("proposed_by__isnull", False),
                        ("reviewed_by__isnull", False),
                        models.Q(("reviewed_by", models.F("coder")), _negated=True),
                        models.Q(("reviewed_by", models.F("proposed_by")), _negated=True),
                    ),
                    _connector="OR",
                ),
                name="excerpt_approved_by_a_second_person",
            ),
        ),
    ]
