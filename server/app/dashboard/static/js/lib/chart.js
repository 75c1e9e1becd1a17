// Small line charts over time as inline SVG: no library, nothing loaded from elsewhere.

import { h, s } from "./dom.js";

/** One colour per plugin, stable across polls (assigned in order of first appearance). */
const PALETTE = ["#4f46e5", "#0f8a5f", "#c8283c", "#b45309", "#2563eb", "#9333ea", "#0891b2", "#be185d"];
const colours = new Map();

export function colourOf(name) {
  if (!colours.has(name)) colours.set(name, PALETTE[colours.size % PALETTE.length]);
  return colours.get(name);
}

const WIDTH = 320;
const HEIGHT = 120;
const PAD = { left: 34, right: 6, top: 8, bottom: 18 };

/** A rounded-up axis maximum: 1, 2, 5, 10, 20, 50 … */
function niceMax(value) {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (value <= step * power) return step * power;
  return 10 * power;
}

/**
 * A chart of several series sharing a time axis.
 * `series`: [{name, values: [number|null]}]; `start` epoch seconds of the first value,
 * `step` seconds between values; `format` turns a y value into axis text.
 */
export function lineChart({ title, series, start, step, format = String, id }) {
  const n = Math.max(0, ...series.map((x) => x.values.length));
  const top = niceMax(Math.max(0, ...series.flatMap((x) => x.values.filter((v) => v !== null))));
  const x = (i) => PAD.left + (n <= 1 ? 0 : (i / (n - 1)) * (WIDTH - PAD.left - PAD.right));
  const y = (v) => HEIGHT - PAD.bottom - (v / top) * (HEIGHT - PAD.top - PAD.bottom);
  const minutes = Math.round(((n - 1) * step) / 60);
  const lines = series.map((one) => {
    // A gap (null) breaks the line; a lone point is drawn as a dot.
    const runs = [];
    let run = [];
    one.values.forEach((v, i) => {
      if (v === null || v === undefined) {
        if (run.length) runs.push(run);
        run = [];
      } else run.push([x(i), y(v)]);
    });
    if (run.length) runs.push(run);
    return s(
      "g",
      { class: "chart-series", "data-series": one.name, stroke: colourOf(one.name), fill: colourOf(one.name) },
      runs.map((pts) =>
        pts.length === 1
          ? s("circle", { cx: pts[0][0].toFixed(1), cy: pts[0][1].toFixed(1), r: 2 })
          : s("polyline", { points: pts.map(([a, b]) => `${a.toFixed(1)},${b.toFixed(1)}`).join(" "), fill: "none", "stroke-width": 1.6 }),
      ),
    );
  });
  const grid = [0, 0.5, 1].map((f) =>
    s("g", { class: "chart-grid" },
      s("line", { x1: PAD.left, x2: WIDTH - PAD.right, y1: y(top * f), y2: y(top * f) }),
      s("text", { x: PAD.left - 4, y: y(top * f) + 3, "text-anchor": "end" }, format(top * f)),
    ),
  );
  const axis = [
    s("text", { class: "chart-axis", x: PAD.left, y: HEIGHT - 4 }, `${minutes} min ago`),
    s("text", { class: "chart-axis", x: WIDTH - PAD.right, y: HEIGHT - 4, "text-anchor": "end" }, "now"),
  ];
  const label = `${title}, last ${minutes} minutes`;
  return h(
    "figure",
    { class: "chart", id, dataset: { start: String(start) } },
    h("figcaption", {}, title),
    s("svg", { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: "img", "aria-label": label, preserveAspectRatio: "none" }, grid, lines, axis),
  );
}

/** The plugins' colours, as a legend under the charts. */
export function chartLegend(names) {
  return h(
    "ul",
    { class: "chart-legend" },
    names.map((name) => h("li", { dataset: { series: name } }, s("svg", { viewBox: "0 0 10 10", width: 10, height: 10, "aria-hidden": "true" }, s("rect", { width: 10, height: 10, rx: 2, fill: colourOf(name) })), name)),
  );
}
