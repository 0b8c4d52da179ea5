"""scraper-worker: claim "scraper" jobs and store each app's newest reviews."""

import logging
import socket
from typing import Any

import click

from queue_client.options import worker_from_options, worker_options
from queue_client.worker import run_worker
from scraper_worker.app_store import DEFAULT_BASE_URL
from scraper_worker.processor import DEFAULT_MAX_REVIEWS, STAGE, make_processor
from scraper_worker.sources import (
    SOURCE_NAMES,
    AppStoreSource,
    AutoSource,
    GooglePlaySource,
    fixture_app_ids,
    make_source,
)

log = logging.getLogger(__name__)


def capabilities(source: str) -> list[str]:
    """What this worker can scrape, as its claims tell the service (GET /workers)."""
    if source == AutoSource.name:
        return [f"source:{AppStoreSource.name}", f"source:{GooglePlaySource.name}"]
    return [f"source:{source}"]


@click.command(
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog="Fixture apps: " + ", ".join(fixture_app_ids()),
)
@click.option(
    "--source",
    type=click.Choice(SOURCE_NAMES),
    default=AutoSource.name,
    show_default=True,
    envvar="REVIEW_QUEUE_SCRAPER_SOURCE",
    help="Where reviews come from: auto (a numeric id is an App Store app, a package name a "
    "Google Play one), google-play, app-store, or fixtures: the synthetic demo data shipped in "
    "the package (no network).",
)
@click.option(
    "--app-store-url",
    default=DEFAULT_BASE_URL,
    show_default=True,
    envvar="REVIEW_QUEUE_SCRAPER_APP_STORE_URL",
    help="Base URL of the App Store feeds ({url}/{country}/rss/customerreviews/... and "
    "{url}/lookup); tests point it at a local server.",
)
@click.option(
    "--max-reviews",
    type=click.IntRange(min=1),
    default=DEFAULT_MAX_REVIEWS,
    show_default=True,
    envvar="REVIEW_QUEUE_SCRAPER_MAX_REVIEWS",
    help="Newest reviews fetched per job at most.",
)
@click.option(
    "--fixture-delay",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    envvar="REVIEW_QUEUE_SCRAPER_FIXTURE_DELAY",
    help="With --source fixtures: seconds to wait before each page after the first, so a "
    "demo shows progress.",
)
@click.option(
    "--http-timeout",
    type=click.FloatRange(min=1),
    default=30.0,
    show_default=True,
    envvar="REVIEW_QUEUE_SCRAPER_HTTP_TIMEOUT",
    help="Seconds a request to Google Play or the App Store may stall before the attempt "
    "fails (and the job is retried).",
)
@worker_options
def main(
    source: str,
    max_reviews: int,
    app_store_url: str,
    fixture_delay: float,
    http_timeout: float,
    **options: Any,
) -> None:
    """Claim "scraper" jobs from the review-queue service, fetch each app's newest reviews
    and post them to the service in batches of at most 200.

    Job params: "lang" (default en, Google Play only) and "country" (default us).
    """
    if source in (GooglePlaySource.name, AutoSource.name):
        # google-play-scraper calls urllib without a timeout; a stalled request would hold
        # its job (and a thread) forever. Blocking sockets only: asyncio's are unaffected.
        socket.setdefaulttimeout(http_timeout)
    chosen = make_source(
        source, fixture_delay=fixture_delay, app_store_url=app_store_url, http_timeout=http_timeout
    )
    processor = make_processor(chosen, max_reviews=max_reviews)
    worker = worker_from_options(STAGE, processor, capabilities=capabilities(source), **options)
    log.info("Scraper source %s, at most %d reviews per job", source, max_reviews)
    run_worker(worker)
