// Try a tool: pick plugin and tool, give an image, fill the options, run it (or run it as a
// job) and see the answer drawn over the image beside the JSON. Saved pipelines are offered
// as plugin "pipeline" (their names as tools), run the same ways, drawn the same way.
// A video file is submitted as a video job (POST /v1/video/jobs) with its sampling rule,
// followed live, and its result shown as the video view (values, counts, frames).

import { api, ApiError, url } from "../lib/api.js";
import { $, fill, h } from "../lib/dom.js";
import { envelopeView, outcomeWords } from "../lib/envelope.js";
import { badge, bytes, ms, plural, prettyJson } from "../lib/format.js";
import { isTerminal, watchJob } from "../lib/jobwatch.js";
import { collect, draw, findingsView, legendView, swatchesView } from "../lib/overlay.js";
import { asTool, dataUrl, PIPELINE, savedPipelines } from "../lib/pipelines.js";
import { setMarkdown } from "../lib/markdown.js";
import { progressView } from "../lib/progress.js";
import { renderSchemaForm, takesImage } from "../lib/schema_form.js";
import { canRun, initSession } from "../lib/session.js";
import { framesText, isVideoFile, isVideoJob, targetText, videoResultView } from "../lib/video.js";

const OPEN_OPTIONS_UP_TO = 4;
const VIDEO_TITLE = "A video runs as a job: use Run as video job.";

const state = {
  manifests: new Map(),
  pipelines: [],
  tool: null, // the selected tool's manifest entry
  form: null,
  file: null, // Blob (a File or a camera snapshot)
  isVideo: false, // the file is a video: it runs as a video job only
  previewUrl: null,
  stopWatch: null,
  stream: null,
  mayRun: true, // false for a read-only key: it sees but cannot run
};

const els = {
  plugin: $("#plugin-select"),
  tool: $("#tool-select"),
  toolDescription: $("#tool-description"),
  imageInput: $("#image-input"),
  dropzone: $("#dropzone"),
  dropText: $("#dropzone-text"),
  thumb: $("#thumb"),
  fileInput: $("#file-input"),
  fileName: $("#file-name"),
  cameraButton: $("#camera-button"),
  camera: $("#camera"),
  video: $("#camera-video"),
  options: $("#options-fields"),
  optionsBox: $("#options"),
  optionsSummary: $("#options-summary"),
  resultCard: $("#result-card"),
  run: $("#run-button"),
  job: $("#job-button"),
  status: $("#result-status"),
  jobPanel: $("#job-panel"),
  errorPanel: $("#error-panel"),
  stageWrap: $("#stage-wrap"),
  preview: $("#preview"),
  overlay: $("#overlay"),
  legend: $("#legend"),
  swatches: $("#swatches"),
  findings: $("#findings"),
  jsonBox: $("#json-box"),
  json: $("#json-output"),
  videoOptions: $("#video-options"),
  sampleMode: $("#sample-mode"),
  sampleValue: $("#sample-value"),
  sampleValueLabel: $("#sample-value-label"),
  sampleStart: $("#sample-start"),
  sampleEnd: $("#sample-end"),
  sampleFrames: $("#sample-frames"),
  videoPreview: $("#video-preview"),
  videoPanel: $("#video-panel"),
};

// ---- pickers ---------------------------------------------------------------------------

async function manifest(name) {
  if (name === PIPELINE) return { name, tools: state.pipelines.map(asTool), default_tool: null };
  if (!state.manifests.has(name)) {
    state.manifests.set(name, await api(`/v1/plugins/${encodeURIComponent(name)}`));
  }
  return state.manifests.get(name);
}

async function loadPlugins() {
  const [{ plugins }, pipelines] = await Promise.all([api("/v1/plugins"), savedPipelines()]);
  state.pipelines = pipelines;
  const params = new URLSearchParams(window.location.search);
  const wanted = params.get("plugin");
  const usable = plugins.filter((p) => p.state !== "UNAVAILABLE");
  const listed = usable.length ? usable : plugins;
  const options = listed.map((p) => h("option", { value: p.name }, p.name));
  if (pipelines.length) options.push(h("option", { value: PIPELINE }, "pipeline (saved pipelines)"));
  fill(els.plugin, options);
  if (wanted && [...els.plugin.options].some((o) => o.value === wanted)) els.plugin.value = wanted;
  await selectPlugin(params.get("tool"));
}

