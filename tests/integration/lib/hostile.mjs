// hostile.mjs — the hostile-input corpus of test_hostile.sh, built by hand with the
// independent wire writer (pbwire.mjs), times at "now".
//
// CLI: node hostile.mjs OUTDIR [--tiny N] [--only SECTION]   writes (every service.name is distinct):
//   deep.pb          hostile-deep: one sample of cpu 100 ns on a 10,000-frame stack of
//                    distinct functions d0 (leaf) .. d9999 (root)
//   deep_over.pb     hostile-deep-over: profiles[0] a 20,000-frame stack (over the cap),
//                    profiles[1] the 10,000-frame stack with cpu 7 ns
//   strings.pb       hostile-strings: 1,000,000 extra strings, one sample main->foo 100
//   longstr.pb       hostile-longstr: three 20 MiB strings (60 MiB, under 64 MiB), 100
//   cyc_<case>.pb    hostile-cyc-<case>: profiles[0] breaks one index rule (see CASES),
//                    profiles[1] is valid (main->foo 100); cyc_cases.txt lists
//                    "<case> <field the error must name>"; cyc_selfloop.pb is a valid
//                    stack naming one location 1000 times
//   tiny.pb          hostile-tiny: N (default 4,000,000) samples of cpu 1 ns each
//   attrs100k.pb     hostile-attrs: 100,000 resource attributes besides service.name
//   hugeattr.pb      hostile-hugeattr: a resource attribute with a 1 MiB key and an
//                    8 MiB value, and one sample attribute with a 4 MiB value
//   nested.pb        hostile-nested: a resource attribute whose AnyValue nests 100,000
//                    arrays deep (about 600 KB)
//   nested.json      the same nesting as OTLP/JSON ([[[...]]] 100,000 deep)
//   over.pb          64 MiB + 1 byte: a request of one long string
//   bomb.pb.gz       gzip of a request of one 1 GiB string of zeros (inflates to 1 GiB)
import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import { createGzip, constants as zc } from 'node:zlib';
import { Msg } from './pbwire.mjs';
import { nowNs } from './otlp_time.mjs';

const out = process.argv[2];
if (!out) {
  console.error('usage: hostile.mjs OUTDIR [--tiny N]');
  process.exit(2);
}
const ti = process.argv.indexOf('--tiny');
const TINY = ti > 0 ? Number(process.argv[ti + 1]) : 4000000;
const oi = process.argv.indexOf('--only');
const ONLY = oi > 0 ? process.argv[oi + 1] : null; // one section: deep strings cyc tiny attrs over bomb
const want = (section) => !ONLY || ONLY === section;
mkdirSync(out, { recursive: true });
const T = nowNs() - 5n * 1000000000n;

function varintBytes(v) {
  let n = BigInt.asUintN(64, BigInt(v));
  const b = [];
  do {
    let x = Number(n & 0x7fn);
    n >>= 7n;
    if (n !== 0n) x |= 0x80;
    b.push(x);
  } while (n !== 0n);
  return Buffer.from(b);
}

// The base dictionary: strings 0..6, main (loc 1, fn 1), foo (loc 2, fn 2), stack 1 =
// foo <- main. `extra` adds entries after them (its fields are appended as given).
const BASE_STRINGS = ['', 'cpu', 'nanoseconds', 'main', 'foo', 'service.name', 'main.go'];
function dictionary({ strings = [], maps = [], locs = [], fns = [], links = [], attrs = [], stacks = [] } = {}) {
  const d = new Msg();
  d.msg(1, new Msg()); // mapping_table[0]
  for (const m of maps) d.msg(1, m);
  d.msg(2, new Msg()); // location_table[0]
  d.msg(2, new Msg().msg(3, new Msg().varint(1, 1).varint(2, 10))); // [1] main
  d.msg(2, new Msg().msg(3, new Msg().varint(1, 2).varint(2, 20))); // [2] foo
  for (const l of locs) d.msg(2, l);
  d.msg(3, new Msg()); // function_table[0]
  d.msg(3, new Msg().varint(1, 3).varint(3, 6)); // [1] main
  d.msg(3, new Msg().varint(1, 4).varint(3, 6)); // [2] foo
  for (const f of fns) d.msg(3, f);
  d.msg(4, new Msg()); // link_table[0]
  for (const l of links) d.msg(4, l);
  for (const s of [...BASE_STRINGS, ...strings]) d.string(5, s);
  d.msg(6, new Msg()); // attribute_table[0]
  for (const a of attrs) d.msg(6, a);
  d.msg(7, new Msg()); // stack_table[0]
  d.msg(7, new Msg().packedVarints(1, [2, 1])); // [1] foo <- main
  for (const s of stacks) d.msg(7, s);
  return d;
}

