// Video jobs as the pages show them: the job's target ("video · barcode.read"), its frame
// count, and the result view — summary first (values seen, counts over time as small step
// charts, frames ok/failed), then a paged frame list whose rows open the frame's JSON.
// Thousands of frames stay responsive: one page of rows is built at a time, and the raw
// JSON is only serialised when its box is opened.

import { h, s } from "./dom.js";
import { colorFor, collect } from "./overlay.js";
import { count, prettyJson } from "./format.js";

/** The plugin name video jobs go by in /v1/jobs. */
export const VIDEO = "video";
/** Files the video route takes (recognised from the bytes server-side; this only routes). */
export const VIDEO_ACCEPT = ".mp4,.mov,.webm,.mkv,.m4v,video/mp4,video/quicktime,video/webm,video/x-matroska";
const VIDEO_NAME = /\.(mp4|m4v|mov|webm|mkv)$/i;
const FRAMES_PER_PAGE = 50;

export const isVideoJob = (job) => job?.plugin === VIDEO;

/** Whether a chosen file goes to the video route (by its type or its name). */
export function isVideoFile(file) {
  return Boolean(file) && ((file.type ?? "").startsWith("video/") || VIDEO_NAME.test(file.name ?? ""));
}

/** "video · barcode.read" for a video job, "barcode.read" for any other. */
export function targetText(job) {
  if (isVideoJob(job)) return `${VIDEO} · ${job.tool ?? "?"}`;
  return `${job.plugin}.${job.tool ?? "?"}`;
}

/** "frames 8/8": the job's progress message (the server reports the frame count). */
export function framesText(job) {
  const done = job.result?.summary;
  if (isVideoJob(job) && job.status === "SUCCESS" && done) {
    const n = (done.frames_ok ?? 0) + (done.frames_failed ?? 0);
    return `frames ${n}/${n}`;
  }
  return job.progress_message ?? "";
}

/** Seconds as "1.5 s", "2:03.5" past a minute. */
export function seconds(t) {
  if (typeof t !== "number" || !Number.isFinite(t)) return "—";
  if (t < 60) return `${Number(t.toFixed(2))} s`;
  const m = Math.floor(t / 60);
  const rest = t - m * 60;
  return `${m}:${rest < 10 ? "0" : ""}${rest.toFixed(1)}`;
}

function sampleText(sample) {
  if (!sample) return "";
  const rule = sample.every_n_frames ? `every ${sample.every_n_frames} frames` : `${sample.fps ?? 1} fps`;
  const range = sample.end_s !== undefined ? ` from ${seconds(sample.start_s ?? 0)} to ${seconds(sample.end_s)}`
    : sample.start_s ? ` from ${seconds(sample.start_s)}` : "";
  return rule + range;
}

/** The end of the time axis: the video's duration, else the last frame's time. */
function timeSpan(result) {
  const frames = result.frames ?? [];
  const last = frames.length ? frames[frames.length - 1].t_s : 0;
  const end = result.video?.sample?.end_s;
  const duration = result.video?.duration_s;
  const span = Math.min(...[duration, end].filter((v) => typeof v === "number" && v > 0), Infinity);
  return Math.max(Number.isFinite(span) ? span : 0, last, 0.001);
}

// ---- the summary ----------------------------------------------------------------------------

function videoLine(result) {
  const v = result.video ?? {};
  const target = result.target ?? {};
  const what = target.pipeline ? `pipeline ${target.pipeline}` : `${target.plugin ?? "?"}.${target.tool ?? "?"}`;
  const parts = [
    what,
    v.codec && `${v.codec} ${v.width}×${v.height}`,
    v.fps && `${Number(v.fps.toFixed(2))} fps`,
    typeof v.duration_s === "number" && seconds(v.duration_s),
    `sampled ${sampleText(v.sample)}`,
    v.frames_resumed ? `${v.frames_resumed} resumed after a restart` : null,
  ].filter(Boolean);
  return h("p", { class: "muted small video-line" }, parts.join(" · "));
}

function incompleteNote(v) {
  if (!v?.incomplete) return null;
  const declared = typeof v.duration_s === "number" ? seconds(v.duration_s) : "its declared length";
  const reached = typeof v.decoded_to_s === "number" ? seconds(v.decoded_to_s) : "?";
  return h(
    "p",
    { class: "badge warn video-incomplete", id: "video-incomplete" },
    `The file ends early: frames stop at ${reached} of ${declared} (cut off in transfer?). The results cover what is there.`,
  );
}

