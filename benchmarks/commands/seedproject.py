"""``seedproject --faces 100000 [--owner U]``: a large synthetic project, for benchmarks.

Creates the photos, their faces (random unit encodings), the learner's labels (a score, a
review priority, at most one suggestion per photo) and the learner's summary, all with
``bulk_create`` in batches, and prints the new project's id. Nothing is fetched from Commons:
the thumbnail addresses are made up.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from faces.learning_summary import LearnerSummary, ScoreHistogram
from faces.models import Face, Image, Label, ProjectImage
from projects.models import Membership, Project

BATCH = 5000
THRESHOLD = 0.5
HISTOGRAM_BINS = 20


class Command(BaseCommand):
    help = "Create a synthetic project with many faces and model labels; prints its id."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--faces", type=int, default=100_000, help="faces to create")
        parser.add_argument("--owner", default="seed", help="owner's user name (created if new)")
        parser.add_argument("--seed", type=int, default=1, help="random seed")

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        rng = np.random.default_rng(options["seed"])
        owner, _ = get_user_model().objects.get_or_create(username=options["owner"])
        project = _project(owner)
        faces_per_photo = _faces_per_photo(options["faces"], rng)
        images = _images(project, faces_per_photo)
        faces = _faces(project, images, faces_per_photo, rng)
        scores = _labels(project, faces, rng)
        _learning(project, scores)
        elapsed = time.monotonic() - started
        self.stderr.write(
            f"project {project.pk}: {len(images)} photos, {len(faces)} faces in {elapsed:.1f}s"
        )
        self.stdout.write(str(project.pk))


def _project(owner: Any) -> Project:
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S-%f")
    project = Project.objects.create(
        owner=owner,
        qid="Q76",
        category=f"Seeded faces {stamp}",
        person_labels={"en": "Barack Obama"},
        person_image="Barack Obama 01.jpg",
        rescore_pending=True,  # no learner run is queued for synthetic data
    )
    Membership.objects.create(project=project, user=owner, role=Membership.Role.OWNER)
    return project


def _faces_per_photo(total: int, rng: np.random.Generator) -> list[int]:
    """Mostly portraits, some pairs and group photos, adding up to ``total`` faces."""
    counts: list[int] = []
    left = total
    while left > 0:
        n = int(min(left, rng.choice([1, 1, 1, 2, 3, 5])))
        counts.append(n)
        left -= n
    return counts


def _batches(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), BATCH):
        yield items[start : start + BATCH]


def _images(project: Project, faces_per_photo: Sequence[int]) -> list[Image]:
    first = (Image.objects.aggregate(top=Max("pageid"))["top"] or 10_000_000) + 1
    rows = [_image(first + i) for i in range(len(faces_per_photo))]
    for batch in _batches(rows):
        with transaction.atomic():
            Image.objects.bulk_create(batch)
    images = list(Image.objects.filter(pageid__gte=first).order_by("pageid"))
    links = [ProjectImage(project=project, image=image, source="category") for image in images]
    for batch in _batches(links):
        ProjectImage.objects.bulk_create(batch)
    return images


def _image(pageid: int) -> Image:
    name = f"Seeded_face_{pageid}.jpg"
    return Image(
        pageid=pageid,
        title=f"File:Seeded face {pageid}.jpg",
        sha1=f"{pageid:040x}",
        width=2000,
        height=1500,
        mime="image/jpeg",
        thumb_width=500,
        state=Image.State.DONE,
        thumb_url=f"https://upload.wikimedia.org/wikipedia/commons/thumb/0/00/{name}/500px-{name}",
        processed_at=timezone.now(),
    )


def _faces(
    project: Project,
    images: Sequence[Image],
    faces_per_photo: Sequence[int],
    rng: np.random.Generator,
) -> list[Face]:
    vectors = rng.normal(size=(sum(faces_per_photo), 128)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    rows, k = [], 0
    for image, count in zip(images, faces_per_photo, strict=True):
        width = 0.8 / count
        for index in range(count):
            rows.append(
                Face(
                    image=image,
                    index=index,
                    left=0.1 + index * width,
                    top=0.2,
                    width=width * 0.8,
                    height=0.3,
                    encoding=vectors[k].tobytes(),
                )
            )
            k += 1
    for batch in _batches(rows):
        Face.objects.bulk_create(batch)
    return list(
        Face.objects.filter(image__project_links__project=project)
        .only("pk", "image_id")
        .order_by("pk")
    )


def _labels(project: Project, faces: Sequence[Face], rng: np.random.Generator) -> np.ndarray:
    """A score per face (most faces are other people), a priority, one suggestion per photo."""
    scores = np.clip(rng.beta(0.6, 2.2, size=len(faces)), 0, 1)
    best: dict[int, int] = {}
    for i, face in enumerate(faces):
        current = best.get(face.image_id)
        if scores[i] >= THRESHOLD and (current is None or scores[i] > scores[current]):
            best[face.image_id] = i
    suggested = set(best.values())
    rows = [
        Label(
            project=project,
            face_id=face.pk,
            source=Label.Source.MODEL,
            score=float(scores[i]),
            priority=float(1 - abs(scores[i] - THRESHOLD)),
            verdict=Label.Verdict.YES if i in suggested else Label.Verdict.NO,
        )
        for i, face in enumerate(faces)
    ]
    for batch in _batches(rows):
        Label.objects.bulk_create(batch)
    return scores


def _learning(project: Project, scores: np.ndarray) -> None:
    counts, edges = np.histogram(scores, bins=HISTOGRAM_BINS, range=(0, 1))
    summary = LearnerSummary(
        updated_at=timezone.now(),
        faces=len(scores),
        suggested=int((scores >= THRESHOLD).sum()),
        threshold=THRESHOLD,
        histogram=ScoreHistogram(
            bins=tuple(round(float(e), 3) for e in edges),
            answered_yes=(0,) * HISTOGRAM_BINS,
            answered_no=(0,) * HISTOGRAM_BINS,
            unanswered=tuple(int(c) for c in counts),
        ),
    )
    project.learning = summary.to_json()
    project.save(update_fields=["learning"])
