"""Periodic work: expired leases go back to the queue without anyone's help."""

import logging

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from service.settings import Settings
from service.store import JobStore

log = logging.getLogger(__name__)


async def reap_expired_leases(store: JobStore) -> None:
    for job in await store.reap_expired():
        log.warning(
            "Lease of job %s (%s) held by %s expired: back to %s/%s",
            job["_id"],
            job["app_id"],
            job.get("worker_id"),
            job["stage"],
            job["status"],
        )


def start_scheduler(store: JobStore, settings: Settings) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone="UTC")
    scheduler.start()
    scheduler.add_job(
        reap_expired_leases,
        "interval",
        seconds=settings.reap_interval,
        args=[store],
        id="reap-expired-leases",
        max_instances=1,
        coalesce=True,
        # A sweep that starts late (a busy event loop) is still worth running, without a
        # "missed by" warning.
        misfire_grace_time=None,
    )
    return scheduler