function framesBlock(summary) {
  const errors = Object.entries(summary.errors ?? {});
  return h(
    "div",
    { class: "video-frames-stat" },
    h("span", { class: "vstat", id: "frames-ok", dataset: { n: String(summary.frames_ok ?? 0) } }, h("strong", {}, count(summary.frames_ok ?? 0)), " frames ok"),
    h("span", { class: `vstat${summary.frames_failed ? " bad" : ""}`, id: "frames-failed", dataset: { n: String(summary.frames_failed ?? 0) } },
      h("strong", {}, count(summary.frames_failed ?? 0)), " failed"),
    errors.map(([code, n]) => h("span", { class: "tag err-code", dataset: { code } }, h("code", {}, code), ` × ${n}`)),
  );
}

function valuesTable(values) {
  if (!values?.length) return h("p", { class: "muted small", id: "video-values-empty" }, "No text was read in any frame.");
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "table compact", id: "video-values" },
      h("thead", {}, h("tr", {}, h("th", {}, "Text"), h("th", {}, "Format"), h("th", {}, "Seen"), h("th", { class: "num" }, "Frames"))),
      h(
        "tbody",
        {},
        values.map((v) =>
          h(
            "tr",
            { dataset: { text: v.text } },
            h("td", { class: "mono break" }, v.text),
            h("td", {}, v.format ?? "—"),
            h("td", { class: "nowrap" }, v.first_s === v.last_s ? seconds(v.first_s) : `${seconds(v.first_s)} – ${seconds(v.last_s)}`),
            h("td", { class: "num" }, count(v.frames)),
          ),
        ),
      ),
    ),
  );
}

