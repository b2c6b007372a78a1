#!/usr/bin/env bash
# bench/wal.sh — what the write-ahead log costs, in one command: builds Release, measures,
# prints a table and writes bench/results/wal.json. bench/README.md says how to read it.
#
#   1. ingest throughput over gRPC (h2load, 2 connections x 4 streams, eBPF-like requests of
#      the `small` class, ~100 KB, from bench_ingest_classes gen) against `otelprofd serve`
#      in memory only, and with --data-dir and --wal-sync always / interval / off, in the
#      same run; the ratio to memory-only is the figure (target >= 0.8 with group commit);
#      every run is checked against /metrics (observations received = succeeded x per
#      request, nothing failed or refused);
#   2. bytes on disk per stored sample (du of the data dir after the `always` run);
#   3. replay speed: the `always` data dir replayed by a restarted daemon (its "log:
#      replayed N requests (S samples, ...) in T s" line), samples/s against the live
#      ingest rate of the memory-only run (target >= 1: an hour replays in under an hour).
#
# Env: BUILD_DIR (default <repo>/build-bench), OTELPROFD_TESTDATA, BENCH_QUICK=1 (fewer
#      requests), WAL_REQUESTS (requests per series; default 3000, quick 600),
#      WAL_DIR (where the data dirs go; default a temporary dir: put it on the disk you mean
#      to measure).
# Never an assertion: fails only when something does not run or a check fails.
set -euo pipefail
SRC="$(cd "$(dirname "$0")/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$SRC/build-bench}"
: "${OTELPROFD_TESTDATA:=$SRC/../shared/testdata}"
export OTELPROFD_TESTDATA
RESULTS="$SRC/bench/results"
mkdir -p "$RESULTS"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/otelprofd-wal.XXXXXX")"
DATA="${WAL_DIR:-$WORK}"
DAEMON=""
stop_daemon() {
    if [[ -n "$DAEMON" ]]; then
        kill -TERM "$DAEMON" 2>/dev/null || true
        wait "$DAEMON" 2>/dev/null || true
        DAEMON=""
    fi
}
trap 'stop_daemon; rm -rf "$WORK"' EXIT
QUICK="${BENCH_QUICK:-}"
N="${WAL_REQUESTS:-$([[ -n "$QUICK" ]] && echo 600 || echo 3000)}"
command -v h2load >/dev/null || { echo "bench/wal.sh needs h2load (nghttp2-client)" >&2; exit 1; }

