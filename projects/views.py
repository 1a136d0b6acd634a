"""Pages of the projects app: new project, person search and members (the settings form,
which queues the learner, is the site's: ``wikivisage.views.project_settings``).

Views are thin: one access check (``project_for``), a form, one service or selector call.
The only Wikimedia calls made inside a web request are the validations of a new project
and the size estimate of its category, each on a short timeout with no retries (the estimate
also within a few requests and about 3 s in all), so a slow Commons costs a user a few
seconds and a clear message, never a stuck worker thread.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.formats import number_format
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from commons.addresses import person_image_url
from commons.categories import FileEstimate, estimate_files
from commons.client import ApiClient, CommonsError
from commons.listings import search_total
from commons.types import Person
from commons.wikidata import PersonNotFound, search_people
from core.errors import TransientError
from core.http import AuthenticatedRequest
from core.ratelimit import over_limit, rate_limited, too_many
from core.retry import RetryPolicy

from . import services
from .access import MAX_ROW_ID, project_for
from .forms import (
    BAD_LINES_SHOWN,
    CategoryEstimateForm,
    MemberInviteForm,
    PersonCheckForm,
    PersonQueryForm,
    ProjectNewForm,
    SearchEstimateForm,
    errors_text,
    list_lines,
    max_listed_files,
    scan_file_lines,
)
from .models import Membership, Project

# Seconds a web request may wait for Wikidata or Commons, once; a worker thread is never
# held longer than this per call.
QUICK_TIMEOUT = 4.0
NO_RETRY = RetryPolicy(max_attempts=1)


# The size estimate on the new-project page: a few requests, about 3 s in all (the last
# request may run past the budget by its own timeout, no more).
ESTIMATE_REQUESTS = 6
ESTIMATE_SECONDS = 3.0
ESTIMATE_TIMEOUT = 2.0


def quick_client(api_url: str, *, timeout: float | None = None) -> ApiClient:
    timeout = QUICK_TIMEOUT if timeout is None else timeout
    return ApiClient(api_url=api_url, timeout=timeout, retry=NO_RETRY)


def label_languages() -> list[str]:
    """The user's language first (the label shown now), then every language of the site."""
    return list(dict.fromkeys([get_language(), *(code for code, _name in settings.LANGUAGES)]))


def invalid_json(message: str) -> JsonResponse:
    """A look-up's answer to input it cannot read (400), with the message to show."""
    return JsonResponse({"error": "invalid", "message": message}, status=400)


def trouble_json(error: CommonsError, *, site: str) -> JsonResponse:
    """A look-up's answer when Commons or Wikidata did not answer as hoped (503)."""
    return JsonResponse(
        {"error": error.code, "message": wikimedia_trouble(error, site=site)}, status=503
    )


def wikimedia_trouble(error: CommonsError, *, site: str) -> str:
    """What to tell a person when Wikidata or Commons did not answer as hoped."""
    if isinstance(error, TransientError):
        return _(
            "%(site)s is slow or unreachable right now. Nothing was created; please try "
            "again in a minute."
        ) % {"site": site}
    return _("%(site)s refused the request (%(code)s).") % {"site": site, "code": error.code}


# --- a new project ----------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def project_new(request: AuthenticatedRequest) -> HttpResponse:
    form = ProjectNewForm(request.POST or None, request.FILES or None)
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
    try:
        created = _project_open(request.user, data)
    except PersonNotFound:
        message = _("%(qid)s does not exist on Wikidata (or was deleted).")
        form.add_error("qid", message % {"qid": data["qid"]})
    except services.NotAHuman as error:
        form.add_error("qid", str(error))
    except services.CategoryMissing:
        message = _("There is no category “%(name)s” on Commons.")
        form.add_error("category", message % {"name": data["category"]})
    except services.SearchEmpty:
        form.add_error("search_query", _("This search finds no file on Commons."))
    except services.NoUploads as none:
        form.add_error("uploads_user", str(none))
    except services.WikimediaTrouble as trouble:
        form.add_error(None, wikimedia_trouble(trouble.error, site=trouble.site))
    except ValidationError as error:
        form.add_error(None, error)
    else:
        _tell_created(request, created)
        return created.project
    return None


