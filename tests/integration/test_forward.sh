#!/usr/bin/env bash
# test_forward.sh — --forward: everything accepted is sent on as OTLP.
#
# An upstream otelprofd (U, --data-dir) forwards to a second otelprofd over gRPC (D) and to a
# plain node:http OTLP sink (lib/otlp_sink.mjs) that records every request it gets:
#   - `go tool pprof -top` of U and of D agree on a real profile; D holds exactly the
#     requests U acknowledged to independent senders (lib/wal_load.mjs, lib/wal_verify.mjs);
#     the sink got each of them once, gzip, with the --forward-header;
#   - both downstreams stopped, load continues, U is restarted in between (SIGTERM, exit 0
#     while retrying), the downstreams come back on the same ports: the backlog arrives,
#     totals exact;
#   - without --data-dir: a permanently rejecting destination (400) counts every request
#     as failed, a dead one keeps at most --forward-queue and counts what it dropped.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
need_tools
command -v go >/dev/null || die "go is not installed (go tool pprof is the reference)"

SEL="$(node -e 'console.log(encodeURIComponent(process.argv[1]))' '{service.name="wal-load"}')"
NEXT=1
SINKS=()
trap 'for p in "${SINKS[@]}"; do kill "$p" 2>/dev/null || true; done; cleanup' EXIT

load() {
    local name="$1" out="$2" h="${1}_HTTP" g="${1}_GRPC"
    shift 2
    node "$LIB/wal_load.mjs" --http "${!h}" --grpc "${!g}" --first "$NEXT" --out "$out" "$@" >/dev/null ||
        die "wal_load.mjs failed"
    NEXT="$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).next)' "$out")"
}

# start_sink NAME PORT MODE FILE: sets NAME_PORT and NAME_SPID.
start_sink() {
    local name="$1" i p
    node "$LIB/otlp_sink.mjs" --port "$2" --mode "$3" --out "$4" >"$WORK/$name.sink" 2>&1 &
    printf -v "${name}_SPID" '%s' "$!"
    SINKS+=("$!")
    for ((i = 0; i < 100; i++)); do
        p="$(sed -n 's/^port //p' "$WORK/$name.sink" 2>/dev/null || true)"
        [[ -n "$p" ]] && break
        sleep 0.1
    done
    [[ -n "$p" ]] || die "sink $name did not start: $(cat "$WORK/$name.sink")"
    printf -v "${name}_PORT" '%s' "$p"
}

# fmetric URL NAME DEST: a forwarder metric of one destination.
fmetric() {
    curl -s --max-time 5 "$1/metrics" | awk -v n="otelprofd_$2{destination=\"$3\"}" '$1 == n { print $2; f = 1 } END { if (!f) print "absent" }'
}

# wait_for DESC COMMAND...: polls (up to 60 s) until the command succeeds.
wait_for() {
    local desc="$1" i
    shift
    for ((i = 0; i < 600; i++)); do
        if "$@"; then
            pass "$desc"
            return 0
        fi
        sleep 0.1
    done
    fail "$desc (waited 60 s)"
}
drained() { [[ "$(metric "$1" forward_backlog_requests)" == 0 ]]; }

# sink_check DESC FILE RESULT...: every acknowledged id arrived exactly once, nothing else.
sink_check() {
    local desc="$1" file="$2" out
    shift 2
    if out="$(node -e '
const fs = require("fs");
const [file, ...results] = process.argv.slice(1);
const acked = new Set(), unknown = new Set();
for (const r of results) { const j = JSON.parse(fs.readFileSync(r)); j.acked.forEach((i) => acked.add(i)); j.unknown.forEach((i) => unknown.add(i)); }
const seen = new Map();
for (const line of fs.readFileSync(file, "utf8").split("\n").filter(Boolean))
  for (const id of JSON.parse(line).ids) seen.set(id, (seen.get(id) ?? 0) + 1);
const bad = [];
for (const id of acked) if (seen.get(id) !== 1) bad.push(`req_${id} arrived ${seen.get(id) ?? 0} times`);
for (const [id, n] of seen) if (!acked.has(id) && !(unknown.has(id) && n === 1)) bad.push(`req_${id} (not acknowledged) arrived ${n} times`);
console.log(JSON.stringify({ acked: acked.size, arrived: seen.size, problems: bad.slice(0, 5) }));
process.exit(bad.length ? 1 : 0);' "$file" "$@" 2>&1)"; then pass "$desc: $out"; else fail "$desc: $out"; fi
}

verify() {
    local desc="$1" m="${2}_MCP" out
    shift 2
    if out="$(node "$LIB/wal_verify.mjs" "${!m}/api/pprof?profile_type=cpu:nanoseconds&selector=$SEL" \
        "$WORK" "$@" 2>&1)"; then pass "$desc: $out"; else fail "$desc: $out"; fi
}

