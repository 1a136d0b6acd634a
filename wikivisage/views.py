"""The pages that combine apps: landing, dashboard, project page and its settings, exports
(worker health has its own: ``wikivisage.health.views``).

Views are thin: one access check (``project_for``), one service or selector call. The
project's own pages (new project, members) live in ``projects.views``; the review
pages in ``faces.views``; ``wikivisage.urls`` puts them all under one ``projects`` namespace.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils import formats, timezone
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from commons.addresses import file_page_url, person_image_url
from core.http import AuthenticatedRequest
from core.ratelimit import rate_limited
from depicts.selectors import statement_counts
from faces import learner_figures
from faces import selectors as face_selectors
from faces.selectors import ProjectProgress
from faces.services import rescoring
from projects import selectors as project_selectors
from projects.access import project_for
from projects.forms import MemberInviteForm, ProjectSettingsForm, errors_text
from projects.models import Project

from . import selectors

# --- landing -----------------------------------------------------------------


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("projects:dashboard")
    return render(request, "home.html")


# --- dashboard --------------------------------------------------------------------------


@login_required
@require_safe
def dashboard(request: AuthenticatedRequest) -> HttpResponse:
    language = get_language()
    projects = [
        (project, project.label_in(language))
        for project in selectors.dashboard_projects(user=request.user)
    ]
    groups = project_selectors.dashboard_groups(user=request.user)
    return render(request, "projects/dashboard.html", {"projects": projects, "groups": groups})


# --- the project page -------------------------------------------------------------------


@login_required
@require_safe
def project_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    project = project_for(request, pk)
    can_manage = request.user.is_staff or project.owner_id == request.user.pk
    return render(
        request,
        "projects/detail.html",
        {
            **_overview(project),
            "person_label": project.label_in(get_language()),
            "person_image": person_image_url(project.person_image),
            "members": project_selectors.project_members(project=project),
            "can_manage": can_manage,
            "settings_form": ProjectSettingsForm(instance=project) if can_manage else None,
            "invite_form": MemberInviteForm(project=project) if can_manage else None,
            "statements": statement_counts(project=project),
        },
    )


def _overview(project: Project) -> dict[str, Any]:
    progress = face_selectors.project_progress(project=project)
    return {
        "project": project,
        "standing": project.standing,
        "progress": progress,
        "phase": _phase(project, progress),
        "limits": " ".join(filter(None, [_limits(project), _waiting(progress)])),
        "counts": selectors.project_counts(project=project),
        "stalled": selectors.pipeline_stalled(project=project, progress=progress),
    }


def _phase(project: Project, progress: ProjectProgress) -> str:
    if project_selectors.crawling(project) and project.scope == Project.Scope.FILES:
        return _("Looking up the listed files on Commons…")
    if project_selectors.crawling(project) and project.scope == Project.Scope.SEARCH:
        return _("Listing the photos the search finds…")
    if project_selectors.crawling(project) and project.scope == Project.Scope.UPLOADS:
        return _("Listing the photos of the user's uploads…")
    if project_selectors.crawling(project):
        return _("Listing the photos of the category…")
    if progress.detecting:
        return _("Finding faces: %(done)d of %(total)d photos processed.") % {
            "done": progress.processed,
            "total": progress.images,
        }
    return ""


def _waiting(progress: ProjectProgress) -> str:
    if not progress.waiting:
        return ""
    if not settings.WIKIVISAGE_PROCESS_NEW_UPLOADS:
        return ngettext(
            "%(count)d new upload is not processed: this site does not process new uploads.",
            "%(count)d new uploads are not processed: this site does not process new uploads.",
            progress.waiting,
        ) % {"count": progress.waiting}
    hours = float(settings.WIKIVISAGE_NEW_UPLOAD_WAIT_HOURS)
    if hours.is_integer():
        hours = int(hours)
    return ngettext(
        "%(count)d new file waits until it is %(hours)s hours old (many new uploads are "
        "deleted soon after); its faces are found then.",
        "%(count)d new files wait until they are %(hours)s hours old (many new uploads are "
        "deleted soon after); their faces are found then.",
        progress.waiting,
    ) % {"count": progress.waiting, "hours": formats.number_format(hours)}


_LISTED_SCOPES = (Project.Scope.SEARCH, Project.Scope.UPLOADS)


def _limits(project: Project) -> str:
    """Where WikiVisage took less than Commons holds, in the contributor's words."""
    notes = []
    # A list's lines beyond the bound say so themselves, in the list of listed files.
    if project.crawl_limit_hit is not None and project.scope in _LISTED_SCOPES:
        count = project.crawl_limit_hit
        notes.append(
            ngettext(
                "The search or the user's uploads hold more than %(count)s file; WikiVisage "
                "took the first one.",
                "The search or the user's uploads hold more than %(count)s files; WikiVisage "
                "took the first %(count)s.",
                count,
            )
            % {"count": formats.number_format(count, force_grouping=True)}
        )
    if project.crawl_limit_hit is not None and project.scope == Project.Scope.CATEGORY:
        count = project.crawl_limit_hit
        notes.append(
            ngettext(
                "This category and its subcategories hold more than %(count)s file; "
                "WikiVisage took the first one.",
                "This category and its subcategories hold more than %(count)s files; "
                "WikiVisage took the first %(count)s.",
                count,
            )
            % {"count": formats.number_format(count, force_grouping=True)}
        )
    if project.owner_limit_hit is not None:
        count = project.owner_limit_hit
        notes.append(
            ngettext(
                "The owner's projects hold %(count)s file together, the most one user may "
                "have: WikiVisage took no more for this project.",
                "The owner's projects hold %(count)s files together, the most one user may "
                "have: WikiVisage took no more for this project.",
                count,
            )
            % {"count": formats.number_format(count, force_grouping=True)}
        )
    if project.bootstrap_limit_hit is not None:
        count = project.bootstrap_limit_hit
        notes.append(
            ngettext(
                "More than %(count)s file on Commons already says it depicts this person; "
                "WikiVisage took the first one.",
                "More than %(count)s files on Commons already say they depict this person; "
                "WikiVisage took the first %(count)s.",
                count,
            )
            % {"count": formats.number_format(count, force_grouping=True)}
        )
    return " ".join(notes)


