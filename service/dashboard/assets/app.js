// The dashboard: a page per view (#/, #/dead-letters, #/jobs/<id>, #/apps/<id>,
// #/reports[/<date>]), fed by the API and kept current by the live event stream.

import {
  ApiError,
  api,
  canOperate,
  followEvents,
  forgetKey,
  onUnauthorized,
  rememberKey,
  session,
  whoAmI,
} from "./api.js";
import { areaChart, barChart, donut, hbars, legend, rangePlot, stackBar, timeLabel } from "./charts.js";
import { ago, clear, clock, dateTime, duration, esc, fill, h, newest, number, percent, shortId, since } from "./dom.js";

const main = document.getElementById("main");
const STAGES = ["scraper", "nlp"];
const COLOR = {
  scraper: "#6366f1",
  nlp: "#0d9488",
  done: "#16a34a",
  added: "#6366f1",
  completed: "#16a34a",
  failed: "#dc2626",
  positive: "#16a34a",
  neutral: "#94a3b8",
  negative: "#dc2626",
  wait: "#f59e0b",
  processing: "#3b82f6",
};
const EVENT_WORDS = {
  created: "added",
  claimed: "claimed",
  stage_finished: "scraped, on to NLP",
  completed: "completed",
  failed: "failed",
  retry_scheduled: "failed, will retry",
  released: "handed back",
  lease_expired: "lease expired",
  requeued: "requeued",
  cancelled: "cancelled",
};
const ACTIVE = new Set(["queued", "processing"]);

let current = null; // the page shown: {onEvent, onLive, dispose}
let stream = null;
let connectedBefore = false;

// Small pieces

function badge(status, text) {
  return h(`span.badge.s-${status}`, text || status);
}

function stageChip(stage) {
  return h(`span.chip.st-${stage}`, stage);
}

function jobLink(id, text) {
  return h("a.mono", { href: `#/jobs/${esc(id)}`, title: id }, text || shortId(id));
}

function appLink(id) {
  return h("a.app", { href: `#/apps/${esc(id)}` }, id);
}

function progressBar(job) {
  const value = job.stage === "done" ? 100 : job.status === "processing" ? job.progress || 0 : 0;
  return h(
    "div.progress",
    { dataset: { jobId: job.job_id, value: Math.round(value) }, title: `${Math.round(value)}%` },
    h("span.fill", { class: job.status === "processing" ? "moving" : "", style: { width: `${value}%` } }),
  );
}

function card(title, ...children) {
  return h("section.card", title ? h("h2", title) : null, ...children);
}

function tile(label, value, { cls = "", href, sub } = {}) {
  const body = [h("span.value", value), h("span.label", label), sub ? h("span.sub", sub) : null];
  return href ? h(`a.tile.${cls || "plain"}`, { href }, body) : h(`div.tile.${cls || "plain"}`, body);
}

function empty(text) {
  return h("p.empty", text);
}

// Runs fn `wait` ms after the last call, but no later than `maxWait` ms after the first call
// it has not yet answered: a steady stream of events still refreshes the page.
function debounce(fn, wait, maxWait = 4 * wait) {
  let timer = null;
  let since = 0;
  return (...args) => {
    const now = Date.now();
    if (timer === null) since = now;
    clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      fn(...args);
    }, Math.max(0, Math.min(wait, since + maxWait - now)));
  };
}

function toast(message, kind = "info") {
  const el = h(`div.toast.${kind}`, message);
  document.getElementById("toasts").append(el);
  setTimeout(() => el.classList.add("gone"), 3500);
  setTimeout(() => el.remove(), 4000);
}

function failure(error) {
  if (error instanceof ApiError) return `${error.message} (${error.status})`;
  return String(error?.message || error);
}

function loading() {
  return h("div.loading", h("span.spinner"), "Loading…");
}

async function guarded(target, work) {
  try {
    await work();
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return;
    fill(target, h("div.card.problem", h("h2", "Could not load this"), h("p", failure(error))));
  }
}

/** Requeue / cancel: operator keys only. */
function actionButtons(job, after) {
  if (!canOperate()) return null;
  const buttons = [];
  if (job.status === "error") {
    buttons.push(
      h("button.primary", {
        type: "button",
        dataset: { action: "requeue", jobId: job.job_id },
        on: { click: (e) => act(e.currentTarget, "requeue", job, after) },
      }, "Requeue"),
    );
  }
  if (["queued", "processing", "error"].includes(job.status)) {
    buttons.push(
      h("button.danger", {
        type: "button",
        dataset: { action: "cancel", jobId: job.job_id },
        on: { click: (e) => act(e.currentTarget, "cancel", job, after) },
      }, "Cancel"),
    );
  }
  return h("div.actions", buttons);
}

