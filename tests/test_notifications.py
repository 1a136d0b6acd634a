"""Notifications: who is told of what, once, on the site and by e-mail, in their language."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone, translation

from commons.client import commons_client
from core.retry import RetryPolicy
from depicts.models import DepictsEdit
from depicts.services import approval
from faces.models import Face, Image, Label, ProjectImage
from faces.services import bootstrap, detect, processing, scoring
from faces.services import crawl as crawl_service
from projects import notifications, tasks
from projects.models import Membership, Notification
from tests.depicts.writing import FRESH, approve, image_of, queue_only, send_all
from tests.factories import (
    FaceFactory,
    ImageFactory,
    LabelFactory,
    MembershipFactory,
    ProjectFactory,
    ProjectImageFactory,
    UserFactory,
)
from tests.pipeline.conftest import write_bad_files

pytestmark = pytest.mark.django_db

Kind = Notification.Kind
EMAIL_TASK = "projects.default.notification_email"


def told(project, kind: str | None = None) -> dict[str, list[str]]:
    """Who was told of what in ``project``: username → kinds."""
    rows = Notification.objects.filter(project=project).select_related("recipient")
    if kind is not None:
        rows = rows.filter(kind=kind)
    result: dict[str, list[str]] = {}
    for row in rows.order_by("pk"):
        result.setdefault(row.recipient.username, []).append(row.kind)
    return result


def run_email_tasks(queued) -> None:
    """The e-mail tasks the code under test queued, run as a worker would."""
    for job in [job for job in queued if job.task == EMAIL_TASK]:
        tasks.notification_email.apply(args=job.args, throw=True)


@pytest.fixture
def quiet(project, member):
    """A member who switched both off, and one who wants e-mail only."""
    quiet = MembershipFactory(project=project, user=UserFactory(username="quiet"))
    Membership.objects.filter(pk=quiet.pk).update(notify_on_site=False)
    mailed = MembershipFactory(
        project=project, user=UserFactory(username="mailed", email="mailed@example.org")
    )
    Membership.objects.filter(pk=mailed.pk).update(notify_on_site=False, notify_by_email=True)
    return quiet.user


# --- the service ----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", Kind.values)
def test_each_kind_is_told_to_the_members_who_listen_only(project, member, quiet, outsider, kind):
    made = notifications.notify(project=project, kind=kind, event="e1", count=3, sent=2, failed=1)
    assert told(project) == {"owner": [kind], "member": [kind], "mailed": [kind]}
    on_site = {row.recipient.username for row in made if row.on_site}
    assert on_site == {"owner", "member"}  # "mailed" asked for e-mail only
    assert not Notification.objects.filter(recipient__in=[quiet, outsider]).exists()


def test_the_same_event_noticed_twice_is_told_once(project, member):
    first = notifications.notify(project=project, kind=Kind.SEND_FINISHED, event="batch:1", sent=2)
    again = notifications.notify(project=project, kind=Kind.SEND_FAILED, event="batch:1", failed=1)
    assert len(first) == 2 and again == []
    assert told(project) == {"owner": [Kind.SEND_FINISHED], "member": [Kind.SEND_FINISHED]}


def test_a_deactivated_member_is_not_told(project, member):
    member.is_active = False
    member.save()
    notifications.notify(project=project, kind=Kind.SUGGESTIONS_READY, event="s", count=1)
    assert told(project) == {"owner": [Kind.SUGGESTIONS_READY]}


# --- e-mail ---------------------------------------------------------------------------------


def test_email_goes_only_to_members_who_asked_for_it(
    project, member, quiet, mailoutbox, queued, django_capture_on_commit_callbacks
):
    member.email = "member@example.org"  # an address, but no e-mail asked for
    member.save()
    with django_capture_on_commit_callbacks(execute=True):
        notifications.notify(project=project, kind=Kind.SUGGESTIONS_READY, event="s", count=4)
    run_email_tasks(queued)
    assert [message.to for message in mailoutbox] == [["mailed@example.org"]]
    (message,) = mailoutbox
    assert "4 faces" in message.body and "Barack Obama" in message.body
    address = settings.WIKIVISAGE_TOOL_URL.rstrip("/") + reverse(
        "projects:detail", args=[project.pk]
    )
    assert address in message.body
    assert message.from_email == settings.DEFAULT_FROM_EMAIL


def test_an_email_task_run_twice_sends_once(
    project, quiet, mailoutbox, queued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        notifications.notify(project=project, kind=Kind.SEND_FINISHED, event="b", sent=1)
    run_email_tasks(queued)
    run_email_tasks(queued)
    assert len(mailoutbox) == 1
    assert Notification.objects.get(recipient__username="mailed").emailed_at is not None


def test_a_member_without_an_address_gets_no_email_and_no_error(
    project, member, mailoutbox, queued, django_capture_on_commit_callbacks
):
    Membership.objects.filter(user=member).update(notify_by_email=True)
    with django_capture_on_commit_callbacks(execute=True):
        notifications.notify(project=project, kind=Kind.SEND_FINISHED, event="b", sent=1)
    run_email_tasks(queued)
    assert mailoutbox == []


def test_a_mail_server_failure_gives_the_email_back_for_a_retry(project, quiet, monkeypatch):
    (note,) = [
        n
        for n in notifications.notify(project=project, kind=Kind.SEND_FINISHED, event="b", sent=1)
        if n.email
    ]

    def refuse(*args, **kwargs):
        raise ConnectionRefusedError("no mail server")

    monkeypatch.setattr(notifications, "send_mail", refuse)
    with pytest.raises(ConnectionRefusedError):
        notifications.notification_email(notification_id=note.pk)
    note.refresh_from_db()
    assert note.emailed_at is None  # the next try sends it


def test_the_email_is_written_in_the_language_the_member_chose_in(
    project, quiet, mailoutbox, queued, django_capture_on_commit_callbacks
):
    project.person_labels = {"en": "Pope Francis", "fr": "pape François"}
    project.save()
    Membership.objects.filter(user__username="mailed").update(notify_language="fr")
    with django_capture_on_commit_callbacks(execute=True):
        notifications.notify(project=project, kind=Kind.SUGGESTIONS_READY, event="s", count=2)
    run_email_tasks(queued)
    (message,) = mailoutbox
    assert "pape François" in message.body and "Pope Francis" not in message.body


# --- written when read, in the reader's language ---------------------------------------------


def test_the_text_is_written_when_read_in_the_readers_language(project):
    project.person_labels = {"en": "Pope Francis", "fr": "pape François"}
    project.save()
    (note,) = notifications.notify(
        project=project, kind=Kind.PROCESSING_FINISHED, event="processed:7", count=7
    )
    assert note.params == {"count": 7}  # the row keeps figures, not a sentence
    with translation.override("fr"):
        french = Notification.objects.select_related("project").get(pk=note.pk).text()
    english = note.text()
    assert "pape François" in french and "7" in french
    assert "Pope Francis" in english and "pape François" not in english


def test_unreadable_figures_read_as_zero_not_as_an_error(project):
    (note,) = notifications.notify(project=project, kind=Kind.SEND_FAILED, event="x")
    Notification.objects.filter(pk=note.pk).update(params={"failed": "lots", "sent": None})
    note.refresh_from_db()
    assert "0 edits" in note.text()


def test_the_list_page_speaks_the_readers_language(client_of, project):
    project.person_labels = {"en": "Pope Francis", "fr": "pape François"}
    project.save()
    notifications.notify(project=project, kind=Kind.SUGGESTIONS_READY, event="s", count=2)
    client = client_of(project.owner)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    page = client.get(reverse("notifications:list")).content.decode()
    assert "pape François" in page and "Pope Francis" not in page


# --- the bell and the list -------------------------------------------------------------------


def bell(response) -> str:
    page = response.content.decode()
    start = page.index('id="notifications-bell"')
    return page[start : page.index("</a>", start)]


def test_the_bell_counts_the_unread_notifications_of_the_reader_only(client_of, project, member):
    notifications.notify(project=project, kind=Kind.SUGGESTIONS_READY, event="a", count=1)
    notifications.notify(project=project, kind=Kind.SEND_FINISHED, event="b", sent=1)
    Notification.objects.filter(recipient=member, kind=Kind.SEND_FINISHED).update(
        read_at=timezone.now()
    )
    owner_page = client_of(project.owner).get(reverse("projects:dashboard"))
    assert 'data-unread="2"' in bell(owner_page)
    member_page = client_of(member).get(reverse("projects:dashboard"))
    assert 'data-unread="1"' in bell(member_page)


def test_the_bell_costs_one_query(client_of, owner, project, django_assert_num_queries):
    client = client_of(owner)
    with django_assert_num_queries(3):  # session, user, the bell's count
        response = client.get(reverse("projects:new"))
    assert 'data-unread="0"' in bell(response)


def test_nobody_logged_in_sees_no_bell(client, project):
    assert 'id="notifications-bell"' not in client.get(reverse("home")).content.decode()


def test_the_list_is_newest_first_and_paginated(client_of, project):
    for number in range(30):
        notifications.notify(
            project=project, kind=Kind.SEND_FINISHED, event=f"batch:{number}", sent=number + 1
        )
    client = client_of(project.owner)
    first = client.get(reverse("notifications:list"))
    rows = list(first.context["page"].object_list)
    assert len(rows) == 25 and rows[0].params["sent"] == 30 and rows[-1].params["sent"] == 6
    second = client.get(reverse("notifications:list"), {"page": 2})
    assert [row.params["sent"] for row in second.context["page"].object_list] == [5, 4, 3, 2, 1]
    assert "30 edits about Barack Obama were sent to Commons." in first.content.decode()


@pytest.mark.parametrize("page", ["0", "-1", "abc", "99999", "1" * 40, "2.5", ""])
def test_a_bad_page_number_shows_a_page_not_an_error(client_of, project, page):
    notifications.notify(project=project, kind=Kind.SEND_FINISHED, event="b", sent=1)
    response = client_of(project.owner).get(reverse("notifications:list"), {"page": page})
    assert response.status_code == 200


def test_opening_a_notification_marks_it_read_and_leads_to_its_page(client_of, project):
    (ready,) = notifications.notify(
        project=project, kind=Kind.SUGGESTIONS_READY, event="s", count=1
    )
    (sent,) = notifications.notify(project=project, kind=Kind.SEND_FINISHED, event="b", sent=1)
    client = client_of(project.owner)
    response = client.post(reverse("notifications:open", args=[ready.pk]))
    assert response.url == reverse("projects:suggestions", args=[project.pk])
    response = client.post(reverse("notifications:open", args=[sent.pk]))
    assert response.url == reverse("projects:detail", args=[project.pk])
    assert Notification.objects.unread().count() == 0
    page = client.get(reverse("projects:dashboard"))
    assert 'data-unread="0"' in bell(page)


def test_mark_all_read_reads_only_the_readers_own(client_of, project, member):
    notifications.notify(project=project, kind=Kind.SUGGESTIONS_READY, event="s", count=1)
    response = client_of(member).post(reverse("notifications:read-all"))
    assert response.status_code == 302
    assert list(Notification.objects.unread().values_list("recipient__username", flat=True)) == [
        "owner"
    ]


# --- access and bad input ------------------------------------------------------------------


def test_an_outsider_can_neither_see_nor_open_anothers_notification(client_of, project, outsider):
    (note,) = notifications.notify(project=project, kind=Kind.SUGGESTIONS_READY, event="s", count=1)
    client = client_of(outsider)
    page = client.get(reverse("notifications:list"))
    assert list(page.context["page"].object_list) == []
    assert "Barack Obama" not in page.content.decode()
    assert client.post(reverse("notifications:open", args=[note.pk])).status_code == 404
    client.post(reverse("notifications:read-all"))
    note.refresh_from_db()
    assert note.read_at is None


def test_the_pages_ask_anonymous_visitors_to_log_in(client, project):
    (note,) = notifications.notify(project=project, kind=Kind.SUGGESTIONS_READY, event="s", count=1)
    for response in [
        client.get(reverse("notifications:list")),
        client.post(reverse("notifications:open", args=[note.pk])),
        client.post(reverse("notifications:read-all")),
        client.post(reverse("projects:notification-settings", args=[project.pk])),
    ]:
        assert response.status_code == 302 and "/login/" in response.url
    note.refresh_from_db()
    assert note.read_at is None


def test_changes_are_post_only(client_of, project):
    (note,) = notifications.notify(project=project, kind=Kind.SUGGESTIONS_READY, event="s", count=1)
    client = client_of(project.owner)
    assert client.get(reverse("notifications:open", args=[note.pk])).status_code == 405
    assert client.get(reverse("notifications:read-all")).status_code == 405
    assert (
        client.get(reverse("projects:notification-settings", args=[project.pk])).status_code == 405
    )
    assert client.post(reverse("notifications:list")).status_code == 405
    note.refresh_from_db()
    assert note.read_at is None


@pytest.mark.parametrize("path", ["/notifications/abc/open/", "/notifications/99999999/open/"])
def test_a_notification_that_is_not_there_is_a_404(client_of, project, path):
    assert client_of(project.owner).post(path).status_code == 404


# --- each member's choice --------------------------------------------------------------------


def test_a_member_chooses_email_for_a_project_in_their_language(client_of, project, member):
    client = client_of(member)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "nb"
    response = client.post(
        reverse("projects:notification-settings", args=[project.pk]),
        {"notify_on_site": "on", "notify_by_email": "on"},
    )
    assert response.status_code == 302
    membership = Membership.objects.get(project=project, user=member)
    assert membership.notify_on_site and membership.notify_by_email
    assert membership.notify_language == "nb"
    client.post(reverse("projects:notification-settings", args=[project.pk]), {})
    membership.refresh_from_db()
    assert not membership.notify_on_site and not membership.notify_by_email


def test_the_project_page_shows_the_readers_own_choice(client_of, project, member):
    Membership.objects.filter(user=member).update(notify_by_email=True, notify_on_site=False)
    page = client_of(member).get(reverse("projects:detail", args=[project.pk])).content.decode()
    form = page[page.index('id="notification-settings"') :]
    form = form[: form.index("</form>")]
    assert 'name="notify_by_email" checked' in form
    assert 'name="notify_on_site" checked' not in form


def test_outsiders_and_moderators_who_are_no_members_cannot_choose(
    client_of, project, outsider, moderator
):
    url = reverse("projects:notification-settings", args=[project.pk])
    assert client_of(outsider).post(url, {"notify_by_email": "on"}).status_code == 403
    assert client_of(moderator).post(url, {"notify_by_email": "on"}).status_code == 302
    assert not Membership.objects.filter(notify_by_email=True).exists()


@pytest.mark.parametrize(
    "data",
    [
        {"notify_on_site": "garbage", "notify_by_email": "\x00"},
        {"notify_by_email": "x" * 10000},
        {"notify_on_site": ["on", "off"]},
    ],
)
def test_odd_choices_never_give_an_error(client_of, project, member, data):
    url = reverse("projects:notification-settings", args=[project.pk])
    assert client_of(member).post(url, data).status_code == 302


# --- the events, where the code notices them ----------------------------------------------------


NO_WAIT = RetryPolicy(max_attempts=3, base_delay=0.0, max_delay=0.0)


@pytest.fixture
def broken_files(make_fake_commons, tmp_path: Path):
    """A category of two files that cannot be decoded: processed (as errors) with no dlib."""
    bad = write_bad_files(tmp_path)
    names = ["Empty.jpg", "Error page.jpg"]
    return make_fake_commons(
        {
            "items": {"Q76": {"labels": {"en": "Barack Obama"}, "P31": ["Q5"]}},
            "categories": {"Broken files": {"files": names, "subcats": []}},
            "files": {name: {"path": str(bad[name])} for name in names},
        }
    )


def crawl(project, api) -> None:
    crawl_service.project_crawl(project=project, client=api, queue=False)
    bootstrap.project_bootstrap(project=project, client=api, queue=False)


def test_processing_finished_is_told_once_when_the_last_photo_is_done(broken_files, member):
    project = ProjectFactory(qid="Q76", category="Broken files", crawl_depth=0)
    MembershipFactory(project=project, user=member)
    with commons_client(retry=NO_WAIT, sleep=lambda seconds: None) as api:
        crawl(project, api)
        first, second = Image.objects.filter(project_links__project=project).order_by("pk")
        detect.image_detect(image_id=first.pk, client=api)
        assert told(project) == {}  # one photo still waits
        detect.image_detect(image_id=second.pk, client=api)
        detect.image_detect(image_id=second.pk, client=api)  # a duplicate message
        assert processing.processing_check(project_id=project.pk) is False
        crawl(project, api)  # the periodic re-crawl: nothing new
    owner = project.owner.username
    assert told(project) == {
        owner: [Kind.PROCESSING_FINISHED],
        "member": [Kind.PROCESSING_FINISHED],
    }
    note = Notification.objects.filter(project=project).first()
    assert note is not None and note.params == {"count": 2}


def test_processing_is_not_finished_while_the_crawl_goes_on(project):
    ProjectImageFactory(project=project, image=ImageFactory(state=Image.State.DONE))
    project.crawl_cursor = {"todo": ["Barack Obama"]}
    project.crawled_at = timezone.now()
    project.save()
    assert processing.processing_check(project_id=project.pk) is False
    project.crawl_cursor = None
    project.save()
    assert processing.processing_check(project_id=project.pk) is True
    ProjectImageFactory(project=project, image=ImageFactory(state=Image.State.PENDING))
    assert processing.processing_check(project_id=project.pk) is False


REFERENCE = Path(settings.FACES_DATA_DIR) / "reference_encodings.npz"


@pytest.fixture
def bush(project):
    """Photos of George W. Bush among others, as faces of ``project`` (real encodings)."""
    data = np.load(REFERENCE)
    faces = {}
    for i, name in enumerate(data["image_file"]):
        person = str(name).split("/")[0]
        if data["face_index"][i] == 0 and person in {"george_w_bush", "colin_powell", "tony_blair"}:
            image = ImageFactory(title=f"File:{name}")
            ProjectImageFactory(project=project, image=image)
            faces[str(name)] = FaceFactory(
                image=image, index=0, encoding=Face.pack(data["encoding"][i])
            )
    project.min_answers = 3
    project.save()
    return faces


def answer(project, face, verdict) -> None:
    LabelFactory(
        project=project, face=face, verdict=verdict, source=Label.Source.HUMAN, user=project.owner
    )


def test_suggestions_ready_is_told_once_when_suggestions_first_appear(project, member, bush):
    answer(project, bush["george_w_bush/01.jpg"], Label.Verdict.YES)
    answer(project, bush["colin_powell/01.jpg"], Label.Verdict.NO)
    scoring.project_rescore(project_id=project.pk)
    assert told(project) == {}  # fewer answers than the project's minimum: nothing suggested
    answer(project, bush["george_w_bush/02.jpg"], Label.Verdict.YES)
    summary = scoring.project_rescore(project_id=project.pk)
    assert summary is not None and summary["suggested"] > 0
    scoring.project_rescore(project_id=project.pk)  # run again: nothing new
    answer(project, bush["tony_blair/01.jpg"], Label.Verdict.NO)
    scoring.project_rescore(project_id=project.pk)  # another answer: still suggesting
    assert told(project) == {"owner": [Kind.SUGGESTIONS_READY], "member": [Kind.SUGGESTIONS_READY]}
    note = Notification.objects.filter(project=project).first()
    assert note is not None and note.params["count"] == scoring.waiting_suggestions(project) > 0


def test_send_finished_is_told_once_per_batch(commons, project, sender, member):
    edits = approve(commons, project, sender, FRESH[:2])
    ids = queue_only(project, sender, edits)
    send_all(ids[:1])
    assert told(project) == {}  # one edit of the batch still waits
    send_all(ids)
    send_all(ids)  # the tasks again
    assert told(project) == {"owner": [Kind.SEND_FINISHED], "member": [Kind.SEND_FINISHED]}
    note = Notification.objects.filter(project=project).first()
    assert note is not None and note.params == {"sent": 2, "failed": 0}


def test_send_failed_is_told_with_the_number_that_failed(commons, project, sender):
    edits = approve(commons, project, sender, FRESH[:1])
    gone = FaceFactory(image=image_of(commons, "Deleted file.jpg", project, pageid=424242))
    edits += approval.edits_approve(project=project, faces=[gone], user=sender)
    send_all(queue_only(project, sender, edits))
    assert DepictsEdit.objects.filter(state=DepictsEdit.State.FAILED).count() == 1
    (note,) = Notification.objects.filter(project=project)
    assert note.kind == Kind.SEND_FAILED and note.params == {"sent": 1, "failed": 1}
    assert "1 edit about Barack Obama could not be sent (1 sent)" in note.text()


def test_the_bells_count_is_the_readers_own_unread_on_site_notifications(client_of, owner, project):
    other = UserFactory(username="other")
    for recipient, event, read_at in [
        (owner, "a", None),
        (owner, "b", None),
        (owner, "c", timezone.now()),  # read already
        (other, "a", None),  # somebody else's
    ]:
        Notification.objects.create(
            recipient=recipient,
            project=project,
            kind=Kind.SEND_FINISHED,
            event=event,
            read_at=read_at,
        )
    data = client_of(owner).get(reverse("notifications:count")).json()
    assert data == {"unread": 2, "label": "2 unread"}


def test_suggestions_ready_counts_only_suggestions_on_files_not_depicting_the_person(
    project, member, bush
):
    answer(project, bush["george_w_bush/01.jpg"], Label.Verdict.YES)
    answer(project, bush["colin_powell/01.jpg"], Label.Verdict.NO)
    answer(project, bush["george_w_bush/02.jpg"], Label.Verdict.YES)
    # One photo of the person already says so on Commons: not waiting for anyone.
    said = bush["george_w_bush/03.jpg"].image
    ProjectImage.objects.filter(project=project, image=said).update(depicts_person=True)
    summary = scoring.project_rescore(project_id=project.pk)
    assert summary is not None
    note = Notification.objects.filter(project=project).first()
    assert note is not None and note.params["count"] == scoring.waiting_suggestions(project)
    assert note.params["count"] < summary["suggested"]
