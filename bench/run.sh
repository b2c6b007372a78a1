#!/usr/bin/env bash
# bench/run.sh — build (Release) and run the ingest and query benchmarks; print tables and
# write bench/results/ingest.json and bench/results/query.json.
#
#   in-process (bench_ingest): protobuf-c unpack floor vs decode+validate+store, medians
#     of 15 repetitions, and accounted memory per stack / entry;
#   over the wire (optional, needs h2load + node): cpu.pb framed as gRPC, sent with h2load
#     to a running `otelprofd serve`.
#   queries (bench_query): one hour of data for 50 services at 100 samples/s, latency of
#     query_profile_table / query_profile_flamegraph (one service, all services) in
#     process, over MCP Streamable HTTP and as `otelprofd query`, against `go tool pprof
#     -top` over the same data exported as one pprof per service, in the same run.
# Env: BUILD_DIR (default <repo>/build-bench), OTELPROFD_TESTDATA, H2LOAD_REQUESTS (2000),
#      H2LOAD_CLIENTS (2), H2LOAD_STREAMS (4), SKIP_WIRE=1 to skip the h2load run,
#      SKIP_INGEST=1 / SKIP_QUERY=1 to run only one part, BENCH_SERVICES (50), BENCH_REPS (15).
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
cmake --build "$BUILD_DIR" -j2 --target bench_ingest bench_query otelprofd >/dev/null
if [[ -z "${SKIP_QUERY:-}" ]]; then
    echo "== queries: ${BENCH_SERVICES:-50} services x 1 h x 100 Hz, vs go tool pprof -top"
    "$BUILD_DIR/bench/bench_query" "$OTELPROFD_TESTDATA/otlp/cpu.pb" "$BUILD_DIR/otelprofd" >"$WORK/query.json"
    node -e '
const fs = require("fs");
const r = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
r.host = { cpus: require("os").cpus().length, model: require("os").cpus()[0]?.model ?? "", date: new Date().toISOString() };
try { r.git = require("child_process").execSync("git -C " + process.argv[3] + " rev-parse --short HEAD").toString().trim(); } catch {}
r.method = "median and p90 of " + r.in_process.table_one_service.runs + " runs after one warm-up; in_process = tools_call_text (args, merge, query, text); " +
  "mcp_http = JSON-RPC tools/call over loopback Streamable HTTP (mcp_client -> mcp_http in one process); " +
  "otelprofd_query_process and pprof = wall time of the command as a process (stdout to /dev/null); pprof = $(go env GOTOOLDIR)/pprof -top, go_tool_pprof = go tool pprof -top (with the go launcher)";
fs.writeFileSync(process.argv[2], JSON.stringify(r, null, 2) + "\n");
const s = r.store, f = (x) => (x == null ? "-" : x.median_ms.toFixed(2) + " / " + x.p90_ms.toFixed(2)).padStart(17);
console.log(`store: ${s.services} services, ${s.observations} observations, ${s.entries} entries, ${(s.memory_used / 1048576).toFixed(1)} MiB`);
console.log("\n| ms (median / p90)             |      one service |     all services |");
console.log("|-------------------------------|------------------|------------------|");
const row = (n, a, b) => console.log(`| ${n.padEnd(29)} | ${f(a)} | ${f(b)} |`);
row("table, in process", r.in_process.table_one_service, r.in_process.table_all_services);
row("flame graph, in process", r.in_process.flamegraph_one_service, r.in_process.flamegraph_all_services);
if (r.mcp_http) {
  row("table, MCP HTTP", r.mcp_http.table_one_service, r.mcp_http.table_all_services);
  row("flame graph, MCP HTTP", r.mcp_http.flamegraph_one_service, r.mcp_http.flamegraph_all_services);
}
if (r.otelprofd_query_process) row("table, otelprofd query (proc)", r.otelprofd_query_process.table_one_service, r.otelprofd_query_process.table_all_services);
if (r.pprof) {
  row("pprof -top (proc)", r.pprof.pprof_top_one_service, r.pprof.pprof_top_all_services);
  row("go tool pprof -top (proc)", r.pprof.go_tool_pprof_top_one_service, r.pprof.go_tool_pprof_top_all_services);
}
console.log("\nratios (pprof median / ours median):");
for (const [k, v] of Object.entries(r.ratios)) console.log(`  ${k}: ${v}`);
console.log(`\nwritten: ${process.argv[2]}`);' "$WORK/query.json" "$RESULTS/query.json" "$SRC"
fi
[[ -z "${SKIP_INGEST:-}" ]] || exit 0

echo "== in-process ingest: $OTELPROFD_TESTDATA/otlp/cpu.pb"
"$BUILD_DIR/bench/bench_ingest" "$OTELPROFD_TESTDATA/otlp/cpu.pb" >"$WORK/inproc.json"

