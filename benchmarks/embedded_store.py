"""How the embedded store (mongomock, MONGODB_URI unset) slows down as jobs pile up.

    .venv/bin/python -m benchmarks.embedded_store [--sizes 1000,10000] [--claims 20]

For each size it stores that many queued jobs, then times claims (`claim_next`, what
`POST /queue/poll` does) and a status read (`current_for_app`). mongomock has no indexes to
search with: every query reads every stored document, and a call never yields to the event
loop, so while one runs the service answers no other request. A real MongoDB serves each of
these queries from an index (tests/test_query_plans.py).
"""

import argparse
import asyncio
import statistics
import time

from mongomock_motor import AsyncMongoMockClient

from service.domain import Stage
from service.store import JobStore


async def measure(size: int, claims: int) -> tuple[float, float]:
    store = JobStore(AsyncMongoMockClient()[f"bench_{size}"])
    jobs = [store._new_job(f"app.{n}", 5, {}, 3) for n in range(size)]
    await store.jobs.insert_many(jobs)  # before the unique indexes: each would scan per insert
    await store.ensure_indexes()
    claim_ms, status_ms = [], []
    for n in range(claims):
        started = time.perf_counter()
        assert await store.claim_next(Stage.SCRAPER, "bench", 600) is not None
        claim_ms.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        await store.current_for_app(f"app.{size - 1 - n}")
        status_ms.append((time.perf_counter() - started) * 1000)
    return statistics.median(claim_ms), statistics.median(status_ms)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--claims", type=int, default=20)
    options = parser.parse_args()
    print("jobs stored   claim (median ms)   status read (median ms)")
    for size in (int(s) for s in options.sizes.split(",")):
        claim, status = asyncio.run(measure(size, options.claims))
        print(f"{size:>11,}   {claim:>17.1f}   {status:>23.1f}")


if __name__ == "__main__":
    main()
