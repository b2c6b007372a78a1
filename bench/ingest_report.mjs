// bench/ingest_report.mjs — turns the raw output of bench/ingest.sh into
// bench/results/ingest.json and the tables it prints. See bench/README.md.
//
// CLI: node ingest_report.mjs WORKDIR OUT.json SRCDIR
import { execSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';

const [work, outPath, src] = process.argv.slice(2);
const json = (f) => JSON.parse(readFileSync(`${work}/${f}`, 'utf8'));
const lines = (f) =>
  readFileSync(`${work}/${f}`, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));

const CLASS_OF = { 100000: 'small', 1000000: 'medium', 16000000: 'large' };
const classes = json('classes.json');
const scaling = json('scaling.json');
const cpu = json('cpu.json');
const wire = lines('wire.jsonl');
const shapes = lines('shapes.jsonl');
for (const r of classes.records) r.class = CLASS_OF[r.target_bytes] ?? String(r.target_bytes);

const r = {
  host: {
    cpus: os.cpus().length,
    model: os.cpus()[0]?.model ?? '',
    kernel: os.release(),
    date: new Date().toISOString(),
    loadavg_at_end: os.loadavg().map((x) => +x.toFixed(2)), // a busy machine makes every figure noisy
  },
  git: null,
  quick: Boolean(process.env.BENCH_QUICK),
  method:
    'Requests: eBPF-profiler-like ExportProfilesServiceRequests made by bench/gen_ingest.c from testdata ' +
    'otlp/ebpf_style.pb (real stacks, unsymbolized frames, frame-type and thread.name attributes, one resource ' +
    'per process, 50 services each its own binary, 20..400 samples per process, timestamps only); small ~100 KB, ' +
    'medium ~1 MB, large ~16 MB uncompressed; gzip at zlib level 6. MB/s are of uncompressed OTLP bytes. ' +
    'In process (one thread): floor = protobuf-c unpack into an arena (for gzip: zlib inflate into a buffer of ' +
    'the right size first); end_to_end = otlp__gunzip (gzip) + tr_decode_protobuf + tr_ingest into a win_store ' +
    'that one untimed request already filled (steady state); cold = first request into an empty store; medians ' +
    `of ${classes.repetitions} repetitions of >= ${classes.min_rep_seconds} s. ratio = floor time / end-to-end ` +
    'time. Wire: h2load against `otelprofd serve` on loopback, the same bytes as one gRPC message (5-byte ' +
    'prefix; gzip: flag 1 + grpc-encoding: gzip) or an OTLP/HTTP POST (--h1); concurrency 1 gives p50/p99 ' +
    'latency of one request (h2load --log-file), concurrency N the throughput; h2load runs on core 1; every run ' +
    'is checked against /metrics (observations received = succeeded x per request, nothing failed, rejected or ' +
    'throttled); tiny = a 2-byte request (empty dictionary), the transport fixed cost. Cores: the daemon pinned ' +
    'with taskset, --grpc-threads as given.',
  in_process: { repetitions: classes.repetitions, min_rep_seconds: classes.min_rep_seconds, classes: classes.records, scaling: [] },
  cpu_pb: cpu,
  shapes: Object.fromEntries(shapes.map((s) => [s.class, s.shape])),
  wire: wire.filter((w) => w.series === 'wire'),
  cores: wire.filter((w) => w.series === 'cores'),
  targets: [],
};
try {
  r.git = execSync(`git -C ${src} rev-parse --short HEAD`).toString().trim();
} catch {}
// the scaling curve: plain class records and the extra sizes, by size
r.in_process.scaling = [...classes.records.filter((x) => x.encoding === 'plain'), ...scaling.records].sort(
  (a, b) => a.bytes - b.bytes,
);

const f = (x, d = 1, w = 9) => (x == null ? '-' : Number(x).toFixed(d)).padStart(w);
const met = (ok) => (ok ? 'met' : 'MISSED');