def _project_open(owner: User, data: dict[str, Any]) -> services.NewProject:
    """The service for the chosen scope: a list of files needs no Commons call here."""
    services.owner_files_refuse_full(owner)  # before asking Wikimedia anything
    common = {
        "owner": owner,
        "qid": data["qid"],
        "languages": label_languages(),
        "distance_threshold": data["distance_threshold"],
        "min_answers": data["min_answers"],
    }
    with quick_client(settings.WIKIDATA_API_URL) as wikidata:
        if data["scope"] == Project.Scope.FILES:
            return services.project_open_files(files=data["files"], wikidata=wikidata, **common)
        with quick_client(settings.COMMONS_API_URL) as commons:
            if data["scope"] == Project.Scope.SEARCH:
                query = data["search_query"]
                return services.project_open_search(
                    query=query, wikidata=wikidata, commons=commons, **common
                )
            if data["scope"] == Project.Scope.UPLOADS:
                user = data["uploads_user"]
                return services.project_open_uploads(
                    user=user, wikidata=wikidata, commons=commons, **common
                )
            return services.project_open(
                category=data["category"],
                crawl_depth=data["crawl_depth"],
                wikidata=wikidata,
                commons=commons,
                **common,
            )


def _tell_created(request: HttpRequest, created: services.NewProject) -> None:
    person = created.person
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
    if created.project.scope == Project.Scope.FILES:
        text = ngettext(
            "Project created. The %(count)s listed file is being looked up on Commons now.",
            "Project created. The %(count)s listed files are being looked up on Commons now.",
            created.project.listed_count,
        ) % {"count": number_format(created.project.listed_count, force_grouping=True)}
    elif created.project.scope == Project.Scope.SEARCH:
        text = _("Project created. %(found)s Their listing begins now.") % {
            "found": found_text(created.found or 0)
        }
    elif created.project.scope == Project.Scope.UPLOADS:
        text = _("Project created. The uploads of User:%(user)s are being listed now.") % {
            "user": created.project.uploads_user
        }
    elif created.estimate is not None and _counted(created.estimate):
        text = _("Project created. %(estimate)s They are being crawled now.") % {
            "estimate": estimate_text(created.estimate)
        }
    else:
        text = _("Project created. The category is being crawled now.")
    messages.success(request, text)


def _counted(estimate: FileEstimate) -> bool:
    """Whether the estimate counted something worth saying: creation counts the top category
    alone, and "more than 0 files" is no figure (its files are in its subcategories)."""
    if estimate.root.files is None:
        return False
    return estimate.complete or estimate.files > 0


def estimate_text(estimate: FileEstimate) -> str:
    """A category's size in a contributor's words: about N files, or more than N."""
    values = {
        "name": estimate.root.title,
        "depth": estimate.max_depth,
        "count": number_format(estimate.files, force_grouping=True),
    }
    if not estimate.complete and estimate.files == 0:
        return (
            _(
                "“%(name)s” holds its files in subcategories, too many to count in a moment; "
                "the crawl counts them."
            )
            % values
        )
    if not estimate.complete:
        return (
            ngettext(
                "“%(name)s” and its subcategories to depth %(depth)d hold more than "
                "%(count)s file.",
                "“%(name)s” and its subcategories to depth %(depth)d hold more than "
                "%(count)s files.",
                estimate.files,
            )
            % values
        )
    if estimate.categories == 1:
        return (
            ngettext(
                "“%(name)s” holds about %(count)s file.",
                "“%(name)s” holds about %(count)s files.",
                estimate.files,
            )
            % values
        )
    return (
        ngettext(
            "“%(name)s” and its subcategories to depth %(depth)d hold about %(count)s file.",
            "“%(name)s” and its subcategories to depth %(depth)d hold about %(count)s files.",
            estimate.files,
        )
        % values
    )


