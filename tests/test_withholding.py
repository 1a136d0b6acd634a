"""Withholding: a person never looked for, a file never taken, a category never crawled.

The list is kept in the admin; saving an entry also takes what it names out of the queues.
Crawls and searches run through the real client against the offline stand-in.
"""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.urls import reverse

from commons.client import ApiClient, commons_client
from core.retry import RetryPolicy
from depicts.models import DepictsEdit
from depicts.tasks import resume_edits, unlinked_cancel
from faces.models import Face, Image, Label, ProjectImage
from faces.selectors import sensitive_faces
from faces.services import bootstrap as bootstrap_service
from faces.services import crawl as crawl_service
from projects.models import ListedFile, Project, Sensitivity, Withholding
from tests.factories import (
    DepictsEditFactory,
    FaceFactory,
    ImageFactory,
    LabelFactory,
    ProjectFactory,
    ProjectImageFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

NO_WAIT = RetryPolicy(max_attempts=3, base_delay=0.0, max_delay=0.0)
State = DepictsEdit.State

# C is reached only through A; D through A and through B.
TREE = {
    "Root": (["Root 1.jpg", "Root 2.jpg"], ["A", "B"]),
    "A": (["A 1.jpg"], ["C", "D"]),
    "B": (["B 1.jpg"], ["D"]),
    "C": (["C 1.jpg"], []),
    "D": (["D 1.jpg"], []),
}
DEPICTING = ["Portrait 1.jpg", "Portrait 2.jpg"]  # outside the tree, depict Q76
PRIVATE = {"Private": (["Portrait 2.jpg"], [])}  # a category outside the tree


def world() -> dict:
    names = [name for files, _ in TREE.values() for name in files] + DEPICTING
    files = {
        name: {"generate": {"format": "JPEG", "width": 64, "height": 48, "seed": seed}}
        for seed, name in enumerate(names)
    }
    for name in DEPICTING:
        files[name]["depicts"] = ["Q76"]
    return {
        "items": {"Q76": {"labels": {"en": "Barack Obama"}, "P31": ["Q5"]}},
        "categories": {
            name: {"files": f, "subcats": s} for name, (f, s) in {**TREE, **PRIVATE}.items()
        },
        "files": files,
    }


@pytest.fixture
def fake(make_fake_commons):
    return make_fake_commons(world())


@pytest.fixture
def tree_project(owner):
    return ProjectFactory(owner=owner, qid="Q76", category="Root", crawl_depth=5)


def withhold(kind: str, value: str, reason: str = "Asked by the person") -> Withholding:
    withholding = Withholding(kind=kind, value=value, reason=reason)
    withholding.full_clean()
    withholding.save()
    return withholding


def client() -> ApiClient:
    return commons_client(retry=NO_WAIT, sleep=lambda seconds: None)


def crawl(project, **options) -> crawl_service.CrawlSummary:
    with client() as api:
        return crawl_service.project_crawl(project=project, client=api, queue=False, **options)


def linked(project) -> set[str]:
    return set(ProjectImage.objects.filter(project=project).values_list("image__title", flat=True))


def listed_categories(fake) -> set[str]:
    requests = fake.api_requests(action="query")
    return {r.params["cmtitle"] for r in requests if "cmtitle" in r.params}


# --- the list ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "given", "stored"),
    [
        ("category", "category:Barack_Obama  in 2009", "Barack Obama in 2009"),
        ("file", "file:obama_1.jpg", "File:Obama 1.jpg"),
        ("file", "Obama 1.jpg", "File:Obama 1.jpg"),
        ("person", " q76", "Q76"),
        ("file", "https://commons.wikimedia.org/wiki/File:Obama_1.jpg", "File:Obama 1.jpg"),
        ("file", "https://commons.m.wikimedia.org/wiki/File%3AObama%201.jpg", "File:Obama 1.jpg"),
        (
            "file",
            "https://commons.wikimedia.org/w/index.php?title=File:Obama_1.jpg&oldid=5",
            "File:Obama 1.jpg",
        ),
        ("category", "https://commons.wikimedia.org/wiki/Category:Barack_Obama", "Barack Obama"),
        (
            "category",
            "https://commons.wikimedia.org/w/index.php?title=Category:Barack_Obama",
            "Barack Obama",
        ),
        ("category", "1984", "1984"),  # a category may be named by a number
    ],
)
def test_a_value_is_stored_as_crawls_and_checks_compare_it(kind, given, stored):
    assert withhold(kind, given).value == stored


