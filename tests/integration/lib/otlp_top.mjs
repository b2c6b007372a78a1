// otlp_top.mjs — an independent reference for pprof -top over an OTLP request (.pb),
// written on the wire reader, not on otelprofd's C code. It exists because not every
// test file has a `go tool pprof` answer (the eBPF-shaped file has timestamps, no values,
// and unsymbolized locations); it is checked against the go tool pprof answers for the
// files that do have them (see test_ingest.sh), then used for the ones that do not.
//
// Semantics (DESIGN.md "Queries"): a frame is one line of a location (inlined functions
// are frames, line[0] the innermost); an unsymbolized location is one frame named by its
// address "0x…"; flat = value of samples whose leaf frame is the function, cum = value of
// samples whose stack holds the function at least once. Value: sum of values, or 1 per
// timestamp without values; a "samples:count" profile with period type "cpu:nanoseconds"
// also answers "cpu:nanoseconds" as count x period unless the resource has a native one.
//
// CLI: node otlp_top.mjs FILE.pb TYPE:UNIT [key=value ...]
//   prints "total N" then "<flat> <cum> <function>" rows (the daemon's /debug/top shape).
import { readFileSync } from 'node:fs';
import { asInt64, children, decodeString, fields, repeatedVarints, WT_LEN, WT_VARINT } from './pbwire.mjs';
import { inspect } from './otlp_inspect.mjs';

function dictionary(buf) {
  const d = { strings: [], functions: [], locations: [], stacks: [] };
  for (const dict of children(buf, 2)) {
    for (const f of fields(buf, dict.start, dict.end)) {
      if (f.wt !== WT_LEN) continue;
      if (f.field === 5) d.strings.push(decodeString(buf, f));
      else if (f.field === 3) {
        let name = 0;
        for (const g of fields(buf, f.start, f.end)) if (g.field === 1 && g.wt === WT_VARINT) name = Number(g.value);
        d.functions.push(name);
      } else if (f.field === 2) {
        const loc = { address: 0n, lines: [] };
        for (const g of fields(buf, f.start, f.end)) {
          if (g.field === 2 && g.wt === WT_VARINT) loc.address = g.value;
          else if (g.field === 3 && g.wt === WT_LEN) {
            let fn = 0;
            for (const h of fields(buf, g.start, g.end)) if (h.field === 1 && h.wt === WT_VARINT) fn = Number(h.value);
            loc.lines.push(fn);
          }
        }
        d.locations.push(loc);
      } else if (f.field === 7) {
        d.stacks.push(repeatedVarints(buf, 1, f.start, f.end).map((v) => Number(asInt64(v))));
      }
    }
  }
  return d;
}

function frameNames(d, locIndex) {
  const loc = d.locations[locIndex];
  if (!loc) throw new Error(`location ${locIndex} out of range`);
  if (loc.lines.length === 0) return [`0x${loc.address.toString(16)}`];
  return loc.lines.map((fn) => d.strings[d.functions[fn]] ?? '');
}

// Returns {total, rows: Map name -> {flat, cum}} (BigInt values).
export function referenceTop(buf, profileType, resourceMatch = {}) {
  const d = dictionary(buf);
  const summary = inspect(buf);
  const rows = new Map();
  let total = 0n;
  const matches = (res) => Object.entries(resourceMatch).every(([k, v]) => (res[k] ?? '') === v);
  const profs = [];
  let pidx = 0;
  for (const rp of children(buf, 1)) {
    const group = [];
    for (const sp of children(buf, 2, rp.start, rp.end)) {
      for (const prof of children(buf, 2, sp.start, sp.end)) group.push({ prof, info: summary.profiles[pidx++] });
    }
    const hasNative = group.some((g) => g.info.type === profileType);
    for (const g of group) {
      if (!matches(g.info.resource)) continue;
      if (g.info.type === profileType) profs.push({ prof: g.prof, mult: 1n });
      else if (
        !hasNative &&
        profileType === 'cpu:nanoseconds' &&
        g.info.type === 'samples:count' &&
        g.info.period_type === 'cpu:nanoseconds' &&
        BigInt(g.info.period ?? 0) > 0n
      ) {
        profs.push({ prof: g.prof, mult: BigInt(g.info.period) });
      }
    }
  }
  for (const { prof, mult } of profs) {
    for (const s of children(buf, 2, prof.start, prof.end)) {
      let stack = 0;
      let nts = 0;
      for (const f of fields(buf, s.start, s.end)) {
        if (f.field === 1 && f.wt === WT_VARINT) stack = Number(asInt64(f.value));
        if (f.field === 5) nts += f.wt === WT_LEN ? (f.end - f.start) / 8 : 1;
      }
      const vals = repeatedVarints(buf, 4, s.start, s.end).map(asInt64);
      // Values win over timestamps when both are set: the timestamps then only place them.
      const value = (vals.length ? vals.reduce((a, b) => a + b, 0n) : BigInt(nts)) * mult;
      if (value === 0n) continue;
      const locs = d.stacks[stack];
      if (!locs) throw new Error(`stack ${stack} out of range`);
      const names = locs.flatMap((l) => frameNames(d, l));
      total += value;
      const seen = new Set();
      names.forEach((n, i) => {
        let r = rows.get(n);
        if (!r) rows.set(n, (r = { flat: 0n, cum: 0n }));
        if (i === 0) r.flat += value;
        if (!seen.has(n)) {
          seen.add(n);
          r.cum += value;
        }
      });
    }
  }
  return { total, rows };
}

export function renderTop({ total, rows }) {
  const list = [...rows.entries()].sort((a, b) =>
    a[1].flat !== b[1].flat ? (a[1].flat > b[1].flat ? -1 : 1) : a[1].cum !== b[1].cum ? (a[1].cum > b[1].cum ? -1 : 1) : a[0] < b[0] ? -1 : 1,
  );
  return [`total ${total}`, ...list.map(([n, r]) => `${r.flat} ${r.cum} ${n}`)].join('\n') + '\n';
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [file, type, ...kvs] = process.argv.slice(2);
  if (!file || !type) {
    console.error('usage: otlp_top.mjs FILE.pb TYPE:UNIT [key=value ...]');
    process.exit(2);
  }
  const match = Object.fromEntries(kvs.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
  process.stdout.write(renderTop(referenceTop(readFileSync(file), type, match)));
}