WIRE='null'
if [[ -z "${SKIP_WIRE:-}" ]] && command -v h2load >/dev/null && command -v node >/dev/null &&
    [[ -d "$SRC/tests/node_modules/@grpc/grpc-js" ]]; then
    echo "== over the wire: h2load -> otelprofd serve (gRPC)"
    cmake --build "$BUILD_DIR" -j2 --target otelprofd >/dev/null
    LIB="$SRC/tests/integration/lib"
    read -r GP HP MP < <(node -e '
const net = require("net"); const s = [];
(async () => { for (let i = 0; i < 3; i++) { const v = net.createServer(); s.push(v);
  await new Promise((r) => v.listen(0, "127.0.0.1", r)); }
  console.log(s.map((v) => v.address().port).join(" ")); s.forEach((v) => v.close()); })();')
    "$BUILD_DIR/otelprofd" serve --otlp-grpc "127.0.0.1:$GP" --otlp-http "127.0.0.1:$HP" \
        --mcp-http "127.0.0.1:$MP" 2>"$WORK/daemon.log" &
    DAEMON=$!
    for _ in $(seq 100); do
        [[ "$(curl -s --max-time 1 "http://127.0.0.1:$MP/healthz" || true)" == ok* ]] && break
        sleep 0.1
    done
    node "$LIB/otlp_time.mjs" "$OTELPROFD_TESTDATA/otlp/cpu.pb" "$WORK/cpu.pb"
    # A gRPC message on the wire: flag byte 0 (uncompressed), 4-byte big-endian length.
    node -e '
const fs = require("fs"); const m = fs.readFileSync(process.argv[1]);
const h = Buffer.alloc(5); h.writeUInt32BE(m.length, 1);
fs.writeFileSync(process.argv[2], Buffer.concat([h, m]));' "$WORK/cpu.pb" "$WORK/cpu.grpc"
    check="$(node "$LIB/send_grpc.mjs" "127.0.0.1:$GP" "$WORK/cpu.pb")"
    if [[ "$check" != *'"status":"OK"'* ]]; then
        echo "the daemon does not accept cpu.pb over gRPC ($check); skipping h2load" >&2
    else
        N="${H2LOAD_REQUESTS:-2000}"
        h2load -n "$N" -c "${H2LOAD_CLIENTS:-2}" -m "${H2LOAD_STREAMS:-4}" -t 1 -d "$WORK/cpu.grpc" \
            -H 'content-type: application/grpc' -H 'te: trailers' \
            "http://127.0.0.1:$GP/opentelemetry.proto.collector.profiles.v1development.ProfilesService/Export" \
            >"$WORK/h2load.txt" 2>&1 || true
        WIRE="$(node -e '
const t = require("fs").readFileSync(process.argv[1], "utf8");
const fin = /finished in ([\d.]+)s, ([\d.]+) req\/s/.exec(t);
const req = /requests: (\d+) total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed/.exec(t);
if (!fin || !req) { console.log("null"); process.exit(0); }
const size = Number(process.argv[2]), rps = Number(fin[2]);
console.log(JSON.stringify({ tool: "h2load", requests: +req[1], succeeded: +req[3], failed: +req[4],
  clients: +process.argv[3], streams_per_client: +process.argv[4], seconds: +fin[1],
  requests_per_s: rps, payload_bytes: size, mb_per_s: rps * size / 1e6 }));' \
            "$WORK/h2load.txt" "$(stat -c %s "$WORK/cpu.pb")" "${H2LOAD_CLIENTS:-2}" "${H2LOAD_STREAMS:-4}")"
        [[ "$WIRE" != null ]] || { echo "h2load output not understood:" >&2; cat "$WORK/h2load.txt" >&2; }
    fi
    kill -TERM "$DAEMON" 2>/dev/null || true
    wait "$DAEMON" 2>/dev/null || true
    DAEMON=""
fi

node -e '
const fs = require("fs");
const r = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
r.wire = JSON.parse(process.argv[2]);
r.host = { cpus: require("os").cpus().length, model: require("os").cpus()[0]?.model ?? "", date: new Date().toISOString() };
try { r.git = require("child_process").execSync("git -C " + process.argv[4] + " rev-parse --short HEAD").toString().trim(); } catch {}
fs.writeFileSync(process.argv[3], JSON.stringify(r, null, 2) + "\n");
const f = (x, d = 1) => Number(x).toFixed(d).padStart(12);
console.log("\n| measure                         |         MB/s |    samples/s |   us/request |");
console.log("|---------------------------------|--------------|--------------|--------------|");
console.log(`| (a) floor: protobuf-c unpack    | ${f(r.floor_unpack.mb_per_s)} | ${f(r.floor_unpack.samples_per_s, 0)} | ${f(r.floor_unpack.us_per_request)} |`);
console.log(`| (b) decode+validate+store       | ${f(r.end_to_end.mb_per_s)} | ${f(r.end_to_end.samples_per_s, 0)} | ${f(r.end_to_end.us_per_request)} |`);
console.log(`| ratio (b)/(a)                   | ${f(r.ratio_e2e_over_floor, 3)} |              |              |`);
if (r.wire) console.log(`| wire: h2load gRPC, ${String(r.wire.clients * r.wire.streams_per_client).padStart(2)} streams   | ${f(r.wire.mb_per_s)} | ${f(r.wire.requests_per_s * r.observations_per_request, 0)} | ${f(1e6 / r.wire.requests_per_s)} |`);
const m = r.memory;
console.log(`\nmemory: ${m.stacks} distinct stacks (depth ${m.depth}): ${m.nodes} nodes, ${m.entries} entries, ${m.memory_used} bytes`);
console.log(`  ${m.bytes_per_stack} B/unique stack, ${m.bytes_per_node} B/node, ${m.bytes_per_entry_all_in} B/entry all-in, ${m.bytes_per_entry_marginal} B/entry in a further bucket`);
if (r.wire) console.log(`wire: ${r.wire.succeeded}/${r.wire.requests} requests succeeded, ${r.wire.requests_per_s} req/s of ${r.wire.payload_bytes} bytes`);
console.log(`\nwritten: ${process.argv[3]}`);' "$WORK/inproc.json" "$WIRE" "$RESULTS/ingest.json" "$SRC"
