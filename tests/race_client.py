"""A racing client process: `python tests/race_client.py URL claim N` claims scraper jobs with
N concurrent claimers until the queue is empty; `... URL add N APP_ID` sends N concurrent adds.
Prints one JSON line: the claimed job ids, or the adds' (status code, job id) pairs."""

import asyncio
import json
import os
import sys

import httpx


async def claim_all(url: str, claimers: int) -> list[str]:
    claimed: list[str] = []
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:

        async def claimer(n: int) -> None:
            worker_id = f"pid{os.getpid()}-{n}"
            while True:
                response = await client.post(
                    "/queue/poll", json={"stage": "scraper", "worker_id": worker_id}
                )
                response.raise_for_status()
                if not response.json():
                    return
                claimed.extend(job["job_id"] for job in response.json())

        await asyncio.gather(*(claimer(n) for n in range(claimers)))
    return claimed


async def add_many(url: str, adds: int, app_id: str) -> list[tuple[int, str]]:
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        responses = await asyncio.gather(
            *(client.post("/queue/add", json={"app_id": app_id}) for _ in range(adds))
        )
    return [(r.status_code, r.json().get("job_id")) for r in responses]


def main() -> None:
    url, mode, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if mode == "claim":
        result = asyncio.run(claim_all(url, n))
    else:
        result = asyncio.run(add_many(url, n, sys.argv[4]))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
