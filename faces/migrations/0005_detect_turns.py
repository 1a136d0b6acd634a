# Detect messages name no image any more: projects take turns (faces.services.pipeline).

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("faces", "0004_skip_labels_removed"),
        ("projects", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="DetectTurn",
            fields=[
                (
                    "project",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="+",
                        serialize=False,
                        to="projects.project",
                    ),
                ),
                ("served_at", models.DateTimeField(blank=True, null=True)),
            ],
        ),
    ]
