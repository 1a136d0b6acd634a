"""The new-project page's "who is depicted here?": the people a category's files already
depict (P180), with how many files each, to pick the project's person from."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_safe

from commons.client import CommonsError
from commons.depicted import Depicted, depicted_in_category
from commons.wikidata import humans_among
from core.http import AuthenticatedRequest
from core.ratelimit import rate_limited

from .forms import CategoryEstimateForm, errors_text
from .views import ESTIMATE_TIMEOUT, invalid_json, label_languages, quick_client, trouble_json

CANDIDATE_ITEMS = 50
"""The most depicted items checked on Wikidata (one request): many are not people."""

PROPOSED_PEOPLE = 8
"""The most people proposed."""


@login_required
@require_safe
@rate_limited("estimate", per_minute=30)
def depicted_people(request: AuthenticatedRequest) -> JsonResponse:
    """The humans the first files of a category depict, most files first, with a line to say."""
    form = CategoryEstimateForm(request.GET)
    if not form.is_valid():
        return invalid_json(errors_text(form.errors.values()))
    category = form.cleaned_data["category"]
    site = "Commons"
    try:
        with quick_client(settings.COMMONS_API_URL, timeout=ESTIMATE_TIMEOUT) as commons:
            depicted = depicted_in_category(commons, category=category)
        candidates = [qid for qid, _count in depicted.counts.most_common(CANDIDATE_ITEMS)]
        site = "Wikidata"
        with quick_client(settings.WIKIDATA_API_URL, timeout=ESTIMATE_TIMEOUT) as wikidata:
            humans = humans_among(wikidata, qids=candidates, languages=label_languages())
    except CommonsError as error:
        return trouble_json(error, site=site)
    people = [
        {"qid": qid, "label": humans[qid], "files": depicted.counts[qid]}
        for qid in candidates
        if qid in humans
    ][:PROPOSED_PEOPLE]
    for person in people:
        person["text"] = _person_text(person)
    return JsonResponse(
        {
            "people": people,
            "files": depicted.files,
            "complete": depicted.complete,
            "message": _message(category, depicted, found=bool(people)),
        }
    )


def _person_text(person: dict) -> str:
    return ngettext(
        "%(label)s (%(qid)s), on %(count)s file",
        "%(label)s (%(qid)s), on %(count)s files",
        person["files"],
    ) % {**person, "count": number_format(person["files"], force_grouping=True)}


def _message(category: str, depicted: Depicted, *, found: bool) -> str:
    values = {"name": category, "count": number_format(depicted.files, force_grouping=True)}
    if not depicted.files:
        return _("“%(name)s” holds no file of its own to read.") % values
    if not found:
        return (
            ngettext(
                "No person is depicted on the file of “%(name)s” read.",
                "No person is depicted on the %(count)s files of “%(name)s” read.",
                depicted.files,
            )
            % values
        )
    if depicted.complete:
        return (
            ngettext(
                "Already depicted on the file of “%(name)s”; pick the person:",
                "Already depicted on the %(count)s files of “%(name)s”; pick the person:",
                depicted.files,
            )
            % values
        )
    return (
        _("Already depicted on the first %(count)s files of “%(name)s”; pick the person:") % values
    )
