// Markdown-ish text for descriptions (a plugin's, a tool's): `code`, **bold**, [links](url)
// and paragraphs, built as DOM nodes (never innerHTML), so no backticks show raw.

import { h } from "./dom.js";

const INLINE = /`([^`]+)`|\*\*([^*]+)\*\*|\[([^\]]+)\]\(([^)\s]+)\)/g;

/** The nodes of one paragraph. */
export function inline(text) {
  const nodes = [];
  let last = 0;
  for (const match of String(text).matchAll(INLINE)) {
    if (match.index > last) nodes.push(text.slice(last, match.index));
    const [, code, bold, label, href] = match;
    if (code !== undefined) nodes.push(h("code", {}, code));
    else if (bold !== undefined) nodes.push(h("strong", {}, bold));
    else if (/^(https?:\/\/|\/|#)/.test(href)) nodes.push(h("a", { href, rel: "noopener" }, label));
    else nodes.push(label); // a link we would not follow: its text only
    last = match.index + match[0].length;
  }
  if (last < text.length) nodes.push(text.slice(last));
  return nodes;
}

/** A description as a block: paragraphs split on blank lines. */
export function markdown(text, tag = "div", props = {}) {
  const paragraphs = String(text ?? "").split(/\n\s*\n/).map((p) => p.trim()).filter(Boolean);
  const cls = `md ${props.class ?? ""}`.trim();
  if (paragraphs.length <= 1) return h(tag, { ...props, class: cls }, inline(paragraphs[0] ?? ""));
  return h(tag, { ...props, class: cls }, paragraphs.map((p) => h("p", {}, inline(p))));
}

/** Fill an existing element with the description's inline nodes (one paragraph). */
export function setMarkdown(el, text) {
  el.classList.add("md");
  el.replaceChildren(...inline(String(text ?? "").replace(/\s*\n\s*/g, " ")));
}