function sample(stack, value, more = (m) => m) {
  return more(new Msg().varint(1, stack)).packedVarints(4, [value]);
}

function profile(samples, more = (p) => p) {
  const p = new Msg().msg(1, new Msg().varint(1, 1).varint(2, 2));
  for (const s of samples) p.msg(2, s);
  p.fixed64(3, T).varint(4, 1000000000);
  p.msg(5, new Msg().varint(1, 1).varint(2, 2)).varint(6, 10000000);
  return more(p);
}

function kv(key, anyValue) {
  return new Msg().string(1, key).msg(2, anyValue);
}
const str = (s) => new Msg().string(1, s);

function request(service, profiles, dict = dictionary(), resourceAttrs = []) {
  const scope = new Msg();
  for (const p of profiles) scope.msg(2, p);
  const resource = new Msg().msg(1, kv('service.name', str(service)));
  for (const a of resourceAttrs) resource.raw(a);
  const rp = new Msg().msg(1, resource).msg(2, scope);
  return new Msg().msg(1, rp).msg(2, dict).toBuffer();
}

const w = (name, buf) => writeFileSync(`${out}/${name}`, buf);
const good = () => profile([sample(1, 100)]);

// ---- 1. deep stacks ---------------------------------------------------------------------
if (want('deep')) {
  const N = 20000;
  const strings = [];
  const locs = [];
  const fns = [];
  for (let i = 0; i < N; i++) {
    strings.push(`d${i}`);
    // location 3+i -> function 3+i -> string 7+i
    locs.push(new Msg().msg(3, new Msg().varint(1, 3 + i).varint(2, i + 1)));
    fns.push(new Msg().varint(1, 7 + i).varint(3, 6));
  }
  const idx = (n) => Array.from({ length: n }, (_, i) => 3 + i); // leaf first: d0 .. d(n-1)
  const dict = dictionary({ strings, locs, fns, stacks: [new Msg().packedVarints(1, idx(10000)), new Msg().packedVarints(1, idx(N))] });
  w('deep.pb', request('hostile-deep', [profile([sample(2, 100)])], dict));
  w('deep_over.pb', request('hostile-deep-over', [profile([sample(3, 5)]), profile([sample(2, 7)])], dict));
}

// ---- 2. huge string tables -----------------------------------------------------------------
if (want('strings')) {
  const strings = Array.from({ length: 1000000 }, (_, i) => `s${i}`);
  w('strings.pb', request('hostile-strings', [good()], dictionary({ strings })));
  const big = 'L'.repeat(20 << 20);
  w('longstr.pb', request('hostile-longstr', [good()], dictionary({ strings: [big, big, big] })));
}

