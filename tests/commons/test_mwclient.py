"""A third-party MediaWiki client against the stand-in: mwclient, unchanged, over loopback.

WikiVisage's own client could share a misreading of the API with the stand-in and never
notice. mwclient is written against real MediaWiki; what it sends and how it reads the
answers checks that the stand-in speaks MediaWiki, not only our client's dialect: start-up
(``meta=siteinfo|userinfo``), a category with continuation, imageinfo, search, a csrf token
and an OAuth-signed ``wbsetclaim`` read back through ``wbgetentities``. Every answer is also
held to carry no warning (mwclient logs each one), so nothing it asks goes unanswered.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator

import mwclient
import pytest

from fakecommons import FakeCommons

UA = "WikiVisageTests/0.1 (https://wikivisage.toolforge.org; team@example.org)"


def site_for(server: FakeCommons, path: str = "/commons/w/", *, signed: bool = True):
    """An mwclient Site on the stand-in, OAuth 1.0a-signed as the world's user if ``signed``."""
    credentials = {}
    if signed:
        token = server.issue_access_token()
        credentials = {
            "consumer_token": server.oauth.consumer_key,
            "consumer_secret": server.oauth.consumer_secret,
            "access_token": token.key,
            "access_secret": token.secret,
        }
    site = mwclient.Site(
        f"{server.host}:{server.port}",
        path=path,
        scheme="http",
        clients_useragent=UA,
        max_retries=0,
        do_init=False,
        **credentials,
    )
    # mwclient sends maxlag only to index.php; Wikimedia asks it of every api.php call
    # (the stand-in's etiquette check), so the session adds it to each request.
    site.connection.params = {"maxlag": "5"}
    site.site_init()
    return site


@pytest.fixture
def no_api_warnings(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Fail the test if any answer carried a warning (mwclient logs them)."""
    with caplog.at_level(logging.WARNING, logger="mwclient"):
        yield
    # At teardown caplog.records holds the teardown's own records: the test's are "call".
    records = caplog.get_records("call")
    assert [r.getMessage() for r in records if r.name.startswith("mwclient")] == []


def test_mwclient_starts_up_on_commons_as_the_oauth_user(fake_commons, no_api_warnings):
    site = site_for(fake_commons)
    assert site.site["sitename"] == "Wikimedia Commons"
    assert site.site["wikiid"] == "commonswiki"
    assert site.version[:2] >= (1, 40)
    assert (site.namespaces[6], site.namespaces[14], site.namespaces[4]) == (
        "File",
        "Category",
        "Commons",
    )
    assert site.username == fake_commons.oauth.username
    assert site.logged_in and not site.blocked
    assert "edit" in site.rights and "autoconfirmed" in site.groups
    assert {r.user for r in fake_commons.api_requests()} == {fake_commons.oauth.username}


def test_mwclient_lists_a_category_through_continuation(fake_commons, no_api_warnings):
    world = fake_commons.world
    name = next(n for n, c in world.categories.items() if len(c.files) + len(c.subcats) >= 3)
    site = site_for(fake_commons)
    site.api_limit = 2  # two members an answer: the listing has to continue

    members = [page.name for page in site.categories[name].members()]

    assert members == [member.title for member in world.members(name)]
    listing = fake_commons.api_requests(action="query")
    continued = [r for r in listing if r.params.get("gcmcontinue")]
    assert len(continued) == (len(members) - 1) // 2
    assert all(r.params["continue"] == "gcmcontinue||" for r in continued)


def test_mwclient_reads_imageinfo_of_a_file(fake_commons, no_api_warnings):
    page = next(iter(fake_commons.world.files.values()))
    site = site_for(fake_commons)

    image = site.images[page.name]

    assert image.exists and image.pageid == page.pageid
    assert image.imageinfo["url"] == fake_commons.urls.original(page)
    assert image.imageinfo["sha1"] == page.facts().sha1
    assert image.imageinfo["user"] == page.user
    assert image.imageinfo["timestamp"] == page.timestamp
    assert image.imageinfo["mime"] == page.facts().mime
    assert image.protection == {}


def test_mwclient_searches_files_by_depicts_statement(fake_commons, no_api_warnings):
    world = fake_commons.world
    depicted = {page.title: fake_commons.depicts(page.mid) for page in world.files.values()}
    qid = next(q for qids in depicted.values() for q in qids)
    site = site_for(fake_commons)

    hits = [hit["title"] for hit in site.search(f"haswbstatement:P180={qid}", namespace=6)]

    assert sorted(hits) == sorted(title for title, qids in depicted.items() if qid in qids)


def test_mwclient_writes_a_statement_with_a_csrf_token(fake_commons, no_api_warnings):
    page = next(iter(fake_commons.world.files.values()))
    site = site_for(fake_commons)
    token = site.get_token("csrf")
    guid = f"{page.mid}${uuid.uuid4()}"
    claim = {
        "id": guid,
        "type": "statement",
        "rank": "normal",
        "mainsnak": {
            "snaktype": "value",
            "property": "P180",
            "datavalue": {
                "type": "wikibase-entityid",
                "value": {"entity-type": "item", "numeric-id": 42, "id": "Q42"},
            },
        },
    }

    answer = site.post("wbsetclaim", claim=json.dumps(claim), token=token, summary="mwclient")

    assert answer["success"] == 1 and answer["claim"]["id"] == guid
    entity = site.get("wbgetentities", ids=page.mid)["entities"][page.mid]
    assert guid in [s["id"] for s in entity["statements"]["P180"]]
    assert entity["lastrevid"] == answer["pageinfo"]["lastrevid"]
    (write,) = fake_commons.writes_to(page.mid)
    assert write.user == fake_commons.oauth.username


def test_a_write_without_the_token_is_refused_to_mwclient(fake_commons, no_api_warnings):
    page = next(iter(fake_commons.world.files.values()))
    site = site_for(fake_commons)
    claim = {"id": f"{page.mid}${uuid.uuid4()}", "mainsnak": {"snaktype": "novalue"}}

    with pytest.raises(mwclient.errors.APIError) as refused:
        site.post("wbsetclaim", claim=json.dumps(claim), token="+\\")

    assert refused.value.code == "badtoken"
    assert fake_commons.writes == []


def test_mwclient_starts_up_on_wikidata_anonymously(fake_commons, no_api_warnings):
    site = site_for(fake_commons, "/wikidata/w/", signed=False)

    assert site.site["sitename"] == "Wikidata"
    assert site.site["wikiid"] == "wikidatawiki"
    assert (site.namespaces[0], site.namespaces[120]) == ("", "Property")
    assert not site.logged_in and site.username == "127.0.0.1"
    qid = next(
        q for q, item in fake_commons.world.items.items() if item.labels and not item.redirect
    )
    entity = site.get("wbgetentities", ids=qid, props="labels")["entities"][qid]
    assert entity["labels"]
