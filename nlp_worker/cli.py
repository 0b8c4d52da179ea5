"""nlp-worker: claim "nlp" jobs and analyse each app's scraped reviews."""

import logging

import click

from nlp_worker.analysis import get_analyzer
from nlp_worker.processor import BATCH_SIZE, STAGE, process_nlp_job
from queue_client.client import QueueClient
from queue_client.options import worker_options
from queue_client.worker import Worker, run_worker

log = logging.getLogger(__name__)


@click.command(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@worker_options
def main(
    api_url: str,
    worker_id: str,
    concurrency: int,
    lease_seconds: int | None,
    grace_seconds: float,
    log_level: str,
) -> None:
    """Claim "nlp" jobs from the review-queue service, analyse every scraped review of the
    job's app (VADER sentiment, langdetect language, YAKE keywords) and store the results
    in batches of at most 500, the last one with the app's summary.

    Runs offline: the models ship inside their packages. VADER is English-only: reviews in
    other languages take their sentiment from the star rating.
    """
    get_analyzer()  # load the models now, once, rather than inside the first job
    client = QueueClient(api_url, worker_id=worker_id)
    worker = Worker(
        client,
        STAGE,
        process_nlp_job,
        concurrency=concurrency,
        lease_seconds=lease_seconds,
        grace_seconds=grace_seconds,
    )
    log.info("NLP worker %s: batches of %d reviews", worker_id, BATCH_SIZE)
    run_worker(worker)
