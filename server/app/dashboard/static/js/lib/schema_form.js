// A form generated from a tool's input JSON Schema (as pydantic writes them).
//
// Scalars become inputs with the schema's limits, enums become selects, booleans
// checkboxes, arrays of enums checkbox groups, anything else a JSON text area. Fields the
// page fills itself (the image and how it is passed) are left out. `values()` returns
// only what the user changed from the defaults, so the server's defaults stay in charge.

import { h } from "./dom.js";

/** Input fields that carry the image: the page provides them, not the form. */
export const IMAGE_FIELDS = new Set(["image", "mime_type", "image_ref", "image_url", "image_path"]);

export function takesImage(schema) {
  const props = schema?.properties ?? {};
  return "image" in props || "image_ref" in props;
}

function deref(node, root) {
  let current = node;
  for (let depth = 0; current && current.$ref && depth < 10; depth += 1) {
    const path = current.$ref.replace(/^#\//, "").split("/");
    let target = root;
    for (const part of path) target = target?.[part];
    current = { ...target, ...Object.fromEntries(Object.entries(current).filter(([k]) => k !== "$ref")) };
  }
  return current ?? {};
}

/** Collapse `anyOf: [X, {type: null}]` (an optional X) into X. */
function unwrap(node, root) {
  const resolved = deref(node, root);
  const options = resolved.anyOf ?? resolved.oneOf;
  if (Array.isArray(options)) {
    const real = options.filter((option) => deref(option, root).type !== "null");
    if (real.length === 1) {
      return { ...deref(real[0], root), ...pick(resolved, ["default", "description", "title"]), nullable: true };
    }
  }
  return resolved;
}

function pick(object, keys) {
  return Object.fromEntries(keys.filter((k) => k in object).map((k) => [k, object[k]]));
}

function label(name, node) {
  return node.title && node.title.toLowerCase() !== name.replace(/_/g, " ") ? node.title : name;
}

function kindOf(node) {
  if (Array.isArray(node.enum)) return "enum";
  if (node.const !== undefined) return "const";
  if (node.type === "boolean") return "boolean";
  if (node.type === "integer" || node.type === "number") return "number";
  if (node.type === "string") return "string";
  if (node.type === "array") return node.items && Array.isArray(node.items.enum) ? "multi" : "list";
  return "json";
}

function buildField(name, node, required) {
  const kind = kindOf(node);
  const id = `opt-${name}`;
  const hasDefault = node.default !== undefined && node.default !== null;
  const help = node.description ? h("span", { class: "field-help" }, node.description) : null;
  let control;
  let read;

  if (kind === "boolean") {
    control = h("input", { type: "checkbox", id, name, checked: Boolean(node.default) });
    read = () => control.checked;
    return {
      name, kind, required, node,
      element: h("div", { class: "field" }, h("label", { class: "check" }, control, h("span", {}, label(name, node))), help),
      read,
    };
  }
  if (kind === "enum") {
    control = h("select", { id, name });
    if (!required || !hasDefault) control.append(h("option", { value: "" }, hasDefault ? `default (${node.default})` : "—"));
    for (const value of node.enum) {
      control.append(h("option", { value: JSON.stringify(value) }, String(value)));
    }
    read = () => (control.value === "" ? undefined : JSON.parse(control.value));
  } else if (kind === "number") {
    control = h("input", {
      type: "number", id, name, inputmode: node.type === "integer" ? "numeric" : "decimal",
      step: node.type === "integer" ? "1" : "any",
      placeholder: hasDefault ? String(node.default) : "",
    });
    for (const [attr, key] of [["min", "minimum"], ["max", "maximum"], ["min", "exclusiveMinimum"], ["max", "exclusiveMaximum"]]) {
      if (node[key] !== undefined) control.setAttribute(attr, String(node[key]));
    }
    read = () => (control.value.trim() === "" ? undefined : Number(control.value));
  } else if (kind === "string") {
    control = h("input", { type: "text", id, name, spellcheck: "false", placeholder: hasDefault ? String(node.default) : "" });
    if (node.maxLength !== undefined) control.setAttribute("maxlength", String(node.maxLength));
    read = () => (control.value === "" ? undefined : control.value);
  } else if (kind === "multi") {
    const boxes = node.items.enum.map((value) =>
      h("label", { class: "check" }, h("input", { type: "checkbox", value: JSON.stringify(value) }), h("span", {}, String(value))),
    );
    control = h("div", { class: "chips", id, role: "group" }, boxes);
    read = () => {
      const chosen = boxes.map((b) => b.querySelector("input")).filter((i) => i.checked).map((i) => JSON.parse(i.value));
      return chosen.length ? chosen : undefined;
    };
  } else if (kind === "list") {
    const itemType = node.items?.type;
    control = h("input", { type: "text", id, name, spellcheck: "false", placeholder: "comma-separated" });
    read = () => {
      if (control.value.trim() === "") return undefined;
      const parts = control.value.split(",").map((p) => p.trim()).filter(Boolean);
      return itemType === "integer" || itemType === "number" ? parts.map(Number) : parts;
    };
  } else if (kind === "const") {
    return null;
  } else {
    control = h("textarea", { id, name, spellcheck: "false", placeholder: hasDefault ? JSON.stringify(node.default) : "JSON" });
    read = () => (control.value.trim() === "" ? undefined : JSON.parse(control.value));
  }
  const title = h("label", { class: "field-label", for: id }, label(name, node), required ? " *" : "");
  return { name, kind, required, node, element: h("div", { class: "field" }, title, control, help), read };
}

/**
 * Render the form for `schema` into `container`. Returns `{values, count}`: `values()` is
 * the argument object (throws a SyntaxError for malformed JSON fields).
 */
export function renderSchemaForm(schema, container) {
  const root = schema ?? {};
  const required = new Set(root.required ?? []);
  const fields = [];
  for (const [name, raw] of Object.entries(root.properties ?? {})) {
    if (IMAGE_FIELDS.has(name)) continue;
    const field = buildField(name, unwrap(raw, root), required.has(name));
    if (field) fields.push(field);
  }
  container.replaceChildren(...fields.map((f) => f.element));
  if (!fields.length) container.append(h("p", { class: "muted small" }, "This tool takes no options."));
  return {
    count: fields.length,
    values() {
      const args = {};
      for (const field of fields) {
        const value = field.read();
        if (value === undefined) continue;
        if (field.kind === "boolean" && !field.required && value === Boolean(field.node.default)) continue;
        args[field.name] = value;
      }
      return args;
    },
  };
}
