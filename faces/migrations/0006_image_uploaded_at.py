# New uploads wait before they are detected (WIKIVISAGE_NEW_UPLOAD_WAIT_HOURS). Existing rows
# stay null: unknown counts as old enough, and the next crawl fills the upload time in.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("faces", "0005_detect_turns"),
    ]

    operations = [
        migrations.AddField(
            model_name="image",
            name="uploaded_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="uploaded"),
        ),
    ]
