"""What a learner process remembers between two re-scorings of a project.

A project of 100,000 faces holds 51 MB of encodings and 100,000 model labels. Reading both
back from MariaDB for every answer took over 2 s, while an answer changes neither the faces
nor, for most rows, the labels. So a ``learn`` worker process keeps, per project:

- the faces it read (ids, photos, encodings), reused while they cannot have changed: a face
  appears only with a new id (detection, a copy from an identical file, a drawn or corrected
  box: the highest face id grows) or with a photo that joins the project (its newest photo
  link grows, even when the photo's faces were detected for another project), faces leave
  with their photo (the project's photo count drops) or with a corrected box (which adds a
  face), and an unencoded face changes when a worker encodes it (checked by id: they are
  few). The project's creation time is part of
  the key too (a test database that rolled back may reuse ids). A face encoded again by
  another model (``Face.encoder``) keeps its id: so a project is remembered only while all
  its encoded faces are of one model, and recalled only while none is of another (one
  indexed look-up); while a new model's sweep is under way, each re-scoring reads afresh;
- the model labels it wrote, reused while the project's learner summary still carries the
  time this process wrote it, so no other process re-scored the project since. Between two
  runs only one other change touches model labels (an answer clears its face's priority),
  and a stale remembered value only makes the next run write that row again.

Memory is bounded (``WIKIVISAGE_LEARNER_MEMORY_MB``): the projects used least recently are
forgotten first. Worker processes are recycled (``--max-tasks-per-child``), which also
empties it. Nothing here is needed for correctness: forgetting only costs a full read.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.conf import settings
from django.db.models import Count, Max, QuerySet

from faces.models import Face, ProjectImage
from projects.models import Project


@dataclass(frozen=True)
class LabelArrays:
    """Model labels as arrays, one row per face: what was written, or is to be written.

    ``rank`` (the review priority) and ``score`` are NaN where the database holds NULL.
    """

    face_ids: np.ndarray
    suggested: np.ndarray
    score: np.ndarray
    rank: np.ndarray

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in (self.face_ids, self.suggested, self.score, self.rank))

    def changed_since(self, stored: LabelArrays, *, score_tolerance: float) -> LabelChanges:
        """What to write so the stored labels say what ``self`` says: the rows of ``self``
        that ``stored`` lacks (``new``) or holds with a different verdict or priority, or a
        score more than ``score_tolerance`` away (``moved``), and the face ids ``stored``
        holds that ``self`` no longer has (``gone``), sorted."""
        if stored.face_ids.size == 0:
            everything = np.ones(self.face_ids.size, dtype=bool)
            return LabelChanges(new=everything, moved=~everything, gone=[], written=self)
        row, found = _rows_of(stored.face_ids, self.face_ids)
        kept = stored.score[row]
        close = np.abs(kept - self.score) <= score_tolerance
        same = (
            found
            & (stored.suggested[row] == self.suggested)
            & (close | (np.isnan(kept) & np.isnan(self.score)))
            & _equal(stored.rank[row], self.rank)
        )
        written = LabelArrays(
            face_ids=self.face_ids,
            suggested=self.suggested,
            score=np.where(same, kept, self.score),
            rank=self.rank,
        )
        return LabelChanges(
            new=~found, moved=found & ~same, gone=_missing(self.face_ids, stored), written=written
        )


@dataclass(frozen=True)
class LabelChanges:
    new: np.ndarray  # mask over the wanted rows: no stored label yet
    moved: np.ndarray  # mask over the wanted rows: a stored label that says something else
    gone: list[int]  # stored face ids no longer wanted
    written: LabelArrays  # what is stored once the changes are written


def _rows_of(stored: np.ndarray, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each wanted face id, its row in ``stored`` and whether it is there at all.

    Between two answers the faces are the same, in the same order: then no search."""
    if np.array_equal(stored, wanted):
        return np.arange(wanted.size), np.ones(wanted.size, dtype=bool)
    if stored.size == 0:
        return np.zeros(wanted.size, dtype=np.intp), np.zeros(wanted.size, dtype=bool)
    order = np.argsort(stored, kind="stable")
    position = np.minimum(np.searchsorted(stored[order], wanted), order.size - 1)
    row = order[position]
    return row, stored[row] == wanted


def _missing(wanted: np.ndarray, stored: LabelArrays) -> list[int]:
    if np.array_equal(stored.face_ids, wanted):
        return []
    _, found = _rows_of(wanted, stored.face_ids)
    return np.sort(stored.face_ids[~found]).tolist()


def _equal(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a == b) | (np.isnan(a) & np.isnan(b))


@dataclass(frozen=True)
class FacesKey:
    created: str
    images: int
    last_link: int  # the project's newest photo link: a photo that joins adds one
    highest_face: int
    replaced_faces: int  # corrected or retired (re-uploaded file): no new face, one fewer


