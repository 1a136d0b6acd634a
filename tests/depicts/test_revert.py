"""Taking statements back: a proposed removal sent by a person, a batch undone, and what the
project learns when someone else removes a statement WikiVisage wrote."""

from __future__ import annotations

import pytest

from commons.client import commons_client
from depicts.models import DepictsEdit
from depicts.services import approval, common, reverts, undo
from depicts.tasks import learn_reverts, write_revert
from faces.models import Label, ProjectImage
from tests.depicts.writing import (
    FRESH,
    KNOWN,
    OTHER,
    PERSON,
    approve,
    depicts,
    face_on,
    log_in,
    queue,
    send_all,
)
from tests.factories import DepictsEditFactory, ImageFactory, LabelFactory, UserFactory

pytestmark = pytest.mark.django_db

State = DepictsEdit.State


def removals(server) -> list:
    return [write for write in server.writes if write.action == "wbremoveclaims"]


def sent_batch(commons, project, user, names=FRESH[:3]) -> list[DepictsEdit]:
    edits = approve(commons, project, user, names)
    send_all(queue(project, user, edits))
    return list(DepictsEdit.objects.filter(pk__in=[e.pk for e in edits]).order_by("pk"))


def revert(project, user, edits) -> dict[int, str]:
    undo.batch_revert(project=project, batch=edits[0].batch, user=user)
    return send_all([edit.pk for edit in edits], step=undo.edit_revert)


def statement_of(server, name: str) -> dict:
    (statement,) = server.statements(server.mid(name), "P180")
    return statement


# --- a removal proposed by a rejection -----------------------------------------------------


def bootstrap_face(commons, project, name=KNOWN):
    face = face_on(commons, name, project)
    ProjectImage.objects.filter(project=project, image=face.image).update(depicts_person=True)
    LabelFactory(project=project, face=face, source=Label.Source.BOOTSTRAP)
    return face


def test_a_rejected_bootstrap_face_removes_the_statement_only_once_approved_and_sent(
    commons, project, sender
):
    face = bootstrap_face(commons, project)
    stable_id = statement_of(commons, KNOWN)["id"]
    (removal,) = approval.edits_reject(project=project, faces=[face], user=sender)
    assert send_all([removal.pk]) == {removal.pk: State.PROPOSED}  # never on its own
    approval.removal_approve(edit=removal, user=sender)
    send_all(queue(project, sender, [removal]))
    removal.refresh_from_db()
    assert removal.state == State.SENT
    assert removal.removed_statements == [stable_id]
    assert depicts(commons, KNOWN) == []
    (write,) = removals(commons)
    assert write.user == "WikiVisage Tester" and "WikiVisage" in write.summary


def test_a_removal_whose_answer_is_lost_is_not_sent_again(commons, project, sender):
    commons.inject("drop_after_write", times=None, action="wbremoveclaims")
    (removal,) = approval.edits_reject(
        project=project, faces=[bootstrap_face(commons, project)], user=sender
    )
    approval.removal_approve(edit=removal, user=sender)
    send_all(queue(project, sender, [removal]))
    assert depicts(commons, KNOWN) == []
    assert len(removals(commons)) == 1


def test_a_statement_already_gone_is_not_removed_again(commons, project, sender):
    face = bootstrap_face(commons, project)
    commons.world.remove_statements(commons.mid(KNOWN), [statement_of(commons, KNOWN)["id"]])
    (removal,) = approval.edits_reject(project=project, faces=[face], user=sender)
    approval.removal_approve(edit=removal, user=sender)
    send_all(queue(project, sender, [removal]))
    removal.refresh_from_db()
    assert (removal.state, removal.state_text) == (State.ALREADY_PRESENT, "Already absent")
    assert commons.writes == []


