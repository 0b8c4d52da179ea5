"""QueueClient: the service's HTTP API as coroutines, with retries on transient failures.

Transient failures (connection errors, timeouts, 5xx, 408, 429) are retried with exponential
backoff and jitter. How long depends on the call:

- ``claim`` and ``heartbeat`` try once: the worker loop decides when to try again;
- ``finish`` and ``fail`` retry until the service gives a definitive answer (a result is never
  dropped; cancel the call to give up);
- every other call retries for ``retry_for`` seconds, then raises ServiceUnavailableError.

A 409 (or a 404: the job is gone) on a lease-fenced call raises LeaseLostError; any other 4xx
raises ServiceError.
"""

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import quote

import httpx

from queue_client.backoff import Backoff, BackoffPolicy
from queue_client.errors import LeaseLostError, ServiceError, ServiceUnavailableError

log = logging.getLogger(__name__)

# Where a job goes when its stage finishes (the service's lifecycle table).
NEXT_STATE = {"scraper": ("nlp", "queued"), "nlp": ("done", "completed")}
TRANSIENT_STATUSES = frozenset({408, 429})
MAX_MESSAGE = 10_000  # the service's limit on error and progress messages
MAX_LABEL, MAX_CAPABILITIES, MAX_HOST = 100, 50, 255  # its limits on what a claim says
JOB_GONE = (404, 409)  # on /queue/{id}/... calls: the lease is not ours any more
LEASE_REFUSED = (409,)  # on /apps/... writes (a 404 there may be a missing route)
DEFAULT: Any = object()  # retry for the client's retry_for


