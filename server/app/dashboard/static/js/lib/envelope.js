// The error envelope, shown plainly: type, code, HTTP status, message and the details.

import { h } from "./dom.js";
import { prettyJson } from "./format.js";

/**
 * A call's end in words: a cancel the user chose and input the server refused are not the
 * tool failing, so they are not called "Failed".
 */
export function outcomeWords(error) {
  const code = error?.details?.code;
  if (code === "cancelled") return "Cancelled.";
  if (code === "invalid_input" || code === "tool_not_found") return "Refused: check the input.";
  return "Failed.";
}

/** A badge tone per code: the caller's doing is a warning, everything else an error. */
function tone(code) {
  return code === "cancelled" || code === "invalid_input" || code === "tool_not_found" ? "warn" : "err";
}

/** `error` is the envelope's error section; `status` the HTTP status when there was one. */
export function envelopeView(error, status) {
  const code = error?.details?.code ?? "";
  return h(
    "div",
    { class: "envelope", role: "alert", dataset: { type: error?.type ?? "", code } },
    h(
      "div",
      { class: "envelope-head" },
      h("span", { class: `badge ${tone(code)} keep-case` }, error?.type ?? "Error"),
      code ? h("code", {}, code) : null,
      status ? h("span", { class: "muted small" }, `HTTP ${status}`) : null,
      error?.plugin ? h("span", { class: "muted small" }, `plugin ${error.plugin}`) : null,
    ),
    h("p", { class: "envelope-message" }, error?.message ?? "Unknown error"),
    h(
      "details",
      { class: "schema-details", open: true },
      h("summary", {}, "Error envelope"),
      h("pre", { class: "code" }, prettyJson({ error })),
    ),
  );
}
