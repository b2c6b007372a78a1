#!/usr/bin/env bash
# bench/memory.sh — build (Release) and run bench_memory: resident and accounted bytes of
# the window store after synthetic but realistic traffic fed through the real ingest path
# (OTLP protobuf -> tr_decode_protobuf -> tr_ingest), per unique stack and per bucket entry,
# and how memory grows with retention, with the number of services and with samples per
# stack. Prints a table and writes bench/results/memory.json.
#
# Env: BUILD_DIR (default <repo>/build-bench), OTELPROFD_TESTDATA, BENCH_QUICK=1 (~1 min
#      smoke run: 10 services, 15 min). Benchmarks are never assertions: this script fails
#      only when something does not run.
set -euo pipefail
SRC="$(cd "$(dirname "$0")/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$SRC/build-bench}"
: "${OTELPROFD_TESTDATA:=$SRC/../shared/testdata}"
export OTELPROFD_TESTDATA
RESULTS="$SRC/bench/results"
mkdir -p "$RESULTS"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/otelprofd-bench-mem.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

echo "== build (Release) in $BUILD_DIR"
cmake -S "$SRC" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
cmake --build "$BUILD_DIR" -j2 --target bench_memory >/dev/null
echo "== memory: synthetic traffic through tr_decode_protobuf + tr_ingest${BENCH_QUICK:+ (quick)}"
"$BUILD_DIR/bench/bench_memory" "$OTELPROFD_TESTDATA" >"$WORK/memory.json"
node -e '
const fs = require("fs");
const r = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
r.host = { cpus: require("os").cpus().length, model: require("os").cpus()[0]?.model ?? "", date: new Date().toISOString() };
try { r.git = require("child_process").execSync("git -C " + process.argv[3] + " rev-parse --short HEAD").toString().trim(); } catch {}
r.method = "Each run: a fresh store in a child process that only reads OTLP requests from a pipe and runs tr_decode_protobuf + tr_ingest " +
  "(one request per service per 10 s, 100 Hz of cpu:nanoseconds samples with timestamps and thread.name). " +
  "resident = VmRSS of that process with the store minus VmRSS before the store was created, both after malloc_trim(0) " +
  "(large blocks mmapped, so the generator and freed request arenas leave nothing behind). accounted = win_store_stats().memory_used, " +
  "split by walking the store tables. per stack = interned side (strings, frames, nodes, stack index, label and resource sets) / " +
  "unique stacks retained (distinct stacks drawn in a retained interval); per entry = bucket side (entry arrays by capacity, " +
  "merge indexes, bucket vectors, series) / bucket entries (distinct (stack, thread) pairs per series per 10 s bucket); " +
  "resident per stack/entry = the accounted figure x resident/accounted of the run. vs_retention: steady state, R + 15 min " +
  "of traffic for retention R (60 min for R = 60).";
fs.writeFileSync(process.argv[2], JSON.stringify(r, null, 2) + "\n");
const MiB = (b) => (b / 1048576).toFixed(1).padStart(8);
const n = (x, w = 9) => String(x).padStart(w);
const f = (x, d = 1, w = 7) => Number(x).toFixed(d).padStart(w);
const head = () => {
  console.log("| svc | min | ret | x  |   stacks |     nodes |   entries | accounted MiB | resident MiB | B/stack acc | B/entry acc | B/node |");
  console.log("|-----|-----|-----|----|----------|-----------|-----------|---------------|--------------|-------------|-------------|--------|");
};
const row = (x) => console.log(`| ${n(x.services, 3)} | ${n(x.minutes, 3)} | ${n(x.retention_min, 3)} | ${n(x.copies, 2)} | ${n(x.stacks_retained, 8)} | ${n(x.nodes)} | ${n(x.entries)} | ${MiB(x.accounted_bytes).padStart(13)} | ${MiB(x.resident_bytes).padStart(12)} | ${f(x.accounted_per_stack, 1, 11)} | ${f(x.accounted_per_entry, 2, 11)} | ${f(x.accounted_per_node, 1, 6)} |`);
console.log("\nmemory vs retention (steady state):"); head(); r.vs_retention.forEach(row);
console.log("\nmemory vs series:"); head(); r.vs_series.forEach(row);
console.log("\nsamples per stack (same distinct data):"); head(); r.samples_per_stack.forEach(row);
const x = r.x10_over_x1;
console.log(`  x10 / x1: observations ${x.observations}x, entries ${x.entries}x, accounted ${x.accounted}x, resident ${x.resident}x`);
const m = r.main, b = r.vs_retention[r.vs_retention.length - 1].breakdown;
console.log(`\nmain (${m.services} services, ${m.minutes} min): resident ${m.resident_per_stack} B per unique stack (target <= 64: ${m.per_stack_met ? "met" : "MISSED"}), ` +
  `${m.resident_per_entry} B per entry (target <= 16: ${m.per_entry_met ? "met" : "MISSED"})`);
console.log("accounted bytes by structure: " + Object.entries(b).filter(([k]) => k !== "allocations").map(([k, v]) => `${k} ${MiB(v).trim()} MiB`).join(", "));
console.log(`\nwritten: ${process.argv[2]}`);' "$WORK/memory.json" "$RESULTS/memory.json" "$SRC"
