"""Where reviews come from: Google Play (through google-play-scraper), the App Store (its
customer-reviews feed, app_store.py), either by the shape of the id (`auto`), or the demo data
in data/.

A source is an object with a `name` and an async generator
`fetch(app_id, *, lang, country, max_reviews)` that yields pages of reviews, newest first,
already in the shape the service takes (see `REVIEW_FIELDS`), at most `max_reviews` in all.
An app the source cannot find raises `NonRetryableError`; anything transient (network, rate
limits, timeouts) raises an ordinary exception so the job is retried.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import AsyncGenerator
from datetime import datetime
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any, Protocol

from queue_client.errors import NonRetryableError
from scraper_worker.app_store import DEFAULT_BASE_URL, AppStoreSource, app_store_id
from scraper_worker.google_play import (
    ElementSpecs,
    Formats,
    NotFoundError,
    Sort,
    _fetch_review_items,
)
from scraper_worker.google_play import app_details as gp_app
from scraper_worker.shape import LIMITS, clip, iso_z

log = logging.getLogger(__name__)

REVIEW_FIELDS = (
    "review_id", "content", "score", "at", "user_name", "thumbs_up", "app_version", "reply",
)  # fmt: skip
APP_ID = re.compile(r"[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)+")  # an Android package name
PAGE_SIZE = 200
MAX_EMPTY_PAGES = 3  # pages with a token but no reviews in a row before giving up


class ReviewSource(Protocol):
    name: str

    def fetch(
        self, app_id: str, *, lang: str, country: str, max_reviews: int
    ) -> AsyncGenerator[list[dict[str, Any]], None]: ...


def review_from_google_play(raw: dict[str, Any]) -> dict[str, Any] | None:
    """A review as google-play-scraper parses it -> the service's shape; None if unusable."""
    review_id, score, at = raw.get("reviewId"), raw.get("score"), raw.get("at")
    if not isinstance(review_id, str) or not review_id or len(review_id) > LIMITS["review_id"]:
        return None
    if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
        return None
    at = iso_z(at) if isinstance(at, datetime) else None
    if at is None:
        return None
    thumbs_up = raw.get("thumbsUpCount")
    return {
        "review_id": review_id,
        "content": clip(raw.get("content"), LIMITS["content"]) or "",
        "score": score,
        "at": at,
        "user_name": clip(raw.get("userName"), LIMITS["user_name"]) or "",
        "thumbs_up": thumbs_up if isinstance(thumbs_up, int) and thumbs_up >= 0 else 0,
        "app_version": clip(raw.get("appVersion"), LIMITS["app_version"]) or None,
        "reply": clip(raw.get("replyContent"), LIMITS["reply"]) or None,
    }


def _not_found(app_id: str, why: str) -> NonRetryableError:
    return NonRetryableError(f"app not found: {app_id} ({why})")


