"""Notifications: on-site and by e-mail, to members who opted in."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("projects", "0008_file_scope"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="membership",
            name="notify_by_email",
            field=models.BooleanField(default=False, verbose_name="notifications by e-mail"),
        ),
        migrations.AddField(
            model_name="membership",
            name="notify_language",
            field=models.CharField(
                blank=True,
                default="",
                help_text="The member's language when they asked for e-mails; empty: the site's.",
                max_length=8,
                verbose_name="language of the e-mails",
            ),
        ),
        migrations.AddField(
            model_name="membership",
            name="notify_on_site",
            field=models.BooleanField(default=True, verbose_name="notifications on the site"),
        ),
        migrations.CreateModel(
            name="Notification",
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
                        choices=[
                            ("processing_finished", "Photos processed"),
                            ("suggestions_ready", "Suggestions ready"),
                            ("send_finished", "Edits sent"),
                            ("send_failed", "Edits not sent"),
                        ],
                        max_length=32,
                        verbose_name="kind",
                    ),
                ),
                ("event", models.CharField(max_length=100, verbose_name="event")),
                ("params", models.JSONField(blank=True, default=dict, verbose_name="figures")),
                ("on_site", models.BooleanField(default=True, verbose_name="shown on the site")),
                ("email", models.BooleanField(default=False, verbose_name="sent by e-mail")),
                (
                    "emailed_at",
                    models.DateTimeField(blank=True, null=True, verbose_name="e-mailed at"),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="created")),
                ("read_at", models.DateTimeField(blank=True, null=True, verbose_name="read at")),
                (
                    "project",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="notifications",
                        to="projects.project",
                        verbose_name="project",
                    ),
                ),
                (
                    "recipient",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="notifications",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="recipient",
                    ),
                ),
            ],
            options={
                "verbose_name": "notification",
                "verbose_name_plural": "notifications",
                "ordering": ["-created_at", "-id"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("recipient", "project", "event"),
                        name="notification_once_per_event",
                    )
                ],
            },
        ),
    ]
