"""JobContext: one claimed job as its processor sees it, and the heartbeats that keep its lease.

The worker runs `keep_alive` beside the processor: a heartbeat every third of the lease, plus
pending progress (at most one a second). A heartbeat answered 409/404 means the lease is lost:
the processor is cancelled and nothing is reported.
"""

import asyncio
import logging
import time
from contextlib import suppress
from datetime import UTC, datetime

from queue_client.backoff import Backoff
from queue_client.client import QueueClient
from queue_client.errors import LeaseLostError, ServiceError, ServiceUnavailableError

log = logging.getLogger(__name__)

DEFAULT_LEASE_SECONDS = 60.0  # when neither the job nor the worker says
PROGRESS_INTERVAL = 1.0  # at most one progress heartbeat a second
MIN_HEARTBEAT_INTERVAL = 0.05
_now = time.monotonic


class JobContext:
    """What a processor gets: the claimed job, the client, and progress reporting."""

    def __init__(
        self,
        job: dict,
        client: QueueClient,
        *,
        lease_seconds: float | None = None,
        stopping: asyncio.Event | None = None,
    ) -> None:
        self.job = job
        self.client = client
        self.lease_seconds = lease_seconds or lease_length(job)
        self.lease_lost = False
        self._stopping = stopping or asyncio.Event()
        self._pending: tuple[float | None, str | None] | None = None
        self._last_beat = _now()  # when the lease was last extended: the claim, at first
        self._last_sent = float("-inf")  # the last heartbeat sent, for the progress rate
        self._lock = asyncio.Lock()
        self._changed = asyncio.Event()

    @property
    def job_id(self) -> str:
        return self.job["job_id"]

    @property
    def stopping(self) -> bool:
        """The worker is shutting down: a long processor may wind down early."""
        return self._stopping.is_set()

    async def progress(self, percent: float, message: str | None = None) -> None:
        """Report progress with a heartbeat. Within a second of the last one it is kept and
        sent when the second is over (the latest value wins).

        Raises LeaseLostError when the service no longer holds the job for us.
        """
        self._pending = (percent, message)
        if _now() - self._last_sent < PROGRESS_INTERVAL:
            self._changed.set()  # keep_alive sends it when the second is over
            return
        try:
            await self.beat()
        except (ServiceUnavailableError, ServiceError) as exc:
            log.debug("Job %s: progress not sent yet (%s)", self.job_id, exc)

    async def beat(self) -> None:
        """One heartbeat, carrying the pending progress if any."""
        async with self._lock:
            if self.lease_lost:
                raise LeaseLostError(f"job {self.job_id}: the lease was lost")
            pending, self._pending = self._pending, None
            percent, message = pending or (None, None)
            self._last_sent = _now()
            try:
                answer = await self.client.heartbeat(self.job, progress=percent, message=message)
            except LeaseLostError:
                self.lease_lost = True
                raise
            except BaseException:
                self._pending = self._pending or pending  # send it with the next one
                raise
            self._last_beat = _now()
            if answer.get("lease_expires_at"):
                self.job["lease_expires_at"] = answer["lease_expires_at"]

    async def keep_alive(self, processor: asyncio.Task) -> None:
        """Heartbeat until cancelled; cancel `processor` when the lease is lost. Failed
        heartbeats are retried with backoff, never slower than the heartbeat interval."""
        interval = max(self.lease_seconds / 3, MIN_HEARTBEAT_INTERVAL)
        backoff = Backoff(self.client.retry_policy.capped(interval))
        retry_at: float | None = None
        while True:
            wait = self._due_in(interval) if retry_at is None else retry_at - _now()
            if wait > 0:
                await self._wait_for_progress(wait)
                continue
            retry_at = None
            try:
                await self.beat()
            except LeaseLostError as exc:
                log.warning("Job %s: lease lost (%s); cancelling its processor", self.job_id, exc)
                processor.cancel()
                return
            except Exception as exc:
                delay = backoff.next_delay()
                retry_at = _now() + delay
                log.warning(
                    "Job %s: heartbeat failed (%s); retry in %.1fs",
                    self.job_id,
                    describe(exc),
                    delay,
                )
            else:
                backoff.reset()

    def _due_in(self, interval: float) -> float:
        due = self._last_beat + interval
        if self._pending:
            due = min(due, self._last_sent + PROGRESS_INTERVAL)
        return due - _now()

    async def _wait_for_progress(self, timeout: float) -> None:
        self._changed.clear()
        with suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._changed.wait()


def lease_length(job: dict, configured: float | None = None) -> float:
    """The lease of a claimed job in seconds, measured on the service's clock when it can be
    (lease_expires_at minus the claim's updated_at), else against this machine's clock."""
    expires = _parse_time(job.get("lease_expires_at"))
    claimed = _parse_time(job.get("updated_at"))
    if expires is not None and claimed is not None and expires > claimed:
        return (expires - claimed).total_seconds()
    if expires is not None:
        remaining = (expires - datetime.now(UTC)).total_seconds()
        if remaining > 0:
            return min(remaining, configured) if configured else remaining
    return float(configured or DEFAULT_LEASE_SECONDS)


def describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
