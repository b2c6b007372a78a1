#!/usr/bin/env bash
# bench/ingest.sh — the ingest benchmark in one command: builds Release, measures, prints
# tables and writes bench/results/ingest.json. bench/README.md says how to read it.
#
#   1. in process, by request size class (bench_ingest_classes): eBPF-profiler-like
#      requests of ~100 KB (small), ~1 MB (medium), ~16 MB (large), plain and gzip, made
#      from testdata otlp/ebpf_style.pb by bench/gen_ingest.c; floor (protobuf-c unpack,
#      after zlib inflate for gzip) vs end to end (gunzip + decode + validate + store);
#   2. scaling with request size: the same, plain, 10 KB .. 16 MB;
#   3. cpu.pb with bench_ingest (the figures earlier runs reported, for comparison);
#   4. over the wire, against `otelprofd serve`: h2load sends each class as one gRPC
#      Export message (5-byte prefix; gzip: flag 1 + grpc-encoding: gzip) and as an
#      OTLP/HTTP POST (--h1; Content-Encoding: gzip); a concurrency-1 series gives p50/p99
#      of one request (from h2load --log-file), a concurrency-N series the throughput; a
#      2-byte request (empty dictionary) measures the transport's fixed cost. Each payload is
#      first sent with real clients (grpc-js, curl) that must see OK and no rejection, and
#      every h2load run is checked against the daemon's /metrics: received observations
#      must grow by exactly succeeded x observations-per-request, with no failed,
#      rejected or throttled request (h2load counts HTTP 200 as success whatever the
#      grpc-status);
#   5. cores: the concurrency-N gRPC series per class with the daemon on `taskset -c 0`
#      --grpc-threads 1, `-c 0` --grpc-threads 2, and `-c 0,1` --grpc-threads 2; h2load
#      runs on core 1 throughout, so in the 2-core case it competes with the daemon.
#
# Env: BUILD_DIR (default <repo>/build-bench), OTELPROFD_TESTDATA, BENCH_QUICK=1 (~1 min
#      smoke run: fewer repetitions and requests), SKIP_WIRE=1 (in process only),
#      SKIP_CORES=1, INGEST_REPS (7), INGEST_MIN_REP_MS (100), H2LOAD_STREAMS (8: gRPC
#      2 connections x 4 streams, HTTP/1.1 8 connections).
# Benchmarks are never assertions: the script fails only when something does not run or
# a check says the daemon did not store what it was sent.
set -euo pipefail
SRC="$(cd "$(dirname "$0")/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$SRC/build-bench}"
: "${OTELPROFD_TESTDATA:=$SRC/../shared/testdata}"
export OTELPROFD_TESTDATA
RESULTS="$SRC/bench/results"
LIB="$SRC/tests/integration/lib"
mkdir -p "$RESULTS"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/otelprofd-ingest.XXXXXX")"
DAEMON=""
stop_daemon() {
    if [[ -n "$DAEMON" ]]; then
        kill -TERM "$DAEMON" 2>/dev/null || true
        wait "$DAEMON" 2>/dev/null || true
        DAEMON=""
    fi
}
cleanup() {
    stop_daemon
    rm -rf "$WORK"
}
trap cleanup EXIT

QUICK="${BENCH_QUICK:-}"
REPS="${INGEST_REPS:-$([[ -n "$QUICK" ]] && echo 3 || echo 7)}"
MIN_MS="${INGEST_MIN_REP_MS:-$([[ -n "$QUICK" ]] && echo 30 || echo 100)}"
STREAMS="${H2LOAD_STREAMS:-8}"
declare -A SIZE=([small]=100k [medium]=1m [large]=16m)
# requests per h2load run: concurrency 1 / concurrency N, sized for a few seconds each
declare -A N1=([tiny]=2000 [small]=1000 [medium]=150 [large]=5)
declare -A NN=([tiny]=4000 [small]=2000 [medium]=200 [large]=8)
WIRE_CLASSES=(small medium large)
if [[ -n "$QUICK" ]]; then
    N1=([tiny]=300 [small]=200 [medium]=30)
    NN=([tiny]=600 [small]=400 [medium]=60)
    WIRE_CLASSES=(small medium) # a 16 MB request takes about a second over the wire
