"""Category crawl, image metadata and thumbnails: parsers on real answers, then real HTTP."""

from __future__ import annotations

import hashlib
import io
import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import PIL.Image
import pytest
from django.conf import settings

from commons.categories import crawl, file_categories, parse_members, start_crawl
from commons.client import ResponseTooLarge, commons_client
from commons.files import (
    STANDARD_WIDTHS,
    download_thumbnail,
    fetch_file_infos,
    file_kind,
    merge_pages,
    parse_file_pages,
)
from commons.types import CrawlCursor
from core.errors import TransientError
from core.retry import RetryPolicy

REAL_API = Path(settings.FACES_DATA_DIR).parent / "real-api"


def real_response(name: str) -> dict:
    """The recorded response body of one sample in shared/data/real-api."""
    return json.loads((REAL_API / name).read_text())["response"]


# --- parsers on real answers ---------------------------------------------------------------


def test_members_of_a_real_commons_listing():
    members = parse_members(real_response("01-categorymembers-continue.json"))
    assert len(members) == 10
    assert members[0].pageid == 76845837
    assert members[0].title == "File:! Keep Clear (28157633618).jpg"
    assert all(member.is_file and not member.is_category for member in members)


def test_members_of_a_real_formatversion_2_listing():
    (member,) = parse_members(real_response("01-categorymembers-continue-fv2.json"))
    assert (member.pageid, member.ns, member.title) == (22167530, 0, "Allison Abbate")
    assert not member.is_file


@pytest.mark.parametrize(
    ("title", "kind"),
    [
        ("File:A.jpg", "bitmap"),
        ("File:b.JPEG", "bitmap"),
        ("File:c.png", "bitmap"),
        ("File:d.webp", "bitmap"),
        ("File:e.gif", "bitmap"),
        ("File:f.tif", "bitmap"),
        ("File:Commons-logo.svg", "svg"),
        ("File:Report.pdf", "pdf"),
        ("File:Book.djvu", "djvu"),
        ("File:Anthem.ogg", "audio"),
        ("File:Speech.mp3", "audio"),
        ("File:Clip.webm", "video"),
        ("File:Clip.ogv", "video"),
        ("File:Model.stl", "other"),
        ("File:No extension", "other"),
    ],
)
def test_file_kind_by_extension(title, kind):
    assert file_kind(title) == kind


def test_cursor_survives_a_json_round_trip():
    cursor = CrawlCursor(
        root="Category:A",
        max_depth=2,
        queue=(("Category:B", 1), ("Category:C", 2)),
        visited=frozenset({"Category:A", "Category:B", "Category:C"}),
        continuation={"cmcontinue": "file|21435745422e4a5047|4615116", "continue": "-||"},
        skipped={"svg": 3},
    )
    assert CrawlCursor.from_dict(json.loads(json.dumps(cursor.to_dict()))) == cursor


def test_a_cursor_that_is_not_one_is_refused():
    with pytest.raises(ValueError, match="not a crawl cursor"):
        CrawlCursor.from_dict({"root": "Category:A"})


def test_start_crawl_normalises_the_category_name():
    cursor = start_crawl("category:barack_Obama ", max_depth=1)
    assert cursor.queue == (("Category:Barack Obama", 0),)
    assert cursor.visited == {"Category:Barack Obama"}
    assert not cursor.done


def test_imageinfo_of_a_real_commons_generator_answer():
    batch = parse_file_pages(
        merge_pages([real_response("02-generator-images-imageinfo-commons.json")])
    )
    by_id = {info.pageid: info for info in batch.files}
    info = by_id[59023601]
    assert info.title == "File:'Tirumnieki' pie Inesa ezera.jpg"
    assert (info.width, info.height, info.size) == (4928, 3264, 8796787)
    assert info.url.endswith("/9/9e/%27Tirumnieki%27_pie_Inesa_ezera.jpg")
    assert info.timestamp == datetime(2017, 5, 18, 6, 51, 35, tzinfo=UTC)
    assert info.user == "AivarsOsins"
    # The red link ("-1", no page id) is neither a file nor a missing page id.
    assert all(info.title != 'File:10" green.svg' for info in batch.files)
    assert batch.missing_pageids == ()


