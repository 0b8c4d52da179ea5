"""What the client and the worker raise. Processors raise NonRetryableError themselves."""

from typing import Any


class NonRetryableError(Exception):
    """Raised by a processor: the job fails with retryable=false (trying again cannot help)."""


class LeaseLostError(Exception):
    """The service refused a lease-fenced call (409, or 404: the job is gone).

    The job was taken back (lease expired, cancelled, handed to someone else): stop working
    on it and report nothing.
    """


class ServiceError(Exception):
    """The service gave a definitive error answer (a 4xx other than a lost lease)."""

    def __init__(self, status_code: int, message: str, body: Any = None) -> None:
        super().__init__(f"{status_code}: {message}")
        self.status_code = status_code
        self.message = message
        self.body = body


class ServiceUnavailableError(Exception):
    """The service could not be reached or answered 5xx/429 (a transient failure), and the
    call's retry budget ran out."""
