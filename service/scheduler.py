"""Periodic work: expired leases go back to the queue without anyone's help; recurring
schedules that came due fire (on every replica; a compare-and-set makes each due time fire
once: service/schedules.py); and the daily report of the day that just ended is stored at
REVIEW_QUEUE_REPORT_TIME."""

import logging

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from service.reports import ReportStore
from service.schedules import ScheduleStore
from service.settings import Settings, hour_and_minute
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


async def store_daily_report(reports: ReportStore) -> None:
    """Every replica may run this at the same moment: each replaces the date's one document."""
    report = await reports.store_previous_day()
    jobs = report["jobs"]
    log.info(
        "Daily report of %s stored: %d added, %d completed, %d failed",
        report["date"],
        jobs["added"],
        jobs["completed"],
        jobs["failed"],
    )


def start_scheduler(
    store: JobStore,
    settings: Settings,
    *,
    reports: ReportStore | None = None,
    schedules: ScheduleStore | None = None,
) -> AsyncIOScheduler:
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
    if schedules is not None:
        scheduler.add_job(
            schedules.fire_due,
            "interval",
            seconds=settings.schedule_interval,
            id="fire-due-schedules",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
        )
    if reports is not None:
        hour, minute = hour_and_minute(settings.report_time)
        scheduler.add_job(
            store_daily_report,
            CronTrigger(hour=hour, minute=minute, timezone=settings.timezone),
            args=[reports],
            id="daily-report",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=3600,  # a service that was busy or starting still stores it
        )
    return scheduler
