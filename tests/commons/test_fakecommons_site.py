"""The stand-in's answers to what a general-purpose MediaWiki client asks first: siteinfo,
userinfo, page info, and the parameters such a client adds (``cmdir``, repeated modules).

No real answer of these is saved under ../shared/data/real-api: the shapes follow
ApiQuerySiteinfo, ApiQueryUserInfo and ApiQueryInfo and their formatversion 1 (BC) output.
"""

from __future__ import annotations

from tests.commons.test_fakecommons import a_plain_file, api, fx, signed_session


def test_siteinfo_names_commons_and_its_namespaces_in_formatversion_1(fake_commons):
    answer = api(fake_commons, action="query", meta="siteinfo", siprop="general|namespaces")

    general = answer["query"]["general"]
    assert general["sitename"] == "Wikimedia Commons" and general["wikiid"] == "commonswiki"
    assert general["generator"].startswith("MediaWiki 1.")
    assert general["server"] == f"//{fake_commons.host}:{fake_commons.port}"
    assert general["base"] == f"{fake_commons.base_url}/commons/wiki/Main_Page"
    assert (general["articlepath"], general["scriptpath"]) == ("/commons/wiki/$1", "/commons/w")
    assert general["case"] == "first-letter" and general["lang"] == "en"
    # formatversion 1: true is "", false is left out, variantarticlepath stays false.
    assert general["writeapi"] == "" and "readonly" not in general
    assert general["variantarticlepath"] is False
    assert general["thumblimits"]["0"] == 120
    namespaces = answer["query"]["namespaces"]
    assert namespaces["6"] == {
        "id": 6,
        "case": "first-letter",
        "*": "File",
        "canonical": "File",
        "content": "",
    }
    assert namespaces["14"]["canonical"] == "Category"
    assert (namespaces["4"]["*"], namespaces["4"]["canonical"]) == ("Commons", "Project")
    assert namespaces["0"] == {"id": 0, "case": "first-letter", "*": "", "content": ""}
    assert answer["batchcomplete"] == "" and "warnings" not in answer


def test_siteinfo_in_formatversion_2_and_of_wikidata(fake_commons):
    answer = api(
        fake_commons,
        "wikidata",
        action="query",
        meta="siteinfo",
        siprop="general|namespaces|namespacealiases",
        formatversion=2,
    )

    general = answer["query"]["general"]
    assert (general["sitename"], general["mainpage"]) == ("Wikidata", "Wikidata:Main Page")
    assert general["readonly"] is False and general["thumblimits"][0] == 120
    assert general["articlepath"] == "/wikidata/wiki/$1"
    prop = answer["query"]["namespaces"]["120"]
    assert prop["name"] == "Property" and prop["content"] is True
    assert prop["defaultcontentmodel"] == "wikibase-property"
    assert answer["query"]["namespaces"]["0"]["defaultcontentmodel"] == "wikibase-item"
    assert {"id": 120, "alias": "P"} in answer["query"]["namespacealiases"]


def test_siteinfo_defaults_to_general_and_warns_of_what_it_does_not_serve(fake_commons):
    plain = api(fake_commons, action="query", meta="siteinfo")
    assert list(plain["query"]) == ["general"]

    answer = api(fake_commons, action="query", meta="siteinfo", siprop="general|statistics")

    assert "general" in answer["query"] and "statistics" not in answer["query"]
    assert answer["warnings"]["siteinfo"] == {
        "*": 'Unrecognized value for parameter "siprop": statistics'
    }


def test_userinfo_tells_rights_messages_and_blocks_as_mediawiki(fake_commons):
    s = signed_session(fake_commons)
    fv1 = api(fake_commons, s=s, action="query", meta="userinfo", uiprop="rights|hasmsg")
    fv2 = api(fake_commons, s=s, action="query", meta="userinfo", uiprop="hasmsg", formatversion=2)
    blocked = api(
        fake_commons,
        s=signed_session(fake_commons, "WikiVisage Blocked"),
        action="query",
        # Named twice, as mwclient does: the module runs once.
        meta="userinfo|userinfo",
        uiprop="blockinfo|groups|options",
    )

    assert {"edit", "autoconfirmed", "writeapi"} <= set(fv1["query"]["userinfo"]["rights"])
    assert "messages" not in fv1["query"]["userinfo"]  # false, left out in formatversion 1
    assert fv2["query"]["userinfo"]["messages"] is False
    info = blocked["query"]["userinfo"]
    assert info["name"] == "WikiVisage Blocked" and info["blockedby"] and info["blockreason"]
    assert info["blockexpiry"] == "infinite" and "blockpartial" not in info
    assert blocked["warnings"]["userinfo"] == {
        "*": 'Unrecognized value for parameter "uiprop": options'
    }


def test_prop_info_of_a_file_a_category_and_a_missing_page(fake_commons):
    name = a_plain_file(fake_commons)
    category = fx(fake_commons)["root_category"]
    mid = fake_commons.mid(name)

    answer = api(
        fake_commons,
        action="query",
        prop="info",
        inprop="protection|url",
        titles=f"File:{name}|Category:{category}|File:No such file.jpg",
        formatversion=2,
    )

    pages = {page["title"]: page for page in answer["query"]["pages"]}
    page = pages[f"File:{name}"]
    entity = api(fake_commons, action="wbgetentities", ids=mid)["entities"][mid]
    assert page["lastrevid"] == entity["lastrevid"]  # the MediaInfo slot's revision
    assert page["contentmodel"] == "wikitext" and page["pagelanguage"] == "en"
    assert page["protection"] == [] and page["restrictiontypes"] == ["edit", "move", "upload"]
    assert page["fullurl"] == fake_commons.urls.description(f"File:{name}")
    assert pages[f"Category:{category}"]["restrictiontypes"] == ["edit", "move"]
    missing = pages["File:No such file.jpg"]
    assert missing["missing"] is True and missing["restrictiontypes"] == ["create"]
    assert "lastrevid" not in missing and "warnings" not in answer


def test_categorymembers_walks_backwards_with_cmdir_desc(fake_commons):
    category = next(c for c in fake_commons.world.categories.values() if len(c.files) >= 3)
    params = {
        "action": "query",
        "list": "categorymembers",
        "cmtitle": category.title,
        "cmlimit": 2,
        "formatversion": 2,
    }

    def walk(**extra) -> list[int]:
        seen, cont = [], {}
        while True:
            answer = api(fake_commons, **params, **extra, **cont)
            assert "warnings" not in answer
            seen += [m["pageid"] for m in answer["query"]["categorymembers"]]
            if "continue" not in answer:
                return seen
            cont = answer["continue"]

    forwards = walk(cmdir="asc")
    assert len(forwards) >= 3  # continued at least once
    assert walk(cmdir="desc") == forwards[::-1] == walk(cmdir="older")
    refused = api(fake_commons, **params, cmdir="sideways")
    assert refused["error"]["code"] == "badvalue"


def test_imageinfo_serves_comment_and_metadata_and_warns_of_the_rest(fake_commons):
    answer = api(
        fake_commons,
        action="query",
        prop="imageinfo",
        titles=f"File:{a_plain_file(fake_commons)}",
        iiprop="comment|metadata|archivename|mime|extmetadata",
        formatversion=2,
    )

    (info,) = answer["query"]["pages"][0]["imageinfo"]
    assert info["comment"] and "archivename" not in info
    assert info["metadata"] == [{"name": "MEDIAWIKI_EXIF_VERSION", "value": 2}]
    assert answer["warnings"]["imageinfo"] == {
        "warnings": 'Unrecognized value for parameter "iiprop": extmetadata'
    }
