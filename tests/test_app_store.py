"""The App Store source on the synthesized feed answers in tests/fixtures/app_store/, served over
real HTTP on loopback (tests/app_store_feed.py); the `auto` source and the CLI options."""

import json

import httpx
import pytest
from click.testing import CliRunner

from queue_client.errors import NonRetryableError
from scraper_worker.app_store import AppStoreSource, app_store_id, review_from_entry
from scraper_worker.sources import AutoSource, GooglePlaySource, load_fixture, make_source
from tests.app_store_feed import FEEDS, serving_app_store
from tests.helpers import collect
from tests.serving import run_python


@pytest.fixture
def feed():
    with serving_app_store() as server:
        yield server


async def test_every_page_is_read_newest_first(feed):
    pages = await collect(AppStoreSource(feed.base_url), "1000000001")
    assert [len(page) for page in pages] == [50, 49, 20]  # the app entry and rating 0 skipped
    reviews = [review for page in pages for review in page]
    assert len({review["review_id"] for review in reviews}) == 119
    times = [review["at"] for review in reviews]
    assert times == sorted(times, reverse=True)
    assert feed.requests[:4] == [
        f"/us/rss/customerreviews/page={n}/id=1000000001/sortby=mostrecent/json"
        for n in (1, 2, 3, 4)
    ]


async def test_fields_are_mapped_exactly(feed):
    (first, *_), *_ = await collect(AppStoreSource(feed.base_url), "1000000001")
    assert first == {
        "review_id": "11000000000",
        "content": "Love it\nWorks perfectly on my phone, the widgets are great.",
        "score": 5,
        "at": "2026-11-18T09:30:00Z",  # written as 02:30 -07:00 in the feed
        "user_name": "reviewer",
        "thumbs_up": 0,
        "app_version": "4.2.0",
        "reply": None,
    }


async def test_a_page_of_one_review_and_the_country(feed):
    pages = await collect(AppStoreSource(feed.base_url), "1000000002", country="gb")
    assert [[review["content"] for review in page] for page in pages] == [
        ["Brilliant\nDoes what it says."]
    ]
    assert feed.requests[0].startswith("/gb/rss/customerreviews/page=1/id=1000000002/")


async def test_max_reviews_stops_early(feed):
    pages = await collect(AppStoreSource(feed.base_url), "1000000001", max_reviews=60)
    assert [len(page) for page in pages] == [50, 10]
    assert len(feed.requests) == 2


async def test_an_unknown_id_is_not_retryable(feed):
    with pytest.raises(NonRetryableError, match="app not found: 999"):
        await collect(AppStoreSource(feed.base_url), "999")
    assert feed.requests[-1] == "/lookup?id=999&country=us"


async def test_an_app_without_reviews_yields_nothing(feed):
    assert await collect(AppStoreSource(feed.base_url), "1000000003") == []


@pytest.mark.parametrize("status", [429, 500, 503])
async def test_rate_limits_and_server_errors_are_retryable(feed, status):
    feed.fail_next(status)
    with pytest.raises(Exception) as caught:  # any error, so long as it is retryable
        await collect(AppStoreSource(feed.base_url), "1000000001")
    assert not isinstance(caught.value, NonRetryableError)
    assert str(status) in str(caught.value)


@pytest.mark.parametrize("status", [403, 408, 429, 500, 503])
async def test_a_failing_lookup_is_retryable(feed, status):
    # 999 has an empty feed, so the lookup decides; an answer it cannot read is no "not found"
    feed.fail_next(status, path="/lookup")
    with pytest.raises(Exception) as caught:  # any error, so long as it is retryable
        await collect(AppStoreSource(feed.base_url), "999")
    assert not isinstance(caught.value, NonRetryableError)
    assert str(status) in str(caught.value)
    assert feed.requests[-1] == "/lookup?id=999&country=us"
    with pytest.raises(NonRetryableError, match="app not found: 999"):  # the retry finds out
        await collect(AppStoreSource(feed.base_url), "999")


