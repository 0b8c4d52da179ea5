"""Service settings. The CLI (service/cli.py) fills them from flags and environment variables."""

import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from service.domain import RetryPolicy

DEFAULT_DB = "review_queue"
_TIME_OF_DAY = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def valid_report_time(value: str) -> bool:
    return bool(_TIME_OF_DAY.match(value or ""))


def hour_and_minute(value: str) -> tuple[int, int]:
    matched = _TIME_OF_DAY.match(value)
    if not matched:
        raise ValueError(f"not a time of day (HH:MM): {value!r}")
    return int(matched.group(1)), int(matched.group(2))


@dataclass(frozen=True)
class Settings:
    mongodb_uri: str | None = None
    mongodb_db: str = DEFAULT_DB
    lease_seconds: int = 600
    reap_interval: float = 10.0
    timezone: str = "UTC"
    max_retries: int = 3
    retry_base_seconds: float = 2.0
    retry_max_seconds: float = 300.0
    max_body_bytes: int = 1024 * 1024
    # Seconds a MongoDB operation (a transaction with its retries included) may take.
    db_timeout: float = 10.0
    # Days finished jobs and history rows are kept; None keeps them for ever.
    retention_days: int | None = 30
    # "required", "off", or None: required with MONGODB_URI, off on the embedded store.
    auth: str | None = None
    admin_key: str | None = None
    # Requests per key (per address without a known key), e.g. "1200/minute"; None: no limit.
    rate_limit: str | None = "3000/minute"
    # GET /health reports the queue degraded past these (each a figure over its threshold):
    # the oldest claimable job's wait, claimable jobs per stage, the share of a stage's runs
    # that failed in the last hour (once at least `health_min_runs` ended).
    health_max_wait_seconds: float = 900.0
    health_max_backlog: int = 1000
    health_max_failure_share: float = 0.5
    health_min_runs: int = 10
    # Seconds between sweeps that fire the recurring schedules that came due.
    schedule_interval: float = 10.0
    # Seconds between keep-alive comments on an open event stream (GET /queue/events).
    events_keepalive: float = 15.0
    # When the daily report of the day that just ended is stored (HH:MM in `timezone`).
    report_time: str = "00:05"
    # Testing aid: make every store call yield to the event loop, so races can interleave.
    yield_store_calls: bool = False

    @property
    def retry(self) -> RetryPolicy:
        return RetryPolicy(self.max_retries, self.retry_base_seconds, self.retry_max_seconds)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def embedded(self) -> bool:
        return not self.mongodb_uri

    @property
    def auth_required(self) -> bool:
        if self.auth is None:
            return not self.embedded
        return self.auth == "required"
