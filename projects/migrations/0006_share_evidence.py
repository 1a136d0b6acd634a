"""Answers count as evidence in other projects only when both projects opted in. Existing
projects start opted out: until now nobody was asked."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("projects", "0005_moderation"),
    ]

    operations = [
        migrations.AddField(
            model_name="project",
            name="share_evidence",
            field=models.BooleanField(
                default=False,
                help_text="Your reviewers' yes answers then count as evidence against those "
                "faces in other projects about another person that share photos with this one "
                "and opted in too; their answers count here in the same way. Nothing else is "
                "shared.",
                verbose_name="Share answers with other projects",
            ),
        ),
    ]
