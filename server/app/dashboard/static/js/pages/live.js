// Live camera: getUserMedia → canvas → JPEG binary frames over the stream WebSocket
// (/v1/streams/{plugin}/{tool} or /v1/streams/pipeline/{name}); every answer is drawn over
// the video as it arrives. The server keeps only the newest frame while the tool works and
// says how many it dropped; the page never queues frames itself (it skips a tick while the
// previous frame is still being encoded or sent). Signed-in pages connect with their
// session cookie: the server accepts it on a WebSocket only from its own origin.

import { api, ApiError, url } from "../lib/api.js";
import { $, fill, h } from "../lib/dom.js";
import { envelopeView } from "../lib/envelope.js";
import { ms, prettyJson } from "../lib/format.js";
import { collect, draw, findingsView, legendView, swatchesView } from "../lib/overlay.js";
import { PIPELINE, savedPipelines, stepsText } from "../lib/pipelines.js";
import { takesImage } from "../lib/schema_form.js";
import { canRun, initSession } from "../lib/session.js";

const els = {
  target: $("#live-target"),
  description: $("#live-description"),
  fps: $("#live-fps"),
  quality: $("#live-quality"),
  start: $("#live-start"),
  stop: $("#live-stop"),
  sent: $("#live-sent"),
  answered: $("#live-answered"),
  dropped: $("#live-dropped"),
  failed: $("#live-failed"),
  latency: $("#live-latency"),
  frame: $("#live-frame"),
  status: $("#live-status"),
  errorPanel: $("#error-panel"),
  stageWrap: $("#stage-wrap"),
  video: $("#live-video"),
  overlay: $("#overlay"),
  legend: $("#legend"),
  swatches: $("#swatches"),
  findings: $("#findings"),
  jsonBox: $("#json-box"),
  json: $("#json-output"),
};

const state = {
  targets: new Map(), // "plugin.tool" | "pipeline.name" → {path, description}
  camera: null, // MediaStream
  socket: null,
  timer: null,
  encoding: false,
  canvas: document.createElement("canvas"),
  size: { width: 0, height: 0 }, // of the frames sent: results are in these pixels
  legendKey: "",
  hidden: new Set(),
  counts: { sent: 0, answered: 0, dropped: 0, failed: 0 },
  mayRun: true,
};

// ---- what to stream to --------------------------------------------------------------------

async function loadTargets() {
  const [{ plugins }, pipelines] = await Promise.all([api("/v1/plugins"), savedPipelines()]);
  const usable = plugins.filter((p) => p.state !== "UNAVAILABLE");
  const manifests = await Promise.all(
    usable.map((p) => api(`/v1/plugins/${encodeURIComponent(p.name)}`).catch(() => null)),
  );
  const tools = [];
  for (const m of manifests.filter(Boolean)) {
    for (const tool of m.tools) {
      if (!takesImage(tool.input_schema)) continue; // a stream's frames are images
      const key = `${m.name}.${tool.name}`;
      const path = `/v1/streams/${encodeURIComponent(m.name)}/${encodeURIComponent(tool.name)}`;
      state.targets.set(key, { path, description: tool.description ?? "" });
      tools.push(h("option", { value: key }, key));
    }
  }
  const piped = pipelines.map((saved) => {
    const key = `${PIPELINE}.${saved.name}`;
    const path = `/v1/streams/${PIPELINE}/${encodeURIComponent(saved.name)}`;
    const about = [saved.spec.description, `Steps: ${stepsText(saved.spec)}.`].filter(Boolean).join(" ");
    state.targets.set(key, { path, description: about });
    return h("option", { value: key }, key);
  });
  fill(
    els.target,
    h("optgroup", { label: "Tools" }, tools),
    piped.length ? h("optgroup", { label: "Pipelines" }, piped) : null,
  );
  const wanted = new URLSearchParams(window.location.search).get("target");
  if (wanted && state.targets.has(wanted)) els.target.value = wanted;
  describe();
}

function describe() {
  els.description.textContent = state.targets.get(els.target.value)?.description ?? "";
  const params = new URLSearchParams({ target: els.target.value });
  history.replaceState(null, "", `${window.location.pathname}?${params}`);
}

// ---- streaming ---------------------------------------------------------------------------

async function start() {
  const target = state.targets.get(els.target.value);
  if (!target) return;
  fill(els.errorPanel);
  try {
    state.camera = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 640 } }, audio: false });
  } catch (err) {
    showError({ type: "ValidationError", message: `The camera is not available: ${err.message}`, details: { code: "camera_unavailable" }, plugin: null });
    return;
  }
  els.video.srcObject = state.camera;
  els.stageWrap.hidden = false;
  await els.video.play().catch(() => {});
  resetCounts();
  setRunning(true);
  els.status.textContent = "Connecting…";
  const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
  const socket = new WebSocket(`${scheme}//${window.location.host}${url(target.path)}`);
  state.socket = socket;
  let opened = false;
  socket.addEventListener("open", () => {
    opened = true;
    els.status.textContent = `Streaming to ${els.target.value}.`;
    state.timer = window.setInterval(sendFrame, 1000 / Number(els.fps.value));
  });
  socket.addEventListener("message", (event) => {
    if (typeof event.data === "string") onAnswer(JSON.parse(event.data));
  });
  socket.addEventListener("close", (event) => {
    if (state.socket !== socket) return;
    stop();
    if (!opened) {
      // A refused handshake (no key, a key without run, a foreign origin) reads as 1006.
      showError({
        type: "PluginError",
        message: "The server refused the stream. Sign in with a key that has the run scope.",
        details: { code: "forbidden" },
        plugin: null,
      });
      document.dispatchEvent(new CustomEvent("visor:unauthorized"));
    } else if (event.code !== 1000) {
      els.status.textContent = `The stream closed (${event.code}${event.reason ? `: ${event.reason}` : ""}).`;
    }
  });
}

