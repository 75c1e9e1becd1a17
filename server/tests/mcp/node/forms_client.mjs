// Every image form Visor lists, checked by the TypeScript SDK's own schema validator (the
// AJV one its Client uses, and a strict AJV): each form alone must be valid, two at once
// invalid; then one call per form. A client that validates arguments before sending them
// refused image_ref while the schema required image. Prints one JSON object.
//
// usage: node forms_client.mjs URL '[[label, field, value], …]'
import { Ajv } from "ajv";
import _addFormats from "ajv-formats";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { AjvJsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/ajv";

const [url, formsJson] = process.argv.slice(2);
const forms = JSON.parse(formsJson);
const strictAjv = new Ajv({ strict: true, allErrors: true });
(_addFormats.default ?? _addFormats)(strictAjv);
const validators = { sdk: new AjvJsonSchemaValidator(), strict: new AjvJsonSchemaValidator(strictAjv) };

const client = new Client({ name: "visor-test-forms", version: "1.0.0" });
await client.connect(new StreamableHTTPClientTransport(new URL(url)));
const tools = (await client.listTools()).tools;
const report = { checked: {}, calls: {} };
for (const tool of tools) {
  if (!("image" in (tool.inputSchema.properties ?? {}))) continue;
  const verdicts = {};
  for (const [name, validator] of Object.entries(validators)) {
    let check;
    try {
      check = validator.getValidator(tool.inputSchema);
    } catch (error) {
      verdicts[name] = { compile: String(error?.message ?? error) };
      continue;
    }
    const one = {};
    for (const [label, field, value] of forms) one[label] = check({ [field]: value });
    const [[, a, va], [, b, vb]] = forms;
    verdicts[name] = { one, two: check({ [a]: va, [b]: vb }), none: check({}) };
  }
  report.checked[tool.name] = { forms: Object.keys(tool.inputSchema.properties), verdicts };
}
for (const [label, field, value] of forms) {
  report.calls[label] = await client.callTool({
    name: "image_info.describe",
    arguments: { [field]: value },
  });
}
await client.close();
console.log(JSON.stringify(report));
