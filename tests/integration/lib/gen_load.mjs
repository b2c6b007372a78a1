// gen_load.mjs — stream many distinct synthetic profiles into otelprofd over OTLP/HTTP
// and watch its memory while doing so.
//
// Every request has fresh, never-repeated function names (so every stack is new to the
// store's interning), timestamps at "now", and goes to one of 4 series. Between requests
// /metrics (otelprofd_memory_used_bytes, _memory_limit_bytes, _evicted_buckets_total) and
// /proc/PID/status VmRSS are sampled. At the end a marker profile is sent and queried.
//
// With --senders N, N senders stream at once (request numbers stay distinct); with
// --queries 1 an MCP client (the official SDK, Streamable HTTP) meanwhile calls
// query_profile_table and query_profile_flamegraph on the load services in a loop, and
// the summary counts its answers (queries_ok, queries_error, first_query_error).
//
// CLI: node gen_load.mjs --http URL --mcp URL --pid PID --seconds S [--senders N]
//        [--queries 0|1]
// Prints one JSON summary line; exits 2 on usage or transport errors.
import { readFileSync } from 'node:fs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Msg } from './pbwire.mjs';
import { nowNs } from './otlp_time.mjs';

const args = process.argv.slice(2);
const o = { seconds: 25, senders: 1, queries: 0 };
for (let i = 0; i < args.length; i++) {
  const k = args[i].replace(/^--/, '');
  o[k] = args[++i];
}
if (!o.http || !o.mcp || !o.pid) {
  console.error('usage: gen_load.mjs --http URL --mcp URL --pid PID [--seconds S]');
  process.exit(2);
}
const seconds = Number(o.seconds);
const senders = Math.max(1, Number(o.senders));

const FUNCS = 256;
const STACKS = 128;
const DEPTH = 24;

function request(reqNo, service, fnName) {
  const d = new Msg();
  const strings = ['', 'cpu', 'nanoseconds', 'load.go'];
  const fnBase = strings.length;
  for (let f = 0; f < FUNCS; f++) strings.push(fnName(f));
  d.msg(2, new Msg());
  for (let f = 0; f < FUNCS; f++) {
    d.msg(2, new Msg().varint(2, 0x400000 + f * 16).msg(3, new Msg().varint(1, f + 1).varint(2, f)));
  }
  d.msg(3, new Msg());
  for (let f = 0; f < FUNCS; f++) d.msg(3, new Msg().varint(1, fnBase + f).varint(3, 3));
  for (const s of strings) d.string(5, s);
  d.msg(7, new Msg());
  for (let s = 0; s < STACKS; s++) {
    const locs = [];
    for (let j = 0; j < DEPTH; j++) locs.push(1 + ((s * 7 + j * 13 + reqNo) % FUNCS));
    d.msg(7, new Msg().packedVarints(1, locs));
  }
  const t = nowNs();
  const p = new Msg().msg(1, new Msg().varint(1, 1).varint(2, 2));
  for (let s = 0; s < STACKS; s++) p.msg(2, new Msg().varint(1, s + 1).packedVarints(4, [10000000]).packedFixed64(5, [t]));
  p.fixed64(3, t);
  const res = new Msg().msg(1, new Msg().string(1, 'service.name').msg(2, new Msg().string(1, service)));
  return new Msg().msg(1, new Msg().msg(1, res).msg(2, new Msg().msg(2, p))).msg(2, d).toBuffer();
}

async function post(body) {
  const res = await fetch(`${o.http}/v1development/profiles`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-protobuf' },
    body,
  });
  await res.arrayBuffer();
  return res.status;
}

async function metrics() {
  const text = await (await fetch(`${o.mcp}/metrics`)).text();
  const get = (n) => {
    let sum = null;
    for (const line of text.split('\n')) {
      const m = /^(otelprofd_[a-z_]+)(\{[^}]*\})?\s+(\S+)/.exec(line);
      if (m && m[1] === `otelprofd_${n}`) sum = (sum ?? 0) + Number(m[3]);
    }
    return sum;
  };
  return { used: get('memory_used_bytes'), limit: get('memory_limit_bytes'), evicted: get('evicted_buckets_total') };
}

