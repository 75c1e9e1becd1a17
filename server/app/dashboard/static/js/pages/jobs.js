// Jobs: a live, filtered, paged list (newest first).

import { api, ApiError, url } from "../lib/api.js";
import { $, fill, h } from "../lib/dom.js";
import { envelopeView } from "../lib/envelope.js";
import { ago, badge, duration, percent } from "../lib/format.js";
import { poll } from "../lib/live.js";
import { miniProgress } from "../lib/progress.js";
import { initSession } from "../lib/session.js";
import { framesText, isVideoJob, targetText, VIDEO } from "../lib/video.js";

const POLL_MS = 2000;
const form = $("#filters");
const cursors = [null]; // cursor of each page seen; the last is the current page
let nextCursor = null;

function filters() {
  const params = new URLSearchParams();
  for (const name of ["status", "plugin", "tool", "limit"]) {
    const value = form.elements[name].value.trim();
    if (value) params.set(name, value);
  }
  return params;
}

function restoreFilters() {
  const params = new URLSearchParams(window.location.search);
  for (const name of ["status", "plugin", "tool", "limit"]) {
    if (params.has(name)) form.elements[name].value = params.get(name);
  }
}

async function loadPluginFilter() {
  const wanted = new URLSearchParams(window.location.search).get("plugin");
  const { plugins } = await api("/v1/plugins");
  const select = form.elements.plugin;
  for (const p of plugins) select.append(h("option", { value: p.name }, p.name));
  // Video jobs go by plugin "video" (their tool is the target, e.g. barcode.read).
  if (!plugins.some((p) => p.name === VIDEO)) select.append(h("option", { value: VIDEO }, `${VIDEO} (video jobs)`));
  if (wanted) select.value = wanted;
}

const gone = new Set(); // jobs whose input image the server no longer keeps: not asked again

/** Which input the job had: its image's type (the job page shows the image itself). */
function inputText(job) {
  if (isVideoJob(job)) return null;
  const kind = job.input_mime_type ? `${job.input_mime_type.replace("image/", "").toUpperCase()} image` : "no image";
  // The image itself, small (the browser caches it: a job's input never changes); an input
  // the server no longer keeps leaves only the words.
  const thumb = job.input_mime_type && !gone.has(job.id)
    ? h("img", {
        class: "job-thumb", loading: "lazy", alt: "",
        src: url(`/v1/jobs/${encodeURIComponent(job.id)}/image`),
        onerror: (event) => { gone.add(job.id); event.target.remove(); },
      })
    : null;
  return h("div", { class: "muted job-input-name" }, thumb, `input: ${kind}`);
}

/** Why a job did not succeed, in one line: the envelope's code and message. */
function whyText(job) {
  if (!job.error || job.status === "SUCCESS") return null;
  const code = job.error.details?.code ?? "";
  const callers = code === "cancelled" || code === "invalid_input" || code === "tool_not_found";
  return h("div", { class: `job-why ${callers ? "warn" : ""}`.trim(), title: job.error.message }, `${code}: ${job.error.message}`);
}

function row(job) {
  return h(
    "tr",
    { dataset: { job: job.id, status: job.status, plugin: job.plugin } },
    h("td", {}, badge(job.status)),
    h("td", {}, h("a", { class: "mono", href: url(`/ui/jobs/${job.id}`) }, job.id.slice(0, 8))),
    h(
      "td",
      { class: "job-target-cell" },
      h("span", { class: "mono job-target" }, targetText(job)),
      isVideoJob(job) ? h("span", { class: "muted small show-narrow job-frames" }, framesText(job)) : null,
      inputText(job),
      whyText(job),
    ),
    h("td", { class: "hide-narrow" }, miniProgress(job), h("span", { class: "muted small job-progress-text" }, framesText(job))),
    h("td", { class: "hide-narrow num" }, job.started_at ? duration(job.started_at, job.finished_at) : "—"),
    h("td", { class: "num", title: job.created_at }, ago(job.created_at)),
  );
}

async function refresh() {
  const params = filters();
  const cursor = cursors[cursors.length - 1];
  if (cursor) params.set("cursor", cursor);
  const table = $("#jobs-table");
  let page;
  try {
    params.set("results", "false");  // the list shows no result: keep polls light
    page = await api(`/v1/jobs?${params}`);
  } catch (err) {
    if (err instanceof ApiError && err.status === 400) {
      fill(table, h("tbody", {}, h("tr", {}, h("td", { class: "empty", colspan: "6" }, envelopeView(err.envelope, err.status)))));
      return;
    }
    throw err;
  }
  nextCursor = page.next_cursor;
  const head = h(
    "thead",
    {},
    h("tr", {}, h("th", {}, "Status"), h("th", {}, "Job"), h("th", {}, "Tool"), h("th", { class: "hide-narrow" }, "Progress"), h("th", { class: "hide-narrow num" }, "Run time"), h("th", { class: "num" }, "Age")),
  );
  const body = h("tbody", {}, page.jobs.length ? page.jobs.map(row) : h("tr", {}, h("td", { class: "empty", colspan: "6" }, "No jobs match.")));
  fill(table, head, body);
  $("#older").disabled = !nextCursor;
  $("#newer").disabled = cursors.length === 1;
  $("#page-label").textContent = `Page ${cursors.length}`;
  const done = page.jobs.filter((j) => j.status === "SUCCESS").length;
  table.dataset.summary = page.jobs.length ? `${percent(done / page.jobs.length)} succeeded` : "";
}

form.addEventListener("change", () => {
  cursors.splice(1);
  const params = filters();
  history.replaceState(null, "", `${window.location.pathname}${params.size ? `?${params}` : ""}`);
  refresh();
});
form.addEventListener("submit", (event) => event.preventDefault());
$("#older").addEventListener("click", () => {
  if (nextCursor) cursors.push(nextCursor);
  refresh();
});
$("#newer").addEventListener("click", () => {
  if (cursors.length > 1) cursors.pop();
  refresh();
});

initSession();
restoreFilters();
loadPluginFilter().finally(() => poll(refresh, POLL_MS));
