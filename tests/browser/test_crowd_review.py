"""A group photo of 24 faces, answered with the keyboard alone: every face reachable (Tab,
arrows) with a visible focus ring, Enter answers for the focused face; D and C place, move
and resize a box from the keyboard; Esc leaves no hint behind."""

from __future__ import annotations

import copy
import csv
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from PIL import Image as PillowImage

from commons.client import commons_client
from faces.models import Face, Image, Label
from faces.services import crawl
from projects.models import Project
from tests.browser.conftest import log_in, shot
from tests.factories import FaceFactory, ProjectFactory, UserFactory
from tests.workers import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CROWD = "Crowd of 24.jpg"
COLUMNS, ROWS, TILE = 6, 4, 160
# Each face box sits in the middle of its tile: detection is not what these tests are about.
INSET = 0.2


def crowd_mosaic(folder: Path) -> Path:
    """24 single-face photos of the shared set, cropped to their faces, tiled 6 x 4."""
    data = Path(settings.FACES_DATA_DIR)
    with (data / "manifest.csv").open(encoding="utf-8", newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["expected_faces"] == "1"]
    mosaic = PillowImage.new("RGB", (COLUMNS * TILE, ROWS * TILE))
    for n, row in enumerate(rows[: COLUMNS * ROWS]):
        top, right, bottom, left = (int(v) for v in row["largest_face_box"].split(";"))
        side = max(right - left, bottom - top) / (1 - 2 * INSET)
        x, y = (left + right) / 2 - side / 2, (top + bottom) / 2 - side / 2
        with PillowImage.open(data / row["file"]) as photo:
            tile = photo.convert("RGB").crop((x, y, x + side, y + side)).resize((TILE, TILE))
        mosaic.paste(tile, ((n % COLUMNS) * TILE, (n // COLUMNS) * TILE))
    path = folder / "crowd.jpg"
    mosaic.save(path, quality=85)
    return path


@pytest.fixture
def crowd_commons(make_fake_commons, faces_world, tmp_path):
    world = copy.deepcopy(faces_world)
    world["files"][CROWD] = {"path": str(crowd_mosaic(tmp_path))}
    world["categories"]["Crowd"] = {"files": [CROWD]}
    return make_fake_commons(world)


def crowd_project(owner) -> tuple[Project, list[Face]]:
    """The crowd photo crawled into a project, with a face row for each of its 24 tiles."""
    project = ProjectFactory(
        owner=owner, qid="Q76", category="Crowd", person_labels={"en": "Barack Obama"}
    )
    with commons_client() as client:
        crawl.project_crawl(project=project, client=client, queue=False)
    image = Image.objects.get(title=f"File:{CROWD}")
    faces = [
        FaceFactory(
            image=image,
            index=n + 1,
            left=((n % COLUMNS) + INSET) / COLUMNS,
            top=((n // COLUMNS) + INSET) / ROWS,
            width=(1 - 2 * INSET) / COLUMNS,
            height=(1 - 2 * INSET) / ROWS,
        )
        for n in range(COLUMNS * ROWS)
    ]
    return project, faces


def open_classify(page, project: Project) -> None:
    log_in(page, project.owner.username)
    page.goto(reverse("projects:classify", args=[project.pk]))
    page.wait_for_selector("#stage:not([hidden])")
    page.wait_for_load_state("networkidle")


def focused_number(page) -> int:
    return int(page.get_attribute("#boxes .box:focus", "data-number"))


def human(project) -> dict[int, str]:
    labels = Label.objects.filter(project=project, source=Label.Source.HUMAN)
    return dict(labels.values_list("face_id", "verdict"))


def test_the_24th_face_of_a_group_photo_is_answered_by_keyboard_alone(page, crowd_commons, queued):
    project, faces = crowd_project(UserFactory(username="alice"))
    open_classify(page, project)
    assert page.get_attribute("#stage", "data-faces") == "24"

    page.keyboard.press("ArrowRight")  # into the photo: the face asked about
    assert focused_number(page) == 1
    page.keyboard.press("ArrowLeft")  # round to the last face
    page.keyboard.press("ArrowLeft")
    assert focused_number(page) == 23
    page.keyboard.press("Tab")  # Tab walks the faces too
    assert focused_number(page) == 24
    ring = page.locator("#boxes .box:focus")
    assert ring.evaluate("box => getComputedStyle(box).outlineStyle") == "solid"
    assert "Face 24 of 24" in page.inner_text("#face-caption")
    shot(page, "crowd-24-focused", full_page=False)

    page.keyboard.press("Enter")
    expected = {face.pk: "yes" if face is faces[-1] else "no" for face in faces}
    assert wait_for(lambda: human(project) == expected, timeout=10)


def test_a_box_is_drawn_and_corrected_by_keyboard_and_esc_clears_every_hint(
    page, crowd_commons, queued
):
    project, _faces = crowd_project(UserFactory(username="alice"))
    open_classify(page, project)

    page.keyboard.press("c")
    assert page.is_visible("#drawing")
    assert "arrow keys" in page.inner_text("#status")
    page.keyboard.press("Escape")
    assert page.is_hidden("#drawing")
    assert page.inner_text("#status") == ""
    assert page.locator("#photo.drawing-mode").count() == 0

    # D: a box in the middle of the photo; 5 steps right, 5 down, then 5 wider and 3 taller.
    page.keyboard.press("d")
    for key, times in (("ArrowRight", 5), ("ArrowDown", 5), ("Shift+ArrowRight", 5)):
        for _ in range(times):
            page.keyboard.press(key)
    for _ in range(3):
        page.keyboard.press("Shift+ArrowDown")
    shot(page, "crowd-drawing-by-keyboard", full_page=False)
    page.keyboard.press("Enter")
    assert wait_for(lambda: Face.objects.filter(origin=Face.Origin.DRAWN).exists(), timeout=10)
    drawn = Face.objects.get(origin=Face.Origin.DRAWN)
    assert (drawn.left, drawn.top, drawn.width, drawn.height) == pytest.approx(
        (0.45, 0.45, 0.25, 0.23), abs=0.001
    )
    page.wait_for_selector(f'#stage[data-face="{drawn.pk}"]')
    assert page.is_hidden("#drawing")

    # C: the drawn face's own box, moved 3 steps left.
    page.keyboard.press("c")
    for _ in range(3):
        page.keyboard.press("ArrowLeft")
    page.keyboard.press("Enter")
    assert wait_for(lambda: Face.objects.get(pk=drawn.pk).superseded_by_id is not None, timeout=10)
    corrected = Face.objects.get(pk=drawn.pk).superseded_by
    assert (corrected.left, corrected.top) == pytest.approx((0.42, 0.45), abs=0.001)


def test_a_group_photo_takes_the_whole_width_of_a_phone(page, crowd_commons):
    project, _ = crowd_project(UserFactory(username="alice"))
    page.set_viewport_size({"width": 390, "height": 844})
    open_classify(page, project)
    assert page.get_attribute("#stage", "data-faces") == "24"
    stage = page.locator("#stage").bounding_box()
    photo = page.locator("#photo-img").bounding_box()
    assert stage is not None and photo is not None
    # Side by side with the crop it had half a phone: 24 faces of 12 px each, none to tell apart.
    assert photo["width"] >= 0.95 * stage["width"]
    face = page.locator("#boxes .box").first.bounding_box()
    assert face is not None and face["width"] >= 20
    shot(page, "crowd-24-phone", full_page=False)


@pytest.fixture
def phone(browser, live_server):
    """A touch screen the size of a phone: no keyboard, so no Esc and no Enter."""
    context = browser.new_context(
        base_url=live_server.url,
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        locale="en-GB",
    )
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def test_a_box_begun_on_a_touch_screen_is_cancelled_with_a_button(phone, crowd_commons):
    project, faces = crowd_project(UserFactory(username="alice"))
    open_classify(phone, project)
    cancel = phone.locator("#answer-bar [data-action=cancel]")
    yes = phone.locator("#answer-bar [data-verdict=yes]")
    assert cancel.is_hidden()

    phone.tap("#answer-bar [data-action=draw]")
    assert phone.is_visible("#drawing")
    # The answers wait while the box is drawn, and look it: a tap on Yes is not lost silently.
    assert yes.is_disabled()
    shot(phone, "crowd-phone-drawing", full_page=False)

    cancel.tap()
    assert phone.is_hidden("#drawing")
    assert phone.inner_text("#status") == ""
    assert cancel.is_hidden() and yes.is_enabled()
    assert Face.objects.filter(image=faces[0].image).count() == len(faces)  # nothing drawn
    phone.tap("#answer-bar [data-verdict=yes]")
    assert wait_for(lambda: human(project).get(faces[0].pk) == "yes", timeout=10)


def test_a_tap_on_a_face_of_a_group_photo_says_it_is_the_person(phone, crowd_commons, queued):
    project, faces = crowd_project(UserFactory(username="alice"))
    open_classify(phone, project)
    assert phone.is_visible("#tap-hint")
    # A finger has no digits and no Enter: the face itself is what it answers with.
    phone.tap('#boxes .box[data-number="17"]')
    expected = {face.pk: "yes" if face is faces[16] else "no" for face in faces}
    assert wait_for(lambda: human(project) == expected, timeout=10)


def test_a_click_on_a_face_picks_it_and_a_drag_over_a_face_still_draws(page, crowd_commons, queued):
    project, faces = crowd_project(UserFactory(username="alice"))
    open_classify(page, project)
    box = page.locator('#boxes .box[data-number="8"]')
    assert box.evaluate("b => getComputedStyle(b).cursor") == "pointer"

    # Drawing mode: a drag that starts on a face draws a box; it answers nothing.
    page.keyboard.press("d")
    face = box.bounding_box()
    assert face is not None
    page.mouse.move(face["x"] + 5, face["y"] + 5)
    page.mouse.down()
    page.mouse.move(face["x"] + face["width"], face["y"] + face["height"], steps=4)
    page.mouse.up()
    assert wait_for(lambda: Face.objects.filter(origin=Face.Origin.DRAWN).exists(), timeout=10)
    assert human(project) == {}
    drawn = Face.objects.get(origin=Face.Origin.DRAWN)
    page.wait_for_selector(f'#stage[data-face="{drawn.pk}"]')

    page.click('#boxes .box[data-number="1"]')  # the drawn box lies over face 8 now
    expected = {face.pk: "yes" if face.index == 1 else "no" for face in faces}
    expected[drawn.pk] = "no"
    assert wait_for(lambda: human(project) == expected, timeout=10)