@pytest.mark.parametrize("status", [400, 404])
async def test_a_lookup_that_finds_nothing_there_is_not_found(feed, status):
    feed.fail_next(status, path="/lookup")
    with pytest.raises(NonRetryableError, match="app not found: 1000000003"):
        await collect(AppStoreSource(feed.base_url), "1000000003")  # an app without reviews


async def test_network_trouble_is_retryable():
    source = AppStoreSource("http://127.0.0.1:9", timeout=2)  # nothing listens on port 9
    with pytest.raises(httpx.TransportError):
        await collect(source, "1000000001")


@pytest.mark.parametrize("app_id", ["com.spotify.music", "12ab", "0123", ""])
async def test_only_numeric_ids(app_id):
    with pytest.raises(NonRetryableError, match="not an App Store app id"):
        await collect(AppStoreSource("http://127.0.0.1:9"), app_id)


def test_app_store_ids():
    assert app_store_id("389801252") == "389801252"
    assert app_store_id("id389801252") == "389801252"
    assert app_store_id("com.whatsapp") is None
    assert app_store_id("12345678901234567") is None  # too long to be one


def test_broken_entries_are_skipped():
    good = json.loads((FEEDS / "gb" / "1000000002" / "page-1.json").read_text())["feed"]["entry"]
    assert review_from_entry(good)["score"] == 4
    for broken in (
        {**good, "im:rating": {"label": "6"}},
        {**good, "updated": {"label": "yesterday"}},
        {**good, "updated": {"label": "9999-12-31T23:59:59-07:00"}},  # the year 10000 in UTC
        {**good, "id": {"label": ""}},
        {"im:name": {"label": "The app itself"}},
        "not an object",
    ):
        assert review_from_entry(broken) is None


async def test_a_time_past_what_utc_holds_skips_its_review_not_the_scrape(tmp_path):
    page = json.loads((FEEDS / "gb" / "1000000002" / "page-1.json").read_text())
    good = page["feed"]["entry"]
    far = {**good, "id": {"label": "far"}, "updated": {"label": "9999-12-31T23:59:59-07:00"}}
    page["feed"]["entry"] = [far, good]
    (tmp_path / "us" / "1000000002").mkdir(parents=True)
    (tmp_path / "us" / "1000000002" / "page-1.json").write_text(json.dumps(page))
    with serving_app_store(tmp_path) as server:
        pages = await collect(AppStoreSource(server.base_url), "1000000002")
    assert [[review["review_id"] for review in page] for page in pages] == [[good["id"]["label"]]]


async def test_the_demo_app_feed_is_its_fixture_reviews(feed):
    pages = await collect(AppStoreSource(feed.base_url), "6449012733")
    scraped = [review for page in pages for review in page]
    shipped = [dict(review) for review in load_fixture("6449012733")]
    assert scraped == shipped


def test_shipped_feed_files_are_what_synthesize_writes():
    result = run_python(str(FEEDS / "synthesize.py"), "--check", timeout=60)
    assert result.returncode == 0, result.stderr


def test_auto_picks_the_store_by_the_shape_of_the_id():
    source = make_source("auto", app_store_url="http://feeds.test")
    assert isinstance(source, AutoSource)
    assert isinstance(source.pick("389801252"), AppStoreSource)
    assert source.pick("389801252").base_url == "http://feeds.test"
    assert isinstance(source.pick("com.whatsapp"), GooglePlaySource)


@pytest.mark.parametrize(
    ("args", "source_type"),
    [
        ([], AutoSource),
        (["--source", "app-store", "--app-store-url", "http://feeds.test/"], AppStoreSource),
    ],
)
def test_cli_sources(monkeypatch, args, source_type):
    from scraper_worker import cli

    started = []
    monkeypatch.setattr(cli, "run_worker", started.append)
    monkeypatch.setattr(cli.socket, "setdefaulttimeout", lambda _timeout: None)
    result = CliRunner().invoke(cli.main, ["--api-url", "http://queue.test", *args])
    assert result.exit_code == 0, result.output
    (worker,) = started
    assert isinstance(worker.processor.source, source_type)
    if source_type is AppStoreSource:
        assert worker.processor.source.base_url == "http://feeds.test"
