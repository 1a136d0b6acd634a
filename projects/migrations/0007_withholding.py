"""Withholding: people, files and categories no project may touch, set in the admin."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("projects", "0006_share_evidence"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Withholding",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[("category", "Category"), ("file", "File"), ("person", "Person")],
                        max_length=16,
                        verbose_name="kind",
                    ),
                ),
                (
                    "value",
                    models.CharField(
                        help_text="A category name, a file title (File:…) or a Wikidata item id "
                        "(Q…).",
                        max_length=255,
                        verbose_name="withheld",
                    ),
                ),
                ("reason", models.CharField(max_length=255, verbose_name="reason")),
                ("set_at", models.DateTimeField(auto_now_add=True, verbose_name="set at")),
                (
                    "set_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="set by",
                    ),
                ),
            ],
            options={
                "verbose_name": "withholding",
                "verbose_name_plural": "withholdings",
                "ordering": ["kind", "value"],
                "constraints": [
                    models.UniqueConstraint(fields=("kind", "value"), name="withholding_unique")
                ],
            },
        ),
    ]