@pytest.mark.parametrize(
    ("kind", "given", "stored"),
    [
        # Copied from a page in a right-to-left language, a title carries direction marks
        # MediaWiki strips; typed on some systems, an accent comes decomposed (NFD).
        ("file", "File:Obama 1\u200f.jpg", "File:Obama 1.jpg"),
        ("file", "\u200eFile:Obama 1.jpg", "File:Obama 1.jpg"),
        ("file", "File:\u202eObama 1.jpg\u202c", "File:Obama 1.jpg"),
        ("file", "File:E\u0301lan.png", "File:\u00c9lan.png"),
        ("category", "Category:\u200fBarack Obama", "Barack Obama"),
        ("category", "Cafe\u0301s", "Caf\u00e9s"),
    ],
)
def test_a_value_with_direction_marks_or_decomposed_accents_matches_the_title_on_commons(
    kind, given, stored
):
    assert withhold(kind, given).value == stored


@pytest.mark.parametrize(
    ("kind", "value", "says"),
    [
        ("person", "Barack Obama", "is not a Wikidata item id"),
        ("file", "File: ", "is not a valid Commons file title"),
        ("file", "12345", "is a page id: give the file's title"),
        ("file", "https://commons.wikimedia.org/w/index.php?curid=12345", "is a page id"),
        ("file", "https://commons.wikimedia.org/wiki/Category:Barack_Obama", "is not a file"),
        ("file", "https://en.wikipedia.org/wiki/File:Obama_1.jpg", "is not an address on Commons"),
        ("file", "https://commons.wikimedia.org/wiki/Main_Page", "is not the address of a file"),
        ("file", "Obama", "has no file extension"),
        ("file", "²", "is not a Commons page id"),
        ("category", "https://commons.wikimedia.org/w/index.php?curid=12", "give the category"),
        ("category", "https://commons.wikimedia.org/wiki/File:X.jpg", "is not the address of a"),
        ("category", "File:X.jpg", "is not a category (it is in the File namespace)"),
        ("category", "Category:User:Someone", "is not a category (it is in the User namespace)"),
    ],
)
def test_a_value_that_names_nothing_is_refused_with_a_message(kind, value, says):
    with pytest.raises(ValidationError) as refused:
        withhold(kind, value)
    assert says in " ".join(refused.value.message_dict["value"])


def test_the_admin_refuses_a_file_page_id_with_a_message(client_of, moderator):
    response = add_in_admin(client_of(moderator), kind="file", value="12345", reason="r")
    assert not Withholding.objects.exists()
    assert "is a page id: give the file" in response.content.decode()


# --- a withheld person ------------------------------------------------------------------


def new_project(client, qid: str):
    data = {
        "qid": qid,
        "category": "Barack Obama",
        "crawl_depth": 2,
        "distance_threshold": 0.6,
        "min_answers": 5,
    }
    return client.post(reverse("projects:new"), data, follow=True)


@pytest.mark.parametrize("qid", ["Q76", "Q189999001"])  # the second redirects to Q76
def test_a_withheld_person_cannot_be_a_projects_person(client_of, outsider, fake_commons, qid):
    withhold("person", "Q76")
    response = new_project(client_of(outsider), qid)
    assert "is withheld: no project may look for this person." in response.content.decode()
    assert not Project.objects.exists()


