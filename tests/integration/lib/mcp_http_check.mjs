// mcp_http_check.mjs — the official MCP SDK client over Streamable HTTP against a running
// `otelprofd serve` that was sent cpu.pb, mem.pb and ebpf_style (see test_mcp_http.sh):
// lifecycle, tools/list, every tool (mcp_lib.mjs toolSuite), prompts, the profiling-guide
// resource, completion; with --token-url, bearer auth through the SDK's requestInit.
//
// CLI: node mcp_http_check.mjs --url http://127.0.0.1:PORT --td TESTDATA --work DIR
//        --sent FILE[xN]... [--data-start-ns N] [--token-url URL --token T]
// Prints ok/FAIL lines; exit 0 when every check passed, 1 otherwise.
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { checkToolList, newClient, Reporter, sentTotals, textOf, toolSuite } from './mcp_lib.mjs';

const o = { sent: [] };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const k = argv[i].replace(/^--/, '');
  if (k === 'sent') o.sent.push(argv[++i]);
  else o[k.replace(/-(\w)/g, (_, c) => c.toUpperCase())] = argv[++i];
}
const r = new Reporter('mcp/http: ');
const files = o.sent.map((s) => {
  const m = /^(.*?)(?:x(\d+))?$/.exec(s);
  return { file: m[1], repeat: Number(m[2] ?? 1) };
});
const totals = sentTotals(files);
const types = [...new Set(totals.rows.map((x) => x.type))].sort();

const client = newClient('otelprofd-it-http');
const transport = new StreamableHTTPClientTransport(new URL(`${o.url}/mcp`));
try {
  await client.connect(transport);
  r.ok('SDK connects over Streamable HTTP (initialize + initialized)');
} catch (e) {
  r.fail('SDK connects over Streamable HTTP', e.message);
  r.summary();
  process.exit(1);
}
r.check('server returned an Mcp-Session-Id', typeof transport.sessionId === 'string' && transport.sessionId.length >= 16, transport.sessionId);
r.eq('negotiated protocol version is the SDK\'s latest that we support (2025-11-25)', '2025-11-25', transport.protocolVersion);
const caps = client.getServerCapabilities() ?? {};
for (const c of ['tools', 'resources', 'prompts', 'completions', 'logging']) {
  r.check(`server capabilities include ${c}`, caps[c] !== undefined, JSON.stringify(caps));
}
r.eq('serverInfo.name', 'otelprofd', client.getServerVersion()?.name);
await r.step('ping', async () => {
  await client.ping();
  r.ok('ping');
});
await r.step('logging/setLevel', async () => {
  await client.setLoggingLevel('warning');
  r.ok('logging/setLevel warning');
});

const { tools } = await client.listTools();
const validators = checkToolList(r, tools);
await toolSuite({
  r,
  client,
  validators,
  td: o.td,
  work: o.work,
  exportVia: 'url',
  selCpu: '{service.name="flate", host.name="node-a"}',
  selMem: '{service.name="flate", host.name="node-b"}',
  selCpuShort: { service_name: 'flate', selector: '{host.name="node-a"}' },
  ebpf: files.some((f) => /ebpf/.test(f.file)),
  dataStartNs: o.dataStartNs ? BigInt(o.dataStartNs) : undefined,
  totals,
  types,
});

