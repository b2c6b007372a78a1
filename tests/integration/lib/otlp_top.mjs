// otlp_top.mjs — an independent reference for pprof -top over an OTLP request, read from
// the bytes that were sent: protobuf (.pb, with the wire reader pbwire.mjs) or OTLP/JSON
// (.json, with a small JSON reader of its own that keeps 64-bit integers exact). Written
// without otelprofd's C code. It exists because not every test file has a `go tool pprof`
// answer per function: the eBPF-shaped file has timestamps, no values, and unsymbolized
// locations that answer by address. check_top.mjs checks it against the `go tool pprof`
// answers for the files that have them, value for value, so it cannot drift unnoticed.
//
// Semantics (DESIGN.md "Queries"): a frame is one line of a location (inlined functions
// are frames, line[0] the innermost); an unsymbolized location is one frame named by its
// address "0x…"; flat = value of samples whose leaf frame is the function, cum = value of
// samples whose stack holds the function at least once. Value: sum of values, or 1 per
// timestamp without values; a "samples:count" profile with period type "cpu:nanoseconds"
// also answers "cpu:nanoseconds" as count x period unless the resource has a native one.
//
// CLI: node otlp_top.mjs FILE.pb|FILE.json TYPE:UNIT [key=value ...]
//   prints "total N" then "<flat> <cum> <function>" rows (the daemon's /debug/top shape).
import { readFileSync } from 'node:fs';
import { asInt64, children, decodeString, fields, repeatedVarints, WT_LEN, WT_VARINT } from './pbwire.mjs';
import { inspect } from './otlp_inspect.mjs';

// ---- one model for both encodings ------------------------------------------------------
// {strings, functions: [name strindex], locations: [{address, fns: [function index]}],
//  stacks: [[location index]], resources: [{attrs: {k: v}, profiles: [{type, periodType,
//  period, samples: [{stack, values: [BigInt], nts}]}]}]}

function modelFromPb(buf) {
  const m = { strings: [], functions: [], locations: [], stacks: [], resources: [] };
  for (const dict of children(buf, 2)) {
    for (const f of fields(buf, dict.start, dict.end)) {
      if (f.wt !== WT_LEN) continue;
      if (f.field === 5) m.strings.push(decodeString(buf, f));
      else if (f.field === 3) {
        let name = 0;
        for (const g of fields(buf, f.start, f.end)) if (g.field === 1 && g.wt === WT_VARINT) name = Number(g.value);
        m.functions.push(name);
      } else if (f.field === 2) {
        const loc = { address: 0n, fns: [] };
        for (const g of fields(buf, f.start, f.end)) {
          if (g.field === 2 && g.wt === WT_VARINT) loc.address = g.value;
          else if (g.field === 3 && g.wt === WT_LEN) {
            let fn = 0;
            for (const h of fields(buf, g.start, g.end)) if (h.field === 1 && h.wt === WT_VARINT) fn = Number(h.value);
            loc.fns.push(fn);
          }
        }
        m.locations.push(loc);
      } else if (f.field === 7) {
        m.stacks.push(repeatedVarints(buf, 1, f.start, f.end).map((v) => Number(asInt64(v))));
      }
    }
  }
  const summary = inspect(buf); // resource attributes, type strings, period per profile
  let pidx = 0;
  for (const rp of children(buf, 1)) {
    const res = { attrs: {}, profiles: [] };
    for (const sp of children(buf, 2, rp.start, rp.end)) {
      for (const prof of children(buf, 2, sp.start, sp.end)) {
        const info = summary.profiles[pidx++];
        res.attrs = info.resource;
        const p = { type: info.type, periodType: info.period_type, period: BigInt(info.period ?? 0), samples: [] };
        for (const s of children(buf, 2, prof.start, prof.end)) {
          let stack = 0;
          let nts = 0;
          for (const f of fields(buf, s.start, s.end)) {
            if (f.field === 1 && f.wt === WT_VARINT) stack = Number(asInt64(f.value));
            if (f.field === 5) nts += f.wt === WT_LEN ? (f.end - f.start) / 8 : 1;
          }
          p.samples.push({ stack, values: repeatedVarints(buf, 4, s.start, s.end).map(asInt64), nts });
        }
        res.profiles.push(p);
      }
    }
    m.resources.push(res);
  }
  return m;
}

// JSON.parse turns 64-bit integers written as bare numbers into doubles; this reader keeps
// every integer literal as its decimal string (BigInt() takes both forms).
export function parseJsonExact(text) {
  let i = 0;
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i])) i++;
  };
  const err = (what) => new Error(`JSON: ${what} at offset ${i}`);
  const value = () => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const o = {};
      ws();
      if (text[i] === '}') return i++, o;
      for (;;) {
        ws();
        if (text[i] !== '"') throw err('expected a key');
        const k = str();
        ws();
        if (text[i++] !== ':') throw err('expected :');
        o[k] = value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === '}') return i++, o;
        else throw err('expected , or }');
      }
    }
    if (c === '[') {
      i++;
      const a = [];
      ws();
      if (text[i] === ']') return i++, a;
      for (;;) {
        a.push(value());
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === ']') return i++, a;
        else throw err('expected , or ]');
      }
    }
    if (c === '"') return str();
    const lit = /^(?:true|false|null|-?\d+(\.\d+)?([eE][+-]?\d+)?)/.exec(text.slice(i, i + 400));
    if (!lit) throw err('unexpected character');
    i += lit[0].length;
    if (lit[0] === 'true') return true;
    if (lit[0] === 'false') return false;
    if (lit[0] === 'null') return null;
    return lit[1] === undefined && lit[2] === undefined ? lit[0] : Number(lit[0]);
  };
  const str = () => {
    const start = i;
    i++;
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    if (i >= text.length) throw err('unterminated string');
    i++;
    return JSON.parse(text.slice(start, i));
  };
  const v = value();
  ws();
  if (i !== text.length) throw err('trailing data');
  return v;
}