echo "== build (Release) in $BUILD_DIR"
cmake -S "$SRC" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
cmake --build "$BUILD_DIR" -j2 --target bench_ingest_classes otelprofd >/dev/null
base_ns=$(($(date +%s%N) - 60000000000))
shape="$("$BUILD_DIR/bench/bench_ingest_classes" gen 100k "$WORK/small" --base-ns "$base_ns")"
OBS="$(node -e 'console.log(JSON.parse(process.argv[1]).observations)' "$shape")"
read -r GP HP MP < <(node -e '
const net = require("net"); const s = [];
(async () => { for (let i = 0; i < 3; i++) { const v = net.createServer(); s.push(v);
  await new Promise((r) => v.listen(0, "127.0.0.1", r)); }
  console.log(s.map((v) => v.address().port).join(" ")); s.forEach((v) => v.close()); })();')

start_daemon() { # serve options...
    : >"$WORK/daemon.log"
    "$BUILD_DIR/otelprofd" serve --otlp-grpc "127.0.0.1:$GP" --otlp-http "127.0.0.1:$HP" \
        --mcp-http "127.0.0.1:$MP" "$@" 2>>"$WORK/daemon.log" &
    DAEMON=$!
    for _ in $(seq 600); do
        [[ "$(curl -s --max-time 1 "http://127.0.0.1:$MP/healthz" || true)" == ok* ]] && return 0
        sleep 0.1
    done
    cat "$WORK/daemon.log" >&2
    exit 1
}
counters() { # "received_samples failed refused_503"
    curl -s --max-time 10 "http://127.0.0.1:$MP/metrics" | awk '
        /^otelprofd_received_samples_total /     { r += $2 }
        /^otelprofd_failed_requests_total /      { f += $2 }
        /^otelprofd_unavailable_requests_total / { u += $2 }
        /^otelprofd_throttled_requests_total /   { u += $2 }
        END { printf "%d %d %d\n", r, f, u }'
}

: >"$WORK/runs.jsonl"
run() { # MODE serve-options...
    local mode="$1" before after
    shift
    start_daemon "$@"
    before="$(counters)"
    h2load -n "$N" -t 1 -c 2 -m 4 -d "$WORK/small.grpc" -H 'content-type: application/grpc' \
        -H 'te: trailers' "http://127.0.0.1:$GP/opentelemetry.proto.collector.profiles.v1development.ProfilesService/Export" \
        >"$WORK/h2.txt" 2>&1 || true
    after="$(counters)"
    stop_daemon
    local disk=0
    [[ "$mode" == memory ]] || disk="$(du -sb "$DATA/$mode" | cut -f1)"
    node -e '
const fs = require("fs");
const [mode, n, obs, before, after, disk, file] = process.argv.slice(1);
const t = fs.readFileSync(file, "utf8");
const fin = /finished in ([\d.]+)(m?s), ([\d.]+) req\/s/.exec(t);
const req = /requests: (\d+) total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed/.exec(t);
if (!fin || !req) { console.error("h2load output not understood:\n" + t); process.exit(1); }
const [b, a] = [before, after].map((s) => s.split(" ").map(Number));
const seconds = fin[2] === "ms" ? fin[1] / 1000 : +fin[1];
const ok = a[0] - b[0] === +req[3] * +obs && a[1] === b[1] && a[2] === b[2] && +req[3] === +n;
console.log(JSON.stringify({ mode, requests: +n, succeeded: +req[3], seconds,
  requests_per_s: +(req[3] / seconds).toFixed(1), samples_per_s: Math.round((req[3] * obs) / seconds),
  disk_bytes: +disk, samples: a[0] - b[0], check_ok: ok }));' \
        "$mode" "$N" "$OBS" "$before" "$after" "$disk" "$WORK/h2.txt" >>"$WORK/runs.jsonl"
    tail -n 1 "$WORK/runs.jsonl"
}

echo "== ingest: $N requests of $OBS observations over gRPC (h2load -c 2 -m 4)"
run memory
run always --data-dir "$DATA/always" --wal-sync always
run interval --data-dir "$DATA/interval" --wal-sync interval
run off --data-dir "$DATA/off" --wal-sync off
run memory2 # memory only again: how much the machine moved during the run

echo "== replay of the 'always' data dir"
start_daemon --data-dir "$DATA/always"
stop_daemon
replay="$(sed -n 's/.*log: replayed \([0-9]*\) requests (\([0-9]*\) samples, \([0-9]*\) bytes) in \([0-9.]*\) s.*/\1 \2 \3 \4/p' "$WORK/daemon.log")"
[[ -n "$replay" ]] || { cat "$WORK/daemon.log" >&2; exit 1; }

node -e '
const fs = require("fs");
const runs = fs.readFileSync(process.argv[1], "utf8").trim().split("\n").map((l) => JSON.parse(l));
const [rq, rs, rb, rt] = process.argv[2].split(" ").map(Number);
const mem = runs.filter((r) => r.mode.startsWith("memory"));
const memRate = mem.reduce((s, r) => s + r.samples_per_s, 0) / mem.length;
const rows = runs.filter((r) => !r.mode.startsWith("memory")).map((r) => ({
  mode: r.mode, samples_per_s: r.samples_per_s, ratio_to_memory: +(r.samples_per_s / memRate).toFixed(3),
  disk_bytes_per_sample: r.samples ? +(r.disk_bytes / r.samples).toFixed(2) : null, check_ok: r.check_ok }));
const replay = { requests: rq, samples: rs, bytes: rb, seconds: rt, samples_per_s: Math.round(rs / rt),
  ratio_to_live: +((rs / rt) / memRate).toFixed(2) };
console.log(`memory only: ${Math.round(memRate)} samples/s (mean of ${mem.length} runs: ${mem.map((r) => r.samples_per_s).join(", ")})`);
console.log("mode      samples/s  ratio  target  bytes/sample  check");
for (const r of rows) console.log(`${r.mode.padEnd(9)} ${String(r.samples_per_s).padStart(9)}  ${r.ratio_to_memory.toFixed(2)}  ${r.mode === "always" ? (r.ratio_to_memory >= 0.8 ? "met   " : "MISSED") : "      "}  ${String(r.disk_bytes_per_sample).padStart(12)}  ${r.check_ok ? "ok" : "FAILED"}`);
console.log(`replay: ${rq} requests, ${rs} samples in ${rt} s = ${replay.samples_per_s} samples/s, ${replay.ratio_to_live}x the live rate (${replay.ratio_to_live >= 1 ? "met" : "MISSED"})`);
fs.writeFileSync(process.argv[3], JSON.stringify({ when: new Date().toISOString(), memory_samples_per_s: Math.round(memRate), runs, rows, replay }, null, 1) + "\n");
if (!runs.every((r) => r.check_ok)) process.exit(1);' "$WORK/runs.jsonl" "$replay" "$RESULTS/wal.json"