def test_createproject_refuses_a_withheld_person(fake_commons):
    UserFactory(username="alice")
    withhold("person", "Q76")
    with pytest.raises(CommandError, match="Q76 is withheld"):
        call_command("createproject", qid="Q76", category="Barack Obama", owner="alice")
    assert not Project.objects.exists()


def test_another_person_is_still_accepted(client_of, outsider, fake_commons):
    withhold("person", "Q42")
    new_project(client_of(outsider), "Q76")
    assert Project.objects.get(owner=outsider).qid == "Q76"


# --- crawl and search -------------------------------------------------------------------


def test_the_crawl_takes_no_withheld_file(fake, tree_project):
    withhold("file", "Root 2.jpg")
    crawl(tree_project)
    assert "File:Root 2.jpg" not in linked(tree_project)
    assert "File:Root 1.jpg" in linked(tree_project)


def test_the_crawl_never_lists_a_withheld_category_nor_what_only_it_leads_to(fake, tree_project):
    withhold("category", "A")
    summary = crawl(tree_project)
    assert summary.finished
    assert linked(tree_project) == {
        "File:Root 1.jpg",
        "File:Root 2.jpg",
        "File:B 1.jpg",
        "File:D 1.jpg",  # also under B
    }
    assert listed_categories(fake) == {"Category:Root", "Category:B", "Category:D"}


def test_a_category_withheld_while_a_crawl_waits_in_its_queue_is_dropped(fake, tree_project):
    crawl(tree_project, max_batches=1)  # Root listed: A and B wait in the stored cursor
    withhold("category", "A")
    crawl(tree_project)
    assert "Category:A" not in listed_categories(fake)
    assert "File:A 1.jpg" not in linked(tree_project)
    assert "File:B 1.jpg" in linked(tree_project)


def test_the_depicts_search_takes_no_withheld_file(fake, tree_project):
    withhold("file", "Portrait 2.jpg")
    with client() as api:
        bootstrap_service.project_bootstrap(project=tree_project, client=api, queue=False)
    assert linked(tree_project) == {"File:Portrait 1.jpg"}


# --- saving an entry in the admin -------------------------------------------------------


def add_in_admin(client, **fields):
    return client.post(reverse("admin:projects_withholding_add"), fields, follow=True)


def test_the_admin_records_who_withheld_and_requires_a_reason(client_of, moderator):
    client = client_of(moderator)
    add_in_admin(client, kind="person", value="Q76", reason="")
    assert not Withholding.objects.exists()
    add_in_admin(client, kind="person", value="q76", reason="Asked by the person")
    withholding = Withholding.objects.get()
    assert (withholding.value, withholding.set_by) == ("Q76", moderator)
    listing = client.get(reverse("admin:projects_withholding_changelist"))
    assert "Asked by the person" in listing.content.decode()


def test_a_withheld_file_leaves_every_project_and_its_unsent_additions_are_cancelled(
    client_of, moderator
):
    image, other = ImageFactory(title="File:Obama 1.jpg"), ImageFactory()
    face = FaceFactory(image=image)
    first, second = ProjectFactory(qid="Q76"), ProjectFactory(qid="Q1")
    for project in (first, second):
        ProjectImageFactory(project=project, image=image)
        ProjectImageFactory(project=project, image=other)
    approved = DepictsEditFactory(project=first, image=image, state=State.APPROVED)
    queued = DepictsEditFactory(project=second, image=image, state=State.QUEUED)
    sent = DepictsEditFactory(project=first, image=other, state=State.APPROVED)

    response = add_in_admin(client_of(moderator), kind="file", value="Obama_1.jpg", reason="r")

    assert not ProjectImage.objects.filter(image=image).exists()
    assert ProjectImage.objects.filter(image=other).count() == 2
    assert not Face.objects.of_project(first).filter(pk=face.pk).exists()
    assert Face.objects.filter(pk=face.pk).exists()  # shared data, only unreachable
    for edit, state in [(approved, State.CANCELLED), (queued, State.CANCELLED), (sent, "approved")]:
        edit.refresh_from_db()
        assert edit.state == state
    assert "The file left 2 projects." in response.content.decode()
    assert "2 unsent edits cancelled." in response.content.decode()


