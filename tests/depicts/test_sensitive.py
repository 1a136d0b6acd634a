"""The sensitive-content hold (MachineVision's "sensitive" state): faces of files in a
category, or of a person, that an admin marked sensitive are never in the bulk grid nor
approved in bulk; each is approved on its own, with a notice."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from depicts.models import DepictsEdit
from faces import selectors
from faces.models import Image, ImageCategory, Label
from faces.services import crawl
from projects.models import Sensitivity
from tests.factories import FaceFactory
from tests.pipeline.test_pipeline import client as api_client
from tests.ui.conftest import photos_of, score

pytestmark = pytest.mark.django_db


@pytest.fixture
def faces(project):
    """Three suggested faces; the first is of a file a crawl listed in a sensitive category."""
    faces = photos_of(project, 3)
    score(project, faces, [0.9, 0.8, 0.7])
    ImageCategory.objects.create(image=faces[0].image, category="Children of Chicago")
    Sensitivity.objects.create(
        kind=Sensitivity.Kind.CATEGORY, value="Children of Chicago", reason="minors"
    )
    return faces


def grid(client, project):
    return client.get(reverse("projects:suggestions", args=[project.pk]))


def approve(client, project, face_ids, **extra):
    return client.post(
        reverse("projects:suggestions-approve", args=[project.pk]),
        {"face": face_ids, **extra},
        follow=True,
    )


def approved(project) -> list[int]:
    edits = DepictsEdit.objects.filter(project=project, state=DepictsEdit.State.APPROVED)
    return sorted(edits.values_list("face_id", flat=True))


def test_a_sensitive_face_is_not_in_the_bulk_grid_but_in_its_own_section(
    client_of, owner, project, faces
):
    response = grid(client_of(owner), project)
    assert [card["face"] for card in response.context["cards"]] == faces[1:]
    assert [card["face"] for card in response.context["individual"]] == [faces[0]]
    page = response.content.decode()
    assert "Needs an individual look" in page and "marked sensitive" in page
    bulk = page.split('id="approve-page"')[1].split("</form>")[0]
    assert f'value="{faces[0].pk}"' not in bulk


def test_bulk_approve_refuses_a_sensitive_face_and_approves_the_others(
    client_of, owner, project, faces
):
    response = approve(client_of(owner), project, [face.pk for face in faces])
    assert approved(project) == sorted(face.pk for face in faces[1:])
    assert not Label.objects.filter(face=faces[0], source=Label.Source.HUMAN).exists()
    assert "1 face needs an individual look" in response.content.decode()


def test_a_sensitive_face_selected_alone_in_the_bulk_form_is_refused(
    client_of, owner, project, faces
):
    approve(client_of(owner), project, [faces[0].pk])
    assert approved(project) == []


def test_a_sensitive_face_approved_on_its_own_is_approved_with_a_notice(
    client_of, owner, project, faces
):
    response = approve(client_of(owner), project, [faces[0].pk], individual="1")
    assert approved(project) == [faces[0].pk]
    assert "make sure the statement is right and appropriate" in response.content.decode()


def test_two_sensitive_faces_are_never_approved_together(client_of, owner, project, faces):
    ImageCategory.objects.create(image=faces[1].image, category="Children of Chicago")
    approve(client_of(owner), project, [faces[0].pk, faces[1].pk], individual="1")
    assert approved(project) == []


def test_every_face_of_a_project_about_a_sensitive_person_needs_an_individual_look(
    client_of, owner, project, faces
):
    Sensitivity.objects.create(kind=Sensitivity.Kind.PERSON, value=project.qid, reason="a minor")
    response = grid(client_of(owner), project)
    assert response.context["cards"] == []
    assert len(response.context["individual"]) == 3
    approve(client_of(owner), project, [face.pk for face in faces])
    assert approved(project) == []


def test_a_sensitive_value_is_stored_as_the_checks_compare_it():
    category = Sensitivity(kind=Sensitivity.Kind.CATEGORY, value="Category:Children_of X")
    person = Sensitivity(kind=Sensitivity.Kind.PERSON, value=" q42")
    category.clean(), person.clean()
    assert (category.value, person.value) == ("Children of X", "Q42")
    with pytest.raises(ValidationError):
        Sensitivity(kind=Sensitivity.Kind.PERSON, value="Barack Obama").clean()


def test_the_crawl_records_the_subcategory_a_file_was_listed_in(
    make_fake_commons, project, django_capture_on_commit_callbacks
):
    make_fake_commons(
        {
            "categories": {
                "Family": {"files": ["Parent.jpg"], "subcats": ["Kids of the family"]},
                "Kids of the family": {"files": ["Kid.jpg"], "subcats": []},
            },
            "files": {
                name: {"generate": {"format": "JPEG", "width": 64, "height": 48, "seed": seed}}
                for seed, name in enumerate(["Parent.jpg", "Kid.jpg"])
            },
        }
    )
    project.category, project.crawl_depth = "Family", 1
    project.save()
    with django_capture_on_commit_callbacks(execute=True), api_client() as api:
        crawl.project_crawl(project=project, client=api, queue=False)
    kid = Image.objects.get(title="File:Kid.jpg")
    assert list(kid.crawled_in.values_list("category", flat=True)) == ["Kids of the family"]
    Sensitivity.objects.create(
        kind=Sensitivity.Kind.CATEGORY, value="Kids of the family", reason="minors"
    )
    kid_face = FaceFactory(image=kid)
    parent_face = FaceFactory(image=Image.objects.get(title="File:Parent.jpg"))
    found = selectors.sensitive_faces(project=project, faces=[kid_face, parent_face])
    assert found == {kid_face.pk}