// ---- prompts, resources, completion ----------------------------------------------------
await r.step('prompts', async () => {
  const { prompts } = await client.listPrompts();
  const names = prompts.map((p) => p.name).sort();
  r.eq('prompts/list: investigate_cpu_hotspots, find_regression and investigate_trace', ['find_regression', 'investigate_cpu_hotspots', 'investigate_trace'], names);
  const ih = prompts.find((p) => p.name === 'investigate_cpu_hotspots');
  r.check('investigate_cpu_hotspots: service_name is a required argument', ih?.arguments?.some((a) => a.name === 'service_name' && a.required), JSON.stringify(ih));
  const p = await client.getPrompt({ name: 'investigate_cpu_hotspots', arguments: { service_name: 'flate' } });
  const t = JSON.stringify(p.messages);
  r.check('prompts/get investigate_cpu_hotspots: names the service and the tools to call', p.messages.length > 0 && t.includes('flate') && t.includes('query_profile_table'), t.slice(0, 300));
  const f = await client.getPrompt({ name: 'find_regression', arguments: { service_name: 'json' } });
  const ft = JSON.stringify(f.messages);
  r.check('prompts/get find_regression: names the service and query_profile_diff', ft.includes('json') && ft.includes('query_profile_diff'), ft.slice(0, 300));
  try {
    await client.getPrompt({ name: 'investigate_cpu_hotspots', arguments: {} });
    r.fail('prompts/get without the required service_name: an error', 'it succeeded');
  } catch (e) {
    r.eq('prompts/get without the required service_name: -32602', -32602, e.code);
  }
});
await r.step('resources', async () => {
  const { resources } = await client.listResources();
  const g = resources.find((x) => x.name === 'profiling-guide');
  if (!r.check('resources/list: profiling-guide', g, JSON.stringify(resources))) return;
  r.eq('profiling-guide: uri', 'otelprofd://guide/profiling', g.uri);
  r.eq('profiling-guide: mimeType', 'text/markdown', g.mimeType);
  const c = await client.readResource({ uri: g.uri });
  const t = c.contents?.[0]?.text ?? '';
  const want = ['get_status', 'list_profile_types', 'query_profile_table', 'query_profile_sandwich', 'focus_path', 'query_profile_diff', 'export_pprof'];
  const missing = want.filter((w) => !t.includes(w));
  r.check('resources/read profiling-guide: the workflow with the tools by name', missing.length === 0, `missing ${missing.join(', ')}`);
  try {
    await client.readResource({ uri: 'otelprofd://guide/nope' });
    r.fail('resources/read of an unknown uri: an error', 'it succeeded');
  } catch (e) {
    r.check('resources/read of an unknown uri: an error (-32002)', e.code === -32002, `code ${e.code}`);
  }
});
await r.step('completion', async () => {
  const ref = { type: 'ref/prompt', name: 'investigate_cpu_hotspots' };
  const all = await client.complete({ ref, argument: { name: 'service_name', value: '' } });
  r.eq('completion/complete service_name "": flate and json', ['flate', 'json'], [...all.completion.values].sort());
  const fl = await client.complete({ ref, argument: { name: 'service_name', value: 'fl' } });
  r.eq('completion/complete service_name "fl": flate', ['flate'], fl.completion.values);
  const pt = await client.complete({ ref, argument: { name: 'profile_type', value: 'cpu' } });
  r.eq('completion/complete profile_type "cpu": cpu:nanoseconds', ['cpu:nanoseconds'], pt.completion.values);
});

await client.close();

// ---- bearer token through the SDK ------------------------------------------------------
if (o.tokenUrl) {
  await r.step('token: right token through the SDK', async () => {
    const c = newClient('otelprofd-it-token');
    const tr = new StreamableHTTPClientTransport(new URL(`${o.tokenUrl}/mcp`), {
      requestInit: { headers: { Authorization: `Bearer ${o.token}` } },
    });
    await c.connect(tr);
    const { tools: ts } = await c.listTools();
    r.eq('token: the SDK with Authorization: Bearer lists the 11 tools', 11, ts.length);
    const res = await c.callTool({ name: 'get_status', arguments: {} });
    r.check('token: get_status answers', !res.isError && textOf(res).length > 0, textOf(res).slice(0, 200));
    await c.close();
  });
  await r.step('token: no token through the SDK', async () => {
    const c = newClient('otelprofd-it-notoken');
    try {
      await c.connect(new StreamableHTTPClientTransport(new URL(`${o.tokenUrl}/mcp`)));
      r.fail('token: the SDK without a token cannot connect', 'it connected');
    } catch (e) {
      r.check('token: the SDK without a token cannot connect (401)', /401|nauthori/i.test(`${e.code} ${e.message}`), e.message);
    }
  });
}

process.exit(r.summary() ? 0 : 1);
