"""A group's send page: every person's approved edits previewed together and queued as one
batch, one P180 per file and person, each with its own region (issue #25)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from depicts.models import DepictsEdit
from depicts.services import approval, sending
from projects.models import GroupPerson, Notification, Project, ProjectGroup, Withholding
from tests.depicts.writing import FRESH, OTHER, PERSON, approve, depicts, image_of, run_writes
from tests.factories import FaceFactory, MembershipFactory, ProjectFactory, UserFactory

State = DepictsEdit.State
pytestmark = pytest.mark.django_db

# Douglas Adams's face on the same photo as Barack Obama's, elsewhere in the picture.
ADAMS_BOX = {"left": 0.6, "top": 0.1, "width": 0.2, "height": 0.3}


@pytest.fixture
def adams(owner):
    return ProjectFactory(
        owner=owner, qid=OTHER, category="Barack Obama", person_labels={"en": "Douglas Adams"}
    )


@pytest.fixture
def group(owner, project, adams):
    group = ProjectGroup.objects.create(owner=owner, name="Obama and Adams")
    for position, member in enumerate((project, adams)):
        GroupPerson.objects.create(group=group, project=member, position=position)
    return group


@pytest.fixture
def approved(commons, project, adams, sender):
    """Obama on two photos; Adams on the first of them, with a face of his own."""
    obama = approve(commons, project, sender, FRESH[:2])
    face = FaceFactory(image=image_of(commons, FRESH[0], adams), index=1, **ADAMS_BOX)
    (edit,) = approval.edits_approve(project=adams, faces=[face], user=sender)
    return [*obama, edit]


def send_url(group) -> str:
    return reverse("projects:group-send", args=[group.pk])


def post_all(client, group, edits, capture):
    with capture(execute=True):  # the write tasks are queued as the transaction commits
        return client.post(send_url(group), {"edit": [edit.pk for edit in edits]})


def test_the_group_page_links_to_its_send_page(client_of, sender, group):
    body = client_of(sender).get(group.get_absolute_url()).content.decode()
    assert f'href="{send_url(group)}"' in body and "Send all people" in body


def test_the_preview_shows_every_persons_edits_with_their_regions(
    client_of, sender, group, approved
):
    body = client_of(sender).get(send_url(group)).content.decode()
    for edit in approved:
        assert f'value="{edit.pk}"' in body
    assert "Barack Obama <small>(Q76)</small>" in body
    assert "Douglas Adams <small>(Q42)</small>" in body
    assert "depicts (P180) Douglas Adams (Q42)" in body and "pct:60,10,20,30" in body
    assert "depicts (P180) Barack Obama (Q76)" in body and "pct:25,20,30,40" in body


def test_one_post_sends_every_persons_edits_in_one_batch(
    client_of, commons, sender, group, approved, queued, django_capture_on_commit_callbacks
):
    response = post_all(client_of(sender), group, approved, django_capture_on_commit_callbacks)
    edits = list(DepictsEdit.objects.filter(pk__in=[edit.pk for edit in approved]))
    (batch,) = {edit.batch for edit in edits}
    assert batch is not None and {edit.state for edit in edits} == {State.QUEUED}
    assert response.status_code == 302
    assert response["Location"] == f"{send_url(group)}?batch={batch}"
    page = client_of(sender).get(response["Location"]).content.decode()
    assert "3 statements queued in one batch." in page
    run_writes(queued)
    assert set(DepictsEdit.objects.values_list("state", flat=True)) == {State.SENT}
    assert sorted(depicts(commons, FRESH[0])) == sorted([PERSON, OTHER])
    assert depicts(commons, FRESH[1]) == [PERSON]
    regions = {
        statement["mainsnak"]["datavalue"]["value"]["id"]: statement["qualifiers"]["P2677"][0][
            "datavalue"
        ]["value"]
        for statement in commons.statements(commons.mid(FRESH[0]), "P180")
    }
    assert regions == {PERSON: "pct:25,20,30,40", OTHER: "pct:60,10,20,30"}


def test_an_edit_of_a_project_outside_the_group_is_not_sent(
    client_of, commons, owner, sender, group, approved, queued, django_capture_on_commit_callbacks
):
    outside = ProjectFactory(
        owner=owner, qid="Q5", category="Barack Obama", person_labels={"en": "Someone"}
    )
    (stray,) = approve(commons, outside, sender, FRESH[2:3])
    post_all(client_of(sender), group, [*approved, stray], django_capture_on_commit_callbacks)
    run_writes(queued)
    assert DepictsEdit.objects.get(pk=stray.pk).state == State.APPROVED
    assert depicts(commons, FRESH[2]) == []
    # Nor through the service, whatever ids it is given.
    queued_batch = sending.edits_queue_many(
        projects=[Project.objects.get(pk=approved[0].project_id)],
        user=sender,
        edit_ids=[stray.pk],
    )
    assert queued_batch.count == 0
    assert DepictsEdit.objects.get(pk=stray.pk).state == State.APPROVED


def test_a_member_of_only_some_of_the_people_is_refused(
    client_of, commons, project, group, approved
):
    reviewer = UserFactory(username="half")
    MembershipFactory(project=project, user=reviewer)
    client = client_of(reviewer)
    assert client.get(send_url(group)).status_code == 403
    assert client.post(send_url(group), {"edit": [approved[0].pk]}).status_code == 403
    assert not DepictsEdit.objects.exclude(state=State.APPROVED).exists()


def test_strangers_are_sent_to_log_in(client, group, approved):
    assert client.post(send_url(group), {"edit": [approved[0].pk]}).status_code == 302
    assert not DepictsEdit.objects.exclude(state=State.APPROVED).exists()


@pytest.mark.parametrize("path", ["group", "single"])
def test_a_paused_person_waits_as_on_their_own_send_page(
    client_of,
    commons,
    moderator,
    project,
    adams,
    sender,
    group,
    approved,
    queued,
    django_capture_on_commit_callbacks,
    path,
):
    Project.objects.filter(pk=adams.pk).moderate(by=moderator, moderation="paused")
    client = client_of(sender)
    if path == "group":
        assert "stopped for this person" in client.get(send_url(group)).content.decode()
        post_all(client, group, approved, django_capture_on_commit_callbacks)
    else:
        with django_capture_on_commit_callbacks(execute=True):
            confirm = reverse("depicts:confirm", args=[adams.pk])
            client.post(confirm, {"edit": [approved[2].pk]})
    run_writes(queued)
    assert DepictsEdit.objects.get(pk=approved[2].pk).state == State.QUEUED
    assert OTHER not in depicts(commons, FRESH[0])


def test_an_edit_the_policy_refuses_is_cancelled_with_its_reason(
    client_of, sender, group, approved, django_capture_on_commit_callbacks
):
    Withholding.objects.create(kind=Withholding.Kind.PERSON, value=OTHER)
    response = post_all(client_of(sender), group, approved, django_capture_on_commit_callbacks)
    page = client_of(sender).get(response["Location"]).content.decode()
    assert "2 statements queued in one batch." in page
    assert "1 edit cannot be written" in page
    adams_edit = DepictsEdit.objects.get(pk=approved[2].pk)
    assert adams_edit.state == State.CANCELLED and "withheld" in adams_edit.error
    # The batch's table says it, beside the person and the file.
    row = page[page.index(f'data-edit-id="{adams_edit.pk}"') :]
    row = row[: row.index("</tr>")]
    assert "Douglas Adams" in row and FRESH[0] in row and adams_edit.error in row


def test_a_user_without_a_wikimedia_login_is_told_and_nothing_is_queued(
    client_of, project, adams, group, approved
):
    both = UserFactory(username="both")
    for member in (project, adams):
        MembershipFactory(project=member, user=both)
    client = client_of(both)
    assert 'id="wikimedia-account"' in client.get(send_url(group)).content.decode()
    response = client.post(send_url(group), {"edit": [edit.pk for edit in approved]}, follow=True)
    assert "Link your Wikimedia account first" in response.content.decode()
    assert not DepictsEdit.objects.exclude(state=State.APPROVED).exists()


def test_each_persons_members_are_told_of_their_part_of_the_batch(
    client_of, project, adams, sender, group, approved, queued, django_capture_on_commit_callbacks
):
    MembershipFactory(project=adams, user=UserFactory(username="adams fan"))
    post_all(client_of(sender), group, approved, django_capture_on_commit_callbacks)
    run_writes(queued)
    notes = Notification.objects.filter(kind=Notification.Kind.SEND_FINISHED)
    told = {(note.project_id, note.recipient.username): note.params for note in notes}
    assert told[(project.pk, "owner")] == {"sent": 2, "failed": 0}
    assert told[(adams.pk, "adams fan")] == {"sent": 1, "failed": 0}


def test_the_preview_takes_as_many_queries_however_many_edits(
    client_of, commons, project, sender, group, approved
):
    client = client_of(sender)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(send_url(group)).status_code == 200
        return len(captured)

    before = queries()
    approve(commons, project, sender, FRESH[2:])
    # session, user, group, its people and their projects, the edits, the switch, the
    # Wikimedia login, the bell
    assert queries() == before == 8
