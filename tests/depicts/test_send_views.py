"""The send page, its live state endpoint, undo, and moderation in the admin."""

from __future__ import annotations

import uuid

import pytest
from django.urls import reverse

from depicts.models import DepictsEdit, WriteSwitch
from depicts.services import approval, cancel, sending
from faces.models import ProjectImage
from tests.depicts.writing import (
    FRESH,
    KNOWN,
    PERSON,
    approve,
    depicts,
    face_on,
    log_in,
    run_writes,
)
from tests.factories import LabelFactory, ProjectFactory

State = DepictsEdit.State
pytestmark = pytest.mark.django_db


def url(name: str, project, *args) -> str:
    return reverse(f"depicts:{name}", args=[project.pk, *args])


@pytest.fixture
def approved(commons, project, sender):
    edits = approve(commons, project, sender, FRESH[:2])
    for edit in edits:
        edit.image.thumb_url = f"{commons.upload_base}/thumb/{edit.pk}.jpg"
        edit.image.save()
    return edits


# --- who sees the page ----------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["owner", "member", "moderator"])
def test_the_project_people_and_moderators_see_the_preview(
    request, client_of, project, approved, persona
):
    response = client_of(request.getfixturevalue(persona)).get(url("send", project))
    body = response.content.decode()
    assert response.status_code == 200
    for edit in approved:
        assert edit.image.title in body
        assert edit.image.thumb_url in body
        assert f'value="{edit.pk}"' in body
    assert "depicts (P180) Barack Obama (Q76)" in body
    assert "pct:25,20,30,40" in body and 'data-box="25,20,30,40"' in body


def test_outsiders_are_refused_and_strangers_sent_to_log_in(client, client_of, project, outsider):
    assert client.get(url("send", project)).status_code == 302
    assert client_of(outsider).get(url("send", project)).status_code == 403
    assert client_of(outsider).post(url("confirm", project), {"edit": []}).status_code == 403
    assert client_of(outsider).get(url("states", project)).status_code == 403


def test_the_send_page_takes_ten_queries_however_many_edits(
    client_of, commons, project, sender, approved, django_assert_num_queries
):
    client = client_of(sender)
    with django_assert_num_queries(10):  # session, user, project, role, the page's six, bell
        assert client.get(url("send", project)).status_code == 200
    more = approve(commons, project, sender, FRESH[2:])
    sending.edits_queue(project=project, user=sender, edit_ids=[edit.pk for edit in more[:2]])
    with django_assert_num_queries(10):
        assert client.get(url("send", project)).status_code == 200


def test_the_page_loads_its_script_from_a_file_and_has_no_inline_script(
    client_of, project, sender, approved
):
    body = client_of(sender).get(url("send", project)).content.decode()
    assert 'type="module" src="/static/js/send.js"' in body
    assert "<script>" not in body


def test_a_stopped_switch_is_said_on_the_page(client_of, project, sender, approved):
    WriteSwitch.objects.create(pk=1, writes_enabled=False)
    body = client_of(sender).get(url("send", project)).content.decode()
    assert "stopped by a moderator" in body


# --- confirming ---------------------------------------------------------------------------


def test_confirming_sends_the_ticked_edits_under_the_users_login(
    client_of, commons, project, sender, approved, queued, django_capture_on_commit_callbacks
):
    client = client_of(sender)
    with django_capture_on_commit_callbacks(execute=True):  # the write tasks are queued
        response = client.post(url("confirm", project), {"edit": [approved[0].pk]})
    run_writes(queued)
    first, second = (DepictsEdit.objects.get(pk=edit.pk) for edit in approved)
    assert response.status_code == 302
    assert response["Location"].endswith(f"?batch={first.batch}")
    assert (first.state, first.sent_by) == (State.SENT, sender)
    assert second.state == State.APPROVED
    assert depicts(commons, FRESH[0]) == [PERSON] and depicts(commons, FRESH[1]) == []


def test_confirming_needs_a_post(client_of, project, sender, approved):
    assert client_of(sender).get(url("confirm", project)).status_code == 405


def test_an_edit_sent_meanwhile_is_not_sent_twice(client_of, project, sender, approved):
    DepictsEdit.objects.filter(pk=approved[0].pk).update(state=State.SENT)
    response = client_of(sender).post(url("confirm", project), {"edit": [approved[0].pk]})
    assert response.status_code == 302
    assert DepictsEdit.objects.filter(state=State.QUEUED).count() == 0


def test_a_user_without_a_wikimedia_login_is_told_and_nothing_is_queued(
    client_of, project, member, approved
):
    response = client_of(member).post(
        url("confirm", project), {"edit": [approved[0].pk]}, follow=True
    )
    assert "Link your Wikimedia account first" in response.content.decode()
    assert not DepictsEdit.objects.exclude(state=State.APPROVED).exists()


