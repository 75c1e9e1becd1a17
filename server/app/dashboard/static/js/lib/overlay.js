// Draw any tool's result over its image, from the shared result vocabulary:
//   box:      [x, y, w, h]  (or {x, y, width, height})
//   polygon:  [[x, y], ...] (or [{x, y}, ...]; barcode `position` corners too)
//   label:    text | label | name | format;  score: confidence | score (0–1, or 0–100)
//   colours:  objects with a `hex` (alone or in lists) become swatches.
// Shapes are grouped by the key of the list they came from (faces, barcodes, words, ...),
// so any plugin that uses the vocabulary is drawn without the dashboard knowing it.

import { h, s } from "./dom.js";

const PALETTE = ["#f43f5e", "#22c55e", "#3b82f6", "#f59e0b", "#a855f7", "#06b6d4", "#ec4899", "#84cc16"];
const KNOWN = { faces: "#f43f5e", people: "#f59e0b", barcodes: "#22c55e", words: "#3b82f6", lines: "#a855f7" };
const THIN = new Set(["words", "lines", "blocks", "paragraphs"]);
const LABEL_LIMIT = 40; // more shapes than this in one group: tooltips only, no labels

export function colorFor(kind) {
  if (KNOWN[kind]) return KNOWN[kind];
  let hash = 0;
  for (const ch of kind) hash = (hash * 31 + ch.charCodeAt(0)) >>> 0;
  return PALETTE[hash % PALETTE.length];
}

const isNum = (v) => typeof v === "number" && Number.isFinite(v);

function point(p) {
  if (Array.isArray(p) && p.length >= 2 && isNum(p[0]) && isNum(p[1])) return [p[0], p[1]];
  if (p && isNum(p.x) && isNum(p.y)) return [p.x, p.y];
  return null;
}

function polygonOf(obj) {
  const raw = obj.polygon ?? obj.points ?? obj.quad;
  if (Array.isArray(raw) && raw.length >= 3) {
    const pts = raw.map(point);
    if (pts.every(Boolean)) return pts;
  }
  const pos = obj.position;
  if (pos && typeof pos === "object" && pos.top_left) {
    const pts = ["top_left", "top_right", "bottom_right", "bottom_left"].map((k) => point(pos[k]));
    if (pts.every(Boolean)) return pts;
  }
  return null;
}

function boxOf(obj) {
  const raw = obj.box ?? obj.bbox;
  if (Array.isArray(raw) && raw.length === 4 && raw.every(isNum)) return raw;
  if (raw && isNum(raw.x) && isNum(raw.y)) {
    const w = raw.width ?? raw.w;
    const hgt = raw.height ?? raw.h;
    if (isNum(w) && isNum(hgt)) return [raw.x, raw.y, w, hgt];
  }
  return null;
}

function scoreOf(obj) {
  const raw = obj.confidence ?? obj.score;
  return isNum(raw) ? raw : null;
}

/** Confidence in [0, 1] (the shared vocabulary) as a percentage; other scales as numbers. */
export function scoreText(score) {
  if (score === null) return "";
  return score >= 0 && score <= 1 ? `${Math.round(score * 100)}%` : `score ${score.toFixed(2)}`;
}

function labelOf(obj) {
  for (const key of ["text", "label", "name", "format"]) {
    if (typeof obj[key] === "string" && obj[key] !== "") return obj[key];
  }
  return "";
}

function singular(kind) {
  return kind.endsWith("s") ? kind.slice(0, -1) : kind;
}

/** Shapes and colour groups found anywhere in `result`. */
export function collect(result) {
  const shapes = [];
  const colors = [];
  const walk = (value, kind, path) => {
    if (Array.isArray(value)) {
      const swatches = value.filter((v) => v && typeof v === "object" && typeof v.hex === "string");
      if (swatches.length && swatches.length === value.length) {
        colors.push({ name: path, colors: swatches });
        return;
      }
      value.forEach((item) => walk(item, kind, path));
      return;
    }
    if (!value || typeof value !== "object") return;
    if (typeof value.hex === "string") {
      colors.push({ name: path, colors: [value] });
      return;
    }
    const polygon = polygonOf(value);
    const box = boxOf(value);
    if (polygon || box) {
      shapes.push({
        kind,
        polygon,
        box,
        label: labelOf(value),
        detail: typeof value.format === "string" && value.format !== labelOf(value) ? value.format : "",
        score: scoreOf(value),
      });
    }
    for (const [key, child] of Object.entries(value)) {
      if (["box", "bbox", "polygon", "points", "quad", "position"].includes(key)) continue;
      if (child && typeof child === "object") walk(child, Array.isArray(child) ? key : kind, key);
    }
  };
  walk(result, "result", "result");
  return { shapes, colors };
}

