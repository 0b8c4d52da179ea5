"""What `review-queue demo` prints: a live table in a terminal, one line per change of a job's
stage or status elsewhere (pipes, CI), and in both the final report. ASCII only, so the output
stays readable whatever the terminal's encoding."""

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.markup import escape
from rich.padding import Padding
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

BAR_WIDTH = 12
STATUS_STYLES = {
    "queued": "yellow",
    "processing": "cyan",
    "completed": "green",
    "error": "bold red",
    "cancelled": "magenta",
}


@dataclass
class Outcome:
    """How the demo ended: each app's last job, the summaries, the overview, what went wrong."""

    jobs: dict[str, dict]
    timeout: float
    summaries: dict[str, dict] = field(default_factory=dict)
    overview: dict | None = None
    problems: list[str] = field(default_factory=list)
    interrupted: bool = False
    elapsed: float = 0.0
    shutdown_seconds: float = 0.0
    kept: bool = False  # --keep: the service stays up after this report

    @property
    def ok(self) -> bool:
        return not self.problems


class DemoView:
    def __init__(self, console: Console, apps: Sequence[str], unknown_app: str | None) -> None:
        self.console = console
        self.apps = list(apps)
        self.unknown_app = unknown_app
        self.all_apps = [*self.apps, *([unknown_app] if unknown_app else [])]
        self.interactive = console.is_terminal and not console.is_dumb_terminal
        self._started = time.monotonic()
        self._jobs: dict[str, dict] = {}
        self._overview: dict | None = None
        self._seen: dict[str, tuple] = {}
        self._live: Live | None = None

    # While it runs

    def started(self, url: str) -> None:
        print_ = partial(self.console.print, soft_wrap=True)
        print_(
            f"[bold]review-queue demo[/]: the service on {url} (embedded store: nothing persists)"
        )
        print_("  one scraper worker (fixtures source) and one NLP worker, over HTTP")
        print_(f"  adding {len(self.apps)} apps: {', '.join(self.apps)}")
        if self.unknown_app:
            print_(
                f"  and {self.unknown_app}, which the fixtures do not know: its scraper job "
                "fails at once, not retryable (a dead letter)"
            )
        if not self.interactive:
            print_("Progress (a line per change of stage or status):")

    @contextmanager
    def live(self) -> Iterator[None]:
        if not self.interactive:
            yield
            return
        with Live(
            self._board(), console=self.console, refresh_per_second=8, transient=True
        ) as self._live:
            yield
        self._live = None

    def update(self, jobs: dict[str, dict], overview: dict | None) -> None:
        self._jobs, self._overview = dict(jobs), overview
        if self._live is not None:
            self._live.update(self._board())
            return
        for app_id in self.all_apps:
            job = jobs.get(app_id)
            if job is None:
                continue
            state = (job.get("stage"), job.get("status"))
            if self._seen.get(app_id) != state:
                self._seen[app_id] = state
                self._print_change(app_id, job)

    def _print_change(self, app_id: str, job: dict) -> None:
        line = Text(f"{self._elapsed():6.1f}s  {app_id:<24} ")
        line.append(f"{job.get('stage')}/{job.get('status')}", _style(job))
        detail = _detail(job)
        if detail:
            line.append(f"  {detail}")
        self.console.print(line, soft_wrap=True)

    def dashboard(self, url: str, keys: dict[str, str]) -> None:
        """Where to watch it (--keep), said as soon as the service is up."""
        print_ = partial(self.console.print, soft_wrap=True)
        print_(f"[bold]Dashboard:[/] {url}/dashboard")
        print_(f"  reader key:   {keys['demo-reader']}")
        print_(f"  operator key: {keys['demo-operator']}  (may also requeue and cancel)")

    def keeping(self, url: str, keys: dict[str, str], rerun_every: float) -> None:
        print_ = partial(self.console.print, soft_wrap=True)
        print_()
        print_("[bold]The service keeps running[/] (--keep): open the dashboard and paste a key.")
        self.dashboard(url, keys)
        if rerun_every:
            print_(
                f"  The demo apps are queued again, one at a time, a round every "
                f"{rerun_every:g}s: watch them move."
            )
        print_("Press Ctrl-C to stop.")

    def stopped(self, reason: str | None, shutdown_seconds: float) -> None:
        why = f" ({reason})" if reason else ""
        self.console.print(f"Stopped{why}, shutdown {shutdown_seconds:.1f}s.", soft_wrap=True)

    def shutting_down(self) -> None:
        self.console.print("Stopping the workers and the service ...")

    def fatal(self, message: str) -> None:
        self.console.print(f"[bold red]Demo failed:[/] {escape(message)}", soft_wrap=True)

    # The end

    def report(self, outcome: Outcome) -> None:
        self._jobs = outcome.jobs
        print_ = self.console.print
        print_()
        print_(self._table(title="Jobs (GET /queue/status/{app_id})", detail=False))
        if outcome.overview is not None:
            print_()
            print_(self._overview_block(outcome.overview))
        if outcome.summaries:
            print_()
            print_("[bold]Summaries (GET /apps/{app_id}/summary)[/]")
            for app_id in self.apps:
                summary = outcome.summaries.get(app_id)
                if summary is not None:
                    print_()
                    print_(_summary_block(app_id, summary))
        if self.unknown_app and outcome.jobs.get(self.unknown_app, {}).get("status") == "error":
            print_()
            print_(_error_block(self.unknown_app, outcome.jobs[self.unknown_app]))
        print_()
        print_ = partial(self.console.print, soft_wrap=True)
        timing = f"in {outcome.elapsed:.1f}s"
        if not outcome.kept:
            timing += f" (shutdown {outcome.shutdown_seconds:.1f}s)"
        if outcome.ok:
            failed = f"; {self.unknown_app} failed as expected" if self.unknown_app else ""
            print_(
                f"[bold green]Demo finished[/] {timing}: "
                f"{len(outcome.summaries)} apps completed{failed}."
            )
        else:
            heading = "Demo interrupted" if outcome.interrupted else "Demo FAILED"
            print_(f"[bold red]{heading}[/] {timing}:")
            for problem in outcome.problems:
                print_(f"  - {escape(problem)}")

    # Renderables

    def _board(self) -> RenderableType:
        return Group(self._table(), Text(self._caption(), style="dim"))

    def _caption(self) -> str:
        text = f"{self._elapsed():.1f}s"
        if self._overview:
            text += "  |  " + _overview_line(self._overview)
        return text

    def _table(self, title: str | None = None, *, detail: bool = True) -> Table:
        """One row per app; `detail` adds the progress or error message (cut to fit)."""
        table = Table(title=title, title_justify="left")
        app_width = max(map(len, self.all_apps), default=3)
        table.add_column("app", no_wrap=True, min_width=app_width)
        table.add_column("stage", no_wrap=True, min_width=7)
        table.add_column("status", no_wrap=True, min_width=10)
        table.add_column("progress", no_wrap=True, min_width=BAR_WIDTH)
        table.add_column("", justify="right", no_wrap=True, min_width=4)
        if detail:  # whatever width is left, so that each app stays on one line
            used = app_width + 7 + 10 + BAR_WIDTH + 4 + 3 * 6 + 1
            room = max(10, self.console.width - used)
            table.add_column("detail", no_wrap=True, overflow="ellipsis", max_width=room)
        for app_id in self.all_apps:
            job = self._jobs.get(app_id)
            if job is None:
                table.add_row(app_id, "", "adding")
                continue
            percent = _percent(job)
            cells: list[RenderableType] = [
                app_id,
                job.get("stage", ""),
                Text(job.get("status", ""), _style(job)),
                ProgressBar(total=100, completed=percent, width=BAR_WIDTH),
                f"{percent:.0f}%",
            ]
            if detail:
                cells.append(Text(_detail(job)))
            table.add_row(*cells)
        return table

    def _overview_block(self, overview: dict) -> RenderableType:
        return Group(
            Text("Overview (GET /queue/overview)", style="bold"),
            Text(f"  {_overview_line(overview)}"),
            Text(f"  active by stage/status: {_by_state(overview.get('counts', {}))}"),
            Text(f"  finished today: {_by_state(overview.get('finished_today', {}))}"),
        )

    def _elapsed(self) -> float:
        return time.monotonic() - self._started


