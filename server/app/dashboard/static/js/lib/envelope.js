// The error envelope, shown plainly: type, code, HTTP status, message and the details.

import { h } from "./dom.js";
import { prettyJson } from "./format.js";

/** `error` is the envelope's error section; `status` the HTTP status when there was one. */
export function envelopeView(error, status) {
  const code = error?.details?.code ?? "";
  return h(
    "div",
    { class: "envelope", role: "alert", dataset: { type: error?.type ?? "", code } },
    h(
      "div",
      { class: "envelope-head" },
      h("span", { class: "badge err keep-case" }, error?.type ?? "Error"),
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
