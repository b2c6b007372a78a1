// nats_load.mjs — steady OTLP/HTTP ingest spread over several ingest nodes, the way an
// exporter behaves: a request that is not acknowledged (503, a refused connection, a
// timeout) is sent again, the same bytes, to the next node, until one acknowledges it.
//
// Request i carries one profile of service `--service` (default "load") with one sample of
// value i+1 (cpu:nanoseconds) on the stack load.leaf <- load.root, stamped now: every request
// differs, so a stored total equal to the acknowledged sum proves nothing acknowledged was
// lost and nothing was stored twice (a retry of the same bytes is de-duplicated by the log).
//
// CLI: node nats_load.mjs --http URL[,URL...] --count N [--interval MS] [--service NAME]
//        [--retries R] [--mark FILE]
//   --mark FILE: written (empty) once a quarter of the requests are acknowledged, so a test
//   can strike (kill a server) while the load runs.
// Prints one JSON line {acked, acked_sum, retried, statuses, unacked}; exit 0, or 2 on usage.
import { writeFileSync } from 'node:fs';
import { Msg } from './pbwire.mjs';
import { nowNs } from './otlp_time.mjs';

const args = process.argv.slice(2);
const o = { interval: 20, service: 'load', retries: 400 };
for (let i = 0; i < args.length; i++) o[args[i].replace(/^--/, '')] = args[++i];
if (!o.http || !o.count) {
  console.error('usage: nats_load.mjs --http URL[,URL...] --count N [--interval MS]');
  process.exit(2);
}
const urls = o.http.split(',');
const count = Number(o.count);

function request(i) {
  const d = new Msg();
  const strings = ['', 'cpu', 'nanoseconds', 'load.go', 'load.root', 'load.leaf'];
  d.msg(2, new Msg()); // location_table[0]: unset
  d.msg(2, new Msg().varint(2, 0x1000).msg(3, new Msg().varint(1, 1).varint(2, 10)));
  d.msg(2, new Msg().varint(2, 0x2000).msg(3, new Msg().varint(1, 2).varint(2, 20)));
  d.msg(3, new Msg()); // function_table[0]
  d.msg(3, new Msg().varint(1, 4).varint(3, 3));
  d.msg(3, new Msg().varint(1, 5).varint(3, 3));
  for (const s of strings) d.string(5, s);
  d.msg(7, new Msg()); // stack_table[0]
  d.msg(7, new Msg().packedVarints(1, [2, 1])); // leaf first
  const t = nowNs();
  const p = new Msg().msg(1, new Msg().varint(1, 1).varint(2, 2));
  p.msg(2, new Msg().varint(1, 1).packedVarints(4, [i + 1]).packedFixed64(5, [t]));
  p.fixed64(3, t);
  const res = new Msg().msg(1, new Msg().string(1, 'service.name').msg(2, new Msg().string(1, o.service)));
  return new Msg().msg(1, new Msg().msg(1, res).msg(2, new Msg().msg(2, p))).msg(2, d).toBuffer();
}

async function post(url, body) {
  try {
    const res = await fetch(`${url}/v1development/profiles`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-protobuf' },
      body,
      signal: AbortSignal.timeout(15000),
    });
    await res.arrayBuffer();
    return String(res.status);
  } catch (e) {
    return 'error';
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const out = { acked: 0, acked_sum: 0, retried: 0, statuses: {}, unacked: 0 };
let node = 0;
for (let i = 0; i < count; i++) {
  const body = request(i);
  let ok = false;
  for (let attempt = 0; attempt <= Number(o.retries) && !ok; attempt++) {
    const status = await post(urls[node % urls.length], body);
    out.statuses[status] = (out.statuses[status] ?? 0) + 1;
    if (status === '200') ok = true;
    else {
      out.retried++;
      node++; // the exporter's next try goes to another ingest node
      await sleep(100);
    }
  }
  if (ok) {
    out.acked++;
    out.acked_sum += i + 1;
  } else out.unacked++;
  node++;
  if (o.mark && out.acked === Math.ceil(count / 4)) writeFileSync(o.mark, '');
  await sleep(Number(o.interval));
}
console.log(JSON.stringify(out));
