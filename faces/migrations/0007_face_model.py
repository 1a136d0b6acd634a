"""Each face records the detector provider and model version that encoded it."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("faces", "0006_image_uploaded_at"),
    ]

    # Every face stored so far was encoded in process by dlib (faces.detection.ENCODER).
    operations = [
        migrations.AddField(
            model_name="face",
            name="encoder",
            field=models.CharField(
                db_index=True,
                default="dlib-resnet-v1",
                max_length=64,
                verbose_name="encoding model",
            ),
        ),
    ]
