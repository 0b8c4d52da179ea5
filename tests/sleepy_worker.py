"""A test-only worker: each job sleeps `--sleep` seconds, reporting progress, then finishes.

python tests/sleepy_worker.py --api-url http://127.0.0.1:8000 --sleep 2
"""

import asyncio

import click

from queue_client import JobContext, run_worker, worker_from_options, worker_options


@click.command()
@click.option("--stage", default="scraper", show_default=True)
@click.option("--sleep", "seconds", default=1.0, show_default=True, type=float)
@worker_options
def main(stage: str, seconds: float, **options) -> None:
    async def sleepy(context: JobContext) -> None:
        steps = 10
        for step in range(steps):
            await asyncio.sleep(seconds / steps)
            await context.progress(100 * (step + 1) / steps, f"slept {step + 1}/{steps}")

    run_worker(worker_from_options(stage, sleepy, **options))


if __name__ == "__main__":
    main()
