// check_top.mjs — ask a running otelprofd for /debug/top and check it, value for value.
//
// Two independent references, both strict (any difference fails):
// - the reference computed from the bytes that were sent (otlp_top.mjs, .pb or .json):
//   the daemon's answer must equal it per function and in total, always;
// - the `go tool pprof -top` answer (--expected E): the daemon's answer must equal it per
//   function and in total, and so must the reference from the bytes (a file that does not
//   encode E, or a reference that drifted from pprof, is a failure, never a fallback);
// - or, where per-function equality with pprof cannot hold by design (the eBPF-shaped file
//   keeps ~15% of its locations unsymbolized, so they answer by address), only pprof's
//   total (--expected-total E): the daemon's total and the reference's total must equal
//   it, while per function the daemon is held to the reference from the bytes.
//
// CLI: node check_top.mjs --base http://127.0.0.1:PORT --type T --selector S --file F.pb|F.json
//        [--match key=value]... [--expected E.top.txt | --expected-total E.top.txt]
//        [--scale N] [--repeat N] [--save FILE] [--label TEXT]
//   --scale: pprof's values x N (eBPF cpu = samples x period); --repeat: the file was sent
//   N times, so every expected value is x N.
// Exit 0 on agreement, 1 on a difference (diff on stderr), 2 on usage/transport errors.
import { readFileSync, writeFileSync } from 'node:fs';
import { compareTop, parseTop } from './compare_top.mjs';
import { referenceTop, renderTop } from './otlp_top.mjs';

const args = process.argv.slice(2);
const o = { match: {}, scale: 1n, repeat: 1n };
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  const v = () => args[++i];
  if (a === '--base') o.base = v();
  else if (a === '--type') o.type = v();
  else if (a === '--selector') o.selector = v();
  else if (a === '--file') o.file = v();
  else if (a === '--expected') o.expected = v();
  else if (a === '--expected-total') o.expectedTotal = v();
  else if (a === '--scale') o.scale = BigInt(v());
  else if (a === '--repeat') o.repeat = BigInt(v());
  else if (a === '--save') o.save = v();
  else if (a === '--label') o.label = v();
  else if (a === '--match') {
    const kv = v();
    o.match[kv.slice(0, kv.indexOf('='))] = kv.slice(kv.indexOf('=') + 1);
  } else {
    console.error(`check_top: unknown argument ${a}`);
    process.exit(2);
  }
}
if (!o.base || !o.type || o.selector === undefined || !o.file || (o.expected && o.expectedTotal)) {
  console.error('usage: check_top.mjs --base URL --type T --selector S --file F [--match k=v]... [--expected E | --expected-total E] [--scale N] [--repeat N]');
  process.exit(2);
}
const label = o.label ?? `${o.type} ${o.selector}`;
const short = (f) => f.replace(/.*\//, '');

let ok = true;
function report(diffs, what) {
  if (diffs.length === 0) {
    console.log(`  .. ${label}: ${what}: equal`);
    return;
  }
  ok = false;
  console.error(`  .. ${label}: ${what}: ${diffs.length} difference(s):`);
  for (const d of diffs.slice(0, 25)) console.error(`       ${d}`);
  if (diffs.length > 25) console.error(`       ... and ${diffs.length - 25} more`);
}

const url = `${o.base}/debug/top?profile_type=${encodeURIComponent(o.type)}&selector=${encodeURIComponent(o.selector)}`;
let text;
try {
  const res = await fetch(url, { signal: AbortSignal.timeout(120000) });
  text = await res.text();
  if (res.status !== 200) {
    console.error(`FAIL ${label}: GET ${url} -> HTTP ${res.status}: ${text.slice(0, 300)}`);
    process.exit(1);
  }
} catch (e) {
  console.error(`FAIL ${label}: GET ${url}: ${e.message}`);
  process.exit(2);
}
if (o.save) writeFileSync(o.save, text);
let actual;
try {
  actual = parseTop(text, 'daemon answer');
} catch (e) {
  console.error(`FAIL ${label}: ${e.message}\n       answer began: ${JSON.stringify(text.slice(0, 200))}`);
  process.exit(1);
}
const reference = parseTop(renderTop(referenceTop(readFileSync(o.file), o.type, o.match)), 'reference');
if (reference.rows.size === 0) {
  console.error(`FAIL ${label}: the reference found no samples in ${o.file} for ${JSON.stringify(o.match)} (test bug)`);
  process.exit(1);
}

// Per function and in total, against what the bytes sent carry (x repeat).
report(compareTop(reference, actual, { scale: o.repeat }), `daemon == reference from the bytes sent (${short(o.file)}, ${reference.rows.size} functions, total ${reference.total * o.repeat})`);

if (o.expected) {
  const exp = parseTop(readFileSync(o.expected, 'utf8'), o.expected);
  report(compareTop(exp, reference, { scale: o.scale }), `${short(o.file)} encodes ${short(o.expected)} (reference from the bytes == go tool pprof)`);
  report(compareTop(exp, actual, { scale: o.scale * o.repeat }), `daemon == ${short(o.expected)} (go tool pprof, ${exp.rows.size} functions)`);
} else if (o.expectedTotal) {
  const exp = parseTop(readFileSync(o.expectedTotal, 'utf8'), o.expectedTotal);
  if (exp.total === null) {
    console.error(`FAIL ${label}: no "of N total" line in ${o.expectedTotal}`);
    process.exit(1);
  }
  const want = exp.total * o.scale;
  const d1 = reference.total === want ? [] : [`total: ${short(o.expectedTotal)} x ${o.scale} = ${want}, the bytes carry ${reference.total}`];
  report(d1, `${short(o.file)} total == ${short(o.expectedTotal)} total x ${o.scale}`);
  const d2 = actual.total === want * o.repeat ? [] : [`total: expected ${want * o.repeat}, got ${actual.total}`];
  report(d2, `daemon total == ${short(o.expectedTotal)} total x ${o.scale * o.repeat} = ${want * o.repeat}`);
}
process.exit(ok ? 0 : 1);