@login_required
@require_safe
@rate_limited("estimate", per_minute=30)
def category_estimate(request: AuthenticatedRequest) -> JsonResponse:
    """About how many files a category holds to the chosen depth, on a small budget."""
    form = CategoryEstimateForm(request.GET)
    if not form.is_valid():
        message = " ".join(str(m) for errors in form.errors.values() for m in errors)
        return invalid_json(message)
    data = form.cleaned_data
    try:
        with quick_client(settings.COMMONS_API_URL, timeout=ESTIMATE_TIMEOUT) as client:
            estimate = estimate_files(
                client,
                category=data["category"],
                max_depth=data["depth"],
                max_requests=ESTIMATE_REQUESTS,
                budget_seconds=ESTIMATE_SECONDS,
            )
    except CommonsError as error:
        return trouble_json(error, site="Commons")
    if not estimate.root.exists:
        message = _("There is no category “%(name)s” on Commons.") % {"name": data["category"]}
        return JsonResponse({"error": "missing", "message": message}, status=404)
    return JsonResponse(
        {
            "category": estimate.root.title,
            "depth": estimate.max_depth,
            "files": estimate.files,
            "categories": estimate.categories,
            "complete": estimate.complete,
            "message": estimate_text(estimate),
        }
    )


def found_text(found: int) -> str:
    """A search's size in a contributor's words (the search index's count)."""
    return ngettext(
        "The search finds about %(count)s file on Commons.",
        "The search finds about %(count)s files on Commons.",
        found,
    ) % {"count": number_format(found, force_grouping=True)}


@login_required
@require_safe
@rate_limited("estimate", per_minute=30)
def search_estimate(request: AuthenticatedRequest) -> JsonResponse:
    """About how many files a Commons search finds (one request: its ``totalhits``)."""
    form = SearchEstimateForm(request.GET)
    if not form.is_valid():
        return invalid_json(errors_text(form.errors.values()))
    try:
        with quick_client(settings.COMMONS_API_URL, timeout=ESTIMATE_TIMEOUT) as client:
            found = search_total(client, query=" ".join(form.cleaned_data["q"].split()))
    except CommonsError as error:
        return trouble_json(error, site="Commons")
    if not found:
        message = _("This search finds no file on Commons.")
        return JsonResponse({"error": "empty", "files": 0, "message": message}, status=404)
    return JsonResponse({"files": found, "message": found_text(found)})


@login_required
@require_POST
@rate_limited("file-list", per_minute=30)
def file_list_check(request: AuthenticatedRequest) -> JsonResponse:
    """How many lines of a list name a file, and which do not; no Commons call.

    Takes ``{"file_list": pasted, "upload": text of a chosen file, "name": its name}`` as
    JSON (the page's script) or as form fields; the upload is read as the form reads it
    (the first column of a ``.csv``/``.tsv``).
    """
    posted = _posted_list(request)
    if posted is None:
        message = _("Send the list as text.")
        return invalid_json(message)
    pasted, uploaded, name = posted
    if "\x00" in uploaded:
        message = _("This is not a text file. Upload a list of titles as UTF-8 text or CSV.")
        return JsonResponse({"error": "binary", "message": message}, status=400)
    try:
        lines = pasted.splitlines() + list_lines(uploaded, name)
    except ValidationError as error:
        return JsonResponse({"error": "bad_csv", "message": " ".join(error.messages)}, status=400)
    limit = max_listed_files()
    scan = scan_file_lines(lines[: limit + 1])
    too_many = sum(1 for line in lines if line.strip()) > limit
    message = ngettext(
        "%(count)s file recognised.", "%(count)s files recognised.", len(scan.files)
    ) % {"count": number_format(len(scan.files), force_grouping=True)}
    if scan.bad:
        message += " " + ngettext(
            "%(count)d line names no file.", "%(count)d lines name no file.", len(scan.bad)
        ) % {"count": len(scan.bad)}
    if too_many:
        message += " " + _("A project takes at most %(limit)s files.") % {
            "limit": number_format(limit, force_grouping=True)
        }
    return JsonResponse(
        {
            "files": len(scan.files),
            "duplicates": scan.duplicates,
            "too_many": too_many,
            "bad": [
                {"line": bad.number, "text": bad.text, "message": bad.message}
                for bad in scan.bad[:BAD_LINES_SHOWN]
            ],
            "message": message,
        }
    )


