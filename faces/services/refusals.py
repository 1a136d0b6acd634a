"""Why a reviewer's action is refused: the errors every review workflow raises, and the
checks they share. ``str()`` of each error is what the reviewer is shown."""

from __future__ import annotations

from django.conf import settings
from django.utils import formats
from django.utils.translation import gettext as _

from faces.models import Image, Label, is_old_enough
from projects.models import Project


class ReviewError(Exception):
    """A reviewer's action that cannot be carried out; ``str()`` is shown to the reviewer."""

    code = "refused"


class ProjectNotAcceptingAnswers(ReviewError):
    code = "paused"

    def __init__(self, project: Project) -> None:
        # Who holds it says who can resume it: the owner, or only a moderator.
        super().__init__(project.standing.holds_answers)


class AlreadyAnswered(ReviewError):
    code = "already_answered"

    def __init__(self, by: str) -> None:
        super().__init__(
            _(
                "%(user)s already answered this face. Your other answers are kept; "
                "here is the next one."
            )
            % {"user": by}
        )
        self.by = by


class AnswerStands(AlreadyAnswered):
    """A skip on a face the reviewer answered before: that answer stands, the page moves on."""

    def __init__(self, by: str) -> None:
        # Not AlreadyAnswered's message: that one names somebody else.
        ReviewError.__init__(
            self,
            _(
                "You already answered this face: a skip leaves your answer as it is "
                "(undo takes it back). Here is the next one."
            ),
        )
        self.by = by


class FaceNotInProject(ReviewError):
    code = "not_in_project"

    def __init__(self) -> None:
        super().__init__(_("This face is not (or no longer) part of this project."))


class RequestIdReused(ReviewError):
    code = "request_id_reused"

    def __init__(self) -> None:
        super().__init__(_("This request id was already used for another answer."))


class FaceUsedElsewhere(ReviewError):
    code = "used_elsewhere"

    def __init__(self) -> None:
        super().__init__(
            _(
                "Another project has answers on this face, so its box cannot be changed "
                "here. Draw the face as a new box instead."
            )
        )


class NewUploadWaits(ReviewError):
    """A file younger than the wait for new uploads (``faces.models.old_enough_q``): its
    faces are neither drawn, corrected nor answered yet, as they are not detected yet."""

    code = "new_upload"

    def __init__(self) -> None:
        if settings.WIKIVISAGE_PROCESS_NEW_UPLOADS:
            text = _(
                "This file was uploaded less than %(hours)s hours ago: many new uploads are "
                "deleted soon after, so its faces are looked at once it is older."
            ) % {"hours": formats.number_format(_wait_hours())}
        else:
            text = _("This file is a new upload: new uploads are not processed on this site.")
        super().__init__(text)


def _wait_hours() -> float | int:
    hours = float(settings.WIKIVISAGE_NEW_UPLOAD_WAIT_HOURS)
    return int(hours) if hours.is_integer() else hours


class FaceAskedElsewhere(ReviewError):
    code = "asked_elsewhere"

    def __init__(self) -> None:
        super().__init__(
            _(
                "Another project you are not a member of holds this photo and is asked about "
                "this face, so its box cannot be changed here. Draw the face as a new box "
                "instead: it belongs to this project."
            )
        )


class InvalidBox(ReviewError):
    code = "invalid_box"

    def __init__(self) -> None:
        super().__init__(_("The box must lie inside the image and be large enough to hold a face."))


def check_open(project: Project) -> None:
    if not project.accepts_answers:
        raise ProjectNotAcceptingAnswers(project)


def check_old_enough(image: Image) -> None:
    """A new upload has no faces to look at yet: any it holds (drawn, or detected before
    the wait was part of the claim) wait with it."""
    if not is_old_enough(image):
        raise NewUploadWaits


def already_answered(label: Label) -> AlreadyAnswered:
    return AlreadyAnswered(by=label.user.get_username() if label.user else _("Someone"))
