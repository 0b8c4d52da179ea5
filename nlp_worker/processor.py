"""The NLP stage: analyse every scraped review of the job's app and store the results.

Reviews are streamed from the service in pages and analysed in batches of at most
`BATCH_SIZE` in a worker thread (the analysis is CPU-bound and must not stall the
event loop, which also runs the lease heartbeat). Each analysed batch is sent with
`put_analysis`; the last call also carries the app summary. A batch is held back until
the next one is analysed (or the reviews run out), so the summary always rides on a
call that has reviews in it, except for an app with no reviews at all, which gets
a single call with an empty list and a zero summary. A review that comes twice is
analysed once; one without a review_id is skipped (both are logged).

The number of reviews is not known up front, so progress while streaming is an
estimate (it grows towards, never reaches, 100) with the exact count in the message;
100 is reported once the summary is stored.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from nlp_worker.analysis import analyze_batch
from nlp_worker.summary import SummaryBuilder
from queue_client.errors import NonRetryableError

if TYPE_CHECKING:
    from queue_client.worker import JobContext

logger = logging.getLogger(__name__)

BATCH_SIZE = 500  # reviews per put_analysis call (the service's limit)
STAGE = "nlp"

Analyse = Callable[[Sequence[Mapping[str, Any]]], list[dict[str, Any]]]


def streaming_percent(done: int, batch_size: int = BATCH_SIZE) -> float:
    """Progress after `done` reviews when the total is unknown: 50% after one batch,
    67% after two, ... capped at 99 (100 means stored)."""
    return min(99.0, round(100.0 * done / (done + batch_size), 1))


async def process_nlp_job(ctx: JobContext, analyse: Analyse = analyze_batch) -> None:
    """Processor for the "nlp" stage. Returning lets the worker finish the job; raising
    fails it (NonRetryableError: not retried)."""
    app_id = ctx.job.get("app_id")
    if not isinstance(app_id, str) or not app_id:
        raise NonRetryableError(f"job {ctx.job.get('job_id')} has no app_id")

    builder = SummaryBuilder(app_id)
    seen: set[str] = set()
    batch: list[Mapping[str, Any]] = []
    pending: list[dict[str, Any]] | None = None  # analysed, not yet sent
    skipped = 0
    calls = 0

    async def analyse_batch() -> None:
        nonlocal batch, pending, calls
        analyses = await asyncio.to_thread(analyse, batch)
        for review, analysis in zip(batch, analyses, strict=True):
            builder.add(review, analysis)
        batch = []
        if pending is not None:
            await ctx.client.put_analysis(ctx.job, pending)
            calls += 1
        pending = analyses
        await ctx.progress(
            streaming_percent(builder.review_count), f"analysed {builder.review_count} reviews"
        )

    await ctx.progress(0.0, f"reading reviews of {app_id}")
    async for review in ctx.client.iter_reviews(app_id, page_size=BATCH_SIZE):
        review_id = review.get("review_id")
        if review_id is None or str(review_id) in seen:
            skipped += 1  # unusable, or a repeat across pages: analyse each review once
            continue
        seen.add(str(review_id))
        batch.append(review)
        if len(batch) >= BATCH_SIZE:
            await analyse_batch()
    if batch:
        await analyse_batch()

    summary = builder.build()
    await ctx.client.put_analysis(ctx.job, pending or [], summary=summary)
    calls += 1
    await ctx.progress(100.0, f"analysed {summary['review_count']} reviews; summary stored")
    if skipped:
        logger.warning("App %s: skipped %d reviews without id or seen twice", app_id, skipped)
    logger.info(
        "App %s: analysed %d reviews in %d put_analysis calls",
        app_id,
        summary["review_count"],
        calls,
    )
