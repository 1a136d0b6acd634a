"""An existing depicts statement is a yes without asking, once its face is known."""

from __future__ import annotations

import pytest

from faces.models import Label
from faces.services import bootstrap, scoring
from tests.factories import FaceFactory, ImageFactory, ProjectImageFactory

pytestmark = pytest.mark.django_db

LEFT = {"left": 0.1, "top": 0.2, "width": 0.2, "height": 0.3}
RIGHT = {"left": 0.6, "top": 0.25, "width": 0.2, "height": 0.3}


def stated_photo(project, *boxes, region: str = ""):
    image = ImageFactory(state="done")
    ProjectImageFactory(project=project, image=image, depicts_person=True, depicts_region=region)
    return [FaceFactory(image=image, **box) for box in boxes]


def bootstrap_faces(project) -> set[int]:
    labels = Label.objects.filter(project=project, source=Label.Source.BOOTSTRAP)
    return set(labels.values_list("face_id", flat=True))


def test_the_only_face_of_a_stated_file_is_a_yes_never_asked(project):
    (face,) = stated_photo(project, LEFT)
    FaceFactory(image=ImageFactory(state="done"))  # an unanswered photo beside it
    bootstrap.image_apply_bootstrap(image=face.image)
    assert bootstrap_faces(project) == {face.pk}
    scoring.project_rescore(project_id=project.pk)
    model = Label.objects.get(project=project, face=face, source=Label.Source.MODEL)
    assert model.priority is None  # a yes already: the classify page never serves it


def test_the_statement_region_tells_which_of_several_faces_is_the_yes(project):
    left, right = stated_photo(project, LEFT, RIGHT, region="pct:58,20,25,40")
    bootstrap.image_apply_bootstrap(image=left.image)
    assert bootstrap_faces(project) == {right.pk}
    scoring.project_rescore(project_id=project.pk)
    labels = Label.objects.filter(project=project, source=Label.Source.MODEL)
    # Neither is asked: one is the statement's face, the other is somebody else.
    assert {label.face_id: label.priority for label in labels} == {left.pk: None, right.pk: None}


def test_several_faces_and_no_region_leave_the_statement_unplaced(project):
    left, _right = stated_photo(project, LEFT, RIGHT)
    assert bootstrap.image_apply_bootstrap(image=left.image) == 0
    assert bootstrap_faces(project) == set()


def test_a_region_that_meets_no_face_places_nothing(project):
    left, _right = stated_photo(project, LEFT, RIGHT, region="pct:40,80,10,10")
    assert bootstrap.image_apply_bootstrap(image=left.image) == 0
