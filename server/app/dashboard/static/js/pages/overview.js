// Overview: server readiness, every plugin with its state and metrics, the job queue.

import { api, url } from "../lib/api.js";
import { $, fill, h } from "../lib/dom.js";
import { ago, badge, callerNotes, count, duration, ms, plural } from "../lib/format.js";
import { poll } from "../lib/live.js";
import { chartLegend, lineChart } from "../lib/chart.js";
import { markdown } from "../lib/markdown.js";
import { miniProgress } from "../lib/progress.js";
import { initSession } from "../lib/session.js";
import { targetText } from "../lib/video.js";

const POLL_MS = 2000;
const manifests = new Map(); // plugin → its tool names (manifests change only on reload)

async function readiness() {
  try {
    return await api("/v1/ready");
  } catch (err) {
    if (err.status === 503) return { status: "starting", plugins: {}, ready: false };
    throw err;
  }
}

async function toolsOf(name) {
  if (!manifests.has(name)) {
    const manifest = await api(`/v1/plugins/${encodeURIComponent(name)}`).catch(() => null);
    manifests.set(name, manifest ? manifest.tools.map((t) => t.name) : []);
  }
  return manifests.get(name);
}

function workersText(pool, isolation) {
  if (!pool) return isolation === "in_process" ? "in-process" : "—";
  return `${pool.processes} up · ${pool.busy} busy`;
}

/** What the card's numbers leave out: the caller's doing (refused, cancelled) and the pool. */
function notes(p, pool) {
  return [
    ...callerNotes(p),
    pool?.queued ? `${pool.queued} queued` : null,
    pool?.replaced ? `${plural(pool.replaced, "worker")} replaced after a failure` : null,
    pool?.recycled ? `${plural(pool.recycled, "worker")} recycled after a cancel` : null,
    pool?.circuit_open ? "circuit open" : null,
  ].filter(Boolean);
}

function pluginCard({ health, pool }, tools) {
  const p = health;
  const pluginUrl = url(`/ui/plugins/${encodeURIComponent(p.name)}`);
  const metric = (label, value, cls) => h("div", {}, h("dt", {}, label), h("dd", { class: cls }, value));
  return h(
    "article",
    { class: "card plugin-card", dataset: { plugin: p.name, state: p.state } },
    h(
      "div",
      { class: "plugin-card-head" },
      h("a", { class: "plugin-name", href: pluginUrl }, p.name),
      badge(p.state),
    ),
    p.description ? markdown(p.description, "p", { class: "plugin-desc" }) : null,
    p.reason ? h("div", { class: `reason ${p.state === "FAILED" ? "err" : ""}`.trim() }, p.reason) : null,
    h(
      "dl",
      { class: "metrics" },
      metric("Succeeded", count(p.success_count)),
      metric("Failed", count(p.failure_count), p.failure_count ? "err" : ""),
      metric("Last used", ago(p.last_used)),
      metric("p50", ms(p.p50_ms)),
      metric("p95", ms(p.p95_ms)),
      h("div", { title: pool ? `at most ${pool.max_workers} worker processes` : "" }, h("dt", {}, "Workers"), h("dd", {}, workersText(pool, p.isolation))),
    ),
    notes(p, pool).length ? h("div", { class: "muted small plugin-notes" }, notes(p, pool).join(" · ")) : null,
    h(
      "div",
      { class: "plugin-foot" },
      h("div", { class: "tool-chips" }, tools.map((t) => h("span", { class: "tag mono" }, t))),
      h("span", { class: "muted small" }, [p.version ? `v${p.version}` : null, p.isolation.replace("_", "-")].filter(Boolean).join(" · ")),
    ),
  );
}