async function act(button, action, job, after) {
  if (action === "cancel" && button.dataset.armed !== "yes") {
    button.dataset.armed = "yes"; // a second click confirms
    button.textContent = "Really cancel?";
    setTimeout(() => {
      button.dataset.armed = "";
      button.textContent = "Cancel";
    }, 4000);
    return;
  }
  button.disabled = true;
  try {
    const changed = await api(`/queue/${esc(job.job_id)}/${action}`, { method: "POST" });
    toast(`${job.app_id}: ${action === "requeue" ? "requeued" : "cancelled"} (now ${changed.stage}/${changed.status})`, "ok");
    after?.(changed);
  } catch (error) {
    toast(`${job.app_id}: ${failure(error)}`, "bad");
    button.disabled = false;
  }
}

// The queue now

function queuePage() {
  const pipeline = h("section.pipeline", loading());
  const hourly = h("div.chart-box", loading());
  const oldest = h("div.oldest");
  const activeBody = h("tbody");
  const activeCount = h("span.count");
  const workersBody = h("tbody");
  const workersCount = h("span.count");
  const feed = h("ol.feed", h("li.placeholder.muted", "Nothing has changed since this page opened: each change shows here as it happens."));
  const page = h(
    "div.page",
    h("div.page-head", h("h1", "The queue now"), h("p.muted", "Counts, today's flow and every active job, live.")),
    pipeline,
    h(
      "div.grid-2",
      card("Jobs per hour today", hourly, legend([
        { label: "added", color: COLOR.added },
        { label: "completed", color: COLOR.completed },
        { label: "failed", color: COLOR.failed },
      ])),
      card("Oldest waiting", oldest),
    ),
    h(
      "section.card",
      h("h2", "Active jobs ", activeCount),
      h(
        "table.table#active-jobs",
        h("thead", h("tr", ["App", "Job", "Stage", "Status", "Progress", "Worker", "Waiting / running", "Priority"].map((t) => h("th", t)))),
        activeBody,
      ),
    ),
    h(
      "section.card",
      h("h2", "Workers ", workersCount),
      h(
        "table.table#workers",
        h("thead", h("tr", ["Worker", "State", "Stages", "Version", "Holds", "Done today", "Failed today", "Last seen"].map((t) => h("th", t)))),
        workersBody,
      ),
    ),
    card("Live activity", feed),
  );
  main.append(page);

  const jobs = new Map();
  const rows = new Map();
  let overview = null;
  let waiting = null;

  function drawPipeline() {
    const counts = overview.counts || {};
    const stageCard = (stage) => {
      const c = counts[stage] || {};
      return h(
        `div.stage-card.st-${stage}`,
        { dataset: { stage } },
        h("h3", stage === "scraper" ? "Scraper" : "NLP"),
        h(
          "div.numbers",
          tile("queued", number(c.queued || 0), { cls: "q" }),
          tile("backing off", number(c.delayed || 0), { cls: "d" }),
          tile("processing", number(c.processing || 0), { cls: "p" }),
        ),
      );
    };
    const finished = overview.finished_today || {};
    const errors = overview.error_jobs_today;
    fill(pipeline, 
      stageCard("scraper"),
      h("div.arrow", "→"),
      stageCard("nlp"),
      h("div.arrow", "→"),
      h(
        "div.stage-card.st-done",
        h("h3", "Today"),
        h(
          "div.numbers",
          tile("completed", number(overview.done_jobs_today), { cls: "c" }),
          tile("failed", number(errors), { cls: errors ? "e" : "plain", href: "#/dead-letters" }),
          tile("cancelled", number(Object.values(finished).reduce((s, v) => s + (v.cancelled || 0), 0)), { cls: "plain" }),
        ),
      ),
    );
  }

  function drawOldest() {
    if (!waiting) return;
    fill(oldest, 
      STAGES.map((stage) => {
        const job = waiting[stage];
        if (!job) return h("div.oldest-row", stageChip(stage), h("span.muted", "nothing waiting"));
        const delayed = job.available_at && Date.parse(job.available_at) > Date.now();
        return h(
          "div.oldest-row",
          { dataset: { stage } },
          stageChip(stage),
          appLink(job.app_id),
          jobLink(job.job_id),
          h("span.age", { title: `asked for ${dateTime(job.requested_at)}` }, since(job.requested_at)),
          delayed ? badge("delayed", `retry in ${since(new Date().toISOString(), Date.parse(job.available_at))}`) : null,
        );
      }),
    );
  }

  function rowFor(job) {
    const tr = h(
      "tr",
      { dataset: { jobId: job.job_id, appId: job.app_id } },
      h("td", appLink(job.app_id)),
      h("td", jobLink(job.job_id)),
      h("td", stageChip(job.stage)),
      h("td", badge(job.status)),
      h("td.progress-cell", progressBar(job), h("span.message", job.progress_message || "")),
      h("td.mono", job.worker_id || "–"),
      h("td.age", { dataset: { since: job.updated_at || job.requested_at } }, since(job.updated_at || job.requested_at)),
      h("td", job.priority ?? "–"),
    );
    return tr;
  }

  function drawActive() {
    const list = [...jobs.values()].sort((a, b) => (a.requested_at || "").localeCompare(b.requested_at || ""));
    rows.clear();
    clear(activeBody);
    if (!list.length) activeBody.append(h("tr", h("td.empty", { colspan: 8 }, "No active jobs: the queue is empty.")));
    for (const job of list) {
      const tr = rowFor(job);
      rows.set(job.job_id, tr);
      activeBody.append(tr);
    }
    activeCount.textContent = overview && overview.active_total > list.length
      ? `${list.length} of ${number(overview.active_total)}`
      : String(list.length);
  }

  function drawWorkers(found) {
    clear(workersBody);
    const list = found.workers || [];
    workersCount.textContent = `${number(found.live)} live, ${number(found.gone)} gone`;
    if (!list.length) workersBody.append(h("tr", h("td.empty", { colspan: 8 }, "No worker has claimed a job today.")));
    for (const w of list) {
      workersBody.append(
        h(
          "tr",
          { dataset: { workerId: w.worker_id, state: w.state } },
          h("td.mono", { title: w.host ? `on ${w.host}` : "" }, w.worker_id),
          h("td", badge(w.state === "live" ? "live" : "gone")),
          h("td", (w.stages || []).map((stage) => stageChip(stage))),
          h("td.mono.muted", w.version || "–"),
          h("td", (w.jobs || []).length ? w.jobs.map((id) => jobLink(id)) : h("span.muted", "nothing")),
          h("td", number(w.finished_today)),
          h("td", number(w.failed_today)),
          h("td.age", { title: dateTime(w.last_seen) }, since(w.last_seen)),
        ),
      );
    }
  }

  function tickAges() {
    for (const cell of activeBody.querySelectorAll("td.age")) cell.textContent = since(cell.dataset.since);
    drawOldest();
  }

  const load = newest(
    () => Promise.all([api("/queue/overview?limit=200"), api("/queue/oldest-waiting"), api("/workers?limit=50")]),
    ([found, oldestFound, workersFound]) => {
      overview = found;
      waiting = oldestFound;
      drawWorkers(workersFound);
      jobs.clear();
      for (const job of found.active_jobs) jobs.set(job.job_id, job);
      drawPipeline();
      drawOldest();
      drawActive();
    },
  );

  const loadToday = newest(() => api("/reports/daily/today"), (today) => {
    const rowsPerHour = today.per_hour.map((hour) => ({
      label: hour.hour.slice(0, 2),
      values: { added: hour.added, completed: hour.completed, failed: hour.failed },
    }));
    fill(hourly, 
      barChart("jobs-per-hour", rowsPerHour, [
        { key: "added", label: "added", color: COLOR.added },
        { key: "completed", label: "completed", color: COLOR.completed },
        { key: "failed", label: "failed", color: COLOR.failed },
      ], { every: 3, height: 200 }),
    );
  });

  // The overview and the workers count today's runs: at most every 3 s while events flow.
  const refresh = debounce(() => guarded(pipeline, load), 250, 3000);
  // Today's report reads the whole day's history: at most every 30 s while events flow.
  const refreshToday = debounce(() => guarded(hourly, loadToday), 5000, 30000);
  guarded(pipeline, load);
  guarded(hourly, loadToday);
  const ticker = setInterval(tickAges, 1000);
  const slow = setInterval(() => {
    refresh();
    refreshToday();
  }, 30000);

  function addToFeed(e) {
    feed.querySelector(".placeholder")?.remove();
    feed.prepend(
      h(
        "li",
        { dataset: { event: e.event, jobId: e.job_id } },
        h("time", clock(e.timestamp)),
        appLink(e.app_id),
        h("span.what", EVENT_WORDS[e.event] || e.event),
        stageChip(e.stage),
        badge(e.status),
        e.worker_id ? h("span.mono.muted", e.worker_id) : null,
        e.error_message ? h("span.error-text", e.error_message) : null,
      ),
    );
    while (feed.children.length > 30) feed.lastChild.remove();
  }

  return {
    onEvent(kind, e) {
      if (kind === "progress") {
        const job = jobs.get(e.job_id);
        if (!job) return refresh();
        Object.assign(job, { progress: e.progress, progress_message: e.message, worker_id: e.worker_id, status: e.status, stage: e.stage });
        const tr = rows.get(e.job_id);
        if (tr) tr.replaceWith(rows.set(e.job_id, rowFor(job)).get(e.job_id));
        return;
      }
      addToFeed(e);
      if (ACTIVE.has(e.status)) {
        const known = jobs.get(e.job_id) || { job_id: e.job_id, app_id: e.app_id, requested_at: e.timestamp, priority: null };
        jobs.set(e.job_id, { ...known, stage: e.stage, status: e.status, worker_id: e.worker_id, updated_at: e.timestamp, progress: e.status === "queued" ? null : known.progress, progress_message: null });
      } else {
        jobs.delete(e.job_id);
      }
      drawActive();
      refresh();
      if (["created", "completed", "failed", "lease_expired"].includes(e.event)) refreshToday();
    },
    onLive() {
      refresh();
      refreshToday();
    },
    dispose() {
      clearInterval(ticker);
      clearInterval(slow);
    },
  };
}

