"""The write policy is asked once per batch: approving a grid page and queueing the send
page's choice cost the same queries for 10 faces as for 40 (STYLE.md rule 8), and a batch
gets, edit by edit, the answers each edit would get on its own."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from depicts import policy
from depicts.models import DepictsEdit
from depicts.services import approval
from faces.models import Image
from projects.models import Withholding
from tests.ui.conftest import photos_of, score

pytestmark = pytest.mark.django_db
pytest_plugins = ["tests.depicts.writing"]

State = DepictsEdit.State

# session, user, project; the chosen faces, which are sensitive; the answers (savepoint, the
# answers, the labels, the faces' fingerprints, priorities, leases, re-scoring, release); the
# edits (savepoint, those there, one INSERT, those inserted, the removals withdrawn); the
# policy (people, projects, images, withholdings, retired faces, the switch, the holds; release)
APPROVE_QUERIES = 26
# session, user, project, the approved edits (form); the token; the chosen edits; the policy
# (people, projects, images, withholdings, retired faces, the switch, the holds); the update
# and the queued ids (savepoint, release around them)
QUEUE_QUERIES = 17


def approve_url(project) -> str:
    return reverse("projects:suggestions-approve", args=[project.pk])


@pytest.mark.parametrize("count", [10, 40])
def test_approving_a_grid_page_takes_the_same_queries_for_10_faces_as_for_40(
    client_of, project, sender, django_assert_num_queries, count
):
    faces = photos_of(project, count)
    score(project, faces, [0.9] * count)
    client = client_of(sender)
    with django_assert_num_queries(APPROVE_QUERIES):
        response = client.post(approve_url(project), {"face": [face.pk for face in faces]})
    assert response.status_code == 302
    assert DepictsEdit.objects.filter(state=State.APPROVED).count() == count


@pytest.mark.parametrize("count", [10, 40])
def test_queueing_the_send_pages_choice_takes_the_same_queries_for_10_edits_as_for_40(
    client_of, project, sender, django_assert_num_queries, count
):
    edits = approval.edits_approve(project=project, faces=photos_of(project, count), user=sender)
    client = client_of(sender)
    with django_assert_num_queries(QUEUE_QUERIES):
        response = client.post(
            reverse("depicts:confirm", args=[project.pk]), {"edit": [edit.pk for edit in edits]}
        )
    assert response.status_code == 302
    assert DepictsEdit.objects.filter(state=State.QUEUED).count() == count


def test_a_withheld_file_among_a_grid_page_is_the_only_one_refused(client_of, project, sender):
    faces = photos_of(project, 5)
    score(project, faces, [0.9] * 5)
    held = faces[2].image
    Withholding.objects.create(kind="file", value=held.title, reason="Asked by the person")
    response = client_of(sender).post(
        approve_url(project), {"face": [face.pk for face in faces]}, follow=True
    )
    cancelled = DepictsEdit.objects.filter(state=State.CANCELLED)
    assert list(cancelled.values_list("image_id", flat=True)) == [held.pk]
    assert DepictsEdit.objects.filter(state=State.APPROVED).count() == 4
    assert f"{held.title} cannot be written" in response.content.decode()


def test_a_batch_gets_each_edits_own_answer(project, sender, member):
    """Several reasons in one batch, each on its own edit, as write_refusal gives them."""
    faces = photos_of(project, 5)
    edits = approval.edits_approve(project=project, faces=faces[:3], user=sender)
    edits += approval.edits_approve(project=project, faces=faces[3:], user=member)
    Withholding.objects.create(kind="file", value=edits[0].image.title, reason="Asked")
    Image.objects.filter(pk=edits[1].image_id).update(sha1="a" * 40)  # not a refusal here
    faces[2].retire(index=1000)
    User.objects.filter(pk=member.pk).update(is_active=False)
    edits = [DepictsEdit.objects.get(pk=edit.pk) for edit in edits]
    asked = policy.write_refusals(edits, step=policy.Step.QUEUE, actor=sender)
    alone = [policy.write_refusal(edit, step=policy.Step.QUEUE, actor=sender) for edit in edits]
    codes = [refusal.code if refusal else None for refusal in asked]
    assert codes == ["file_withheld", None, "face_retired", "deactivated", "deactivated"]
    assert asked == alone
