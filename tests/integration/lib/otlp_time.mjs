// otlp_time.mjs — move every time in an OTLP ExportProfilesServiceRequest to "now".
//
// The test data's times lie in [T0, T0 + 1 h) with T0 = 1700000000000000000 ns; a receiver
// with the default 1 h retention would call them too old. Each time becomes
//   new = old - T0 + (now - 20 min)
// so the data sits inside the retention. A time of 0 means "unset" and stays 0.
//
// .pb: walks request.resource_profiles(1).scope_profiles(2).profiles(2) and rewrites
// Profile.time_unix_nano (3, fixed64) and Sample.timestamps_unix_nano (samples(2) field 5,
// packed fixed64, unpacked accepted) in place. .json: the decimal strings (or bare
// numbers) of timeUnixNano / timestampsUnixNano (snake_case too).
//
// CLI: node otlp_time.mjs IN OUT [--now-ns N] [--base-offset-ns N]
//   --base-offset-ns: where T0 lands relative to now (default -1200000000000, i.e. -20 min).
import { readFileSync, writeFileSync } from 'node:fs';
import { children, fields, WT_I64, WT_LEN } from './pbwire.mjs';

export const T0 = 1700000000000000000n;
export const DEFAULT_OFFSET_NS = -20n * 60n * 1000000000n;

export function nowNs() {
  return BigInt(Date.now()) * 1000000n;
}

function shiftValue(old, delta) {
  return old === 0n ? 0n : BigInt.asUintN(64, old + delta);
}

function rewriteFixed64(buf, pos, delta) {
  const old = buf.readBigUInt64LE(pos);
  buf.writeBigUInt64LE(shiftValue(old, delta), pos);
}

// Rewrites `buf` (a Buffer) in place; returns how many times were changed.
export function shiftPb(buf, delta) {
  let n = 0;
  for (const rp of children(buf, 1)) {
    for (const sp of children(buf, 2, rp.start, rp.end)) {
      for (const prof of children(buf, 2, sp.start, sp.end)) {
        for (const f of fields(buf, prof.start, prof.end)) {
          if (f.field === 3 && f.wt === WT_I64) {
            rewriteFixed64(buf, f.start, delta);
            n++;
          } else if (f.field === 2 && f.wt === WT_LEN) {
            for (const sf of fields(buf, f.start, f.end)) {
              if (sf.field !== 5) continue;
              if (sf.wt === WT_I64) {
                rewriteFixed64(buf, sf.start, delta);
                n++;
              } else if (sf.wt === WT_LEN) {
                if ((sf.end - sf.start) % 8 !== 0) {
                  throw new Error(`packed timestamps of odd length at ${sf.start}`);
                }
                for (let p = sf.start; p < sf.end; p += 8) {
                  rewriteFixed64(buf, p, delta);
                  n++;
                }
              }
            }
          }
        }
      }
    }
  }
  return n;
}

const JSON_TIME_RE =
  /("(?:timeUnixNano|time_unix_nano)"\s*:\s*)("?)(\d+)\2|("(?:timestampsUnixNano|timestamps_unix_nano)"\s*:\s*)\[([^\]]*)\]/g;

export function shiftJson(text, delta) {
  let n = 0;
  const out = text.replace(JSON_TIME_RE, (m, k1, q, num, k2, list) => {
    if (k1 !== undefined) {
      n++;
      return `${k1}${q}${shiftValue(BigInt(num), delta)}${q}`;
    }
    const items = list.replace(/("?)(\d+)\1/g, (mm, qq, d) => {
      n++;
      return `${qq}${shiftValue(BigInt(d), delta)}${qq}`;
    });
    return `${k2}[${items}]`;
  });
  return [out, n];
}

export function isJson(buf) {
  for (const b of buf) {
    if (b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09) continue;
    return b === 0x7b; // '{'
  }
  return false;
}

// Returns a shifted copy of `buf` (Buffer) in the same encoding.
export function shiftToNow(buf, opts = {}) {
  const now = opts.nowNs ?? nowNs();
  const offset = opts.offsetNs ?? DEFAULT_OFFSET_NS;
  const delta = now + offset - T0;
  if (isJson(buf)) {
    const [text] = shiftJson(buf.toString('utf8'), delta);
    return Buffer.from(text, 'utf8');
  }
  const copy = Buffer.from(buf);
  shiftPb(copy, delta);
  return copy;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const pos = [];
  const opts = {};
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--now-ns') opts.nowNs = BigInt(args[++i]);
    else if (args[i] === '--base-offset-ns') opts.offsetNs = BigInt(args[++i]);
    else pos.push(args[i]);
  }
  if (pos.length !== 2) {
    console.error('usage: otlp_time.mjs IN OUT [--now-ns N] [--base-offset-ns N]');
    process.exit(2);
  }
  writeFileSync(pos[1], shiftToNow(readFileSync(pos[0]), opts));
}
