// make_requests.mjs — hand-built OTLP requests for the hostile-input tests, written with
// the independent wire writer (pbwire.mjs), with times at "now".
//
// CLI: node make_requests.mjs OUTDIR   writes:
//   good.pb         one valid profile, service.name=bad-good (cpu 100 ns: main -> foo)
//   ctype.pb        the same as good.pb for service.name=bad-ctype (sent with a wrong type)
//   oor.pb          service.name=bad-oor: profiles[0] valid (cpu 100), profiles[1] has
//                   samples[1].stack_index 7 while stack_table has 2 entries
//   negative.pb     service.name=bad-neg: profiles[0] has samples[0].stack_index -1 (a
//                   10-byte varint), profiles[1] valid (cpu 100)
//   v19.pb          service.name=bad-v19: Samples numbered as opentelemetry-proto v1.9
//                   (values=2 packed); v19full.pb also attribute_indices=3, link_index=4
//   big.pb          a 2 MiB request (a 2 MiB string in the string table)
//   bomb.pb         a 3 MiB request of one long string: compresses to a few KiB
//   empty.pb        an empty request (0 bytes)
import { mkdirSync, writeFileSync } from 'node:fs';
import { Msg } from './pbwire.mjs';
import { nowNs } from './otlp_time.mjs';

const STRINGS = ['', 'cpu', 'nanoseconds', 'main', 'foo', 'service.name', 'main.go'];

function dictionary(extraStrings = []) {
  const d = new Msg();
  d.msg(1, new Msg()); // mapping_table[0]: the zero entry
  d.msg(2, new Msg()); // location_table[0]
  d.msg(2, new Msg().msg(3, new Msg().varint(1, 1).varint(2, 10))); // [1]: main
  d.msg(2, new Msg().msg(3, new Msg().varint(1, 2).varint(2, 20))); // [2]: foo
  d.msg(3, new Msg()); // function_table[0]
  d.msg(3, new Msg().varint(1, 3).varint(3, 6)); // [1] main
  d.msg(3, new Msg().varint(1, 4).varint(3, 6)); // [2] foo
  for (const s of [...STRINGS, ...extraStrings]) d.string(5, s);
  d.msg(7, new Msg()); // stack_table[0]
  d.msg(7, new Msg().packedVarints(1, [2, 1])); // [1]: foo <- main (leaf first)
  return d;
}

function sample(stack, value) {
  return new Msg().varint(1, stack).packedVarints(4, [value]);
}

function profile(samples, t) {
  const p = new Msg().msg(1, new Msg().varint(1, 1).varint(2, 2));
  for (const s of samples) p.msg(2, s);
  p.fixed64(3, t).varint(4, 1000000000);
  p.msg(5, new Msg().varint(1, 1).varint(2, 2)).varint(6, 10000000);
  return p;
}

function request(service, profiles, dict = dictionary()) {
  const scope = new Msg();
  for (const p of profiles) scope.msg(2, p);
  const resource = new Msg().msg(1, new Msg().string(1, 'service.name').msg(2, new Msg().string(1, service)));
  const rp = new Msg().msg(1, resource).msg(2, scope);
  return new Msg().msg(1, rp).msg(2, dict).toBuffer();
}

const out = process.argv[2];
if (!out) {
  console.error('usage: make_requests.mjs OUTDIR');
  process.exit(2);
}
mkdirSync(out, { recursive: true });
const t = nowNs() - 5n * 1000000000n;

writeFileSync(`${out}/good.pb`, request('bad-good', [profile([sample(1, 100)], t)]));
writeFileSync(`${out}/ctype.pb`, request('bad-ctype', [profile([sample(1, 100)], t)]));
writeFileSync(
  `${out}/oor.pb`,
  request('bad-oor', [profile([sample(1, 100)], t), profile([sample(1, 5), sample(7, 5)], t)]),
);
writeFileSync(
  `${out}/negative.pb`,
  request('bad-neg', [profile([sample(-1, 5)], t), profile([sample(1, 100)], t)]),
);
// v1.9: Sample{stack_index=1, values=2 (packed int64), attribute_indices=3 (packed),
// link_index=4}. The plain one decodes "successfully" under v1.10 (values read as
// attribute_indices); the full one also has field 3 as a length-delimited list.
const v19plain = new Msg().varint(1, 1).packedVarints(2, [10000000]);
writeFileSync(`${out}/v19.pb`, request('bad-v19', [profile([v19plain, v19plain], t)]));
const v19full = new Msg().varint(1, 1).packedVarints(2, [10000000, 20000000]).packedVarints(3, [0]).varint(4, 0);
writeFileSync(`${out}/v19full.pb`, request('bad-v19', [profile([v19full], t)]));
writeFileSync(`${out}/big.pb`, request('bad-big', [profile([sample(1, 1)], t)], dictionary(['x'.repeat(2 << 20)])));
writeFileSync(`${out}/bomb.pb`, request('bad-bomb', [profile([sample(1, 1)], t)], dictionary(['z'.repeat(3 << 20)])));
writeFileSync(`${out}/empty.pb`, Buffer.alloc(0));
