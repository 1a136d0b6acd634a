"""The new-group page: a category and several people, checked on Wikidata and Commons
before anything is created (the group's own pages are the review pages of ``faces``)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from core.http import AuthenticatedRequest
from core.ratelimit import over_limit, too_many

from . import group_services, services
from .group_forms import GroupNewForm
from .views import label_languages, quick_client, wikimedia_trouble


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def group_new(request: AuthenticatedRequest) -> HttpResponse:
    form = GroupNewForm(request.POST or None)
    if request.method == "POST":
        if over_limit(request, "project-new", per_minute=10):
            return too_many(request)
        if form.is_valid():
            created = _group_open(request, form)
            if created is not None:
                messages.success(
                    request,
                    _("Group created: one project per person. The category is being crawled now."),
                )
                return redirect(created.group.get_absolute_url())
    return render(request, "projects/group_new.html", {"form": form})


def _group_open(
    request: AuthenticatedRequest, form: GroupNewForm
) -> group_services.NewGroup | None:
    """Check the people and the category on Wikimedia, then create; errors land on the form."""
    data = form.cleaned_data
    try:
        with (
            quick_client(settings.WIKIDATA_API_URL) as wikidata,
            quick_client(settings.COMMONS_API_URL) as commons,
        ):
            return group_services.group_open(
                owner=request.user,
                qids=data["people"],
                category=data["category"],
                wikidata=wikidata,
                commons=commons,
                languages=label_languages(),
                name=data["name"],
                crawl_depth=data["crawl_depth"],
                distance_threshold=data["distance_threshold"],
                min_answers=data["min_answers"],
            )
    except group_services.PeopleRefused as refused:
        for message in refused.messages:
            form.add_error("people", message)
    except services.CategoryMissing:
        message = _("There is no category “%(name)s” on Commons.")
        form.add_error("category", message % {"name": data["category"]})
    except services.WikimediaTrouble as trouble:
        form.add_error(None, wikimedia_trouble(trouble.error, site=trouble.site))
    except ValidationError as error:
        form.add_error(None, error)
    return None
