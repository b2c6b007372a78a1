// hostile_mcp.mjs — malformed JSON-RPC and unknown protocol versions against otelprofd's
// MCP server, raw (no SDK: the SDK would refuse to send most of this), over stdio (a spawned
// `otelprofd mcp`) and Streamable HTTP (fetch). After every bad message the same session
// must still answer a ping, and at the end a tools/call.
//
// CLI: node hostile_mcp.mjs --bin OTELPROFD [--http BASE_URL]
// Prints ok/FAIL lines; exit status 1 when a check failed.
import { spawn } from 'node:child_process';
import net from 'node:net';
import { Reporter } from './mcp_lib.mjs';

const args = process.argv.slice(2);
const opt = (n) => (args.includes(n) ? args[args.indexOf(n) + 1] : undefined);
const bin = opt('--bin');
const httpBase = opt('--http');
if (!bin) {
  console.error('usage: hostile_mcp.mjs --bin OTELPROFD [--http BASE_URL]');
  process.exit(2);
}
const r = new Reporter('');
const SUPPORTED = ['2025-11-25', '2025-06-18', '2025-03-26'];
const init = (id, version) =>
  JSON.stringify({ jsonrpc: '2.0', id, method: 'initialize', params: { protocolVersion: version, capabilities: {}, clientInfo: { name: 'hostile', version: '0' } } });
const nested = (depth) => `{"jsonrpc":"2.0","id":"deep","method":"tools/call","params":{"name":"get_status","arguments":{"a":${'['.repeat(depth)}${']'.repeat(depth)}}}}`;

// [label, raw text, check(answer) -> true | detail string]. `answer` is the parsed reply
// (an object, or an array for a batch); null when none came.
const errCode = (code) => (a) => a?.error?.code === code || `want error ${code}, got ${JSON.stringify(a)?.slice(0, 200)}`;
const CASES = [
  ['invalid JSON', '{"jsonrpc":"2.0","id":1,"method":', errCode(-32700)],
  ['not an object (a number)', '42', errCode(-32600)],
  ['method is a number', '{"jsonrpc":"2.0","id":2,"method":42}', errCode(-32600)],
  ['jsonrpc "1.0"', '{"jsonrpc":"1.0","id":3,"method":"ping"}', errCode(-32600)],
  ['id is an object', '{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}', errCode(-32600)],
  ['params is a string', '{"jsonrpc":"2.0","id":4,"method":"tools/list","params":"x"}', (a) => a?.error?.code === -32602 || a?.error?.code === -32600 || `want -32602/-32600, got ${JSON.stringify(a)?.slice(0, 200)}`],
  ['tools/call with arguments a string', '{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"get_status","arguments":"x"}}', errCode(-32602)],
  ['huge numeric id', '{"jsonrpc":"2.0","id":123456789012345678901234567890,"method":"ping"}', (a) => (a && (a.error?.code === -32600 || a.result !== undefined)) || `got ${JSON.stringify(a)}`],
  ['a 100 KB string id is echoed', `{"jsonrpc":"2.0","id":"${'i'.repeat(100000)}","method":"ping"}`, (a) => (a?.result !== undefined && a.id === 'i'.repeat(100000)) || `got ${JSON.stringify(a)?.slice(0, 200)}`],
  ['a batch array (2025-11-25 has none)', '[{"jsonrpc":"2.0","id":6,"method":"ping"},{"jsonrpc":"2.0","id":7,"method":"ping"}]', (a) => (a && !Array.isArray(a) && a.error?.code === -32600) || `want one -32600, got ${JSON.stringify(a)?.slice(0, 200)}`],
  ['an empty batch', '[]', errCode(-32600)],
  ['a 3 MB method name', `{"jsonrpc":"2.0","id":8,"method":"${'m'.repeat(3 << 20)}"}`, (a) => (a?.error?.code === -32601 && JSON.stringify(a).length < 10000) || `want a short -32601, got ${JSON.stringify(a)?.slice(0, 200)}`],
  ['params nested 100,000 deep', nested(100000), errCode(-32700)],
  ['params nested 900 deep', nested(900), (a) => a?.error?.code === -32602 || a?.result?.isError === true || a?.result !== undefined || `got ${JSON.stringify(a)?.slice(0, 200)}`],
];