# 1. forwarding to a second otelprofd (gRPC) and to a node sink (OTLP/HTTP)
daemon_start D --data-dir "$WORK/dd"
start_sink S 0 ok "$WORK/sink.jsonl"
FWD=(--forward "grpc://$D_GRPC" --forward "http://127.0.0.1:$S_PORT" --forward-header X-Scope-OrgID=tenant-a)
daemon_start U --data-dir "$WORK/du" "${FWD[@]}"
cpu="$(shifted "$TD/otlp/cpu.pb")"
expect_eq "a real profile accepted upstream" 200 "$(http_post "$U_HTTP/v1development/profiles" "$cpu" application/x-protobuf)"
load U "$WORK/r1.json" --count 150 --ms 60000
wait_for "the backlog drains" drained "$U_MCP"
check "go tool pprof -top: upstream and downstream agree" node -e '
import("'"$LIB"'/mcp_lib.mjs").then(async (m) => {
  const { compareTop } = await import("'"$LIB"'/compare_top.mjs");
  const [u, d, work] = process.argv.slice(1);
  const q = "/api/pprof?profile_type=cpu:nanoseconds";
  const a = m.goTop(u + q, work), b = m.goTop(d + q, work);
  if (a.rows.size < 20) { console.error("only " + a.rows.size + " rows"); process.exit(1); }
  const diff = compareTop(a, b);
  if (diff.length) { console.error(diff.slice(0, 6).join("\n")); process.exit(1); }
});' "$U_MCP" "$D_MCP" "$WORK"
verify "downstream otelprofd holds exactly what upstream acknowledged" D "$WORK/r1.json"
sink_check "node sink got each acknowledged request once" "$WORK/sink.jsonl" "$WORK/r1.json"
expect_contains "the sink saw the --forward-header" '"x-scope-orgid":"tenant-a"' "$(head -n 1 "$WORK/sink.jsonl")"
expect_contains "the sink got gzip" '"content-encoding":"gzip"' "$(head -n 1 "$WORK/sink.jsonl")"
expect_eq "sent counted per destination" 151 "$(fmetric "$U_MCP" forward_sent_requests_total "http://127.0.0.1:$S_PORT")"

# 2. both downstreams away; upstream restarted while it retries; they come back
D_PORT="${D_GRPC##*:}"
daemon_stop D
kill "$S_SPID"
wait "$S_SPID" 2>/dev/null || true
load U "$WORK/r2.json" --count 100 --ms 60000
wait_for "retries counted while the destinations are away" \
    test "$(metric "$U_MCP" forward_retried_requests_total)" -gt 0
check "the backlog is reported" test "$(metric "$U_MCP" forward_backlog_requests)" -gt 0
daemon_stop U
daemon_start U "--data-dir" "$WORK/du" "${FWD[@]}"
load U "$WORK/r3.json" --count 50 --ms 60000
daemon_start D --data-dir "$WORK/dd" --otlp-grpc "127.0.0.1:$D_PORT"
start_sink S "$S_PORT" ok "$WORK/sink.jsonl"
wait_for "the backlog arrives once the destinations are back" drained "$U_MCP"
verify "downstream otelprofd: totals exact across outage and restart" D "$WORK/r1.json" \
    "$WORK/r2.json" "$WORK/r3.json"
sink_check "node sink: totals exact across outage and restart" "$WORK/sink.jsonl" \
    "$WORK/r1.json" "$WORK/r2.json" "$WORK/r3.json"
daemon_stop U

# 3. memory only: a rejecting destination, a dead one with a small queue
start_sink R 0 reject "$WORK/reject.jsonl"
start_sink A 0 unavailable "$WORK/away.jsonl"
daemon_start M --forward "http://127.0.0.1:$R_PORT" --forward "http://127.0.0.1:$A_PORT" \
    --forward-queue 1MiB
load M "$WORK/r4.json" --count 1000 --pad 4000 --ms 120000 --http-senders 4 --grpc-senders 0
acked="$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).acked.length)' "$WORK/r4.json")"
# the queue is shared: what the destination that is away holds back may also drop records
# the rejecting one had not read yet; each request is counted once, as failed or dropped
r_settled() {
    local f d
    f="$(fmetric "$M_MCP" forward_failed_requests_total "http://127.0.0.1:$R_PORT")"
    d="$(fmetric "$M_MCP" forward_dropped_requests_total "http://127.0.0.1:$R_PORT")"
    [[ "$f" =~ ^[0-9]+$ && "$d" =~ ^[0-9]+$ && $((f + d)) -eq $acked && $f -gt 0 ]]
}
wait_for "a rejecting destination: every request counted as failed (or dropped)" r_settled
check "a destination that is away: the oldest dropped past --forward-queue" \
    test "$(fmetric "$M_MCP" forward_dropped_requests_total "http://127.0.0.1:$A_PORT")" -gt 0
check "a destination that is away: backlog within --forward-queue" \
    test "$(fmetric "$M_MCP" forward_backlog_bytes "http://127.0.0.1:$A_PORT")" -le 1048576
daemon_stop M

summary