def test_an_undo_on_a_withheld_file_still_goes(client_of, moderator):
    image = ImageFactory(title="File:Obama 1.jpg")
    undo = DepictsEditFactory(image=image, state=State.REVERT_QUEUED)
    add_in_admin(client_of(moderator), kind="file", value="Obama 1.jpg", reason="r")
    undo.refresh_from_db()
    assert undo.state == State.REVERT_QUEUED


def test_a_withheld_person_s_projects_are_archived_and_their_additions_cancelled(
    client_of, moderator
):
    theirs, others = ProjectFactory(qid="Q76"), ProjectFactory(qid="Q1")
    mine = DepictsEditFactory(project=theirs, state=State.APPROVED)
    kept = DepictsEditFactory(project=others, state=State.APPROVED)

    response = add_in_admin(client_of(moderator), kind="person", value="Q76", reason="Privacy")

    theirs.refresh_from_db(), others.refresh_from_db(), mine.refresh_from_db()
    kept.refresh_from_db()
    assert (theirs.moderation, theirs.moderated_by, theirs.moderation_reason) == (
        Project.Moderation.ARCHIVED,
        moderator,
        "Privacy",
    )
    assert others.moderation == Project.Moderation.NONE
    assert (mine.state, kept.state) == (State.CANCELLED, State.APPROVED)
    assert "1 project archived." in response.content.decode()


def test_projects_on_a_withheld_category_are_archived(client_of, moderator):
    on_it = ProjectFactory(category="Barack Obama")
    beside = ProjectFactory(category="Barack Obama in 2009")
    add_in_admin(client_of(moderator), kind="category", value="Category:Barack_Obama", reason="r")
    on_it.refresh_from_db(), beside.refresh_from_db()
    assert on_it.moderation == Project.Moderation.ARCHIVED
    assert beside.moderation == Project.Moderation.NONE


# --- a withheld subcategory: files reached only through it leave -----------------------


def answered_face(project, title: str) -> Face:
    """A face of ``title`` with a yes answer of ``project``, and an unsent addition."""
    face = Face.objects.filter(image__title=title).first() or FaceFactory(
        image=ProjectImage.objects.get(project=project, image__title=title).image
    )
    LabelFactory(project=project, face=face, verdict="yes")
    DepictsEditFactory(project=project, image=face.image, face=face, state=State.APPROVED)
    return face


def test_a_recrawl_unlinks_files_reached_only_through_a_category_withheld_since(fake, tree_project):
    crawl(tree_project)
    assert {"File:A 1.jpg", "File:C 1.jpg", "File:D 1.jpg"} <= linked(tree_project)
    face = answered_face(tree_project, "File:C 1.jpg")
    sent = DepictsEditFactory(project=tree_project, image=face.image, qid="Q1", state=State.SENT)
    kept = answered_face(tree_project, "File:D 1.jpg")

    withhold("category", "A")
    summary = crawl(tree_project)

    # C only through A: gone; D through B too, and A's own file: D stays, A 1 goes.
    assert linked(tree_project) == {
        "File:Root 1.jpg",
        "File:Root 2.jpg",
        "File:B 1.jpg",
        "File:D 1.jpg",
    }
    assert summary.unlinked == 2
    assert not Face.objects.of_project(tree_project).filter(pk=face.pk).exists()
    # History stays: the face, its answer, the edit already sent.
    assert Face.objects.filter(pk=face.pk).exists()
    assert Label.objects.filter(project=tree_project, face=face).exists()
    unlinked_cancel(tree_project.pk)
    unlinked_cancel(tree_project.pk)  # run twice: nothing more to cancel, nothing undone
    edits = {e.image.title: e.state for e in DepictsEdit.objects.exclude(pk=sent.pk)}
    assert edits == {"File:C 1.jpg": State.CANCELLED, "File:D 1.jpg": State.APPROVED}
    sent.refresh_from_db()
    assert sent.state == State.SENT
    assert Face.objects.of_project(tree_project).filter(pk=kept.pk).exists()


