"""The contributor's day in a real browser: log in, create a project, answer by keyboard
(undo, a drawn face, a group photo), approve in the grid, switch language."""

from __future__ import annotations

import uuid

import pytest
from django.urls import reverse

from commons.client import commons_client
from depicts.models import DepictsEdit
from faces.models import Answer, Face, Image, Label
from faces.services import answers, bootstrap, crawl, detect, scoring
from faces.tasks import encode_face
from projects.models import Project
from tests.browser.conftest import log_in, readme_shot, shot
from tests.depicts import writing
from tests.factories import ProjectFactory, UserFactory
from tests.workers import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def processed_project(owner) -> Project:
    """Barack Obama's category crawled, its faces detected and scored, in this process."""
    project = ProjectFactory(
        owner=owner,
        qid="Q76",
        category="Barack Obama",
        person_image="Barack Obama 01.jpg",
        person_labels={"en": "Barack Obama", "nb": "Barack Obama", "fr": "Barack Obama"},
        min_answers=1,
    )
    with commons_client() as client:
        crawl.project_crawl(project=project, client=client, queue=False)
        bootstrap.project_bootstrap(project=project, client=client, queue=False)
        for image_id in Image.objects.filter(project_links__project=project).values_list(
            "pk", flat=True
        ):
            detect.image_detect(image_id=image_id, client=client)
    scoring.project_rescore(project_id=project.pk)
    return project


def shown(page) -> int:
    return int(page.get_attribute("#stage", "data-face"))


# Waits are CSS selectors: a JavaScript predicate would be evaluated with eval(), which the
# page's Content Security Policy rightly refuses.
def wait_shown(page, face_id: int) -> None:
    page.wait_for_selector(f'#stage[data-face="{face_id}"]', timeout=10_000)


def press_and_move_on(page, key: str) -> int:
    before = shown(page)
    page.keyboard.press(key)
    page.wait_for_selector(f'#stage:not([data-face="{before}"])', timeout=10_000)
    return before


def human(project) -> dict[int, str]:
    labels = Label.objects.filter(project=project, source=Label.Source.HUMAN)
    return dict(labels.values_list("face_id", "verdict"))


def test_log_in_and_create_a_project(page, commons, queued):
    UserFactory(username="alice")
    page.goto("/")
    shot(page, "01-landing")
    log_in(page, "alice")
    shot(page, "02-dashboard-empty")
    page.click("main >> text=Start your first project")

    page.fill("#id_qid", "Q144")
    page.fill("#id_category", "Barack Obama")
    page.click("text=Check and create")
    page.wait_for_selector("text=is not a human on Wikidata")
    shot(page, "03-new-project-refused")
    assert not Project.objects.exists()

    page.fill("#id_qid", "")
    page.type("#id_qid", "Barack Ob", delay=30)
    page.wait_for_selector("#person-results [role=option] >> text=Barack Obama")
    shot(page, "04-new-project-autocomplete")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    page.wait_for_selector("#person-card .qid >> text=Q76")
    assert page.input_value("#id_qid") == "Q76"
    page.click("text=Check and create")
    page.wait_for_selector("text=being crawled now")
    project = Project.objects.get()
    assert (project.qid, project.category) == ("Q76", "Barack Obama")
    assert project.owner.username == "alice"
    assert [(q.task, q.args) for q in queued] == [("faces.crawl.project", (project.pk,))]
    shot(page, "05-project-created")


def test_answer_faces_by_keyboard_with_undo_a_drawn_face_and_a_group_photo(page, commons, queued):
    owner = UserFactory(username="alice")
    project = processed_project(owner)
    assert Face.objects.current().of_project(project).count() >= 6
    log_in(page, "alice")
    page.goto(reverse("projects:classify", args=[project.pk]))
    page.wait_for_selector("#stage:not([hidden])")
    page.wait_for_load_state("networkidle")
    shot(page, "06-classify")
    readme_shot(page, "classify")

    # Three answers, then three steps back: each undo shows the face it took back.
    answered = [press_and_move_on(page, key) for key in ("y", "n", "s")]
    assert wait_for(lambda: Answer.objects.count() == 3, timeout=10)
    # The skip is kept as the reviewer's answer only: it sets no label.
    assert human(project) == dict(zip(answered[:2], ["yes", "no"], strict=True))
    assert Answer.objects.get(face_id=answered[2]).verdict == "skip"
    for face_id in reversed(answered):
        page.keyboard.press("z")
        wait_shown(page, face_id)
    assert wait_for(lambda: human(project) == {}, timeout=10)
    assert Answer.objects.filter(undone_at__isnull=False).count() == 3

    # A face the detector missed, drawn with the mouse, becomes the question.
    page.keyboard.press("d")
    photo = page.locator("#photo-img").bounding_box()
    page.mouse.move(photo["x"] + photo["width"] * 0.05, photo["y"] + photo["height"] * 0.6)
    page.mouse.down()
    page.mouse.move(
        photo["x"] + photo["width"] * 0.25, photo["y"] + photo["height"] * 0.85, steps=8
    )
    shot(page, "07-classify-drawing", full_page=False)
    page.mouse.up()
    assert wait_for(lambda: Face.objects.filter(origin=Face.Origin.DRAWN).exists(), timeout=10)
    drawn = Face.objects.get(origin=Face.Origin.DRAWN)
    wait_shown(page, drawn.pk)
    box = (drawn.left, drawn.top, drawn.width, drawn.height)
    assert box == pytest.approx((0.05, 0.6, 0.2, 0.25), abs=0.01)
    press_and_move_on(page, "y")
    assert wait_for(lambda: human(project).get(drawn.pk) == "yes", timeout=10)
    # The drawn face was queued for a detect worker; here the test runs that task itself.
    assert ("faces.detect.encode_face", (drawn.pk,)) in [(q.task, q.args) for q in queued]
    encode_face(drawn.pk)
    assert Face.objects.get(pk=drawn.pk).encoding is not None

    # A group photo: "2" says face 2 is the person and the others are not.
    for _ in range(12):
        if int(page.get_attribute("#stage", "data-faces")) > 1:
            break
        press_and_move_on(page, "n")
    else:
        pytest.fail("no group photo was asked")
    shot(page, "08-classify-group-photo")
    image = Face.objects.get(pk=shown(page)).image
    faces = list(image.faces.current().order_by("index", "pk"))
    press_and_move_on(page, "2")
    expected = {face.pk: "yes" if n == 1 else "no" for n, face in enumerate(faces)}
    assert wait_for(lambda: {k: human(project).get(k) for k in expected} == expected, timeout=10)

    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, "09-classify-phone", full_page=False)