def test_imageinfo_thumbnail_fields_of_a_real_answer():
    (info,) = parse_file_pages(
        merge_pages([real_response("02-imageinfo-thumb-commons.json")])
    ).files
    assert info.thumb_url.endswith("/200px-Shells_of_marine_Mollusc1.jpg")
    assert (info.thumb_width, info.thumb_height) == (200, 152)


def test_imageinfo_of_real_missing_pages_is_not_a_file():
    batch = parse_file_pages(merge_pages([real_response("02-query-titles-missing-pages-fv1.json")]))
    assert batch.files == ()


def test_imageinfo_continuation_gathers_each_page_once():
    first = real_response("02-imageinfo-continue-iistart-commons.json")
    second = real_response("02-imageinfo-two-files-batchcomplete-commons.json")
    pages = merge_pages([first, second])
    assert sorted(page["pageid"] for page in pages) == [317966, 74943657]


def test_only_standard_thumbnail_widths_are_asked_for():
    with pytest.raises(ValueError, match="standard"):
        fetch_file_infos(None, pageids=[1], width=800)  # type: ignore[arg-type]
    assert 960 in STANDARD_WIDTHS


def test_a_fresh_crawl_of_nothing_is_done_without_a_request():
    cursor = CrawlCursor(root="Category:A", max_depth=0, queue=(), visited=frozenset())
    assert list(crawl(None, cursor=cursor)) == []  # type: ignore[arg-type]


# --- the crawl over real HTTP, against the stand-in ----------------------------------------

FORMAT_BY_EXTENSION = {
    "jpg": "JPEG",
    "png": "PNG",
    "webp": "WEBP",
    "gif": "GIF",
    "tif": "TIFF",
    "svg": "SVG",
    "pdf": "PDF",
    "djvu": "DJVU",
    "ogg": "OGG",
    "webm": "WEBM",
}
BIG_MEMBERS = 650
TREE = {
    "Root": (
        [
            *("Root 1.jpg", "Root 2.png"),
            *("Diagram.svg", "Report.pdf", "Scan.djvu", "Anthem.ogg", "Clip.webm"),
        ],
        ["Child A", "Child B"],
    ),
    "Child A": (["A 1.jpg", "A 2.webp"], ["Grandchild"]),
    # Back to the root (a loop) and across to Child A (reached twice).
    "Child B": (["B 1.gif"], ["Root", "Child A"]),
    "Grandchild": (["G 1.tif"], ["Great-grandchild"]),
    "Great-grandchild": (["GG 1.jpg"], []),
    "Big": ([f"Member {n:04}.jpg" for n in range(BIG_MEMBERS)], []),
    "Everything": ([], ["Root", "Big"]),
}
SKIPPED_UNDER_ROOT = {"svg": 1, "pdf": 1, "djvu": 1, "audio": 1, "video": 1}


def tree_world(tree) -> dict:
    files = {}
    for names, _ in tree.values():
        for seed, name in enumerate(names, start=len(files)):
            kind = FORMAT_BY_EXTENSION[name.rpartition(".")[2]]
            files[name] = {"generate": {"format": kind, "seed": seed}}
    categories = {
        name: {"files": names, "subcats": subcats} for name, (names, subcats) in tree.items()
    }
    return {"items": {}, "categories": categories, "files": files}


def bitmaps_of(*categories: str) -> list[str]:
    return sorted(
        f"File:{name}" for c in categories for name in TREE[c][0] if file_kind(name) == "bitmap"
    )


@pytest.fixture
def fake(make_fake_commons):
    return make_fake_commons(tree_world(TREE))


@pytest.fixture
def client(fake):
    with commons_client(retry=RetryPolicy(max_attempts=2, base_delay=0.01)) as client:
        yield client


def crawled_titles(batches) -> list[str]:
    return [member.title for batch in batches for member in batch.files]


def listed_categories(fake) -> Counter:
    return Counter(
        r.params["cmtitle"]
        for r in fake.api_requests()
        if r.params.get("list") == "categorymembers"
    )