def test_a_local_account_is_offered_to_link_wikimedia_and_cannot_send_before(
    client_of, project, member, approved
):
    body = client_of(member).get(url("send", project)).content.decode()
    link = body[body.index('class="inline wikimedia-login"') :]
    link = link[: link.index("</form>")]
    assert 'method="post"' in link and reverse("social:begin", args=["mediawiki"]) in link
    assert f'name="next" value="{url("send", project)}"' in link
    assert "Link your Wikimedia account" in link
    send_button = body[body.index(f'action="{url("confirm", project)}"') :]
    assert send_button[: send_button.index("</button>")].count(" disabled") == 1


def test_a_linked_account_is_named_where_edits_are_sent(client_of, project, sender, approved):
    body = client_of(sender).get(url("send", project)).content.decode()
    assert "Edits are made as WikiVisage Tester on Wikimedia." in body
    assert "wikimedia-login" not in body


# --- following ----------------------------------------------------------------------------


def test_the_states_endpoint_reports_each_edit_of_a_batch(client_of, project, sender, approved):
    queued = sending.edits_queue(project=project, user=sender, edit_ids=[approved[0].pk])
    DepictsEdit.objects.filter(pk=approved[0].pk).update(state=State.FAILED, error="blocked: no")
    data = client_of(sender).get(url("states", project), {"batch": str(queued.batch)}).json()
    assert data == {
        "edits": [
            {
                "id": approved[0].pk,
                "state": "failed",
                "state_text": "Failed",
                "error": "blocked: no",
                "waiting": False,
            }
        ],
        "waiting": False,
        # The batches table follows the same poll (static/js/send.js).
        "batches": [
            {
                "batch": str(queued.batch),
                "total": 1,
                "sent": 0,
                "waiting": 0,
                "failed": 1,
                "undone": 0,
                "can_revert": False,
            }
        ],
    }
    page = client_of(sender).get(url("send", project)).content.decode()
    assert f'data-edit-id="{approved[0].pk}" data-state="failed"' in page


def test_the_states_endpoint_says_when_edits_are_still_waiting(
    client_of, project, sender, approved
):
    sending.edits_queue(project=project, user=sender, edit_ids=[e.pk for e in approved])
    data = client_of(sender).get(url("states", project)).json()
    assert data["waiting"] is True
    assert {edit["state"] for edit in data["edits"]} == {"queued"}


def test_a_malformed_batch_is_a_bad_request(client_of, project, sender):
    assert client_of(sender).get(url("states", project), {"batch": "x"}).status_code == 400


# --- proposals, withdrawals, undo ---------------------------------------------------------


def test_a_proposed_removal_is_approved_or_dismissed_by_post(client_of, commons, project, sender):
    face = face_on(commons, KNOWN, project)
    # As the crawl leaves it: the file depicts the person, its one face is a bootstrap yes.
    ProjectImage.objects.filter(image=face.image).update(depicts_person=True)
    LabelFactory(project=project, face=face, source="bootstrap")
    (proposal,) = approval.edits_reject(project=project, faces=[face], user=sender)
    client = client_of(sender)
    assert "Proposed removals" in client.get(url("send", project)).content.decode()
    assert client.get(url("approve-removal", project, proposal.pk)).status_code == 405
    client.post(url("approve-removal", project, proposal.pk))
    proposal.refresh_from_db()
    assert proposal.state == State.APPROVED
    client.post(url("withdraw", project, proposal.pk))
    proposal.refresh_from_db()
    assert proposal.state == State.CANCELLED


def test_an_edit_of_another_project_is_not_found(client_of, commons, project, sender, approved):
    other = ProjectFactory(owner=sender)
    assert client_of(sender).post(url("withdraw", other, approved[0].pk)).status_code == 404


def test_the_sender_undoes_a_batch_and_another_member_may_not(
    client_of,
    commons,
    project,
    sender,
    member,
    approved,
    queued,
    django_capture_on_commit_callbacks,
):
    client = client_of(sender)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url("confirm", project), {"edit": [e.pk for e in approved]})
    run_writes(queued)
    batch = DepictsEdit.objects.get(pk=approved[0].pk).batch
    log_in(commons, member)
    assert client_of(member).post(url("revert", project, batch)).status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        response = client_of(sender).post(url("revert", project, batch))
    run_writes(queued)
    assert response.status_code == 302
    # Removed from Commons, and back on the send page to be sent again.
    assert set(DepictsEdit.objects.values_list("state", flat=True)) == {State.APPROVED}
    assert depicts(commons, FRESH[0]) == [] and depicts(commons, FRESH[1]) == []


def test_the_page_offers_undo_only_to_the_sender(client_of, commons, project, sender, member):
    edits = approve(commons, project, sender, FRESH[:1])
    queued = sending.edits_queue(project=project, user=sender, edit_ids=[edits[0].pk])
    DepictsEdit.objects.update(state=State.SENT)
    revert_url = url("revert", project, queued.batch)
    assert revert_url in client_of(sender).get(url("send", project)).content.decode()
    assert revert_url not in client_of(member).get(url("send", project)).content.decode()
    assert client_of(sender).post(url("revert", project, uuid.uuid4())).status_code == 302