// Dead letters

function deadLettersPage() {
  const body = h("tbody");
  const total = h("span.count");
  const more = h("button.ghost", { type: "button", hidden: true }, "Load more");
  let stage = "";
  let cursor = null;
  const filters = h(
    "div.segmented",
    ["", "scraper", "nlp"].map((value) =>
      h("button", {
        type: "button",
        class: value === stage ? "on" : "",
        dataset: { stage: value || "all" },
        on: {
          click: (e) => {
            stage = value;
            for (const b of filters.children) b.classList.toggle("on", b === e.currentTarget);
            reload();
          },
        },
      }, value || "all stages"),
    ),
  );
  const operator = canOperate();
  main.append(
    h(
      "div.page",
      h(
        "div.page-head",
        h("h1", "Dead letters"),
        h("p.muted", operator
          ? "Jobs left in error: no runs left, or not retryable. Requeue sends one round again at the stage it failed in."
          : "Jobs left in error. A key with the operator role may requeue or cancel them; this one reads only."),
      ),
      h(
        "section.card",
        h("div.card-head", h("h2", "Jobs in error ", total), filters),
        h(
          "table.table#dead-letters",
          h("thead", h("tr", ["App", "Job", "Stage", "Error", "Runs", "Failed", operator ? "" : null].filter((t) => t !== null).map((t) => h("th", t)))),
          body,
        ),
        more,
      ),
    ),
  );

  function row(job) {
    const tr = h(
      "tr",
      { dataset: { jobId: job.job_id, appId: job.app_id } },
      h("td", appLink(job.app_id)),
      h("td", jobLink(job.job_id)),
      h("td", stageChip(job.stage)),
      h("td.error-text", job.error_message || "–"),
      h("td", `${job.attempt}`, h("span.muted", ` / ${1 + (job.max_retries ?? 0)}`)),
      h("td", { title: dateTime(job.finished_at) }, ago(job.finished_at)),
      operator
        ? h("td", actionButtons(job, () => {
          tr.classList.add("leaving");
          setTimeout(() => {
            tr.remove();
            if (!body.children.length) body.append(h("tr", h("td.empty", { colspan: 7 }, "No dead letters.")));
          }, 300);
          total.textContent = String(Math.max(0, Number(total.textContent) - 1));
        }))
        : null,
    );
    return tr;
  }

  async function page(first) {
    const params = new URLSearchParams({ limit: "50" });
    if (stage) params.set("stage", stage);
    if (!first && cursor) params.set("cursor", cursor);
    const found = await api(`/queue/dead-letter?${params}`);
    if (first) clear(body);
    total.textContent = String(found.total);
    for (const job of found.jobs) body.append(row(job));
    if (!body.children.length) body.append(h("tr", h("td.empty", { colspan: 7 }, "No dead letters.")));
    cursor = found.next_cursor;
    more.hidden = !cursor;
  }

  const reload = () => guarded(body, () => page(true));
  more.addEventListener("click", () => guarded(body, () => page(false)));
  reload();
  const refresh = debounce(reload, 400);
  return {
    onEvent(kind, e) {
      if (kind === "change" && (e.status === "error" || ["requeued", "cancelled"].includes(e.event))) refresh();
    },
    onLive: refresh,
  };
}