@dataclass
class Remembered:
    key: FacesKey
    face_ids: np.ndarray
    image_ids: np.ndarray
    encodings: np.ndarray
    unencoded: list[int]
    image_index: np.ndarray  # each face's photo, numbered 0.. (the learner's per-photo sums)
    hint: tuple[str, int | None] | None = None  # (P18 title, its largest face), once looked up
    model: str | None = None  # the model of ``encodings`` (None: no face encoded)
    written_at: str | None = None
    written: LabelArrays | None = None

    @property
    def size(self) -> int:
        labels = self.written.nbytes if self.written is not None else 0
        arrays = (self.encodings, self.face_ids, self.image_ids, self.image_index)
        return sum(int(a.nbytes) for a in arrays) + labels

    def rows(self, face_ids: Iterable[int]) -> np.ndarray:
        """The rows of these faces, those that are not among the faces left out.

        ``face_ids`` is sorted (read in id order): a binary search, no dict of 100,000 ids."""
        wanted = np.fromiter(face_ids, dtype=np.int64)
        if not self.face_ids.size or not wanted.size:
            return np.zeros(0, dtype=np.intp)
        row = np.minimum(np.searchsorted(self.face_ids, wanted), self.face_ids.size - 1)
        return row[self.face_ids[row] == wanted]


_memory: OrderedDict[int, Remembered] = OrderedDict()


def faces_key(project: Project) -> FacesKey:
    """What the project's faces depend on, read without touching a face row.

    The photos are counted and their newest link read in one pass over the project's index
    entries: a photo that leaves lowers the count, one that joins raises the newest link,
    even when it brings faces detected before (a file of another project), which raise no
    face id, and even when one leaves as another joins."""
    highest = Face.objects.aggregate(highest=Max("pk"))["highest"]
    links = ProjectImage.objects.filter(project=project).aggregate(n=Count("pk"), last=Max("pk"))
    return FacesKey(
        created=project.created_at.isoformat() if project.created_at else "",
        images=int(links["n"]),
        last_link=int(links["last"] or 0),
        highest_face=int(highest or 0),
        # Few faces are replaced: the count reads the superseded_by index, not the faces.
        replaced_faces=Face.objects.filter(superseded_by__isnull=False).count(),
    )


def recall_faces(project: Project, key: FacesKey) -> Remembered | None:
    remembered = _memory.get(project.pk)
    if remembered is None or remembered.key != key:
        return None
    if (
        remembered.unencoded
        and Face.objects.filter(pk__in=remembered.unencoded, encoding__isnull=False).exists()
    ):
        return None  # a drawn face was encoded since
    if remembered.model is not None and other_model_faces(project, remembered.model).exists():
        return None  # faces were encoded again, by another model
    _memory.move_to_end(project.pk)
    return remembered


def other_model_faces(project: Project, model: str) -> QuerySet[Face]:
    """The project's current faces whose encoding another model computed."""
    faces = Face.objects.current().of_project(project)
    return faces.filter(encoding__isnull=False).exclude(encoder=model)


def remember_faces(
    project: Project,
    key: FacesKey,
    face_ids: np.ndarray,
    image_ids: np.ndarray,
    encodings: np.ndarray,
    unencoded: list[int],
    *,
    model: str | None = None,
    mixed: bool = False,
) -> Remembered:
    """Keep what was read, unless the project holds faces of two models (``mixed``).
    ``face_ids`` are sorted (``Remembered.rows`` searches them)."""
    if np.any(np.diff(face_ids) <= 0):
        raise ValueError("the faces must be remembered in increasing id order")
    _, image_index = np.unique(image_ids, return_inverse=True)
    remembered = Remembered(
        key, face_ids, image_ids, encodings, unencoded, image_index.reshape(-1), model=model
    )
    if mixed:
        forget(project.pk)
        return remembered
    _memory[project.pk] = remembered
    _memory.move_to_end(project.pk)
    _forget_beyond_budget()
    return remembered


def recall_written(project: Project) -> LabelArrays | None:
    """The model labels this process last wrote, if nobody re-scored the project since."""
    remembered = _memory.get(project.pk)
    if remembered is None or remembered.written_at is None:
        return None
    if _summary_time(project.learning) != remembered.written_at:
        return None
    return remembered.written


def remember_written(project_id: int, written: LabelArrays, summary: dict[str, Any]) -> None:
    remembered = _memory.get(project_id)
    if remembered is None:
        return
    remembered.written, remembered.written_at = written, _summary_time(summary)
    _forget_beyond_budget()


def forget(project_id: int | None = None) -> None:
    """Forget one project, or everything (tests, and a project's deletion)."""
    if project_id is None:
        _memory.clear()
    else:
        _memory.pop(project_id, None)


def _summary_time(summary: Any) -> str | None:
    value = summary.get("updated_at") if isinstance(summary, dict) else None
    return value if isinstance(value, str) else None


def _forget_beyond_budget() -> None:
    budget = settings.WIKIVISAGE_LEARNER_MEMORY_MB * 2**20
    while len(_memory) > 1 and sum(item.size for item in _memory.values()) > budget:
        _memory.popitem(last=False)
    if _memory and next(iter(_memory.values())).size > budget:
        _memory.clear()  # one project larger than the budget: never kept
