"""Queue one re-scoring of a project: the learner's run, once per burst of answers.

Answers, approvals, detected photos and settings changes ask for it here; the run itself is
``faces.tasks.learn_project`` (``scoring.project_rescore``). The project's ``rescore_pending``
flag keeps it to one queued run per burst, and lets the ``faces.learn_pending`` sweep queue
again a run whose message was lost.
"""

from __future__ import annotations

from django.db import transaction

from core.enqueue import enqueue
from core.transactions import retried
from faces.review_reads import rescore_waits
from projects.models import Project

# A burst of answers queues one re-scoring, a moment later.
RESCORE_DELAY_SECONDS = 2


def request_rescore(*, project_id: int, now: bool = False) -> None:
    """Queue one ``faces.learn.project`` task unless one is already waiting for this project.

    ``now``: a run at once, even if one is waiting for its moment (the project's last photo is
    processed: its members wait for the suggestions, and the waiting run, one more, is
    harmless). If the message is lost (a broker down), the flag stays set: the
    ``faces.learn.pending`` sweep queues the run later.

    Asked inside a transaction (an answer, an approval), the flag is set once it commits. An
    answer's rows hold a shared lock on the project's row (their foreign key); the flag's
    UPDATE wants it exclusive, so two reviewers answering at once deadlocked on it (MariaDB
    1213). After the commit the UPDATE holds nothing else: at worst it waits its turn.
    """
    # Robust: the caller's change is committed and stands; a flag that cannot be set (a
    # database gone meanwhile) is logged, not turned into the caller's error.
    transaction.on_commit(lambda: _rescore_flag(project_id, now=now), robust=True)


@retried
def _rescore_flag(project_id: int, *, now: bool) -> None:
    # During a burst of answers the flag is mostly set already: a plain read then, no lock.
    # A run that clears the flag after this read starts after the caller's commit: it sees
    # the caller's answers.
    if not now and rescore_waits(project_id=project_id):
        return
    queued = Project.objects.filter(pk=project_id, rescore_pending=False).update(
        rescore_pending=True
    )
    if queued or now:
        enqueue("faces.learn.project", project_id, countdown=None if now else RESCORE_DELAY_SECONDS)