// One job

function jobPage(jobId) {
  const head = h("div", loading());
  const phases = h("div.phases");
  const timeline = h("ol.timeline");
  main.append(
    h(
      "div.page",
      head,
      card("Where the time went", phases, legend([
        { label: "waiting", color: COLOR.wait },
        { label: "processing", color: COLOR.processing },
        { label: "failed", color: COLOR.failed },
      ])),
      card("History", timeline),
    ),
  );
  let job = null;

  function drawHead() {
    const facts = [
      ["App", appLink(job.app_id)],
      ["Priority", job.priority],
      ["Run at this stage", job.stage === "done" ? "–" : `${job.attempt} of ${1 + (job.max_retries ?? 0)}`],
      ["Retries", job.retries],
      ["Worker", job.worker_id || "–"],
      ["Asked for", dateTime(job.requested_at)],
      ["Last change", `${dateTime(job.updated_at)} (${ago(job.updated_at)})`],
      ["Finished", job.finished_at ? dateTime(job.finished_at) : "–"],
    ];
    if (job.lease_expires_at) facts.push(["Lease until", dateTime(job.lease_expires_at)]);
    if (job.available_at && Date.parse(job.available_at) > Date.now()) facts.push(["Runs again at", dateTime(job.available_at)]);
    fill(head, 
      h(
        "section.card.job-head",
        { dataset: { jobId: job.job_id } },
        h(
          "div.card-head",
          h("div", h("h1", "Job ", h("span.mono", job.job_id)), h("p", stageChip(job.stage), " ", badge(job.status))),
          actionButtons(job, () => loadSoon()),
        ),
        job.status === "processing"
          ? h("div.progress-line", progressBar(job), h("span.message", job.progress_message || `${Math.round(job.progress || 0)}%`))
          : null,
        job.error_message ? h("p.error-box", job.error_message) : null,
        h("dl.facts", facts.map(([k, v]) => h("div.fact", h("dt", k), h("dd", v)))),
        Object.keys(job.params || {}).length
          ? h("details", h("summary", "Parameters"), h("pre", JSON.stringify(job.params, null, 2)))
          : null,
      ),
    );
  }

  function drawHistory(rows) {
    clear(timeline);
    clear(phases);
    if (!rows.length) {
      timeline.append(empty("No history rows (retention may have removed them)."));
      return;
    }
    rows.forEach((row, i) => {
      const previous = rows[i - 1];
      const gap = previous ? (Date.parse(row.timestamp) - Date.parse(previous.timestamp)) / 1000 : null;
      timeline.append(
        h(
          `li.s-${row.status}`,
          { dataset: { event: row.event } },
          h("span.dot"),
          h(
            "div.what",
            h("b", EVENT_WORDS[row.event] || row.event),
            " ",
            stageChip(row.stage),
            " ",
            badge(row.status),
            row.worker_id ? h("span.mono.muted", ` by ${row.worker_id}`) : null,
          ),
          h("div.when", dateTime(row.timestamp), gap !== null ? h("span.muted", ` +${duration(gap)}`) : null),
          row.error_message ? h("div.error-text", row.error_message) : null,
        ),
      );
    });
    // Phases: from each row to the next (or to now, while the job is active).
    const end = ACTIVE.has(job.status) ? Date.now() : Date.parse(rows[rows.length - 1].timestamp);
    const spans = rows.map((row, i) => {
      const from = Date.parse(row.timestamp);
      const to = i + 1 < rows.length ? Date.parse(rows[i + 1].timestamp) : end;
      return { row, seconds: Math.max(0, (to - from) / 1000) };
    }).filter((s) => ACTIVE.has(s.row.status) || s.row.status === "error");
    const totalSeconds = spans.reduce((s, p) => s + p.seconds, 0) || 1;
    const width = 720;
    let x = 0;
    const marks = spans.map(({ row, seconds }) => {
      const w = Math.max(3, (seconds / totalSeconds) * width);
      const color = row.status === "processing" ? COLOR.processing : row.status === "error" ? COLOR.failed : COLOR.wait;
      const mark = h(
        "g",
        h("rect", { x, y: 4, width: w - 1, height: 28, rx: 3, fill: color, dataset: { label: `${row.stage}/${row.status}`, value: seconds } },
          h("title", `${row.stage} ${row.status === "queued" ? "waiting" : row.status}: ${duration(seconds)}`)),
        w > 70 ? h("text", { x: x + 6, y: 22, "font-size": 11, class: "on-bar" }, `${row.stage} ${duration(seconds)}`) : null,
      );
      x += w;
      return mark;
    });
    phases.append(h("svg", { class: "chart", viewBox: `0 0 ${Math.max(width, x)} 40`, dataset: { chart: "job-phases" } }, marks));
  }

  async function load() {
    const [found, rows] = await Promise.all([
      api(`/queue/jobs/${esc(jobId)}`),
      api(`/queue/jobs/${esc(jobId)}/history`),
    ]);
    job = found;
    drawHead();
    drawHistory(rows);
  }
  const loadSoon = debounce(() => guarded(head, load), 250);
  guarded(head, load);
  return {
    onEvent(kind, e) {
      if (e.job_id !== jobId) return;
      if (kind === "progress" && job) {
        Object.assign(job, { progress: e.progress, progress_message: e.message });
        drawHead();
        return;
      }
      loadSoon();
    },
    onLive: loadSoon,
  };
}