function renderStats(ready, overview) {
  const plugins = overview.plugins.map((row) => row.health);
  const readyEl = $("#stat-ready");
  const isReady = ready.status === "ready";
  readyEl.textContent = isReady ? "Ready" : ready.status;
  readyEl.className = `stat-value ${isReady ? "ok" : "warn"}`;
  $("#stat-ready-sub").textContent = isReady ? "accepting work" : "not accepting work yet";
  $("#stat-plugins").textContent = String(plugins.length);
  const byState = {};
  for (const p of plugins) byState[p.state] = (byState[p.state] ?? 0) + 1;
  $("#stat-plugin-states").textContent = Object.entries(byState).map(([s, n]) => `${n} ${s.toLowerCase()}`).join(" · ");
  $("#stat-pending").textContent = count(overview.jobs.pending);
  $("#stat-running").textContent = count(overview.jobs.running);
  const sum = (field) => plugins.reduce((a, p) => a + (p[field] ?? 0), 0);
  const total = { success_count: sum("success_count"), error_count: sum("error_count"), failure_count: sum("failure_count"), invalid_input_count: sum("invalid_input_count"), cancelled_count: sum("cancelled_count") };
  $("#stat-calls").textContent = count(total.success_count + total.error_count);
  const errors = $("#stat-errors");
  errors.textContent = [`${count(total.failure_count)} failed`, ...callerNotes(total)].join(" · ");
  errors.classList.toggle("err", total.failure_count > 0);
}

function renderRecentJobs(page) {
  const table = $("#recent-jobs");
  const head = h("thead", {}, h("tr", {}, h("th", {}, "Status"), h("th", {}, "Tool"), h("th", { class: "hide-narrow" }, "Progress"), h("th", {}, "Age")));
  const rows = page.jobs.map((job) =>
    h(
      "tr",
      { dataset: { job: job.id } },
      h("td", {}, badge(job.status)),
      h("td", { class: "nowrap" }, h("a", { class: "mono", href: url(`/ui/jobs/${job.id}`) }, targetText(job))),
      h("td", { class: "hide-narrow" }, miniProgress(job)),
      h("td", { title: job.created_at }, ago(job.created_at), job.finished_at ? h("span", { class: "muted small hide-narrow" }, ` · took ${duration(job.started_at, job.finished_at)}`) : null),
    ),
  );
  const body = h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", { class: "empty", colspan: "4" }, "No jobs yet.")));
  fill(table, head, body);
}

/** Calls, failures and latency per plugin over the last minutes (the server keeps them). */
function renderCharts(history) {
  const box = $("#charts");
  const names = Object.keys(history?.plugins ?? {});
  const per = history ? `${history.bucket_s} s` : "";
  $("#activity-note").textContent = history ? `per ${per}, last ${Math.round((history.buckets * history.bucket_s) / 60)} minutes, since the server started` : "";
  if (!names.length) {
    fill(box, h("p", { class: "muted empty-chart" }, "No tool calls in the last minutes. Run one from the Try page and it shows here."));
    return;
  }
  const series = (field) => names.map((name) => ({ name, values: history.plugins[name][field] }));
  const common = { start: history.start, step: history.bucket_s };
  fill(
    box,
    h(
      "div",
      { class: "chart-row" },
      lineChart({ ...common, id: "chart-calls", title: `Calls per ${per}`, series: series("calls"), format: (v) => count(Math.round(v)) }),
      lineChart({ ...common, id: "chart-failed", title: `Failed per ${per}`, series: series("failed"), format: (v) => count(Math.round(v)) }),
      lineChart({ ...common, id: "chart-latency", title: "Mean latency", series: series("mean_ms"), format: (v) => ms(v) }),
    ),
    chartLegend(names),
  );
}

async function refresh() {
  const [ready, overview, recent] = await Promise.all([
    readiness(),
    api("/ui/api/overview"),
    api("/v1/jobs?limit=5&results=false"),
  ]);
  renderStats(ready, overview);
  renderCharts(overview.history);
  const cards = await Promise.all(overview.plugins.map(async (row) => pluginCard(row, await toolsOf(row.health.name))));
  fill($("#plugins"), cards.length ? cards : h("p", { class: "muted" }, "No plugins are installed."));
  renderRecentJobs(recent);
}

initSession();
poll(refresh, POLL_MS);
