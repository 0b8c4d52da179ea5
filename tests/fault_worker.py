"""A test-only worker on the real runtime (queue_client), with faults chosen by flags.

    python tests/fault_worker.py --api-url http://127.0.0.1:8000 --worker-id w1 \
        --stage scraper,nlp --sleep 0.3 --lease-seconds 2
    python tests/fault_worker.py --stage scraper --fail-first 2
    python tests/fault_worker.py --stage nlp --always-fail

Each job sleeps `--sleep` seconds (a job's `params.sleep` overrides it), reporting progress a
few times, then raises if the job's `attempt` is at most `--fail-first` (or always, with
`--always-fail`), else returns. `--stage` takes one stage, several comma-separated, or is
repeated: one Worker per stage in this one process, sharing its client and worker id, so a
kill -9 of the process drops the leases of every stage it holds.

One line per event goes to stdout, flushed, so a test can see who did what:

    STARTED <job_id> <stage> <worker_id> <attempt>
    STOPPED <job_id> <stage> <worker_id> cancelled|lease-lost   (the processor was stopped)
    FINISHING / FINISHED <job_id> <stage> <worker_id>           (before / after finish answered)
    FAILING / FAILED <job_id> <stage> <worker_id>               (before / after fail answered)
    RELEASING / RELEASED <job_id> <stage> <worker_id>           (handed back on shutdown)
    REFUSED <job_id> <stage> <worker_id>                        (any of them answered 409/404)
"""

import asyncio
import signal
from contextlib import suppress

import click

from queue_client import JobContext, LeaseLostError, QueueClient, Worker, run_worker, worker_options

STAGES = ("scraper", "nlp")
PROGRESS_STEPS = 4


def say(*words: object) -> None:
    print(*words, flush=True)


class ReportingClient(QueueClient):
    """The real client, saying on stdout when an outcome is reported and how it was answered."""

    async def finish(self, job: dict) -> dict:
        return await self._reported("FINISH", job, super().finish(job))

    async def fail(self, job: dict, message: str, *, retryable: bool = True) -> dict:
        return await self._reported("FAIL", job, super().fail(job, message, retryable=retryable))

    async def release(self, job: dict) -> dict:
        return await self._reported("RELEAS", job, super().release(job))

    async def _reported(self, verb: str, job: dict, call) -> dict:
        who = (job["job_id"], job["stage"], self.worker_id)
        say(f"{verb}ING", *who)
        try:
            answer = await call
        except LeaseLostError:
            say("REFUSED", *who)
            raise
        say(f"{verb}ED", *who)
        return answer


def make_processor(seconds: float, fail_first: int, always_fail: bool):
    async def process(context: JobContext) -> None:
        job = context.job
        attempt = int(job.get("attempt") or 0)
        who = (job["job_id"], job["stage"], context.client.worker_id)
        say("STARTED", *who, attempt)
        duration = float((job.get("params") or {}).get("sleep", seconds))
        try:
            for step in range(1, PROGRESS_STEPS + 1):
                await asyncio.sleep(duration / PROGRESS_STEPS)
                await context.progress(100 * step / PROGRESS_STEPS, f"step {step}")
        except asyncio.CancelledError:
            say("STOPPED", *who, "cancelled")
            raise
        except LeaseLostError:
            say("STOPPED", *who, "lease-lost")
            raise
        if always_fail or attempt <= fail_first:
            raise RuntimeError(f"injected failure on attempt {attempt}")

    return process


def parse_stages(values: tuple[str, ...]) -> list[str]:
    stages = [s.strip() for value in values for s in value.split(",") if s.strip()]
    unknown = sorted(set(stages) - set(STAGES))
    if unknown or not stages:
        raise click.BadParameter(f"stages are {', '.join(STAGES)}; got {unknown or 'none'}")
    return list(dict.fromkeys(stages))


def run_workers(workers: list[Worker]) -> None:
    """run_worker for one Worker; for several, the same: run them all until SIGTERM/SIGINT
    (which stops every one), then close their shared client."""
    if len(workers) == 1:
        run_worker(workers[0])
        return

    stopped = False

    def stop_all() -> None:  # each signal, like run_worker's: a second one hurries
        nonlocal stopped
        stopped = True
        for worker in workers:
            worker.stop()

    async def run_one(worker: Worker) -> None:
        try:
            await worker.run()
        finally:
            if not stopped:  # one worker gave up: stop the others, with their grace period
                stop_all()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop_all)
        try:
            results = await asyncio.gather(*map(run_one, workers), return_exceptions=True)
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT):
                with suppress(Exception):
                    loop.remove_signal_handler(sig)
            await workers[0].client.aclose()
        for result in results:
            if isinstance(result, BaseException):
                raise result

    asyncio.run(main())


@click.command()
@click.option(
    "--stage",
    "stage_values",
    multiple=True,
    default=("scraper",),
    show_default=True,
    help="Stage(s) to work: scraper, nlp, or scraper,nlp (repeatable).",
)
@click.option("--sleep", "seconds", default=0.2, show_default=True, type=float)
@click.option(
    "--fail-first",
    default=0,
    show_default=True,
    type=click.IntRange(min=0),
    help="Raise on each job's first N attempts (its `attempt` field) at every stage.",
)
@click.option("--always-fail", is_flag=True, help="Raise on every attempt.")
@click.option(
    "--idle-poll-max",
    default=1.0,
    show_default=True,
    type=click.FloatRange(min=0.05),
    help="Longest pause between polls that found nothing.",
)
@worker_options
def main(
    stage_values: tuple[str, ...],
    seconds: float,
    fail_first: int,
    always_fail: bool,
    idle_poll_max: float,
    api_url: str,
    worker_id: str,
    concurrency: int,
    lease_seconds: int | None,
    grace_seconds: float,
    **_others,
) -> None:
    stages = parse_stages(stage_values)
    client = ReportingClient(api_url, worker_id=worker_id)
    process = make_processor(seconds, fail_first, always_fail)
    workers = [
        Worker(
            client,
            stage,
            process,
            concurrency=concurrency,
            lease_seconds=lease_seconds,
            grace_seconds=grace_seconds,
            idle_poll_max=idle_poll_max,
        )
        for stage in stages
    ]
    say("READY", worker_id, ",".join(stages))
    run_workers(workers)


if __name__ == "__main__":
    main()
