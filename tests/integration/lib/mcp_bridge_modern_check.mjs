// mcp_bridge_modern_check.mjs — `otelprofd mcp --connect URL` in front of a server that
// speaks only 2026-07-28 (tests/conformance-2026/sdk2_server.mjs, the official SDK v2):
//   1. the v1 SDK client (2025-xx, initialize handshake) over stdio: the bridge translates
//      (initialize answered from server/discover, ping and logging/setLevel answered
//      locally, the per-request _meta and headers added to what it relays);
//   2. the SDK v2 client pinned to 2026-07-28 over stdio: its own stateless requests are
//      relayed with the SEP-2243 headers.
// CLI: node mcp_bridge_modern_check.mjs --bin OTELPROFD --url URL --sdk2 DIR
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { StdioClientTransport as V1Stdio } from '@modelcontextprotocol/sdk/client/stdio.js';
import { newClient, Reporter, textOf } from './mcp_lib.mjs';

const o = {};
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) o[argv[i].replace(/^--/, '')] = argv[i + 1];
const r = new Reporter('bridge-2026: ');
const sdk = join(o.sdk2, 'node_modules/@modelcontextprotocol/client/dist');
const { Client } = await import(pathToFileURL(join(sdk, 'index.mjs')).href);
const { StdioClientTransport } = await import(pathToFileURL(join(sdk, 'stdio.mjs')).href);

async function exercise(client, label) {
  const { tools } = await client.listTools();
  r.eq(`${label}: tools/list through the bridge`, ['add', 'echo', 'regional'], tools.map((t) => t.name).sort());
  const g = await client.callTool({ name: 'regional', arguments: { region: 'zürich ', text: 'hi' } });
  r.eq(`${label}: tools/call regional: Mcp-Param-Region mirrored (base64: non-ASCII, trailing blank)`, 'zürich : hi', textOf(g));
  const e = await client.callTool({ name: 'echo', arguments: { text: 'héllo wörld' } });
  r.eq(`${label}: tools/call echo (non-ASCII argument)`, 'echo: héllo wörld', textOf(e));
  const a = await client.callTool({ name: 'add', arguments: { a: 2, b: 40 } });
  r.eq(`${label}: tools/call add: structuredContent`, 42, a.structuredContent?.sum);
  const p = await client.getPrompt({ name: 'greet', arguments: { name: 'Ada' } });
  r.check(`${label}: prompts/get greet`, JSON.stringify(p.messages).includes('Ada'), JSON.stringify(p));
  const res = await client.readResource({ uri: 'sdk2://hello' });
  r.eq(`${label}: resources/read`, 'hello from the SDK v2 server', res.contents?.[0]?.text);
}

await r.step('v1 SDK (2025-11-25) through the bridge', async () => {
  const c = newClient('bridge-legacy');
  await c.connect(new V1Stdio({ command: o.bin, args: ['mcp', '--connect', o.url], stderr: 'pipe' }));
  r.eq('v1: serverInfo.name from server/discover', 'sdk2-modern-only', c.getServerVersion()?.name);
  await c.ping();
  r.ok('v1: ping answered by the bridge');
  await c.setLoggingLevel('info');
  r.ok('v1: logging/setLevel answered by the bridge');
  await exercise(c, 'v1');
  await c.close();
});
await r.step('SDK v2 (2026-07-28) through the bridge', async () => {
  const c = new Client({ name: 'bridge-modern', version: '0' }, { capabilities: {}, versionNegotiation: { mode: { pin: '2026-07-28' } } });
  await c.connect(new StdioClientTransport({ command: o.bin, args: ['mcp', '--connect', o.url], stderr: 'pipe' }));
  r.eq('v2: negotiated 2026-07-28', '2026-07-28', c.getNegotiatedProtocolVersion());
  await exercise(c, 'v2');
  await c.close();
});
process.exit(r.summary() ? 0 : 1);
