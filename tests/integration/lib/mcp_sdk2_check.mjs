// mcp_sdk2_check.mjs — the official TypeScript SDK v2 client (@modelcontextprotocol/client
// 2.x, pinned in tests/conformance-2026), pinned to protocol 2026-07-28 (stateless: no
// initialize, per-request _meta, SEP-2243 headers), against otelprofd:
//   --url URL: a running `otelprofd serve` that was sent cpu.pb, mem.pb and ebpf_style (see
//     test_mcp_sdk2.sh): every tool with the answers test_mcp_http.sh checks (mcp_lib.mjs
//     toolSuite: tables equal `go tool pprof -top`, ...), prompts, the resource.
//   --bin BIN --grpc A --http B --cpu F --mem F: `otelprofd mcp` spawned by the SDK's
//     StdioClientTransport with the receiver embedded (port 0 read back from stderr); data
//     sent while it serves; every tool again.
// The SDK is loaded from --sdk2 DIR (tests/conformance-2026), the rest of the checks from
// mcp_lib.mjs. Prints ok/FAIL lines; exit 0 when every check passed.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { checkToolList, Reporter, sentTotals, textOf, toolSuite } from './mcp_lib.mjs';

const LIB = dirname(fileURLToPath(import.meta.url));
const o = { sent: [] };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const k = argv[i].replace(/^--/, '');
  if (k === 'sent') o.sent.push(argv[++i]);
  else o[k.replace(/-(\w)/g, (_, c) => c.toUpperCase())] = argv[++i];
}
const sdk = join(o.sdk2, 'node_modules/@modelcontextprotocol/client/dist');
const { Client, StreamableHTTPClientTransport } = await import(pathToFileURL(join(sdk, 'index.mjs')).href);
const { StdioClientTransport } = await import(pathToFileURL(join(sdk, 'stdio.mjs')).href);
const sleep = (ms) => new Promise((res) => setTimeout(res, ms));
const r = new Reporter(`mcp/sdk2-${o.url ? 'http' : 'stdio'}: `);
const newClient = (name) =>
  new Client({ name, version: '0.0.0' }, { capabilities: {}, versionNegotiation: { mode: { pin: '2026-07-28' } } });

async function common(client, label) {
  r.eq(`${label}: negotiated protocol version`, '2026-07-28', client.getNegotiatedProtocolVersion());
  r.eq(`${label}: serverInfo.name (from server/discover)`, 'otelprofd', client.getServerVersion()?.name);
  const caps = client.getServerCapabilities() ?? {};
  for (const c of ['tools', 'resources', 'prompts']) r.check(`${label}: capabilities include ${c}`, caps[c] !== undefined, JSON.stringify(caps));
  const { tools } = await client.listTools();
  return checkToolList(r, tools);
}

async function extras(client, label) {
  await r.step(`${label}: prompts`, async () => {
    const { prompts } = await client.listPrompts();
    r.eq(`${label}: prompts/list`, ['find_regression', 'investigate_cpu_hotspots', 'investigate_trace'], prompts.map((p) => p.name).sort());
    const p = await client.getPrompt({ name: 'investigate_cpu_hotspots', arguments: { service_name: 'flate' } });
    const t = JSON.stringify(p.messages);
    r.check(`${label}: prompts/get names the service and the tools`, t.includes('flate') && t.includes('query_profile_table'), t.slice(0, 200));
  });
  await r.step(`${label}: resources`, async () => {
    const { resources } = await client.listResources();
    const g = resources.find((x) => x.name === 'profiling-guide');
    if (!r.check(`${label}: resources/list: profiling-guide`, g, JSON.stringify(resources))) return;
    const c = await client.readResource({ uri: g.uri });
    r.check(`${label}: resources/read profiling-guide names query_profile_table`, (c.contents?.[0]?.text ?? '').includes('query_profile_table'));
    try {
      await client.readResource({ uri: 'otelprofd://guide/nope' });
      r.fail(`${label}: resources/read of an unknown uri: an error`, 'it succeeded');
    } catch (e) {
      r.check(`${label}: resources/read of an unknown uri: -32602 (2026-07-28 retired -32002)`, e.code === -32602, `code ${e.code} ${e.message}`);
    }
  });
  await r.step(`${label}: completion`, async () => {
    const ref = { type: 'ref/prompt', name: 'investigate_cpu_hotspots' };
    const fl = await client.complete({ ref, argument: { name: 'service_name', value: 'fl' } });
    r.eq(`${label}: completion/complete service_name "fl": flate`, ['flate'], fl.completion.values);
  });
}