class QueueClient:
    def __init__(
        self,
        api_url: str,
        *,
        worker_id: str | None = None,
        api_key: str | None = None,
        timeout: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
        retry_for: float = 60.0,
        retry_policy: BackoffPolicy | None = None,
        worker_version: str | None = None,
        capabilities: Sequence[str] | None = None,
        host: str | None = None,
    ) -> None:
        """With an API key and no worker id, the service takes the key's name as the worker id
        (`identify()` learns it); without a key, the worker id is sent with every call.
        `worker_version`, `capabilities` and `host` go with every claim: the service lists
        them under GET /workers."""
        self.api_url = api_url
        self.worker_id = worker_id
        self.worker_version = worker_version
        self.capabilities = list(capabilities) if capabilities is not None else None
        self.host = host
        self.retry_for = retry_for
        self.retry_policy = retry_policy or BackoffPolicy()
        headers = {}
        if worker_id:
            headers["X-Worker-ID"] = worker_id
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self._http = httpx.AsyncClient(
            base_url=api_url, timeout=timeout, transport=transport, headers=headers
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> "QueueClient":
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def identify(self) -> str:
        """Who this client is to the service (its key's name; or its worker id without keys)."""
        me = await self._call("GET", "/auth/me")
        if not self.worker_id and me.get("auth") == "required":
            self.worker_id = me["name"]
        return self.worker_id or me["name"]

    # The queue

    async def claim(
        self, stage: str, *, limit: int = 1, lease_seconds: int | None = None
    ) -> list[dict]:
        body: dict[str, Any] = {"stage": stage, "limit": limit}
        if self.worker_id:
            body["worker_id"] = self.worker_id
        if lease_seconds is not None:
            body["lease_seconds"] = lease_seconds
        if self.worker_version:
            body["worker_version"] = self.worker_version[:MAX_LABEL]
        if self.capabilities is not None:
            said = [c[:MAX_LABEL] for c in self.capabilities if c]
            body["capabilities"] = said[:MAX_CAPABILITIES]
        if self.host:
            body["host"] = self.host[:MAX_HOST]
        return await self._call("POST", "/queue/poll", body=body, retry_for=0)

    async def heartbeat(
        self, job: dict, *, progress: float | None = None, message: str | None = None
    ) -> dict:
        body: dict[str, Any] = {"lease_token": job["lease_token"]}
        if progress is not None:
            body["progress"] = min(100.0, max(0.0, float(progress)))
        if message is not None:
            body["message"] = message[:MAX_MESSAGE]
        path = f"/queue/{_seg(job['job_id'])}/heartbeat"
        return await self._call("POST", path, body=body, lease=JOB_GONE, retry_for=0)

    async def finish(self, job: dict) -> dict:
        try:
            stage, status = NEXT_STATE[job["stage"]]
        except KeyError:
            raise ValueError(f"A job at stage {job['stage']!r} cannot be finished") from None
        body = {"stage": stage, "status": status, "lease_token": job["lease_token"]}
        return await self._update(job, body)

    async def fail(self, job: dict, message: str, *, retryable: bool = True) -> dict:
        body = {
            "stage": job["stage"],
            "status": "error",
            "error_message": (message or "failed without a message")[:MAX_MESSAGE],
            "retryable": retryable,
            "lease_token": job["lease_token"],
        }
        return await self._update(job, body)

    async def release(self, job: dict) -> dict:
        """Hand an unfinished job back: queued again at once, the run not counted."""
        body = {"stage": job["stage"], "status": "queued", "lease_token": job["lease_token"]}
        return await self._update(job, body)

    async def _update(self, job: dict, body: dict[str, Any]) -> dict:
        path = f"/queue/{_seg(job['job_id'])}/update"
        return await self._call("POST", path, body=body, lease=JOB_GONE, retry_for=None)

    async def add(self, app_id: str, **fields: Any) -> dict:
        return await self._call("POST", "/queue/add", body={"app_id": app_id, **fields})

    async def status(self, app_id: str) -> dict:
        return await self._call("GET", f"/queue/status/{_seg(app_id)}")

    async def overview(self) -> dict:
        return await self._call("GET", "/queue/overview")

    # Results

    async def post_reviews(self, job: dict, reviews: list[dict]) -> dict:
        body = {"job_id": job["job_id"], "lease_token": job["lease_token"], "reviews": reviews}
        path = f"/apps/{_seg(job['app_id'])}/reviews"
        return await self._call("POST", path, body=body, lease=LEASE_REFUSED)

    async def iter_reviews(self, app_id: str, *, page_size: int = 500) -> AsyncIterator[dict]:
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"limit": page_size}
            if cursor:
                params["cursor"] = cursor
            page = await self._call("GET", f"/apps/{_seg(app_id)}/reviews", params=params)
            for review in page["reviews"]:
                yield review
            cursor = page.get("next_cursor")
            if not cursor:
                return

    async def put_analysis(
        self, job: dict, reviews: list[dict], summary: dict | None = None
    ) -> dict:
        body = {
            "job_id": job["job_id"],
            "lease_token": job["lease_token"],
            "reviews": reviews,
            "summary": summary,
        }
        path = f"/apps/{_seg(job['app_id'])}/analysis"
        return await self._call("PUT", path, body=body, lease=LEASE_REFUSED)

    async def summary(self, app_id: str) -> dict:
        return await self._call("GET", f"/apps/{_seg(app_id)}/summary")

    # One request, retried while the failure is transient

    async def _call(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: dict[str, Any] | None = None,
        lease: tuple[int, ...] = (),
        retry_for: float | None = DEFAULT,
    ) -> Any:
        """retry_for: seconds to keep retrying; None: until a definitive answer."""
        if retry_for is DEFAULT:
            retry_for = self.retry_for
        loop = asyncio.get_running_loop()
        deadline = None if retry_for is None else loop.time() + retry_for
        content = None if body is None else json.dumps(body, default=_json_default)
        headers = None if content is None else {"Content-Type": "application/json"}
        backoff = Backoff(self.retry_policy)
        while True:
            try:
                response = await self._http.request(
                    method, path, content=content, params=params, headers=headers
                )
            except httpx.TransportError as exc:
                problem = f"{type(exc).__name__}: {exc}".rstrip(": ")
            else:
                if response.is_success:
                    if backoff.attempts:
                        log.info(
                            "%s %s went through after %d retries", method, path, backoff.attempts
                        )
                    return response.json() if response.content else {}
                if not _is_transient(response.status_code):
                    raise _definitive(response, lease)
                problem = f"HTTP {response.status_code} {_error_text(response)}"
            delay = backoff.next_delay()
            if deadline is not None and loop.time() + delay > deadline:
                raise ServiceUnavailableError(f"{method} {path}: {problem}")
            log.warning(
                "%s %s failed (%s); retry %d in %.1fs",
                method,
                path,
                problem,
                backoff.attempts,
                delay,
            )
            await asyncio.sleep(delay)


def _is_transient(status_code: int) -> bool:
    return status_code >= 500 or status_code in TRANSIENT_STATUSES


def _definitive(response: httpx.Response, lease: tuple[int, ...]) -> Exception:
    text = _error_text(response)
    if response.status_code in lease:
        return LeaseLostError(f"HTTP {response.status_code}: {text}")
    try:
        body = response.json()
    except ValueError:
        body = response.text
    return ServiceError(response.status_code, text, body)


def _error_text(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(body, dict) and body.get("error"):
        return str(body["error"])
    return response.text[:200]


def _json_default(value: Any) -> str:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _seg(value: str) -> str:
    """One path segment, escaped."""
    return quote(str(value), safe="")