async function selectPlugin(wantedTool) {
  const m = await manifest(els.plugin.value);
  fill(els.tool, m.tools.map((t) => h("option", { value: t.name }, t.name + (t.default ? " (default)" : ""))));
  const fallback = m.default_tool ?? m.tools[0]?.name;
  els.tool.value = wantedTool && m.tools.some((t) => t.name === wantedTool) ? wantedTool : fallback;
  await selectTool();
}

async function selectTool() {
  const m = await manifest(els.plugin.value);
  state.tool = m.tools.find((t) => t.name === els.tool.value) ?? null;
  setMarkdown(els.toolDescription, state.tool?.description ?? "");
  state.form = renderSchemaForm(argumentsSchema(state.tool), els.options);
  // Short forms stay open; long ones fold away until wanted.
  els.optionsBox.open = state.form.count <= OPEN_OPTIONS_UP_TO;
  els.optionsSummary.textContent = state.form.count ? `· ${plural(state.form.count, "setting")}` : "· none";
  els.imageInput.hidden = !needsImage();
  els.videoOptions.hidden = !(state.isVideo && needsImage());
  const params = new URLSearchParams({ plugin: els.plugin.value, tool: els.tool.value });
  history.replaceState(null, "", `${window.location.pathname}?${params}`);
  updateButtons();
}

const needsImage = () => takesImage(argumentsSchema(state.tool));

function updateButtons() {
  const ready = state.mayRun && Boolean(state.tool) && (!needsImage() || Boolean(state.file));
  const video = state.isVideo && needsImage();
  els.run.disabled = !ready || video; // there is no synchronous video run
  if (video) els.run.title = VIDEO_TITLE;
  else if (els.run.title === VIDEO_TITLE) els.run.title = "";
  els.job.disabled = !ready;
  els.job.textContent = video ? "Run as video job" : "Run as job";
}

// ---- the image -----------------------------------------------------------------------

function setImage(blob, name) {
  state.file = blob;
  state.isVideo = isVideoFile(blob);
  if (state.previewUrl) URL.revokeObjectURL(state.previewUrl);
  state.previewUrl = URL.createObjectURL(blob);
  if (state.isVideo) {
    els.thumb.removeAttribute("src");
    els.thumb.hidden = true;
  } else {
    els.thumb.src = state.previewUrl;
    els.thumb.hidden = false;
  }
  els.fileName.textContent = `${name} · ${bytes(blob.size)}${state.isVideo ? " · video" : ""}`;
  els.dropText.querySelector("strong").textContent = "Drop another file to replace it";
  els.videoOptions.hidden = !(state.isVideo && needsImage());
  showImage();
  clearResult();
  updateButtons();
}

function showImage() {
  els.overlay.replaceChildren();
  if (state.isVideo) {
    els.preview.removeAttribute("src");
    els.preview.hidden = true;
    if (els.videoPreview.getAttribute("src") !== state.previewUrl) els.videoPreview.src = state.previewUrl;
    els.videoPreview.hidden = false;
  } else {
    els.videoPreview.pause();
    els.videoPreview.removeAttribute("src");
    els.videoPreview.hidden = true;
    els.preview.hidden = false;
    els.preview.src = state.previewUrl;
  }
  els.stageWrap.hidden = !needsImage() || !state.previewUrl;
}