@login_required
@require_safe
def project_status(request: AuthenticatedRequest, pk: int) -> JsonResponse:
    """What the project page polls: progress, counts, and whether the workers keep up."""
    project = project_for(request, pk)
    overview = _overview(project)
    summary = learner_figures.learner_summary(project)
    return JsonResponse(
        {
            "state": project.state,
            "state_label": project.standing.label,
            **overview["progress"].as_dict(),
            **overview["counts"].as_dict(),
            "detecting": overview["progress"].detecting,
            "crawling": project_selectors.crawling(project),
            "phase": overview["phase"],
            "limits": overview["limits"],
            "stalled": overview["stalled"],
            "precision": summary.precision if summary else None,
            "recall": summary.recall if summary else None,
            # Shown as the page shows them (one rule, projects.figures): the script copies them.
            **learner_figures.estimate_texts(summary),
        }
    )


@login_required
@require_safe
def project_learner(request: AuthenticatedRequest, pk: int) -> JsonResponse:
    """What the pages that show the learner's figures poll (``static/js/learner.js``): the
    figures drawn again when the learner has run since ``since``, else the version alone."""
    project = project_for(request, pk)
    context = learner_figures.learner_panel_context(project, compact="compact" in request.GET)
    if request.GET.get("since") == context["version"]:
        return JsonResponse({"version": context["version"]})
    html = render_to_string("faces/_learner_figures.html", context, request=request)
    return JsonResponse(
        {
            "version": context["version"],
            "precision_text": context["precision_text"],
            "recall_text": context["recall_text"],
            "html": html,
        }
    )