def test_the_sweep_asks_the_writer_to_cancel_the_unsent_additions(
    fake, tree_project, queued, django_capture_on_commit_callbacks
):
    crawl(tree_project)
    withhold("category", "C")
    with django_capture_on_commit_callbacks(execute=True):
        crawl(tree_project)
    assert ("depicts.write.unlinked_cancel", (tree_project.pk,)) in [
        (q.task, q.args) for q in queued
    ]


def test_an_interrupted_pass_unlinks_nothing_until_it_ends(fake, tree_project):
    crawl(tree_project)
    withhold("category", "A")
    crawl(tree_project, max_batches=1)
    assert "File:C 1.jpg" in linked(tree_project)
    crawl(tree_project)
    assert "File:C 1.jpg" not in linked(tree_project)


def test_a_pass_stopped_at_the_file_bound_unlinks_nothing(fake, tree_project, settings):
    crawl(tree_project)
    withhold("category", "A")
    # Root 2 becomes a new file the project has no room for: the pass stops before the end.
    ProjectImage.objects.filter(project=tree_project, image__title="File:Root 2.jpg").delete()
    settings.WIKIVISAGE_MAX_FILES_PER_PROJECT = len(linked(tree_project))
    summary = crawl(tree_project)
    assert summary.limit_hit == settings.WIKIVISAGE_MAX_FILES_PER_PROJECT
    assert "File:C 1.jpg" in linked(tree_project)


def test_the_periodic_resume_cancels_additions_about_files_that_left(tree_project):
    image = ImageFactory()
    ProjectImageFactory(project=tree_project, image=image)
    addition = DepictsEditFactory(project=tree_project, image=image, state=State.QUEUED)
    undo = DepictsEditFactory(
        project=tree_project, image=image, qid="Q2", state=State.REVERT_QUEUED
    )
    ProjectImage.objects.filter(image=image).delete()
    resume_edits()
    addition.refresh_from_db(), undo.refresh_from_db()
    assert (addition.state, undo.state) == (State.CANCELLED, State.REVERT_QUEUED)
    assert "left the project" in addition.error


def test_saving_a_withheld_category_crawls_every_active_project_again_at_once(
    client_of, moderator, fake, tree_project, queued, django_capture_on_commit_callbacks
):
    crawl(tree_project)
    crawl(tree_project, max_batches=1)  # a pass under way restarts from the root
    paused = ProjectFactory(qid="Q1", state=Project.State.PAUSED)

    with django_capture_on_commit_callbacks(execute=True):
        response = add_in_admin(client_of(moderator), kind="category", value="A", reason="r")

    crawls = [q.args for q in queued if q.task == "faces.crawl.project"]
    assert crawls == [(tree_project.pk,)] and (paused.pk,) not in crawls
    assert "1 project is crawled again" in response.content.decode()
    tree_project.refresh_from_db()
    assert tree_project.crawl_cursor is None
    crawl(tree_project)
    assert "File:C 1.jpg" not in linked(tree_project)
    assert "File:D 1.jpg" in linked(tree_project)


def test_a_listed_file_withheld_since_leaves_at_the_next_crawl(fake, owner):
    project = ProjectFactory(owner=owner, qid="Q76", scope="files", category=None)
    for position, name in enumerate(["Root 1.jpg", "C 1.jpg"], start=1):
        ListedFile.objects.create(project=project, position=position, line=name)
    crawl(project)
    assert linked(project) == {"File:Root 1.jpg", "File:C 1.jpg"}
    withhold("file", "C 1.jpg")
    crawl(project)
    assert linked(project) == {"File:Root 1.jpg"}
    assert ListedFile.objects.get(position=2).state == ListedFile.State.WITHHELD


def bootstrap(project) -> None:
    with client() as api:
        bootstrap_service.project_bootstrap(project=project, client=api, queue=False)