function wireImageInputs() {
  // A file the browser cannot show (not an image): no broken picture; the tool will say why.
  els.preview.addEventListener("error", () => {
    if (!state.isVideo) els.stageWrap.hidden = true;
  });
  // A video the browser cannot play (a codec it lacks, or not a video): the server decides.
  els.videoPreview.addEventListener("error", () => {
    if (state.isVideo && els.videoPreview.getAttribute("src")) els.stageWrap.hidden = true;
  });
  els.videoPreview.addEventListener("play", () => els.overlay.replaceChildren());
  els.sampleMode.addEventListener("change", () => {
    const perSecond = els.sampleMode.value === "fps";
    els.sampleValueLabel.textContent = perSecond ? "Frames per second" : "Every n-th frame";
    els.sampleValue.step = perSecond ? "any" : "1";
    els.sampleValue.min = perSecond ? "0.01" : "1";
    els.sampleValue.value = perSecond ? "2" : "10";
  });
  els.thumb.addEventListener("error", () => {
    els.thumb.hidden = true;
  });
  // Sample images shipped with the dashboard: one click gives the tool something to read.
  for (const button of document.querySelectorAll("#samples [data-sample]")) {
    button.addEventListener("click", async () => {
      const response = await fetch(button.dataset.sample);
      if (!response.ok) return;
      const blob = await response.blob();
      setImage(new File([blob], button.dataset.name, { type: blob.type }), button.dataset.name);
    });
  }
  els.fileInput.addEventListener("change", () => {
    const file = els.fileInput.files[0];
    if (file) setImage(file, file.name);
  });
  els.dropzone.addEventListener("click", () => els.fileInput.click());
  els.dropzone.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      els.fileInput.click();
    }
  });
  for (const type of ["dragenter", "dragover"]) {
    els.dropzone.addEventListener(type, (event) => {
      event.preventDefault();
      els.dropzone.classList.add("over");
    });
  }
  for (const type of ["dragleave", "drop"]) {
    els.dropzone.addEventListener(type, () => els.dropzone.classList.remove("over"));
  }
  els.dropzone.addEventListener("drop", (event) => {
    event.preventDefault();
    const file = [...(event.dataTransfer?.files ?? [])][0];
    if (file) setImage(file, file.name);
  });
  // Paste an image from the clipboard, too.
  document.addEventListener("paste", (event) => {
    const item = [...(event.clipboardData?.items ?? [])].find((i) => i.type.startsWith("image/"));
    if (item) setImage(item.getAsFile(), "pasted image");
  });

  // The webcam: only where the browser offers it (secure contexts, e.g. localhost or HTTPS).
  if (window.isSecureContext && navigator.mediaDevices?.getUserMedia) {
    els.cameraButton.hidden = false;
    els.cameraButton.addEventListener("click", openCamera);
    $("#camera-close").addEventListener("click", closeCamera);
    $("#camera-snap").addEventListener("click", snapshot);
  }
}

async function openCamera() {
  try {
    state.stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: false });
  } catch (err) {
    showError({ type: "ValidationError", message: `The camera is not available: ${err.message}`, details: { code: "camera_unavailable" }, plugin: null });
    return;
  }
  els.video.srcObject = state.stream;
  els.camera.hidden = false;
}

function closeCamera() {
  state.stream?.getTracks().forEach((track) => track.stop());
  state.stream = null;
  els.camera.hidden = true;
}

function snapshot() {
  const canvas = document.createElement("canvas");
  canvas.width = els.video.videoWidth;
  canvas.height = els.video.videoHeight;
  canvas.getContext("2d").drawImage(els.video, 0, 0);
  canvas.toBlob((blob) => {
    if (blob) setImage(blob, "camera snapshot.png");
    closeCamera();
  }, "image/png");
}

// ---- running -------------------------------------------------------------------------

function request() {
  let args;
  try {
    args = state.form.values();
  } catch (err) {
    showError({ type: "ValidationError", message: `An option is not valid JSON: ${err.message}`, details: { code: "invalid_input" }, plugin: null });
    return null;
  }
  if (!needsImage()) return { args, form: null };
  const form = new FormData();
  form.append("file", state.file, state.file.name ?? "image");
  if (state.isVideo) {
    const sample = sampleRule();
    if (!sample) return null;
    if (Object.keys(args).length) form.append("args", JSON.stringify(args));
    form.append("sample", JSON.stringify(sample));
    if (!els.sampleFrames.checked) form.append("frames", "false");
    return { args, form, video: true };
  }
  form.append("args", JSON.stringify(args));
  return { args, form };
}