console.log('\nIn process, one thread (MB/s of uncompressed OTLP; ratio = end-to-end / floor throughput):');
console.log('| class  | enc   | bytes in  | obs/req | floor MB/s | e2e MB/s | e2e samples/s | e2e us/req | cold us/req | ratio | >=0.5 |');
console.log('|--------|-------|-----------|---------|------------|----------|---------------|------------|-------------|-------|-------|');
for (const x of classes.records) {
  console.log(
    `| ${x.class.padEnd(6)} | ${x.encoding.padEnd(5)} | ${String(x.wire_bytes).padStart(9)} | ${String(x.observations_stored).padStart(7)} |` +
      ` ${f(x.floor.mb_per_s, 1, 10)} | ${f(x.end_to_end.mb_per_s, 1, 8)} | ${f(x.end_to_end.samples_per_s, 0, 13)} |` +
      ` ${f(x.end_to_end.us_per_request, 0, 10)} | ${f(x.end_to_end.cold_us_per_request, 0, 11)} | ${f(x.ratio_e2e_over_floor, 3, 5)} | ${met(x.ratio_e2e_over_floor >= 0.5).padEnd(5)} |`,
  );
}

console.log('\nScaling with request size (plain, in process):');
console.log('| bytes     | resources | obs/req | stacks | floor MB/s | e2e MB/s | e2e samples/s | e2e us/req | us per 1k obs | ratio |');
console.log('|-----------|-----------|---------|--------|------------|----------|---------------|------------|---------------|-------|');
for (const x of r.in_process.scaling) {
  console.log(
    `| ${String(x.bytes).padStart(9)} | ${String(x.resources).padStart(9)} | ${String(x.observations_stored).padStart(7)} | ${String(x.stacks).padStart(6)} |` +
      ` ${f(x.floor.mb_per_s, 1, 10)} | ${f(x.end_to_end.mb_per_s, 1, 8)} | ${f(x.end_to_end.samples_per_s, 0, 13)} |` +
      ` ${f(x.end_to_end.us_per_request, 0, 10)} | ${f((x.end_to_end.us_per_request * 1000) / x.observations_stored, 1, 13)} | ${f(x.ratio_e2e_over_floor, 3, 5)} |`,
  );
}
if (cpu) {
  console.log(
    `\ncpu.pb (bench_ingest, ${cpu.input_bytes} B, ${cpu.observations_per_request} obs): floor ${cpu.floor_unpack.mb_per_s} MB/s, ` +
      `end to end ${cpu.end_to_end.mb_per_s} MB/s (${cpu.end_to_end.samples_per_s} samples/s), ratio ${cpu.ratio_e2e_over_floor}`,
  );
}

