// wal_load.mjs — load for the durable-log tests: every request carries one sample of value 1
// whose leaf function is named after the request (req_<ID>, main -> req_ID), so a profile
// read back tells exactly which requests it holds and how often (go tool pprof -top: flat
// of req_ID). Senders: OTLP/HTTP (node's own HTTP client) and OTLP/gRPC (@grpc/grpc-js),
// neither of them otelprofd code.
//
// CLI: node wal_load.mjs --http URL --grpc HOST:PORT --first ID --out FILE
//        [--http-senders N] [--grpc-senders N] [--ms T] [--kill PID --signal SIG]
//        [--count N] [--pad BYTES]
//   Sends for T ms (or N requests in all), then, with --kill, sends SIG to PID while the
//   senders are still going, and waits for every request to settle. Request ids start at
//   --first. Writes {"acked":[ids],"unknown":[ids],"refused":[ids],"codes":{...}} to FILE:
//   acked = the sender was told OK (200 / gRPC OK); refused = a definite error answer
//   (nothing was kept, e.g. 503 / UNAVAILABLE); unknown = no answer (the connection broke:
//   kept or not, the sender cannot know, as with any exporter).
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import { Msg } from './pbwire.mjs';
import { nowNs } from './otlp_time.mjs';
import { sendGrpc } from './send_grpc.mjs';

const args = process.argv.slice(2);
const o = { 'http-senders': 2, 'grpc-senders': 1, ms: 1000, first: 1, count: 0 };
for (let i = 0; i < args.length; i++) o[args[i].replace(/^--/, '')] = args[++i];

export function request(id, service = 'wal-load', pad = 0) {
  const strings = ['', 'cpu', 'nanoseconds', 'main', `req_${id}`, 'service.name', 'main.go'];
  if (pad > 0) strings.push('p'.repeat(pad)); // an unused string: only makes the request larger
  const d = new Msg();
  d.msg(1, new Msg());
  d.msg(2, new Msg());
  d.msg(2, new Msg().msg(3, new Msg().varint(1, 1).varint(2, 10)));
  d.msg(2, new Msg().msg(3, new Msg().varint(1, 2).varint(2, 20)));
  d.msg(3, new Msg());
  d.msg(3, new Msg().varint(1, 3).varint(3, 6));
  d.msg(3, new Msg().varint(1, 4).varint(3, 6));
  for (const s of strings) d.string(5, s);
  d.msg(7, new Msg());
  d.msg(7, new Msg().packedVarints(1, [2, 1]));
  const p = new Msg().msg(1, new Msg().varint(1, 1).varint(2, 2));
  p.msg(2, new Msg().varint(1, 1).packedVarints(4, [1]));
  p.fixed64(3, nowNs()).varint(4, 1000000000);
  p.msg(5, new Msg().varint(1, 1).varint(2, 2)).varint(6, 10000000);
  const resource = new Msg().msg(1, new Msg().string(1, 'service.name').msg(2, new Msg().string(1, service)));
  const rp = new Msg().msg(1, resource).msg(2, new Msg().msg(2, p));
  return new Msg().msg(1, rp).msg(2, d).toBuffer();
}

function postHttp(url, body) {
  return new Promise((resolve) => {
    const u = new URL(url + '/v1development/profiles');
    const req = http.request(
      { hostname: u.hostname, port: u.port, path: u.pathname, method: 'POST', agent: false,
        headers: { 'Content-Type': 'application/x-protobuf', 'Content-Length': body.length } },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ answered: true, ok: res.statusCode === 200, code: `http_${res.statusCode}` }));
        res.on('error', () => resolve({ answered: false, code: 'http_broken' }));
      },
    );
    req.setTimeout(30000, () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve({ answered: false, code: `http_${e.code ?? 'error'}` }));
    req.end(body);
  });
}

async function postGrpc(addr, body) {
  const r = await sendGrpc(addr, body, { deadlineMs: 30000 });
  // UNAVAILABLE with no answer from the server (connection reset) cannot be told from a
  // refusal by the status alone: grpc-js reports a broken connection as UNAVAILABLE with
  // details naming the transport; otelprofd's refusal carries its own message.
  if (r.code === 0) return { answered: true, ok: true, code: 'grpc_OK' };
  const fromServer = r.code !== 14 || /could not be kept|in flight|retry later/.test(r.details);
  return { answered: fromServer, ok: false, code: `grpc_${r.status}` };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const acked = [], unknown = [], refused = [];
  const codes = {};
  let next = Number(o.first);
  const last = o.count ? Number(o.first) + Number(o.count) : Infinity;
  const start = Date.now();
  let stop = false;
  const running = () => !stop && next < last && Date.now() - start < Number(o.ms);
  async function sender(kind) {
    while (running()) {
      const id = next++;
      const body = request(id, 'wal-load', Number(o.pad ?? 0));
      const r = kind === 'http' ? await postHttp(o.http, body) : await postGrpc(o.grpc, body);
      codes[r.code] = (codes[r.code] ?? 0) + 1;
      (r.ok ? acked : r.answered ? refused : unknown).push(id);
    }
  }
  const senders = [];
  for (let i = 0; i < Number(o['http-senders']); i++) senders.push(sender('http'));
  for (let i = 0; i < Number(o['grpc-senders']); i++) senders.push(sender('grpc'));
  if (o.kill) {
    setTimeout(() => {
      process.kill(Number(o.kill), o.signal ?? 'SIGKILL');
      // keep sending a little: requests now meet a dying or dead daemon
      setTimeout(() => { stop = true; }, 300);
    }, Number(o.ms) * 0.8);
  }
  await Promise.all(senders);
  writeFileSync(o.out, JSON.stringify({ acked, unknown, refused, codes, next }));
  console.log(JSON.stringify({ acked: acked.length, unknown: unknown.length, refused: refused.length, codes }));
}
