// "Copy as": the same call as curl, Python (the visor_client SDK) and the visor CLI.

import { h } from "./dom.js";

/** Shell single-quoting: 'it'\''s'. */
const sq = (text) => `'${String(text).replace(/'/g, `'\\''`)}'`;

/** Example arguments: only what the tool requires (the rest have defaults), each with its
 * default, the schema's first example, or a placeholder of its type. */
export function exampleArgs(schema, imageFields) {
  const args = {};
  const placeholder = { integer: 1, number: 1, boolean: true, string: "text", array: [], object: {} };
  for (const name of schema?.required ?? []) {
    const node = schema.properties?.[name] ?? {};
    if (imageFields.has(name)) continue;
    const type = Array.isArray(node.type) ? node.type[0] : node.type;
    args[name] = node.default ?? node.examples?.[0] ?? node.enum?.[0] ?? placeholder[type] ?? null;
  }
  return args;
}

const pyValue = (v) => (v === true ? "True" : v === false ? "False" : JSON.stringify(v));

/** {curl, python, cli} for calling plugin.tool on image.png with `args`, at `origin`. */
export function snippets({ origin, plugin, tool, args, takesImage, keyed }) {
  const hasArgs = Object.keys(args).length > 0;
  const auth = keyed ? ` \\\n  -H "Authorization: Bearer $VISOR_API_KEY"` : "";
  const curl = takesImage
    ? `curl -s ${origin}/v1/plugins/${plugin}/tools/${tool}/run${auth} \\\n  -F file=@image.png${hasArgs ? ` -F ${sq(`args=${JSON.stringify(args)}`)}` : ""}`
    : `curl -s ${origin}/v1/analyze${auth} \\\n  -H 'content-type: application/json' \\\n  -d ${sq(JSON.stringify({ plugin, tool, args }))}`;
  const kwargs = Object.entries(args).map(([k, v]) => (/^[A-Za-z_]\w*$/.test(k) ? `, ${k}=${pyValue(v)}` : null));
  const pyArgs = kwargs.every(Boolean) ? kwargs.join("") : `, args=${JSON.stringify(args)}`;
  const python = [
    "from visor_client import Visor",
    "",
    `visor = Visor(${JSON.stringify(origin)})  # the key: api_key= or VISOR_API_KEY`,
    `result = visor.analyze(${JSON.stringify(plugin)}, ${takesImage ? '"image.png"' : "None"}, tool=${JSON.stringify(tool)}${pyArgs})`,
    "print(result.raw[\"result\"])",
  ].join("\n");
  const cliArgs = Object.entries(args).map(([k, v]) => ` -a ${sq(`${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)}`).join("");
  const cli = `visor run ${plugin}.${tool}${takesImage ? " image.png" : ""}${cliArgs} --server ${origin}`;
  return { curl, python, cli };
}

/** Tabs with a copy button: one `pre` per language. */
export function snippetsView(code) {
  const labels = { curl: "curl", python: "Python", cli: "CLI" };
  const pre = h("pre", { class: "code snippet-code" });
  const copy = h("button", { class: "btn small", type: "button" }, "Copy");
  let current = "curl";
  const tabs = Object.keys(labels).map((lang) =>
    h("button", { class: "btn small", type: "button", role: "tab", dataset: { lang }, onclick: () => show(lang) }, labels[lang]),
  );
  function show(lang) {
    current = lang;
    pre.textContent = code[lang];
    pre.dataset.lang = lang;
    for (const tab of tabs) tab.setAttribute("aria-selected", String(tab.dataset.lang === lang));
    copy.textContent = "Copy";
  }
  copy.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(code[current]);
      copy.textContent = "Copied";
    } catch {
      // No clipboard (plain http on another host): select the text for Ctrl+C instead.
      window.getSelection().selectAllChildren(pre);
      copy.textContent = "Selected: press Ctrl+C";
    }
  });
  show(current);
  return h(
    "details",
    { class: "schema-details snippets" },
    h("summary", {}, "Copy as curl / Python / CLI"),
    h("div", { class: "snippet-tabs", role: "tablist" }, tabs, copy),
    h("div", { class: "snippet" }, pre),
  );
}
