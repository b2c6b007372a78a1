// compare_top.mjs — compare otelprofd's /debug/top answer with an expected table.
//
// Expected: a `go tool pprof -top` file (header lines skipped; columns flat flat% sum%
// cum cum% name, names may contain spaces; " (inline)" / " (partial-inline)" markers are
// pprof's and dropped) or a "total N" + "<flat> <cum> <name>" file (otlp_top.mjs).
// Actual: the /debug/top text, "total N" then "<flat> <cum> <function>" lines.
//
// Rules: every expected function with flat or cum != 0 must be present with exactly those
// values (times --scale), no actual function with a nonzero value may be extra, and the
// totals must agree (a total known on one side only is a difference). Unsymbolized rows ("0x…") are compared by
// numeric address. There is no tolerant mode: an answer with unsymbolized frames is
// compared with a reference computed from the same bytes (otlp_top.mjs), not with the
// answer for its symbolized original.
//
// CLI: node compare_top.mjs EXPECTED ACTUAL [--scale N] [--label TEXT]
// Exit 0 when equal, 1 with a diff on stderr otherwise.
import { readFileSync } from 'node:fs';

const ADDR_RE = /^0x[0-9a-fA-F]+$/;

function canonical(name) {
  let n = name.trim().replace(/ \((partial-)?inline\)$/, '');
  if (ADDR_RE.test(n)) n = `0x${BigInt(n).toString(16)}`;
  return n;
}

function addRow(map, name, flat, cum, where) {
  const key = canonical(name);
  const prev = map.get(key);
  if (prev) throw new Error(`${where}: function ${key} listed twice`);
  map.set(key, { flat, cum });
}

export function parseTop(text, where) {
  const lines = text.split('\n');
  const rows = new Map();
  let total = null;
  if (/^total -?\d+\s*$/.test(lines[0] ?? '')) {
    total = BigInt(lines[0].trim().split(/\s+/)[1]);
    for (let i = 1; i < lines.length; i++) {
      const l = lines[i];
      if (l.trim() === '') continue;
      const m = /^\s*(-?\d+)\s+(-?\d+)\s+(.+?)\s*$/.exec(l);
      if (!m) throw new Error(`${where}:${i + 1}: cannot parse row: ${JSON.stringify(l)}`);
      addRow(rows, m[3], BigInt(m[1]), BigInt(m[2]), `${where}:${i + 1}`);
    }
    return { total, rows };
  }
  let i = 0;
  for (; i < lines.length; i++) {
    const t = /of (-?\d+)[a-zA-Z]* total/.exec(lines[i]);
    if (t) total = BigInt(t[1]);
    if (/^\s*flat\s+flat%\s+sum%\s+cum\s+cum%\s*$/.test(lines[i])) break;
  }
  if (i === lines.length) throw new Error(`${where}: no "flat flat% sum% cum cum%" header line`);
  for (i++; i < lines.length; i++) {
    const l = lines[i];
    if (l.trim() === '') continue;
    const m = /^\s*(-?\d+)\s+\S+%\s+\S+%\s+(-?\d+)\s+\S+%\s+(.+?)\s*$/.exec(l);
    if (!m) throw new Error(`${where}:${i + 1}: cannot parse row: ${JSON.stringify(l)}`);
    addRow(rows, m[3], BigInt(m[1]), BigInt(m[2]), `${where}:${i + 1}`);
  }
  return { total, rows };
}

// Returns a list of human-readable differences (empty when equal).
export function compareTop(expected, actual, { scale = 1n } = {}) {
  const diffs = [];
  const exp = new Map();
  for (const [n, r] of expected.rows) {
    if (r.flat !== 0n || r.cum !== 0n) exp.set(n, { flat: r.flat * scale, cum: r.cum * scale });
  }
  const act = new Map([...actual.rows].filter(([, r]) => r.flat !== 0n || r.cum !== 0n));
  const missing = [];
  for (const [n, e] of exp) {
    const a = act.get(n);
    if (!a) {
      missing.push([n, e]);
      continue;
    }
    if (a.flat !== e.flat || a.cum !== e.cum) {
      diffs.push(`value  ${n}: expected flat=${e.flat} cum=${e.cum}, got flat=${a.flat} cum=${a.cum}`);
    }
  }
  const extra = [...act].filter(([n]) => !exp.has(n));
  for (const [n, e] of missing) diffs.push(`missing ${n}: expected flat=${e.flat} cum=${e.cum}`);
  for (const [n, a] of extra) diffs.push(`extra  ${n}: flat=${a.flat} cum=${a.cum} (not expected)`);
  // A total on one side only is a difference, never a skipped check: a header that no
  // longer parses (pprof's "of 16.77s total" with a unit) must fail loudly.
  if ((expected.total === null) !== (actual.total === null)) {
    diffs.push(`total: known on one side only (expected ${expected.total}, got ${actual.total})`);
  } else if (expected.total !== null && expected.total * scale !== actual.total) {
    diffs.push(`total: expected ${expected.total * scale}, got ${actual.total}`);
  }
  if (exp.size > 0 && act.size === 0) diffs.unshift('actual answer has no rows at all');
  return diffs;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const pos = [];
  const opts = {};
  let label = '';
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--scale') opts.scale = BigInt(args[++i]);
    else if (args[i] === '--label') label = args[++i];
    else pos.push(args[i]);
  }
  if (pos.length !== 2) {
    console.error('usage: compare_top.mjs EXPECTED ACTUAL [--scale N] [--label TEXT]');
    process.exit(2);
  }
  let diffs;
  try {
    const e = parseTop(readFileSync(pos[0], 'utf8'), pos[0]);
    const a = parseTop(readFileSync(pos[1], 'utf8'), pos[1]);
    diffs = compareTop(e, a, opts);
    if (diffs.length === 0) {
      console.log(`${label || pos[0]}: ${e.rows.size} functions, total ${a.total} match`);
      process.exit(0);
    }
  } catch (err) {
    console.error(`${label || pos[0]}: ${err.message}`);
    process.exit(1);
  }
  console.error(`${label || pos[0]}: ${diffs.length} difference(s) vs ${pos[0]}:`);
  for (const d of diffs.slice(0, 40)) console.error(`  ${d}`);
  if (diffs.length > 40) console.error(`  ... and ${diffs.length - 40} more`);
  process.exit(1);
}