def test_the_project_page_shows_progress_and_the_learner(page, commons):
    owner = UserFactory(username="alice")
    project = processed_project(owner)
    UserFactory(username="bob")
    log_in(page, "alice")
    page.goto(reverse("projects:detail", args=[project.pk]))
    page.fill("#id_username", "bob")
    page.click("button:has-text('Invite')")
    page.wait_for_selector(".members >> text=bob")
    assert project.memberships.filter(user__username="bob").exists()
    page.wait_for_selector("svg rect.bar")
    shot(page, "10-project-page")
    readme_shot(page, "project")


def test_approve_suggestions_in_the_grid_by_keyboard(page, commons, writer_settings):
    owner = UserFactory(username="alice")
    writing.log_in(commons, owner)  # her Wikimedia account is linked: the send page can send
    project = processed_project(owner)
    for title in ("File:Barack Obama 01.jpg", "File:Barack Obama 02.jpg"):
        face = Face.objects.current().filter(image__title=title).first()
        answers.answer_record(
            project=project, face=face, user=owner, verdict="yes", request_id=uuid.uuid4()
        )
    scoring.project_rescore(project_id=project.pk)
    log_in(page, "alice")
    page.goto(reverse("projects:suggestions", args=[project.pk]))
    page.wait_for_selector("#grid [data-card]")
    waiting = page.locator("#grid [data-card]").count()
    assert waiting >= 3
    shot(page, "11-suggestions")
    readme_shot(page, "suggestions")

    page.keyboard.press("ArrowRight")  # into the grid
    page.keyboard.press("Space")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Space")
    rejected = [
        int(v)
        for v in page.eval_on_selector_all(
            "#grid input:checked", "boxes => boxes.map(b => b.value)"
        )
    ]
    assert len(rejected) == 2
    page.keyboard.press("r")
    page.wait_for_selector("text=2 faces rejected")
    assert {human(project)[f] for f in rejected} == {"no"}

    page.keyboard.press("a")
    page.wait_for_selector(".message >> text=Nothing is sent until you confirm")
    edits = DepictsEdit.objects.filter(project=project)
    assert edits.count() >= 1 and set(edits.values_list("state", flat=True)) == {"approved"}
    assert not edits.filter(face_id__in=rejected).exists()
    assert edits.count() + 2 <= waiting
    shot(page, "12-suggestions-after-approval")

    # The send page previews every approved edit before anything is sent.
    page.click("text=Go to the send page")
    page.wait_for_selector("#approved-title")
    assert page.locator(".edit-preview input[name=edit]").count() == edits.count()
    assert "Edits are made as WikiVisage Tester" in page.inner_text("#wikimedia-account")
    shot(page, "12b-send-page")
    readme_shot(page, "send")


def test_switch_language(page, commons):
    owner = UserFactory(username="alice")
    project = ProjectFactory(
        owner=owner, qid="Q76", category="Barack Obama", person_labels={"en": "Barack Obama"}
    )
    log_in(page, "alice")
    page.goto(reverse("projects:detail", args=[project.pk]))
    for code in ("nb", "es", "fr"):
        with page.expect_navigation():
            page.select_option("#language", code)
        assert page.get_attribute("html", "lang") == code
        assert "My projects" not in page.inner_text("header")
        shot(page, f"13-project-{code}")
    page.goto(reverse("projects:classify", args=[project.pk]))
    shot(page, "14-classify-fr-nothing-to-ask")