fi

echo "== build (Release) in $BUILD_DIR"
cmake -S "$SRC" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
cmake --build "$BUILD_DIR" -j2 --target bench_ingest bench_ingest_classes otelprofd >/dev/null
BIC="$BUILD_DIR/bench/bench_ingest_classes"

echo "== in process, by class (plain and gzip; median of $REPS x >= $MIN_MS ms)"
CLASS_SIZES=100k,1m,16m
[[ -z "$QUICK" ]] || CLASS_SIZES=100k,1m
"$BIC" measure "$CLASS_SIZES" --gzip --reps "$REPS" --min-rep-ms "$MIN_MS" >"$WORK/classes.json"
echo "== in process, scaling with request size (plain)"
SCALE=10k,30k,300k,3m,8m
[[ -z "$QUICK" ]] || SCALE=10k,300k
"$BIC" measure "$SCALE" --reps "$REPS" --min-rep-ms "$MIN_MS" >"$WORK/scaling.json"
if [[ -z "$QUICK" ]]; then
    echo "== in process, cpu.pb (bench_ingest)"
    "$BUILD_DIR/bench/bench_ingest" "$OTELPROFD_TESTDATA/otlp/cpu.pb" >"$WORK/cpu.json"
else
    echo null >"$WORK/cpu.json"
fi

: >"$WORK/wire.jsonl"
: >"$WORK/shapes.jsonl"
if [[ -n "${SKIP_WIRE:-}" ]]; then
    echo "== over the wire: skipped (SKIP_WIRE)"
elif ! command -v h2load >/dev/null || ! command -v node >/dev/null ||
    [[ ! -d "$SRC/tests/node_modules/@grpc/grpc-js" ]]; then
    echo "== over the wire: skipped (needs h2load, node and tests/node_modules)" >&2