/** The sampling rule from the video options ({"fps": 2, "start_s": 1}); null when invalid. */
function sampleRule() {
  const number = (input) => (input.value.trim() === "" ? null : Number(input.value));
  const value = number(els.sampleValue);
  const start = number(els.sampleStart);
  const end = number(els.sampleEnd);
  const perSecond = els.sampleMode.value === "fps";
  const problem =
    value === null || !(value > 0) ? "the sampling rate must be a number above 0"
      : !perSecond && !Number.isInteger(value) ? "every n-th frame takes a whole number"
        : start !== null && !(start >= 0) ? "the start must be 0 s or later"
          : end !== null && !(end > (start ?? 0)) ? "the end must be after the start" : null;
  if (problem) {
    showError({ type: "ValidationError", message: `The video sampling is not valid: ${problem}.`, details: { code: "invalid_input" }, plugin: null });
    return null;
  }
  const sample = perSecond ? { fps: value } : { every_n_frames: value };
  if (start !== null) sample.start_s = start;
  if (end !== null) sample.end_s = end;
  return sample;
}

function busy(on, text) {
  els.run.disabled = on;
  els.job.disabled = on;
  if (text) els.status.textContent = text;
  if (!on) updateButtons();
}

async function runNow() {
  if (state.isVideo && needsImage()) return; // a video runs as a job only
  const req = request();
  if (!req) return;
  stopWatching();
  clearResult();
  busy(true, "Running…");
  const path = `/v1/plugins/${encodeURIComponent(els.plugin.value)}/tools/${encodeURIComponent(els.tool.value)}/run`;
  try {
    if (state.tool?.pipeline) {
      const name = state.tool.name;
      const image = await dataUrl(state.file);
      const result = await api(`/v1/pipelines/${encodeURIComponent(name)}/run`, { method: "POST", json: { image } });
      showResult(result, `pipeline ${name} · ${ms(result.elapsed_ms)}`);
      return;
    }
    const response = req.form ? await api(path, { method: "POST", form: req.form }) : await api(path, { method: "POST", json: req.args });
    showResult(response.result, `${response.plugin}.${response.tool} · ${ms(response.elapsed_ms)}`);
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    showError(err.envelope, err.status);
  } finally {
    busy(false);
  }
}

async function runAsJob() {
  const req = request();
  if (!req) return;
  stopWatching();
  clearResult();
  busy(true, "Submitting job…");
  let job;
  try {
    if (req.video) {
      if (state.tool?.pipeline) req.form.append("pipeline", state.tool.name);
      else {
        req.form.append("plugin", els.plugin.value);
        req.form.append("tool", els.tool.value);
      }
      job = await api("/v1/video/jobs", { method: "POST", form: req.form });
    } else if (req.form) {
      req.form.append("plugin", els.plugin.value);
      req.form.append("tool", els.tool.value);
      job = await api("/v1/jobs", { method: "POST", form: req.form });
    } else {
      job = await api("/v1/jobs", { method: "POST", json: { plugin: els.plugin.value, tool: els.tool.value, args: req.args } });
    }
  } catch (err) {
    busy(false);
    if (!(err instanceof ApiError)) throw err;
    showError(err.envelope, err.status);
    return;
  }
  els.jobPanel.hidden = false;
  renderJob(job);
  state.stopWatch = watchJob(job.id, renderJob);
}

function renderJob(job) {
  const cancel = h("button", {
    class: "btn small danger",
    type: "button",
    id: "job-cancel",
    onclick: async () => {
      try {
        renderJob(await api(`/v1/jobs/${encodeURIComponent(job.id)}`, { method: "DELETE" }));
      } catch (err) {
        if (err instanceof ApiError) showError(err.envelope, err.status);
      }
    },
  }, "Cancel");
  fill(
    els.jobPanel,
    h(
      "div",
      { class: "job-line", dataset: { job: job.id, status: job.status } },
      h(
        "div",
        { class: "button-row" },
        badge(job.status),
        h("a", { class: "mono small", href: url(`/ui/jobs/${job.id}`) }, `job ${job.id.slice(0, 8)}`),
        isVideoJob(job) ? h("span", { class: "mono small muted job-target" }, targetText(job)) : null,
        isTerminal(job) || !state.mayRun ? null : cancel,
      ),
      progressView(isVideoJob(job) ? { ...job, progress_message: framesText(job) } : job),
    ),
  );
  els.status.textContent = `Job ${job.status.toLowerCase()}`;
  if (!isTerminal(job)) return;
  busy(false);
  if (job.status === "SUCCESS" && isVideoJob(job)) showVideoResult(job);
  else if (job.status === "SUCCESS") showResult(job.result ?? {}, `${job.plugin}.${job.tool} · job`);
  else if (job.error) showError(job.error);
}