const inproc = (c, enc) => classes.records.find((x) => x.class === c && x.encoding === enc);
if (r.wire.length) {
  const tiny = (tr, conc) => r.wire.find((w) => w.transport === tr && w.class === 'tiny' && (conc === 1 ? w.concurrency === 1 : w.concurrency > 1));
  console.log('\nOver the wire (loopback, daemon on 2 cores, --grpc-threads 2; p50/p99 from the concurrency-1 series,');
  console.log('throughput from the concurrency-N series; "of e2e" = wire MB/s / in-process end-to-end MB/s; "of floor" = wire MB/s / in-process floor MB/s):');
  console.log('| transport | class  | enc   | p50 ms | p99 ms | req/s c=1 | c | req/s   | MB/s   | samples/s  | of e2e | of floor | checked |');
  console.log('|-----------|--------|-------|--------|--------|-----------|---|---------|--------|------------|--------|----------|---------|');
  for (const tr of ['grpc', 'http']) {
    for (const c of ['tiny', 'small', 'medium', 'large']) {
      for (const enc of ['plain', 'gzip']) {
        const one = r.wire.find((w) => w.transport === tr && w.class === c && w.encoding === enc && w.concurrency === 1);
        const many = r.wire.find((w) => w.transport === tr && w.class === c && w.encoding === enc && w.concurrency > 1);
        if (!one && !many) continue;
        const ip = inproc(c, enc);
        const ok = [one, many].filter(Boolean).every((w) => w.check.ok);
        console.log(
          `| ${tr.padEnd(9)} | ${c.padEnd(6)} | ${enc.padEnd(5)} | ${f(one?.p50_ms, 2, 6)} | ${f(one?.p99_ms, 2, 6)} | ${f(one?.requests_per_s, 1, 9)} | ${String(many?.concurrency ?? '-')} |` +
            ` ${f(many?.requests_per_s, 1, 7)} | ${f(many?.mb_per_s, 1, 6)} | ${f(many?.samples_per_s, 0, 10)} |` +
            ` ${f(ip && many ? many.mb_per_s / ip.end_to_end.mb_per_s : null, 2, 6)} | ${f(ip && many ? many.mb_per_s / ip.floor.mb_per_s : null, 2, 8)} | ${(ok ? 'ok' : 'FAILED').padEnd(7)} |`,
        );
      }
    }
  }
  for (const tr of ['grpc', 'http']) {
    const t1 = tiny(tr, 1);
    if (t1) console.log(`transport fixed cost (${tr}, 2-byte request, concurrency 1): p50 ${t1.p50_ms} ms, p99 ${t1.p99_ms} ms`);
  }
}
if (r.cores.length) {
  console.log('\nCores (gRPC, plain, concurrency N; h2load on core 1; ratio against taskset -c 0 --grpc-threads 1):');
  console.log('| class  | daemon cpus | grpc threads | req/s   | MB/s   | samples/s  | ratio | checked |');
  console.log('|--------|-------------|--------------|---------|--------|------------|-------|---------|');
  for (const c of ['small', 'medium', 'large']) {
    const base = r.cores.find((w) => w.class === c && w.daemon_cpus === '0' && w.grpc_threads === 1);
    for (const w of r.cores.filter((x) => x.class === c)) {
      console.log(
        `| ${c.padEnd(6)} | ${w.daemon_cpus.padEnd(11)} | ${String(w.grpc_threads).padStart(12)} | ${f(w.requests_per_s, 1, 7)} | ${f(w.mb_per_s, 1, 6)} |` +
          ` ${f(w.samples_per_s, 0, 10)} | ${f(base ? w.requests_per_s / base.requests_per_s : null, 2, 5)} | ${(w.check.ok ? 'ok' : 'FAILED').padEnd(7)} |`,
      );
    }
  }
}

// targets of issue 5, item 1
const T = r.targets;
for (const x of classes.records) {
  T.push({ target: '>= 50% of the decode floor end to end (in process)', class: x.class, encoding: x.encoding, value: +x.ratio_e2e_over_floor.toFixed(3), met: x.ratio_e2e_over_floor >= 0.5 });
}
for (const x of classes.records.filter((y) => y.encoding === 'plain')) {
  const sps = x.end_to_end.samples_per_s;
  T.push({ target: '>= 250k samples/s on one core (in process, one thread)', class: x.class, encoding: x.encoding, value: sps, met: sps >= 250000 });
}
for (const w of r.cores.filter((y) => y.daemon_cpus === '0')) {
  T.push({ target: '>= 250k samples/s on one core (daemon on taskset -c 0, gRPC)', class: w.class, encoding: w.encoding, grpc_threads: w.grpc_threads, value: w.samples_per_s, met: w.samples_per_s >= 250000 });
}
for (const w of r.wire.filter((y) => y.class === 'small' && y.concurrency === 1)) {
  T.push({ target: 'p99 <= 5 ms for 100 KB (wire, concurrency 1)', transport: w.transport, encoding: w.encoding, value: w.p99_ms, met: w.p99_ms != null && w.p99_ms <= 5 });
}
console.log('\nTargets (issue 5):');
for (const t of T) {
  const what = [t.class, t.transport, t.encoding, t.grpc_threads ? `--grpc-threads ${t.grpc_threads}` : null].filter(Boolean).join(', ');
  console.log(`  ${met(t.met).padEnd(6)}  ${t.target} [${what}]: ${t.value}`);
}

writeFileSync(outPath, JSON.stringify(r, null, 2) + '\n');
console.log(`\nwritten: ${outPath}`);
