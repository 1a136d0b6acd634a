# The models that commons.0003_edits_move_to_depicts removed from commons' state, created here
# in state only, on the tables commons made (db_table): nothing happens in the database.
# 0003_tables then gives the tables their own names.

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("commons", "0003_edits_move_to_depicts"),
        ("faces", "0002_review_priority_and_leases"),
        ("projects", "0002_learning_state"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name="WriteThrottle",
                    fields=[
                        (
                            "user",
                            models.OneToOneField(
                                on_delete=django.db.models.deletion.CASCADE,
                                primary_key=True,
                                related_name="write_throttle",
                                serialize=False,
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "next_allowed_at",
                            models.DateTimeField(
                                default=django.utils.timezone.now,
                                verbose_name="next edit allowed at",
                            ),
                        ),
                        ("version", models.PositiveBigIntegerField(default=0)),
                    ],
                    options={
                        "verbose_name": "write throttle",
                        "verbose_name_plural": "write throttles",
                        "db_table": "commons_writethrottle",
                    },
                ),
                migrations.CreateModel(
                    name="WriteSwitch",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        (
                            "writes_enabled",
                            models.BooleanField(default=True, verbose_name="writes enabled"),
                        ),
                        (
                            "reason",
                            models.CharField(
                                blank=True, default="", max_length=255, verbose_name="reason"
                            ),
                        ),
                        ("changed_at", models.DateTimeField(auto_now=True)),
                        (
                            "changed_by",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "write switch",
                        "verbose_name_plural": "write switch",
                        "db_table": "commons_writeswitch",
                    },
                ),
                migrations.CreateModel(
                    name="DepictsEdit",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("qid", models.CharField(max_length=16, verbose_name="Wikidata item")),
                        (
                            "action",
                            models.CharField(
                                choices=[("add", "Add statement"), ("remove", "Remove statement")],
                                default="add",
                                max_length=8,
                                verbose_name="action",
                            ),
                        ),
                        (
                            "state",
                            models.CharField(
                                choices=[
                                    ("proposed", "Proposed"),
                                    ("approved", "Approved"),
                                    ("queued", "Queued"),
                                    ("sending", "Sending"),
                                    ("sent", "Sent"),
                                    ("already_present", "Already present"),
                                    ("failed", "Failed"),
                                    ("cancelled", "Cancelled"),
                                    ("revert_queued", "Revert queued"),
                                    ("reverting", "Reverting"),
                                    ("reverted", "Reverted"),
                                    ("removed", "Removed on Commons"),
                                ],
                                db_index=True,
                                default="approved",
                                max_length=16,
                                verbose_name="state",
                            ),
                        ),
                        (
                            "statement_id",
                            models.CharField(
                                blank=True,
                                help_text="Chosen at approval for an addition; empty for a removal.",
                                max_length=80,
                                null=True,
                                unique=True,
                                verbose_name="statement id",
                            ),
                        ),
                        (
                            "written_qid",
                            models.CharField(
                                blank=True,
                                default="",
                                help_text=(
                                    "The Wikidata item after following redirects, "
                                    "as written to Commons."
                                ),
                                max_length=16,
                                verbose_name="item written",
                            ),
                        ),
                        (
                            "removed_statements",
                            models.JSONField(
                                blank=True,
                                default=list,
                                help_text="Removals only.",
                                verbose_name="statements removed",
                            ),
                        ),
                        (
                            "batch",
                            models.UUIDField(
                                blank=True,
                                db_index=True,
                                editable=False,
                                null=True,
                                verbose_name="batch",
                            ),
                        ),
                        (
                            "region",
                            models.CharField(
                                blank=True,
                                default="",
                                max_length=64,
                                verbose_name="face region (P2677)",
                            ),
                        ),
                        ("error", models.TextField(blank=True, default="", verbose_name="error")),
                        (
                            "attempts",
                            models.PositiveSmallIntegerField(default=0, verbose_name="attempts"),
                        ),
                        (
                            "revision",
                            models.PositiveBigIntegerField(
                                blank=True, null=True, verbose_name="Commons revision"
                            ),
                        ),
                        (
                            "approved_at",
                            models.DateTimeField(
                                default=django.utils.timezone.now, verbose_name="approved at"
                            ),
                        ),
                        (
                            "queued_at",
                            models.DateTimeField(blank=True, null=True, verbose_name="queued at"),
                        ),
                        (
                            "claimed_at",
                            models.DateTimeField(
                                blank=True, null=True, verbose_name="claimed by a worker at"
                            ),
                        ),
                        (
                            "sent_at",
                            models.DateTimeField(blank=True, null=True, verbose_name="sent at"),
                        ),
                        (
                            "reverted_at",
                            models.DateTimeField(blank=True, null=True, verbose_name="reverted at"),
                        ),
                        (
                            "checked_at",
                            models.DateTimeField(
                                blank=True,
                                help_text="When WikiVisage last looked for this statement on Commons.",
                                null=True,
                                verbose_name="last checked on Commons",
                            ),
                        ),
                        (
                            "updated_at",
                            models.DateTimeField(auto_now=True, verbose_name="updated"),
                        ),
                        (
                            "approved_by",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="approved_edits",
                                to=settings.AUTH_USER_MODEL,
                                verbose_name="approved by",
                            ),
                        ),
                        (
                            "face",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="depicts_edits",
                                to="faces.face",
                            ),
                        ),
                        (
                            "image",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="depicts_edits",
                                to="faces.image",
                            ),
                        ),
                        (
                            "project",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="depicts_edits",
                                to="projects.project",
                            ),
                        ),
                        (
                            "reverted_by",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="reverted_edits",
                                to=settings.AUTH_USER_MODEL,
                                verbose_name="reverted by",
                            ),
                        ),
                        (
                            "sent_by",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="sent_edits",
                                to=settings.AUTH_USER_MODEL,
                                verbose_name="sent by",
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "depicts edit",
                        "verbose_name_plural": "depicts edits",
                        "db_table": "commons_depictsedit",
                        "ordering": ["-approved_at"],
                        "indexes": [
                            models.Index(fields=["project", "state"], name="edit_state_idx"),
                            models.Index(fields=["state", "checked_at"], name="edit_check_idx"),
                        ],
                        "constraints": [
                            models.UniqueConstraint(
                                fields=("project", "image", "qid", "action"),
                                name="depicts_edit_unique",
                            ),
                            models.CheckConstraint(
                                condition=models.Q(
                                    ("action", "remove"),
                                    ("statement_id__isnull", False),
                                    _connector="OR",
                                ),
                                name="depicts_edit_add_has_statement_id",
                            ),
                        ],
                    },
                ),
            ],
        ),
    ]