function stopWatching() {
  if (state.stopWatch) state.stopWatch();
  state.stopWatch = null;
  els.jobPanel.hidden = true;
  els.jobPanel.replaceChildren();
}

// ---- the result ------------------------------------------------------------------------

function clearResult() {
  fill(els.errorPanel);
  fill(els.legend);
  fill(els.swatches);
  fill(els.findings);
  fill(els.videoPanel);
  els.overlay.replaceChildren();
  els.jsonBox.hidden = true;
  els.status.textContent = state.file || !needsImage() ? "Ready to run." : "Choose an image or a video.";
}

function showError(error, status) {
  fill(els.errorPanel, envelopeView(error, status));
  els.status.textContent = outcomeWords(error);
  revealResult();
}

/** On a phone the result is below the form: bring it into view. */
function revealResult() {
  const top = els.resultCard.getBoundingClientRect().top;
  if (top > window.innerHeight * 0.6) els.resultCard.scrollIntoView({ behavior: "smooth", block: "start" });
}

function showResult(result, caption) {
  els.status.textContent = caption;
  els.json.textContent = prettyJson(result);
  els.jsonBox.hidden = false;
  const { shapes, colors } = collect(result);
  fill(els.swatches, swatchesView(colors));
  fill(els.findings, findingsView(shapes));
  revealResult();
  if (!needsImage() || !state.previewUrl) return;
  showImage();
  const render = (hidden) => {
    const width = Number.isFinite(result.width) ? result.width : els.preview.naturalWidth;
    const height = Number.isFinite(result.height) ? result.height : els.preview.naturalHeight;
    draw(els.overlay, shapes, width, height, hidden);
  };
  if (els.preview.complete && els.preview.naturalWidth) render(new Set());
  else els.preview.addEventListener("load", () => render(new Set()), { once: true });
  fill(els.legend, shapes.length ? legendView(shapes, render) : h("span", { class: "muted small" }, "Nothing to draw in this result."));
}

/** A video job's result: the summary, charts and frames; a chosen frame is drawn over the video. */
function showVideoResult(job) {
  const result = job.result ?? {};
  els.status.textContent = `${targetText(job)} · ${framesText(job)}`;
  const onFrame = (frame) => {
    if (els.videoPreview.hidden || !frame.result) {
      els.overlay.replaceChildren();
      return;
    }
    els.videoPreview.pause();
    els.videoPreview.currentTime = frame.t_s + 0.001; // just past the frame's start: that frame shows
    const width = frame.result.width ?? result.video?.width ?? els.videoPreview.videoWidth;
    const height = frame.result.height ?? result.video?.height ?? els.videoPreview.videoHeight;
    draw(els.overlay, collect(frame.result).shapes, width, height);
  };
  fill(els.videoPanel, videoResultView(result, { onFrame, rawId: "video-raw" }));
  revealResult();
}

// ---- start ---------------------------------------------------------------------------------

initSession();
canRun().then((allowed) => {
  state.mayRun = allowed;
  if (!allowed) {
    for (const button of [els.run, els.job]) button.title = "This API key has the read scope: it can look, not run tools.";
    els.status.textContent = "Your key can look at tools but not run them (scope read).";
  }
  updateButtons();
});
wireImageInputs();
els.plugin.addEventListener("change", () => selectPlugin(null));
els.tool.addEventListener("change", selectTool);
els.run.addEventListener("click", runNow);
els.job.addEventListener("click", runAsJob);
loadPlugins().catch((err) => {
  if (err instanceof ApiError) showError(err.envelope, err.status);
  else throw err;
});

/** What a call may send (the server's image forms included); older servers: input_schema. */
function argumentsSchema(tool) {
  return tool?.arguments_schema ?? tool?.input_schema ?? {};
}
