// Smoke check with the TypeScript MCP SDK client over streamable HTTP:
//   node scripts/ts_client_smoke.mjs SDK_PREFIX URL
// SDK_PREFIX is the npm prefix holding @modelcontextprotocol/sdk (scripts/
// client_smoke.sh installs it under .tools/ts-sdk). Lists the tools, calls
// list_repositories, prints one line per step and exits 1 on the first failure.
import path from "node:path";
import { pathToFileURL } from "node:url";

const [prefix, url] = process.argv.slice(2);
if (!prefix || !url) {
  console.error("usage: ts_client_smoke.mjs SDK_PREFIX URL");
  process.exit(2);
}
const esm = path.resolve(prefix, "node_modules/@modelcontextprotocol/sdk/dist/esm/client");
const { Client } = await import(pathToFileURL(path.join(esm, "index.js")).href);
const { StreamableHTTPClientTransport } = await import(
  pathToFileURL(path.join(esm, "streamableHttp.js")).href
);

const client = new Client({ name: "replicas-mcp-smoke", version: "0.0.0" });
const transport = new StreamableHTTPClientTransport(new URL(url));
let ok = true;
try {
  await client.connect(transport);
  const server = client.getServerVersion();
  console.log(`ts-sdk: connected to ${server?.name} ${server?.version}`);

  const { tools } = await client.listTools();
  const names = tools.map((t) => t.name);
  if (!names.includes("list_repositories")) {
    throw new Error(`tools/list has no list_repositories: ${names.join(", ")}`);
  }
  console.log(`ts-sdk: tools/list ok (${names.length} tools)`);

  const result = await client.callTool({ name: "list_repositories", arguments: {} });
  if (result.isError) {
    throw new Error(`list_repositories returned isError: ${JSON.stringify(result.content)}`);
  }
  const text = (result.content ?? []).find((c) => c.type === "text")?.text ?? "";
  if (!result.structuredContent || !text) {
    throw new Error(`list_repositories lacks text or structuredContent: ${JSON.stringify(result)}`);
  }
  console.log(`ts-sdk: tools/call list_repositories ok: ${text.split("\n")[0].slice(0, 100)}`);
} catch (err) {
  ok = false;
  console.error(`ts-sdk: FAILED: ${err?.stack ?? err}`);
} finally {
  await client.close().catch(() => {});
}
process.exit(ok ? 0 : 1);
