"""Small steps of the seed's worker flow, shared by the API tests; and a clock to move by
hand."""

from datetime import UTC, datetime
from typing import Any

START = datetime(2025, 4, 20, 8, 0, tzinfo=UTC)


class Clock:
    """A clock a test moves itself: `clock.now += timedelta(seconds=11)`."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def collect(source: Any, app_id: str, **kwargs: Any) -> list:
    """Every page a scraper source yields for the app."""
    return [page async for page in source.fetch(app_id, **kwargs)]


JSON = {"Content-Type": "application/json"}  # what every POST and PUT sends, with a body or not


async def add(client: Any, app_id: str, **fields: Any) -> dict:
    response = await client.post("/queue/add", json={"app_id": app_id, **fields})
    assert response.status_code in (200, 201), response.text
    return response.json()


async def claim(client: Any, stage: str, worker_id: str = "w1", **fields: Any) -> list[dict]:
    response = await client.post(
        "/queue/poll", json={"stage": stage, "worker_id": worker_id, **fields}
    )
    assert response.status_code == 200, response.text
    return response.json()


async def update(client: Any, job_id: str, stage: str, status: str, **fields: Any):
    return await client.post(
        f"/queue/{job_id}/update", json={"stage": stage, "status": status, **fields}
    )


async def history(client: Any, job_id: str) -> list[dict]:
    response = await client.get(f"/queue/jobs/{job_id}/history")
    assert response.status_code == 200, response.text
    return response.json()