function sendFrame() {
  const socket = state.socket;
  const video = els.video;
  if (!socket || socket.readyState !== WebSocket.OPEN || state.encoding) return;
  if (socket.bufferedAmount > 0 || !video.videoWidth) return; // never queue frames here
  const canvas = state.canvas;
  canvas.width = video.videoWidth;
  canvas.height = video.videoHeight;
  canvas.getContext("2d").drawImage(video, 0, 0);
  state.encoding = true;
  canvas.toBlob(
    (blob) => {
      state.encoding = false;
      if (!blob || socket.readyState !== WebSocket.OPEN) return;
      state.size = { width: canvas.width, height: canvas.height };
      socket.send(blob); // one binary message = one frame
      state.counts.sent += 1;
      showCounts();
    },
    "image/jpeg",
    Number(els.quality.value),
  );
}

function stop() {
  window.clearInterval(state.timer);
  state.timer = null;
  const socket = state.socket;
  state.socket = null;
  if (socket && socket.readyState <= WebSocket.OPEN) socket.close(1000, "stopped");
  state.camera?.getTracks().forEach((track) => track.stop());
  state.camera = null;
  els.video.srcObject = null;
  setRunning(false);
  els.status.textContent = "Camera off.";
}

function setRunning(on) {
  els.start.disabled = on || !state.mayRun;
  els.stop.disabled = !on;
  els.target.disabled = on;
  els.fps.disabled = on;
}

// ---- answers -----------------------------------------------------------------------------

function onAnswer(answer) {
  const counts = state.counts;
  counts.dropped += Number(answer.dropped) || 0;
  if (answer.frame !== undefined) els.frame.textContent = String(answer.frame);
  els.json.textContent = prettyJson(answer);
  els.jsonBox.hidden = false;
  if (answer.error) {
    counts.failed += 1;
    showCounts();
    showError(answer.error);
    return;
  }
  counts.answered += 1;
  showCounts();
  fill(els.errorPanel);
  els.latency.textContent = ms(answer.elapsed_ms);
  drawResult(answer.result ?? {});
}

function drawResult(result) {
  const { shapes, colors } = collect(result);
  const { width, height } = state.size;
  const render = (hidden) => {
    state.hidden = hidden;
    draw(els.overlay, shapes, width || els.video.videoWidth, height || els.video.videoHeight, hidden);
  };
  render(state.hidden);
  const key = shapes.map((shape) => shape.kind).join(",");
  if (key !== state.legendKey) {
    state.legendKey = key; // rebuilt only when what is found changes (toggles reset then)
    state.hidden = new Set();
    render(state.hidden);
    fill(els.legend, shapes.length ? legendView(shapes, render) : h("span", { class: "muted small" }, "Nothing found in the last frame."));
  }
  fill(els.swatches, swatchesView(colors));
  fill(els.findings, findingsView(shapes, 50));
}

function showError(error) {
  fill(els.errorPanel, envelopeView(error));
}

function resetCounts() {
  state.counts = { sent: 0, answered: 0, dropped: 0, failed: 0 };
  state.legendKey = "";
  els.overlay.replaceChildren();
  fill(els.legend);
  fill(els.findings);
  fill(els.swatches);
  els.latency.textContent = "–";
  els.frame.textContent = "–";
  showCounts();
}

function showCounts() {
  const c = state.counts;
  els.sent.textContent = String(c.sent);
  els.answered.textContent = String(c.answered);
  els.dropped.textContent = String(c.dropped);
  els.failed.textContent = String(c.failed);
}

// ---- start ---------------------------------------------------------------------------------

initSession();
if (!(window.isSecureContext && navigator.mediaDevices?.getUserMedia)) {
  els.start.disabled = true;
  els.status.textContent = "This browser offers no camera here (it needs localhost or HTTPS).";
} else {
  canRun().then((allowed) => {
    state.mayRun = allowed;
    if (!allowed) els.status.textContent = "Your key can look but not stream (scope read).";
    setRunning(false);
  });
  els.start.addEventListener("click", start);
  els.stop.addEventListener("click", stop);
}
els.target.addEventListener("change", describe);
window.addEventListener("pagehide", stop);
loadTargets().catch((err) => {
  if (err instanceof ApiError) showError(err.envelope);
  else throw err;
});
