"""What a learner process remembers between re-scorings, and the learner's bulk label write.

Remembering must never change a result: every test compares with a run that forgot.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from benchmarks.commands import benchmark_rescore
from faceengine.learner.evidence import Verdict
from faces.models import Face, Label, ProjectImage
from faces.services import learner_memory, scoring
from tests.factories import (
    FaceFactory,
    ImageFactory,
    LabelFactory,
    ProjectFactory,
    ProjectImageFactory,
)

pytestmark = pytest.mark.django_db

REFERENCE = Path(settings.FACES_DATA_DIR) / "reference_encodings.npz"


@pytest.fixture
def project():
    """Twenty photos of four people, one face each."""
    data = np.load(REFERENCE)
    project = ProjectFactory(qid="Q207", min_answers=1)
    people = ("george_w_bush", "colin_powell", "tony_blair", "laura_bush")
    for i, name in enumerate(data["image_file"]):
        if str(name).split("/")[0] in people and data["face_index"][i] == 0:
            add_face(project, data["encoding"][i], f"File:{name}")
    return project


def add_face(project, encoding: np.ndarray, title: str) -> Face:
    image = ImageFactory(title=title)
    ProjectImageFactory(project=project, image=image)
    return FaceFactory(image=image, index=0, encoding=Face.pack(encoding))


def model_labels(project) -> dict[int, tuple]:
    return {
        face_id: (verdict, score, priority)
        for face_id, verdict, score, priority in Label.objects.filter(
            project=project, source=Label.Source.MODEL
        ).values_list("face_id", "verdict", "score", "priority")
    }


def answer_yes(project, title_part: str) -> None:
    face = Face.objects.filter(image__title__contains=title_part).first()
    LabelFactory(project=project, face=face, verdict="yes", source="human", user=project.owner)


def rescore_forgetting(project) -> dict[int, tuple]:
    learner_memory.forget()
    scoring.project_rescore(project_id=project.pk)
    return model_labels(project)


def test_after_an_answer_no_encoding_and_no_model_label_is_read_again(project):
    answer_yes(project, "george_w_bush/01")
    scoring.project_rescore(project_id=project.pk)
    answer_yes(project, "george_w_bush/02")
    with CaptureQueriesContext(connection) as queries:
        scoring.project_rescore(project_id=project.pk)
    selects = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SELECT")]
    columns = [sql.split(" FROM ")[0] for sql in selects]
    reading = [sql for sql in columns if '"encoding"' in sql or "`encoding`" in sql]
    assert not reading, reading
    assert not [sql for sql in columns if '"score"' in sql or "`score`" in sql], columns
    remembered = model_labels(project)
    assert remembered == rescore_forgetting(project)


def test_a_new_face_is_read_and_scored(project):
    answer_yes(project, "george_w_bush/01")
    scoring.project_rescore(project_id=project.pk)
    data = np.load(REFERENCE)
    late = list(data["image_file"]).index("george_w_bush/09.jpg")
    new = add_face(project, data["encoding"][late], "File:Late.jpg")
    scoring.project_rescore(project_id=project.pk)
    labels = model_labels(project)
    assert new.pk in labels
    assert labels == rescore_forgetting(project)


def test_a_face_replaced_by_a_corrected_box_leaves_the_remembered_faces(project):
    answer_yes(project, "george_w_bush/01")
    scoring.project_rescore(project_id=project.pk)
    old = Face.objects.get(image__title__contains="colin_powell/01")
    new = FaceFactory(image=old.image, index=1, encoding=old.encoding)
    old.supersede(new)
    scoring.project_rescore(project_id=project.pk)
    labels = model_labels(project)
    assert old.pk not in labels and new.pk in labels


def test_a_face_retired_by_a_re_upload_leaves_the_remembered_faces(project):
    """No new face appears (the new bytes wait for detection), yet the old one is gone."""
    answer_yes(project, "george_w_bush/01")
    scoring.project_rescore(project_id=project.pk)
    old = Face.objects.get(image__title__contains="colin_powell/01")
    assert old.pk in model_labels(project)
    old.retire(index=10_000)
    scoring.project_rescore(project_id=project.pk)
    assert model_labels(project) == rescore_forgetting(project)
    assert old.pk not in model_labels(project)


def test_labels_written_by_another_process_are_read_back(project):
    answer_yes(project, "george_w_bush/01")
    scoring.project_rescore(project_id=project.pk)
    # Another process re-scores and rewrites the labels: its summary carries another time.
    Label.objects.filter(project=project, source=Label.Source.MODEL).update(score=0.123)
    project.refresh_from_db()
    learning = dict(project.learning)
    learning["updated_at"] = "2000-01-01T00:00:00+00:00"
    type(project).objects.filter(pk=project.pk).update(learning=learning)
    scoring.project_rescore(project_id=project.pk)
    assert 0.123 not in {score for _, score, _ in model_labels(project).values()}


def test_nothing_is_remembered_beyond_the_budget(project, settings):
    settings.WIKIVISAGE_LEARNER_MEMORY_MB = 0
    answer_yes(project, "george_w_bush/01")
    scoring.project_rescore(project_id=project.pk)
    assert learner_memory.recall_written(project) is None
    with CaptureQueriesContext(connection) as queries:
        scoring.project_rescore(project_id=project.pk)
    assert any("encoding" in q["sql"] for q in queries.captured_queries)


def test_the_bulk_write_inserts_then_updates(project):
    faces = list(Face.objects.filter(image__project_links__project=project)[:3])
    rows = [(face.pk, "no", 0.25, -1.5) for face in faces]
    Label.objects.model_upsert(project.pk, rows, batch_size=2)
    Label.objects.model_upsert(project.pk, [(faces[0].pk, "yes", 0.9, None)], batch_size=2)
    labels = model_labels(project)
    assert labels[faces[0].pk] == ("yes", 0.9, None)
    assert labels[faces[1].pk] == labels[faces[2].pk] == ("no", 0.25, -1.5)
    assert Label.objects.filter(project=project).count() == 3


def test_a_drawn_face_encoded_since_the_last_run_is_read(project):
    answer_yes(project, "george_w_bush/01")
    drawn = FaceFactory(
        image=Face.objects.get(image__title__contains="tony_blair/01").image,
        index=5,
        encoding=None,
    )
    scoring.project_rescore(project_id=project.pk)
    assert drawn.pk not in model_labels(project)
    # A detect worker encodes it: no new id, no photo processed.
    source = Face.objects.get(image__title__contains="george_w_bush/02")
    Face.objects.filter(pk=drawn.pk).update(encoding=source.encoding)
    scoring.project_rescore(project_id=project.pk)
    assert drawn.pk in model_labels(project)
    assert model_labels(project) == rescore_forgetting(project)


def test_the_same_labels_whether_remembered_or_read_over_many_answers(project):
    faces = list(Face.objects.filter(image__project_links__project=project).order_by("pk"))
    for face in faces[:6]:
        verdict = "yes" if "george_w_bush" in face.image.title else "no"
        LabelFactory(
            project=project, face=face, verdict=verdict, source="human", user=project.owner
        )
        scoring.project_rescore(project_id=project.pk)
        remembered = model_labels(project)
        assert remembered == rescore_forgetting(project)


def test_a_photo_that_leaves_the_project_takes_its_faces_along(project):
    answer_yes(project, "george_w_bush/01")
    scoring.project_rescore(project_id=project.pk)
    leaving = Face.objects.get(image__title__contains="laura_bush/01")
    ProjectImage.objects.filter(project=project, image=leaving.image).delete()
    scoring.project_rescore(project_id=project.pk)
    assert leaving.pk not in model_labels(project)
    assert model_labels(project) == rescore_forgetting(project)


def test_the_rescoring_benchmark_runs_and_leaves_nothing_behind():
    out = io.StringIO()
    call_command(benchmark_rescore.Command(), "--faces", "400", "--answers", "2", stdout=out)
    text = out.getvalue()
    assert "first scoring" in text and "after an answer (2 answers)" in text
    assert not Face.objects.exists() and not Label.objects.exists()


def test_the_bulk_update_rewrites_labels_and_inserts_one_deleted_meanwhile(project):
    faces = list(Face.objects.filter(image__project_links__project=project)[:3])
    Label.objects.model_upsert(project.pk, [(face.pk, "no", 0.25, -1.5) for face in faces])
    Label.objects.filter(project=project, face=faces[1]).delete()  # by someone else
    rows = [(face.pk, "yes", 0.875, None) for face in faces[:2]] + [(faces[2].pk, "no", 0.5, 2.0)]
    Label.objects.model_update(project.pk, rows, batch_size=2)
    labels = model_labels(project)
    assert labels == {
        faces[0].pk: ("yes", 0.875, None),
        faces[1].pk: ("yes", 0.875, None),
        faces[2].pk: ("no", 0.5, 2.0),
    }


def test_the_bulk_update_takes_only_numbers_and_verdicts(project):
    face = Face.objects.filter(image__project_links__project=project).first()
    Label.objects.model_upsert(project.pk, [(face.pk, "no", 0.25, None)])
    with pytest.raises(ValueError):
        Label.objects.model_update(project.pk, [(face.pk, "no'); DROP TABLE x; --", 0.5, None)])
    with pytest.raises(ValueError):
        Label.objects.model_update(project.pk, [(face.pk, "no", "0.5); --", None)])


def test_labels_kept_from_answer_to_answer_match_labels_written_afresh(project):
    """The learner writes only what moved since its last run; a twin project over the same
    photos, whose labels are deleted and written in full before every run, must end up with
    the same verdicts and review order, and scores within the tolerance, at every answer."""
    twin = ProjectFactory(qid=project.qid, min_answers=project.min_answers)
    for image_id in ProjectImage.objects.filter(project=project).values_list("image", flat=True):
        ProjectImageFactory(project=twin, image_id=image_id)
    faces = list(Face.objects.filter(image__project_links__project=project).order_by("pk"))
    for face in faces[::3][:6]:
        verdict = "yes" if "george_w_bush" in face.image.title else "no"
        for each in (project, twin):
            LabelFactory(project=each, face=face, verdict=verdict, source="human", user=each.owner)
        scoring.project_rescore(project_id=project.pk)
        Label.objects.filter(project=twin, source=Label.Source.MODEL).delete()
        learner_memory.forget(twin.pk)
        scoring.project_rescore(project_id=twin.pk)
        kept, fresh = model_labels(project), model_labels(twin)
        assert kept.keys() == fresh.keys()
        for face_id, (verdict, score, priority) in fresh.items():
            assert kept[face_id][0] == verdict and kept[face_id][2] == priority
            assert abs(kept[face_id][1] - score) <= scoring.SCORE_TOLERANCE + 1e-9


def test_a_photo_detected_elsewhere_that_joins_as_another_leaves_is_seen(project):
    """The joining photo's face was detected for another project before: no new face id,
    and the project's photo count stays the same; the project's newest photo link tells."""
    data = np.load(REFERENCE)
    elsewhere = add_face(
        ProjectFactory(qid="Q1"),
        data["encoding"][list(data["image_file"]).index("george_w_bush/09.jpg")],
        "File:Elsewhere.jpg",
    )
    answer_yes(project, "george_w_bush/01")
    scoring.project_rescore(project_id=project.pk)
    leaving = Face.objects.get(image__title__contains="laura_bush/01")
    ProjectImage.objects.filter(project=project, image=leaving.image).delete()
    ProjectImageFactory(project=project, image=elsewhere.image)
    scoring.project_rescore(project_id=project.pk)
    labels = model_labels(project)
    assert elsewhere.pk in labels and leaving.pk not in labels
    assert labels == rescore_forgetting(project)


def test_the_evidence_read_by_face_id_lands_on_each_face_s_row(project):
    """Answers, removed statements and photos naming other people, placed by face id on
    the remembered (sorted) rows: a reviewer's answer outweighs a removed statement."""
    faces = list(Face.objects.filter(image__project_links__project=project).order_by("pk"))
    yes_over_removed, skip_over_removed, removed, crowded = faces[2], faces[5], faces[7], faces[11]
    depicted = faces[13]  # names the person, and another: not crowded
    unencoded = FaceFactory(image=faces[0].image, index=3, encoding=None)  # not among the rows
    LabelFactory(project=project, face=unencoded, verdict="yes", source="human", user=project.owner)
    for face in (yes_over_removed, skip_over_removed, removed):
        LabelFactory(project=project, face=face, verdict="no", source="bootstrap")
    LabelFactory(
        project=project, face=yes_over_removed, verdict="yes", source="human", user=project.owner
    )
    LabelFactory(
        project=project, face=skip_over_removed, verdict="skip", source="human", user=project.owner
    )
    ProjectImage.objects.filter(project=project, image=crowded.image).update(depicts_others=["Q5"])
    ProjectImage.objects.filter(project=project, image=depicted.image).update(
        depicts_person=True, depicts_others=["Q5"]
    )
    for _ in range(2):  # read afresh, then remembered
        data = scoring.project_faces(project)
        row = {face_id: i for i, face_id in enumerate(data.face_ids.tolist())}
        verdicts, against = data.evidence.verdicts, data.evidence.against
        assert verdicts[row[yes_over_removed.pk]] == Verdict.YES
        assert verdicts[row[skip_over_removed.pk]] == Verdict.SKIP
        assert verdicts[row[removed.pk]] == Verdict.NO
        assert (verdicts != Verdict.NONE).sum() == 3
        assert against[row[crowded.pk]] == scoring.OTHERS_DEPICTED_WEIGHT
        assert (against > 0).sum() == 1
        assert data.depicted_images.tolist() == [depicted.image_id]