def test_removing_a_statement_wikivisage_wrote_marks_that_edit_reverted(commons, project, sender):
    (added,) = sent_batch(commons, project, sender, FRESH[:1])
    (removal,) = approval.edits_reject(project=project, faces=[added.face], user=sender)
    approval.removal_approve(edit=removal, user=sender)
    send_all(queue(project, sender, [removal]))
    added.refresh_from_db()
    assert depicts(commons, FRESH[0]) == []
    assert (added.state, added.reverted_by) == (State.REVERTED, sender)
    reverts.sent_edits_check(client=commons_client())
    assert not Label.objects.filter(verdict=Label.Verdict.NO).exists()  # ours, not learnt


# --- undoing a batch -----------------------------------------------------------------------


def test_undoing_a_batch_removes_each_statement_it_added_by_its_id(commons, project, sender):
    edits = sent_batch(commons, project, sender)
    untouched = commons.statements(commons.mid(KNOWN), "P180")
    assert revert(project, sender, edits) == dict.fromkeys([e.pk for e in edits], State.REVERTED)
    assert [depicts(commons, name) for name in FRESH[:3]] == [[], [], []]
    assert commons.statements(commons.mid(KNOWN), "P180") == untouched
    assert sorted(w.statement_id for w in removals(commons)) == sorted(
        e.statement_id for e in edits
    )
    edit = DepictsEdit.objects.get(pk=edits[0].pk)
    assert (edit.reverted_by, edit.reverted_at is not None) == (sender, True)


def test_an_undone_batch_waits_on_the_send_page_again_and_can_be_sent_again(
    commons, project, sender
):
    edits = sent_batch(commons, project, sender)
    revert(project, sender, edits)
    undone = list(DepictsEdit.objects.filter(pk__in=[e.pk for e in edits]).order_by("pk"))
    assert {edit.state for edit in undone} == {State.APPROVED}
    # The record of the undone write stays: who sent it, in which batch, who undid it, when.
    for before, after in zip(edits, undone, strict=True):
        assert after.statement_id != before.statement_id
        assert (after.batch, after.sent_by, after.reverted_by) == (before.batch, sender, sender)
        assert after.reverted_at is not None
    assert [depicts(commons, name) for name in FRESH[:3]] == [[], [], []]

    send_all(queue(project, sender, undone))
    assert [depicts(commons, name) for name in FRESH[:3]] == [[PERSON]] * 3
    assert set(
        DepictsEdit.objects.filter(pk__in=[e.pk for e in edits]).values_list("state", flat=True)
    ) == {State.SENT}


def test_statements_changed_or_removed_on_commons_since_are_left_alone(commons, project, sender):
    edits = sent_batch(commons, project, sender)
    changed = statement_of(commons, FRESH[0])
    changed["qualifiers"]["P2677"][0]["datavalue"]["value"] = "pct:1,2,3,4"
    commons.world.save_statement(commons.mid(FRESH[0]), changed)
    commons.world.remove_statements(commons.mid(FRESH[1]), [edits[1].statement_id])
    states = revert(project, sender, edits)
    assert list(states.values()) == [State.SENT, State.REVERTED, State.REVERTED]
    assert "changed on Commons" in DepictsEdit.objects.get(pk=edits[0].pk).error
    gone = DepictsEdit.objects.get(pk=edits[1].pk)
    assert "already gone" in gone.error
    assert gone.state == State.REVERTED  # someone else's removal is a say: it does not come back
    assert depicts(commons, FRESH[0]) == [PERSON]  # the changed statement stays
    assert [w.statement_id for w in removals(commons)] == [edits[2].statement_id]


def test_a_revert_run_twice_or_under_faults_removes_once(commons, project, sender):
    (edit,) = sent_batch(commons, project, sender, FRESH[:1])
    commons.inject("drop_after_write", times=None, action="wbremoveclaims")
    commons.inject("maxlag", times=2, action="wbremoveclaims")
    undo.batch_revert(project=project, batch=edit.batch, user=sender)
    write_revert.apply(args=[edit.pk])
    write_revert.apply(args=[edit.pk])
    edit.refresh_from_db()
    assert edit.state == State.APPROVED  # removed, and waiting to be sent again
    assert depicts(commons, FRESH[0]) == []
    assert len(removals(commons)) == 1


