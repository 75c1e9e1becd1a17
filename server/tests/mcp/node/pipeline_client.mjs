// The official TypeScript MCP SDK (1.x) calling Visor pipelines as tools: list them (the
// SDK then checks every result's structuredContent against the listed output schema),
// call one that succeeds and one whose step fails. Prints one JSON object.
//
// usage: node pipeline_client.mjs URL IMAGE_BASE64 OK_TOOL FAILING_TOOL
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const [url, image, okTool, failingTool] = process.argv.slice(2);
const client = new Client({ name: "visor-test-ts-pipelines", version: "1.0.0" });
await client.connect(new StreamableHTTPClientTransport(new URL(url)));

const report = {};
report.tools = (await client.listTools()).tools.filter((t) => t.name.startsWith("pipeline."));
report.success = await client.callTool({ name: okTool, arguments: { image } });
report.failure = await client.callTool({ name: failingTool, arguments: { image } });

await client.close();
console.log(JSON.stringify(report));