// One app

function appPage(appId) {
  const head = h("div", loading());
  const charts = h("div.page");
  const runsBody = h("tbody");
  main.append(
    h(
      "div.page",
      head,
      charts,
      h(
        "section.card",
        h("h2", "Runs"),
        h("table.table#runs", h("thead", h("tr", ["Job", "Stage", "Status", "Progress", "Asked for", "Finished", "Error"].map((t) => h("th", t)))), runsBody),
      ),
    ),
  );

  function store() {
    return /^(id)?\d+$/.test(appId) ? "App Store" : "Google Play";
  }

  function drawRuns(runs) {
    clear(runsBody);
    if (!runs.length) runsBody.append(h("tr", h("td.empty", { colspan: 7 }, "No runs yet.")));
    for (const run of runs) {
      runsBody.append(
        h(
          "tr",
          { dataset: { jobId: run.job_id } },
          h("td", jobLink(run.job_id)),
          h("td", stageChip(run.stage)),
          h("td", badge(run.status)),
          h("td.progress-cell", progressBar(run)),
          h("td", dateTime(run.requested_at)),
          h("td", run.finished_at ? dateTime(run.finished_at) : "–"),
          h("td.error-text", run.error_message || ""),
        ),
      );
    }
  }

  function drawSummary(summary) {
    clear(charts);
    if (!summary) {
      charts.append(card(null, empty("No summary yet: it comes with the app's first completed run.")));
      return;
    }
    const s = summary.sentiment;
    const count = summary.review_count;
    const languages = Object.entries(summary.languages || {}).sort((a, b) => b[1] - a[1]);
    charts.append(
      h(
        "div.tiles",
        tile("reviews", number(count)),
        tile("average rating", summary.average_rating === null ? "–" : `${summary.average_rating.toFixed(2)} ★`),
        tile("positive", percent(s.positive, count), { cls: "c" }),
        tile("negative", percent(s.negative, count), { cls: "e" }),
        tile("languages", number(languages.length)),
      ),
    );
    const ratings = ["1", "2", "3", "4", "5"].map((star) => ({
      label: `${star}★`,
      values: { reviews: (summary.rating_distribution || {})[star] || 0 },
    }));
    const ratingColors = ["#dc2626", "#f97316", "#eab308", "#84cc16", "#16a34a"];
    const ratingChart = barChart("rating-distribution", ratings, [{ key: "reviews", label: "reviews", color: "#6366f1" }], { width: 360, height: 200 });
    ratingChart.querySelectorAll("rect.bar").forEach((bar, i) => bar.setAttribute("fill", ratingColors[i]));
    charts.append(
      h(
        "div.grid-2",
        card(
          "Sentiment",
          h("div.donut-row",
            donut("sentiment", [
              { label: "positive", value: s.positive, color: COLOR.positive },
              { label: "neutral", value: s.neutral, color: COLOR.neutral },
              { label: "negative", value: s.negative, color: COLOR.negative },
            ]),
            h("ul.split", ["positive", "neutral", "negative"].map((k) =>
              h("li", h("i", { class: `sw ${k}` }), h("b", number(s[k])), ` ${k} `, h("span.muted", percent(s[k], count))))),
          ),
        ),
        card("Rating distribution", ratingChart),
      ),
    );
    const days = fillDays(summary.per_day || {}, 180);
    charts.append(
      card(
        `Reviews per day${days.length ? ` (${days[0].day} to ${days[days.length - 1].day})` : ""}`,
        days.length ? areaChart("reviews-per-day", days, { color: COLOR.scraper }) : empty("No dated reviews."),
      ),
    );
    const themes = (list, color, fallback) =>
      list.length
        ? hbars(`${color === COLOR.positive ? "top-praises" : "top-issues"}`, list.slice(0, 10).map((t) => ({
          label: t.theme,
          value: t.review_count,
          color,
          note: `${Math.round(t.share * 100)}% of reviews · ${t.language}`,
        })))
        : fallback.length
          ? h("ul.keywords", fallback.map((k) => h("li", k)))
          : empty("None found.");
    charts.append(
      h(
        "div.grid-2",
        card("Top praises", themes(summary.top_praises || [], COLOR.positive, summary.top_keywords?.positive || [])),
        card("Top issues", themes(summary.top_issues || [], COLOR.negative, summary.top_keywords?.negative || [])),
      ),
    );
    if (languages.length) {
      charts.append(
        card("Languages", hbars("languages", languages.slice(0, 8).map(([code, n]) => ({ label: code, value: n, color: COLOR.nlp })), { width: 1100, labelWidth: 60, row: 24 })),
      );
    }
    charts.append(h("p.muted.small", `Summary of job ${summary.job_id}, generated ${dateTime(summary.generated_at)}.`));
  }

  async function load() {
    const runs = await api(`/apps/${esc(appId)}/jobs?limit=20`);
    const status = runs[0] || null; // the current run: the active one, else the newest
    let summary = null;
    if (status && status.stage === "done" && status.status === "completed") {
      try {
        summary = await api(`/apps/${esc(appId)}/summary`);
      } catch (error) {
        if (!(error instanceof ApiError && error.status === 404)) throw error;
      }
    }
    fill(head, 
      h(
        "section.card.app-head",
        h(
          "div.card-head",
          h("div", h("h1", appId), h("p.muted", store())),
          status
            ? h("div.current", h("span.muted", "current run "), jobLink(status.job_id), " ", stageChip(status.stage), " ", badge(status.status), status.status === "processing" ? progressBar(status) : null)
            : h("span.muted", "No job for this app yet."),
        ),
      ),
    );
    drawRuns(runs);
    drawSummary(summary);
  }
  const loadSoon = debounce(() => guarded(head, load), 400);
  guarded(head, load);
  return {
    onEvent(kind, e) {
      if (e.app_id === appId && kind === "change") loadSoon();
    },
    onLive: loadSoon,
  };
}