def _by_state(counts: dict[str, dict[str, int]]) -> str:
    found = ", ".join(
        f"{stage}/{status} {n}"
        for stage, statuses in sorted(counts.items())
        for status, n in sorted(statuses.items())
    )
    return found or "none"


def _overview_line(overview: dict) -> str:
    return (
        f"active {overview.get('active_total', 0)}, "
        f"done today {overview.get('done_jobs_today', 0)}, "
        f"errors today {overview.get('error_jobs_today', 0)}"
    )


def _summary_block(app_id: str, summary: dict) -> RenderableType:
    count = summary.get("review_count", 0)
    sentiment = summary.get("sentiment") or {}
    average = summary.get("average_rating")
    grid = Table.grid(padding=(0, 2))
    grid.add_column(no_wrap=True, style="dim")
    grid.add_column(overflow="fold")
    grid.add_row("reviews", str(count))
    grid.add_row("average rating", "n/a" if average is None else f"{average:.2f} / 5")
    grid.add_row(
        "sentiment",
        ", ".join(
            f"{label} {sentiment.get(label, 0)} ({_share(sentiment.get(label, 0), count)})"
            for label in ("positive", "neutral", "negative")
        ),
    )
    languages = sorted((summary.get("languages") or {}).items(), key=lambda kv: (-kv[1], kv[0]))
    grid.add_row("languages", ", ".join(f"{code} {n}" for code, n in languages) or "none")
    keywords = summary.get("top_keywords") or {}
    for label in ("positive", "negative"):
        grid.add_row(f"{label} keywords", escape(", ".join(keywords.get(label) or [])) or "none")
    return Group(Text(app_id, style="bold"), Padding(grid, (0, 0, 0, 2)))


def _error_block(app_id: str, job: dict) -> RenderableType:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(no_wrap=True, style="dim")
    grid.add_column(overflow="fold")
    grid.add_row("error", escape(job.get("error_message") or "(no message)"))
    title = Text(app_id, style="bold")
    title.append(f"  {job.get('stage')}/{job.get('status')}", _style(job))
    if job.get("status") == "error":
        title.append(" (a dead letter)")
    return Group(title, Padding(grid, (0, 0, 0, 2)))


def _share(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "-"


def _percent(job: dict) -> float:
    if (job.get("stage"), job.get("status")) == ("done", "completed"):
        return 100.0
    if job.get("status") == "queued":
        return 0.0
    return float(job.get("progress") or 0.0)


def _detail(job: dict) -> str:
    if job.get("status") == "error":
        return job.get("error_message") or ""
    if job.get("status") == "processing":
        return job.get("progress_message") or ""
    return ""


def _style(job: dict) -> str:
    return STATUS_STYLES.get(job.get("status", ""), "")
