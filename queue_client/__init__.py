"""The worker runtime shared by scraper_worker and nlp_worker: an HTTP client of the queue
service and a worker loop (claim, heartbeat, finish or fail, graceful shutdown)."""

from queue_client.client import QueueClient
from queue_client.errors import (
    LeaseLostError,
    NonRetryableError,
    ServiceError,
    ServiceUnavailableError,
)
from queue_client.options import worker_from_options, worker_options
from queue_client.worker import JobContext, Processor, Worker, run_worker

__all__ = [
    "JobContext",
    "LeaseLostError",
    "NonRetryableError",
    "Processor",
    "QueueClient",
    "ServiceError",
    "ServiceUnavailableError",
    "Worker",
    "run_worker",
    "worker_from_options",
    "worker_options",
]
