"""GET /queue/stats: per stage, what is queued, delayed and processing, what finished and failed
today and in the last hour, and how long the oldest claimable job has waited."""

from litestar import Controller, get

from service.access import needs
from service.clock import day_start, iso
from service.keys import Role
from service.routes.deps import SettingsDep, StoreDep
from service.routes.docs import errors
from service.schemas import QueueStatsView, StageStats
from service.stats import QueueStats, hour_before


class StatsController(Controller):
    path = "/queue"
    tags = ["queue"]

    @get(
        "/stats",
        opt=needs(Role.READER),
        summary="Per stage: queued, delayed, processing, finished and failed today and in the "
        "last hour, the oldest claimable job's wait",
        description="Two aggregations: the active jobs, and the runs that ended since the "
        "start of today (in REVIEW_QUEUE_TIMEZONE) or the last hour, whichever is earlier.",
        responses=errors(bad_request=False),
    )
    async def stats(self, store: StoreDep, settings: SettingsDep) -> QueueStatsView:
        now = store.now()
        today = day_start(now, settings.zone)
        stats = QueueStats(store)
        active = await store.active_by_stage(now)
        runs = await stats.runs_since(today, hour_before(now))
        stages = {}
        for stage, counts in active.items():
            ended = runs.by_stage.get(stage)
            stages[stage] = StageStats(
                queued=counts.queued,
                delayed=counts.delayed,
                processing=counts.processing,
                finished_today=ended.finished if ended else 0,
                failed_today=ended.failed if ended else 0,
                finished_last_hour=ended.finished_recently if ended else 0,
                failed_last_hour=ended.failed_recently if ended else 0,
                oldest_claimable_seconds=counts.oldest_age(now),
            )
        return QueueStatsView(timestamp=iso(now), today_since=iso(today), stages=stages)
