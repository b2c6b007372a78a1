// soak.mjs — the issue-4 soak: an independent OTLP sender (@grpc/grpc-js) streams the
// testdata at a steady rate while official-SDK MCP clients query concurrently.
//
// Sender: cpu.pb, mem.pb, ebpf_style.pb in turn, SOAK rate requests/s on a fixed schedule
// (not "as fast as replies come"), every request's times moved to its send time, every
// other request gzip-compressed (a second channel with grpc.default_compression_algorithm).
// The first request is a hand-framed gzip gRPC message over node:http2, which proves the
// server advertises and accepts gzip (grpc-js silently falls back to identity otherwise).
// Queriers: --clients SDK sessions loop get_status, query_profile_table,
// query_profile_flamegraph, query_profile_timeseries over the profile types and five
// selectors. They start only once a first Export has been acknowledged, and ask only for
// a profile type of which something had been acknowledged before they asked (a type the
// daemon has never been told about is rightly an isError naming the types present; a
// type sent but not yet acknowledged may or may not be there yet). Every answer must come
// (no protocol error, no isError), and every total must lie between what had been
// acknowledged when the query was issued (a lower bound: nothing acknowledged may be
// missing) and what had been dispatched when it answered (nothing counted twice). A
// selector that matches nothing acknowledged yet (e.g. cpu:nanoseconds on the heap-only
// host.name="node-b", or the eBPF host before its first ack) must answer empty, not with
// an error. At the end, with every request acknowledged and the sender idle, every total
// equals what was sent, exactly.
//
// Sent totals are computed from the bytes by the wire reader (mcp_lib.mjs sentTotals,
// otlp_inspect.mjs), never by otelprofd.
//
// CLI: node soak.mjs --grpc HOST:PORT --mcp URL --td TESTDATA --seconds S --rate R
//        --clients C --max-latency-ms L [--pause-ms P] --out SUMMARY.json
// Prints ok/FAIL lines; SUMMARY.json carries the counts the shell checks against /metrics.
import { readFileSync, writeFileSync } from 'node:fs';
import http2 from 'node:http2';
import { createRequire } from 'node:module';
import { gzipSync } from 'node:zlib';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { big, field, newClient, Reporter, sentTotals, textOf } from './mcp_lib.mjs';
import { inspect } from './otlp_inspect.mjs';
import { shiftToNow } from './otlp_time.mjs';
import { decodeResponse, EXPORT_PATH } from './send_grpc.mjs';

const require = createRequire(import.meta.url);
const grpc = (() => {
  const r = process.env.OTELPROFD_SRC && `${process.env.OTELPROFD_SRC}/tests/node_modules/@grpc/grpc-js`;
  try {
    if (r) return require(r);
  } catch {
    /* normal resolution below */
  }
  return require('@grpc/grpc-js');
})();

const o = {};
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) o[argv[i].replace(/^--/, '').replace(/-(\w)/g, (_, c) => c.toUpperCase())] = argv[++i];
for (const k of ['grpc', 'mcp', 'td', 'out']) {
  if (!o[k]) {
    console.error('usage: soak.mjs --grpc HOST:PORT --mcp URL --td DIR --out FILE [--seconds S] [--rate R] [--clients C] [--max-latency-ms L]');
    process.exit(2);
  }
}
const SECONDS = Number(o.seconds ?? 60);
const RATE = Number(o.rate ?? 5);
const CLIENTS = Number(o.clients ?? 2);
const MAX_LATENCY_MS = Number(o.maxLatencyMs ?? 10000);
const PAUSE_MS = Number(o.pauseMs ?? 10);
const MAX_IN_FLIGHT = 16;
// T0 of the test data lands this far before the send time: the data spans 10 s from T0,
// so every time of a request lies in [send - 10 s, send].
const OFFSET_NS = -10n * 1000000000n;

const r = new Reporter('soak: ');

// ---- what each file carries, from its bytes -------------------------------------------
const FILES = ['cpu.pb', 'mem.pb', 'ebpf_style.pb'].map((name, index) => {
  const path = `${o.td}/otlp/${name}`;
  const buf = readFileSync(path);
  const s = inspect(buf);
  return {
    name,
    index,
    buf,
    rows: sentTotals([{ file: path }]).rows, // {resource, type, total}, eBPF cpu derived
    profiles: s.profiles.length,
    observations: s.profiles.reduce((a, p) => a + BigInt(p.observations), 0n),
  };
});
const TYPES = [...new Set(FILES.flatMap((f) => f.rows.map((x) => x.type)))].sort();
// [selector, the resource attributes it requires]. The last two match only part of the
// data: heap profiles only, and eBPF data only (none of it until ebpf_style's first ack).
const SELECTORS = [
  ['{}', {}],
  ['{service.name="flate"}', { 'service.name': 'flate' }],
  ['{service.name="json"}', { 'service.name': 'json' }],
  ['{host.name="node-b"}', { 'host.name': 'node-b' }],
  ['{service.name="json", host.name="node-c"}', { 'service.name': 'json', 'host.name': 'node-c' }],
];

