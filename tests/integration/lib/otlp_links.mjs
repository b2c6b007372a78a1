// otlp_links.mjs — an independent reading of an OTLP profiles request (protobuf, with the
// wire reader pbwire.mjs; no otelprofd code) for the checks of trace/span links and frame
// kinds: per sample its stack of frames (function key and the location's
// `profile.frame.type`), its link (trace_id / span_id in hex) and its value.
//
// Semantics as DESIGN.md "Queries": a frame is one line of a location (line[0] the
// innermost), an unsymbolized location is one frame named "0x<address>"; a sample's value is
// the sum of its values or 1 per timestamp, and a "samples:count" profile with period type
// "cpu:nanoseconds" answers "cpu:nanoseconds" as count x period.
import { asInt64, children, decodeString, fields, repeatedVarints, WT_LEN, WT_VARINT } from './pbwire.mjs';
import { inspect } from './otlp_inspect.mjs';

const hex = (buf, f) => buf.subarray(f.start, f.end).toString('hex');

// {samples: [{resource: {k: v}, type, value (BigInt, in `type`), frames: [{fn, kind}] leaf
// first, trace, span}]} for profile type `ptype`.
export function readLinked(buf, ptype) {
  const strings = [];
  const dict = { functions: [], locations: [], links: [], attrs: [], stacks: [] };
  for (const d of children(buf, 2)) {
    for (const f of fields(buf, d.start, d.end)) if (f.field === 5 && f.wt === WT_LEN) strings.push(decodeString(buf, f));
  }
  const anyValue = (v) => {
    for (const g of fields(buf, v.start, v.end)) {
      if (g.field === 1 && g.wt === WT_LEN) return decodeString(buf, g);
      if (g.field === 8 && g.wt === WT_VARINT) return strings[Number(g.value)] ?? '';
    }
    return '';
  };
  for (const d of children(buf, 2)) {
    for (const f of fields(buf, d.start, d.end)) {
      if (f.wt !== WT_LEN) continue;
      if (f.field === 3) {
        let name = 0;
        for (const g of fields(buf, f.start, f.end)) if (g.field === 1 && g.wt === WT_VARINT) name = Number(g.value);
        dict.functions.push(strings[name] ?? '');
      } else if (f.field === 2) {
        const loc = { address: 0n, fns: [], attrs: repeatedVarints(buf, 4, f.start, f.end).map((x) => Number(x)) };
        for (const g of fields(buf, f.start, f.end)) {
          if (g.field === 2 && g.wt === WT_VARINT) loc.address = g.value;
          else if (g.field === 3 && g.wt === WT_LEN) {
            let fn = 0;
            for (const h of fields(buf, g.start, g.end)) if (h.field === 1 && h.wt === WT_VARINT) fn = Number(h.value);
            loc.fns.push(fn);
          }
        }
        dict.locations.push(loc);
      } else if (f.field === 4) {
        const l = { trace: '', span: '' };
        for (const g of fields(buf, f.start, f.end)) {
          if (g.field === 1 && g.wt === WT_LEN) l.trace = hex(buf, g);
          if (g.field === 2 && g.wt === WT_LEN) l.span = hex(buf, g);
        }
        dict.links.push(l);
      } else if (f.field === 6) {
        let key = '';
        let value = '';
        for (const g of fields(buf, f.start, f.end)) {
          if (g.field === 1 && g.wt === WT_VARINT) key = strings[Number(g.value)] ?? '';
          if (g.field === 2 && g.wt === WT_LEN) value = anyValue(g);
        }
        dict.attrs.push({ key, value });
      } else if (f.field === 7) {
        dict.stacks.push(repeatedVarints(buf, 1, f.start, f.end).map((v) => Number(asInt64(v))));
      }
    }
  }
  const frameKind = (loc) => {
    for (const a of loc.attrs) if (dict.attrs[a]?.key === 'profile.frame.type') return dict.attrs[a].value;
    return '';
  };
  const framesOf = (si) => {
    const out = [];
    for (const li of dict.stacks[si] ?? []) {
      const loc = dict.locations[li];
      const kind = frameKind(loc);
      if (!loc.fns.length) out.push({ fn: `0x${loc.address.toString(16)}`, kind });
      else for (const fi of loc.fns) out.push({ fn: dict.functions[fi], kind });
    }
    return out;
  };
  const summary = inspect(buf);
  const samples = [];
  let pidx = 0;
  for (const rp of children(buf, 1)) {
    for (const sp of children(buf, 2, rp.start, rp.end)) {
      for (const prof of children(buf, 2, sp.start, sp.end)) {
        const info = summary.profiles[pidx++];
        const derived = info.type === 'samples:count' && info.period_type === 'cpu:nanoseconds' && ptype === 'cpu:nanoseconds';
        if (info.type !== ptype && !derived) continue;
        const mult = derived ? BigInt(info.period ?? 0) : 1n;
        for (const s of children(buf, 2, prof.start, prof.end)) {
          let stack = 0;
          let link = 0;
          let nts = 0;
          for (const f of fields(buf, s.start, s.end)) {
            if (f.field === 1 && f.wt === WT_VARINT) stack = Number(asInt64(f.value));
            if (f.field === 3 && f.wt === WT_VARINT) link = Number(f.value);
            if (f.field === 5) nts += f.wt === WT_LEN ? (f.end - f.start) / 8 : 1;
          }
          const values = repeatedVarints(buf, 4, s.start, s.end).map(asInt64);
          // one observation per value (values and timestamps pair up), or 1 per timestamp
          const v = values.length ? values.reduce((a, b) => a + b, 0n) : BigInt(nts);
          const l = link ? dict.links[link] : null;
          samples.push({ resource: info.resource, type: ptype, value: v * mult, frames: framesOf(stack), trace: l?.trace ?? '', span: l?.span ?? '' });
        }
      }
    }
  }
  return { samples };
}

// pprof -top over `samples`, keeping only frames `keep(frame)` says (pprof -show/-hide:
// a dropped frame's value goes to the nearest kept frame above it). {total, rows: Map fn ->
// {flat, cum}}.
export function topOf(samples, keep = () => true) {
  const rows = new Map();
  let total = 0n;
  const row = (fn) => {
    let r = rows.get(fn);
    if (!r) rows.set(fn, (r = { flat: 0n, cum: 0n }));
    return r;
  };
  for (const s of samples) {
    total += s.value;
    const kept = s.frames.filter(keep);
    if (kept.length) row(kept[0].fn).flat += s.value;
    for (const fn of new Set(kept.map((f) => f.fn))) row(fn).cum += s.value;
  }
  return { total, rows };
}

// Totals per link id ("trace" or "span"), linked samples only.
export function totalsBy(samples, key) {
  const m = new Map();
  for (const s of samples) if (s[key]) m.set(s[key], (m.get(s[key]) ?? 0n) + s.value);
  return m;
}
