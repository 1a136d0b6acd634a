# The content types of the moved models change app label, commons → depicts, so that their
# permissions (and who holds them) and the admin's log entries follow the models.

from django.db import migrations

MODELS = ("depictsedit", "writeswitch", "writethrottle")


def _relabel(apps, old: str, new: str) -> None:
    content_types = apps.get_model("contenttypes", "ContentType").objects
    for model in MODELS:
        moving = content_types.filter(app_label=old, model=model)
        if not moving.exists():
            continue  # a fresh database: post_migrate makes them later, under the new label
        # One made under the new label already (a run of post_migrate in between) carries no
        # history yet; the old one, with its permissions and log entries, takes its place.
        content_types.filter(app_label=new, model=model).delete()
        moving.update(app_label=new)


def forwards(apps, schema_editor) -> None:
    _relabel(apps, "commons", "depicts")


def backwards(apps, schema_editor) -> None:
    _relabel(apps, "depicts", "commons")


class Migration(migrations.Migration):
    dependencies = [
        ("depicts", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
        # Deleting a duplicate content type cascades to these: their state must be loaded.
        ("auth", "0012_alter_user_first_name_max_length"),
        ("admin", "0003_logentry_add_action_flag_choices"),
    ]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