// ---- 3. out-of-range and self-referencing indices ------------------------------------------
// Dictionary extras: strings 7 'k'; mapping[1] filename_strindex 999; location[3] ->
// stack location 99; location[3] mapping_index 5; location[4] line function_index 77;
// location[5] attribute_indices [40]; location[6] mapping_index 6 (itself, out of range);
// function[3] name_strindex 5000; attribute[1] key_strindex 8888; link[1] 4-byte trace id;
// stacks: [2] location 99, [3] location 3, [4] location 4, [5] location 5, [6] location 6,
// [7] location 7 (-> mapping 1), [8] function 3 (location 8), [9] the same location 1000x.
export const CASES = {
  stack_loc: { stack: 2, field: 'location_indices' },
  loc_map: { stack: 3, field: 'mapping_index' },
  loc_fn: { stack: 4, field: 'function_index' },
  loc_attr: { stack: 5, field: 'attribute_indices' },
  loc_self: { stack: 6, field: 'mapping_index' },
  map_file: { stack: 7, field: 'filename_strindex' },
  fn_name: { stack: 8, field: 'name_strindex' },
  sample_attr: { stack: 1, more: (m) => m.packedVarints(2, [40]), field: 'attribute_indices' },
  attr_key: { stack: 1, more: (m) => m.packedVarints(2, [1]), field: 'key_strindex' },
  link_oor: { stack: 1, more: (m) => m.varint(3, 9), field: 'link_index' },
  link_bad: { stack: 1, more: (m) => m.varint(3, 1), field: 'trace_id' },
  profile_attr: { stack: 1, pmore: (p) => p.packedVarints(11, [123]), field: 'attribute_indices' },
  stack_neg: { stack: -5, field: 'stack_index' },
};
if (want('cyc')) {
  const line = (fn) => new Msg().msg(3, new Msg().varint(1, fn).varint(2, 1));
  const dict = dictionary({
    strings: ['k'],
    maps: [new Msg().varint(1, 0x1000).varint(2, 0x2000).varint(4, 999)],
    locs: [
      new Msg().varint(1, 5).msg(3, new Msg().varint(1, 1)), // [3]
      line(77), // [4]
      line(1).packedVarints(4, [40]), // [5]
      new Msg().varint(1, 6).varint(2, 0x1234), // [6]
      new Msg().varint(1, 1).varint(2, 0x1100), // [7]
      line(3), // [8]
    ],
    fns: [new Msg().varint(1, 5000)],
    links: [new Msg().bytes(1, Buffer.alloc(4, 1)).bytes(2, Buffer.alloc(8, 2))],
    attrs: [new Msg().varint(1, 8888).msg(2, str('x'))],
    stacks: [99, 3, 4, 5, 6, 7, 8].map((l) => new Msg().packedVarints(1, [l])),
  });
  for (const [name, c] of Object.entries(CASES)) {
    const bad = profile([sample(c.stack, 5, c.more)], c.pmore);
    w(`cyc_${name}.pb`, request(`hostile-cyc-${name}`, [bad, good()], dict));
  }
  w('cyc_cases.txt', Object.entries(CASES).map(([n, c]) => `${n} ${c.field}\n`).join(''));
  // a stack that names the same location 1000 times (self-recursion) is valid
  const dict2 = dictionary({ stacks: [new Msg().packedVarints(1, Array(1000).fill(1))] });
  w('cyc_selfloop.pb', request('hostile-cyc-selfloop', [profile([sample(2, 100)])], dict2));
}

// ---- 4. millions of tiny samples -------------------------------------------------------------
if (want('tiny')) {
  const one = sample(1, 1).toBuffer(); // 08 01 22 01 01
  const rec = Buffer.concat([Buffer.from([0x12]), varintBytes(one.length), one]);
  const samples = Buffer.alloc(rec.length * TINY);
  for (let i = 0; i < TINY; i++) rec.copy(samples, i * rec.length);
  const head = new Msg().msg(1, new Msg().varint(1, 1).varint(2, 2)).toBuffer();
  const tail = new Msg().fixed64(3, T).varint(4, 1000000000).msg(5, new Msg().varint(1, 1).varint(2, 2)).varint(6, 10000000).toBuffer();
  const p = Buffer.concat([head, samples, tail]);
  const scope = Buffer.concat([Buffer.from([0x12]), varintBytes(p.length), p]);
  const resource = new Msg().msg(1, kv('service.name', str('hostile-tiny'))).toBuffer();
  const rp = Buffer.concat([new Msg().bytes(1, resource).toBuffer(), Buffer.from([0x12]), varintBytes(scope.length), scope]);
  const req = Buffer.concat([Buffer.from([0x0a]), varintBytes(rp.length), rp, new Msg().msg(2, dictionary()).toBuffer()]);
  w('tiny.pb', req);
}