def test_crawl_finds_the_bitmaps_of_every_subcategory_and_counts_the_rest(client):
    batches = list(crawl(client, cursor=start_crawl("Root", max_depth=5)))
    titles = crawled_titles(batches)
    expected = bitmaps_of("Root", "Child A", "Child B", "Grandchild", "Great-grandchild")
    assert sorted(titles) == expected
    assert batches[-1].cursor.skipped == SKIPPED_UNDER_ROOT
    assert sum((Counter(batch.skipped) for batch in batches), Counter()) == SKIPPED_UNDER_ROOT
    assert batches[-1].cursor.done


def test_a_category_loop_is_listed_once(fake, client):
    titles = crawled_titles(crawl(client, cursor=start_crawl("Root", max_depth=5)))
    assert len(titles) == len(set(titles))
    listed = listed_categories(fake)
    assert set(listed) == {
        f"Category:{c}" for c in ("Root", "Child A", "Child B", "Grandchild", "Great-grandchild")
    }
    assert set(listed.values()) == {1}


def test_the_depth_limit_stops_the_descent(fake, client):
    titles = crawled_titles(crawl(client, cursor=start_crawl("Root", max_depth=1)))
    assert sorted(titles) == bitmaps_of("Root", "Child A", "Child B")
    assert set(listed_categories(fake)) == {"Category:Root", "Category:Child A", "Category:Child B"}


def test_depth_zero_lists_the_category_alone(fake, client):
    titles = crawled_titles(crawl(client, cursor=start_crawl("Root", max_depth=0)))
    assert sorted(titles) == bitmaps_of("Root")
    assert set(listed_categories(fake)) == {"Category:Root"}


def test_a_category_of_650_members_is_read_to_the_end_through_continuation(fake, client):
    batches = list(crawl(client, cursor=start_crawl("Big", max_depth=0)))
    titles = crawled_titles(batches)
    assert len(titles) == len(set(titles)) == BIG_MEMBERS
    assert [len(batch.files) for batch in batches] == [500, 150]
    first, second = fake.api_requests()
    assert "cmcontinue" not in first.params
    assert second.params["cmcontinue"] == batches[0].cursor.continuation["cmcontinue"]
    assert second.params["continue"] == batches[0].cursor.continuation["continue"]


def crawl_until(client, stored: str, stop_after: int | None) -> tuple[list[str], str]:
    """Crawl from a stored cursor, storing it after each batch; stop after some batches."""
    seen: list[str] = []
    cursor = CrawlCursor.from_dict(json.loads(stored))
    for number, batch in enumerate(crawl(client, cursor=cursor), start=1):
        seen += [member.title for member in batch.files]
        stored = json.dumps(batch.cursor.to_dict())
        if number == stop_after:
            break
    return seen, stored


def test_a_crawl_stopped_after_any_batch_resumes_with_every_file_exactly_once(client):
    everything = json.dumps(start_crawl("Everything", max_depth=3).to_dict())
    full, _ = crawl_until(client, everything, stop_after=None)
    assert len(full) == BIG_MEMBERS + len(bitmaps_of("Root", "Child A", "Child B", "Grandchild"))
    batch_count = len(list(crawl(client, cursor=start_crawl("Everything", max_depth=3))))
    assert batch_count >= 4
    for stop_after in range(1, batch_count):
        before, stored = crawl_until(client, everything, stop_after=stop_after)
        after, _ = crawl_until(client, stored, stop_after=None)
        assert sorted(before + after) == sorted(full), f"stopped after batch {stop_after}"


def test_a_crawl_that_fails_half_way_resumes_from_the_last_stored_cursor(fake, client):
    batches = crawl(client, cursor=start_crawl("Big", max_depth=0))
    first = next(batches)
    seen = [member.title for member in first.files]
    stored = json.dumps(first.cursor.to_dict())
    fake.inject("http503", times=None)
    with pytest.raises(TransientError):
        next(batches)
    fake.clear_faults()
    rest, _ = crawl_until(client, stored, stop_after=None)
    assert len(seen + rest) == len(set(seen + rest)) == BIG_MEMBERS


# --- image metadata and thumbnails over real HTTP -------------------------------------------


def pageid_of(fake, name: str) -> int:
    return int(fake.mid(name)[1:])