def test_undo_asks_first_with_the_count_and_only_the_sender(
    client_of, commons, project, sender, member
):
    edits = approve(commons, project, sender, FRESH[:2])
    queued = sending.edits_queue(project=project, user=sender, edit_ids=[e.pk for e in edits])
    DepictsEdit.objects.update(state=State.SENT)
    page = client_of(sender).get(url("revert", project, queued.batch)).content.decode()
    assert "Remove 2 statements from Commons" in page
    assert set(DepictsEdit.objects.values_list("state", flat=True)) == {State.SENT}
    assert client_of(member).get(url("revert", project, queued.batch)).status_code == 403


def test_a_head_request_on_the_undo_address_undoes_nothing(
    client_of, commons, project, sender, queued, django_capture_on_commit_callbacks
):
    """HEAD is a safe method (no CSRF token asked, sent by link checkers and prefetchers):
    it is answered as the confirmation page, never as the POST that undoes."""
    edits = approve(commons, project, sender, FRESH[:2])
    batch = sending.edits_queue(project=project, user=sender, edit_ids=[e.pk for e in edits])
    DepictsEdit.objects.update(state=State.SENT)
    queued.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = client_of(sender).head(url("revert", project, batch.batch))
    assert response.status_code == 200
    assert set(DepictsEdit.objects.values_list("state", flat=True)) == {State.SENT}
    assert queued == []


# --- moderation in the admin ----------------------------------------------------------------


def admin_action(client, action: str, edits) -> None:
    client.post(
        reverse("admin:depicts_depictsedit_changelist"),
        {"action": action, "_selected_action": [str(edit.pk) for edit in edits]},
    )


def test_moderators_filter_edits_by_user_project_and_state(client_of, moderator, approved):
    client = client_of(moderator)
    changelist = reverse("admin:depicts_depictsedit_changelist")
    for query in (
        "?state__exact=approved",
        f"?approved_by__id__exact={approved[0].approved_by_id}",
        f"?project__id__exact={approved[0].project_id}",
        "?sent_by__isnull=True",
    ):
        response = client.get(changelist + query)
        assert response.status_code == 200, query
    body = client.get(changelist + "?state__exact=approved").content.decode()
    assert approved[0].image.title in body
    throttles = reverse("admin:depicts_writethrottle_changelist")
    assert client.get(throttles).status_code == 200


def test_the_audit_trail_cannot_be_edited_in_the_admin(client_of, moderator, approved):
    client = client_of(moderator)
    change = reverse("admin:depicts_depictsedit_change", args=[approved[0].pk])
    page = client.get(change).content.decode()
    assert 'name="statement_id"' not in page and 'name="approved_by"' not in page
    client.post(change, {"state": "sent", "statement_id": "M1$forged"})
    approved[0].refresh_from_db()
    assert approved[0].state == State.APPROVED and approved[0].statement_id != "M1$forged"
    assert client.get(reverse("admin:depicts_depictsedit_add")).status_code == 403


def test_moderators_cancel_unsent_edits(client_of, moderator, project, sender, approved):
    sending.edits_queue(project=project, user=sender, edit_ids=[approved[0].pk])
    admin_action(client_of(moderator), "cancel", approved)
    assert set(DepictsEdit.objects.values_list("state", flat=True)) == {State.CANCELLED}


def test_turning_the_global_switch_back_on_sends_the_waiting_edits(
    client_of,
    moderator,
    commons,
    project,
    sender,
    approved,
    queued,
    django_capture_on_commit_callbacks,
):
    switch = WriteSwitch.objects.create(pk=1, writes_enabled=False)
    with django_capture_on_commit_callbacks(execute=True):
        sending.edits_queue(project=project, user=sender, edit_ids=[e.pk for e in approved])
    run_writes(queued)
    assert commons.writes == []
    change = reverse("admin:depicts_writeswitch_change", args=[switch.pk])
    with django_capture_on_commit_callbacks(execute=True):
        client_of(moderator).post(change, {"writes_enabled": "on", "reason": "lag is over"})
    run_writes(queued)
    switch.refresh_from_db()
    assert (switch.writes_enabled, switch.changed_by) == (True, moderator)
    assert set(DepictsEdit.objects.values_list("state", flat=True)) == {State.SENT}
    assert len(commons.writes) == 2


def test_deactivating_a_user_cancels_their_waiting_edits(project, sender, approved):
    sending.edits_queue(project=project, user=sender, edit_ids=[approved[0].pk])
    cancel.users_deactivate(users=type(sender).objects.filter(pk=sender.pk))
    assert set(DepictsEdit.objects.values_list("state", flat=True)) == {State.CANCELLED}
