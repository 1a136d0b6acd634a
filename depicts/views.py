"""The suggestion grid (approve or reject faces in bulk) and the send page (preview, confirm,
follow live, undo). Nothing here calls Wikimedia: every write leaves through a ``write`` task."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any, cast

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseRedirect,
    JsonResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import get_language, gettext_lazy, ngettext
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from commons import addresses
from commons.oauth import NoWikimediaToken
from core.http import AuthenticatedRequest
from core.ratelimit import rate_limited
from depicts.services import approval, common, sending, undo
from faces import selectors as face_selectors
from faces.models import Face, Label
from faces.services import answers, refusals
from projects.access import project_for
from projects.models import Project

from . import selectors
from .forms import DoubtsForm, FaceSelectionForm, SuggestionFilterForm
from .models import DepictsEdit

GRID_PAGE_SIZE = 48

NO_TOKEN_MESSAGE = gettext_lazy(
    "Link your Wikimedia account first (the button on this page): edits are made in your name."
)


class SendForm(forms.Form):
    """The approved edits the user ticked on the preview."""

    edit = forms.TypedMultipleChoiceField(coerce=int)

    def __init__(self, *args, edit_ids: Sequence[int], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        field = cast(forms.TypedMultipleChoiceField, self.fields["edit"])
        field.choices = [(str(pk), str(pk)) for pk in edit_ids]


@login_required
@require_safe
def send_page(request: HttpRequest, project_pk: int) -> HttpResponse:
    project = project_for(request, project_pk)
    page = selectors.send_page(project=project, user=_user(request), language=get_language())
    context = {"project": project, "page": page, "batch": request.GET.get("batch", "")}
    return render(request, "depicts/send.html", context)


@login_required
@require_POST
@rate_limited("send", per_minute=10)
def send_confirm(request: HttpRequest, project_pk: int) -> HttpResponse:
    project = project_for(request, project_pk)
    approved = project.depicts_edits.filter(state=DepictsEdit.State.APPROVED)
    return queue_confirmed(
        request,
        projects=[project],
        approved=list(approved.values_list("pk", flat=True)),
        back=_send_url(project),
        queued_text=lambda count: ngettext(
            "%(count)d edit is on its way to Commons.",
            "%(count)d edits are on their way to Commons.",
            count,
        ),
        refused_text=lambda count: ngettext(
            "%(count)d edit cannot be written: its reason is in the list below.",
            "%(count)d edits cannot be written: their reasons are in the list below.",
            count,
        ),
    )


def queue_confirmed(
    request: HttpRequest,
    *,
    projects: Sequence[Project],
    approved: Sequence[int],
    back: str,
    queued_text: Callable[[int], str],
    refused_text: Callable[[int], str],
) -> HttpResponse:
    """A send page's confirmation (one project's, or a group's): the ticked edits among
    ``approved`` queued as one batch (``sending.edits_queue_many``), then back to ``back``
    following that batch, saying how many left and how many the write policy refused
    (``queued_text``, ``refused_text``: the page's own words for a count)."""
    form = SendForm(request.POST, edit_ids=list(approved))
    if not form.is_valid():
        messages.error(request, _("Choose the edits to send; some have left meanwhile."))
        return redirect(back)
    try:
        queued = sending.edits_queue_many(
            projects=projects, user=_user(request), edit_ids=form.cleaned_data["edit"]
        )
    except NoWikimediaToken:
        messages.error(request, NO_TOKEN_MESSAGE)
        return redirect(back)
    messages.success(request, queued_text(queued.count) % {"count": queued.count})
    if queued.refused:
        messages.warning(request, refused_text(queued.refused) % {"count": queued.refused})
    return redirect(f"{back}?batch={queued.batch}")


@login_required
@require_safe
def edit_states(request: HttpRequest, project_pk: int) -> JsonResponse | HttpResponseBadRequest:
    project = project_for(request, project_pk)
    try:
        batch = uuid.UUID(request.GET["batch"]) if request.GET.get("batch") else None
    except ValueError:
        return HttpResponseBadRequest("batch is not a UUID")
    statuses = selectors.edit_statuses(project=project, batch=batch)
    return JsonResponse(
        {
            "edits": [status.as_json() for status in statuses],
            "waiting": any(status.waiting for status in statuses),
            # The batches' counts move with their edits: the page's batch rows follow them.
            "batches": [
                summary.as_json()
                for summary in selectors.batch_summaries(project=project, user=_user(request))
            ],
        }
    )


@login_required
@require_POST
@rate_limited("settle", per_minute=60)
def removal_approve(request: HttpRequest, project_pk: int, edit_pk: int) -> HttpResponse:
    project = project_for(request, project_pk)
    edit = get_object_or_404(project.depicts_edits, pk=edit_pk)
    try:
        approval.removal_approve(edit=edit, user=_user(request))
    except common.EditNotAllowed:
        messages.warning(request, _("This removal is no longer waiting for approval."))
    return _back(project)


@login_required
@require_POST
@rate_limited("settle", per_minute=60)
def contradiction_settle(
    request: HttpRequest, project_pk: int, face_pk: int, remove: bool
) -> HttpResponse:
    """Remove (or keep) a statement on Commons that a reviewer said is wrong."""
    project = project_for(request, project_pk)
    face = face_selectors.face_of_project(project=project, face_id=face_pk)
    if face is None:
        raise Http404
    try:
        approval.contradiction_settle(
            project=project, face=face, user=_user(request), remove=remove
        )
    except common.EditNotAllowed:
        messages.warning(request, _("This statement is no longer waiting for a decision."))
    return _back(project)


@login_required
@require_POST
@rate_limited("settle", per_minute=60)
def edit_withdraw(request: HttpRequest, project_pk: int, edit_pk: int) -> HttpResponse:
    project = project_for(request, project_pk)
    edit = get_object_or_404(project.depicts_edits, pk=edit_pk)
    try:
        approval.edit_withdraw(edit=edit)
    except common.EditNotAllowed:
        messages.warning(request, _("This edit has already left the send page."))
    return _back(project)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
@rate_limited("send", per_minute=10, methods=("POST",))
def batch_revert(request: HttpRequest, project_pk: int, batch: uuid.UUID) -> HttpResponse:
    """GET (and HEAD) asks for confirmation, with the count; only the POST of that page
    undoes: HEAD is safe, sent without a CSRF token by link checkers and prefetchers."""
    project = project_for(request, project_pk)
    if request.method != "POST":
        return _revert_confirm(request, project, batch)
    try:
        count = undo.batch_revert(project=project, batch=batch, user=_user(request))
    except common.EditNotAllowed:
        raise PermissionDenied from None
    except NoWikimediaToken:
        messages.error(request, NO_TOKEN_MESSAGE)
        return _back(project)
    text = ngettext(
        "%(count)d statement will be removed from Commons; it comes back under "
        "“Approved, not sent yet” once removed.",
        "%(count)d statements will be removed from Commons; they come back under "
        "“Approved, not sent yet” once removed.",
        count,
    ) % {"count": count}
    messages.success(request, text)
    return redirect(f"{_send_url(project)}?batch={batch}")


def _revert_confirm(request: HttpRequest, project: Project, batch: uuid.UUID) -> HttpResponse:
    count = selectors.batch_to_undo(project=project, batch=batch, user=_user(request))
    if count is None:
        raise PermissionDenied
    context = {"project": project, "batch": batch, "count": count}
    return render(request, "depicts/revert_confirm.html", context)


def _user(request: HttpRequest) -> User:
    # Every view here is behind login_required: the user is a real account.
    return cast(User, request.user)


def _send_url(project: Project) -> str:
    return reverse("depicts:send", kwargs={"project_pk": project.pk})


def _back(project: Project) -> HttpResponse:
    return redirect(_send_url(project))


# --- the suggestion grid ----------------------------------------------------------------


@login_required
@require_safe
def suggestions(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    project = project_for(request, pk)
    form = SuggestionFilterForm(request.GET or None)
    filters = form.filters()
    doubted = filters.source == selectors.SuggestionSource.DOUBTED
    on_commons = doubted or filters.source == selectors.SuggestionSource.COMMONS
    rows: QuerySet[Label] | QuerySet[Face]
    individual: list[Label] = []
    if doubted:
        rows = selectors.doubted_statements(project=project, filters=filters)
    elif on_commons:
        rows = selectors.on_commons(project=project, filters=filters)
    else:
        # Sensitive faces never reach the bulk grid: each is shown apart, approved alone.
        waiting = selectors.suggestions(project=project, filters=filters)
        sensitive = face_selectors.sensitive_q(project, face="face__")
        individual = list(waiting.filter(sensitive)[:GRID_PAGE_SIZE])
        rows = waiting.exclude(sensitive)
    page = Paginator(rows, GRID_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "depicts/suggestions.html",
        {
            "project": project,
            "person_label": project.label_in(request.LANGUAGE_CODE),
            "form": form,
            "on_commons": on_commons,
            "doubted": doubted,
            "page": page,
            "query": query.urlencode(),
            "cards": [_card(row) for row in page.object_list],
            "individual": [_card(row) for row in individual],
            "doubts": [] if on_commons else _doubt_cards(project),
            "sensitive_notice": SENSITIVE_NOTICE,
            "empty": None
            if page.object_list or individual or on_commons
            else selectors.empty_grid(project=project, filters=filters),
        },
    )


def _doubt_cards(project: Project) -> list[dict[str, Any]]:
    """The batch "which of these are not the person?", each card with its own request id
    (a second submit of the same batch then stores nothing twice)."""
    if not project.accepts_answers:
        return []
    return [
        {**_card(row), "request_id": uuid.uuid4()} for row in selectors.doubted(project=project)
    ]


def _card(row: Label | Face) -> dict[str, Any]:
    """A grid card from a suggestion (a model label) or from a face on Commons (annotated)."""
    face = row.face if isinstance(row, Label) else row
    return {
        "face": face,
        "score": getattr(row, "score", None),
        "confirmed": getattr(row, "human", None) == Label.Verdict.YES,
        "thumb": face_selectors.thumb_at(face.image, face_selectors.DISPLAY_WIDTH),
        "url": addresses.file_page_url(face.image.title),
    }


@login_required
@require_POST
@rate_limited("grid", per_minute=60)
def suggestions_approve(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    project = project_for(request, pk)
    faces = _not_sensitive_in_bulk(request, project, _selected(request, project))
    if faces:
        # An approval is a "yes" for the learner, as a rejection is a "no".
        answers.faces_confirm(project=project, faces=faces, user=request.user)
        edits = approval.edits_approve(project=project, faces=faces, user=request.user)
        approved = [edit for edit in edits if edit.state != DepictsEdit.State.CANCELLED]
        messages.success(
            request,
            ngettext(
                "%(n)d photo approved. Nothing is sent until you confirm it on the send page.",
                "%(n)d photos approved. Nothing is sent until you confirm them on the send page.",
                len(approved),
            )
            % {"n": len(approved)},
        )
        _tell_refused(
            request, [edit for edit in edits if edit.state == DepictsEdit.State.CANCELLED]
        )
    return _back_to_grid(request, project)


@login_required
@require_POST
@rate_limited("grid", per_minute=60)
def suggestions_keep(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """ "This is the person" about doubted statements (the "check existing statements"
    queue): a yes for each face, so the statement stays and counts as evidence again. No
    edit is made: the statement is on Commons already."""
    project = project_for(request, pk)
    faces = _selected(request, project)
    if faces:
        count = answers.faces_confirm(project=project, faces=faces, user=request.user)
        text = ngettext(
            "%(n)d statement kept: its face is the person.",
            "%(n)d statements kept: their faces are the person.",
            count,
        ) % {"n": count}
        messages.success(request, text)
    return _back_to_grid(request, project)


def _tell_refused(request: HttpRequest, refused: Sequence[DepictsEdit]) -> None:
    """Approvals the write policy refused: each file with its reason (also on the send page)."""
    for edit in refused:
        text = _("%(file)s cannot be written: %(reason)s") % {
            "file": edit.image.title,
            "reason": edit.error,
        }
        messages.warning(request, text)


@login_required
@require_POST
@rate_limited("grid", per_minute=60)
def suggestions_reject(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    project = project_for(request, pk)
    faces = _selected(request, project)
    if faces:
        count = answers.faces_reject(project=project, faces=faces, user=request.user)
        proposals = approval.edits_reject(project=project, faces=faces, user=request.user)
        messages.success(
            request,
            ngettext(
                "%(n)d face rejected: it will not be written.",
                "%(n)d faces rejected: they will not be written.",
                count,
            )
            % {"n": count},
        )
        if proposals:
            messages.info(request, _removal_proposed_text(len(proposals)))
    return _back_to_grid(request, project)


@login_required
@require_POST
@rate_limited("grid", per_minute=60)
def suggestions_doubts(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """ "Which of these are not the person?": each face of the batch is one answer, stored
    through the classify page's own answer service, one call per face: the ticked ones
    "no", the others "yes". A face another reviewer answered meanwhile keeps that answer."""
    project = project_for(request, pk)
    form = DoubtsForm.from_post(request.POST)
    if not form.is_valid():
        messages.error(request, _("These answers could not be read. Please try again."))
        return _back_to_grid(request, project)
    given = form.cleaned_data["answers"]
    shown = face_selectors.faces_of_project(project=project, face_ids=[a[0] for a in given])
    faces = {face.pk: face for face in shown}
    refused = [
        refusal
        for face_id, request_id, not_person in given
        if (refusal := _doubt_answer(request, project, faces.get(face_id), request_id, not_person))
    ]
    _tell_doubts(request, stored=len(given) - len(refused), refusals=refused)
    return _back_to_grid(request, project)


def _doubt_answer(
    request: AuthenticatedRequest,
    project: Project,
    face: Face | None,
    request_id: uuid.UUID,
    not_person: bool,
) -> str | None:
    """One face of the batch as one answer; why it was refused, or None once stored."""
    if face is None:
        return str(refusals.FaceNotInProject())
    verdict = Label.Verdict.NO if not_person else Label.Verdict.YES
    try:
        answers.answer_record(
            project=project, face=face, user=request.user, verdict=verdict, request_id=request_id
        )
    except refusals.ReviewError as error:
        return str(error)
    return None


def _tell_doubts(request: HttpRequest, *, stored: int, refusals: Sequence[str]) -> None:
    if stored:
        text = ngettext("%(n)d answer saved.", "%(n)d answers saved.", stored) % {"n": stored}
        messages.success(request, text)
    for reason in dict.fromkeys(refusals):
        messages.warning(request, reason)


def _not_sensitive_in_bulk(
    request: AuthenticatedRequest, project: Project, faces: list[Face]
) -> list[Face]:
    """The faces to approve: a sensitive face (``faces.selectors.sensitive_q``) only on its
    own, from its individual card (``individual``); in a bulk approval it is refused."""
    sensitive = face_selectors.sensitive_faces(project=project, faces=faces)
    if not sensitive:
        return faces
    if len(faces) == 1 and request.POST.get("individual") == "1":
        messages.warning(request, str(SENSITIVE_NOTICE))
        return faces
    messages.error(
        request,
        ngettext(
            "%(n)d face needs an individual look (sensitive content) and was not approved: "
            "approve it on its own, in its section of the grid.",
            "%(n)d faces need an individual look (sensitive content) and were not approved: "
            "approve each on its own, in their section of the grid.",
            len(sensitive),
        )
        % {"n": len(sensitive)},
    )
    return [face for face in faces if face.pk not in sensitive]


SENSITIVE_NOTICE = gettext_lazy(
    "This photo is in a category marked sensitive, or shows a person who needs care (a "
    "minor, say): make sure the statement is right and appropriate before you send it."
)


def _removal_proposed_text(count: int) -> str:
    return ngettext(
        "%(n)d statement is on Commons already: its removal is proposed on the send page, "
        "and nothing is removed until you approve it there and send it.",
        "%(n)d statements are on Commons already: their removals are proposed on the send "
        "page, and nothing is removed until you approve them there and send them.",
        count,
    ) % {"n": count}


def _selected(request: AuthenticatedRequest, project: Project) -> list[Face]:
    """The faces ticked (or shown, for "approve all"), if the project takes decisions now."""
    if not project.accepts_answers:
        messages.error(request, str(refusals.ProjectNotAcceptingAnswers(project)))
        return []
    form = FaceSelectionForm({"face": request.POST.getlist("face")})
    if not form.is_valid():
        messages.error(request, _("Select at least one face."))
        return []
    return face_selectors.faces_of_project(project=project, face_ids=form.cleaned_data["face"])


def _back_to_grid(request: AuthenticatedRequest, project: Project) -> HttpResponse:
    """To the grid page the reviewer came from (``next``: a path on this site), else its start.

    A redirect to the path itself, never ``redirect(next)``, which would take a bare word for
    the name of a view and fail on it."""
    target = request.POST.get("next", "")
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return HttpResponseRedirect(target)
    return redirect("projects:suggestions", project.pk)
