"""Worker: claims jobs of one stage and runs a processor on each, `concurrency` at a time.

While a processor runs, its lease is extended by a heartbeat every third of the lease. Its
outcome is reported with the lease token: returning finishes the stage, raising fails the job
(NonRetryableError: retryable=false). A lost lease (409 on a heartbeat) cancels the processor
and reports nothing. stop() (SIGTERM/SIGINT under run_worker) stops claiming, gives running
jobs `grace_seconds` to end, then hands the rest back (released: queued again at once, the
run not counted) so nothing waits for a lease to expire. An unreachable service is waited
out with backoff; nothing crashes.
"""

import asyncio
import logging
import signal
import time
from collections.abc import Awaitable, Callable
from contextlib import suppress

from queue_client.backoff import Backoff, BackoffPolicy
from queue_client.client import QueueClient
from queue_client.context import JobContext, describe, lease_length
from queue_client.errors import (
    LeaseLostError,
    NonRetryableError,
    ServiceError,
    ServiceUnavailableError,
)

__all__ = ["SHUTDOWN_MESSAGE", "JobContext", "Processor", "Worker", "run_worker"]

log = logging.getLogger(__name__)

SHUTDOWN_MESSAGE = "worker shutting down: job handed back before it finished"
MAX_CLAIM = 50  # the service's limit per poll
_now = time.monotonic


Processor = Callable[[JobContext], Awaitable[None]]


class _Run:
    """One claimed job in this worker: its context, processor task and phase."""

    def __init__(self, context: JobContext) -> None:
        self.context = context
        self.processor: asyncio.Task | None = None
        self.reporting = False
        self.handed_back = False

    def hand_back(self) -> None:
        self.handed_back = True
        if self.processor is not None:
            self.processor.cancel()


