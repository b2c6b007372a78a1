#!/usr/bin/env bash
# bench/run.sh — build (Release) and run the ingest, memory and query benchmarks; print
# tables and write bench/results/{ingest,memory,query}.json.
#
#   ingest: bench/ingest.sh (its header says what it measures; its env knobs apply);
#   memory: bench/memory.sh; queries: bench/query.sh; the write-ahead log: bench/wal.sh
#   (their headers say what they measure).
# Env: BUILD_DIR (default <repo>/build-bench), OTELPROFD_TESTDATA, SKIP_INGEST=1 /
#      SKIP_MEMORY=1 / SKIP_QUERY=1 to leave a part out; see each script for its knobs
#      (BENCH_QUICK=1 for all; SKIP_WIRE, BENCH_SERVICES, BENCH_REPS ...).
# Benchmarks are never assertions: this script fails only when something does not run.
set -euo pipefail
SRC="$(cd "$(dirname "$0")/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$SRC/build-bench}"
: "${OTELPROFD_TESTDATA:=$SRC/../shared/testdata}"
export OTELPROFD_TESTDATA
RESULTS="$SRC/bench/results"
mkdir -p "$RESULTS"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/otelprofd-bench.XXXXXX")"
DAEMON=""
cleanup() {
    if [[ -n "$DAEMON" ]]; then
        kill -TERM "$DAEMON" 2>/dev/null || true
        wait "$DAEMON" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

echo "== build (Release) in $BUILD_DIR"
cmake -S "$SRC" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
cmake --build "$BUILD_DIR" -j2 --target bench_ingest bench_query bench_memory otelprofd >/dev/null
# Memory (bench/memory.sh) and queries (bench/query.sh): each says what it measures.
[[ -n "${SKIP_MEMORY:-}" ]] || BUILD_DIR="$BUILD_DIR" "$SRC/bench/memory.sh"
[[ -n "${SKIP_QUERY:-}" ]] || BUILD_DIR="$BUILD_DIR" "$SRC/bench/query.sh"
# The JetStream log vs the local WAL (bench/log_nats.sh; needs nats-server).
[[ -n "${SKIP_NATS:-}" ]] || BUILD_DIR="$BUILD_DIR" "$SRC/bench/log_nats.sh"
# The write-ahead log (bench/wal.sh): --data-dir against memory only, bytes/sample, replay.
[[ -n "${SKIP_WAL:-}" ]] || BUILD_DIR="$BUILD_DIR" "$SRC/bench/wal.sh"
[[ -z "${SKIP_INGEST:-}" ]] || exit 0

# Ingest (in process by request size, over the wire, cores): bench/ingest.sh.
BUILD_DIR="$BUILD_DIR" "$SRC/bench/ingest.sh"
