"""Who may do what: every page and endpoint of a project, for each persona.

Owner and members answer and approve; only the owner (or a moderator) manages members and
settings; outsiders get 403 everywhere; moderators (staff) see every project.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.urls import get_resolver, reverse

from tests.factories import MembershipFactory, UserFactory
from tests.ui.conftest import answer_body

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Endpoint:
    name: str
    method: str = "get"  # get | post (a form) | json (a JSON body)
    body: Any = None  # a function of the test's objects
    ok: int = 200
    manage: bool = False  # owner and moderators only
    kwargs: Any = field(default=None)
    owner_only: bool = False  # the owner alone: moderators act in the admin


def box(**extra):
    return {"left": 0.6, "top": 0.1, "width": 0.2, "height": 0.3, **extra}


PROJECT_ENDPOINTS = [
    Endpoint("detail"),
    Endpoint("status"),
    Endpoint("learner"),
    Endpoint("classify"),
    Endpoint("next"),
    Endpoint("answer", "json", lambda o: answer_body(o["face"])),
    Endpoint(
        "pick",
        "json",
        lambda o: {
            "image": o["face"].image_id,
            "face": o["face"].pk,
            "request_id": str(uuid.uuid4()),
        },
    ),
    Endpoint("undo", "json", lambda o: {}),
    Endpoint("draw", "json", lambda o: box(image=o["face"].image_id)),
    Endpoint("correct", "json", lambda o: box(face=o["face"].pk)),
    Endpoint("suggestions"),
    Endpoint("suggestions-approve", "post", lambda o: {"face": [o["face"].pk]}, ok=302),
    Endpoint("suggestions-reject", "post", lambda o: {"face": [o["face"].pk]}, ok=302),
    Endpoint("suggestions-keep", "post", lambda o: {"face": [o["face"].pk]}, ok=302),
    Endpoint(
        "suggestions-doubts",
        "post",
        lambda o: {"face": [o["face"].pk], "request_id": [str(uuid.uuid4())]},
        ok=302,
    ),
    Endpoint("export-answers"),
    Endpoint("export-edits"),
    Endpoint(
        "settings",
        "post",
        lambda o: {
            "state": "active",
            "crawl_depth": 1,
            "distance_threshold": 0.5,
            "min_answers": 3,
        },
        ok=302,
        manage=True,
    ),
    Endpoint("member-invite", "post", lambda o: {"username": "newcomer"}, ok=302, manage=True),
    Endpoint(
        "member-remove",
        "post",
        lambda o: {},
        ok=302,
        manage=True,
        kwargs=lambda o: {"user_id": o["reviewer"].pk},
    ),
    # Each member's own choice; a moderator who is no member is told so (tests/test_notifications).
    Endpoint("notification-settings", "post", lambda o: {"notify_by_email": "on"}, ok=302),
    Endpoint("archive", "post", lambda o: {}, ok=302, manage=True, owner_only=True),
    Endpoint("restore", "post", lambda o: {}, ok=302, manage=True, owner_only=True),
    Endpoint("delete", manage=True, owner_only=True),  # the confirmation page
]
SITE_ENDPOINTS = [
    "dashboard",
    "new",
    "group-new",
    "people",
    "person",
    "estimate",
    "search-estimate",
    "depicted-people",
]
# Site endpoints that take a JSON body: the new-project page's check of a pasted list.
SITE_JSON_ENDPOINTS = {"file-list-check": {"file_list": "File:Barack Obama 01.jpg"}}
PERSONAS = ["owner", "member", "moderator", "outsider"]


@pytest.fixture
def objects(project, faces):
    UserFactory(username="newcomer")
    reviewer = MembershipFactory(project=project, user=UserFactory(username="reviewer")).user
    return {"project": project, "face": faces[0], "reviewer": reviewer}


def call(client, endpoint: Endpoint, objects) -> Any:
    kwargs = {"pk": objects["project"].pk, **(endpoint.kwargs(objects) if endpoint.kwargs else {})}
    url = reverse(f"projects:{endpoint.name}", kwargs=kwargs)
    body = endpoint.body(objects) if endpoint.body else None
    if endpoint.method == "json":
        return client.post(url, body, content_type="application/json")
    if endpoint.method == "post":
        return client.post(url, body)
    return client.get(url)


def expected(persona: str, endpoint: Endpoint) -> int:
    if persona == "outsider" or (persona == "member" and endpoint.manage):
        return 403
    if persona == "moderator" and endpoint.owner_only:
        return 403
    return endpoint.ok


@pytest.mark.parametrize("endpoint", PROJECT_ENDPOINTS, ids=lambda e: e.name)
@pytest.mark.parametrize("persona", PERSONAS)
def test_each_persona_on_each_project_endpoint(request, client_of, objects, persona, endpoint):
    response = call(client_of(request.getfixturevalue(persona)), endpoint, objects)
    assert response.status_code == expected(persona, endpoint), response.content[:300]


@pytest.mark.parametrize("endpoint", PROJECT_ENDPOINTS, ids=lambda e: e.name)
def test_anonymous_visitors_are_sent_to_log_in(client, objects, endpoint):
    response = call(client, endpoint, objects)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("endpoint", PROJECT_ENDPOINTS, ids=lambda e: e.name)
def test_a_project_that_does_not_exist_is_404(client_of, outsider, objects, endpoint):
    missing = {**objects, "project": type("Gone", (), {"pk": 999999})()}
    assert call(client_of(outsider), endpoint, missing).status_code == 404


@pytest.mark.parametrize("endpoint", PROJECT_ENDPOINTS, ids=lambda e: e.name)
def test_outsiders_change_nothing(client_of, outsider, objects, endpoint):
    from faces.models import Answer, Face, Label

    before = (Answer.objects.count(), Label.objects.count(), Face.objects.count())
    call(client_of(outsider), endpoint, objects)
    assert (Answer.objects.count(), Label.objects.count(), Face.objects.count()) == before


@pytest.mark.parametrize("name", SITE_ENDPOINTS)
@pytest.mark.parametrize("persona", PERSONAS)
def test_site_pages_are_open_to_every_logged_in_user(
    request, client_of, fake_commons, persona, name
):
    client = client_of(request.getfixturevalue(persona))
    query = {
        "people": {"q": "Barack"},
        "person": {"qid": "Q76"},
        "estimate": {"category": "Barack Obama"},
        "search-estimate": {"q": "haswbstatement:P180=Q76"},
        "depicted-people": {"category": "Barack Obama"},
    }.get(name, {})
    assert client.get(reverse(f"projects:{name}"), query).status_code == 200


@pytest.mark.parametrize("name", SITE_JSON_ENDPOINTS)
@pytest.mark.parametrize("persona", PERSONAS)
def test_site_checks_are_open_to_every_logged_in_user(request, client_of, persona, name):
    client = client_of(request.getfixturevalue(persona))
    url = reverse(f"projects:{name}")
    response = client.post(url, SITE_JSON_ENDPOINTS[name], content_type="application/json")
    assert response.status_code == 200


@pytest.mark.parametrize("name", [*SITE_ENDPOINTS, *SITE_JSON_ENDPOINTS])
def test_site_pages_ask_anonymous_visitors_to_log_in(client, name):
    response = client.get(reverse(f"projects:{name}"))
    assert response.status_code == 302


def test_the_table_covers_every_endpoint():
    """A new route must be added to this table, so that its access rules are tested too."""
    names = {
        pattern.name
        for pattern in get_resolver().namespace_dict["projects"][1].url_patterns
        if getattr(pattern, "name", None)
    } | {
        pattern.name
        for include in get_resolver().namespace_dict["projects"][1].url_patterns
        for pattern in getattr(include, "url_patterns", [])
    }
    covered = {endpoint.name for endpoint in [*PROJECT_ENDPOINTS, *GROUP_ENDPOINTS]}
    covered |= set(SITE_ENDPOINTS)
    covered |= set(SITE_JSON_ENDPOINTS)
    assert names == covered


@pytest.mark.parametrize(
    "endpoint", [e for e in PROJECT_ENDPOINTS if e.method != "get"], ids=lambda e: e.name
)
def test_every_state_change_needs_the_csrf_token(owner, objects, endpoint):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    response = call(client, endpoint, objects)
    assert response.status_code == 403
    assert b"expired" in response.content


@pytest.mark.parametrize(
    "endpoint", [e for e in PROJECT_ENDPOINTS if e.method != "get"], ids=lambda e: e.name
)
def test_state_changes_refuse_get(client_of, owner, objects, endpoint):
    response = call(client_of(owner), Endpoint(endpoint.name, kwargs=endpoint.kwargs), objects)
    assert response.status_code == 405


# A group of people's pages: who may open every one of its projects may open them.
GROUP_ENDPOINTS = [
    Endpoint("group"),
    Endpoint("who"),
    Endpoint("who-next"),
    Endpoint(
        "who-answer",
        "json",
        lambda o: {"face": o["face"].pk, "answer": "none", "request_id": str(uuid.uuid4())},
    ),
    Endpoint("who-undo", "json", lambda o: {}),
    # Sending every person's approved edits as one batch (none ticked: back to the page).
    Endpoint("group-send"),
    Endpoint("group-send", "post", lambda o: {"edit": []}, ok=302),
    # A person a shared project proposes joins the group: its owner's decision alone (here
    # nobody is proposed, so the owner is told so: 409).
    Endpoint(
        "who-shared",
        "json",
        lambda o: {"face": o["face"].pk, "qid": "Q42", "request_id": str(uuid.uuid4())},
        ok=409,
        manage=True,
        owner_only=True,
    ),
]


@pytest.fixture
def group(project, member, faces):
    """The project and a second person's over the same photos, the member in both."""
    from faces.models import ProjectImage
    from projects.models import GroupPerson, ProjectGroup
    from tests.factories import ProjectFactory

    second = ProjectFactory(owner=project.owner, qid="Q13133", category=project.category)
    for face in faces:
        ProjectImage.objects.get_or_create(project=second, image=face.image)
    MembershipFactory(project=second, user=member)
    group = ProjectGroup.objects.create(owner=project.owner, name="Two people")
    for position, person in enumerate((project, second)):
        GroupPerson.objects.create(group=group, project=person, position=position)
    return {"project": group, "face": faces[0]}


@pytest.mark.parametrize("endpoint", GROUP_ENDPOINTS, ids=lambda e: e.name)
@pytest.mark.parametrize("persona", PERSONAS)
def test_each_persona_on_each_group_endpoint(request, client_of, group, persona, endpoint):
    response = call(client_of(request.getfixturevalue(persona)), endpoint, group)
    assert response.status_code == expected(persona, endpoint), response.content[:300]


@pytest.mark.parametrize("endpoint", GROUP_ENDPOINTS, ids=lambda e: e.name)
def test_outsiders_change_nothing_in_a_group(client_of, outsider, group, endpoint):
    from faces.models import Answer, Label

    before = (Answer.objects.count(), Label.objects.count())
    call(client_of(outsider), endpoint, group)
    assert (Answer.objects.count(), Label.objects.count()) == before


@pytest.mark.parametrize("endpoint", GROUP_ENDPOINTS, ids=lambda e: e.name)
def test_a_group_that_does_not_exist_is_404(client_of, outsider, group, endpoint):
    missing = {**group, "project": type("Gone", (), {"pk": 999999})()}
    assert call(client_of(outsider), endpoint, missing).status_code == 404
