"""Pages of the projects app: landing, dashboard, new project, project page, exports.

Views are thin: one access check (``project_for``), a form, one service or selector call.
The only Wikimedia calls made inside a web request are the validations of a new project,
each on a short timeout with no retries, so a slow Commons costs a user a few seconds and
a clear message, never a stuck worker thread.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from kombu.exceptions import OperationalError as QueueUnavailable

from commons.categories import CategoryInfo, category_info
from commons.client import ApiClient, CommonsError, RetryPolicy, TransientError
from commons.types import Person
from commons.wikidata import PersonNotFound, search_people
from faces import selectors as face_selectors

from . import selectors, services
from .access import project_for
from .forms import (
    MemberInviteForm,
    PersonCheckForm,
    PersonQueryForm,
    ProjectNewForm,
    ProjectSettingsForm,
)
from .models import Membership, Project
from .ratelimit import over_limit, rate_limited, too_many

# Seconds a web request may wait for Wikidata or Commons, once; a worker thread is never
# held longer than this per call.
QUICK_TIMEOUT = 4.0
NO_RETRY = RetryPolicy(max_attempts=1)


class AuthenticatedRequest(HttpRequest):
    """A request past ``login_required``: its user is a real account."""

    user: User


def quick_client(api_url: str) -> ApiClient:
    return ApiClient(api_url=api_url, timeout=QUICK_TIMEOUT, retry=NO_RETRY)


def label_languages() -> list[str]:
    """The user's language first (the label shown now), then every language of the site."""
    return list(dict.fromkeys([get_language(), *(code for code, _name in settings.LANGUAGES)]))


def wikimedia_trouble(error: CommonsError, *, site: str) -> str:
    """What to tell a person when Wikidata or Commons did not answer as hoped."""
    if isinstance(error, TransientError):
        return _(
            "%(site)s is slow or unreachable right now. Nothing was created; please try "
            "again in a minute."
        ) % {"site": site}
    return _("%(site)s refused the request (%(code)s).") % {"site": site, "code": error.code}


# --- landing and health -----------------------------------------------------------------


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("projects:dashboard")
    return render(request, "home.html")


@require_GET
def health(request: HttpRequest) -> HttpResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    beat = selectors.last_heartbeat()
    data = {
        "database": "ok",
        "worker_seen": beat.answered_at.isoformat() if beat and beat.answered_at else None,
        "worker": beat.worker if beat else None,
    }
    if request.headers.get("Accept", "").startswith("application/json"):
        return JsonResponse(data)
    return render(request, "health.html", {"health": data})


@require_POST
def health_ping(request: HttpRequest) -> HttpResponse:
    try:
        services.heartbeat_send()
    except QueueUnavailable:
        messages.error(request, _("The task queue is unreachable: the workers cannot be asked."))
    return redirect("health")


# --- dashboard --------------------------------------------------------------------------


@login_required
@require_GET
def dashboard(request: AuthenticatedRequest) -> HttpResponse:
    language = get_language()
    projects = [
        (project, project.label_in(language))
        for project in selectors.dashboard_projects(user=request.user)
    ]
    return render(request, "projects/dashboard.html", {"projects": projects})


# --- a new project ----------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def project_new(request: AuthenticatedRequest) -> HttpResponse:
    form = ProjectNewForm(request.POST or None)
    if request.method == "POST":
        if over_limit(request, "project-new", per_minute=10):
            return too_many(request)
        if form.is_valid():
            project = _project_start(request, form)
            if project is not None:
                return redirect("projects:detail", project.pk)
    return render(request, "projects/new.html", {"form": form})


def _project_start(request: AuthenticatedRequest, form: ProjectNewForm) -> Project | None:
    """Check person and category on Wikimedia, then create; errors land on the form."""
    data = form.cleaned_data
    person = _person_checked(form, data["qid"])
    category = _category_checked(form, data["category"]) if person else None
    if person is None or category is None:
        return None
    try:
        project = services.project_start(
            owner=request.user,
            person=person,
            category=category.title,
            crawl_depth=data["crawl_depth"],
            distance_threshold=data["distance_threshold"],
            min_confirmed=data["min_confirmed"],
        )
    except ValidationError as error:
        form.add_error(None, error)
        return None
    except QueueUnavailable:
        messages.warning(
            request,
            _(
                "The project was created, but the task queue is "
                "unreachable: the crawl starts when the workers are back."
            ),
        )
        return Project.objects.filter(
            owner=request.user, qid=person.qid, category=category.title
        ).first()
    _tell_created(request, person, category)
    return project


