"""Approving and rejecting faces: what becomes a depicts edit, and what never does."""

from __future__ import annotations

import re

import pytest
from django.db import IntegrityError, transaction

from commons.oauth import NoWikimediaToken
from depicts.models import DepictsEdit
from depicts.services import approval, cancel, common, sending
from faces.models import Label, ProjectImage
from tests.depicts.writing import log_in
from tests.factories import FaceFactory, ImageFactory, LabelFactory, ProjectImageFactory

pytestmark = pytest.mark.django_db

State = DepictsEdit.State
STATEMENT_ID = re.compile(
    r"^M(\d+)\$[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$"
)


def face_in(project, image=None, **fields):
    image = image or ImageFactory()
    ProjectImage.objects.get_or_create(
        project=project, image=image, defaults={"source": "category"}
    )
    return FaceFactory(image=image, **fields)


def bootstrap_face(project):
    """A face whose file already depicts the person on Commons (a bootstrap "yes")."""
    link = ProjectImageFactory(project=project, depicts_person=True)
    face = FaceFactory(image=link.image, index=0)
    LabelFactory(project=project, face=face, source=Label.Source.BOOTSTRAP)
    return face


# --- approval ------------------------------------------------------------------------------


def test_an_approved_face_becomes_one_addition_with_its_own_statement_id(project, owner):
    face = face_in(project, left=0.1, top=0.25, width=0.123456, height=0.5)
    (edit,) = approval.edits_approve(project=project, faces=[face], user=owner)
    match = STATEMENT_ID.match(edit.statement_id)
    assert match and int(match.group(1)) == face.image.pageid
    assert (edit.state, edit.action, edit.qid) == (State.APPROVED, "add", project.qid)
    assert (edit.face, edit.approved_by) == (face, owner)
    assert edit.region == "pct:10,25,12.35,50"


def test_a_face_touching_the_image_edge_gets_a_valid_region(project, owner):
    face = face_in(project, left=0.0, top=0.0, width=0.5, height=1.0)
    (edit,) = approval.edits_approve(project=project, faces=[face], user=owner)
    assert edit.region == "pct:0,0,50,100"


def test_a_project_without_regions_approves_without_one(project, owner):
    project.write_face_region = False
    project.save()
    (edit,) = approval.edits_approve(project=project, faces=[face_in(project)], user=owner)
    assert edit.region == ""


def test_approving_twice_keeps_one_edit_and_its_statement_id(project, owner, member):
    face = face_in(project)
    (first,) = approval.edits_approve(project=project, faces=[face], user=owner)
    (again,) = approval.edits_approve(project=project, faces=[face], user=member)
    assert again.pk == first.pk
    assert again.statement_id == first.statement_id
    assert again.approved_by == member  # the latest approval is the one on record
    assert DepictsEdit.objects.count() == 1


def test_two_faces_of_one_file_make_one_edit_for_the_last_approved(project, owner):
    image = ImageFactory()
    first, second = face_in(project, image, index=0), face_in(project, image, index=1, left=0.6)
    edits = approval.edits_approve(project=project, faces=[first, second], user=owner)
    assert len(edits) == 1
    assert edits[0].face == second and edits[0].region.startswith("pct:60,")


def test_an_edit_already_on_its_way_is_not_changed_by_a_new_approval(project, owner, member):
    face = face_in(project)
    (edit,) = approval.edits_approve(project=project, faces=[face], user=owner)
    DepictsEdit.objects.filter(pk=edit.pk).update(state=State.SENT)
    approval.edits_approve(project=project, faces=[face], user=member)
    edit.refresh_from_db()
    assert (edit.state, edit.approved_by) == (State.SENT, owner)


def test_a_cancelled_edit_approved_again_keeps_its_id_a_reverted_one_gets_a_new_one(project, owner):
    face = face_in(project)
    (edit,) = approval.edits_approve(project=project, faces=[face], user=owner)
    DepictsEdit.objects.filter(pk=edit.pk).update(state=State.CANCELLED)
    (again,) = approval.edits_approve(project=project, faces=[face], user=owner)
    assert (again.state, again.statement_id) == (State.APPROVED, edit.statement_id)
    DepictsEdit.objects.filter(pk=edit.pk).update(state=State.REVERTED)
    (third,) = approval.edits_approve(project=project, faces=[face], user=owner)
    assert third.state == State.APPROVED
    assert third.statement_id != edit.statement_id


def test_an_addition_without_a_statement_id_is_refused_by_the_database(project, owner):
    image = ImageFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        DepictsEdit.objects.create(
            project=project, image=image, qid=project.qid, approved_by=owner, statement_id=None
        )


# --- rejection -----------------------------------------------------------------------------


def test_rejecting_a_face_cancels_its_unsent_edit_and_proposes_nothing(project, owner):
    face = face_in(project)
    (edit,) = approval.edits_approve(project=project, faces=[face], user=owner)
    DepictsEdit.objects.filter(pk=edit.pk).update(state=State.QUEUED)
    assert approval.edits_reject(project=project, faces=[face], user=owner) == []
    edit.refresh_from_db()
    assert edit.state == State.CANCELLED
    assert not DepictsEdit.objects.filter(action="remove").exists()


