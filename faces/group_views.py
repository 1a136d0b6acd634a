"""The pages of a group of people: the group page (each person's figures and links to their
project's pages) and "who is this?", one face at a time, keyboard first
(``static/js/who.js``). Each answer is written in every person's project at once
(``faces.services.group_answers``); approving and sending stay each project's own pages.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from core.http import AuthenticatedRequest
from core.ratelimit import rate_limited
from faces import group_selectors, selectors
from faces.forms import ExcludeForm, WhoForm
from faces.json_responses import invalid, json_body, not_found, refused
from faces.services import group_answers, refusals
from projects.access import group_for
from projects.models import Project


@login_required
@require_safe
def group_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    group, projects = group_for(request, pk)
    return render(
        request,
        "faces/group.html",
        {
            "group": group,
            "rows": group_selectors.person_rows(projects=projects, language=get_language()),
            "overall": group_selectors.overall_figures(projects=projects),
            "scope": projects[0].scope_text if projects else "",
        },
    )


def _serve(projects: Sequence[Project], request: AuthenticatedRequest, exclude: list[int]) -> dict:
    refusal = _paused(projects)
    if refusal is not None:
        return {"question": None, "message": str(refusal)}
    face = group_answers.group_face_serve(projects=projects, user=request.user, exclude=exclude)
    if face is None:
        return {"question": None, "message": _("No face of the group is waiting for an answer.")}
    language = get_language()
    question = group_selectors.group_question(projects=projects, face=face, language=language)
    return {"question": question}


def _paused(projects: Sequence[Project]) -> refusals.ReviewError | None:
    for project in projects:
        if not project.accepts_answers:
            return refusals.ProjectNotAcceptingAnswers(project)
    return None


@login_required
@require_safe
def who(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    group, projects = group_for(request, pk)
    endpoints = {
        name: reverse(f"projects:who-{name}", args=[group.pk])
        for name in ("next", "answer", "undo")
    }
    return render(
        request,
        "faces/who.html",
        {"group": group, "first": _serve(projects, request, []), "endpoints": endpoints},
    )


@login_required
@require_safe
@rate_limited("next", per_minute=240)
def who_next(request: AuthenticatedRequest, pk: int) -> JsonResponse:
    _group, projects = group_for(request, pk)
    form = ExcludeForm(request.GET)
    if not form.is_valid():
        return invalid(form)
    return JsonResponse(_serve(projects, request, form.cleaned_data["exclude"]))


@login_required
@require_POST
@rate_limited("answer", per_minute=240)
def who_answer(request: AuthenticatedRequest, pk: int) -> JsonResponse:
    """1-9: the face is that person; N: none of the group's people; S: skip."""
    _group, projects = group_for(request, pk)
    form = WhoForm(json_body(request))
    if not form.is_valid() or not projects:
        return invalid(form)
    data = form.cleaned_data
    face = selectors.face_of_project(project=projects[0], face_id=data["face"])
    person = next((p for p in projects if p.pk == data["person"]), None)
    if face is None or (data["answer"] == "person" and person is None):
        return not_found()
    try:
        outcome = _store(projects, request, face, person, data)
    except refusals.ReviewError as error:
        return refused(error.code, str(error))
    following = _serve(projects, request, data["exclude"])
    return JsonResponse(
        {
            "stored": True,
            "repeat": not outcome.created,
            "answers": [{"project": a.project_id, "verdict": a.verdict} for a in outcome.answers],
            "next": following["question"],
            "message": following.get("message", ""),
        }
    )


def _store(
    projects: Sequence[Project],
    request: AuthenticatedRequest,
    face: Any,
    person: Project | None,
    data: dict[str, Any],
) -> Any:
    common = {"projects": projects, "face": face, "user": request.user}
    if data["answer"] == "skip":
        return group_answers.group_skip(request_id=data["request_id"], **common)
    chosen = person if data["answer"] == "person" else None
    return group_answers.group_answer(person=chosen, request_id=data["request_id"], **common)


@login_required
@require_POST
@rate_limited("undo", per_minute=120)
def who_undo(request: AuthenticatedRequest, pk: int) -> JsonResponse:
    """U: take back the last answer, in every person's project; the face is asked again."""
    _group, projects = group_for(request, pk)
    try:
        undone = group_answers.group_undo(projects=projects, user=request.user)
    except refusals.ReviewError as error:
        return refused(error.code, str(error))
    if not undone:
        return JsonResponse(
            {"undone": [], "question": None, "message": _("There is nothing left to undo.")}
        )
    face = selectors.face_current(face=undone[0].face)
    question = None
    if group_selectors.group_open(projects, face) and group_answers.group_lease(
        projects=projects, face=face, user=request.user
    ):
        question = group_selectors.group_question(
            projects=projects, face=face, language=get_language()
        )
    count = len(undone)
    return JsonResponse(
        {
            "undone": [{"project": a.project_id, "face": a.face_id} for a in undone],
            "question": question,
            "message": ngettext("%(n)d answer taken back.", "%(n)d answers taken back.", count)
            % {"n": count},
        }
    )