function rssBytes() {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${o.pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : null;
}

const summary = {
  requests: 0,
  bad_status: {},
  samples: 0,
  max_used: 0,
  limit: null,
  over_limit_samples: [],
  max_rss: 0,
  start_rss: rssBytes(),
  evicted: null,
  metrics_missing: false,
  marker: null,
  senders,
  queries_ok: 0,
  queries_error: 0,
  first_query_error: null,
};
const end = Date.now() + seconds * 1000;
let nextReq = 0;

async function sender() {
  while (Date.now() < end) {
    const r = nextReq++;
    const status = await post(request(r, `load-${r % 4}`, (f) => `load.r${r}.f${f}`));
    summary.requests++;
    if (status !== 200) summary.bad_status[status] = (summary.bad_status[status] ?? 0) + 1;
  }
}

async function poller() {
  while (Date.now() < end) {
    const m = await metrics();
    summary.samples++;
    if (m.used === null || m.limit === null) summary.metrics_missing = true;
    else {
      summary.limit = m.limit;
      summary.max_used = Math.max(summary.max_used, m.used);
      if (m.used > m.limit && summary.over_limit_samples.length < 10) summary.over_limit_samples.push(m.used);
    }
    summary.evicted = m.evicted;
    summary.max_rss = Math.max(summary.max_rss, rssBytes() ?? 0);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function querier() {
  const client = new Client({ name: 'gen_load', version: '0.0.0' }, { capabilities: {} });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${o.mcp}/mcp`)));
  try {
    for (let k = 0; Date.now() < end; k++) {
      const name = k % 2 ? 'query_profile_flamegraph' : 'query_profile_table';
      const args = { profile_type: 'cpu:nanoseconds', selector: `{service.name="load-${k % 4}"}`, start: 'now-5m' };
      try {
        const res = await client.callTool({ name, arguments: args });
        // an evicted-away or not yet filled service may answer "no data": an answer too
        if (!res.isError || /no data/i.test(JSON.stringify(res.content))) summary.queries_ok++;
        else {
          summary.queries_error++;
          summary.first_query_error ??= JSON.stringify(res.content).slice(0, 300);
        }
      } catch (e) {
        summary.queries_error++;
        summary.first_query_error ??= e.message;
      }
    }
  } finally {
    await client.close();
  }
}

try {
  const tasks = [poller()];
  for (let i = 0; i < senders; i++) tasks.push(sender());
  if (Number(o.queries)) tasks.push(querier());
  await Promise.all(tasks);
  const status = await post(request(0, 'load-newest', (f) => (f === 0 ? 'newest.marker' : `newest.f${f}`)));
  const sel = encodeURIComponent('{service.name="load-newest"}');
  const top = await (await fetch(`${o.mcp}/debug/top?profile_type=cpu:nanoseconds&selector=${sel}`)).text();
  const first = await (
    await fetch(`${o.mcp}/debug/top?profile_type=cpu:nanoseconds&selector=${encodeURIComponent('{service.name="load-0"}')}`)
  ).text();
  const markerRow = top.split('\n').find((l) => / newest\.marker$/.test(l));
  summary.marker = {
    status,
    total: top.split('\n')[0],
    row: markerRow ?? null,
    first_request_still_there: / load\.r0\.f\d+$/m.test(first),
  };
  const m = await metrics();
  summary.evicted = m.evicted;
  summary.max_used = Math.max(summary.max_used, m.used ?? 0);
  summary.max_rss = Math.max(summary.max_rss, rssBytes() ?? 0);
} catch (e) {
  summary.error = e.message;
  console.log(JSON.stringify(summary));
  process.exit(2);
}
console.log(JSON.stringify(summary));