// ---- 5. oversized attributes -----------------------------------------------------------------
if (want('attrs')) {
  const attrs = [];
  for (let i = 0; i < 100000; i++) attrs.push(new Msg().msg(1, kv(`k${i}`, str('v'))).toBuffer());
  w('attrs100k.pb', request('hostile-attrs', [good()], dictionary(), attrs));

  const huge = [new Msg().msg(1, kv('K'.repeat(1 << 20), str('V'.repeat(8 << 20)))).toBuffer()];
  const dict = dictionary({ attrs: [new Msg().varint(1, 7).msg(2, str('W'.repeat(4 << 20)))], strings: ['thread.name'] });
  w('hugeattr.pb', request('hostile-hugeattr', [profile([sample(1, 100, (m) => m.packedVarints(2, [1]))])], dict, huge));

  // AnyValue{array_value(5): ArrayValue{values(1): AnyValue{...}}} 100,000 deep, innermost
  // AnyValue{string_value "x"}. Lengths are computed inside out, bytes written outside in.
  const DEPTH = 100000;
  const inner = str('x').toBuffer();
  const lens = new Array(DEPTH); // lens[i]: length of the AnyValue at depth i
  let l = inner.length;
  for (let i = DEPTH - 1; i >= 0; i--) {
    const arr = 1 + varintBytes(l).length + l; // ArrayValue: tag 0x0a + len + AnyValue
    l = 1 + varintBytes(arr).length + arr; // AnyValue: tag 0x2a + len + ArrayValue
    lens[i] = l;
  }
  const parts = [];
  for (let i = 0; i < DEPTH; i++) {
    const child = i + 1 < DEPTH ? lens[i + 1] : inner.length;
    const arr = 1 + varintBytes(child).length + child;
    parts.push(Buffer.from([0x2a]), varintBytes(arr), Buffer.from([0x0a]), varintBytes(child));
  }
  parts.push(inner);
  const nestedAny = Buffer.concat(parts);
  const kvb = Buffer.concat([new Msg().string(1, 'nested').toBuffer(), Buffer.from([0x12]), varintBytes(nestedAny.length), nestedAny]);
  const attr = Buffer.concat([Buffer.from([0x0a]), varintBytes(kvb.length), kvb]);
  w('nested.pb', request('hostile-nested', [good()], dictionary(), [attr]));
  w(
    'nested.json',
    `{"resourceProfiles":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"hostile-nested-json"}},` +
      `{"key":"nested","value":${'{"arrayValue":{"values":['.repeat(DEPTH)}{"stringValue":"x"}${']}}'.repeat(DEPTH)}}]}}]}`,
  );
}

// ---- 6. 64 MiB + 1 ---------------------------------------------------------------------------
if (want('over')) {
  const total = (64 << 20) + 1;
  // dictionary(2){string_table(5) S} with the lengths chosen so the request is total bytes
  let s = total - 12;
  for (;;) {
    const strField = 1 + varintBytes(s).length + s;
    const size = 1 + varintBytes(strField).length + strField;
    if (size === total) break;
    s += total - size;
  }
  const strHead = Buffer.concat([Buffer.from([0x2a]), varintBytes(s)]);
  const dictLen = strHead.length + s;
  const buf = Buffer.alloc(total, 0x4f);
  const head = Buffer.concat([Buffer.from([0x12]), varintBytes(dictLen), strHead]);
  head.copy(buf, 0);
  w('over.pb', buf);
}

// ---- 7. compression bomb: 1 GiB of zeros in one string -----------------------------------------
if (want('bomb')) await new Promise((resolve, reject) => {
  const S = 1 << 30;
  const strHead = Buffer.concat([Buffer.from([0x2a]), varintBytes(S)]);
  const head = Buffer.concat([Buffer.from([0x12]), varintBytes(strHead.length + S), strHead]);
  const gz = createGzip({ level: 9, strategy: zc.Z_DEFAULT_STRATEGY, chunkSize: 1 << 20 });
  const f = createWriteStream(`${out}/bomb.pb.gz`);
  gz.pipe(f);
  f.on('finish', resolve);
  f.on('error', reject);
  const zero = Buffer.alloc(4 << 20);
  let left = S / zero.length;
  gz.write(head);
  const pump = () => {
    while (left > 0) {
      left--;
      if (!gz.write(zero)) return gz.once('drain', pump);
    }
    gz.end();
  };
  pump();
});
