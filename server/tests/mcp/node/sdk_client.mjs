// The official TypeScript MCP SDK (1.x) against a Visor server: list the tools, call one
// that succeeds and one that fails, and (optionally) cancel a running call through its
// AbortSignal, which the SDK turns into notifications/cancelled. Prints one JSON object.
//
// usage: node sdk_client.mjs URL [MARKER_FILE]
import { existsSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const [url, marker] = process.argv.slice(2);
const client = new Client({ name: "visor-test-ts-sdk", version: "1.0.0" });
await client.connect(new StreamableHTTPClientTransport(new URL(url)));

const report = { protocolVersion: client.transport?.protocolVersion ?? null };
report.tools = (await client.listTools()).tools.map((tool) => tool.name);
report.success = await client.callTool({ name: "echo.echo", arguments: { text: "from ts" } });
report.failure = await client.callTool({ name: "raises.boom", arguments: {} });
// A failing tool whose output schema is strict: an envelope in structuredContent would
// break it, and the SDK would throw McpError -32602 instead of returning the result.
report.invalid = await client.callTool({
  name: "image_info.describe",
  arguments: { image: "not an image" },
});

if (marker) {
  // Cancel once the tool has really started in its worker (it writes the marker file).
  const abort = new AbortController();
  const call = client.callTool(
    { name: "blocking.block", arguments: { marker } },
    undefined,
    { signal: abort.signal, timeout: 120_000 },
  );
  while (!existsSync(marker)) await sleep(20);
  abort.abort("the test cancels");
  try {
    await call;
    report.cancelled = "not cancelled";
  } catch (error) {
    report.cancelled = String(error?.message ?? error);
  }
}

await client.close();
console.log(JSON.stringify(report));