class GooglePlaySource:
    """Newest reviews from Google Play, page by page with the continuation token.

    `google_play_scraper.reviews()` catches every exception while fetching and returns what it
    has so far, so a 404, a dropped connection and the last page all look alike to its caller
    (an empty or short list and no token). This source calls the library's one-page fetch
    (`features.reviews._fetch_review_items`: the same HTTP request, regex, JSON parsing and
    token, on the pinned 1.2.7) so that network errors surface and the job is retried.
    An unknown app id need not 404 on the reviews endpoint (an empty payload is what an app
    without reviews gets too), so when the first page is empty the app's details page
    (`app()`, which 404s for unknown ids) tells the two apart.
    """

    name = "google-play"

    def __init__(self, page_size: int = PAGE_SIZE) -> None:
        self.page_size = page_size

    async def fetch(
        self, app_id: str, *, lang: str = "en", country: str = "us", max_reviews: int = 1000
    ) -> AsyncGenerator[list[dict[str, Any]], None]:
        if not APP_ID.fullmatch(app_id):
            raise NonRetryableError(f"not a Google Play app id: {app_id!r}")
        fetched, token, seen_tokens, empty_pages = 0, None, set(), 0
        while fetched < max_reviews:
            count = min(self.page_size, max_reviews - fetched)
            raw, token = await asyncio.to_thread(
                self._fetch_page, app_id, lang, country, count, token
            )
            if fetched == 0 and not raw:
                await asyncio.to_thread(self._check_exists, app_id, lang, country)
            page = [review for review in map(review_from_google_play, raw) if review]
            if len(page) < len(raw):
                log.warning("%s: skipped %d unusable reviews", app_id, len(raw) - len(page))
            page = page[: max_reviews - fetched]
            if page:
                fetched += len(page)
                empty_pages = 0
                yield page
            else:
                empty_pages += 1
            if token is None or token in seen_tokens or empty_pages >= MAX_EMPTY_PAGES:
                break
            seen_tokens.add(token)

    @staticmethod
    def _fetch_page(
        app_id: str, lang: str, country: str, count: int, token: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        url = Formats.Reviews.build(lang=lang, country=country)
        try:
            items, next_token = _fetch_review_items(
                url, app_id, Sort.NEWEST.value, count, None, None, token
            )
        except NotFoundError as exc:
            raise _not_found(app_id, f"Google Play answered 404 for its reviews: {exc}") from exc
        except TypeError:
            # The answer's payload is null (json.loads(None)): no reviews here (fetch() asks
            # the details page whether the app exists). reviews() ends the same way.
            return [], None
        except (IndexError, KeyError, json.JSONDecodeError) as exc:
            # Not the batchexecute answer the library knows (an error page, a truncated body,
            # a changed format): fail the attempt rather than report "no reviews".
            raise RuntimeError(f"unexpected answer from Google Play for {app_id}: {exc!r}") from exc
        if not isinstance(next_token, str):  # on the last page the lookup lands on a review
            next_token = None
        specs = ElementSpecs.Review.items()
        reviews = [{key: spec.extract_content(item) for key, spec in specs} for item in items]
        return reviews, next_token

    @staticmethod
    def _check_exists(app_id: str, lang: str, country: str) -> None:
        try:
            gp_app(app_id, lang=lang, country=country)
        except NotFoundError as exc:
            raise _not_found(app_id, "Google Play has no such app") from exc


@cache
def _fixture_apps() -> dict[str, Traversable]:
    data = resources.files("scraper_worker") / "data"
    return {
        entry.name.removesuffix(".json"): entry
        for entry in data.iterdir()
        if entry.name.endswith(".json")
    }


@cache
def load_fixture(app_id: str) -> tuple[dict[str, Any], ...]:
    """The demo reviews shipped for `app_id`, newest first, in the service's shape."""
    apps = _fixture_apps()
    if app_id not in apps:
        raise NonRetryableError(
            f"app not found: {app_id} (fixtures source knows: {', '.join(sorted(apps))})"
        )
    document = json.loads(apps[app_id].read_text(encoding="utf-8"))
    columns = document["columns"]
    rows = (dict(zip(columns, row, strict=True)) for row in document["reviews"])
    return tuple({field: row.get(field) for field in REVIEW_FIELDS} for row in rows)


def fixture_app_ids() -> list[str]:
    return sorted(_fixture_apps())


class FixtureSource:
    """Synthetic reviews shipped in scraper_worker/data/ (written by make_fixtures.py), for
    demos and tests without network. `lang` and `country` are ignored: the demo apps carry
    reviews in several languages on purpose. `delay` seconds pass before each page after the
    first, so a live demo shows progress."""

    name = "fixtures"

    def __init__(self, delay: float = 0.0, page_size: int = 50) -> None:
        self.delay = delay
        self.page_size = page_size

    async def fetch(
        self, app_id: str, *, lang: str = "en", country: str = "us", max_reviews: int = 1000
    ) -> AsyncGenerator[list[dict[str, Any]], None]:
        reviews = load_fixture(app_id)[:max_reviews]
        for start in range(0, len(reviews), self.page_size):
            if start and self.delay:
                await asyncio.sleep(self.delay)
            yield [dict(review) for review in reviews[start : start + self.page_size]]


class AutoSource:
    """By the shape of the id: a number is an App Store app, a package name a Google Play one."""

    name = "auto"

    def __init__(self, app_store: AppStoreSource, google_play: GooglePlaySource) -> None:
        self.app_store = app_store
        self.google_play = google_play

    def pick(self, app_id: str) -> ReviewSource:
        return self.app_store if app_store_id(app_id) is not None else self.google_play

    def fetch(
        self, app_id: str, *, lang: str = "en", country: str = "us", max_reviews: int = 1000
    ) -> AsyncGenerator[list[dict[str, Any]], None]:
        return self.pick(app_id).fetch(app_id, lang=lang, country=country, max_reviews=max_reviews)


SOURCE_NAMES = (AutoSource.name, GooglePlaySource.name, AppStoreSource.name, FixtureSource.name)


def make_source(
    name: str,
    *,
    fixture_delay: float = 0.0,
    app_store_url: str = DEFAULT_BASE_URL,
    http_timeout: float = 30.0,
) -> ReviewSource:
    if name == AutoSource.name:
        return AutoSource(AppStoreSource(app_store_url, http_timeout), GooglePlaySource())
    if name == GooglePlaySource.name:
        return GooglePlaySource()
    if name == AppStoreSource.name:
        return AppStoreSource(app_store_url, http_timeout)
    if name == FixtureSource.name:
        return FixtureSource(delay=fixture_delay)
    raise ValueError(f"unknown source {name!r}")