def test_the_depicts_search_takes_no_file_in_a_withheld_category(fake, tree_project):
    withhold("category", "Private")
    bootstrap(tree_project)
    assert linked(tree_project) == {"File:Portrait 1.jpg"}


def test_a_search_s_files_categories_are_recorded_for_the_sensitive_hold(fake, tree_project):
    # The depicts search's files lie outside the category tree, where no crawl lists them.
    bootstrap(tree_project)
    Sensitivity.objects.create(kind="category", value="Private", reason="Minors")
    faces = [
        FaceFactory(image=Image.objects.get(title=f"File:{name}"), index=0) for name in DEPICTING
    ]
    assert sensitive_faces(project=tree_project, faces=faces) == {faces[1].pk}


def test_a_search_s_file_in_a_category_withheld_since_leaves_at_the_next_search(
    fake, tree_project, queued, django_capture_on_commit_callbacks
):
    bootstrap(tree_project)
    assert linked(tree_project) == {"File:Portrait 1.jpg", "File:Portrait 2.jpg"}
    withhold("category", "Private")
    with django_capture_on_commit_callbacks(execute=True):
        bootstrap(tree_project)
    assert linked(tree_project) == {"File:Portrait 1.jpg"}
    assert ("depicts.write.unlinked_cancel", (tree_project.pk,)) in [
        (q.task, q.args) for q in queued
    ]


def test_a_search_asks_its_files_categories_in_one_request_for_up_to_50_files(fake, tree_project):
    # Read also while nothing is withheld: the sensitive-content hold needs them.
    bootstrap(tree_project)
    props = [r.params.get("prop") for r in fake.api_requests(action="query")]
    assert props.count("categories") == 1


def test_a_listed_file_in_a_withheld_category_is_withheld_and_leaves(fake, owner):
    project = ProjectFactory(owner=owner, qid="Q76", scope="files", category=None)
    for position, name in enumerate(["Root 1.jpg", "C 1.jpg", "D 1.jpg"], start=1):
        ListedFile.objects.create(project=project, position=position, line=name)
    crawl(project)
    assert linked(project) == {"File:Root 1.jpg", "File:C 1.jpg", "File:D 1.jpg"}
    withhold("category", "C")
    crawl(project)
    assert linked(project) == {"File:Root 1.jpg", "File:D 1.jpg"}
    states = dict(ListedFile.objects.filter(project=project).values_list("line", "state"))
    assert states["C 1.jpg"] == ListedFile.State.WITHHELD
    assert states["D 1.jpg"] == ListedFile.State.FOUND


@pytest.fixture
def portrait_world(make_fake_commons):
    # The person's Wikidata image (P18): outside the tree, depicting nobody, in "Private".
    built = world()
    built["files"]["Official portrait.jpg"] = {
        "generate": {"format": "JPEG", "width": 64, "height": 48, "seed": 99}
    }
    built["categories"]["Private"]["files"].append("Official portrait.jpg")
    return make_fake_commons(built)


def test_the_p18_portrait_s_categories_are_recorded_for_the_sensitive_hold(
    portrait_world, tree_project
):
    Project.objects.filter(pk=tree_project.pk).update(person_image="Official portrait.jpg")
    tree_project.refresh_from_db()
    bootstrap(tree_project)
    assert "File:Official portrait.jpg" in linked(tree_project)
    Sensitivity.objects.create(kind="category", value="Private", reason="Minors")
    face = FaceFactory(image=Image.objects.get(title="File:Official portrait.jpg"), index=0)
    assert sensitive_faces(project=tree_project, faces=[face]) == {face.pk}


def test_the_p18_portrait_in_a_withheld_category_is_not_taken(portrait_world, tree_project):
    Project.objects.filter(pk=tree_project.pk).update(person_image="Official portrait.jpg")
    tree_project.refresh_from_db()
    withhold("category", "Private")
    bootstrap(tree_project)
    assert "File:Official portrait.jpg" not in linked(tree_project)
