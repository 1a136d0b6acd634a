"""The review page: classify, one face at a time, keyboard first.

The classify page speaks JSON with its script (``static/js/classify.js``). Every answer
carries a request id made by the browser, so a retry is stored once; every response that
moves the reviewer on carries the question after next, so the page always holds one in
reserve and never waits between two faces.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST, require_safe

from commons import addresses
from core.http import AuthenticatedRequest
from core.ratelimit import rate_limited
from faces import selectors
from faces.forms import AnswerForm, CorrectForm, DrawForm, ExcludeForm, PickForm
from faces.json_responses import invalid, json_body, not_found, refused
from faces.models import Face, Label
from faces.services import answers, drawing, leases, refusals
from faces.services.undo import answer_undo
from projects import selectors as project_selectors
from projects.access import project_for
from projects.models import Project


def _serve(project: Project, request: AuthenticatedRequest, exclude: list[int]) -> dict[str, Any]:
    """The next question for this reviewer (held for them), or why there is none."""
    face = leases.face_serve(project=project, user=request.user, exclude=exclude)
    if face is not None:
        return {"question": selectors.question_for(project=project, face=face).as_dict()}
    return {"question": None, "message": _nothing_left(project)}


def _nothing_left(project: Project) -> str:
    if not project.accepts_answers:
        return str(refusals.ProjectNotAcceptingAnswers(project))
    progress = selectors.project_progress(project=project)
    if progress.detecting or project_selectors.crawling(project):
        return _(
            "No face is waiting right now: %(done)d of %(total)d photos are processed so "
            "far. New questions appear as faces are found."
        ) % {"done": progress.processed, "total": progress.images}
    return _("Every face of this project has an answer. Thank you!")


def _question(project: Project, face: Face) -> dict[str, Any]:
    return selectors.question_for(project=project, face=face).as_dict()


# --- classify ---------------------------------------------------------------------------


@login_required
@require_safe
def classify(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    project = project_for(request, pk)
    first = (
        _serve(project, request, [])
        if project.accepts_answers
        else {"question": None, "message": str(refusals.ProjectNotAcceptingAnswers(project))}
    )
    return render(
        request,
        "faces/classify.html",
        {
            "project": project,
            "person_label": project.label_in(request.LANGUAGE_CODE),
            "person_image": addresses.person_image_url(project.person_image),
            "first": first,
            "endpoints": {
                name: reverse(f"projects:{name}", args=[project.pk])
                for name in ("next", "answer", "pick", "undo", "draw", "correct")
            },
        },
    )


@login_required
@require_safe
@rate_limited("next", per_minute=240)
def next_question(request: AuthenticatedRequest, pk: int) -> JsonResponse:
    project = project_for(request, pk)
    form = ExcludeForm(request.GET)
    if not form.is_valid():
        return invalid(form)
    if not project.accepts_answers:
        return refused("paused", str(refusals.ProjectNotAcceptingAnswers(project)))
    return JsonResponse(_serve(project, request, form.cleaned_data["exclude"]))


@login_required
@require_POST
@rate_limited("answer", per_minute=240)
def answer(request: AuthenticatedRequest, pk: int) -> JsonResponse:
    project = project_for(request, pk)
    form = AnswerForm(json_body(request))
    if not form.is_valid():
        return invalid(form)
    data = form.cleaned_data
    face = selectors.face_of_project(project=project, face_id=data["face"])
    if face is None:
        return not_found()
    try:
        outcome = answers.answer_record(
            project=project,
            face=face,
            user=request.user,
            verdict=data["verdict"],
            request_id=data["request_id"],
        )
    except refusals.ReviewError as error:
        return answer_refusal(project, request, error, data["exclude"])
    return _stored(project, request, outcome, data["exclude"])


@login_required
@require_POST
@rate_limited("answer", per_minute=240)
def pick(request: AuthenticatedRequest, pk: int) -> JsonResponse:
    """Keys 1-9 and 0 on a group photo: which face (if any) is the person."""
    project = project_for(request, pk)
    form = PickForm(json_body(request))
    if not form.is_valid():
        return invalid(form)
    data = form.cleaned_data
    image = selectors.image_of_project(project=project, image_id=data["image"])
    chosen = (
        selectors.face_of_project(project=project, face_id=data["face"]) if data["face"] else None
    )
    if image is None or (data["face"] and chosen is None):
        return not_found()
    try:
        outcome = answers.answer_pick(
            project=project,
            image=image,
            user=request.user,
            chosen=chosen,
            request_id=data["request_id"],
        )
    except refusals.ReviewError as error:
        return answer_refusal(project, request, error, data["exclude"])
    return _stored(project, request, outcome, data["exclude"])


def _stored(
    project: Project,
    request: AuthenticatedRequest,
    outcome: answers.AnswerOutcome,
    exclude: list[int],
) -> JsonResponse:
    following = _serve(project, request, exclude)
    return JsonResponse(
        {
            "stored": True,
            "repeat": not outcome.created,
            "faces": [a.face_id for a in outcome.answers],
            "next": following["question"],
            "message": following.get("message", ""),
        }
    )


def answer_refusal(
    project: Project, request: AuthenticatedRequest, error: refusals.ReviewError, exclude: list[int]
) -> JsonResponse:
    # Refused because someone was quicker: the page moves on with the next face.
    extra = _serve(project, request, exclude) if isinstance(error, refusals.AlreadyAnswered) else {}
    return refused(error.code, str(error), next=extra.get("question"))


@login_required
@require_POST
@rate_limited("undo", per_minute=120)
def undo(request: AuthenticatedRequest, pk: int) -> JsonResponse:
    """Z / Backspace: take back the latest answer still standing (again: the one before)."""
    project = project_for(request, pk)
    try:
        outcome = answer_undo(project=project, user=request.user)
    except refusals.ReviewError as error:
        return refused(error.code, str(error))
    if outcome is None:
        return JsonResponse(
            {"undone": [], "question": None, "message": _("There is nothing left to undo.")}
        )
    faces = outcome.faces
    shown = next(
        (f for f, a in zip(faces, outcome.answers, strict=True) if a.verdict == Label.Verdict.YES),
        faces[0],
    )
    leases.lease_take(project=project, face=shown, user=request.user)
    return JsonResponse(
        {
            "undone": [a.face_id for a in outcome.answers],
            "question": _question(project, shown),
            "message": ngettext("%(n)d answer taken back.", "%(n)d answers taken back.", len(faces))
            % {"n": len(faces)},
        }
    )


@login_required
@require_POST
@rate_limited("draw", per_minute=30)
def draw(request: AuthenticatedRequest, pk: int) -> JsonResponse:
    """A face the detector missed: the new face becomes the question on screen."""
    project = project_for(request, pk)
    form = DrawForm(json_body(request))
    if not form.is_valid():
        return invalid(form)
    image = selectors.image_of_project(project=project, image_id=form.cleaned_data["image"])
    if image is None:
        return not_found()
    try:
        face = drawing.face_draw(project=project, image=image, user=request.user, box=form.box)
    except refusals.ReviewError as error:
        return refused(error.code, str(error))
    return JsonResponse({"question": _question(project, face)})


@login_required
@require_POST
@rate_limited("draw", per_minute=30)
def correct(request: AuthenticatedRequest, pk: int) -> JsonResponse:
    """A better box for the face on screen: the corrected face replaces it as the question."""
    project = project_for(request, pk)
    form = CorrectForm(json_body(request))
    if not form.is_valid():
        return invalid(form)
    face = selectors.face_of_project(project=project, face_id=form.cleaned_data["face"])
    if face is None:
        return not_found()
    try:
        new = drawing.face_correct(project=project, face=face, user=request.user, box=form.box)
    except refusals.ReviewError as error:
        return refused(error.code, str(error))
    return JsonResponse({"question": _question(project, new), "replaced": face.pk})