def test_rejecting_another_face_of_the_file_keeps_the_approved_one(project, owner):
    image = ImageFactory()
    yes, no = face_in(project, image, index=0), face_in(project, image, index=1)
    (edit,) = approval.edits_approve(project=project, faces=[yes], user=owner)
    approval.edits_reject(project=project, faces=[no], user=owner)
    edit.refresh_from_db()
    assert edit.state == State.APPROVED


def test_a_claimed_edit_is_not_cancelled_under_the_writer(project, owner):
    face = face_in(project)
    (edit,) = approval.edits_approve(project=project, faces=[face], user=owner)
    DepictsEdit.objects.filter(pk=edit.pk).update(state=State.SENDING)
    approval.edits_reject(project=project, faces=[face], user=owner)
    edit.refresh_from_db()
    assert edit.state == State.SENDING


def test_rejecting_a_bootstrap_face_proposes_a_removal_never_approves_it(project, owner):
    face = bootstrap_face(project)
    (proposal,) = approval.edits_reject(project=project, faces=[face], user=owner)
    assert (proposal.action, proposal.state, proposal.statement_id) == ("remove", "proposed", None)
    again = approval.edits_reject(project=project, faces=[face], user=owner)
    assert [edit.pk for edit in again] == [proposal.pk]
    assert DepictsEdit.objects.count() == 1


def test_rejecting_a_face_whose_statement_wikivisage_sent_proposes_its_removal(project, owner):
    face = face_in(project)
    (edit,) = approval.edits_approve(project=project, faces=[face], user=owner)
    DepictsEdit.objects.filter(pk=edit.pk).update(state=State.SENT)
    (proposal,) = approval.edits_reject(project=project, faces=[face], user=owner)
    assert proposal.action == "remove"


def test_approving_the_face_again_withdraws_the_proposed_removal(project, owner):
    face = bootstrap_face(project)
    (proposal,) = approval.edits_reject(project=project, faces=[face], user=owner)
    approval.edits_approve(project=project, faces=[face], user=owner)
    proposal.refresh_from_db()
    assert proposal.state == State.CANCELLED


def test_a_proposed_removal_is_approved_by_a_person_then_can_be_queued(
    commons, project, owner, member
):
    log_in(commons, member)
    (proposal,) = approval.edits_reject(
        project=project, faces=[bootstrap_face(project)], user=owner
    )
    assert sending.edits_queue(project=project, user=member, edit_ids=[proposal.pk]).count == 0
    approval.removal_approve(edit=proposal, user=member)
    proposal.refresh_from_db()
    assert (proposal.state, proposal.approved_by) == (State.APPROVED, member)
    assert sending.edits_queue(project=project, user=member, edit_ids=[proposal.pk]).count == 1
    with pytest.raises(common.EditNotAllowed):
        approval.removal_approve(edit=proposal, user=member)


def test_withdrawing_takes_an_edit_off_the_send_page_once(project, owner):
    (edit,) = approval.edits_approve(project=project, faces=[face_in(project)], user=owner)
    approval.edit_withdraw(edit=edit)
    edit.refresh_from_db()
    assert edit.state == State.CANCELLED
    with pytest.raises(common.EditNotAllowed):
        approval.edit_withdraw(edit=edit)


# --- confirming ----------------------------------------------------------------------------


def test_queueing_takes_only_this_projects_approved_edits_into_one_batch(
    commons, project, owner, member
):
    log_in(commons, member)
    mine = approval.edits_approve(project=project, faces=[face_in(project)], user=owner)
    others = approval.edits_approve(
        project=ProjectImageFactory().project, faces=[FaceFactory()], user=owner
    )
    ids = [mine[0].pk, others[0].pk]
    queued = sending.edits_queue(project=project, user=member, edit_ids=ids)
    assert queued.count == 1
    edit = DepictsEdit.objects.get(pk=mine[0].pk)
    assert (edit.state, edit.sent_by, edit.batch) == (State.QUEUED, member, queued.batch)
    assert DepictsEdit.objects.get(pk=others[0].pk).state == State.APPROVED
    assert sending.edits_queue(project=project, user=member, edit_ids=ids).count == 0


def test_a_user_without_a_wikimedia_login_cannot_queue(project, owner, writer_settings):
    (edit,) = approval.edits_approve(project=project, faces=[face_in(project)], user=owner)
    with pytest.raises(NoWikimediaToken):
        sending.edits_queue(project=project, user=owner, edit_ids=[edit.pk])
    edit.refresh_from_db()
    assert edit.state == State.APPROVED


def test_cancelling_for_moderation_leaves_sent_edits_alone(project, owner):
    edits = [
        approval.edits_approve(project=project, faces=[face_in(project)], user=owner)[0]
        for _ in range(3)
    ]
    DepictsEdit.objects.filter(pk=edits[0].pk).update(state=State.SENT)
    DepictsEdit.objects.filter(pk=edits[1].pk).update(state=State.QUEUED)
    assert cancel.edits_cancel(edits=DepictsEdit.objects.all()) == 2
    states = dict(DepictsEdit.objects.values_list("pk", "state"))
    assert states == {edits[0].pk: "sent", edits[1].pk: "cancelled", edits[2].pk: "cancelled"}