function fillDays(perDay, limit) {
  const days = Object.keys(perDay).sort();
  if (!days.length) return [];
  const out = [];
  const last = new Date(`${days[days.length - 1]}T00:00:00Z`);
  let day = new Date(`${days[0]}T00:00:00Z`);
  const earliest = new Date(last.getTime() - (limit - 1) * 86400000);
  if (day < earliest) day = earliest;
  while (day <= last) {
    const key = day.toISOString().slice(0, 10);
    out.push({ day: key, value: perDay[key] || 0 });
    day = new Date(day.getTime() + 86400000);
  }
  return out;
}

// Daily reports

function reportsPage(date) {
  const selected = date || "today";
  const list = h("ul.report-list", loading());
  const body = h("div.report-body", loading());
  const picker = h("input", { type: "date", "aria-label": "A day", max: new Date().toISOString().slice(0, 10) });
  main.append(
    h(
      "div.page",
      h("div.page-head", h("h1", "Daily reports"), h("p.muted", "What each day looked like: stored every night, today computed as it goes.")),
      h(
        "div.reports",
        h(
          "aside.card",
          h("h2", "Days"),
          list,
          h("form.open-day", { on: { submit: (e) => { e.preventDefault(); if (picker.value) location.hash = `#/reports/${picker.value}`; } } },
            picker, h("button.ghost", { type: "submit" }, "Open")),
        ),
        body,
      ),
    ),
  );

  async function loadList() {
    const found = await api("/reports/daily?limit=60");
    fill(list, 
      h("li", { class: selected === "today" || selected === found.today ? "on" : "" },
        h("a", { href: "#/reports/today" }, h("b", "Today"), h("span.muted", " so far"))),
      found.reports.map((r) =>
        h("li", { class: r.date === selected ? "on" : "", dataset: { date: r.date } },
          h("a", { href: `#/reports/${r.date}` }, h("b", r.date),
            h("span.mini", h("span.c", number(r.completed)), " / ", h("span", number(r.added)), r.failed ? [" / ", h("span.e", number(r.failed))] : null)))),
      found.reports.length ? null : h("li.muted", "No stored reports yet: the first is stored after midnight."),
    );
  }

  async function loadReport() {
    const report = await api(`/reports/daily/${esc(selected)}`);
    const jobs = report.jobs;
    const source = { stored: "stored", computed: "computed now and stored", today: "the day so far, not stored" }[report.source];
    const rows = STAGES.flatMap((stage) => [
      { label: `${stage} wait`, color: COLOR.wait, p: report.stages[stage].wait },
      { label: `${stage} processing`, color: COLOR.processing, p: report.stages[stage].processing },
    ]);
    const hours = report.per_hour.map((hour) => ({
      label: hour.hour.slice(0, 2),
      values: { added: hour.added, completed: hour.completed, failed: hour.failed },
    }));
    fill(body, 
      h(
        "section.card",
        { dataset: { report: report.date } },
        h("div.card-head", h("div", h("h1", `Report of ${report.date}`), h("p.muted", `${report.timezone} · ${source} · generated ${dateTime(report.generated_at)}`))),
        h(
          "div.tiles",
          tile("added", number(jobs.added)),
          tile("completed", number(jobs.completed), { cls: "c" }),
          tile("failed", number(jobs.failed), { cls: jobs.failed ? "e" : "plain" }),
          tile("cancelled", number(jobs.cancelled)),
          tile("requeued", number(jobs.requeued)),
          tile("retried", number(jobs.retried)),
          tile("lease expired", number(jobs.lease_expired)),
          tile(report.complete ? "backlog at midnight" : "backlog now", number(report.backlog.total), { cls: "q" }),
        ),
      ),
      card(
        "Wait and processing time per stage",
        rangePlot("stage-percentiles", rows),
        h("p.muted.small", "Bar: p50 to p99, ticks at p50, p90 and p99, dot: the slowest. Log scale."),
        h(
          "table.table.figures",
          h("thead", h("tr", ["", "count", "p50", "p90", "p99", "max"].map((t) => h("th", t)))),
          h("tbody", rows.map((r) => h("tr", h("td", r.label),
            r.p ? [h("td", number(r.p.count)), h("td", timeLabel(r.p.p50)), h("td", timeLabel(r.p.p90)), h("td", timeLabel(r.p.p99)), h("td", timeLabel(r.p.max))]
              : h("td.muted", { colspan: 5 }, "none")))),
        ),
      ),
      card("Jobs per hour", barChart("report-per-hour", hours, [
        { key: "added", label: "added", color: COLOR.added },
        { key: "completed", label: "completed", color: COLOR.completed },
        { key: "failed", label: "failed", color: COLOR.failed },
      ], { every: 3, height: 180 })),
      h(
        "div.grid-2",
        card(
          "Failures",
          h("div.tiles.small", STAGES.map((stage) => tile(`${stage} failed`, number(report.failures.by_stage[stage] || 0), { cls: report.failures.by_stage[stage] ? "e" : "plain" }))),
          report.failures.top_errors.length
            ? h("table.table", h("thead", h("tr", h("th", "Stage"), h("th", "Error"), h("th", "Count"))),
              h("tbody", report.failures.top_errors.map((e) => h("tr", h("td", stageChip(e.stage)), h("td.error-text", e.message), h("td", number(e.count))))))
            : empty("No failures."),
        ),
        card(
          report.complete ? "Backlog at the end of the day" : "Backlog now",
          h("table.table", h("thead", h("tr", h("th", "Stage"), h("th", "queued"), h("th", "processing"))),
            h("tbody", STAGES.map((stage) => h("tr", h("td", stageChip(stage)), h("td", number(report.backlog.by_stage[stage].queued)), h("td", number(report.backlog.by_stage[stage].processing)))))),
        ),
      ),
      card(
        "Apps completed",
        report.apps_completed.length
          ? h("table.table#apps-completed",
            h("thead", h("tr", ["App", "Completed", "Reviews", "Rating", "Sentiment"].map((t) => h("th", t)))),
            h("tbody", report.apps_completed.map((a) => h("tr",
              h("td", appLink(a.app_id)),
              h("td", clock(a.completed_at)),
              h("td", a.review_count === null ? h("span.muted", "replaced") : number(a.review_count)),
              h("td", a.average_rating === null ? "–" : `${a.average_rating.toFixed(2)} ★`),
              h("td", a.sentiment ? stackBar([
                { label: "positive", value: a.sentiment.positive, cls: "positive" },
                { label: "neutral", value: a.sentiment.neutral, cls: "neutral" },
                { label: "negative", value: a.sentiment.negative, cls: "negative" },
              ]) : "–")))))
          : empty("No app completed that day."),
      ),
    );
  }

  guarded(list, loadList);
  guarded(body, loadReport);
  const refresh = debounce(() => {
    guarded(body, loadReport);
    guarded(list, loadList);
  }, 2000);
  return {
    onEvent(kind) {
      if (kind === "change" && selected === "today") refresh();
    },
    onLive: refresh,
  };
}

