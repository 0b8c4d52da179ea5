"""Newest reviews of an App Store app, from Apple's public customer-reviews feed.

    {base}/{country}/rss/customerreviews/page={n}/id={app_id}/sortby=mostrecent/json

answers `{"feed": {"entry": [...]}}`, newest first, about 50 reviews a page, pages 1..10 (the
feed stops at about 500 reviews per country). `entry` is a list, a single object when a page
holds one review, and absent past the last page. Each review is an object of
`{"label": ...}` wrappers: `id`, `title`, `content`, `im:rating` ("1".."5"), `im:version`,
`updated` (ISO-8601 with an offset), `author.name`, `im:voteSum`. Some answers start with an
entry that describes the app itself (no `im:rating`): it is skipped.

An empty first page means "no reviews" or "no such app"; the lookup API
(`{base}/lookup?id=..&country=..`, `{"resultCount": 0}` for an unknown id) tells them apart.
Network trouble and any answer but a 200, a 400 or a 404 (403, 408, 429, 5xx), from the feed
or the lookup alike, raise ordinary exceptions (the job is retried); an unknown id raises
NonRetryableError. No library: `app-store-scraper`, the usual one, depends on a token
Apple no longer exposes, and this feed needs nothing but one GET per page.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncGenerator
from datetime import UTC, datetime
from typing import Any

import httpx

from queue_client.errors import NonRetryableError
from scraper_worker.shape import LIMITS, clip, iso_z

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://itunes.apple.com"
MAX_PAGES = 10  # the feed refuses deeper pages
APP_ID = re.compile(r"(?:id)?([1-9][0-9]{0,14})")  # "389801252" (or "id389801252")


def app_store_id(app_id: str) -> str | None:
    """The numeric App Store id in `app_id`, or None if it is not one."""
    match = APP_ID.fullmatch(app_id)
    return match[1] if match else None


def _label(entry: dict[str, Any], *path: str) -> str | None:
    node: Any = entry
    for key in (*path, "label"):
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node if isinstance(node, str) else None


def _utc(text: str | None) -> str | None:
    """The feed's `updated` (naive means UTC) as the service's time, or None if it is not
    one: unreadable, or past what UTC can hold (9999-12-31T23:59:59-07:00)."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return iso_z(moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC))


def review_from_entry(entry: Any) -> dict[str, Any] | None:
    """One feed entry -> the service's review shape; None for the app entry or a broken one.
    The title goes before the text (on its own line): it often says the most."""
    if not isinstance(entry, dict):
        return None
    review_id, rating = _label(entry, "id"), _label(entry, "im:rating")
    if not review_id or len(review_id) > LIMITS["review_id"] or rating not in set("12345"):
        return None
    at = _utc(_label(entry, "updated"))
    if at is None:
        return None
    title = (_label(entry, "title") or "").strip()
    text = (_label(entry, "content") or "").strip()
    content = f"{title}\n{text}" if title and text else title or text
    votes = _label(entry, "im:voteSum") or ""
    return {
        "review_id": review_id,
        "content": content[: LIMITS["content"]],
        "score": int(rating),
        "at": at,
        "user_name": clip(_label(entry, "author", "name"), LIMITS["user_name"]) or "",
        "thumbs_up": int(votes) if votes.isdigit() else 0,
        "app_version": clip(_label(entry, "im:version"), LIMITS["app_version"]) or None,
        "reply": None,  # the feed carries no developer replies
    }


def entries_of(document: Any) -> list[Any]:
    feed = document.get("feed") if isinstance(document, dict) else None
    if not isinstance(feed, dict):
        raise RuntimeError("unexpected answer from the App Store feed: no 'feed' object")
    entries = feed.get("entry", [])
    return [entries] if isinstance(entries, dict) else entries if isinstance(entries, list) else []


class AppStoreSource:
    """Reviews of a numeric App Store id for one country (job param `country`, default us)."""

    name = "app-store"

    def __init__(self, base_url: str = DEFAULT_BASE_URL, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def feed_url(self, app_id: str, country: str, page: int) -> str:
        return (
            f"{self.base_url}/{country}/rss/customerreviews/page={page}/id={app_id}"
            "/sortby=mostrecent/json"
        )

    async def fetch(
        self, app_id: str, *, lang: str = "en", country: str = "us", max_reviews: int = 1000
    ) -> AsyncGenerator[list[dict[str, Any]], None]:
        numeric = app_store_id(app_id)
        if numeric is None:
            raise NonRetryableError(f"not an App Store app id: {app_id!r}")
        fetched = 0
        async with httpx.AsyncClient(timeout=self.timeout, follow_redirects=True) as http:
            for page_number in range(1, MAX_PAGES + 1):
                document = await self._get(http, self.feed_url(numeric, country, page_number))
                entries = entries_of(document) if document is not None else []
                page = [review for review in map(review_from_entry, entries) if review]
                if page_number == 1 and not page:
                    await self._check_exists(http, app_id, numeric, country)
                if not page:
                    break
                page = page[: max_reviews - fetched]
                fetched += len(page)
                yield page
                if fetched >= max_reviews:
                    break

    async def _get(
        self, http: httpx.AsyncClient, url: str, params: dict[str, str] | None = None
    ) -> Any:
        """The JSON at `url`; None for a 4xx that means "nothing here" (400, 404). Any other
        answer but a 200 (403, 408, 429, 5xx) raises RuntimeError: the job is retried."""
        answer = await http.get(url, params=params)  # transport errors propagate: retried
        if answer.status_code in (400, 404):
            return None
        if answer.status_code != 200:
            raise RuntimeError(f"App Store answered {answer.status_code} for {answer.url}")
        try:
            return answer.json()
        except ValueError as exc:
            raise RuntimeError(f"unexpected answer from the App Store: {exc}") from exc

    async def _check_exists(
        self, http: httpx.AsyncClient, app_id: str, numeric: str, country: str
    ) -> None:
        found = await self._get(
            http, f"{self.base_url}/lookup", {"id": numeric, "country": country}
        )
        if found is not None and not isinstance(found, dict):
            raise RuntimeError("unexpected answer from the App Store lookup: not an object")
        count = found.get("resultCount") if found is not None else 0
        if not count:
            raise NonRetryableError(
                f"app not found: {app_id} (the App Store has no app {numeric} in {country})"
            )
        log.info("App Store app %s has no reviews in %s", numeric, country)