function bounds(shape) {
  if (shape.box) return shape.box;
  const xs = shape.polygon.map((p) => p[0]);
  const ys = shape.polygon.map((p) => p[1]);
  return [Math.min(...xs), Math.min(...ys), Math.max(...xs) - Math.min(...xs), Math.max(...ys) - Math.min(...ys)];
}

/**
 * Draw `shapes` into `svg`, in the coordinate system of a `width` × `height` image.
 * Groups listed in `hidden` are not drawn.
 */
export function draw(svg, shapes, width, height, hidden = new Set()) {
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("preserveAspectRatio", "none");
  svg.replaceChildren();
  const perKind = new Map();
  for (const shape of shapes) perKind.set(shape.kind, (perKind.get(shape.kind) ?? 0) + 1);
  const fontSize = Math.max(10, Math.round(Math.max(width, height) * 0.022));
  for (const shape of shapes) {
    if (hidden.has(shape.kind)) continue;
    const color = colorFor(shape.kind);
    const cls = THIN.has(shape.kind) ? "shape thin" : "shape";
    const title = s("title", {}, `${singular(shape.kind)}${shape.label ? `: ${shape.label}` : ""}${shape.score !== null ? ` (${scoreText(shape.score)})` : ""}`);
    const el = shape.polygon
      ? s("polygon", { class: cls, points: shape.polygon.map((p) => p.join(",")).join(" "), stroke: color, fill: color }, title)
      : s("rect", { class: cls, x: shape.box[0], y: shape.box[1], width: shape.box[2], height: shape.box[3], stroke: color, fill: color }, title);
    const group = s("g", { "data-kind": shape.kind }, el);
    if (perKind.get(shape.kind) <= LABEL_LIMIT && !THIN.has(shape.kind)) {
      const [x, y] = bounds(shape);
      const text = shape.label || singular(shape.kind);
      const caption = shape.score !== null && shape.score <= 1 ? `${text} ${scoreText(shape.score)}` : text;
      const above = y - fontSize * 0.35 > fontSize;
      group.append(
        s("text", { x, y: above ? y - fontSize * 0.35 : y + fontSize, "font-size": fontSize, "stroke-width": fontSize / 5 },
          caption.length > 48 ? `${caption.slice(0, 47)}…` : caption),
      );
    }
    svg.append(group);
  }
}

/** Toggle chips per shape group ("faces (1)", "words (57)"); calls `onChange(hidden)`. */
export function legendView(shapes, onChange) {
  const kinds = new Map();
  for (const shape of shapes) kinds.set(shape.kind, (kinds.get(shape.kind) ?? 0) + 1);
  const hidden = new Set();
  return [...kinds.entries()].map(([kind, n]) => {
    const key = h("span", { class: "key" });
    key.style.background = colorFor(kind);
    const box = h("input", {
      type: "checkbox",
      checked: true,
      onchange: () => {
        if (box.checked) hidden.delete(kind);
        else hidden.add(kind);
        onChange(hidden);
      },
    });
    return h("label", { dataset: { kind } }, box, key, `${kind} (${n})`);
  });
}

/** A list of what was found, with labels as text (readable and searchable). */
export function findingsView(shapes, limit = 200) {
  const items = shapes.filter((shape) => !THIN.has(shape.kind) || shape.kind === "lines").slice(0, limit);
  if (!items.length) return null;
  return h(
    "ul",
    { class: "findings" },
    items.map((shape) => {
      const key = h("span", { class: "key" });
      key.style.background = colorFor(shape.kind);
      const [x, y, w, hgt] = bounds(shape).map((v) => Math.round(v));
      return h(
        "li",
        { dataset: { kind: shape.kind } },
        key,
        h("span", { class: "finding-text" }, shape.label || singular(shape.kind)),
        shape.detail ? h("span", { class: "tag" }, shape.detail) : null,
        shape.score !== null ? h("span", { class: "muted small" }, scoreText(shape.score)) : null,
        h("span", { class: "muted small mono" }, `${w}×${hgt} at ${x},${y}`),
      );
    }),
  );
}

/** Colour swatches (image_info's mean and dominant colours, or any `hex` colours). */
export function swatchesView(groups) {
  if (!groups.length) return null;
  return h(
    "div",
    { class: "swatch-set" },
    groups.map((group) =>
      h(
        "div",
        { class: "swatch-group" },
        h("h3", {}, group.name.replace(/_/g, " ")),
        h(
          "div",
          { class: "swatches" },
          group.colors.map((color) => {
            const chip = h("div", { class: "chip" });
            chip.style.background = color.hex;
            return h(
              "div",
              { class: "swatch", dataset: { hex: color.hex } },
              chip,
              h("span", { class: "mono" }, color.hex),
              isNum(color.fraction) && group.colors.length > 1 ? h("span", { class: "muted" }, `${Math.round(color.fraction * 100)}%`) : null,
            );
          }),
        ),
      ),
    ),
  );
}
