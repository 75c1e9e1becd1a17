// What the TypeScript SDK (1.x) shows of a refusal on /mcp: no key at all, then a key over
// its request rate (its first request passes, the next is refused). Prints one JSON object.
//
// usage: node refusal_client.mjs URL SLOW_KEY
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const [url, slowKey] = process.argv.slice(2);

async function refusal(headers) {
  const client = new Client({ name: "visor-test-refusals", version: "1.0.0" });
  const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } });
  try {
    await client.connect(transport);
    await client.listTools();
    return "not refused";
  } catch (error) {
    return String(error?.message ?? error);
  } finally {
    await client.close().catch(() => {});
  }
}

const report = {
  missing: await refusal({}),
  limited: await refusal({ Authorization: `Bearer ${slowKey}` }),
};
console.log(JSON.stringify(report));
