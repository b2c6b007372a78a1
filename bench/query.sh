#!/usr/bin/env bash
# bench/query.sh — build (Release) and run bench_query: query latency over one hour of data
# for 50 services at 100 samples/s, per tool (table, flame graph, sandwich, diff) x range
# (1 min, 15 min, 1 h) x scope (one service, all services), in process and (table, flame
# graph) over MCP Streamable HTTP, against go tool pprof on the same data exported as one
# pprof per service; then how table and flame graph cost grow with the number of services
# and the retention filled. Prints tables and writes bench/results/query.json.
#
# Env: BUILD_DIR (default <repo>/build-bench), OTELPROFD_TESTDATA, BENCH_SERVICES (50),
#      BENCH_REPS (15), BENCH_PEER_REPS (9), BENCH_SKIP_SCALING=1, BENCH_QUICK=1 (~1 min
#      smoke run: 10 services, fewer repetitions, smaller scaling grid).
# Benchmarks are never assertions: this script fails only when something does not run.
set -euo pipefail
SRC="$(cd "$(dirname "$0")/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$SRC/build-bench}"
: "${OTELPROFD_TESTDATA:=$SRC/../shared/testdata}"
export OTELPROFD_TESTDATA
RESULTS="$SRC/bench/results"
mkdir -p "$RESULTS"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/otelprofd-bench-query.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

echo "== build (Release) in $BUILD_DIR"
cmake -S "$SRC" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
cmake --build "$BUILD_DIR" -j2 --target bench_query otelprofd >/dev/null
echo "== queries: one hour x 100 Hz per service, vs go tool pprof${BENCH_QUICK:+ (quick)}"
"$BUILD_DIR/bench/bench_query" "$OTELPROFD_TESTDATA/otlp/cpu.pb" "$BUILD_DIR/otelprofd" >"$WORK/query.json"
node -e '
const fs = require("fs");
const r = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
r.host = { cpus: require("os").cpus().length, model: require("os").cpus()[0]?.model ?? "", date: new Date().toISOString() };
try { r.git = require("child_process").execSync("git -C " + process.argv[3] + " rev-parse --short HEAD").toString().trim(); } catch {}
const one = r.cells.table["1h"].one.ours;
r.method = "median and p90 of " + one.runs + " runs after one warm-up (pprof: " + (r.cells.table["1h"].one.pprof?.runs ?? "-") + " runs); " +
  "ours = tools_call_text in process (argument parsing, win_merge, the query, text rendering); mcp_http = JSON-RPC tools/call over loopback " +
  "Streamable HTTP (mcp_client -> mcp_http in one process); pprof = wall time of $(go env GOTOOLDIR)/pprof as a process (stdout to /dev/null) " +
  "on one gzipped pprof per service exported from the same store for the same range (all services: every file given, pprof merges them). " +
  "Nearest pprof report per tool: table = -top; flame graph = -traces (pprof has no text flame graph; -traces prints every stack with its " +
  "value, i.e. the data a flame graph is drawn from; -tree is a caller/callee graph, not a tree); sandwich = -peek ^fn$ (callers and callees " +
  "of one function); diff = -top -diff_base (first half of the range as base, second half as profile, one -diff_base per service). " +
  "ratio = pprof median / ours median. Ranges end at the newest data: 1m, 15m, 1h; diff compares the two halves of the range.";
fs.writeFileSync(process.argv[2], JSON.stringify(r, null, 2) + "\n");
const s = r.store;
console.log(`store: ${s.services} services, ${s.observations} observations, ${s.entries} entries, ${s.nodes} nodes, ${(s.memory_used / 1048576).toFixed(1)} MiB`);
const ms = (x) => (x == null ? "-" : x.median_ms.toFixed(2));
const cellTxt = (c, k) => c[k] == null ? "-".padStart(20) : `${ms(c[k]).padStart(8)} ${ms(c.pprof).padStart(8)} ${(c.pprof ? (c.pprof.median_ms / c[k].median_ms).toFixed(0) + "x" : "-").padStart(5)}`.padStart(20);
console.log("\nms: ours / pprof / ratio (pprof median over ours; target >= 20x)");
console.log("| tool x range, way          |          one service |         all services |");
console.log("|----------------------------|----------------------|----------------------|");
for (const [tool, ranges] of Object.entries(r.cells)) {
  for (const [range, c] of Object.entries(ranges)) {
    console.log(`| ${(tool + " " + range + ", in process").padEnd(26)} | ${cellTxt(c.one, "ours")} | ${cellTxt(c.all, "ours")} |`);
    if (c.one.mcp_http) console.log(`| ${(tool + " " + range + ", MCP HTTP").padEnd(26)} | ${cellTxt(c.one, "mcp_http")} | ${cellTxt(c.all, "mcp_http")} |`);
  }
}
const fg = r.flamegraph_all_services_1h_ms;
console.log(`\nflame graph, all services, 1 h: ${fg.toFixed(2)} ms (target < 50 ms: ${fg < 50 ? "met" : "MISSED"})`);
let worst = null;
for (const [tool, ranges] of Object.entries(r.cells)) for (const [range, c] of Object.entries(ranges)) for (const sc of ["one", "all"])
  if (c[sc].ratio != null && (worst == null || c[sc].ratio < worst.ratio)) worst = { tool, range, sc, ratio: c[sc].ratio };
if (worst) console.log(`lowest ratio: ${worst.ratio}x (${worst.tool} ${worst.range} ${worst.sc}; target >= 20x)`);
const sd = r.diff_service_vs_service_1h;
if (sd) console.log(`diff one service vs another, 1 h: ours ${ms(sd.ours)} ms, pprof -top -diff_base ${ms(sd.pprof)} ms` + (sd.ratio != null ? `, ratio ${sd.ratio}x` : ""));
if (r.otelprofd_query_process) console.log(`otelprofd query (process), table 1 h: one ${ms(r.otelprofd_query_process.table_one_service_1h)} ms, all ${ms(r.otelprofd_query_process.table_all_services_1h)} ms`);
if (r.go_tool_pprof) console.log(`go tool pprof -top (with the go launcher), 1 h: one ${ms(r.go_tool_pprof.top_one_service_1h)} ms, all ${ms(r.go_tool_pprof.top_all_services_1h)} ms`);
if (r.scaling) {
  console.log("\nscaling, whole store, all services (ms, median):");
  console.log("| services | filled |   entries |  nodes |  merge |  table | flame graph | ns/entry (table) |");
  console.log("|----------|--------|-----------|--------|--------|--------|-------------|------------------|");
  for (const x of r.scaling) console.log(`| ${String(x.services).padStart(8)} | ${(x.minutes + " min").padStart(6)} | ${String(x.entries).padStart(9)} | ${String(x.nodes).padStart(6)} | ${ms(x.merge).padStart(6)} | ${ms(x.table).padStart(6)} | ${ms(x.flamegraph).padStart(11)} | ${x.ns_per_entry_table.toFixed(2).padStart(16)} |`);
}
console.log(`\nwritten: ${process.argv[2]}`);' "$WORK/query.json" "$RESULTS/query.json" "$SRC"