// How many copies of each file were dispatched (handed to the transport) and acknowledged
// (answered OK with nothing rejected); what a (type, selector) must total follows from the
// bytes of each file.
const dispatched = FILES.map(() => 0n);
const acked = FILES.map(() => 0n);
function amount(counts, type, match = {}) {
  let t = 0n;
  for (const f of FILES) {
    if (counts[f.index] === 0n) continue;
    for (const x of f.rows) {
      if (x.type === type && Object.entries(match).every(([k, v]) => x.resource[k] === v)) t += counts[f.index] * x.total;
    }
  }
  return t;
}
let firstAck;
const firstAckSeen = new Promise((res) => (firstAck = res));
function ack(f) {
  acked[f.index]++;
  firstAck();
}
const sent = { requests: 0, gzip: 0, ok: 0, profiles: 0n, observations: 0n, errors: [], latencies: [], late_ms: 0, backpressure: 0 };

function sendError(i, f, what) {
  if (sent.errors.length < 10) sent.errors.push(`request ${i} (${f.name}): ${what}`);
}

// ---- the gzip probe: one hand-framed gzip message over plain node:http2 --------------------
function gzipProbe(addr, payload) {
  return new Promise((resolve) => {
    const session = http2.connect(`http://${addr}`);
    let timer;
    const done = (x) => {
      clearTimeout(timer);
      session.close();
      resolve(x);
    };
    timer = setTimeout(() => done({ error: 'no answer within 60 s' }), 60000);
    session.on('error', (e) => done({ error: e.message }));
    const z = gzipSync(payload);
    const frame = Buffer.alloc(5 + z.length);
    frame.writeUInt8(1, 0);
    frame.writeUInt32BE(z.length, 1);
    z.copy(frame, 5);
    const req = session.request({
      ':method': 'POST',
      ':path': EXPORT_PATH,
      'content-type': 'application/grpc',
      te: 'trailers',
      'grpc-encoding': 'gzip',
      'grpc-accept-encoding': 'identity,gzip',
    });
    const out = { headers: null, trailers: null, body: [] };
    req.on('response', (h) => (out.headers = h));
    req.on('trailers', (t) => (out.trailers = t));
    req.on('data', (c) => out.body.push(c));
    req.on('end', () => done(out));
    req.on('error', (e) => done({ error: e.message }));
    req.end(frame);
  });
}

// ---- the sender ------------------------------------------------------------------------
function grpcClient(gzip) {
  const identity = (b) => b;
  const Client = grpc.makeGenericClientConstructor(
    { Export: { path: EXPORT_PATH, requestStream: false, responseStream: false, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity } },
    'ProfilesService',
  );
  const opts = { 'grpc.max_receive_message_length': 64 << 20, 'grpc.max_send_message_length': -1 };
  if (gzip) opts['grpc.default_compression_algorithm'] = 2;
  return new Client(o.grpc, grpc.credentials.createInsecure(), opts);
}

let sending = true;
async function runSender() {
  const clients = [grpcClient(false), grpcClient(true)];
  const start = Date.now();
  const end = start + SECONDS * 1000;
  const inflight = new Set();
  for (let i = 0; ; i++) {
    const due = start + (i * 1000) / RATE;
    if (due >= end) break;
    const wait = due - Date.now();
    if (wait > 0) await new Promise((res) => setTimeout(res, wait));
    else sent.late_ms = Math.max(sent.late_ms, -wait);
    while (inflight.size >= MAX_IN_FLIGHT) {
      sent.backpressure++;
      await Promise.race(inflight);
    }
    const f = FILES[i % FILES.length];
    // i % 2 with 3 files: each file goes both compressed and not.
    const gz = i % 2 === 1;
    const payload = shiftToNow(f.buf, { offsetNs: OFFSET_NS });
    sent.requests++;
    if (gz) sent.gzip++;
    sent.profiles += BigInt(f.profiles);
    sent.observations += f.observations;
    dispatched[f.index]++;
    const t0 = performance.now();
    const p = new Promise((resolve) => {
      clients[gz ? 1 : 0].Export(payload, { deadline: new Date(Date.now() + 30000) }, (err, resp) => {
        sent.latencies.push(performance.now() - t0);
        if (err) sendError(i, f, `${grpc.status[err.code] ?? err.code} ${err.details ?? ''}`);
        else {
          let ps = null;
          try {
            ps = decodeResponse(resp).partial_success;
          } catch (e) {
            sendError(i, f, `undecodable response: ${e.message}`);
          }
          if (ps && (ps.rejected_profiles !== '0' || ps.error_message)) sendError(i, f, `partial_success ${JSON.stringify(ps)}`);
          else {
            sent.ok++;
            ack(f);
          }
        }
        resolve();
      });
    });
    inflight.add(p);
    p.then(() => inflight.delete(p));
  }
  await Promise.all(inflight);
  sent.seconds = (Date.now() - start) / 1000;
  clients.forEach((c) => c.close());
}

