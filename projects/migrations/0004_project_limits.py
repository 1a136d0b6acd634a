"""A crawl stops at WIKIVISAGE_MAX_FILES_PER_PROJECT files and the depicts search at
WIKIVISAGE_MAX_BOOTSTRAP_FILES; the project keeps the bound it stopped at, so its page can
say so. Existing projects took everything: both stay empty."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("projects", "0003_min_answers"),
    ]

    operations = [
        migrations.AddField(
            model_name="project",
            name="bootstrap_limit_hit",
            field=models.PositiveIntegerField(
                blank=True,
                help_text="The most files the search for existing depicts statements adds, when "
                "the last search stopped there; empty when it took every file found.",
                null=True,
                verbose_name="depicts search stopped at",
            ),
        ),
        migrations.AddField(
            model_name="project",
            name="crawl_limit_hit",
            field=models.PositiveIntegerField(
                blank=True,
                help_text="The most files a project takes, when the last crawl stopped there; "
                "empty when it listed the whole category.",
                null=True,
                verbose_name="crawl stopped at",
            ),
        ),
    ]
