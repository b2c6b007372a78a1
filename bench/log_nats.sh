#!/usr/bin/env bash
# bench/log_nats.sh — build (Release) and run bench_log_nats: ingest throughput through
# JetStream (one server, R1; a three-server cluster, R3) as a ratio of the local write-ahead
# log (--data-dir, --wal-sync always) in the same run, 4 appending threads like the
# receiver's; the delay from a publish acknowledgement to the record's arrival at a
# following consumer (p50/p99); and the replay speed of a consumer reading the stream from its
# start (what a query node does at start). The servers are Debian's nats-server on loopback,
# every port bound by the server itself (tests/integration/lib/nats_cluster.sh).
# Prints a table and writes bench/results/log_nats.json. Never asserts.
#
# Env: BUILD_DIR (default <repo>/build-bench), OTELPROFD_TESTDATA, BENCH_QUICK=1,
#      BENCH_NO_BUILD=1 (use BUILD_DIR's bench_log_nats as it is).
set -euo pipefail
SRC="$(cd "$(dirname "$0")/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$SRC/build-bench}"
: "${OTELPROFD_TESTDATA:=$SRC/../shared/testdata}"
RESULTS="$SRC/bench/results"
mkdir -p "$RESULTS"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/otelprofd-bench-nats.XXXXXX")"
die() {
    echo "FATAL: $*" >&2
    exit 1
}
cleanup() { rm -rf "$WORK"; }
source "$SRC/tests/integration/lib/nats_cluster.sh" # sets the EXIT trap (servers, then cleanup)

if [[ -z "${BENCH_NO_BUILD:-}" ]]; then
    echo "== build (Release) in $BUILD_DIR"
    cmake -S "$SRC" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
    cmake --build "$BUILD_DIR" -j2 --target bench_log_nats >/dev/null
fi

echo "== a three-server JetStream cluster (R3), then one server alone (R1)"
nats_cluster_start 3
R3="$NATS_URLS"
mkdir -p "$WORK/single/store" "$WORK/single/ports"
nats-server -a 127.0.0.1 -p -1 -js -sd "$WORK/single/store" --ports_file_dir "$WORK/single/ports" \
    >"$WORK/single/log" 2>&1 &
single=$!
trap 'kill "$single" 2>/dev/null || true; nats_cluster_stop; cleanup' EXIT
for _ in $(seq 100); do
    f="$(ls "$WORK/single/ports/"*.ports 2>/dev/null | head -n 1 || true)"
    [[ -n "$f" && -s "$f" ]] && break
    sleep 0.1
done
R1="nats://$(sed -n 's#.*"nats":\["nats://\([^"]*\)"\].*#\1#p' "$f")"

echo "== appends: wal vs nats R1 vs nats R3${BENCH_QUICK:+ (quick)}"
"$BUILD_DIR/bench/bench_log_nats" "$OTELPROFD_TESTDATA/otlp/cpu.pb" "$WORK/wal" "$R1" "$R3" \
    >"$RESULTS/log_nats.json"
kill "$single"
wait "$single" 2>/dev/null || true
node -e '
const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
const f = (x, d = 1) => (x < 0 ? "-" : x.toFixed(d));
console.log(`request ${r.request_bytes} bytes (testdata cpu.pb, unique per append), ${r.threads} threads, ${r.seconds} s each`);
console.log("log      req/s    MB/s  of wal  ack->visible p50/p99 ms  replay rec/s  replay MB/s");
console.log(`wal   ${f(r.wal.req_per_s).padStart(8)} ${f(r.wal.mb_per_s).padStart(7)}   1.000`);
for (const k of ["nats_r1", "nats_r3"]) {
  const x = r[k];
  console.log(`${k} ${f(x.req_per_s).padStart(8)} ${f(x.mb_per_s).padStart(7)}   ${x.of_wal.toFixed(3)}  ${(f(x.ack_to_visible_ms_p50, 2) + " / " + f(x.ack_to_visible_ms_p99, 2)).padStart(22)}  ${f(x.replay_records_per_s).padStart(12)}  ${f(x.replay_mb_per_s).padStart(11)}`);
}' "$RESULTS/log_nats.json"