class Worker:
    def __init__(
        self,
        client: QueueClient,
        stage: str,
        processor: Processor,
        *,
        concurrency: int = 1,
        lease_seconds: int | None = None,
        grace_seconds: float = 30.0,
        idle_poll_min: float = 0.2,
        idle_poll_max: float = 5.0,
        handback_seconds: float = 10.0,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.client = client
        self.stage = stage
        self.processor = processor
        self.concurrency = concurrency
        self.lease_seconds = lease_seconds
        self.grace_seconds = grace_seconds
        self.idle_policy = BackoffPolicy(idle_poll_min, idle_poll_max, jitter=0.2)
        self.handback_seconds = handback_seconds
        self._runs: dict[asyncio.Task, _Run] = {}
        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()
        self._hurry = False

    # Lifecycle

    def stop(self) -> None:
        """Stop claiming and shut down gracefully; a second call hands running jobs back now."""
        if self._stopping.is_set():
            if not self._hurry:
                log.warning("Stop requested again: handing running jobs back now")
            self._hurry = True
        else:
            log.info("Stop requested: claiming no more %s jobs", self.stage)
        self._stopping.set()
        self._wake.set()

    async def run(self) -> None:
        """Claim and process jobs until stop(); returns after the graceful shutdown."""
        if not self.client.worker_id:
            await self.client.identify()
        log.info(
            "Worker %s: %s jobs from %s, concurrency %d",
            self.client.worker_id,
            self.stage,
            self.client.api_url,
            self.concurrency,
        )
        refused: ServiceError | None = None
        try:
            refused = await self._claim_loop()
        except asyncio.CancelledError:
            self._hurry = True
            raise
        finally:
            await self._shutdown()
        if refused is not None:
            raise refused

    async def _claim_loop(self) -> ServiceError | None:
        idle = Backoff(self.idle_policy)
        outage = Backoff(self.client.retry_policy)
        while True:
            self._wake.clear()
            if self._stopping.is_set():
                return None
            free = self.concurrency - len(self._runs)
            if free <= 0:
                await self._nap(None)
                continue
            try:
                jobs = await self.client.claim(
                    self.stage, limit=min(free, MAX_CLAIM), lease_seconds=self.lease_seconds
                )
            except ServiceError as exc:
                log.error("The service refuses to hand out %s jobs (%s): stopping", self.stage, exc)
                return exc
            except Exception as exc:
                delay = outage.next_delay()
                log.warning(
                    "Cannot claim %s jobs (%s); retry %d in %.1fs",
                    self.stage,
                    describe(exc),
                    outage.attempts,
                    delay,
                    exc_info=not isinstance(exc, ServiceUnavailableError),
                )
                await self._nap(delay)
                continue
            if outage.attempts:
                log.info("The service answers again after %d failed polls", outage.attempts)
                outage.reset()
            if not jobs:
                await self._nap(idle.next_delay())
                continue
            idle.reset()
            for job in jobs:
                self._start(job)

    async def _nap(self, seconds: float | None) -> None:
        """Sleep until `seconds` pass, stop() is called or a job ends."""
        with suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._wake.wait()

    async def _shutdown(self) -> None:
        loop = asyncio.get_running_loop()
        if self._runs and not self._hurry:
            log.info(
                "Waiting up to %.1fs for %d running job(s) to finish",
                self.grace_seconds,
                len(self._runs),
            )
            end = loop.time() + self.grace_seconds
            while self._runs and not self._hurry and loop.time() < end:
                self._wake.clear()
                await self._nap(end - loop.time())
        for run in self._runs.values():
            if not run.reporting:
                log.warning("Job %s did not finish in time: handing it back", run.context.job_id)
                run.hand_back()
        if self._runs:
            await asyncio.wait(list(self._runs), timeout=self.handback_seconds)
        for task, run in list(self._runs.items()):
            log.error(
                "Job %s: could not report its outcome before exiting; its lease will expire",
                run.context.job_id,
            )
            task.cancel()
        if self._runs:
            await asyncio.wait(list(self._runs))
        log.info("Worker %s stopped", self.client.worker_id)

    # One job

    def _start(self, job: dict) -> None:
        context = JobContext(
            job,
            self.client,
            lease_seconds=lease_length(job, self.lease_seconds),
            stopping=self._stopping,
        )
        run = _Run(context)
        task = asyncio.create_task(self._execute(run), name=f"job {job['job_id']}")
        self._runs[task] = run
        task.add_done_callback(self._ended)
        log.info(
            "Claimed job %s (app %s, %s, attempt %s, lease %.0fs)",
            job["job_id"],
            job.get("app_id"),
            job.get("stage"),
            job.get("attempt"),
            context.lease_seconds,
        )

    def _ended(self, task: asyncio.Task) -> None:
        self._runs.pop(task, None)
        self._wake.set()
        if not task.cancelled() and task.exception() is not None:
            log.error("Job task %s crashed", task.get_name(), exc_info=task.exception())

    async def _execute(self, run: _Run) -> None:
        context = run.context
        started = _now()
        processor = asyncio.create_task(self._process(context))
        run.processor = processor
        if run.handed_back:
            processor.cancel()
        keeper = asyncio.create_task(context.keep_alive(processor))
        try:
            await asyncio.wait({processor})
        finally:
            keeper.cancel()
            processor.cancel()
        await asyncio.wait({keeper})
        run.reporting = True
        elapsed = _now() - started
        await self._report(run, processor, elapsed)

    async def _process(self, context: JobContext) -> None:
        await self.processor(context)

    async def _report(self, run: _Run, processor: asyncio.Task, elapsed: float) -> None:
        context = run.context
        job_id = context.job_id
        error = None if processor.cancelled() else processor.exception()
        if context.lease_lost or isinstance(error, LeaseLostError):
            log.warning("Job %s: lease lost; dropping its result, reporting nothing", job_id)
            return
        if processor.cancelled() and run.handed_back:
            log.warning("Job %s: %s", job_id, SHUTDOWN_MESSAGE)
            await self._send(context, None, release=True)
        elif processor.cancelled():
            await self._send(context, "the processor was cancelled", retryable=True)
        elif error is not None:
            retryable = not isinstance(error, NonRetryableError)
            log.error(
                "Job %s failed after %.1fs (%s): %s",
                job_id,
                elapsed,
                "retryable" if retryable else "not retryable",
                describe(error),
                exc_info=error if retryable else None,
            )
            await self._send(context, str(error) or type(error).__name__, retryable=retryable)
        else:
            await self._send(context, None)
            log.info("Job %s: %s stage done in %.1fs", job_id, context.job.get("stage"), elapsed)

    async def _send(
        self, context: JobContext, failure: str | None, *, retryable=True, release=False
    ) -> None:
        """finish (failure None), fail, or release; the client retries until it is answered."""
        try:
            if release:
                await self.client.release(context.job)
            elif failure is None:
                await self.client.finish(context.job)
            else:
                await self.client.fail(context.job, failure, retryable=retryable)
        except LeaseLostError as exc:
            log.warning(
                "Job %s: the service refused the outcome (%s): the lease is gone",
                context.job_id,
                exc,
            )
        except Exception:
            log.exception("Job %s: could not report its outcome", context.job_id)


def run_worker(worker: Worker) -> None:
    """Run a worker until SIGTERM/SIGINT (which call worker.stop()), then close its client."""

    async def main() -> None:
        loop = asyncio.get_running_loop()
        wired = []
        for sig in (signal.SIGTERM, signal.SIGINT):
            with suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, _on_signal, worker, sig)
                wired.append(sig)
        try:
            await worker.run()
        finally:
            for sig in wired:
                loop.remove_signal_handler(sig)
            await worker.client.aclose()

    asyncio.run(main())


def _on_signal(worker: Worker, sig: signal.Signals) -> None:
    log.info("Received %s", sig.name)
    worker.stop()
