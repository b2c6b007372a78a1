// mcp_stdio_check.mjs — the official MCP SDK client over stdio.
//
// 1. StdioClientTransport spawns `otelprofd mcp --otlp-grpc G --otlp-http H` (receiver
//    embedded; with port 0 the bound ports are read from its stderr log); while it runs, cpu.pb goes in over gRPC (grpc-js) and mem.pb over HTTP;
//    then tools/list and every tool (mcp_lib.mjs toolSuite, export as embedded blob: no
//    HTTP listener in this mode). Any non-JSON-RPC line on stdout fails the SDK's framing
//    (client.onerror) and the test; stderr must carry the logs.
// 2. A raw spawn: every stdout line is one JSON-RPC message.
// 3. `otelprofd mcp --connect URL` bridged to a running `serve` (--bridge-url): tools/list
//    and a table call through it.
//
// CLI: node mcp_stdio_check.mjs --bin OTELPROFD --grpc HOST:PORT --http HOST:PORT --td DIR
//        --work DIR --cpu SHIFTED_CPU.pb --mem SHIFTED_MEM.pb [--bridge-url URL]
import { execFileSync, spawn } from 'node:child_process';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { checkTable, checkToolList, newClient, Reporter, sentTotals, textOf, toolSuite } from './mcp_lib.mjs';

const LIB = dirname(fileURLToPath(import.meta.url));
const o = {};
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) o[argv[i].replace(/^--/, '').replace(/-(\w)/g, (_, c) => c.toUpperCase())] = argv[i + 1];
const r = new Reporter('mcp/stdio: ');
const sleep = (ms) => new Promise((res) => setTimeout(res, ms));

// ---- 1. embedded receiver, SDK over stdio -----------------------------------------------
const stderrChunks = [];
const transport = new StdioClientTransport({
  command: o.bin,
  args: ['mcp', '--otlp-grpc', o.grpc, '--otlp-http', o.http],
  stderr: 'pipe',
  env: { ...process.env },
});
transport.stderr?.on('data', (d) => stderrChunks.push(d));
const framingErrors = [];
const client = newClient('otelprofd-it-stdio');
client.onerror = (e) => framingErrors.push(e);
try {
  await client.connect(transport);
  r.ok('SDK spawns `otelprofd mcp` and initializes over stdio');
} catch (e) {
  r.fail('SDK spawns `otelprofd mcp` and initializes over stdio', `${e.message}\nstderr: ${Buffer.concat(stderrChunks).toString().slice(0, 800)}`);
  r.summary();
  process.exit(1);
}

// The listeners' addresses: as given, or for port 0 the ports it logged on stderr
// ("OTLP/gRPC listening on 127.0.0.1:PORT"), which leaves no window for another process to
// take a port picked in advance.
async function bound(what, given) {
  if (!given.endsWith(':0')) return given;
  const re = new RegExp(`${what} listening on (\\S+:\\d+)`);
  for (let i = 0; i < 600; i++) {
    const m = re.exec(Buffer.concat(stderrChunks).toString());
    if (m) return m[1];
    await sleep(100);
  }
  r.fail(`\`otelprofd mcp\` logs its ${what} listener on stderr within 60 s`, Buffer.concat(stderrChunks).toString().slice(0, 400));
  return given;
}
o.grpc = await bound('OTLP/gRPC', o.grpc);
o.http = await bound('OTLP/HTTP', o.http);

// OTLP into the running stdio server (its listeners may need a moment after initialize).
let sent = false;
for (let i = 0; i < 50 && !sent; i++) {
  try {
    const out = execFileSync('node', [`${LIB}/send_grpc.mjs`, o.grpc, o.cpu, '--gzip'], { encoding: 'utf8' });
    const j = JSON.parse(out);
    if (j.status === 'OK') sent = true;
    else await sleep(100);
  } catch {
    await sleep(100);
  }
}
r.check('cpu.pb over gRPC into `otelprofd mcp` while it serves stdio', sent);
let code = 'none';
try {
  code = execFileSync('curl', ['-sS', '--max-time', '30', '-o', '/dev/null', '-w', '%{http_code}', '-H', 'Content-Type: application/x-protobuf',
    '--data-binary', `@${o.mem}`, `http://${o.http}/v1development/profiles`], { encoding: 'utf8' });
} catch (e) {
  code = e.message;
}
r.eq('mem.pb over HTTP into `otelprofd mcp`: 200', '200', code);

const { tools } = await client.listTools();
const validators = checkToolList(r, tools);
const totals = sentTotals([{ file: `${o.td}/otlp/cpu.pb` }, { file: `${o.td}/otlp/mem.pb` }]);
await toolSuite({
  r,
  client,
  validators,
  td: o.td,
  work: o.work,
  exportVia: 'blob',
  selCpu: '{service.name="flate"}',
  selMem: '{service_name="flate"}',
  ebpf: false,
  totals,
  types: [...new Set(totals.rows.map((x) => x.type))].sort(),
});
r.check('stdout carried nothing but JSON-RPC (no SDK framing errors)', framingErrors.length === 0, () => framingErrors.map((e) => e.message).join('; ').slice(0, 400));
const proc = transport._process;
await client.close();
const exited = await Promise.race([
  new Promise((res) => (proc && proc.exitCode === null ? proc.once('exit', (c, s) => res({ c, s })) : res({ c: proc?.exitCode, s: null }))),
  sleep(10000).then(() => null),
]);
r.check('`otelprofd mcp` exits when the client closes stdio', exited !== null, 'still running after 10 s');
const stderrText = Buffer.concat(stderrChunks).toString();
r.check('stderr carries the logs (listener addresses)', stderrText.includes(o.grpc.split(':')[1]) || /listen/i.test(stderrText), JSON.stringify(stderrText.slice(0, 300)));

