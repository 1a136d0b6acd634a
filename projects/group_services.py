"""A new group of people: each person checked as the new-project page checks one, then one
ordinary project per person over the same category, created together."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from commons.categories import FileEstimate
from commons.client import ApiClient
from commons.identifiers import normalise_qid
from commons.types import Person
from commons.wikidata import PersonNotFound

from .groups import MAX_PEOPLE, MIN_PEOPLE, GroupPerson, ProjectGroup
from .models import DEFAULT_MIN_ANSWERS, Membership, Project
from .services import (
    NotAHuman,
    category_checked,
    owner_files_refuse_full,
    people_on_wikidata,
    person_accepted,
    person_for_project,
    person_withheld,
    project_start,
    withheld_among,
)

MAX_NAME_CHARS = 255


class PeopleRefused(ValueError):
    """Some of the people cannot be looked for; ``messages`` says why, one per person."""

    def __init__(self, messages: Sequence[str]) -> None:
        super().__init__(" ".join(messages))
        self.messages = list(messages)


@dataclass(frozen=True)
class NewGroup:
    group: ProjectGroup
    people: tuple[Person, ...]
    estimate: FileEstimate


def group_open(
    *,
    owner: User,
    qids: Sequence[str],
    category: str,
    wikidata: ApiClient,
    commons: ApiClient,
    languages: Sequence[str],
    name: str = "",
    crawl_depth: int = 2,
    distance_threshold: float = 0.6,
    min_answers: int = DEFAULT_MIN_ANSWERS,
) -> NewGroup:
    """A new group: one project per person over ``category``, by the rules of a new project.

    1. The owner may start projects (``owner_files_refuse_full``).
    2. Each person is checked as for one project (``services.person_accepted``: a human,
       redirects followed, not withheld), all of them read in one Wikidata request; every
       refusal is collected, and two Q-ids naming the same person (one a redirect of the
       other) are refused: PeopleRefused lists them all.
    3. The category exists on Commons (CategoryMissing), under its canonical title.
    4. The group and its projects are created in one transaction, each project as
       ``project_start`` creates one (same owner, same settings; its crawl queued once
       committed).
    """
    if not MIN_PEOPLE <= len(qids) <= MAX_PEOPLE:
        raise ValueError(f"a group holds {MIN_PEOPLE} to {MAX_PEOPLE} people")
    owner_files_refuse_full(owner)
    people = _people_checked(qids, wikidata=wikidata, languages=languages)
    estimate = category_checked(commons, category=category, crawl_depth=crawl_depth)
    with transaction.atomic():
        group = ProjectGroup.objects.create(
            owner=owner, name=name or _default_name(people, estimate.root.title)
        )
        for position, person in enumerate(people):
            project = project_start(
                owner=owner,
                person=person,
                category=estimate.root.title,
                crawl_depth=crawl_depth,
                distance_threshold=distance_threshold,
                min_answers=min_answers,
            )
            GroupPerson.objects.create(group=group, project=project, position=position)
    return NewGroup(group=group, people=tuple(people), estimate=estimate)


def _people_checked(
    qids: Sequence[str], *, wikidata: ApiClient, languages: Sequence[str]
) -> list[Person]:
    """Every person by the rules of one project's, Wikidata asked once for all of them (not
    about those withheld as given); PeopleRefused names each person refused, and why."""
    qids = [normalise_qid(qid) for qid in qids]
    withheld = withheld_among(qids)
    asked = [qid for qid in qids if qid not in withheld]
    found = people_on_wikidata(wikidata=wikidata, qids=asked, languages=languages) if asked else {}
    people: list[Person] = []
    refused: list[str] = []
    seen: dict[str, str] = {}
    for qid in qids:
        try:
            if qid in withheld:
                raise person_withheld(qid)
            person = person_accepted(found.get(qid), qid=qid)
        except PersonNotFound:
            refused.append(_("%(qid)s does not exist on Wikidata (or was deleted).") % {"qid": qid})
            continue
        except (NotAHuman, ValidationError) as error:
            refused.append(_refusal(qid, found.get(qid), error))
            continue
        if person.qid in seen:
            refused.append(
                _("%(qid)s and %(other)s are the same person (%(person)s): give them once.")
                % {"qid": qid, "other": seen[person.qid], "person": person.qid}
            )
            continue
        seen[person.qid] = qid
        people.append(person)
    if refused:
        raise PeopleRefused(refused)
    return people


def _refusal(qid: str, person: Person | None, error: Exception) -> str:
    """Why ``qid`` is refused, naming the id given when Wikidata redirected it."""
    reason = " ".join(getattr(error, "messages", [str(error)]))
    if person is None or person.qid == qid:
        return reason
    return _("%(qid)s redirects to %(target)s: %(reason)s") % {
        "qid": qid,
        "target": person.qid,
        "reason": reason,
    }


def _default_name(people: Sequence[Person], category: str) -> str:
    names = ", ".join(person.label or person.qid for person in people)
    return (_("%(people)s in %(category)s") % {"people": names, "category": category})[
        :MAX_NAME_CHARS
    ]


def group_person_check(
    *, group: ProjectGroup, qid: str, wikidata: ApiClient, languages: Sequence[str]
) -> Person:
    """A person to add to ``group``, checked as group creation checks one: the group has
    room (ValidationError), the owner may start a project, a human on Wikidata (redirects
    followed; PersonNotFound, NotAHuman), not withheld (PersonWithheld)."""
    if group.people.count() >= MAX_PEOPLE:
        raise ValidationError(
            _("A group holds at most %(count)d people.") % {"count": MAX_PEOPLE},
            code="group_full",
        )
    owner_files_refuse_full(group.owner)
    return person_for_project(wikidata=wikidata, qid=qid, languages=languages)


def group_person_add(*, group: ProjectGroup, person: Person) -> Project:
    """Add a checked person (:func:`group_person_check`) to ``group``: their own project
    over the group's scope, with the settings and the reviewers of the first person's
    project, last in the group's order; its crawl is queued once committed, as at creation."""
    people = list(group.people.select_related("project").order_by("position"))
    if not people:
        raise ValueError("a group with no people has no scope to add a person over")
    first = people[0].project
    if first.scope == Project.Scope.FILES:
        raise ValueError("a group over a list of files takes no new person")
    with transaction.atomic():
        project = project_start(
            owner=group.owner,
            person=person,
            crawl_depth=first.crawl_depth,
            distance_threshold=first.distance_threshold,
            min_answers=first.min_answers,
            category=first.category,
            search_query=first.search_query,
            uploads_user=first.uploads_user,
        )
        reviewers = first.memberships.exclude(user_id=group.owner_id)
        Membership.objects.bulk_create(
            Membership(project=project, user_id=member.user_id, role=member.role)
            for member in reviewers
        )
        GroupPerson.objects.create(group=group, project=project, position=people[-1].position + 1)
    return project
