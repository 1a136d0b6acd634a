"""Unique constraints make every step re-runnable: a duplicate row is refused by the database."""

from __future__ import annotations

import numpy as np
import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from depicts.models import DepictsEdit, WriteSwitch
from faces.models import Face, Label, ProjectImage
from projects.models import Membership
from tests.factories import (
    AnswerFactory,
    DepictsEditFactory,
    FaceFactory,
    ImageFactory,
    LabelFactory,
    MembershipFactory,
    ProjectFactory,
    ProjectImageFactory,
)

pytestmark = pytest.mark.django_db


def refused(factory, **kwargs) -> bool:
    try:
        with transaction.atomic():
            factory(**kwargs)
    except IntegrityError:
        return True
    return False


def test_duplicate_image_pageid_is_refused():
    ImageFactory(pageid=42)
    assert refused(ImageFactory, pageid=42)


def test_image_shared_by_projects_is_linked_once_per_project():
    link = ProjectImageFactory()
    assert refused(ProjectImageFactory, project=link.project, image=link.image)
    assert not refused(ProjectImageFactory, image=link.image)  # another project may share it
    assert link.image.project_links.count() == 2


def test_duplicate_face_index_in_an_image_is_refused():
    face = FaceFactory(index=0)
    assert refused(FaceFactory, image=face.image, index=0)


def test_face_box_outside_the_image_is_refused():
    assert refused(FaceFactory, left=-0.1)
    assert refused(FaceFactory, width=1.5)
    assert refused(FaceFactory, height=0)


def test_duplicate_label_of_one_source_is_refused_but_sources_coexist():
    label = LabelFactory(source=Label.Source.HUMAN)
    assert refused(LabelFactory, project=label.project, face=label.face, source=Label.Source.HUMAN)
    assert not refused(
        LabelFactory, project=label.project, face=label.face, source=Label.Source.MODEL
    )


def test_answer_sent_twice_with_one_request_id_is_stored_once():
    answer = AnswerFactory()
    assert refused(
        AnswerFactory, project=answer.project, face=answer.face, request_id=answer.request_id
    )


def test_duplicate_depicts_edit_is_refused():
    edit = DepictsEditFactory()
    assert refused(
        DepictsEditFactory,
        project=edit.project,
        image=edit.image,
        qid=edit.qid,
        action=DepictsEdit.Action.ADD,
    )
    assert refused(DepictsEditFactory, statement_id=edit.statement_id)
    assert not refused(
        DepictsEditFactory,
        project=edit.project,
        image=edit.image,
        qid=edit.qid,
        action=DepictsEdit.Action.REMOVE,
    )


def test_duplicate_membership_is_refused():
    membership = MembershipFactory()
    assert refused(MembershipFactory, project=membership.project, user=membership.user)


def test_encoding_round_trips_as_512_bytes_of_float32():
    vector = np.linspace(-1, 1, 128, dtype=np.float64)
    face = FaceFactory(encoding=Face.pack(vector))
    face.refresh_from_db()
    assert len(bytes(face.encoding)) == 512
    np.testing.assert_array_equal(face.vector, vector.astype(np.float32))
    with pytest.raises(ValueError):
        Face.pack(np.zeros(127))


def test_region_is_written_in_percent_of_the_full_image():
    face = FaceFactory(left=0.1, top=0.25, width=0.125, height=0.3333)
    assert face.region_pct == "pct:10,25,12.5,33.33"


def test_unlabelled_faces_skip_answered_and_superseded_ones():
    project = ProjectFactory()
    image = ProjectImageFactory(project=project).image
    answered, open_face, old = (FaceFactory(image=image, index=i) for i in range(3))
    LabelFactory(project=project, face=answered)
    old.supersede(FaceFactory(image=image, index=3))
    remaining = set(Face.objects.unlabelled(project).values_list("index", flat=True))
    assert remaining == {open_face.index, 3}


def test_owner_role_does_not_depend_on_a_membership_row(owner, project, member, outsider):
    Membership.objects.filter(project=project, user=owner).delete()
    assert project.role_of(owner) == Membership.Role.OWNER
    assert project.role_of(member) == Membership.Role.REVIEWER
    assert project.role_of(outsider) is None


def test_global_write_switch_stops_writes():
    assert WriteSwitch.writes_allowed()
    switch = WriteSwitch.get()
    switch.writes_enabled = False
    switch.save()
    assert not WriteSwitch.writes_allowed()


def test_project_images_record_how_they_entered():
    link = ProjectImageFactory(source=ProjectImage.Source.BOOTSTRAP)
    assert link.get_source_display() == "Existing depicts statement"
    link.source = "guess"
    with pytest.raises(ValidationError):
        link.full_clean()


def test_region_of_a_face_at_the_image_edge_keeps_its_zero():
    face = FaceFactory(left=0.0, top=0.0, width=0.5, height=1.0)
    assert face.region_pct == "pct:0,0,50,100"
