"""Worker health per queue: heartbeats from beat, backlog and failures."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("projects", "0009_notifications"),
    ]

    operations = [
        migrations.CreateModel(
            name="QueueHealth",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "queue",
                    models.CharField(
                        choices=[
                            ("default", "default"),
                            ("crawl", "crawl"),
                            ("detect", "detect"),
                            ("learn", "learn"),
                            ("write", "write"),
                        ],
                        max_length=32,
                        unique=True,
                        verbose_name="queue",
                    ),
                ),
                (
                    "answered_at",
                    models.DateTimeField(
                        blank=True, null=True, verbose_name="last heartbeat answered"
                    ),
                ),
                (
                    "worker",
                    models.CharField(
                        blank=True, default="", max_length=255, verbose_name="answered by"
                    ),
                ),
                (
                    "lag",
                    models.FloatField(
                        blank=True,
                        help_text="How long the last answered heartbeat waited in the queue.",
                        null=True,
                        verbose_name="waited (seconds)",
                    ),
                ),
                ("failures", models.PositiveIntegerField(default=0, verbose_name="failed tasks")),
                (
                    "failures_since",
                    models.DateTimeField(
                        blank=True, null=True, verbose_name="failures counted since"
                    ),
                ),
                (
                    "last_failure",
                    models.CharField(
                        blank=True, default="", max_length=255, verbose_name="last failure"
                    ),
                ),
                (
                    "last_failure_at",
                    models.DateTimeField(blank=True, null=True, verbose_name="last failure at"),
                ),
                (
                    "stall_seen_at",
                    models.DateTimeField(blank=True, null=True, verbose_name="stall seen since"),
                ),
                (
                    "stall_reported_at",
                    models.DateTimeField(
                        blank=True, null=True, verbose_name="stall reported to moderators"
                    ),
                ),
            ],
            options={
                "verbose_name": "queue health",
                "verbose_name_plural": "queue health",
                "ordering": ["queue"],
            },
        ),
    ]
