"""A project's scope: a category, or a list of files."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("projects", "0007_withholding"),
    ]

    operations = [
        migrations.AddField(
            model_name="project",
            name="scope",
            field=models.CharField(
                choices=[("category", "Category"), ("files", "List of files")],
                default="category",
                max_length=16,
                verbose_name="scope",
            ),
        ),
        migrations.AddField(
            model_name="project",
            name="listed_count",
            field=models.PositiveIntegerField(
                default=0, help_text="How many files the list names.", verbose_name="listed files"
            ),
        ),
        migrations.AlterField(
            model_name="project",
            name="category",
            field=models.CharField(
                blank=True, max_length=255, null=True, verbose_name="Commons category"
            ),
        ),
        migrations.AddConstraint(
            model_name="project",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("category__isnull", True), ("scope", "files")),
                    models.Q(
                        ("category__isnull", False),
                        ("scope", "category"),
                        models.Q(("category", ""), _negated=True),
                    ),
                    _connector="OR",
                ),
                name="project_scope_matches_category",
            ),
        ),
        migrations.CreateModel(
            name="ListedFile",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("position", models.PositiveIntegerField(verbose_name="line")),
                ("line", models.CharField(max_length=1000, verbose_name="as given")),
                (
                    "title",
                    models.CharField(blank=True, default="", max_length=300, verbose_name="title"),
                ),
                (
                    "pageid",
                    models.PositiveBigIntegerField(blank=True, null=True, verbose_name="page id"),
                ),
                (
                    "state",
                    models.CharField(
                        choices=[
                            ("pending", "Not looked up yet"),
                            ("found", "Image found"),
                            ("missing", "No such file on Commons"),
                            ("not_file", "Not a file"),
                            ("not_image", "Not an image"),
                            ("invalid", "Not a valid title"),
                            ("withheld", "Withheld"),
                            ("over_limit", "Beyond the project's file limit"),
                        ],
                        default="pending",
                        max_length=16,
                        verbose_name="state",
                    ),
                ),
                (
                    "detail",
                    models.CharField(blank=True, default="", max_length=255, verbose_name="detail"),
                ),
                (
                    "checked_at",
                    models.DateTimeField(blank=True, null=True, verbose_name="looked up"),
                ),
                (
                    "project",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="listed_files",
                        to="projects.project",
                    ),
                ),
            ],
            options={
                "verbose_name": "listed file",
                "verbose_name_plural": "listed files",
                "ordering": ["project", "position"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("project", "position"), name="listed_file_position"
                    )
                ],
            },
        ),
    ]