// ---- 2. raw: every stdout line is JSON-RPC --------------------------------------------------
await r.step('raw stdio framing', async () => {
  const ch = spawn(o.bin, ['mcp', '--otlp-grpc', 'off', '--otlp-http', 'off'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  ch.stdout.on('data', (d) => (out += d));
  ch.stderr.on('data', (d) => (err += d));
  const msgs = [
    { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-03-26', capabilities: {}, clientInfo: { name: 'raw', version: '0' } } },
    { jsonrpc: '2.0', method: 'notifications/initialized' },
    { jsonrpc: '2.0', id: 2, method: 'tools/list' },
    { jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'query_profile_table', arguments: { profile_type: 'cpu:nanoseconds' } } },
    { jsonrpc: '2.0', id: 4, method: 'no/such' },
  ];
  for (const m of msgs) ch.stdin.write(`${JSON.stringify(m)}\n`);
  ch.stdin.write('{"jsonrpc":"2.0","id":5,"method":\n');
  ch.stdin.end();
  const rc = await Promise.race([new Promise((res) => ch.once('exit', (c) => res(c))), sleep(10000).then(() => 'timeout')]);
  r.eq('raw stdio: exits 0 at EOF', 0, rc);
  const lines = out.split('\n').filter((l) => l !== '');
  const bad = lines.filter((l) => {
    try {
      return JSON.parse(l).jsonrpc !== '2.0';
    } catch {
      return true;
    }
  });
  r.check('raw stdio: every stdout line is a JSON-RPC message', bad.length === 0 && lines.length > 0, JSON.stringify(bad.slice(0, 3)));
  const byId = new Map(lines.filter((l) => !bad.includes(l)).map((l) => JSON.parse(l)).map((m) => [m.id, m]));
  r.eq('raw stdio: initialize answers 2025-03-26 (asked)', '2025-03-26', byId.get(1)?.result?.protocolVersion);
  r.eq('raw stdio: tools/list has 11 tools', 11, byId.get(2)?.result?.tools?.length);
  r.check('raw stdio: a table call on an empty store answers (isError or empty)', byId.get(3)?.result !== undefined, JSON.stringify(byId.get(3)).slice(0, 300));
  r.eq('raw stdio: unknown method -32601', -32601, byId.get(4)?.error?.code);
  r.eq('raw stdio: broken JSON -32700 (id null)', -32700, byId.get(null)?.error?.code);
  r.check('raw stdio: nothing on stdout but those answers (5 lines)', lines.length === 5, `${lines.length} lines`);
});

// ---- 3. the bridge to a running serve ------------------------------------------------------
if (o.bridgeUrl) {
  await r.step('bridge', async () => {
    const errs = [];
    const bt = new StdioClientTransport({ command: o.bin, args: ['mcp', '--connect', o.bridgeUrl], stderr: 'pipe' });
    const bc = newClient('otelprofd-it-bridge');
    bc.onerror = (e) => errs.push(e);
    await bc.connect(bt);
    r.ok('SDK over stdio through `otelprofd mcp --connect URL` initializes');
    const { tools: ts } = await bc.listTools();
    r.eq('bridge: tools/list has the 11 tools', 11, ts.length);
    await checkTable(r, (name, args) => bc.callTool({ name, arguments: args }), 'bridge: query_profile_table flate cpu',
      { profile_type: 'cpu:nanoseconds', selector: '{service.name="flate"}' }, `${o.td}/expected/compress_flate.cpu.cpu.top.txt`);
    const e = await bc.callTool({ name: 'query_profile_table', arguments: {} });
    r.check('bridge: an isError result passes through', e.isError === true, textOf(e).slice(0, 200));
    try {
      await bc.request({ method: 'no/such', params: {} }, (await import('@modelcontextprotocol/sdk/types.js')).EmptyResultSchema);
      r.fail('bridge: unknown method -32601 passes through', 'succeeded');
    } catch (err) {
      r.eq('bridge: unknown method -32601 passes through', -32601, err.code);
    }
    r.check('bridge: stdout carried nothing but JSON-RPC', errs.length === 0, () => errs.map((x) => x.message).join('; '));
    await bc.close();
  });
  await r.step('bridge to nothing', async () => {
    const ch = spawn(o.bin, ['mcp', '--connect', 'http://127.0.0.1:1/mcp'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    ch.stdout.on('data', (d) => (out += d));
    ch.stderr.on('data', (d) => (err += d));
    ch.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '0' } } })}\n`);
    ch.stdin.end();
    const rc = await Promise.race([new Promise((res) => ch.once('exit', (c) => res(c))), sleep(10000).then(() => 'timeout')]);
    const lines = out.split('\n').filter(Boolean);
    const okLines = lines.every((l) => {
      try {
        return JSON.parse(l).jsonrpc === '2.0';
      } catch {
        return false;
      }
    });
    r.check('bridge to an unreachable daemon: stdout stays JSON-RPC only', okLines, JSON.stringify(lines.slice(0, 2)));
    r.check('bridge to an unreachable daemon: stderr says it cannot reach it', /reach|connect|refused/i.test(err), JSON.stringify(err.slice(0, 300)));
    r.check('bridge to an unreachable daemon: exits (not hanging)', rc !== 'timeout', String(rc));
    if (rc === 'timeout') ch.kill('SIGKILL');
  });
}

process.exit(r.summary() ? 0 : 1);
