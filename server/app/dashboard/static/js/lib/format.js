// Formatting of numbers, times and states, shared by every page.

import { h } from "./dom.js";

export function ms(value) {
  if (value === null || value === undefined) return "—";
  if (value < 1) return `${value.toFixed(2)} ms`;
  if (value < 1000) return `${value.toFixed(value < 10 ? 1 : 0)} ms`;
  return `${(value / 1000).toFixed(value < 10000 ? 2 : 1)} s`;
}

export function count(value) {
  return value === null || value === undefined ? "—" : Number(value).toLocaleString("en");
}

export function bytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(0)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** "1 worker", "3 workers". */
export function plural(n, word) {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/**
 * The caller's share of a plugin's (or tool's) errors: "2 refused input", "1 cancelled".
 * They are not the plugin's failures, so pages show them apart from the red count.
 */
export function callerNotes(m) {
  const refused = m.invalid_input_count ?? m.invalid_input ?? 0;
  const cancelled = m.cancelled_count ?? m.cancelled ?? 0;
  return [refused ? `${count(refused)} refused input` : null, cancelled ? `${count(cancelled)} cancelled` : null].filter(Boolean);
}

/** JSON with two-space indents, short arrays of numbers or strings kept on one line. */
export function prettyJson(value) {
  return JSON.stringify(value, null, 2).replace(/\[\n\s+([^\[\]{}]*?)\n\s*\]/g, (whole, inner) => {
    const flat = `[${inner.split(/,\n\s*/).join(", ")}]`;
    return flat.length <= 72 ? flat : whole;
  });
}

export function percent(fraction) {
  if (fraction === null || fraction === undefined) return "—";
  return `${Math.round(fraction * 100)}%`;
}

/** "12 s ago", "3 min ago"; from an ISO-8601 string. */
export function ago(iso) {
  if (!iso) return "never";
  const seconds = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  if (seconds < 5) return "just now";
  if (seconds < 60) return `${Math.floor(seconds)} s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ago`;
  return `${Math.floor(seconds / 86400)} d ago`;
}

export function duration(fromIso, toIso) {
  if (!fromIso) return "—";
  const end = toIso ? Date.parse(toIso) : Date.now();
  return ms(Math.max(0, end - Date.parse(fromIso)));
}

export function time(iso) {
  if (!iso) return "—";
  return new Date(iso).toLocaleString("en-GB", {
    year: "numeric", month: "short", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit",
  });
}

const TONE = {
  RUNNING: "ok", INITIALIZED: "info", LOADED: "info", FAILED: "err", UNAVAILABLE: "warn",
  PENDING: "", SUCCESS: "ok", CANCELLED: "warn",
};

/** A coloured pill for a plugin lifecycle state or a job status. */
export function badge(state) {
  const tone = TONE[state] ?? "";
  return h("span", { class: `badge ${tone}`.trim(), dataset: { state } }, state);
}
