// One job: live progress, timeline, result or error, and a cancel button. A video job's
// result gets its own view (values, counts over time, frames) below.

import { api, ApiError, url } from "../lib/api.js";
import { $, fill, h } from "../lib/dom.js";
import { envelopeView } from "../lib/envelope.js";
import { badge, duration, prettyJson, time } from "../lib/format.js";
import { isTerminal, watchJob } from "../lib/jobwatch.js";
import { collect, draw } from "../lib/overlay.js";
import { progressView } from "../lib/progress.js";
import { canRun, initSession } from "../lib/session.js";
import { framesText, isVideoJob, targetText, videoResultView } from "../lib/video.js";

const jobId = $("#main").dataset.job;
const cancelButton = $("#cancel-button");
const rerunButton = $("#rerun-button");
let mayCancel = false; // decided by the key's scope (a read key cannot cancel)
let videoShown = false; // a video result is built once, not on every event

function summary(job) {
  const item = (label, value) => h("div", {}, h("dt", {}, label), h("dd", {}, value));
  return h(
    "dl",
    { class: "job-summary" },
    item("Tool", h("span", { class: "mono", id: "job-target" }, targetText(job))),
    item("Attempts", `${job.attempts} of ${job.max_attempts}`),
    item("Queued for", job.started_at ? duration(job.created_at, job.started_at) : (job.status === "PENDING" ? duration(job.created_at) : "—")),
    item("Run time", job.started_at ? duration(job.started_at, job.finished_at) : "—"),
  );
}

function timeline(job) {
  const step = (label, iso, done) => h("li", { class: done ? "done" : "" }, h("strong", {}, label), h("span", { class: "when" }, iso ? time(iso) : "—"));
  const finishedLabel = isTerminal(job) ? { SUCCESS: "Succeeded", FAILED: "Failed", CANCELLED: "Cancelled" }[job.status] : "Finished";
  return [
    step("Submitted", job.created_at, true),
    step(job.attempts > 1 ? `Started (attempt ${job.attempts})` : "Started", job.started_at, Boolean(job.started_at)),
    step(finishedLabel, job.finished_at, Boolean(job.finished_at)),
  ];
}

function videoOutcome(job) {
  const summary = job.result?.summary ?? {};
  if (!videoShown) {
    videoShown = true;
    fill($("#video-view"), videoResultView(job.result ?? {}, { rawId: "job-result" }));
    $("#video-card").hidden = false;
  }
  return h(
    "p",
    {},
    `${framesText(job)} · ${summary.frames_ok ?? 0} ok, ${summary.frames_failed ?? 0} failed · `,
    `${(summary.values ?? []).length} values seen. `,
    h("a", { href: "#video-card" }, "The video summary and frames are below."),
  );
}

function outcome(job) {
  if (job.status === "SUCCESS" && isVideoJob(job)) {
    $("#outcome-title").textContent = "Result";
    return videoOutcome(job);
  }
  if (job.status === "SUCCESS") {
    $("#outcome-title").textContent = "Result";
    const text = readableText(job.result);
    return [
      text ? h("pre", { class: "text-output", id: "job-text" }, text) : null,
      h(
        "details",
        { class: "json-box", open: !text },
        h("summary", {}, "JSON"),
        h("pre", { class: "code", id: "job-result" }, prettyJson(job.result ?? {})),
      ),
    ];
  }
  if (job.error) {
    $("#outcome-title").textContent = job.status === "CANCELLED" ? "Cancelled" : "Error";
    return envelopeView(job.error);
  }
  return h("p", { class: "muted" }, job.status === "PENDING" ? "Waiting for a worker." : "Running…");
}

/** The text a result carries (OCR's `text`, or its lines'), shown as text, not JSON. */
function readableText(result) {
  if (!result || typeof result !== "object") return null;
  if (typeof result.text === "string" && result.text.trim()) return result.text;
  for (const key of ["lines", "blocks", "paragraphs"]) {
    const items = result[key];
    if (Array.isArray(items) && items.length && items.every((x) => typeof x?.text === "string")) {
      return items.map((x) => x.text).join("\n");
    }
  }
  return null;
}

let inputShown = false;

/** The image the job ran on, while the server keeps it (a missing one hides the card). */
function showInput(job) {
  if (inputShown || !job.input_mime_type) return;
  inputShown = true;
  const img = $("#job-image");
  img.addEventListener("load", () => {
    $("#input-card").hidden = false;
    drawResult(job);
  }, { once: true });
  img.src = url(`/v1/jobs/${encodeURIComponent(job.id)}/image`);
}

/** A finished job's findings (boxes, polygons) drawn over its input, as on the Try page. */
function drawResult(job) {
  const img = $("#job-image");
  if (job.status !== "SUCCESS" || !job.result || !img.naturalWidth) return;
  const { shapes } = collect(job.result);
  const width = Number.isFinite(job.result.width) ? job.result.width : img.naturalWidth;
  const height = Number.isFinite(job.result.height) ? job.result.height : img.naturalHeight;
  draw($("#job-overlay"), shapes, width, height);
}

function render(job) {
  document.body.dataset.status = job.status;
  fill($("#job-status"), badge(job.status));
  fill($("#job-summary"), summary(job));
  fill($("#job-progress"), progressView(isVideoJob(job) ? { ...job, progress_message: framesText(job) } : job));
  fill($("#timeline"), ...timeline(job));
  fill($("#outcome"), outcome(job));
  cancelButton.hidden = isTerminal(job) || !mayCancel;
  rerunButton.hidden = !isTerminal(job) || !mayCancel || isVideoJob(job);
  showInput(job);
  drawResult(job);
}

rerunButton.addEventListener("click", async () => {
  rerunButton.disabled = true;
  try {
    const again = await api(`/v1/jobs/${encodeURIComponent(jobId)}/rerun`, { method: "POST" });
    window.location.assign(url(`/ui/jobs/${again.id}`));
  } catch (err) {
    rerunButton.disabled = false;
    if (err instanceof ApiError) fill($("#outcome"), envelopeView(err.envelope, err.status));
    else throw err;
  }
});

cancelButton.addEventListener("click", async () => {
  cancelButton.disabled = true;
  try {
    render(await api(`/v1/jobs/${encodeURIComponent(jobId)}`, { method: "DELETE" }));
  } catch (err) {
    if (err instanceof ApiError) fill($("#outcome"), envelopeView(err.envelope, err.status));
  } finally {
    cancelButton.disabled = false;
  }
});

async function start() {
  mayCancel = await canRun();
  try {
    render(await api(`/v1/jobs/${encodeURIComponent(jobId)}`));
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    fill($("#outcome"), envelopeView(err.envelope, err.status));
    return;
  }
  watchJob(jobId, render);
}

initSession();
start();
