#!/usr/bin/env bash
# test_query_cli.sh — `otelprofd query TOOL '{json args}'` against a running daemon.
#
# The table text of a query equals the tool's text rendering; exit codes: 0 on success,
# 1 for an isError result (its text printed), 2 for usage errors, 3 when the daemon cannot
# be reached (saying how to start one). --json prints the structuredContent; with a token,
# --mcp-token is needed.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
need_tools

CPU_PB="$(shifted "$TD/otlp/cpu.pb")"
TOKEN="q-token-$RANDOM"
daemon_start Q --mcp-token "$TOKEN"
out="$(node "$LIB/send_grpc.mjs" "$Q_GRPC" "$CPU_PB")"
expect_eq "cpu.pb over gRPC: OK, nothing rejected" "OK 0" "$(jget "$out" status) $(rejected "$out")"

# q ARGS...: runs `otelprofd query` against Q; stdout in $WORK/q.out, stderr in $WORK/q.err,
# exit status in $RC.
q() {
    set +e
    "$OTELPROFD_BIN" query "$@" >"$WORK/q.out" 2>"$WORK/q.err"
    RC=$?
    set -e
}
URL="$Q_MCP/mcp"
SEL='{service.name=\"flate\"}'

q query_profile_table "{\"profile_type\":\"cpu:nanoseconds\",\"selector\":\"$SEL\",\"limit\":5}" \
    --connect "$URL" --mcp-token "$TOKEN"
expect_eq "query table: exit 0" 0 "$RC"
expect_eq "query table: header line" 'Top functions by flat, cpu:nanoseconds, {service.name="flate"}' \
    "$(head -n 1 "$WORK/q.out" | sed 's/, [^,]*$//')"
expect_contains "query table: totals line" "Total 16.77s over 1 series; 5 of 220 functions shown" "$(cat "$WORK/q.out")"
expect_contains "query table: columns (5 rows + (other))" "[6]{flat,flat%,cum,cum%,function,file,kind}:" "$(cat "$WORK/q.out")"
expect_contains "query table: the top row (huffSym 3.14s flat, 3.91s cum)" \
    "3.14s,18.72,3.91s,23.32,compress/flate.(*decompressor).huffSym," "$(cat "$WORK/q.out")"
expect_contains "query table: the (other) row" "(other)" "$(cat "$WORK/q.out")"

# The same through the environment token, and --json.
set +e
OTELPROFD_MCP_TOKEN="$TOKEN" "$OTELPROFD_BIN" query query_profile_table \
    "{\"profile_type\":\"cpu:nanoseconds\",\"selector\":\"$SEL\",\"limit\":500}" \
    --connect "$URL" --json >"$WORK/q.json" 2>"$WORK/q.err"
RC=$?
set -e
expect_eq "query --json (token from OTELPROFD_MCP_TOKEN): exit 0" 0 "$RC"
# The rows shown (the text budget may lower the limit) equal go tool pprof's, and
# other_flat is the flat of the rest.
check "query --json: structuredContent rows == compress_flate.cpu.cpu (go tool pprof -top), other_flat == the rest" \
    node --input-type=module -e '
const { parseTop } = await import(process.argv[1] + "/compare_top.mjs");
const fs = await import("node:fs");
const sc = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const exp = parseTop(fs.readFileSync(process.argv[3], "utf8"), "expected");
const bad = [];
const shown = new Set();
for (const x of sc.rows) {
  const e = exp.rows.get(x.function);
  shown.add(x.function);
  if (!e || e.flat !== BigInt(x.flat) || e.cum !== BigInt(x.cum)) bad.push(`${x.function}: ${x.flat}/${x.cum} vs ${e ? e.flat + "/" + e.cum : "absent"}`);
}
let rest = 0n;
for (const [n, e] of exp.rows) if (!shown.has(n)) rest += e.flat;
if (BigInt(sc.other_flat) !== rest) bad.push(`other_flat ${sc.other_flat}, pprof rest ${rest}`);
if (BigInt(sc.total) !== exp.total) bad.push(`total ${sc.total}, pprof ${exp.total}`);
if (sc.rows.length < 25) bad.push(`only ${sc.rows.length} rows for limit 500`);
if (bad.length) console.error(bad.slice(0, 6).join("\n"));
process.exit(bad.length ? 1 : 0);' "$LIB" "$WORK/q.json" "$TD/expected/compress_flate.cpu.cpu.top.txt"

q query_profile_table '{"selector":"{}"}' --connect "$URL" --mcp-token "$TOKEN"
expect_eq "query with an isError result: exit 1" 1 "$RC"
expect_contains "query with an isError result: the text names the types present" "cpu:nanoseconds" \
    "$(cat "$WORK/q.out" "$WORK/q.err")"

q query_profile_table '{"profile_type":' --connect "$URL" --mcp-token "$TOKEN"
expect_eq "query with broken JSON arguments: exit 2" 2 "$RC"

q --connect "$URL" --mcp-token "$TOKEN"
expect_eq "query without TOOL: exit 0" 0 "$RC"
for t in get_status query_profile_table query_profile_flamegraph export_pprof; do
    expect_contains "query without TOOL lists $t" "$t" "$(cat "$WORK/q.out")"
done

q get_status --connect "$URL"
if [[ $RC -ne 0 ]]; then pass "query without the token: fails ($RC)"; else fail "query without the token: exit 0"; fi
expect_contains "query without the token: says a token is needed" "token" "$(cat "$WORK/q.out" "$WORK/q.err" | tr '[:upper:]' '[:lower:]')"

q get_status --connect "$URL" --mcp-token "$TOKEN"
expect_eq "query get_status: exit 0" 0 "$RC"
expect_contains "query get_status: names cpu:nanoseconds" "cpu:nanoseconds" "$(cat "$WORK/q.out")"

port="$(free_ports 1)"
q get_status --connect "http://127.0.0.1:$port/mcp"
expect_eq "query against no daemon: exit 3" 3 "$RC"
expect_contains "query against no daemon: says how to start one" "otelprofd serve" "$(cat "$WORK/q.err")"

daemon_stop Q
summary
