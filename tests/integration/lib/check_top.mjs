// check_top.mjs — ask a running otelprofd for /debug/top and check it, value for value.
//
// The answer is checked against `go tool pprof -top` (EXPECTED) when the OTLP file that
// was sent really encodes that profile, which is itself checked first with the
// independent reference (otlp_top.mjs). When the file does not (a test data defect, or
// a shape like the eBPF one that `go tool pprof` never saw), the check says so loudly and
// compares the daemon with the reference computed from the bytes that were sent: the
// daemon must then agree with what it was actually given.
//
// CLI: node check_top.mjs --base http://127.0.0.1:PORT --type T --selector S --file F.pb
//        [--match key=value]... [--expected E.top.txt] [--scale N] [--addresses]
//        [--repeat N] [--save FILE] [--label TEXT]
//   --scale: expected values x N (eBPF cpu = samples x period); --repeat: the file was sent
//   N times, so expected and reference values are x N.
// Exit 0 on agreement, 1 on a difference (diff on stderr), 2 on usage/transport errors.
import { readFileSync, writeFileSync } from 'node:fs';
import { compareTop, parseTop } from './compare_top.mjs';
import { referenceTop, renderTop } from './otlp_top.mjs';

const args = process.argv.slice(2);
const o = { match: {}, scale: 1n, repeat: 1n, addresses: false };
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  const v = () => args[++i];
  if (a === '--base') o.base = v();
  else if (a === '--type') o.type = v();
  else if (a === '--selector') o.selector = v();
  else if (a === '--file') o.file = v();
  else if (a === '--expected') o.expected = v();
  else if (a === '--scale') o.scale = BigInt(v());
  else if (a === '--repeat') o.repeat = BigInt(v());
  else if (a === '--addresses') o.addresses = true;
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
if (!o.base || !o.type || o.selector === undefined || !o.file) {
  console.error('usage: check_top.mjs --base URL --type T --selector S --file F [--match k=v]... [--expected E] [--scale N] [--addresses]');
  process.exit(2);
}
const label = o.label ?? `${o.type} ${o.selector}`;

function report(diffs, against) {
  if (diffs.length === 0) {
    console.log(`  .. ${label}: equal to ${against}`);
    return true;
  }
  console.error(`  .. ${label}: ${diffs.length} difference(s) against ${against}:`);
  for (const d of diffs.slice(0, 25)) console.error(`       ${d}`);
  if (diffs.length > 25) console.error(`       ... and ${diffs.length - 25} more`);
  return false;
}

const url = `${o.base}/debug/top?profile_type=${encodeURIComponent(o.type)}&selector=${encodeURIComponent(o.selector)}`;
let text;
try {
  const res = await fetch(url);
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
const ref = referenceTop(readFileSync(o.file), o.type, o.match);
const reference = parseTop(renderTop(ref), 'reference');
if (reference.rows.size === 0) {
  console.error(`FAIL ${label}: the reference found no samples in ${o.file} for ${JSON.stringify(o.match)} (test bug)`);
  process.exit(1);
}
let ok = true;
if (o.expected) {
  const exp = parseTop(readFileSync(o.expected, 'utf8'), o.expected);
  const dataDiffs = compareTop(exp, reference, { scale: o.scale, addresses: o.addresses });
  if (dataDiffs.length === 0) {
    ok = report(compareTop(exp, actual, { scale: o.scale * o.repeat, addresses: o.addresses }), o.expected.replace(/.*\//, ''));
  } else {
    console.log(
      `WARN ${label}: TEST DATA DEFECT: ${o.file.replace(/.*\//, '')} ${JSON.stringify(o.match)} does not encode ` +
        `${o.expected.replace(/.*\//, '')} (${dataDiffs.length} differences, first: ${dataDiffs[0]}); ` +
        'checking against the reference computed from the bytes sent instead',
    );
  }
}
if (ok) ok = report(compareTop(reference, actual, { scale: o.repeat }), 'reference from the bytes sent');
process.exit(ok ? 0 : 1);
