"""The scraper stage: fetch an app's reviews from a source and post them to the service."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from contextlib import aclosing
from typing import TYPE_CHECKING, Any

from queue_client.errors import NonRetryableError
from scraper_worker.sources import ReviewSource

if TYPE_CHECKING:
    from queue_client.worker import JobContext

log = logging.getLogger(__name__)

STAGE = "scraper"
BATCH_SIZE = 200  # reviews per post_reviews call
DEFAULT_MAX_REVIEWS = 1000
# params end up in Google Play's query string: accept only what language and country codes
# look like ("en", "pt-BR", "zh_TW"; "us")
LANG = re.compile(r"[A-Za-z]{2,3}([_-][A-Za-z0-9]{2,4})?")
COUNTRY = re.compile(r"[A-Za-z]{2}")


def _param(params: dict[str, Any], name: str, default: str, pattern: re.Pattern[str]) -> str:
    value = params.get(name)
    if value is None or value == "":
        return default
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise NonRetryableError(f"invalid params.{name}: {value!r}")
    return value.lower() if name == "country" else value


class Scraper:
    """The processor the worker runs for each claimed scraper job: `await scraper(ctx)`."""

    def __init__(
        self,
        source: ReviewSource,
        *,
        max_reviews: int = DEFAULT_MAX_REVIEWS,
        batch_size: int = BATCH_SIZE,
    ) -> None:
        if max_reviews < 1:
            raise ValueError("max_reviews must be at least 1")
        if not 1 <= batch_size <= BATCH_SIZE:
            raise ValueError(f"batch_size must be between 1 and {BATCH_SIZE}")
        self.source = source
        self.max_reviews = max_reviews
        self.batch_size = batch_size

    async def __call__(self, ctx: JobContext) -> None:
        source, max_reviews, batch_size = self.source, self.max_reviews, self.batch_size
        job = ctx.job
        app_id = job["app_id"]
        params = job.get("params") or {}
        if not isinstance(params, dict):
            raise NonRetryableError(f"invalid params: {params!r} (expected an object)")
        lang = _param(params, "lang", "en", LANG)
        country = _param(params, "country", "us", COUNTRY)
        await ctx.progress(
            0, f"fetching up to {max_reviews} reviews ({source.name}, {lang}-{country})"
        )
        seen: set[str] = set()
        sent = 0
        pages = source.fetch(app_id, lang=lang, country=country, max_reviews=max_reviews)
        async with aclosing(pages):
            async for page in pages:
                fresh = []
                for review in page:  # a page boundary can repeat a review: post each once
                    if review["review_id"] not in seen:
                        seen.add(review["review_id"])
                        fresh.append(review)
                for start in range(0, len(fresh), batch_size):
                    batch = fresh[start : start + batch_size]
                    await ctx.client.post_reviews(job, batch)
                    sent += len(batch)
                await ctx.progress(
                    min(99.0, round(100 * sent / max_reviews, 1)),
                    f"fetched {sent} of up to {max_reviews} reviews",
                )
        log.info("job %s: %d reviews of %s from %s", job.get("job_id"), sent, app_id, source.name)
        await ctx.progress(100, f"{sent} reviews fetched and stored")


def make_processor(
    source: ReviewSource,
    *,
    max_reviews: int = DEFAULT_MAX_REVIEWS,
    batch_size: int = BATCH_SIZE,
) -> Callable[[JobContext], Awaitable[None]]:
    """The `async def (ctx)` the worker runs for each claimed scraper job."""
    return Scraper(source, max_reviews=max_reviews, batch_size=batch_size)
