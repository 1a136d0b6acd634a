"""The uploads page: the suggestions on the files the user uploaded to Commons, yes or no on
each, and their choice of notices. An answer goes through the classify page's own service
(``faces.services.answers.answer_record``) and counts in the project as a member's would."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from commons.oauth import wikimedia_username
from core.http import AuthenticatedRequest
from core.ratelimit import rate_limited
from faces.models import Face, Label
from faces.selectors import face_of_project
from faces.services import answers, refusals
from projects.models import Project
from projects.notifications import uploader_opt_out_set
from wikivisage.uploads import selectors
from wikivisage.uploads.forms import UploadAnswerForm, UploadNoticesForm


@login_required
@require_safe
def my_uploads(request: AuthenticatedRequest) -> HttpResponse:
    account = wikimedia_username(request.user)
    groups = (
        selectors.uploads_page(uploader=account, language=request.LANGUAGE_CODE) if account else []
    )
    notify = not selectors.opted_out(user=request.user)
    return render(
        request,
        "uploads/my_uploads.html",
        {
            "account": account,
            # Each card carries its own request id: a double click is stored once.
            "groups": [(group, [(s, uuid.uuid4()) for s in group.suggestions]) for group in groups],
            "count": sum(len(group.suggestions) for group in groups),
            "notices_form": UploadNoticesForm(initial={"notify": notify}),
        },
    )


def uploaded_face(
    request: AuthenticatedRequest, project_id: int, face_id: int
) -> tuple[Project, Face]:
    """The access check of an uploader's answer: the face lies on a file the user's Wikimedia
    account uploaded, in a project that allows uploaders, and nothing about it is withheld or
    sensitive (``selectors.may_answer``). Anything else is a 403, whether or not it exists."""
    account = wikimedia_username(request.user)
    project = Project.objects.filter(pk=project_id).first()
    face = face_of_project(project=project, face_id=face_id) if project else None
    if account is None or project is None or face is None:
        raise PermissionDenied
    if not selectors.may_answer(uploader=account, project=project, face=face):
        raise PermissionDenied
    return project, face


@login_required
@require_POST
@rate_limited("answer", per_minute=240)
def upload_answer(request: AuthenticatedRequest) -> HttpResponse:
    form = UploadAnswerForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("This answer could not be read. Please try again."))
        return redirect("uploads")
    data = form.cleaned_data
    project, face = uploaded_face(request, data["project"], data["face"])
    try:
        answers.answer_record(
            project=project,
            face=face,
            user=request.user,
            verdict=data["verdict"],
            request_id=data["request_id"],
        )
    except refusals.ReviewError as error:
        messages.error(request, str(error))
    else:
        said_yes = data["verdict"] == Label.Verdict.YES
        messages.success(request, _saved_text(project, request, said_yes))
    return redirect("uploads")


def _saved_text(project: Project, request: AuthenticatedRequest, said_yes: bool) -> str:
    person = project.label_in(request.LANGUAGE_CODE)
    if said_yes:
        return _("Saved: this is %(person)s.") % {"person": person}
    return _("Saved: this is not %(person)s.") % {"person": person}


@login_required
@require_POST
@rate_limited("manage", per_minute=30)
def upload_notices(request: AuthenticatedRequest) -> HttpResponse:
    """The user's own choice: notices about suggestions on their uploads, or none."""
    form = UploadNoticesForm(request.POST)
    form.is_valid()  # an unticked box is a valid "no"
    uploader_opt_out_set(user=request.user, opted_out=not form.cleaned_data.get("notify"))
    messages.success(request, _("Your choice is saved."))
    return redirect("uploads")