def test_only_the_sender_or_a_moderator_can_undo_a_batch(commons, project, sender, member):
    edits = sent_batch(commons, project, sender)
    log_in(commons, member)
    with pytest.raises(common.EditNotAllowed):
        undo.batch_revert(project=project, batch=edits[0].batch, user=member)
    moderator = UserFactory(username="mod", is_staff=True)
    log_in(commons, moderator)
    assert undo.batch_revert(project=project, batch=edits[0].batch, user=moderator) == 3


def test_reverts_wait_while_writes_are_stopped(commons, project, sender):
    edits = sent_batch(commons, project, sender)
    project.writes_enabled = False
    project.save()
    assert set(revert(project, sender, edits).values()) == {State.REVERT_QUEUED}
    assert removals(commons) == []


# --- reverts learnt ------------------------------------------------------------------------


def test_a_statement_removed_by_someone_else_becomes_a_no_for_the_project(commons, project, sender):
    edits = sent_batch(commons, project, sender)
    commons.world.remove_statements(commons.mid(FRESH[0]), [edits[0].statement_id])
    replaced = statement_of(commons, FRESH[1])  # someone says it is another person
    replaced["mainsnak"]["datavalue"]["value"] = {"entity-type": "item", "id": OTHER}
    commons.world.save_statement(commons.mid(FRESH[1]), replaced)
    summary = reverts.sent_edits_check(client=commons_client())
    assert (summary.checked, summary.removed) == (3, 2)
    states = [DepictsEdit.objects.get(pk=edit.pk).state for edit in edits]
    assert states == [State.REMOVED, State.REMOVED, State.SENT]
    learnt = Label.objects.filter(project=project, source=Label.Source.BOOTSTRAP)
    assert {(label.face_id, label.verdict) for label in learnt} == {
        (edits[0].face_id, "no"),
        (edits[1].face_id, "no"),
    }
    links = ProjectImage.objects.filter(project=project, image__in=[e.image for e in edits[:2]])
    assert not links.filter(depicts_person=True).exists()
    assert DepictsEdit.objects.get(pk=edits[2].pk).checked_at is not None


def test_the_reverts_check_run_twice_learns_once(commons, project, sender):
    edits = sent_batch(commons, project, sender, FRESH[:2])
    commons.world.remove_statements(commons.mid(FRESH[0]), [edits[0].statement_id])
    learn_reverts.apply()
    learn_reverts.apply()
    assert Label.objects.filter(verdict=Label.Verdict.NO).count() == 1
    reads = commons.api_requests(action="wbgetentities")
    assert len(reads) >= 2  # each run read Commons again


def test_a_human_no_stays_as_the_reviewer_gave_it(commons, project, sender):
    (edit,) = sent_batch(commons, project, sender, FRESH[:1])
    human = LabelFactory(project=project, face=edit.face, verdict=Label.Verdict.YES, user=sender)
    commons.world.remove_statements(commons.mid(FRESH[0]), [edit.statement_id])
    reverts.sent_edits_check(client=commons_client())
    human.refresh_from_db()
    assert (human.source, human.verdict) == (Label.Source.HUMAN, Label.Verdict.YES)
    learnt = Label.objects.get(face=edit.face, source=Label.Source.BOOTSTRAP)
    assert learnt.verdict == Label.Verdict.NO


def test_a_file_deleted_on_commons_teaches_nothing(commons, project, sender):
    gone = DepictsEditFactory(project=project, image=ImageFactory(pageid=424242), state="sent")
    summary = reverts.sent_edits_check(client=commons_client())
    gone.refresh_from_db()
    assert (summary.removed, gone.state) == (0, State.SENT)
    assert not Label.objects.exists()


def test_the_check_reads_fifty_files_per_request(commons, project, sender):
    for number in range(120):
        DepictsEditFactory(
            project=project, image=ImageFactory(pageid=500000 + number), state="sent"
        )
    reverts.sent_edits_check(client=commons_client(), limit=120)
    reads = commons.api_requests(site="commons", action="wbgetentities")
    assert [len(read.params["ids"].split("|")) for read in reads] == [50, 50, 20]
