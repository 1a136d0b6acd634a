"""One write policy, asked at every step: approve, queue, send (after the Wikidata item is
resolved, right before the write) and undo. Each reason is tried at each step against the
stand-in through the real client; what Commons holds is read back from the stand-in.

A final reason cancels the edit with its reason (a deleted file fails it, as before); a hold
or a switch leaves it waiting; an undo takes a statement away, so withholding, the new-upload
wait and re-uploads never stop one."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone

from commons.client import commons_client
from commons.files import fetch_file_state
from depicts import policy
from depicts.models import DepictsEdit, WriteSwitch
from depicts.services import approval, sending, undo
from faces.models import Face, Image
from faces.services import images
from projects.models import Project, Withholding
from projects.services import project_archive, projects_withhold
from tests.depicts.writing import (
    FRESH,
    PERSON,
    REDIRECT,
    approve,
    depicts,
    face_on,
    queue_only,
    send_all,
    setclaims,
)
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db

pytest_plugins = ["tests.depicts.writing"]

State = DepictsEdit.State
NAME = FRESH[0]
TITLE = f"File:{NAME}"
ELSEWHERE = "Obama family portraits"  # a category of the file the project never crawled


@dataclass
class World:
    """What a reason acts on: the stand-in, the project, who approves, who sends."""

    commons: object
    project: Project
    approver: User
    sender: User
    moderator: User


def withhold(kind: str, value: str) -> Withholding:
    return Withholding.objects.create(kind=kind, value=value, reason="Asked by the person")


def image() -> Image:
    return Image.objects.get(title=TITLE)


def stop(world: World, **changes: object) -> None:
    Project.objects.filter(pk=world.project.pk).moderate(by=world.moderator, **changes)


def deactivate(user: User) -> None:
    # Straight on the row: users_deactivate would cancel the edits itself, before any step.
    User.objects.filter(pk=user.pk).update(is_active=False)


def retire(world: World) -> None:
    for face in Face.objects.filter(image=image()):
        face.retire(index=images.RETIRED_INDEX_BASE)


@dataclass(frozen=True)
class Reason:
    code: str
    apply: Callable[[World], object]
    final: bool = True
    steps: frozenset[str] = frozenset({"approve", "queue", "send"})  # where it refuses
    text: str = ""  # in the reason given


ADDS = frozenset({"approve", "queue", "send"})
ALL = ADDS | {"undo"}
REASONS = [
    Reason("global switch", lambda w: WriteSwitch.objects.create(pk=1, writes_enabled=False),
           final=False, steps=ALL, text=policy.WRITES_STOPPED),
    Reason("owner writes off",
           lambda w: Project.objects.filter(pk=w.project.pk).update(writes_enabled=False),
           final=False, steps=ALL, text=policy.WRITES_STOPPED),
    Reason("owner archive", lambda w: project_archive(project=w.project),
           final=False, steps=ALL, text=policy.WRITES_STOPPED),
    Reason("moderator pause", lambda w: stop(w, moderation=Project.Moderation.PAUSED),
           final=False, steps=ALL, text=policy.WRITES_STOPPED),
    Reason("moderator archive", lambda w: stop(w, moderation=Project.Moderation.ARCHIVED),
           final=False, steps=ALL, text=policy.WRITES_STOPPED),
    Reason("moderator stops writes", lambda w: stop(w, moderator_writes_stopped=True),
           final=False, steps=ALL, text=policy.WRITES_STOPPED),
    Reason("person withheld", lambda w: withhold("person", PERSON), text="Q76 is withheld"),
    Reason("file withheld", lambda w: withhold("file", TITLE), text="the file is withheld"),
    Reason("project's category withheld", lambda w: withhold("category", "Barack Obama"),
           text="withheld category Barack Obama"),
    # Only the writer asks Commons (no call to Wikimedia from a web request).
    Reason("another category on Commons withheld",
           lambda w: (w.commons.world.categorise(NAME, ELSEWHERE), withhold("category", ELSEWHERE)),
           steps=frozenset({"send"}), text=f"withheld category {ELSEWHERE}"),
    Reason("new upload",
           lambda w: Image.objects.filter(title=TITLE).update(uploaded_at=timezone.now()),
           text="uploaded less than 48 hours ago"),
    Reason("face retired", retire, text=policy.FACE_RETIRED),
    Reason("re-uploaded on Commons",
           lambda w: Image.objects.filter(title=TITLE).update(sha1="0" * 40),
           steps=frozenset({"send"}), text=policy.FACE_RETIRED),
    Reason("file deleted", lambda w: w.commons.world.delete_file(NAME),
           steps=frozenset({"send"}), text=policy.FILE_DELETED),
    Reason("approver deactivated", lambda w: deactivate(w.approver),
           steps=ADDS, text="the user who approved it was deactivated"),
    Reason("sender deactivated", lambda w: deactivate(w.sender),
           steps=frozenset({"queue", "send", "undo"}), text="deactivated"),
]  # fmt: skip


# --- the steps: each runs one edit up to its step, with the reason arising just before ------


def at_approve(world: World, reason: Reason, monkeypatch) -> DepictsEdit:
    face = face_on(world.commons, NAME, world.project)
    reason.apply(world)
    approver = User.objects.get(pk=world.approver.pk)  # as the request would load them
    (edit,) = approval.edits_approve(project=world.project, faces=[face], user=approver)
    return edit


def at_queue(world: World, reason: Reason, monkeypatch) -> DepictsEdit:
    (edit,) = approve(world.commons, world.project, world.approver, [NAME])
    reason.apply(world)
    queue_only(world.project, User.objects.get(pk=world.sender.pk), [edit])
    return edit


def at_send(world: World, reason: Reason, monkeypatch) -> DepictsEdit:
    """The reason arises while the writer resolves the item: after every earlier check."""
    (edit,) = approve(world.commons, world.project, world.approver, [NAME])
    queue_only(world.project, world.sender, [edit])
    resolve = sending._resolve

    def resolve_then(qid, sleep):
        person = resolve(qid, sleep)
        reason.apply(world)
        return person

    monkeypatch.setattr(sending, "_resolve", resolve_then)
    send_all([edit.pk])
    return edit


def at_undo(world: World, reason: Reason, monkeypatch) -> DepictsEdit:
    """The reason arises while the undo reads the file: after the undo was queued."""
    (edit,) = approve(world.commons, world.project, world.approver, [NAME])
    send_all(queue_only(world.project, world.sender, [edit]))
    edit.refresh_from_db()
    undo.batch_revert(project=world.project, batch=edit.batch, user=world.sender)
    read = undo.depicts_of_page

    def read_then(client, pageid):
        statements = read(client, pageid)
        reason.apply(world)
        return statements

    monkeypatch.setattr(undo, "depicts_of_page", read_then)
    send_all([edit.pk], step=undo.edit_revert)
    return edit


STEPS = {"approve": at_approve, "queue": at_queue, "send": at_send, "undo": at_undo}
# Where an edit stands after each step: refused for good, held, or let through.
REFUSED = {"approve": State.CANCELLED, "queue": State.CANCELLED, "send": State.CANCELLED,
           "undo": State.SENT}  # fmt: skip
HELD = {"approve": State.APPROVED, "queue": State.QUEUED, "send": State.QUEUED,
        "undo": State.REVERT_QUEUED}  # fmt: skip
# An undo that goes through takes the statement off Commons and leaves the edit approved again,
# unsent (``undo.undone_back_to_approved``).
THROUGH = {"approve": State.APPROVED, "queue": State.QUEUED, "undo": State.APPROVED}


@pytest.fixture
def world(commons, project, sender, member, moderator) -> World:
    return World(commons, project, approver=member, sender=sender, moderator=moderator)


# A file deleted while its undo runs: the statement went with it, and the removal fails on a
# missing entity (tests/depicts/test_revert.py); no reason of the policy is involved.
CASES = [
    pytest.param(reason, step, id=f"{reason.code}-{step}")
    for reason in REASONS
    for step in STEPS
    if (reason.code, step) != ("file deleted", "undo")
]


@pytest.mark.parametrize(("reason", "step"), CASES)
def test_every_reason_is_asked_at_every_step(world, monkeypatch, reason, step):
    edit = STEPS[step](world, reason, monkeypatch)
    edit.refresh_from_db()
    refused = step in reason.steps
    if not refused:
        assert (edit.state, edit.error) == (THROUGH[step], "")
    elif reason.final:
        failed = reason.code == "file deleted" and step == "send"
        assert edit.state == (State.FAILED if failed else REFUSED[step])
        assert reason.text in edit.error
    else:
        assert edit.state == HELD[step]
        # Approving and queueing are no writes: a hold only keeps the edit waiting.
        assert edit.error == (reason.text if step in ("send", "undo") else "")
    if step in ("approve", "queue"):
        send_all([edit.pk])  # whatever a task would do with it now
    if step != "undo":
        assert setclaims(world.commons) == []
    elif refused:
        assert depicts(world.commons, NAME) == [PERSON]  # the statement stays
    else:
        assert depicts(world.commons, NAME) == []


# --- the findings ----------------------------------------------------------------------------


def test_a_file_withheld_while_its_edit_is_being_sent_is_not_written(
    commons, project, sender, monkeypatch
):
    (edit,) = approve(commons, project, sender, [NAME])
    queue_only(project, sender, [edit])
    read = sending._depicts_of_existing

    def read_then_withhold(client, pageid):
        statements = read(client, pageid)
        withhold("file", TITLE)  # saved in the admin while the edit is "sending"
        return statements

    monkeypatch.setattr(sending, "_depicts_of_existing", read_then_withhold)
    assert send_all([edit.pk]) == {edit.pk: State.CANCELLED}
    assert setclaims(commons) == [] and depicts(commons, NAME) == []


def test_a_withheld_person_stays_withheld_when_a_moderator_lifts_the_archive(
    commons, project, sender, moderator
):
    projects_withhold(withholding=withhold("person", PERSON), by=moderator)
    project.refresh_from_db()
    assert project.moderation == Project.Moderation.ARCHIVED
    Project.objects.filter(pk=project.pk).moderate(by=moderator, moderation="none")
    (edit,) = approve(commons, project, sender, [NAME])
    assert (edit.state, edit.error) == (State.CANCELLED, f"{PERSON} {policy.PERSON_WITHHELD}")
    DepictsEdit.objects.filter(pk=edit.pk).update(state=State.APPROVED, error="")
    assert queue_only(project, sender, [edit]) and _state(edit) == State.CANCELLED
    DepictsEdit.objects.filter(pk=edit.pk).update(state=State.QUEUED, error="")
    assert send_all([edit.pk]) == {edit.pk: State.CANCELLED}
    assert setclaims(commons) == []


def test_a_person_withheld_behind_a_redirect_is_refused_once_the_writer_resolves_it(
    commons, sender
):
    project = ProjectFactory(owner=sender, qid=REDIRECT, category="Barack Obama")
    (edit,) = approve(commons, project, sender, [NAME])
    withhold("person", PERSON)  # the item the redirect leads to
    assert send_all(queue_only(project, sender, [edit])) == {edit.pk: State.CANCELLED}
    edit.refresh_from_db()
    assert edit.error.startswith(f"{PERSON} is withheld")
    assert setclaims(commons) == []


def test_a_file_in_a_withheld_subcategory_is_not_written(commons, project, sender):
    commons.world.categorise(NAME, "Barack Obama with his daughters")
    (edit,) = approve(commons, project, sender, [NAME])  # crawled before the withholding
    withhold("category", "Barack Obama with his daughters")
    assert send_all(queue_only(project, sender, [edit])) == {edit.pk: State.CANCELLED}
    assert setclaims(commons) == []


def test_a_reupload_seen_while_the_item_is_resolved_stops_the_write(
    commons, project, sender, monkeypatch
):
    (edit,) = approve(commons, project, sender, [NAME])
    queue_only(project, sender, [edit])
    resolve = sending._resolve

    def resolve_while_recrawled(qid, sleep):
        person = resolve(qid, sleep)
        edit.face.retire(index=images.RETIRED_INDEX_BASE)  # a crawl saw new bytes
        return person

    monkeypatch.setattr(sending, "_resolve", resolve_while_recrawled)
    assert send_all([edit.pk]) == {edit.pk: State.CANCELLED}
    assert _error(edit) == policy.FACE_RETIRED and setclaims(commons) == []


@pytest.mark.parametrize("step", ["approve", "queue", "send"])
def test_a_face_drawn_on_a_new_upload_is_never_written_within_the_wait(
    commons, project, sender, member, step
):
    face = face_on(commons, NAME, project, origin=Face.Origin.DRAWN)
    just_uploaded = {"uploaded_at": timezone.now() - timedelta(hours=1)}
    if step == "approve":
        Image.objects.filter(pk=face.image_id).update(**just_uploaded)
    (edit,) = approval.edits_approve(project=project, faces=[face], user=member)
    if step == "queue":
        Image.objects.filter(pk=face.image_id).update(**just_uploaded)
    queue_only(project, sender, [edit])
    if step == "send":
        Image.objects.filter(pk=face.image_id).update(**just_uploaded)
    send_all([edit.pk])
    assert _state(edit) == State.CANCELLED
    assert "uploaded less than 48 hours ago" in _error(edit)
    assert setclaims(commons) == []


def test_a_removal_approved_on_a_new_upload_is_cancelled_with_its_reason(commons, project, sender):
    face = face_on(commons, NAME, project)
    proposal = approval._propose_removal(project, face, sender)  # a rejected "yes"
    Image.objects.filter(pk=face.image_id).update(uploaded_at=timezone.now())
    edit = approval.removal_approve(edit=proposal, user=sender)
    assert edit.state == State.CANCELLED and "uploaded less than" in edit.error


def test_a_new_upload_is_written_once_the_wait_is_over(commons, project, sender):
    face = face_on(commons, NAME, project)
    Image.objects.filter(pk=face.image_id).update(uploaded_at=timezone.now() - timedelta(days=3))
    (edit,) = approval.edits_approve(project=project, faces=[face], user=sender)
    assert send_all(queue_only(project, sender, [edit])) == {edit.pk: State.SENT}


def test_a_refusal_at_queue_is_shown_on_the_send_page_with_its_reason(
    client_of, commons, project, sender
):
    (edit,) = approve(commons, project, sender, [NAME])
    withhold("file", TITLE)
    queued = queue_only(project, sender, [edit])
    page = client_of(sender).get(reverse("depicts:send", args=[project.pk]))
    assert queued and "the file is withheld: nothing is written to it" in page.content.decode()


def test_an_approval_refused_in_the_grid_says_why_there_and_on_the_send_page(
    client_of, commons, project, sender
):
    face = face_on(commons, NAME, project)
    withhold("file", TITLE)
    client = client_of(sender)
    url = reverse("projects:suggestions-approve", args=[project.pk])
    grid = client.post(url, {"face": [face.pk]}, follow=True).content.decode()
    assert "0 photos approved" in grid
    assert f"{TITLE} cannot be written: the file is withheld" in grid
    page = client.get(reverse("depicts:send", args=[project.pk])).content.decode()
    assert "the file is withheld: nothing is written to it" in page


def test_the_admin_lists_each_refused_edit_with_its_reason(
    client_of, commons, project, sender, moderator
):
    (edit,) = approve(commons, project, sender, [NAME])
    withhold("person", PERSON)
    queue_only(project, sender, [edit])
    listing = client_of(moderator).get(reverse("admin:depicts_depictsedit_changelist"))
    assert f"{PERSON} {policy.PERSON_WITHHELD}" in listing.content.decode()


# --- the stand-in and the client ---------------------------------------------------------


def test_the_writer_asks_commons_for_every_category_of_the_file(commons, sender):
    extra = [f"Extra {number:02}" for number in range(12)]
    for name in extra:
        commons.world.categorise(NAME, name, hidden=name.endswith("1"))
    pageid = commons.world.file(NAME).pageid
    with commons_client() as client:
        state = fetch_file_state(client, pageid=pageid)
        pages = list(client.iter_continued(_categories_query(pageid, limit=5)))
    assert state.exists and state.title == TITLE and state.sha1
    assert state.categories == {"Barack Obama", *extra}
    assert len(pages) == 3  # 13 categories, five an answer: clcontinue
    commons.world.delete_file(NAME)
    with commons_client() as client:
        assert not fetch_file_state(client, pageid=pageid).exists


def _categories_query(pageid: int, *, limit: int) -> dict:
    return {"action": "query", "prop": "categories", "pageids": pageid, "cllimit": limit}


def _state(edit: DepictsEdit) -> str:
    edit.refresh_from_db()
    return edit.state


def _error(edit: DepictsEdit) -> str:
    edit.refresh_from_db()
    return edit.error