else
    # h2load on core 1, away from the 1-core daemon; no pinning (and no cores series) on 1 CPU
    H2PIN=(taskset -c 1)
    if (($(nproc) < 2)); then
        H2PIN=()
        SKIP_CORES=1
    fi
    GRPC_PATH=/opentelemetry.proto.collector.profiles.v1development.ProfilesService/Export
    read -r GP HP MP < <(node -e '
const net = require("net"); const s = [];
(async () => { for (let i = 0; i < 3; i++) { const v = net.createServer(); s.push(v);
  await new Promise((r) => v.listen(0, "127.0.0.1", r)); }
  console.log(s.map((v) => v.address().port).join(" ")); s.forEach((v) => v.close()); })();')

    # Payloads, timed a minute ago so that the default 1 h retention keeps them.
    base_ns=$(($(date +%s%N) - 60000000000))
    for c in "${WIRE_CLASSES[@]}"; do
        shape="$("$BIC" gen "${SIZE[$c]}" "$WORK/$c" --base-ns "$base_ns")"
        echo "{\"class\":\"$c\",\"shape\":$shape}" >>"$WORK/shapes.jsonl"
    done
    # The transport's fixed cost: a valid request with an empty dictionary and no data.
    printf '\x12\x00' >"$WORK/tiny.pb"
    printf '\x00\x00\x00\x00\x02\x12\x00' >"$WORK/tiny.grpc"

    start_daemon() { # CPUS GRPC_THREADS
        taskset -c "$1" "$BUILD_DIR/otelprofd" serve --otlp-grpc "127.0.0.1:$GP" \
            --otlp-http "127.0.0.1:$HP" --mcp-http "127.0.0.1:$MP" --grpc-threads "$2" \
            --log-level warn 2>>"$WORK/daemon.log" &
        DAEMON=$!
        for _ in $(seq 100); do
            [[ "$(curl -s --max-time 1 "http://127.0.0.1:$MP/healthz" || true)" == ok* ]] && return 0
            sleep 0.1
        done
        echo "otelprofd did not start:" >&2
        cat "$WORK/daemon.log" >&2
        exit 1
    }
    # "received failed rejected throttled" from /metrics
    counters() {
        curl -s --max-time 10 "http://127.0.0.1:$MP/metrics" | awk '
            /^otelprofd_received_samples_total /   { r += $2 }
            /^otelprofd_failed_requests_total /    { f += $2 }
            /^otelprofd_rejected_samples_total/    { j += $2 }
            /^otelprofd_throttled_requests_total / { t += $2 }
            END { printf "%d %d %d %d\n", r, f, j, t }'
    }
    observations() { # CLASS -> observations per request
        if [[ "$1" == tiny ]]; then echo 0; else
            node -e 'for (const l of require("fs").readFileSync(process.argv[1], "utf8").split("\n"))
              if (l && JSON.parse(l).class === process.argv[2]) console.log(JSON.parse(l).shape.observations);' \
                "$WORK/shapes.jsonl" "$1"
        fi
    }
    # Real clients first: the payload must be accepted whole.
    verify() { # CLASS
        local c="$1" out
        for gz in "" --gzip; do
            out="$(node "$LIB/send_grpc.mjs" "127.0.0.1:$GP" "$WORK/$c.pb" $gz --deadline-ms 60000)"
            if [[ "$out" != *'"status":"OK"'* || "$out" != *'"partial_success":null'* ]]; then
                echo "grpc-js $gz: $c not accepted: $out" >&2
                exit 1
            fi
        done
        for f in "$c.pb" "$c.pb.gz"; do
            local hdr=()
            [[ "$f" != *.gz ]] || hdr=(-H 'Content-Encoding: gzip')
            out="$(curl -s -o "$WORK/resp.bin" -w '%{http_code}' --max-time 60 \
                -H 'Content-Type: application/x-protobuf' "${hdr[@]}" \
                --data-binary "@$WORK/$f" "http://127.0.0.1:$HP/v1development/profiles")"
            # 200 with an empty body: no partial_success
            if [[ "$out" != 200 || -s "$WORK/resp.bin" ]]; then
                echo "curl: $f answered $out ($(head -c 200 "$WORK/resp.bin" | tr -c '[:print:]' .))" >&2
                exit 1
            fi
        done
    }
    # One h2load series; appends a JSON record to wire.jsonl.
    h2() { # SERIES TRANSPORT CLASS ENCODING CONCURRENCY N DAEMON_CPUS GRPC_THREADS
        local series="$1" tr="$2" c="$3" enc="$4" conc="$5" n="$6" cpus="$7" thr="$8"
        local file args=() url before after
        if [[ "$tr" == grpc ]]; then
            file="$WORK/$c.grpc"
            [[ "$enc" == plain ]] || file="$WORK/$c.gz.grpc"
            args=(-H 'content-type: application/grpc' -H 'te: trailers')
            [[ "$enc" == plain ]] || args+=(-H 'grpc-encoding: gzip')
            if ((conc > 1)); then args+=(-c 2 -m $((conc / 2))); else args+=(-c 1 -m 1); fi
            url="http://127.0.0.1:$GP$GRPC_PATH"
        else
            file="$WORK/$c.pb"
            [[ "$enc" == plain ]] || file="$WORK/$c.pb.gz"
            args=(--h1 -c "$conc" -H 'content-type: application/x-protobuf')
            [[ "$enc" == plain ]] || args+=(-H 'content-encoding: gzip')
            url="http://127.0.0.1:$HP/v1development/profiles"
        fi
        before="$(counters)"
        rm -f "$WORK/h2.log" # h2load appends to its log file
        "${H2PIN[@]}" h2load -n "$n" -t 1 -d "$file" "${args[@]}" --log-file "$WORK/h2.log" \
            "$url" >"$WORK/h2.txt" 2>&1 || true
        after="$(counters)"
        node -e '
const fs = require("fs");
const [series, tr, c, enc, conc, n, cpus, thr, obs, before, after, plainBytes, wireBytes] = process.argv.slice(1);
const t = fs.readFileSync(process.argv[14], "utf8");
const fin = /finished in ([\d.]+)(m?s), ([\d.]+) req\/s/.exec(t);
const req = /requests: (\d+) total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed/.exec(t);
if (!fin || !req) { console.error("h2load output not understood:\n" + t); process.exit(1); }
const d = fs.readFileSync(process.argv[15], "utf8").trim().split("\n").filter(Boolean)
  .map((l) => l.split("\t")).filter((f) => f[1] === "200").map((f) => Number(f[2]) / 1000).sort((a, b) => a - b);
const pct = (p) => (d.length ? d[Math.min(d.length - 1, Math.ceil((p / 100) * d.length) - 1)] : null);
const [b, a] = [before, after].map((s) => s.split(" ").map(Number));
const succeeded = +req[3], perReq = Number(obs);
const seconds = fin[2] === "ms" ? fin[1] / 1000 : +fin[1];
const rps = succeeded / seconds;
const check = { observations_expected: succeeded * perReq, observations_received: a[0] - b[0],
  failed_requests: a[1] - b[1], rejected_observations: a[2] - b[2], throttled_requests: a[3] - b[3] };
check.ok = check.observations_expected === check.observations_received && !check.failed_requests &&
  !check.rejected_observations && !check.throttled_requests && succeeded === Number(n);
console.log(JSON.stringify({ series, transport: tr, class: c, encoding: enc, concurrency: Number(conc),
  daemon_cpus: cpus, grpc_threads: Number(thr), requests: Number(n), succeeded, seconds,
  requests_per_s: +rps.toFixed(2), mb_per_s: +((rps * plainBytes) / 1e6).toFixed(2),
  wire_mb_per_s: +((rps * wireBytes) / 1e6).toFixed(2), samples_per_s: Math.round(rps * perReq),
  p50_ms: pct(50), p99_ms: pct(99), max_ms: d.length ? d[d.length - 1] : null, check }));' \
            "$series" "$tr" "$c" "$enc" "$conc" "$n" "$cpus" "$thr" "$(observations "$c")" \
            "$before" "$after" "$(stat -c %s "$WORK/$c.pb")" \
            "$(stat -c %s "$([[ "$enc" == plain ]] && echo "$WORK/$c.pb" || echo "$WORK/$c.pb.gz")")" \
            "$WORK/h2.txt" "$WORK/h2.log" >>"$WORK/wire.jsonl"
        local last
        last="$(tail -n 1 "$WORK/wire.jsonl")"
        printf '  %-6s %-4s %-6s %-5s c=%-2s %s\n' "$series" "$tr" "$c" "$enc" "$conc" \
            "$(node -e 'const r = JSON.parse(process.argv[1]); console.log(`${r.requests_per_s} req/s, p50 ${r.p50_ms} ms, p99 ${r.p99_ms} ms, check ${r.check.ok ? "ok" : "FAILED " + JSON.stringify(r.check)}`)' "$last")"
    }

    echo "== over the wire: h2load -> otelprofd serve (default: 2 cores, --grpc-threads 2)"
    start_daemon 0,1 2
    for c in "${WIRE_CLASSES[@]}"; do verify "$c"; done
    for tr in grpc http; do
        h2 wire "$tr" tiny plain 1 "${N1[tiny]}" 0,1 2
        h2 wire "$tr" tiny plain "$STREAMS" "${NN[tiny]}" 0,1 2
        for c in "${WIRE_CLASSES[@]}"; do
            for enc in plain gzip; do
                h2 wire "$tr" "$c" "$enc" 1 "${N1[$c]}" 0,1 2
                h2 wire "$tr" "$c" "$enc" "$STREAMS" "${NN[$c]}" 0,1 2
            done
        done
    done
    stop_daemon

    if [[ -z "${SKIP_CORES:-}" ]]; then
        echo "== cores: gRPC plain, concurrency $STREAMS, daemon pinned with taskset"
        for cfg in "0 1" "0 2" "0,1 2"; do
            read -r cpus thr <<<"$cfg"
            start_daemon "$cpus" "$thr"
            for c in "${WIRE_CLASSES[@]}"; do
                h2 cores grpc "$c" plain "$STREAMS" "${NN[$c]}" "$cpus" "$thr"
            done
            stop_daemon
        done
    fi
fi

node "$SRC/bench/ingest_report.mjs" "$WORK" "$RESULTS/ingest.json" "$SRC"
if grep -q '"ok":false' "$WORK/wire.jsonl"; then
    echo "some wire runs were not stored whole (see check in $RESULTS/ingest.json)" >&2
    exit 1
fi
