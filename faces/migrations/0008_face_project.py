"""A box drawn by hand belongs to the project it was drawn in (``Face.project``); the
categories a crawl listed each file in are kept (``ImageCategory``, for the sensitive-content
hold).

Boxes drawn before are given the project in which their author first answered them (the
classify page asks about a drawn box at once, in its project); a box never answered, and a
corrected box (it replaced a face every project shared), stay shared, as they were."""

import django.db.models.deletion
from django.db import migrations, models


def drawn_faces_owned(apps, schema_editor):
    Face = apps.get_model("faces", "Face")
    Answer = apps.get_model("faces", "Answer")
    drawn = Face.objects.filter(origin="drawn", project__isnull=True, created_by__isnull=False)
    # A corrected box replaced a shared face: every project holding the photo keeps it.
    drawn = drawn.filter(supersedes__isnull=True)
    for face in drawn.iterator():
        first = (
            Answer.objects.filter(face_id=face.pk, user_id=face.created_by_id)
            .order_by("created_at", "id")
            .values_list("project_id", flat=True)
            .first()
        )
        if first is not None:
            Face.objects.filter(pk=face.pk).update(project_id=first)


class Migration(migrations.Migration):
    dependencies = [
        ("faces", "0007_face_model"),
        ("projects", "0010_queue_health"),
    ]

    operations = [
        migrations.AddField(
            model_name="face",
            name="project",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="drawn_faces",
                to="projects.project",
                verbose_name="drawn in project",
            ),
        ),
        migrations.RunPython(drawn_faces_owned, migrations.RunPython.noop),
        migrations.CreateModel(
            name="ImageCategory",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("category", models.CharField(db_index=True, max_length=255)),
                (
                    "image",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="crawled_in",
                        to="faces.image",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("image", "category"), name="image_category_unique"
                    )
                ],
            },
        ),
    ]