// ---- the queriers ------------------------------------------------------------------------
const lat = new Map(); // tool -> [ms]
const queryErrors = [];
let queries = 0;
let queriesWhileSending = 0;
let boundViolations = 0;
let boundChecks = 0; // with something acknowledged before the query: the lower bound bites
let emptyAnswers = 0; // nothing acknowledged for the selector yet: an empty answer, no error
function qerr(msg) {
  if (queryErrors.length < 10) queryErrors.push(msg);
}

async function connect(name) {
  const client = newClient(name);
  await client.connect(new StreamableHTTPClientTransport(new URL(`${o.mcp}/mcp`)));
  return client;
}

// Calls a tool, timing it; returns the result or null (after recording why).
async function timed(client, name, args) {
  const t0 = performance.now();
  let res;
  try {
    res = await client.callTool({ name, arguments: args }, undefined, { timeout: 120000 });
  } catch (e) {
    qerr(`${name} ${JSON.stringify(args)} threw ${e?.code ?? ''} ${e?.message ?? e}`);
    return null;
  } finally {
    if (!lat.has(name)) lat.set(name, []);
    lat.get(name).push(performance.now() - t0);
    queries++;
  }
  if (res.isError || !res.structuredContent) {
    qerr(`${name} ${JSON.stringify(args)} isError: ${textOf(res).slice(0, 200)}`);
    return null;
  }
  return res;
}

// lo: acknowledged when the query was issued; the upper bound is what had been dispatched
// when it answered.
function checkBounds(what, type, match, lo, got) {
  const hi = amount(dispatched, type, match);
  if (lo > 0n) boundChecks++;
  else if (got === 0n) emptyAnswers++;
  if (got < lo || got > hi) {
    boundViolations++;
    qerr(`${what}: total ${got} outside [acked at issue ${lo}, dispatched at answer ${hi}]`);
  }
}

async function runQuerier(id) {
  let client;
  try {
    client = await connect(`otelprofd-soak-${id}`);
  } catch (e) {
    qerr(`client ${id} cannot connect: ${e.message}`);
    return;
  }
  let lastReceived = -1;
  for (let i = 0; sending; i++) {
    // Only a type of which something was acknowledged before the query is issued.
    const known = TYPES.filter((t) => amount(acked, t) > 0n);
    const type = known[(i + id) % known.length];
    const [selector, match] = SELECTORS[Math.floor(i / 4 + id) % SELECTORS.length];
    const lo = amount(acked, type, match);
    const args = { profile_type: type, selector };
    queriesWhileSending++;
    try {
      switch (i % 4) {
        case 0: {
          const res = await timed(client, 'get_status', {});
          const n = Number(res?.structuredContent?.received_samples);
          if (res && !(n >= lastReceived)) qerr(`get_status: received_samples went back from ${lastReceived} to ${n}`);
          if (res) lastReceived = n;
          break;
        }
        case 1: {
          const res = await timed(client, 'query_profile_table', args);
          if (res) checkBounds(`table ${type} ${selector}`, type, match, lo, big(res.structuredContent.total));
          break;
        }
        case 2: {
          const res = await timed(client, 'query_profile_flamegraph', args);
          if (res) {
            const total = big(res.structuredContent.total ?? 0);
            checkBounds(`flamegraph ${type} ${selector}`, type, match, lo, total);
            const rows = res.structuredContent.rows ?? [];
            const top = rows.filter((x) => x.parent === -1).reduce((a, x) => a + big(x.cum), 0n);
            if (rows.length && top !== total) qerr(`flamegraph ${type} ${selector}: top-level cum ${top} != total ${total}`);
          }
          break;
        }
        default: {
          const res = await timed(client, 'query_profile_timeseries', args);
          if (res) {
            const groups = field(res.structuredContent, 'groups') ?? [];
            checkBounds(`timeseries ${type} ${selector}`, type, match, lo, groups.reduce((a, g) => a + big(g.total), 0n));
          }
        }
      }
    } catch (e) {
      qerr(`client ${id} step ${i}: ${e.message}`);
    }
    // A short breath so the queriers do not starve the sender of a shared 2-core machine.
    if (PAUSE_MS > 0) await new Promise((res) => setTimeout(res, PAUSE_MS));
  }
  await client.close().catch(() => {});
}