// OTLP/JSON: lowerCamelCase keys, snake_case accepted; absent fields are their defaults.
function camel(o) {
  if (Array.isArray(o)) return o.map(camel);
  if (o === null || typeof o !== 'object') return o;
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k.replace(/_([a-z])/g, (_, c) => c.toUpperCase()), camel(v)]));
}

function modelFromJson(text) {
  const req = camel(parseJsonExact(text));
  const d = req.dictionary ?? {};
  const int = (v) => Number(v ?? 0);
  const m = {
    strings: d.stringTable ?? [],
    functions: (d.functionTable ?? []).map((f) => int(f.nameStrindex)),
    locations: (d.locationTable ?? []).map((l) => ({ address: BigInt(l.address ?? 0), fns: (l.lines ?? []).map((ln) => int(ln.functionIndex)) })),
    stacks: (d.stackTable ?? []).map((s) => (s.locationIndices ?? []).map(int)),
    resources: [],
  };
  const str = (i) => m.strings[int(i)] ?? `<bad strindex ${i}>`;
  const anyValue = (v = {}) => {
    if ('stringValue' in v) return v.stringValue;
    if ('stringValueStrindex' in v) return str(v.stringValueStrindex);
    if ('intValue' in v) return BigInt(v.intValue).toString();
    if ('boolValue' in v) return v.boolValue ? 'true' : 'false';
    return '';
  };
  const vtype = (t) => (t ? `${str(t.typeStrindex)}:${str(t.unitStrindex)}` : undefined);
  for (const rp of req.resourceProfiles ?? []) {
    const attrs = {};
    for (const kv of rp.resource?.attributes ?? []) attrs['key' in kv ? kv.key : str(kv.keyStrindex)] = anyValue(kv.value);
    const res = { attrs, profiles: [] };
    for (const sp of rp.scopeProfiles ?? []) {
      for (const p of sp.profiles ?? []) {
        res.profiles.push({
          type: vtype(p.sampleType) ?? ':',
          periodType: vtype(p.periodType),
          period: BigInt(p.period ?? 0),
          samples: (p.samples ?? []).map((s) => ({
            stack: int(s.stackIndex),
            values: (s.values ?? []).map((v) => BigInt(v)),
            nts: (s.timestampsUnixNano ?? []).length,
          })),
        });
      }
    }
    m.resources.push(res);
  }
  return m;
}

export function readModel(bytes) {
  const b = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes);
  let k = 0;
  while (k < b.length && ' \t\n\r'.includes(String.fromCharCode(b[k]))) k++;
  return b[k] === 0x7b /* { */ ? modelFromJson(b.toString('utf8')) : modelFromPb(b);
}

// Per profile, in file order: {resource, type, period_type, period, value_sum} (values
// summed, or 1 per timestamp where a sample has no values), from .pb or .json bytes.
export function profileTotals(bytes) {
  const m = readModel(bytes);
  return m.resources.flatMap((res) =>
    res.profiles.map((p) => ({
      resource: res.attrs,
      type: p.type,
      period_type: p.periodType,
      period: p.period.toString(),
      value_sum: p.samples.reduce((a, s) => a + (s.values.length ? s.values.reduce((x, y) => x + y, 0n) : BigInt(s.nts)), 0n).toString(),
    })),
  );
}

function frameNames(m, locIndex) {
  const loc = m.locations[locIndex];
  if (!loc) throw new Error(`location ${locIndex} out of range`);
  if (loc.fns.length === 0) return [`0x${loc.address.toString(16)}`];
  return loc.fns.map((fn) => m.strings[m.functions[fn]] ?? '');
}

// Returns {total, rows: Map name -> {flat, cum}} (BigInt values) for the resources whose
// attributes match `resourceMatch` (key -> exact value), from .pb or .json bytes.
export function referenceTop(bytes, profileType, resourceMatch = {}) {
  const m = readModel(bytes);
  const rows = new Map();
  let total = 0n;
  const matches = (attrs) => Object.entries(resourceMatch).every(([k, v]) => (attrs[k] ?? '') === v);
  const profs = [];
  for (const res of m.resources) {
    if (!matches(res.attrs)) continue;
    const hasNative = res.profiles.some((p) => p.type === profileType);
    for (const p of res.profiles) {
      if (p.type === profileType) profs.push({ p, mult: 1n });
      else if (!hasNative && profileType === 'cpu:nanoseconds' && p.type === 'samples:count' && p.periodType === 'cpu:nanoseconds' && p.period > 0n) {
        profs.push({ p, mult: p.period });
      }
    }
  }
  for (const { p, mult } of profs) {
    for (const s of p.samples) {
      // Values win over timestamps when both are set: the timestamps then only place them.
      const value = (s.values.length ? s.values.reduce((a, b) => a + b, 0n) : BigInt(s.nts)) * mult;
      if (value === 0n) continue;
      const locs = m.stacks[s.stack];
      if (!locs) throw new Error(`stack ${s.stack} out of range`);
      const names = locs.flatMap((l) => frameNames(m, l));
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
    console.error('usage: otlp_top.mjs FILE.pb|FILE.json TYPE:UNIT [key=value ...]');
    process.exit(2);
  }
  const match = Object.fromEntries(kvs.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
  process.stdout.write(renderTop(referenceTop(readFileSync(file), type, match)));
}