/** A count over time as a step line: [t, n] points where it changes, held until `end`. */
export function stepChart(name, info, end) {
  const W = 320;
  const H = 64;
  const PAD_L = 26;
  const PAD_B = 14;
  const PAD_T = 6;
  const top = Math.max(1, info.max ?? 0);
  const x = (t) => PAD_L + (Math.min(Math.max(t, 0), end) / end) * (W - PAD_L - 4);
  const y = (n) => PAD_T + (1 - n / top) * (H - PAD_T - PAD_B);
  const series = info.series ?? [];
  let d = "";
  series.forEach(([t, n], i) => {
    d += i === 0 ? `M${x(t).toFixed(1)},${y(n).toFixed(1)}` : ` H${x(t).toFixed(1)} V${y(n).toFixed(1)}`;
  });
  if (series.length) d += ` H${x(end).toFixed(1)}`;
  const color = colorFor(name.split(".").pop());
  const steps = series.map(([t, n]) => `${seconds(t)}: ${n}`).join(", ");
  return h(
    "figure",
    { class: "count-chart", dataset: { count: name } },
    h("figcaption", {}, h("span", { class: "mono" }, name), h("span", { class: "muted small" }, ` min ${info.min} · max ${info.max}`)),
    s(
      "svg",
      { class: "step-chart", viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": `${name} over time: ${steps}` },
      s("title", {}, `${name} over time: ${steps}`),
      s("line", { class: "axis", x1: PAD_L, y1: y(0), x2: W - 4, y2: y(0) }),
      s("line", { class: "axis", x1: PAD_L, y1: PAD_T, x2: PAD_L, y2: y(0) }),
      s("text", { class: "tick", x: PAD_L - 4, y: y(top) + 4, "text-anchor": "end" }, String(top)),
      s("text", { class: "tick", x: PAD_L - 4, y: y(0), "text-anchor": "end" }, "0"),
      s("text", { class: "tick", x: PAD_L, y: H - 2 }, "0 s"),
      s("text", { class: "tick", x: W - 4, y: H - 2, "text-anchor": "end" }, seconds(end)),
      d ? s("path", { class: "step", d, stroke: color }) : null,
    ),
  );
}

function chartsBlock(counts, end) {
  const names = Object.keys(counts ?? {});
  if (!names.length) return h("p", { class: "muted small" }, "No lists of regions to count in these results.");
  return h("div", { class: "count-charts", id: "video-counts" }, names.map((name) => stepChart(name, counts[name], end)));
}

// ---- the frames --------------------------------------------------------------------------------

/** One line about a frame's result: "barcodes 1: VISOR-A", or its error code. */
export function frameSummary(frame) {
  if (frame.error) return h("span", { class: "tag err-code", dataset: { code: frame.error.details?.code ?? "" } }, h("code", {}, frame.error.details?.code ?? frame.error.type ?? "error"));
  const { shapes } = collect(frame.result ?? {});
  if (!shapes.length) return h("span", { class: "muted" }, "nothing found");
  const kinds = new Map();
  for (const shape of shapes) {
    const group = kinds.get(shape.kind) ?? [];
    group.push(shape.label);
    kinds.set(shape.kind, group);
  }
  const text = [...kinds.entries()].map(([kind, labels]) => {
    const named = [...new Set(labels.filter(Boolean))];
    const shown = named.slice(0, 3).join(", ") + (named.length > 3 ? ", …" : "");
    return `${kind} ${labels.length}${shown ? `: ${shown}` : ""}`;
  });
  return h("span", {}, text.join(" · "));
}

/** Why the frame list is shorter than the frames sampled (a size limit, or summary only). */
function listingNote(result) {
  const sampled = result.video?.frames_sampled;
  const listed = (result.frames ?? []).length;
  if (typeof sampled !== "number" || listed >= sampled) return null;
  const text = listed === 0
    ? `The job kept the summary only: its ${count(sampled)} frames are not listed one by one.`
    : `The list holds the first ${count(listed)} of ${count(sampled)} frames (the result's size limit); the summary above covers every frame.`;
  return h("p", { class: "muted small", id: "frames-note" }, text);
}

function framesList(frames, onFrame) {
  const pages = Math.max(1, Math.ceil(frames.length / FRAMES_PER_PAGE));
  let current = 0;
  let selected = null;
  const body = h("tbody");
  const label = h("span", { class: "muted small", id: "frames-page" });
  const prev = h("button", { class: "btn small", type: "button", id: "frames-prev", onclick: () => show(current - 1) }, "← Earlier");
  const next = h("button", { class: "btn small", type: "button", id: "frames-next", onclick: () => show(current + 1) }, "Later →");
  const detail = h("pre", { class: "code frame-json", id: "frame-json" });
  const detailHead = h("div", { class: "muted small", id: "frame-json-head" });
  const detailBox = h("div", { class: "frame-detail", id: "frame-detail", hidden: true }, detailHead, detail);

  function select(frame, row) {
    body.querySelector("tr.selected")?.classList.remove("selected");
    row.classList.add("selected");
    selected = frame.index;
    detailHead.textContent = `Frame ${frame.index} at ${seconds(frame.t_s)}`;
    detail.textContent = prettyJson(frame);
    detailBox.hidden = false;
    onFrame?.(frame);
  }

  function row(frame) {
    const tr = h(
      "tr",
      { class: `frame-row${frame.error ? " failed" : ""}`, tabindex: "0", dataset: { index: String(frame.index), t: String(frame.t_s) } },
      h("td", { class: "num mono" }, String(frame.index)),
      h("td", { class: "num nowrap" }, seconds(frame.t_s)),
      h("td", { class: "break" }, frameSummary(frame)),
    );
    if (frame.index === selected) tr.classList.add("selected");
    tr.addEventListener("click", () => select(frame, tr));
    tr.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        select(frame, tr);
      }
    });
    return tr;
  }

  function show(page) {
    current = Math.min(Math.max(page, 0), pages - 1);
    const slice = frames.slice(current * FRAMES_PER_PAGE, (current + 1) * FRAMES_PER_PAGE);
    body.replaceChildren(...slice.map(row));
    if (!slice.length) body.append(h("tr", {}, h("td", { class: "empty", colspan: "3" }, "No frames were sampled.")));
    label.textContent = `${count(frames.length)} frame${frames.length === 1 ? "" : "s"}${pages > 1 ? ` · page ${current + 1} of ${pages}` : ""}`;
    prev.disabled = current === 0;
    next.disabled = current >= pages - 1;
  }
  show(0);
  return h(
    "div",
    { class: "frames-block" },
    h(
      "div",
      { class: "table-wrap frames-wrap" },
      h("table", { class: "table compact", id: "video-frames" }, h("thead", {}, h("tr", {}, h("th", { class: "num" }, "#"), h("th", { class: "num" }, "Time"), h("th", {}, "Result"))), body),
    ),
    h("div", { class: "pager" }, prev, label, next),
    detailBox,
  );
}

/** The raw JSON, built when its box is first opened (a long video's result is large). */
export function lazyJson(value, id) {
  const pre = h("pre", { class: "code", id });
  const box = h("details", { class: "json-box raw-json" }, h("summary", {}, "Raw JSON"), pre);
  box.addEventListener("toggle", () => {
    if (box.open && !pre.textContent) pre.textContent = prettyJson(value);
  });
  return box;
}

/**
 * The video job result view. `onFrame(frame)` is called when a frame's row is chosen
 * (the try page seeks its preview there). `rawId` names the raw JSON's <pre>.
 */
export function videoResultView(result, { onFrame, rawId = "video-raw" } = {}) {
  const summary = result.summary ?? {};
  const end = timeSpan(result);
  return h(
    "div",
    { class: "video-result", id: "video-result" },
    videoLine(result),
    incompleteNote(result.video),
    framesBlock(summary),
    h("h3", {}, "Values seen"),
    valuesTable(summary.values),
    h("h3", {}, "Counts over time"),
    chartsBlock(summary.counts, end),
    h("h3", {}, "Frames"),
    listingNote(result),
    (result.frames ?? []).length || !result.video?.frames_sampled ? framesList(result.frames ?? [], onFrame) : null,
    lazyJson(result, rawId),
  );
}
