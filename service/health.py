"""What GET /health reports: whether the store answers, and the queue's issues, each with its
figure and the threshold it passed (settings):

- `no_live_worker`: a stage has claimable jobs and no live worker (one seen within three
  lease lengths that works that stage);
- `oldest_claimable`: the job that has waited longest at a stage has been claimable for longer
  than REVIEW_QUEUE_HEALTH_MAX_WAIT_SECONDS;
- `failure_share`: of a stage's runs that ended in the last hour (at least
  REVIEW_QUEUE_HEALTH_MIN_RUNS of them), a larger share than REVIEW_QUEUE_HEALTH_MAX_FAILURE_SHARE
  failed (retried, failed for good, or lease expired);
- `backlog`: a stage has more claimable jobs than REVIEW_QUEUE_HEALTH_MAX_BACKLOG.

Three queries: the active jobs' counts, the runs that ended in the last hour, the workers seen
within the longest a worker can stay live. GET /health is public and polled (by compose, load
balancers, anyone who reaches the port), and those queries grow with the backlog, so a
process runs them at most once every FRESH_SECONDS (service/fresh.py).
"""

from datetime import datetime, timedelta

from service.domain import MAX_LEASE_SECONDS
from service.fresh import Fresh
from service.schemas import HealthIssue
from service.settings import Settings
from service.stats import QueueStats, StageRuns, hour_before
from service.store import JobStore, StageActive
from service.workers import GONE_AFTER_LEASES, WorkerRegistry, is_live

LONGEST_LIVE = timedelta(seconds=GONE_AFTER_LEASES * MAX_LEASE_SECONDS)
FRESH_SECONDS = 2.0


def kept_answers() -> Fresh[list[HealthIssue]]:
    """Where a service process keeps its latest answer, FRESH_SECONDS long."""
    return Fresh(FRESH_SECONDS)


async def queue_issues(
    store: JobStore, workers: WorkerRegistry, settings: Settings
) -> list[HealthIssue]:
    now = store.now()
    stats = QueueStats(store)
    active = await store.active_by_stage(now)
    runs = await stats.runs_since(now, hour_before(now))
    seen = await workers.seen_since(now - LONGEST_LIVE)
    live_stages: dict[str, int] = {}
    for worker in seen:
        if is_live(worker, now, settings.lease_seconds):
            for stage in worker.get("stages") or []:
                live_stages[stage] = live_stages.get(stage, 0) + 1
    return assess(active, runs.by_stage, live_stages, now, settings)


def assess(
    active: dict[str, StageActive],
    runs: dict[str, StageRuns],
    live_workers: dict[str, int],
    now: datetime,
    settings: Settings,
) -> list[HealthIssue]:
    issues = []
    for stage, counts in active.items():
        if counts.queued and not live_workers.get(stage):
            issues.append(
                HealthIssue(
                    "no_live_worker",
                    f"{counts.queued} claimable {stage} jobs and no live {stage} worker",
                    figure=counts.queued,
                    threshold=0,
                    stage=stage,
                )
            )
        age = counts.oldest_age(now)
        if age is not None and age > settings.health_max_wait_seconds:
            issues.append(
                HealthIssue(
                    "oldest_claimable",
                    f"The oldest claimable {stage} job has waited {age:.0f} s",
                    figure=round(age, 3),
                    threshold=settings.health_max_wait_seconds,
                    stage=stage,
                )
            )
        if counts.queued > settings.health_max_backlog:
            issues.append(
                HealthIssue(
                    "backlog",
                    f"{counts.queued} claimable {stage} jobs",
                    figure=counts.queued,
                    threshold=settings.health_max_backlog,
                    stage=stage,
                )
            )
    for stage, ended in runs.items():
        total = ended.finished_recently + ended.failed_recently
        if total < settings.health_min_runs:
            continue
        share = ended.failed_recently / total
        if share > settings.health_max_failure_share:
            issues.append(
                HealthIssue(
                    "failure_share",
                    f"{ended.failed_recently} of the {total} {stage} runs that ended in the "
                    "last hour failed",
                    figure=round(share, 4),
                    threshold=settings.health_max_failure_share,
                    stage=stage,
                )
            )
    return issues
