// sdk2_server.mjs — an independent MCP server that speaks ONLY 2026-07-28: the official
// TypeScript SDK v2 (@modelcontextprotocol/server 2.x, createMcpHandler with
// legacy: 'reject'), served on Node's http on 127.0.0.1 port 0. It prints
// "listening http://127.0.0.1:PORT/mcp" on stdout once bound and serves until killed.
// Tools: echo {text} -> "echo: TEXT"; add {a, b} -> "sum: A+B" with structuredContent {sum};
// regional {region (x-mcp-header Region), text} -> "REGION: TEXT";
// a prompt "greet" {name}; a resource "sdk2://hello".
// Used by tests/integration/test_query_modern.sh to check that `otelprofd query` and
// `otelprofd mcp --connect` work against a 2026-07-28-only server.
import { createServer } from 'node:http';
import { createMcpHandler, McpServer } from '@modelcontextprotocol/server';
import * as z from 'zod';

function factory() {
  const s = new McpServer({ name: 'sdk2-modern-only', version: '2.4.0' });
  s.registerTool('echo', { description: 'Echoes its text', inputSchema: z.object({ text: z.string() }) },
    async ({ text }) => ({ content: [{ type: 'text', text: `echo: ${text}` }] }));
  s.registerTool('add', {
    description: 'Adds two numbers',
    inputSchema: z.object({ a: z.number(), b: z.number() }),
    outputSchema: z.object({ sum: z.number() }),
  }, async ({ a, b }) => ({ content: [{ type: 'text', text: `sum: ${a + b}` }], structuredContent: { sum: a + b } }));
  // SEP-2243: the client must mirror `region` into Mcp-Param-Region (base64 when unsafe)
  s.registerTool('regional', {
    description: 'Answers for a region given as an x-mcp-header parameter',
    inputSchema: z.object({ region: z.string().meta({ 'x-mcp-header': 'Region' }), text: z.string() }),
  }, async ({ region, text }) => ({ content: [{ type: 'text', text: `${region}: ${text}` }] }));
  s.registerPrompt('greet', { description: 'Greets someone', argsSchema: z.object({ name: z.string() }) },
    ({ name }) => ({ messages: [{ role: 'user', content: { type: 'text', text: `Say hello to ${name}` } }] }));
  s.registerResource('hello', 'sdk2://hello', { mimeType: 'text/plain' },
    async (uri) => ({ contents: [{ uri: uri.href, text: 'hello from the SDK v2 server' }] }));
  return s;
}

const handler = createMcpHandler(factory, { legacy: 'reject' });
const server = createServer(async (req, res) => {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  const body = Buffer.concat(chunks);
  const headers = new Headers();
  for (const [k, v] of Object.entries(req.headers)) headers.set(k, Array.isArray(v) ? v.join(', ') : v);
  const request = new Request(`http://${req.headers.host}${req.url}`, {
    method: req.method,
    headers,
    body: ['GET', 'HEAD'].includes(req.method) ? undefined : body,
  });
  try {
    const response = await handler.fetch(request);
    res.writeHead(response.status, Object.fromEntries(response.headers.entries()));
    if (response.body) {
      for await (const c of response.body) res.write(c);
    }
    res.end();
  } catch (e) {
    res.writeHead(500, { 'content-type': 'text/plain' });
    res.end(String(e));
  }
});
server.listen(0, '127.0.0.1', () => {
  console.log(`listening http://127.0.0.1:${server.address().port}/mcp`);
});
