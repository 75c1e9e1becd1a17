// A progress bar for a job: fraction, message and the job's status as its colour.

import { h } from "./dom.js";

export function progressView(job) {
  const done = job.status === "SUCCESS";
  const fraction = done ? 1 : (job.progress ?? 0);
  const pct = Math.round(fraction * 100);
  const bar = h("div", { class: "progress-bar" });
  bar.style.width = `${pct}%`;
  return h(
    "div",
    { class: "progress-block" },
    h(
      "div",
      {
        class: "progress",
        dataset: { status: job.status },
        role: "progressbar",
        "aria-valuemin": "0",
        "aria-valuemax": "100",
        "aria-valuenow": String(pct),
      },
      h("div", { class: "progress-track" }, bar),
      h("span", { class: "progress-value" }, `${pct}%`),
    ),
    job.progress_message ? h("div", { class: "progress-message" }, job.progress_message) : null,
  );
}

/** A thin bar for table rows. */
export function miniProgress(job) {
  const fraction = job.status === "SUCCESS" ? 1 : (job.progress ?? 0);
  const bar = h("div", { class: "progress-bar" });
  bar.style.width = `${Math.round(fraction * 100)}%`;
  return h(
    "div",
    { class: "progress", dataset: { status: job.status }, title: `${Math.round(fraction * 100)}%` },
    h("div", { class: "progress-track mini" }, bar),
  );
}