def _person_checked(form: ProjectNewForm, qid: str) -> Person | None:
    try:
        with quick_client(settings.WIKIDATA_API_URL) as client:
            return services.person_check(client=client, qid=qid, languages=label_languages())
    except PersonNotFound:
        form.add_error(
            "qid", _("%(qid)s does not exist on Wikidata (or was deleted).") % {"qid": qid}
        )
    except services.NotAHuman as error:
        form.add_error("qid", str(error))
    except CommonsError as error:
        form.add_error(None, wikimedia_trouble(error, site="Wikidata"))
    return None


def _category_checked(form: ProjectNewForm, name: str) -> CategoryInfo | None:
    try:
        with quick_client(settings.COMMONS_API_URL) as client:
            category = category_info(client, category=name)
    except CommonsError as error:
        form.add_error(None, wikimedia_trouble(error, site="Commons"))
        return None
    if not category.exists:
        form.add_error(
            "category", _("There is no category “%(name)s” on Commons.") % {"name": name}
        )
        return None
    return category


def _tell_created(request: HttpRequest, person: Person, category: CategoryInfo) -> None:
    if person.redirected_from:
        messages.info(
            request,
            _("%(old)s redirects to %(new)s (%(label)s): the project uses %(new)s.")
            % {
                "old": person.redirected_from,
                "new": person.qid,
                "label": person.label or person.qid,
            },
        )
    if category.files is None:
        text = _("Project created. The category is being crawled now.")
    else:
        text = _(
            "Project created. “%(name)s” holds about %(files)d files directly and "
            "%(subcats)d subcategories; they are being crawled now."
        ) % {"name": category.title, "files": category.files, "subcats": category.subcats}
    messages.success(request, text)


@login_required
@require_GET
@rate_limited("people", per_minute=60)
def person_search(request: AuthenticatedRequest) -> JsonResponse:
    """Autocomplete: people on Wikidata whose name starts like the text typed."""
    form = PersonQueryForm(request.GET)
    if not form.is_valid():
        return JsonResponse({"results": []})
    try:
        with quick_client(settings.WIKIDATA_API_URL) as client:
            hits = search_people(
                client, text=form.cleaned_data["q"], language=get_language(), limit=8
            )
    except CommonsError as error:
        return JsonResponse(
            {"error": error.code, "message": wikimedia_trouble(error, site="Wikidata")}, status=503
        )
    return JsonResponse(
        {
            "results": [
                {"qid": hit.qid, "label": hit.label, "description": hit.description} for hit in hits
            ]
        }
    )


@login_required
@require_GET
@rate_limited("person", per_minute=30)
def person_check(request: AuthenticatedRequest) -> JsonResponse:
    """The chosen person, with image, checked to be a human (redirects followed)."""
    form = PersonCheckForm(request.GET)
    if not form.is_valid():
        return JsonResponse(
            {"error": "invalid", "message": _("Give a Wikidata item id such as Q42.")}, status=400
        )
    qid = form.cleaned_data["qid"]
    try:
        with quick_client(settings.WIKIDATA_API_URL) as client:
            person = services.person_check(client=client, qid=qid, languages=[get_language()])
    except PersonNotFound:
        message = _("%(qid)s does not exist on Wikidata (or was deleted).") % {"qid": qid}
        return JsonResponse({"error": "missing", "message": message}, status=404)
    except services.NotAHuman as error:
        return JsonResponse({"error": "not_human", "message": str(error)}, status=422)
    except CommonsError as error:
        return JsonResponse(
            {"error": error.code, "message": wikimedia_trouble(error, site="Wikidata")}, status=503
        )
    return JsonResponse(_person_json(person))


