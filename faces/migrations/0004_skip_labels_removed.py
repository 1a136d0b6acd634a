# A skip used to be stored as a human label too, which closed the face for every reviewer
# and for the learner, for good. Now a skip is the reviewer's answer only; the labels go,
# the answers stay as history. A skip that replaced the same face's earlier yes or no (a
# reviewer changing their mind) gives that answer its label back: a skip no longer
# overwrites an answer.

from django.db import migrations
from django.db.models import Exists, OuterRef

HUMAN, SKIP = "human", "skip"


def _standing(apps):
    """The answers that still stand and say something: not undone, not a skip."""
    answers = apps.get_model("faces", "Answer").objects
    return answers.filter(undone_at__isnull=True).exclude(verdict=SKIP)


def forwards(apps, schema_editor) -> None:
    skips = apps.get_model("faces", "Label").objects.filter(source=HUMAN, verdict=SKIP)
    standing = _standing(apps)
    same_face = standing.filter(project_id=OuterRef("project_id"), face_id=OuterRef("face_id"))
    skips.filter(~Exists(same_face)).delete()
    for label in list(skips):
        answer = (
            standing.filter(project_id=label.project_id, face_id=label.face_id)
            .order_by("-created_at", "-id")
            .first()
        )
        label.verdict, label.user_id, label.created_at = (
            answer.verdict,
            answer.user_id,
            answer.created_at,
        )
        label.save(update_fields=["verdict", "user", "created_at"])


class Migration(migrations.Migration):
    dependencies = [("faces", "0003_answer_skip_idx")]

    # Backwards does nothing: the skipped faces stay open, and no yes or no is lost.
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop, elidable=False)]