@login_required
@require_safe
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
        return trouble_json(error, site="Wikidata")
    return JsonResponse(
        {
            "results": [
                {"qid": hit.qid, "label": hit.label, "description": hit.description} for hit in hits
            ]
        }
    )


@login_required
@require_safe
@rate_limited("person", per_minute=30)
def person_check(request: AuthenticatedRequest) -> JsonResponse:
    """The chosen person, with image, checked to be a human (redirects followed)."""
    form = PersonCheckForm(request.GET)
    if not form.is_valid():
        return invalid_json(_("Give a Wikidata item id such as Q42."))
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
        return trouble_json(error, site="Wikidata")
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
        "image": person_image_url(person.image or ""),
        "redirected_from": person.redirected_from,
        "redirect_note": redirect_note,
    }


def _posted_list(request: HttpRequest) -> tuple[str, str, str] | None:
    """(the pasted list, the text of an uploaded one, that file's name), or None."""
    if request.content_type == "application/json":
        try:
            body = json.loads(request.body)
        except (ValueError, RecursionError):  # RecursionError: arrays nested thousands deep
            return None
    else:
        body = request.POST.dict()
    if not isinstance(body, dict):
        return None
    pasted, uploaded, name = (body.get(key, "") for key in ("file_list", "upload", "name"))
    if not all(isinstance(value, str) for value in (pasted, uploaded, name)):
        return None
    return str(pasted), str(uploaded), str(name)


# --- the project's settings and members -------------------------------------------------


@login_required
@require_POST
@rate_limited("manage", per_minute=30)
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
        messages.error(request, errors_text(form.errors.values()))
    return redirect("projects:detail", project.pk)


@login_required
@require_POST
@rate_limited("manage", per_minute=30)
def member_remove(request: AuthenticatedRequest, pk: int, user_id: int) -> HttpResponse:
    project = project_for(request, pk, manage=True)
    if user_id > MAX_ROW_ID:
        # SQLite raises OverflowError on an integer past 64 bits instead of finding no row.
        raise Http404(_("No such member of this project."))
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


# --- the owner archives or deletes the project ------------------------------------------


def _owned(request: AuthenticatedRequest, pk: int) -> Project:
    """The project if the user owns it: moderators act in the admin, reviewers not at all."""
    project = project_for(request, pk, manage=True)
    if project.owner_id != request.user.pk:
        raise PermissionDenied
    return project


@login_required
@require_POST
@rate_limited("manage", per_minute=30)
def project_archive(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    project = _owned(request, pk)
    services.project_archive(project=project)
    messages.success(
        request,
        _(
            "Project archived: it takes no answers, is not crawled and sends no edits until "
            "you restore it."
        ),
    )
    return redirect("projects:detail", project.pk)


@login_required
@require_POST
@rate_limited("manage", per_minute=30)
def project_restore(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    project = _owned(request, pk)
    try:
        services.project_restore(project=project)
    except services.OwnerActionRefused as refused:
        messages.error(request, str(refused))
    else:
        messages.success(
            request,
            _(
                "Project restored: it is active again. Its writes stay off until you turn "
                "them on in the settings."
            ),
        )
    return redirect("projects:detail", project.pk)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
@rate_limited("manage", per_minute=30, methods=("POST",))
def project_delete(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """A page that asks the owner to type the project's Q-id; deleting is its POST."""
    project = _owned(request, pk)
    error = ""
    if request.method == "POST":
        try:
            services.project_delete(project=project, typed=request.POST.get("confirmation", ""))
        except services.OwnerActionRefused as refused:
            error = str(refused)
        else:
            messages.success(
                request,
                _("Project “%(name)s” deleted. Nothing on Commons was changed.")
                % {"name": project.label_in(get_language())},
            )
            return redirect("projects:dashboard")
    context = {
        "project": project,
        "person_label": project.label_in(get_language()),
        "error": error,
    }
    return render(request, "projects/delete.html", context, status=400 if error else 200)
