"""A moderator's decisions get their own fields, which the owner's settings form cannot reach.

Until now a moderator's archive was the project's ``state`` = ``archived`` (only the admin set
it): such projects become ``moderation`` = ``archived``, and their own state ``paused``, so that
a moderator lifting the archive later does not start work the owner has not chosen again.
A moderator's pause (``state`` = ``paused``) and "Stop all writes" (``writes_enabled`` off)
wrote the same fields as the owner's switches and cannot be told apart from them: they stay
the owner's, as they were.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def archived_to_moderation(apps, schema_editor):
    Project = apps.get_model("projects", "Project")
    Project.objects.filter(state="archived").update(moderation="archived", state="paused")


def moderation_to_archived(apps, schema_editor):
    Project = apps.get_model("projects", "Project")
    Project.objects.filter(moderation="archived").update(state="archived")


class Migration(migrations.Migration):
    dependencies = [
        ("projects", "0004_project_limits"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="project",
            name="moderation",
            field=models.CharField(
                choices=[
                    ("none", "None"),
                    ("paused", "Paused by a moderator"),
                    ("archived", "Archived by a moderator"),
                ],
                db_index=True,
                default="none",
                help_text="Paused or archived by a moderator: no answers and no writes.",
                max_length=16,
                verbose_name="moderation",
            ),
        ),
        migrations.AddField(
            model_name="project",
            name="moderator_writes_stopped",
            field=models.BooleanField(
                default=False,
                help_text="Set by a moderator; the owner's own switch cannot undo it.",
                verbose_name="writes stopped by a moderator",
            ),
        ),
        migrations.AddField(
            model_name="project",
            name="moderated_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="moderated by",
            ),
        ),
        migrations.AddField(
            model_name="project",
            name="moderated_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="moderated at"),
        ),
        migrations.AddField(
            model_name="project",
            name="moderation_reason",
            field=models.CharField(
                blank=True, default="", max_length=255, verbose_name="moderator's reason"
            ),
        ),
        migrations.RunPython(archived_to_moderation, moderation_to_archived),
    ]
