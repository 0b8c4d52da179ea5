"""GET /workers: the workers seen lately, what they hold now and what they did today."""

from typing import Annotated

from litestar import Controller, get
from litestar.params import QueryParameter

from service.access import needs
from service.clock import day_start, iso
from service.keys import Role
from service.routes.deps import SettingsDep, StoreDep, WorkersDep
from service.routes.docs import errors
from service.schemas import WorkersView, WorkerView
from service.stats import QueueStats
from service.workers import LISTED_FOR, is_live


class WorkersController(Controller):
    path = "/workers"
    tags = ["workers"]

    @get(
        opt=needs(Role.READER),
        summary="The workers seen in the last day: stages, version, capabilities, host, last "
        "seen, the jobs each holds now, its runs finished and failed today",
        description="A worker not seen for three lease lengths is gone. Workers are recorded "
        "by their claims and heartbeats, at most every 5 s each.",
        responses=errors(422),
    )
    async def workers(
        self,
        store: StoreDep,
        workers: WorkersDep,
        settings: SettingsDep,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 100,
    ) -> WorkersView:
        now = store.now()
        seen = await workers.seen_since(now - LISTED_FOR, limit)
        held = await workers.held_by([w["_id"] for w in seen])
        today = day_start(now, settings.zone)
        runs = await QueueStats(store).runs_by_worker(today) if seen else {}
        listed = []
        for worker in seen:
            done = runs.get(worker["_id"])
            listed.append(
                WorkerView(
                    worker_id=worker["_id"],
                    state="live" if is_live(worker, now, settings.lease_seconds) else "gone",
                    stages=sorted(worker.get("stages") or []),
                    version=worker.get("version"),
                    capabilities=worker.get("capabilities") or [],
                    host=worker.get("host"),
                    first_seen=iso(worker["first_seen"]),
                    last_seen=iso(worker["last_seen"]),
                    lease_seconds=worker.get("lease_seconds"),
                    jobs=held.get(worker["_id"], []),
                    finished_today=done.finished if done else 0,
                    failed_today=done.failed if done else 0,
                )
            )
        live = sum(w.state == "live" for w in listed)
        return WorkersView(timestamp=iso(now), live=live, gone=len(listed) - live, workers=listed)