function pct(xs, p) {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

// ---- run ---------------------------------------------------------------------------------
const soakStartMs = Date.now(); // nothing sent carries a time before this - 10 s (OFFSET_NS)
const probe = await gzipProbe(o.grpc, shiftToNow(FILES[1].buf, { offsetNs: OFFSET_NS }));
{
  const f = FILES[1];
  sent.requests++;
  sent.gzip++;
  sent.profiles += BigInt(f.profiles);
  sent.observations += f.observations;
  dispatched[f.index]++;
  const status = probe.trailers?.['grpc-status'] ?? probe.headers?.['grpc-status'];
  const accept = String(probe.headers?.['grpc-accept-encoding'] ?? '');
  const body = probe.body ? Buffer.concat(probe.body) : Buffer.alloc(0);
  let ps = null;
  try {
    if (body.length >= 5 && body.readUInt8(0) === 0) ps = decodeResponse(body.subarray(5)).partial_success;
  } catch (e) {
    ps = { rejected_profiles: 'undecodable', error_message: e.message };
  }
  if (
    r.check(
      'gzip probe (node:http2, grpc-encoding: gzip): OK, nothing rejected, server advertises gzip',
      !probe.error && probe.headers?.[':status'] === 200 && status === '0' && (!ps || ps.rejected_profiles === '0') && /\bgzip\b/.test(accept),
      () => JSON.stringify({ error: probe.error, headers: probe.headers, trailers: probe.trailers, ps }),
    )
  ) {
    sent.ok++;
    ack(f);
  }
}

// The queriers start once a first Export has been acknowledged (the probe's, or else the
// sender's first); if none ever is, they do not start and the checks below say so.
const senderDone = runSender().then(() => {
  sending = false;
});
await Promise.race([firstAckSeen, senderDone]);
const queriers = [];
if (acked.some((n) => n > 0n)) for (let c = 0; c < CLIENTS; c++) queriers.push(runQuerier(c));
await senderDone;
await Promise.all(queriers);

const planned = Math.ceil(SECONDS * RATE);
r.eq(`sender: ${planned} requests on schedule (${RATE}/s for ${SECONDS} s) after the probe`, planned, sent.requests - 1);
// The daemon's pace is held by the answer times (the same bound as the queries'); how far
// the sender's schedule slipped also depends on the node process getting the CPU on a
// shared machine, so it is held to that bound too, not to a fixed second.
const sendMax = Math.max(0, ...sent.latencies);
r.check(`sender: every Export answered within the latency bound (max ${sendMax.toFixed(0)} ms <= ${MAX_LATENCY_MS} ms)`, sendMax <= MAX_LATENCY_MS);
r.check(`sender: the schedule held (at most ${Math.round(sent.late_ms)} ms behind <= ${MAX_LATENCY_MS} ms, ${sent.backpressure} waits for ${MAX_IN_FLIGHT} in flight)`, sent.late_ms <= MAX_LATENCY_MS);
r.eq('sender: every request answered OK with nothing rejected', [], sent.errors);
r.check(`sender: half the requests gzip (${sent.gzip} of ${sent.requests})`, Math.abs(2 * sent.gzip - sent.requests) <= 2, `${sent.gzip}`);
r.eq('queries: every one answered (no protocol error, no isError, totals in bounds)', [], queryErrors);
r.check(`queries: ran concurrently with the sender (${queriesWhileSending} calls from ${CLIENTS} SDK clients, every tool)`, queriesWhileSending >= CLIENTS * 8 && lat.size === 4, `${queriesWhileSending} calls, tools ${[...lat.keys()]}`);
r.check(`queries: ${boundChecks} totals were checked against data acknowledged before they were asked (and ${emptyAnswers} empty answers where nothing was)`, boundChecks >= CLIENTS * 4, `${boundChecks}`);
const all = [...lat.values()].flat();
const p50 = pct(all, 50);
const p99 = pct(all, 99);
const max = Math.max(...all);
for (const [t, xs] of lat) console.log(`     ${t}: ${xs.length} calls, median ${pct(xs, 50).toFixed(1)} ms, p99 ${pct(xs, 99).toFixed(1)} ms, max ${Math.max(...xs).toFixed(1)} ms`);
r.check(`query latency bounded: max ${max.toFixed(0)} ms <= ${MAX_LATENCY_MS} ms (median ${p50.toFixed(1)}, p99 ${p99.toFixed(1)})`, max <= MAX_LATENCY_MS);

// ---- the end: the sender is idle, every total equals what was sent ---------------------
r.eq('sender: every request dispatched was acknowledged', dispatched.map(String), acked.map(String));
const want = (type, match) => amount(dispatched, type, match);
let timeseriesSteps = 0;
await r.step('final totals', async () => {
  const client = await connect('otelprofd-soak-final');
  const lp = await client.callTool({ name: 'list_profile_types', arguments: {} });
  const got = new Map((field(lp.structuredContent ?? {}, 'profile_types') ?? []).map((x) => [x.profile_type, big(x.total)]));
  r.eq('list_profile_types: exactly the types sent', TYPES, [...got.keys()].sort());
  for (const t of TYPES) r.eq(`list_profile_types: ${t} total == sent`, want(t), got.get(t) ?? null);
  for (const t of TYPES) {
    for (const [sel, match] of SELECTORS) {
      // (cpu:nanoseconds on the heap-only host: 0, answered as an empty table, not an error)
      const res = await client.callTool({ name: 'query_profile_table', arguments: { profile_type: t, selector: sel, limit: 1 } });
      r.eq(`table ${t} ${sel}: total == sent`, want(t, match), res.isError ? textOf(res) : big(res.structuredContent.total));
    }
  }
  // Explicit range and 10 s steps: the data spread over the buckets as it was sent. The range
  // starts a minute before anything sent (however long the run took), ends after now.
  const startIso = new Date(soakStartMs + Number(OFFSET_NS / 1000000n) - 60000).toISOString();
  const endIso = new Date(Date.now() + 5000).toISOString();
  for (const t of ['cpu:nanoseconds', 'alloc_space:bytes']) {
    const res = await client.callTool({
      name: 'query_profile_timeseries',
      arguments: { profile_type: t, start: startIso, end: endIso, step: '10s', group_by: 'service.name' },
    });
    if (!r.check(`timeseries ${t} by service.name: answers`, !res.isError, textOf(res).slice(0, 300))) continue;
    const groups = new Map((res.structuredContent.groups ?? []).map((g) => [g.name, g]));
    for (const svc of ['flate', 'json']) r.eq(`timeseries ${t} group ${svc}: total == sent`, want(t, { 'service.name': svc }), groups.has(svc) ? big(groups.get(svc).total) : null);
    const steps = new Set();
    for (const g of groups.values()) (g.values ?? []).forEach((v, i) => v > 0 && steps.add(i));
    timeseriesSteps = Math.max(timeseriesSteps, steps.size);
    const need = Math.max(1, Math.floor(SECONDS / 10) - 1);
    r.check(`timeseries ${t}: data spread over ${steps.size} 10 s steps (>= ${need})`, steps.size >= need, JSON.stringify([...groups.values()].map((g) => g.values)));
  }
  const st = (await client.callTool({ name: 'get_status', arguments: {} })).structuredContent ?? {};
  r.eq('get_status: received_profiles == profiles sent', sent.profiles, big(st.received_profiles));
  r.eq('get_status: received_samples == observations sent (from the bytes)', sent.observations, big(st.received_samples));
  r.eq('get_status: stored_samples == received_samples', big(st.received_samples), big(st.stored_samples));
  r.eq('get_status: nothing rejected, too old, too new, evicted', [0, 0, 0, 0, 0], [st.rejected_profiles, st.rejected_samples, st.samples_too_old, st.samples_too_new, st.evicted_buckets]);
  await client.close();
});

const sl = sent.latencies;
const summary = {
  passed: r.passed,
  failed: r.failed,
  requests: sent.requests,
  gzip: sent.gzip,
  profiles: sent.profiles.toString(),
  observations: sent.observations.toString(),
  send_seconds: sent.seconds,
  send_late_ms: Math.round(sent.late_ms),
  send_median_ms: pct(sl, 50),
  send_p99_ms: pct(sl, 99),
  queries,
  queries_while_sending: queriesWhileSending,
  empty_answers: emptyAnswers,
  bound_violations: boundViolations,
  bound_checks: boundChecks,
  query_median_ms: p50,
  query_p99_ms: p99,
  query_max_ms: max,
  timeseries_steps: timeseriesSteps,
};
writeFileSync(o.out, JSON.stringify(summary));
r.summary();
process.exit(r.failed ? 1 : 0);