if (o.url) {
  const files = o.sent.map((s) => ({ file: s, repeat: 1 }));
  const totals = sentTotals(files);
  const client = newClient('otelprofd-it-sdk2-http');
  try {
    await client.connect(new StreamableHTTPClientTransport(new URL(`${o.url}/mcp`)));
    r.ok('SDK v2 connects over Streamable HTTP pinned to 2026-07-28');
  } catch (e) {
    r.fail('SDK v2 connects over Streamable HTTP pinned to 2026-07-28', e.message);
    process.exit(r.summary() ? 0 : 1);
  }
  const validators = await common(client, 'http');
  await toolSuite({
    r,
    client,
    validators,
    sdkValidators: false,
    td: o.td,
    work: o.work,
    exportVia: 'url',
    selCpu: '{service.name="flate", host.name="node-a"}',
    selMem: '{service.name="flate", host.name="node-b"}',
    selCpuShort: { service_name: 'flate', selector: '{host.name="node-a"}' },
    ebpf: files.some((f) => /ebpf/.test(f.file)),
    dataStartNs: o.dataStartNs ? BigInt(o.dataStartNs) : undefined,
    totals,
    types: [...new Set(totals.rows.map((x) => x.type))].sort(),
  });
  await extras(client, 'http');
  await client.close();
} else {
  const stderrChunks = [];
  const transport = new StdioClientTransport({ command: o.bin, args: ['mcp', '--otlp-grpc', o.grpc, '--otlp-http', o.http], stderr: 'pipe', env: { ...process.env } });
  transport.stderr?.on('data', (d) => stderrChunks.push(d));
  const framing = [];
  const client = newClient('otelprofd-it-sdk2-stdio');
  client.onerror = (e) => framing.push(e);
  try {
    await client.connect(transport);
    r.ok('SDK v2 spawns `otelprofd mcp` and speaks 2026-07-28 over stdio');
  } catch (e) {
    r.fail('SDK v2 spawns `otelprofd mcp` over stdio', `${e.message}\nstderr: ${Buffer.concat(stderrChunks).toString().slice(0, 800)}`);
    process.exit(r.summary() ? 0 : 1);
  }
  const bound = async (what, given) => {
    if (!given.endsWith(':0')) return given;
    const re = new RegExp(`${what} listening on (\\S+:\\d+)`);
    for (let i = 0; i < 600; i++) {
      const m = re.exec(Buffer.concat(stderrChunks).toString());
      if (m) return m[1];
      await sleep(100);
    }
    r.fail(`\`otelprofd mcp\` logs its ${what} listener`, Buffer.concat(stderrChunks).toString().slice(0, 400));
    return given;
  };
  const grpc = await bound('OTLP/gRPC', o.grpc);
  const http = await bound('OTLP/HTTP', o.http);
  let sent = false;
  for (let i = 0; i < 50 && !sent; i++) {
    try {
      sent = JSON.parse(execFileSync('node', [`${LIB}/send_grpc.mjs`, grpc, o.cpu, '--gzip'], { encoding: 'utf8' })).status === 'OK';
    } catch {
      /* not listening yet */
    }
    if (!sent) await sleep(100);
  }
  r.check('cpu.pb over gRPC into `otelprofd mcp`', sent);
  const code = execFileSync('curl', ['-sS', '--max-time', '30', '-o', '/dev/null', '-w', '%{http_code}', '-H', 'Content-Type: application/x-protobuf',
    '--data-binary', `@${o.mem}`, `http://${http}/v1development/profiles`], { encoding: 'utf8' });
  r.eq('mem.pb over HTTP into `otelprofd mcp`: 200', '200', code);
  const validators = await common(client, 'stdio');
  const totals = sentTotals([{ file: `${o.td}/otlp/cpu.pb` }, { file: `${o.td}/otlp/mem.pb` }]);
  await toolSuite({
    r,
    client,
    validators,
    sdkValidators: false,
    td: o.td,
    work: o.work,
    exportVia: 'blob',
    selCpu: '{service.name="flate"}',
    selMem: '{service_name="flate"}',
    ebpf: false,
    totals,
    types: [...new Set(totals.rows.map((x) => x.type))].sort(),
  });
  await extras(client, 'stdio');
  r.check('stdout carried nothing but JSON-RPC (no SDK framing errors)', framing.length === 0, () => framing.map((e) => e.message).join('; ').slice(0, 400));
  await client.close();
}
process.exit(r.summary() ? 0 : 1);