// ---- transports -----------------------------------------------------------------------------
function stdioSession() {
  const ch = spawn(bin, ['mcp', '--otlp-grpc', 'off', '--otlp-http', 'off'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let buf = '';
  const queue = [];
  let waiter = null;
  ch.stdout.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      queue.push(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
    if (waiter && queue.length) waiter();
  });
  ch.stderr.on('data', () => {});
  const next = (ms) =>
    new Promise((res) => {
      const take = () => {
        waiter = null;
        clearTimeout(t);
        res(queue.shift());
      };
      const t = setTimeout(() => {
        waiter = null;
        res(undefined);
      }, ms);
      if (queue.length) take();
      else waiter = take;
    });
  return {
    name: 'stdio',
    // notifications get no answer: the next line is read only for requests
    async send(text, expectAnswer = true) {
      ch.stdin.write(`${text}\n`);
      if (!expectAnswer) return null;
      const line = await next(15000);
      return line === undefined ? null : JSON.parse(line);
    },
    close() {
      ch.stdin.end();
      return new Promise((res) => ch.once('exit', (c) => res(c)));
    },
  };
}

function httpSession(base) {
  let sid = null;
  let version = null;
  const post = async (text, extra = {}) => {
    const h = { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream', ...extra };
    if (sid) h['Mcp-Session-Id'] = sid;
    if (version && !('MCP-Protocol-Version' in extra)) h['MCP-Protocol-Version'] = version;
    const res = await fetch(`${base}/mcp`, { method: 'POST', headers: h, body: text });
    const body = await res.text();
    let msg = null;
    if (/^\s*[{[]/.test(body)) msg = JSON.parse(body);
    else {
      const ev = body.split(/\r?\n\r?\n/).map((e) => e.split(/\r?\n/).filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trim()).join('\n')).filter(Boolean);
      if (ev.length) msg = JSON.parse(ev[ev.length - 1]);
    }
    return { status: res.status, msg, headers: res.headers };
  };
  return {
    name: 'http',
    post,
    sid: () => sid,
    async send(text, expectAnswer = true) {
      const a = await post(text);
      if (a.headers.get('mcp-session-id') && !sid) sid = a.headers.get('mcp-session-id');
      if (a.msg?.result?.protocolVersion) version = a.msg.result.protocolVersion;
      return expectAnswer ? a.msg : null;
    },
    close() {
      return fetch(`${base}/mcp`, { method: 'DELETE', headers: { 'Mcp-Session-Id': sid ?? '', 'MCP-Protocol-Version': version ?? '' } }).then((x) => x.status);
    },
  };
}

async function stillWorks(s, label) {
  const a = await s.send('{"jsonrpc":"2.0","id":"alive","method":"ping"}');
  return r.check(`${s.name}: ${label}: the session still answers ping`, a?.id === 'alive' && a.result !== undefined, JSON.stringify(a)?.slice(0, 200));
}

async function run(s) {
  // before initialize
  const pre = await s.send('{"jsonrpc":"2.0","id":"pre","method":"tools/list"}');
  if (s.name === 'stdio') {
    r.check('stdio: tools/list before initialize: an error', pre?.error !== undefined && pre.id === 'pre', JSON.stringify(pre)?.slice(0, 200));
  } else {
    r.check('http: tools/list before initialize (no session): an error', pre?.error !== undefined, JSON.stringify(pre)?.slice(0, 200));
  }
  // an unknown protocol version: the server answers with one it supports
  const ini = await s.send(init(0, '1999-01-01'));
  r.check(`${s.name}: initialize with 1999-01-01: answered with a supported version`, SUPPORTED.includes(ini?.result?.protocolVersion), JSON.stringify(ini)?.slice(0, 300));
  r.eq(`${s.name}: initialize with 1999-01-01: the latest (2025-11-25)`, '2025-11-25', ini?.result?.protocolVersion);
  await s.send('{"jsonrpc":"2.0","method":"notifications/initialized"}', false);
  // (a second initialize is answered, not refused: lenient, and harmless to the session)
  const again = await s.send(init(99, '2025-11-25'));
  r.check(`${s.name}: a second initialize on the session: answered`, again?.id === 99, JSON.stringify(again)?.slice(0, 200));
  await stillWorks(s, 'after a second initialize');
  for (const [label, text, check] of CASES) {
    const a = await s.send(text);
    const v = check(a);
    r.check(`${s.name}: ${label}`, v === true, v);
    await stillWorks(s, label);
  }
  if (s.post) {
    for (const bad of ['banana', '1999-01-01', '']) {
      const a = await s.post('{"jsonrpc":"2.0","id":"v","method":"ping"}', { 'MCP-Protocol-Version': bad });
      if (bad === '') r.check('http: an empty MCP-Protocol-Version header: 400 or the negotiated version assumed', a.status === 400 || a.status === 200, `HTTP ${a.status}`);
      else r.eq(`http: MCP-Protocol-Version: ${bad}: 400`, 400, a.status);
      await stillWorks(s, `after MCP-Protocol-Version ${JSON.stringify(bad)}`);
    }
    // a raw socket with Expect: 100-continue (as curl sends for big bodies): the server
    // answers 413 from the headers and closes; a client that pushed 10 MB regardless would
    // get a reset that can discard the 413 before it is read
    const status = await new Promise((res) => {
      const body = `{"jsonrpc":"2.0","id":"big","method":"${'m'.repeat(10 << 20)}"}`;
      const u = new URL(httpBase);
      const sock = net.connect(Number(u.port), u.hostname);
      let got = '';
      sock.on('data', (d) => {
        got += d.toString('latin1');
        const m = /^HTTP\/1\.1 (\d+)/.exec(got);
        if (m && m[1] === '100') {
          got = got.slice(got.indexOf('\r\n\r\n') + 4);
          sock.write(body);
        } else if (m) {
          res(Number(m[1]));
          sock.destroy();
        }
      });
      sock.on('error', () => {});
      sock.on('close', () => res(`closed without a status: ${got.slice(0, 100)}`));
      sock.write(`POST /mcp HTTP/1.1\r\nHost: ${u.host}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nMcp-Session-Id: ${s.sid()}\r\nMCP-Protocol-Version: 2025-11-25\r\nContent-Length: ${body.length}\r\nExpect: 100-continue\r\n\r\n`);
    });
    r.eq('http: a 10 MB method name (over the 4 MiB body limit): 413', 413, status);
    await stillWorks(s, 'after a 10 MB body');
  } else {
    const a = await s.send(`{"jsonrpc":"2.0","id":"big","method":"${'m'.repeat(10 << 20)}"}`);
    r.eq('stdio: a 10 MB method name: -32601', -32601, a?.error?.code);
    const b = await s.send(`{"jsonrpc":"2.0","id":"huge","method":"${'m'.repeat(17 << 20)}"}`);
    r.check('stdio: a 17 MB line (over the 16 MiB line cap): an error, not a hang', b?.error !== undefined, JSON.stringify(b)?.slice(0, 200));
    await stillWorks(s, 'after a 17 MB line');
  }
  const call = await s.send('{"jsonrpc":"2.0","id":"st","method":"tools/call","params":{"name":"get_status","arguments":{}}}');
  r.check(`${s.name}: get_status still answers at the end`, call?.result && !call.result.isError, JSON.stringify(call)?.slice(0, 200));
}

const st = stdioSession();
await r.step('stdio', () => run(st));
r.eq('stdio: exits 0 at EOF', 0, await st.close());
if (httpBase) {
  const hs = httpSession(httpBase);
  await r.step('http', () => run(hs));
  await hs.close();
}
console.log(`mcp: ${r.passed} passed, ${r.failed} failed`);
process.exit(r.failed ? 1 : 0);
