# The depicts-edit workflow moved to its own app (depicts). Its three models leave commons'
# state only: the tables stay, depicts.0001_initial takes them over as they are, and
# depicts.0003_tables renames them. No row is copied, none is lost.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("commons", "0002_writer"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="DepictsEdit"),
                migrations.DeleteModel(name="WriteSwitch"),
                migrations.DeleteModel(name="WriteThrottle"),
            ],
            database_operations=[],
        ),
    ]
