"""Uploaders are told of suggestions on their files (issue #26): in the app, at most once a
day, only of suggestions they were not told of, never after opting out; by e-mail only when
a project's owner asked for it and the account shares an address."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from projects import tasks as project_tasks
from projects.models import Notification, Project, UploaderNotices
from tests.factories import ImageFactory, ProjectFactory
from tests.ui.test_uploads import ACCOUNT, suggest, wikimedia_user
from wikivisage import tasks
from wikivisage.uploads.services import uploaders_notify

pytestmark = pytest.mark.django_db

Kind = Notification.Kind
EMAIL_TASK = "projects.default.notification_email"


@pytest.fixture
def uploader(db):
    return wikimedia_user("ada", ACCOUNT)


@pytest.fixture
def own_file(db):
    return ImageFactory(title="File:Ada's own.jpg", uploader=ACCOUNT)


def notices_of(user) -> list[Notification]:
    return list(Notification.objects.filter(recipient=user, kind=Kind.UPLOADS_SUGGESTED))


def test_an_uploader_is_told_in_the_app_of_suggestions_on_their_files(
    uploader, own_file, project, client_of
):
    suggest(project, own_file)
    suggest(project, ImageFactory(uploader="Somebody Else"))

    assert uploaders_notify() == 1

    (notice,) = notices_of(uploader)
    assert notice.figure("count") == 1 and notice.on_site and not notice.email
    assert notice.get_absolute_url() == reverse("uploads")
    assert "1 face on a photo you uploaded" in notice.text()
    listed = client_of(uploader).get(reverse("notifications:list")).content.decode()
    assert "on your uploads page" in listed


def test_the_task_run_twice_tells_once(uploader, own_file, project):
    suggest(project, own_file)
    tasks.uploader_notices()
    tasks.uploader_notices()
    assert len(notices_of(uploader)) == 1


def test_at_most_once_a_day_and_only_of_new_suggestions(uploader, own_file, project):
    suggest(project, own_file)
    start = timezone.now()
    assert uploaders_notify(now=start) == 1
    suggest(project, own_file)  # a new one, within the day: wait
    assert uploaders_notify(now=start + timedelta(hours=23)) == 0
    assert uploaders_notify(now=start + timedelta(hours=25)) == 1
    # A day later again, nothing new: nobody is told the same suggestions twice.
    assert uploaders_notify(now=start + timedelta(hours=50)) == 0
    assert len(notices_of(uploader)) == 2


def test_no_notice_after_opting_out_on_the_uploads_page(uploader, own_file, project, client_of):
    suggest(project, own_file)
    client = client_of(uploader)
    client.post(reverse("uploads-notices"), {})  # the box unticked

    assert UploaderNotices.objects.get(user=uploader).opted_out is True
    assert uploaders_notify() == 0 and notices_of(uploader) == []
    assert client.get(reverse("uploads")).context["notices_form"].initial["notify"] is False

    client.post(reverse("uploads-notices"), {"notify": "on"})
    assert uploaders_notify() == 1


def test_no_notice_for_a_project_not_allowing_uploaders_or_another_uploader(
    uploader, own_file, project
):
    Project.objects.filter(pk=project.pk).update(allow_uploaders=False)
    suggest(project, own_file)
    wikimedia_user("bob", "Bob")
    assert uploaders_notify() == 0


def test_an_email_only_when_the_owner_asked_and_the_account_shares_its_address(
    uploader, own_file, project, queued, mailoutbox, django_capture_on_commit_callbacks
):
    suggest(project, own_file)
    uploader.email = "ada@example.org"
    uploader.save()
    with django_capture_on_commit_callbacks(execute=True):
        uploaders_notify()
    assert EMAIL_TASK not in [job.task for job in queued]  # the owner did not ask

    other = ProjectFactory(qid="Q42", uploaders_by_email=True)
    suggest(other, own_file)
    with django_capture_on_commit_callbacks(execute=True):
        uploaders_notify(now=timezone.now() + timedelta(days=2))
    jobs = [job for job in queued if job.task == EMAIL_TASK]
    assert len(jobs) == 1
    project_tasks.notification_email.apply(args=jobs[0].args, throw=True)
    (message,) = mailoutbox
    assert message.to == ["ada@example.org"]
    assert "/my-uploads/" in message.body and "switch them off" in message.body
