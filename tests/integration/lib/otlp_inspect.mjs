// otlp_inspect.mjs — summarise an OTLP ExportProfilesServiceRequest (.pb) with the
// independent wire reader: per profile its resource attributes, "type:unit", period
// type, sample count, observations and time range. The tests use it to learn the
// actual profile-type strings of a file instead of hard-coding them.
//
// CLI: node otlp_inspect.mjs FILE.pb   -> JSON on stdout
import { readFileSync } from 'node:fs';
import { asInt64, children, decodeString, fields, repeatedVarints, WT_I64, WT_LEN, WT_VARINT } from './pbwire.mjs';

function anyValue(buf, f, strings) {
  for (const v of fields(buf, f.start, f.end)) {
    if (v.field === 1 && v.wt === WT_LEN) return decodeString(buf, v);
    if (v.field === 8 && v.wt === WT_VARINT) return strings[Number(v.value)] ?? `<bad strindex ${v.value}>`;
    if (v.field === 3 && v.wt === WT_VARINT) return asInt64(v.value).toString();
    if (v.field === 2 && v.wt === WT_VARINT) return v.value ? 'true' : 'false';
  }
  return '';
}

function keyValue(buf, kv, strings) {
  let key = '';
  let value = '';
  for (const f of fields(buf, kv.start, kv.end)) {
    if (f.field === 1 && f.wt === WT_LEN) key = decodeString(buf, f);
    else if (f.field === 3 && f.wt === WT_VARINT) key = strings[Number(f.value)] ?? '';
    else if (f.field === 2 && f.wt === WT_LEN) value = anyValue(buf, f, strings);
  }
  return [key, value];
}

function valueType(buf, f, strings) {
  let t = 0;
  let u = 0;
  for (const g of fields(buf, f.start, f.end)) {
    if (g.field === 1 && g.wt === WT_VARINT) t = Number(g.value);
    if (g.field === 2 && g.wt === WT_VARINT) u = Number(g.value);
  }
  return `${strings[t] ?? '?'}:${strings[u] ?? '?'}`;
}

export function inspect(buf) {
  const strings = [];
  let nLocations = 0;
  let nUnsymbolized = 0;
  for (const d of children(buf, 2)) {
    for (const s of children(buf, 5, d.start, d.end)) strings.push(decodeString(buf, s));
    for (const loc of children(buf, 2, d.start, d.end)) {
      nLocations++;
      let hasLine = false;
      for (const f of fields(buf, loc.start, loc.end)) if (f.field === 3) hasLine = true;
      if (!hasLine) nUnsymbolized++;
    }
  }
  const profiles = [];
  let ri = 0;
  for (const rp of children(buf, 1)) {
    const resource = {};
    for (const r of children(buf, 1, rp.start, rp.end)) {
      for (const kv of children(buf, 1, r.start, r.end)) {
        const [k, v] = keyValue(buf, kv, strings);
        resource[k] = v;
      }
    }
    let si = 0;
    for (const sp of children(buf, 2, rp.start, rp.end)) {
      let pi = 0;
      for (const prof of children(buf, 2, sp.start, sp.end)) {
        const p = { path: `resource_profiles[${ri}].scope_profiles[${si}].profiles[${pi}]`, resource };
        let samples = 0;
        let observations = 0n;
        let valueSum = 0n;
        let tmin = null;
        let tmax = null;
        const seeT = (t) => {
          if (tmin === null || t < tmin) tmin = t;
          if (tmax === null || t > tmax) tmax = t;
        };
        for (const f of fields(buf, prof.start, prof.end)) {
          if (f.field === 1 && f.wt === WT_LEN) p.type = valueType(buf, f, strings);
          else if (f.field === 5 && f.wt === WT_LEN) p.period_type = valueType(buf, f, strings);
          else if (f.field === 6 && f.wt === WT_VARINT) p.period = asInt64(f.value).toString();
          else if (f.field === 3 && f.wt === WT_I64) {
            p.time_unix_nano = buf.readBigUInt64LE(f.start).toString();
          } else if (f.field === 2 && f.wt === WT_LEN) {
            samples++;
            const vals = repeatedVarints(buf, 4, f.start, f.end);
            let nts = 0;
            for (const sf of fields(buf, f.start, f.end)) {
              if (sf.field !== 5) continue;
              if (sf.wt === WT_I64) {
                nts++;
                seeT(buf.readBigUInt64LE(sf.start));
              } else if (sf.wt === WT_LEN) {
                for (let q = sf.start; q + 8 <= sf.end; q += 8) {
                  nts++;
                  seeT(buf.readBigUInt64LE(q));
                }
              }
            }
            observations += BigInt(nts > 0 ? nts : 1);
            if (vals.length > 0) for (const v of vals) valueSum += asInt64(v);
            else valueSum += BigInt(nts);
          }
        }
        p.samples = samples;
        p.observations = observations.toString();
        p.value_sum = valueSum.toString();
        if (tmin !== null) p.timestamps = [tmin.toString(), tmax.toString()];
        profiles.push(p);
        pi++;
      }
      si++;
    }
    ri++;
  }
  return { strings: strings.length, locations: nLocations, unsymbolized_locations: nUnsymbolized, profiles };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  if (process.argv.length !== 3) {
    console.error('usage: otlp_inspect.mjs FILE.pb');
    process.exit(2);
  }
  console.log(JSON.stringify(inspect(readFileSync(process.argv[2])), null, 1));
}
