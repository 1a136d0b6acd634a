"""The pages of a group of people: the group page (each person's figures and links to their
project's pages) and "who is this?", one face at a time, keyboard first
(``static/js/who.js``). Each answer is written in every person's project at once
(``faces.services.group_answers``); approving and sending stay each project's own pages.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from commons.wikidata import PersonNotFound
from core.http import AuthenticatedRequest
from core.ratelimit import rate_limited
from faces import group_selectors, selectors
from faces.forms import ExcludeForm, SharedForm, WhoForm
from faces.json_responses import invalid, json_body, not_found, refused
from faces.services import group_answers, refusals, shared_answers
from projects.access import group_for
from projects.models import Project, ProjectGroup
from projects.services import NotAHuman, WikimediaTrouble
from projects.views import label_languages, quick_client, wikimedia_trouble


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


def _serve(
    group: ProjectGroup,
    projects: Sequence[Project],
    request: AuthenticatedRequest,
    exclude: list[int],
) -> dict:
    refusal = _paused(projects)
    if refusal is not None:
        return {"question": None, "message": str(refusal)}
    face = group_answers.group_face_serve(projects=projects, user=request.user, exclude=exclude)
    if face is None:
        return {"question": None, "message": _("No face of the group is waiting for an answer.")}
    language = get_language()
    question = group_selectors.group_question(
        projects=projects, face=face, language=language, shared=_owns(group, request)
    )
    return {"question": question}


def _owns(group: ProjectGroup, request: AuthenticatedRequest) -> bool:
    """Whether the group's owner asks: only they may add a person a shared project proposes."""
    return bool(request.user.pk == group.owner_id)


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
        for name in ("next", "answer", "undo", "shared")
    }
    return render(
        request,
        "faces/who.html",
        {"group": group, "first": _serve(group, projects, request, []), "endpoints": endpoints},
    )


@login_required
@require_safe
@rate_limited("next", per_minute=240)
def who_next(request: AuthenticatedRequest, pk: int) -> JsonResponse:
    group, projects = group_for(request, pk)
    form = ExcludeForm(request.GET)
    if not form.is_valid():
        return invalid(form)
    return JsonResponse(_serve(group, projects, request, form.cleaned_data["exclude"]))


@login_required
@require_POST
@rate_limited("answer", per_minute=240)
def who_answer(request: AuthenticatedRequest, pk: int) -> JsonResponse:
    """1-9: the face is that person; N: none of the group's people; S: skip."""
    group, projects = group_for(request, pk)
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
    return JsonResponse(_stored(group, projects, request, outcome, data["exclude"]))


def _stored(
    group: ProjectGroup,
    projects: Sequence[Project],
    request: AuthenticatedRequest,
    outcome: Any,
    exclude: list[int],
) -> dict[str, Any]:
    following = _serve(group, projects, request, exclude)
    return {
        "stored": True,
        "repeat": not outcome.created,
        "answers": [{"project": a.project_id, "verdict": a.verdict} for a in outcome.answers],
        "next": following["question"],
        "message": following.get("message", ""),
    }


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
    group, projects = group_for(request, pk)
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
            projects=projects, face=face, language=get_language(), shared=_owns(group, request)
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


@login_required
@require_POST
@rate_limited("project-new", per_minute=10)  # each accept starts a project (and asks Wikidata)
def who_shared(request: AuthenticatedRequest, pk: int) -> JsonResponse:
    """P, Shift+1-3: the face is a person another project's confirmed faces propose; the
    person joins the group (the owner only) and the answer is stored as 1-9 stores one."""
    group, projects = group_for(request, pk)
    if not _owns(group, request):
        error = shared_answers.NotTheOwner()
        return refused(error.code, str(error), status=403)
    form = SharedForm(json_body(request))
    if not form.is_valid() or not projects:
        return invalid(form)
    data = form.cleaned_data
    face = selectors.face_of_project(project=projects[0], face_id=data["face"])
    if face is None:
        return not_found()
    try:
        shared = _accept(group, projects, request, face, data)
    except refusals.ReviewError as error:
        return refused(error.code, str(error))
    except (ValidationError, NotAHuman, PersonNotFound) as error:
        return refused("person_refused", " ".join(getattr(error, "messages", [str(error)])))
    except WikimediaTrouble as trouble:
        message = wikimedia_trouble(trouble.error, site=trouble.site)
        return refused("wikimedia", message, status=503)
    everyone = [*projects, shared.person] if shared.added else projects
    person = {"project": shared.person.pk, "qid": shared.person.qid, "added": shared.added}
    stored = _stored(group, everyone, request, shared.answer, data["exclude"])
    return JsonResponse({**stored, "person": person})


def _accept(
    group: ProjectGroup,
    projects: Sequence[Project],
    request: AuthenticatedRequest,
    face: Any,
    data: dict[str, Any],
) -> shared_answers.SharedOutcome:
    with quick_client(settings.WIKIDATA_API_URL) as wikidata:
        return shared_answers.shared_accept(
            group=group,
            projects=projects,
            face=face,
            user=request.user,
            qid=data["qid"],
            request_id=data["request_id"],
            wikidata=wikidata,
            languages=label_languages(),
        )
