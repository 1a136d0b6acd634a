"""Pages of the projects app: new project, person search, settings and members.

Views are thin: one access check (``project_for``), a form, one service or selector call.
The only Wikimedia calls made inside a web request are the validations of a new project,
each on a short timeout with no retries, so a slow Commons costs a user a few seconds and
a clear message, never a stuck worker thread.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from commons.addresses import person_image_url
from commons.categories import CategoryInfo
from commons.client import ApiClient, CommonsError, RetryPolicy, TransientError
from commons.types import Person
from commons.wikidata import PersonNotFound, search_people

from . import services
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
    try:
        with (
            quick_client(settings.WIKIDATA_API_URL) as wikidata,
            quick_client(settings.COMMONS_API_URL) as commons,
        ):
            created = services.project_open(
                owner=request.user,
                qid=data["qid"],
                category=data["category"],
                wikidata=wikidata,
                commons=commons,
                languages=label_languages(),
                crawl_depth=data["crawl_depth"],
                distance_threshold=data["distance_threshold"],
                min_answers=data["min_answers"],
            )
    except PersonNotFound:
        message = _("%(qid)s does not exist on Wikidata (or was deleted).")
        form.add_error("qid", message % {"qid": data["qid"]})
    except services.NotAHuman as error:
        form.add_error("qid", str(error))
    except services.CategoryMissing:
        message = _("There is no category “%(name)s” on Commons.")
        form.add_error("category", message % {"name": data["category"]})
    except services.WikimediaTrouble as trouble:
        form.add_error(None, wikimedia_trouble(trouble.error, site=trouble.site))
    except ValidationError as error:
        form.add_error(None, error)
    else:
        _tell_created(request, created.person, created.category)
        return created.project
    return None


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
        "image": person_image_url(person.image or ""),
        "redirected_from": person.redirected_from,
        "redirect_note": redirect_note,
    }


# --- the project's settings and members -------------------------------------------------


@login_required
@require_POST
@rate_limited("manage", per_minute=30)
def project_settings(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    project = project_for(request, pk, manage=True)
    form = ProjectSettingsForm(request.POST, instance=project)
    if form.is_valid():
        # Only the form's fields: workers update the same row (crawl cursor, learner summary).
        form.save(commit=False).save(update_fields=ProjectSettingsForm.Meta.fields)
        if {"distance_threshold", "min_answers"} & set(form.changed_data):
            # The suggestions and estimates follow the new settings now, not at the next answer.
            services.request_rescore(project_id=project.pk)
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
        messages.error(request, _errors_text(form.errors.values()))
    return redirect("projects:detail", project.pk)


@login_required
@require_POST
@rate_limited("manage", per_minute=30)
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
