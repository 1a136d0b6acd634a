"""A group of people: one category and 2-12 Wikidata people, each checked as the new-project
page checks one, made into one ordinary project per person (against the offline stand-in)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from django.urls import reverse

from projects.models import GroupPerson, Project, ProjectGroup, Withholding
from tests.factories import MembershipFactory, ProjectFactory, UserFactory

pytestmark = pytest.mark.django_db


def jpeg(seed: int) -> dict[str, Any]:
    return {"generate": {"format": "JPEG", "width": 64, "height": 48, "seed": seed}}


WORLD: dict[str, Any] = {
    "items": {
        "Q42": {"labels": {"en": "Douglas Adams"}, "P31": ["Q5"]},
        "Q7": {"labels": {"en": "Jane Doe"}, "P31": ["Q5"]},
        "Q8": {"labels": {"en": "John Roe"}, "P31": ["Q5"]},
        "Q90": {"labels": {"en": "Paris"}, "P31": ["Q515"]},
        "Q9": {"labels": {"en": "Ann Poe"}, "P31": ["Q5"]},
        "Q11": {"labels": {"en": "Max Moe"}, "P31": ["Q5"]},
        "Q43": {"redirect": "Q42"},
        "Q44": {"redirect": "Q11"},
        "Q45": {"redirect": "Q90"},
        "Q46": {"redirect": "Q7"},
        "Q13": {"missing": True},
    },
    "categories": {"Book fair 1999": {"files": ["Fair 1.jpg"], "subcats": []}},
    "files": {"Fair 1.jpg": jpeg(1)},
}


@pytest.fixture
def fake(make_fake_commons):
    return make_fake_commons(copy.deepcopy(WORLD))


def post_group(client, **fields: Any):
    data = {
        "people": "Q42\nQ7, Q8",
        "category": "Book fair 1999",
        "crawl_depth": 1,
        "distance_threshold": 0.55,
        "min_answers": 4,
        **fields,
    }
    return client.post(reverse("projects:group-new"), data)


def people_errors(response) -> list[str]:
    return list(response.context["form"].errors.get("people", []))


def test_a_group_is_one_ordinary_project_per_person_over_one_category(
    client_of, owner, fake, queued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = post_group(client_of(owner))
    group = ProjectGroup.objects.get()
    assert response.status_code == 302 and response.url == group.get_absolute_url()
    projects = group.member_projects()
    assert [p.qid for p in projects] == ["Q42", "Q7", "Q8"]
    for project in projects:
        assert project.owner == owner and project.scope == Project.Scope.CATEGORY
        assert project.category == "Book fair 1999" and project.crawl_depth == 1
        assert (project.distance_threshold, project.min_answers) == (0.55, 4)
        assert project.role_of(owner) == "owner"
    assert projects[0].label_in("en") == "Douglas Adams"
    assert group.name == "Douglas Adams, Jane Doe, John Roe in Book fair 1999"
    crawls = [q.args for q in queued if q.task == "faces.crawl.project"]
    assert sorted(crawls) == sorted((p.pk,) for p in projects)


def test_the_new_group_page_is_reached_from_the_dashboard_and_the_new_project_page(
    client_of, owner
):
    client = client_of(owner)
    link = reverse("projects:group-new")
    assert link in client.get(reverse("projects:dashboard")).content.decode()
    assert link in client.get(reverse("projects:new")).content.decode()
    assert client.get(link).status_code == 200


@pytest.mark.parametrize(
    ("people", "expected"),
    [
        ("Q42", "A group holds 2 to 12 people; 1 are given."),
        (" ".join(f"Q{n}" for n in range(1, 14)), "A group holds 2 to 12 people; 13 are given."),
        ("Q42, Q7, q42", "Q42 is given twice."),
        ("Q42, Adams", "“Adams” is not a Wikidata item id (like Q42)."),
    ],
)
def test_the_form_refuses_a_wrong_list_of_people_before_asking_wikidata(
    client_of, owner, people, expected
):
    response = post_group(client_of(owner), people=people)
    assert response.status_code == 200 and expected in people_errors(response)
    assert not Project.objects.exists() and not ProjectGroup.objects.exists()


def test_every_person_wikidata_refuses_is_named_and_nothing_is_created(client_of, owner, fake):
    response = post_group(client_of(owner), people="Q42, Q90, Q404")
    errors = people_errors(response)
    assert "Q90 (Paris) is not a human on Wikidata." in errors
    assert "Q404 does not exist on Wikidata (or was deleted)." in errors
    assert len(errors) == 2
    assert not Project.objects.exists() and not ProjectGroup.objects.exists()


def test_a_redirect_to_a_person_given_already_is_refused(client_of, owner, fake):
    errors = people_errors(post_group(client_of(owner), people="Q42, Q43"))
    assert errors == ["Q43 and Q42 are the same person (Q42): give them once."]
    assert not Project.objects.exists()


def test_a_withheld_person_is_refused(client_of, owner, fake, moderator):
    Withholding.objects.create(kind=Withholding.Kind.PERSON, value="Q7", reason="asked")
    errors = people_errors(post_group(client_of(owner), people="Q42, Q7"))
    assert errors == ["Q7 is withheld: no project may look for this person."]
    assert not Project.objects.exists()


def test_wikidata_is_asked_once_for_all_the_people_of_a_new_group(client_of, owner, fake):
    response = post_group(client_of(owner), people="Q42 Q7 Q8 Q9 Q44")
    assert response.status_code == 302
    group = ProjectGroup.objects.get()
    assert [p.qid for p in group.member_projects()] == ["Q42", "Q7", "Q8", "Q9", "Q11"]
    assert group.member_projects()[4].label_in("en") == "Max Moe"  # Q44, redirected
    (request,) = fake.api_requests(site="wikidata")
    assert request.action == "wbgetentities"
    assert request.params["ids"] == "Q42|Q7|Q8|Q9|Q44"


def test_each_person_refused_in_the_one_request_is_named_with_the_reason(
    client_of, owner, fake, moderator
):
    for qid in ("Q7", "Q8"):
        Withholding.objects.create(kind=Withholding.Kind.PERSON, value=qid, reason="asked")
    response = post_group(client_of(owner), people="Q42 Q45 Q46 Q13 Q404 Q90 Q8 Q44")
    assert people_errors(response) == [
        "Q45 redirects to Q90: Q90 (Paris) is not a human on Wikidata.",
        "Q46 redirects to Q7: Q7 is withheld: no project may look for this person.",
        "Q13 does not exist on Wikidata (or was deleted).",
        "Q404 does not exist on Wikidata (or was deleted).",
        "Q90 (Paris) is not a human on Wikidata.",
        "Q8 is withheld: no project may look for this person.",
    ]
    assert not Project.objects.exists() and not ProjectGroup.objects.exists()
    (request,) = fake.api_requests(site="wikidata")  # Q8, withheld as given, not asked
    assert request.params["ids"] == "Q42|Q45|Q46|Q13|Q404|Q90|Q44"


def test_wikidata_failing_to_answer_is_said_on_the_form(client_of, owner, fake):
    fake.inject("http503", times=None, action="wbgetentities")
    response = post_group(client_of(owner))
    assert "Wikidata" in " ".join(response.context["form"].non_field_errors())
    assert not Project.objects.exists() and not ProjectGroup.objects.exists()


def test_a_missing_category_is_refused(client_of, owner, fake):
    response = post_group(client_of(owner), category="No such fair")
    assert response.context["form"].errors["category"] == [
        "There is no category “No such fair” on Commons."
    ]
    assert not Project.objects.exists() and not ProjectGroup.objects.exists()


def make_group(owner, qids=("Q1", "Q2", "Q3")) -> tuple[ProjectGroup, list[Project]]:
    group = ProjectGroup.objects.create(owner=owner, name="Fair people")
    projects = [ProjectFactory(owner=owner, qid=qid, category="Fair") for qid in qids]
    for position, project in enumerate(projects):
        GroupPerson.objects.create(group=group, project=project, position=position)
    return group, projects


def test_the_group_page_lists_each_person_with_links_to_their_pages(client_of, owner):
    group, projects = make_group(owner)
    Project.objects.filter(pk=projects[1].pk).update(
        learning={"updated_at": "2026-12-07T10:00:00+00:00", "answers": 7, "suggested": 3}
    )
    page = client_of(owner).get(group.get_absolute_url()).content.decode()
    for project in projects:
        assert reverse("projects:suggestions", args=[project.pk]) in page
        assert reverse("depicts:send", args=[project.pk]) in page
        assert f"Person {project.qid}" in page
    rows = client_of(owner).get(group.get_absolute_url()).context["rows"]
    assert [(row.answers, row.suggested) for row in rows] == [(0, 0), (7, 3), (0, 0)]
    assert (
        group.get_absolute_url()
        in client_of(owner).get(reverse("projects:dashboard")).content.decode()
    )


def test_only_people_of_every_project_and_moderators_see_a_group(client, owner, moderator):
    group, projects = make_group(owner)
    reviewer = UserFactory(username="reviewer")
    MembershipFactory(project=projects[0], user=reviewer)
    for url in (group.get_absolute_url(), reverse("projects:who", args=[group.pk])):
        client.force_login(UserFactory(username="outsider"))
        assert client.get(url).status_code == 403
        client.force_login(reviewer)  # a member of one project only: answers write in all
        assert client.get(url).status_code == 403
        for project in projects[1:]:
            MembershipFactory(project=project, user=reviewer)
        assert client.get(url).status_code == 200
        client.force_login(moderator)
        assert client.get(url).status_code == 200
        for project in projects[1:]:
            project.memberships.filter(user=reviewer).delete()


def learned(suggested: int, right: float, found: float, positives: float, intervals) -> dict:
    return {
        "updated_at": "2026-12-07T10:00:00+00:00",
        "answers": 9,
        "confirmed": 10,
        "suggested": suggested,
        "precision": right / suggested if suggested else None,
        "recall": found / positives,
        "precision_interval": intervals[0],
        "recall_interval": intervals[1],
        "expected_right": right,
        "expected_found": found,
        "expected_positives": positives,
    }


def overall_row(page: str) -> str:
    return page.split('<tr id="group-overall">')[1].split("</tr>")[0]


def test_the_group_page_shows_all_people_together_from_the_sums_of_their_estimates(
    client_of, owner
):
    group, projects = make_group(owner)
    few = learned(2, 1.0, 11.0, 20.0, ([0.2, 0.8], [0.45, 0.65]))  # 50 %, 55 %
    many = learned(200, 190.0, 200.0, 210.0, ([0.92, 0.97], [0.93, 0.97]))  # 95 %, 95 %
    Project.objects.filter(pk=projects[0].pk).update(learning=few)
    Project.objects.filter(pk=projects[1].pk).update(learning=many)
    page = client_of(owner).get(group.get_absolute_url()).content.decode()
    assert "94\u00a0% (91\u201396\u00a0%)" in overall_row(page)  # from those who send
    assert overall_row(page).count("—") == 1  # the third person's faces not counted yet
    waiting = learned(0, 0.0, 10.0, 40.0, (None, [0.15, 0.4]))
    Project.objects.filter(pk=projects[2].pk).update(learning=waiting)
    row = overall_row(client_of(owner).get(group.get_absolute_url()).content.decode())
    assert "All people" in row
    # 191 of 202 suggestions, 221 of 270 faces: not the means of the people's figures.
    assert "94\u00a0% (91\u201396\u00a0%)" in row
    assert "81\u00a0% (77\u201386\u00a0%)" in row


def test_the_group_page_shows_no_overall_precision_before_anyone_has_suggestions(client_of, owner):
    group, projects = make_group(owner)
    page = client_of(owner).get(group.get_absolute_url()).content.decode()
    assert overall_row(page).count("<td") == 2 and overall_row(page).count("—") == 2
    waiting = learned(0, 0.0, 10.0, 40.0, (None, [0.15, 0.4]))
    for project in projects:
        Project.objects.filter(pk=project.pk).update(learning=waiting)
    row = overall_row(client_of(owner).get(group.get_absolute_url()).content.decode())
    assert row.count("—") == 1 and "25\u00a0% (15\u201340\u00a0%)" in row