def test_metadata_comes_in_batches_of_50_with_every_field(fake, client):
    names = TREE["Big"][0][:120]
    pageids = [pageid_of(fake, name) for name in names]
    absent = 1
    batch = fetch_file_infos(client, pageids=[*pageids, absent], width=500)
    assert sorted(info.pageid for info in batch.files) == sorted(pageids)
    assert batch.missing_pageids == (absent,)
    sizes = [len(r.params["pageids"].split("|")) for r in fake.api_requests()]
    assert sizes == [50, 50, 21]
    for request in fake.api_requests():
        assert request.params["iiurlwidth"] == "500"
        assert set(request.params["iiprop"].split("|")) == {
            "url",
            "size",
            "mime",
            "sha1",
            "timestamp",
            "user",
        }
    info = batch.files[0]
    assert info.mime == "image/jpeg"
    assert info.is_bitmap
    assert info.timestamp is not None
    original = client.download(info.url, max_bytes=10_000_000)
    assert hashlib.sha1(original).hexdigest() == info.sha1
    assert len(original) == info.size


def test_metadata_tells_a_bitmap_by_its_mime_type(fake, client):
    names = ["Root 1.jpg", "Root 2.png", "A 2.webp", "B 1.gif", "G 1.tif", "Diagram.svg"]
    infos = fetch_file_infos(client, pageids=[pageid_of(fake, n) for n in names], width=250)
    kinds = {info.title: info.is_bitmap for info in infos.files}
    assert kinds == {f"File:{n}": not n.endswith(".svg") for n in names}


LARGE_WORLD = {
    "categories": {"Large": {"files": ["Large.jpg"], "subcats": []}},
    "files": {"Large.jpg": {"generate": {"format": "JPEG", "width": 2000, "height": 1500}}},
}


def test_a_thumbnail_is_downloaded_at_the_standard_width(make_fake_commons):
    fake = make_fake_commons(LARGE_WORLD)
    fake.inject("http503", target="upload")
    with commons_client(retry=RetryPolicy(base_delay=0.01)) as client:
        (info,) = fetch_file_infos(client, pageids=[pageid_of(fake, "Large.jpg")], width=960).files
        data = download_thumbnail(client, info=info)
    assert (info.width, info.height, info.thumb_width, info.thumb_height) == (2000, 1500, 960, 720)
    assert PIL.Image.open(io.BytesIO(data)).size == (960, 720)
    uploads = [r for r in fake.requests if r.site == "upload"]
    assert [r.status for r in uploads] == [503, 200]
    assert all(r.user_agent == settings.WIKIVISAGE_USER_AGENT for r in uploads)


def test_a_download_larger_than_the_cap_is_refused(make_fake_commons):
    fake = make_fake_commons(LARGE_WORLD)
    with commons_client() as client:
        (info,) = fetch_file_infos(client, pageids=[pageid_of(fake, "Large.jpg")], width=960).files
        with pytest.raises(ResponseTooLarge):
            download_thumbnail(client, info=info, max_bytes=1000)


def test_category_info_counts_direct_members_and_tells_a_missing_category(client):
    from commons.categories import category_info

    info = category_info(client, category="Root")
    files, subcats = TREE["Root"]
    assert (info.exists, info.files, info.subcats) == (True, len(files), len(subcats))
    absent = category_info(client, category="No such category anywhere")
    assert not absent.exists and absent.files is None


# --- the categories a file is in ----------------------------------------------------------


def test_the_categories_of_files_are_read_fifty_pages_a_request(fake, client):
    names = ["Root 1.jpg", "A 1.jpg", *(f"Member {n:04}.jpg" for n in range(60))]
    pageids = [fake.world.file(name).pageid for name in names]
    categories = file_categories(client, pageids=[*pageids, 999_999_999])
    assert categories[pageids[0]] == {"Root"}
    assert categories[pageids[1]] == {"Child A"}
    assert all(categories[pageid] == {"Big"} for pageid in pageids[2:])
    assert 999_999_999 not in categories  # missing: in no category
    asked = [r for r in fake.api_requests(action="query") if r.params.get("prop") == "categories"]
    assert len(asked) == 2
