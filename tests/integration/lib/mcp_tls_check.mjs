// mcp_tls_check.mjs — the official MCP SDK client over Streamable HTTP on https:// against
// `otelprofd serve --tls-cert ... --tls-key ...` that was sent cpu.pb (see test_tls.sh):
// initialize, tools/list, query_profile_table equal to `go tool pprof -top`, and the
// export_pprof URL is https:// and serves a gzipped profile over the same TLS.
//
// Trust: without --cert the SDK's own transport uses Node's global fetch, which trusts the
// test CA only through NODE_EXTRA_CA_CERTS (set by the caller). With --cert/--key (mTLS)
// the transport gets a fetch built on node:https that presents that client certificate
// and trusts --ca (the global fetch cannot present one without undici's Agent).
//
// CLI: node mcp_tls_check.mjs --url https://127.0.0.1:PORT --td TESTDATA
//        [--repeat N] [--ca PEM --cert PEM --key PEM] [--expect-refused]
//   --repeat: cpu.pb was sent N times, so the expected values are x N.
//   --expect-refused: the connection must fail (untrusted server, or a client certificate
//   the server refuses); exit 0 when it does.
// Prints ok/FAIL lines; exit 0 when every check passed, 1 otherwise.
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { Readable } from 'node:stream';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { checkTable, newClient, Reporter, TOOL_NAMES, textOf } from './mcp_lib.mjs';

const o = {};
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const k = argv[i].replace(/^--/, '');
  if (k === 'expect-refused') o.expectRefused = true;
  else o[k] = argv[++i];
}
const r = new Reporter(`mcp/https${o.cert ? ' (client certificate)' : ''}: `);

// A WHATWG fetch on node:https with a client certificate; bodies stream (SSE works).
function mtlsFetch(ca, cert, key) {
  const agent = new https.Agent({ ca, cert, key, keepAlive: true });
  return (input, init = {}) =>
    new Promise((resolve, reject) => {
      const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
      const headers = {};
      new Headers(init.headers ?? {}).forEach((v, k) => (headers[k] = v));
      const req = https.request(url, { method: init.method ?? 'GET', headers, agent, signal: init.signal }, (res) => {
        const h = new Headers();
        for (const [k, v] of Object.entries(res.headers)) {
          for (const x of Array.isArray(v) ? v : [v]) h.append(k, x);
        }
        const nobody = res.statusCode === 204 || res.statusCode === 304 || init.method === 'HEAD';
        if (nobody) res.resume();
        resolve(new Response(nobody ? null : Readable.toWeb(res), { status: res.statusCode, headers: h }));
      });
      req.on('error', reject);
      if (init.body != null) req.end(typeof init.body === 'string' ? init.body : Buffer.from(init.body));
      else req.end();
    });
}

const fetchImpl = o.cert ? mtlsFetch(readFileSync(o.ca), readFileSync(o.cert), readFileSync(o.key)) : fetch;
const client = newClient('otelprofd-it-tls');
const transport = new StreamableHTTPClientTransport(new URL(`${o.url}/mcp`), { fetch: fetchImpl });
try {
  await client.connect(transport);
} catch (e) {
  const why = `${e?.message ?? e}${e?.cause ? ` (${e.cause.code ?? e.cause.message})` : ''}`;
  if (o.expectRefused) {
    r.ok(`connection refused as expected: ${why}`);
    process.exit(r.summary() ? 0 : 1);
  }
  r.fail('SDK connects over https (initialize + initialized)', why);
  r.summary();
  process.exit(1);
}
if (o.expectRefused) {
  r.fail('connection must be refused, but initialize succeeded');
  await client.close();
  r.summary();
  process.exit(1);
}
r.ok('SDK connects over https (initialize + initialized)');
r.eq('serverInfo.name', 'otelprofd', client.getServerVersion()?.name);

const { tools } = await client.listTools();
r.eq('tools/list over https: every tool', [...TOOL_NAMES].sort(), tools.map((t) => t.name).sort());

const call = (name, args) => client.callTool({ name, arguments: args });
const sel = '{service.name="flate", host.name="node-a"}';
await checkTable(r, call, 'table flate cpu:nanoseconds over https', { profile_type: 'cpu:nanoseconds', selector: sel }, `${o.td}/expected/compress_flate.cpu.cpu.top.txt`, {
  scale: BigInt(o.repeat ?? 1),
});

await r.step('export_pprof over https', async () => {
  const res = await call('export_pprof', { profile_type: 'cpu:nanoseconds', selector: sel });
  r.check('export_pprof: not isError', !res.isError, textOf(res).slice(0, 300));
  const m = /https?:\/\/[^\s"]+\/api\/pprof\?[^\s"]*/.exec(textOf(res));
  r.check('export_pprof: the URL it gives is https://', m && m[0].startsWith(`${o.url}/api/pprof?`), m?.[0] ?? textOf(res).slice(0, 300));
  if (!m) return;
  const got = await fetchImpl(m[0]);
  const body = Buffer.from(await got.arrayBuffer());
  r.check('GET that URL over the same TLS: 200 and a gzip body', got.status === 200 && body[0] === 0x1f && body[1] === 0x8b, `status ${got.status}, ${body.length} bytes`);
});

await client.close();
process.exit(r.summary() ? 0 : 1);
