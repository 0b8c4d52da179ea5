"""nlp-worker: claim "nlp" jobs and analyse each app's scraped reviews."""

import logging
from typing import Any

import click

from nlp_worker.analysis import get_analyzer
from nlp_worker.processor import BATCH_SIZE, STAGE, process_nlp_job
from queue_client.options import worker_from_options, worker_options
from queue_client.worker import run_worker

log = logging.getLogger(__name__)


@click.command(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@worker_options
def main(
    **options: Any,
) -> None:
    """Claim "nlp" jobs from the review-queue service, analyse every scraped review of the
    job's app (VADER sentiment, langdetect language, YAKE keywords) and store the results
    in batches of at most 500, the last one with the app's summary.

    Runs offline: the models ship inside their packages. VADER is English-only: reviews in
    other languages take their sentiment from the star rating.
    """
    get_analyzer()  # load the models now, once, rather than inside the first job
    worker = worker_from_options(STAGE, process_nlp_job, **options)
    log.info("NLP worker %s: batches of %d reviews", worker.client.worker_id, BATCH_SIZE)
    run_worker(worker)
