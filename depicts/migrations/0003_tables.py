# The tables take the app's own names (depicts_*). A rename only: rows, indexes, constraints
# and foreign keys stay as they are (on SQLite and on MariaDB: ALTER/RENAME TABLE).

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("depicts", "0002_content_types"),
    ]

    operations = [
        migrations.AlterModelTable(name="depictsedit", table=None),
        migrations.AlterModelTable(name="writeswitch", table=None),
        migrations.AlterModelTable(name="writethrottle", table=None),
    ]