@login_required
@require_POST
@rate_limited("manage", per_minute=30)
def project_settings(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """The project's settings (the form on the project page); here, beside the project page,
    because a change of the learner's settings queues the learner (faces) at once."""
    project = project_for(request, pk, manage=True)
    form = ProjectSettingsForm(request.POST, instance=project)
    if form.is_valid():
        # Only the form's fields: workers update the same row (crawl cursor, learner summary).
        form.save(commit=False).save(update_fields=ProjectSettingsForm.Meta.fields)
        if {"distance_threshold", "min_answers"} & set(form.changed_data):
            # The suggestions and estimates follow the new settings now, not at the next answer.
            rescoring.request_rescore(project_id=project.pk)
        messages.success(request, _("Settings saved."))
    else:
        messages.error(
            request,
            _("The settings were not saved: %(errors)s")
            % {"errors": errors_text(form.errors.values())},
        )
    return redirect("projects:detail", project.pk)


# --- exports ----------------------------------------------------------------------------


class _Echo:
    """A file-like object whose ``write`` returns the line, so csv can feed a stream."""

    def write(self, value: str) -> str:
        return value


def _cell(value: object) -> str:
    """A CSV cell that a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _csv_response(name: str, header: list[str], rows: Iterator[list[object]]) -> HttpResponseBase:
    writer = csv.writer(_Echo())
    lines = (writer.writerow([_cell(value) for value in row]) for row in rows)
    response = StreamingHttpResponse(
        _prepend(writer.writerow(header), lines), content_type="text/csv; charset=utf-8"
    )
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="wikivisage-{name}-{stamp}.csv"'
    return response


def _prepend(first: str, rest: Iterable[str]) -> Iterator[str]:
    yield first
    yield from rest


def _export(kind: str) -> Callable[[HttpRequest, int], HttpResponseBase]:
    header, rows = EXPORTS[kind]

    @login_required
    @require_safe
    @rate_limited(f"export-{kind}", per_minute=10)
    def view(request: HttpRequest, pk: int) -> HttpResponseBase:
        project = project_for(request, pk)
        return _csv_response(f"{project.pk}-{kind}", header, rows(project))

    view.__name__ = f"export_{kind}"
    return view


def _answer_rows(project: Project) -> Iterator[list[object]]:
    for answer in face_selectors.answers_for_export(project=project).iterator(chunk_size=2000):
        face = answer.face
        yield [
            answer.created_at.isoformat(),
            answer.user.get_username(),
            answer.verdict,
            answer.undone_at.isoformat() if answer.undone_at else "",
            face.pk,
            face.region_pct,
            face.image.title,
            file_page_url(face.image.title),
            answer.request_id,
        ]


def _edit_rows(project: Project) -> Iterator[list[object]]:
    for edit in selectors.edits_for_export(project=project).iterator(chunk_size=2000):
        yield [
            edit.approved_at.isoformat(),
            edit.action,
            edit.state,
            edit.image.title,
            edit.qid,
            edit.statement_id or "",
            edit.region,
            edit.approved_by.get_username(),
            edit.sent_by.get_username() if edit.sent_by else "",
            edit.sent_at.isoformat() if edit.sent_at else "",
            edit.revision or "",
            edit.error,
        ]


EXPORTS: dict[str, tuple[list[str], Callable[[Project], Iterator[list[object]]]]] = {
    "answers": (
        [
            "time",
            "reviewer",
            "verdict",
            "undone_at",
            "face_id",
            "face_region",
            "file",
            "file_url",
            "request_id",
        ],
        _answer_rows,
    ),
    "edits": (
        [
            "approved_at",
            "action",
            "state",
            "file",
            "qid",
            "statement_id",
            "region",
            "approved_by",
            "sent_by",
            "sent_at",
            "revision",
            "error",
        ],
        _edit_rows,
    ),
}
export_answers = _export("answers")
export_edits = _export("edits")
