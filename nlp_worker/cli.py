"""nlp-worker: claim "nlp" jobs and analyse each app's scraped reviews; or, as
`nlp-worker analyze FILE`, analyse a file of reviews without the queue."""

import logging
import sys
from typing import Any

import click

from nlp_worker.analysis import get_analyzer
from nlp_worker.batch import InputError, analyze
from nlp_worker.languages import SUPPORTED
from nlp_worker.processor import BATCH_SIZE, STAGE, process_nlp_job
from queue_client.options import worker_from_options, worker_options
from queue_client.worker import run_worker

log = logging.getLogger(__name__)
CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def capabilities() -> list[str]:
    """The languages this worker reads, as its claims tell the service (GET /workers)."""
    return [f"lang:{code}" for code in SUPPORTED]


@click.command(context_settings=CONTEXT)
@click.argument("file", type=click.File("rb"))  # bytes: batch.decoded names a bad line
@click.option("--summary", is_flag=True, help='End with a line {"summary": {...}}.')
@click.option("--app-id", default="", help="The app's id: its name is left out of the themes.")
def analyze_command(file: Any, summary: bool, app_id: str) -> None:
    """Analyse reviews given as JSON lines in FILE (- for standard input), one a line:
    {"review_id", "content", "score"?, "at"?, "app_version"?}. Writes one line per review, in
    order: {"review_id", "sentiment": {"label", "compound"}, "language", "keywords"}."""
    out = sys.stdout
    try:
        analyze(file, out, summary=summary, app_id=app_id)
    except InputError as exc:
        out.flush()
        raise click.ClickException(f"{getattr(file, 'name', 'input')}: {exc}") from None


class _WorkerCommand(click.Command):
    """The worker; `analyze` as the first argument runs analyze_command instead. (A plain
    command, not a group: deployments call `nlp-worker --api-url ...`.)"""

    def main(self, args: Any = None, prog_name: str | None = None, **extra: Any) -> Any:
        args = list(sys.argv[1:] if args is None else args)
        if args and args[0] == "analyze":
            name = f"{prog_name or 'nlp-worker'} analyze"
            return analyze_command.main(args[1:], prog_name=name, **extra)
        return super().main(args, prog_name, **extra)


@click.command(
    cls=_WorkerCommand,
    context_settings=CONTEXT,
    epilog="Languages: " + ", ".join(SUPPORTED) + ". Without the queue: nlp-worker analyze "
    "FILE [--summary] (see nlp-worker analyze --help).",
)
@worker_options
def main(
    **options: Any,
) -> None:
    """Claim "nlp" jobs from the review-queue service, analyse every scraped review of the
    job's app (language, sentiment weighed against the stars, keywords) and store the
    results in batches of at most 500, the last one with the app's summary (themes, trends).

    Runs offline: the language models and lexicons ship inside the packages.
    """
    get_analyzer()  # load the models now, once, rather than inside the first job
    worker = worker_from_options(STAGE, process_nlp_job, capabilities=capabilities(), **options)
    log.info("NLP worker %s: batches of %d reviews", worker.client.worker_id, BATCH_SIZE)
    run_worker(worker)
