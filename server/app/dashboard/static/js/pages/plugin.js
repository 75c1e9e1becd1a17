// A plugin: its state, metrics, and each tool with description, arguments and schemas.

import { api, ApiError, url } from "../lib/api.js";
import { $, fill, h } from "../lib/dom.js";
import { envelopeView } from "../lib/envelope.js";
import { ago, badge, callerNotes, count, ms } from "../lib/format.js";
import { poll } from "../lib/live.js";
import { inline, markdown, setMarkdown } from "../lib/markdown.js";
import { IMAGE_FIELDS, takesImage } from "../lib/schema_form.js";
import { initSession, session } from "../lib/session.js";
import { exampleArgs, snippets, snippetsView } from "../lib/snippets.js";

const name = $("#main").dataset.plugin;
const POLL_MS = 3000;

function typeText(node) {
  if (!node) return "";
  if (node.$ref) return node.$ref.split("/").pop();
  if (node.enum) return node.enum.map((v) => JSON.stringify(v)).join(" | ");
  if (node.anyOf) return node.anyOf.map(typeText).join(" | ");
  if (node.type === "array") return `${typeText(node.items)}[]`;
  return node.type ?? "any";
}

function limits(node) {
  const parts = [];
  if (node.minimum !== undefined) parts.push(`≥ ${node.minimum}`);
  if (node.exclusiveMinimum !== undefined) parts.push(`> ${node.exclusiveMinimum}`);
  if (node.maximum !== undefined) parts.push(`≤ ${node.maximum}`);
  if (node.exclusiveMaximum !== undefined) parts.push(`< ${node.exclusiveMaximum}`);
  if (node.maxLength !== undefined) parts.push(`≤ ${node.maxLength} chars`);
  return parts.join(", ");
}

function argsTable(schema) {
  const required = new Set(schema.required ?? []);
  const rows = Object.entries(schema.properties ?? {}).map(([arg, node]) =>
    h(
      "tr",
      {},
      h("td", {}, arg, required.has(arg) ? " *" : ""),
      h("td", { class: "mono" }, typeText(node), limits(node) ? h("div", { class: "muted" }, limits(node)) : null),
      h("td", { class: "mono" }, node.default !== undefined ? JSON.stringify(node.default) : ""),
      h("td", { class: "md" }, inline(node.description ?? ""), IMAGE_FIELDS.has(arg) ? h("span", { class: "muted" }, " (the image)") : null),
    ),
  );
  if (!rows.length) return h("p", { class: "muted small" }, "No arguments.");
  return h(
    "div",
    { class: "table-wrap" },
    h("table", { class: "args" }, h("thead", {}, h("tr", {}, h("th", {}, "Argument"), h("th", {}, "Type"), h("th", {}, "Default"), h("th", {}, "Description"))), h("tbody", {}, rows)),
  );
}

let keyed = false; // the server asks for API keys: snippets send one

function toolSnippets(tool) {
  const code = snippets({
    origin: window.location.origin + url(""),
    plugin: name,
    tool: tool.name,
    args: exampleArgs(tool.input_schema, IMAGE_FIELDS),
    takesImage: takesImage(tool.input_schema),
    keyed,
  });
  return snippetsView(code);
}

function toolCard(tool, metrics) {
  const m = metrics ?? { calls: 0, errors: 0, p50_ms: null, p95_ms: null };
  return h(
    "article",
    { class: "card", dataset: { tool: tool.name } },
    h(
      "div",
      { class: "tool-head" },
      h(
        "div",
        { class: "tool-title" },
        h("h3", {}, tool.name),
        tool.default ? h("span", { class: "badge info plain" }, "default") : null,
        tool.timeout_s ? h("span", { class: "tag" }, `timeout ${tool.timeout_s} s`) : null,
      ),
      h("a", { class: "btn small", href: url(`/ui/try?plugin=${encodeURIComponent(name)}&tool=${encodeURIComponent(tool.name)}`) }, "Try"),
    ),
    tool.description ? markdown(tool.description, "div", { class: "tool-desc" }) : h("p", { class: "tool-desc muted" }, "No description."),
    h(
      "dl",
      { class: "metrics tool-metrics", dataset: { metricsFor: tool.name } },
      ...toolMetrics(m),
    ),
    argsTable(tool.input_schema),
    toolSnippets(tool),
    h("details", { class: "schema-details" }, h("summary", {}, "Input schema"), h("pre", { class: "code" }, JSON.stringify(tool.input_schema, null, 2))),
    h("details", { class: "schema-details" }, h("summary", {}, "Output schema"), h("pre", { class: "code" }, JSON.stringify(tool.output_schema, null, 2))),
  );
}

function toolMetrics(m) {
  const metric = (label, value, cls) => h("div", {}, h("dt", {}, label), h("dd", { class: cls }, value));
  return [
    metric("Calls", count(m.calls)),
    metric("Failed", count(m.failures), m.failures ? "err" : ""),
    metric("Refused / cancelled", `${count(m.invalid_input)} / ${count(m.cancelled)}`),
    metric("p50 / p95", `${ms(m.p50_ms)} / ${ms(m.p95_ms)}`),
  ];
}

function renderHealth(health) {
  fill($("#plugin-state"), badge(health.state));
  const stat = (label, value, sub) => h("div", { class: "stat" }, h("span", { class: "stat-label" }, label), h("span", { class: "stat-value" }, value), sub ? h("span", { class: "stat-sub" }, sub) : null);
  fill(
    $("#plugin-stats"),
    stat("Succeeded", count(health.success_count)),
    stat("Failed", count(health.failure_count), [...callerNotes(health), health.no_tool_count ? `${count(health.no_tool_count)} before a tool was chosen` : null].filter(Boolean).join(" · ") || null),
    stat("Latency p50", ms(health.p50_ms), `mean ${ms(health.avg_execution_time_ms)}`),
    stat("Latency p95", ms(health.p95_ms)),
    stat("Last used", ago(health.last_used)),
  );
  fill($("#plugin-reason"), health.reason ? h("div", { class: `reason ${health.state === "FAILED" ? "err" : ""}`.trim() }, health.reason) : null);
  for (const dl of document.querySelectorAll("[data-metrics-for]")) {
    const m = health.tools?.[dl.dataset.metricsFor];
    if (m) fill(dl, ...toolMetrics(m));
  }
}

async function load() {
  let manifest;
  try {
    manifest = await api(`/v1/plugins/${encodeURIComponent(name)}`);
  } catch (err) {
    if (err instanceof ApiError) {
      fill($("#tools"), envelopeView(err.envelope, err.status));
      return;
    }
    throw err;
  }
  setMarkdown($("#plugin-description"), manifest.description);
  $("#plugin-meta").textContent = [`version ${manifest.version}`, manifest.isolation.replace("_", "-"), manifest.origin].filter(Boolean).join(" · ");
  keyed = Boolean((await session()).enabled);
  const health = await api(`/v1/plugins/${encodeURIComponent(name)}/health`);
  fill($("#tools"), manifest.tools.length ? manifest.tools.map((tool) => toolCard(tool, health.tools?.[tool.name])) : h("p", { class: "muted" }, "This plugin has no tools."));
  renderHealth(health);
  poll(async () => renderHealth(await api(`/v1/plugins/${encodeURIComponent(name)}/health`)), POLL_MS);
}

initSession();
load();