def _person_json(person: Person) -> dict[str, Any]:
    redirect_note = ""
    if person.redirected_from:
        redirect_note = _("%(old)s redirects to %(new)s.") % {
            "old": person.redirected_from,
            "new": person.qid,
        }
    return {
        "qid": person.qid,
        "label": person.label or person.qid,
        "description": person.description or "",
        "image": face_selectors.person_image_url(person.image or ""),
        "redirected_from": person.redirected_from,
        "redirect_note": redirect_note,
    }


# --- the project page -------------------------------------------------------------------


@login_required
@require_GET
def project_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    project = project_for(request, pk)
    can_manage = request.user.is_staff or project.owner_id == request.user.pk
    return render(
        request,
        "projects/detail.html",
        {
            **_overview(project),
            "person_label": project.label_in(get_language()),
            "person_image": face_selectors.person_image_url(project.person_image),
            "members": selectors.project_members(project=project),
            "can_manage": can_manage,
            "settings_form": ProjectSettingsForm(instance=project) if can_manage else None,
            "invite_form": MemberInviteForm(project=project) if can_manage else None,
        },
    )


def _overview(project: Project) -> dict[str, Any]:
    progress = selectors.project_progress(project=project)
    return {
        "project": project,
        "progress": progress,
        "phase": _phase(project, progress),
        "counts": selectors.project_counts(project=project),
        "stalled": selectors.pipeline_stalled(project=project, progress=progress),
        "chart": selectors.score_chart(learning=project.learning or {}),
    }


def _phase(project: Project, progress: selectors.ProjectProgress) -> str:
    if selectors.crawling(project):
        return _("Listing the photos of the category…")
    if progress.detecting:
        return _("Finding faces: %(done)d of %(total)d photos processed.") % {
            "done": progress.processed,
            "total": progress.images,
        }
    return ""


@login_required
@require_GET
def project_status(request: AuthenticatedRequest, pk: int) -> JsonResponse:
    """What the project page polls: progress, counts, and whether the workers keep up."""
    project = project_for(request, pk)
    overview = _overview(project)
    learning = project.learning or {}
    return JsonResponse(
        {
            "state": project.state,
            "state_label": project.get_state_display(),
            **overview["progress"].as_dict(),
            **overview["counts"].as_dict(),
            "detecting": overview["progress"].detecting,
            "crawling": selectors.crawling(project),
            "phase": overview["phase"],
            "stalled": overview["stalled"],
            "precision": learning.get("precision"),
            "recall": learning.get("recall"),
        }
    )


@login_required
@require_POST
def project_settings(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    project = project_for(request, pk, manage=True)
    form = ProjectSettingsForm(request.POST, instance=project)
    if form.is_valid():
        form.save()
        messages.success(request, _("Settings saved."))
    else:
        messages.error(
            request,
            _("The settings were not saved: %(errors)s")
            % {"errors": _errors_text(form.errors.values())},
        )
    return redirect("projects:detail", project.pk)


@login_required
@require_POST
def member_invite(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    project = project_for(request, pk, manage=True)
    form = MemberInviteForm(request.POST, project=project)
    if form.is_valid():
        membership = form.save()
        messages.success(
            request,
            _("%(name)s can now review faces of this project.")
            % {"name": membership.user.get_username()},
        )
    else:
        messages.error(request, _errors_text(form.errors.values()))
    return redirect("projects:detail", project.pk)


@login_required
@require_POST
def member_remove(request: AuthenticatedRequest, pk: int, user_id: int) -> HttpResponse:
    project = project_for(request, pk, manage=True)
    membership = get_object_or_404(
        Membership.objects.select_related("user"),
        project=project,
        user_id=user_id,
        role=Membership.Role.REVIEWER,
    )
    membership.delete()
    messages.success(
        request,
        _("%(name)s is no longer a member of this project.")
        % {"name": membership.user.get_username()},
    )
    return redirect("projects:detail", project.pk)


def _errors_text(errors: Iterable[Iterable[object]]) -> str:
    return " ".join(str(message) for messages_ in errors for message in messages_)


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
    @require_GET
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
            face_selectors.file_page_url(face.image.title),
            answer.request_id,
        ]


def _edit_rows(project: Project) -> Iterator[list[object]]:
    for edit in face_selectors.edits_for_export(project=project).iterator(chunk_size=2000):
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