// Routing and the session

function route() {
  const hash = location.hash.replace(/^#\/?/, "");
  const [name, ...rest] = hash.split("/");
  const arg = rest.length ? decodeURIComponent(rest.join("/")) : null;
  current?.dispose?.();
  current = null;
  clear(main);
  const pages = {
    "": () => queuePage(),
    queue: () => queuePage(),
    "dead-letters": () => deadLettersPage(),
    jobs: () => jobPage(arg),
    apps: () => appPage(arg),
    reports: () => reportsPage(arg),
  };
  const make = pages[name] && (!["jobs", "apps"].includes(name) || arg) ? pages[name] : null;
  for (const link of document.querySelectorAll("#nav a")) {
    const page = link.dataset.page;
    link.classList.toggle("on", page === (name || "queue") || (page === "queue" && name === ""));
  }
  if (!make) {
    main.append(card("No such page", h("p", h("a", { href: "#/" }, "Back to the queue"))));
    return;
  }
  current = make();
  document.title = `${{ "": "Queue", queue: "Queue", "dead-letters": "Dead letters", jobs: "Job", apps: arg, reports: "Reports" }[name] || "review-queue"} · review-queue`;
}

function setLive(state) {
  const el = document.getElementById("live");
  el.dataset.state = state;
  el.querySelector("b").textContent = { live: "live", connecting: "connecting", offline: "reconnecting", off: "offline" }[state] || state;
  if (state === "live") {
    if (connectedBefore) current?.onLive?.();
    connectedBefore = true;
  }
}

function showSession() {
  const who = document.getElementById("who");
  const me = session.me;
  who.hidden = false;
  fill(who, h("b", me.name), " ", h(`span.role.r-${me.role}`, me.role));
  who.title = me.auth === "off" ? "REVIEW_QUEUE_AUTH is off: no key needed" : "The key of this tab";
  document.getElementById("forget").hidden = !session.keyRequired;
}

function askKey(problem) {
  stream?.close();
  stream = null;
  current?.dispose?.();
  current = null;
  document.getElementById("who").hidden = true;
  document.getElementById("forget").hidden = true;
  fill(main, document.getElementById("key-form").content.cloneNode(true));
  const input = document.getElementById("key-input");
  const problemEl = document.getElementById("key-problem");
  if (problem) {
    problemEl.hidden = false;
    problemEl.textContent = problem;
  }
  input.focus();
  document.getElementById("key-entry").addEventListener("submit", async (event) => {
    event.preventDefault();
    const key = input.value.trim();
    if (!key) return;
    rememberKey(key);
    await start();
  });
}

async function start() {
  try {
    await whoAmI();
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      forgetKey();
      askKey("That key was not accepted: it is unknown, revoked or mistyped.");
      return;
    }
    fill(main, card("The service does not answer", h("p", failure(error))));
    return;
  }
  showSession();
  stream?.close();
  connectedBefore = false;
  stream = followEvents((kind, event) => current?.onEvent?.(kind, event), setLive);
  route();
}

function boot() {
  window.addEventListener("hashchange", () => {
    if (session.me) route();
  });
  document.getElementById("forget").addEventListener("click", () => {
    forgetKey();
    askKey();
  });
  document.getElementById("search").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = document.getElementById("search-input");
    const value = input.value.trim();
    if (!value) return;
    location.hash = /^[0-9a-f]{24}$/.test(value) ? `#/jobs/${esc(value)}` : `#/apps/${esc(value)}`;
    input.value = "";
  });
  onUnauthorized(() => {
    if (!session.keyRequired) return;
    forgetKey();
    askKey("The key is no longer accepted (revoked?): enter another.");
  });
  if (session.keyRequired && !session.key) {
    askKey();
    return;
  }
  start();
}

boot();
