#!/usr/bin/env bash
# test_send.sh — `otelprofd send` (pprof -> OTLP over gRPC and OTLP/HTTP) and `serve --demo`.
#
# Round trip: the Go runtime's pprof files are sent, exported back through /api/pprof, and
# `go tool pprof -top` of the original and of the export agree function by function (flat
# and cum) for every sample type. A receiver nobody runs gives exit 3 after the retries; a
# receiver that refuses gives exit 1. `serve --demo` answers query_profile_table for the
# bundled compress_flate profile through `otelprofd query`.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
need_tools
command -v go >/dev/null || die "go is not installed (go tool pprof is the reference)"

PP="$TD/pprof"
daemon_start S

# run_send ARGS...: `otelprofd send`; stdout in $WORK/send.out, stderr in $WORK/send.err,
# exit status in $RC.
run_send() {
    set +e
    "$OTELPROFD_BIN" send "$@" >"$WORK/send.out" 2>"$WORK/send.err"
    RC=$?
    set -e
}

run_send --endpoint "$S_GRPC" --resource service.name=grpc_flate --resource env=test --time-now \
    "$PP/compress_flate.cpu.pb.gz"
expect_eq "send over gRPC: exit 0" 0 "$RC"
expect_eq "send over gRPC: the report line" \
    "sent $PP/compress_flate.cpu.pb.gz: 2 profiles, 1578 samples; accepted" "$(cat "$WORK/send.out")"

run_send --http --endpoint "${S_HTTP#http://}" --resource service.name=http_flate --time-now \
    "$PP/compress_flate.mem.pb.gz"
expect_eq "send --http: exit 0" 0 "$RC"
expect_contains "send --http: accepted, 4 profiles" "compress_flate.mem.pb.gz: 4 profiles," \
    "$(cat "$WORK/send.out")"
expect_contains "send --http: accepted" "; accepted" "$(cat "$WORK/send.out")"

# Without --resource service.name the file name names the service.
run_send --endpoint "$S_GRPC" --time-now "$PP/encoding_json.cpu.pb.gz"
expect_eq "send without service.name: exit 0" 0 "$RC"

# roundtrip_eq LABEL ORIGINAL SAMPLE_INDEX UNIT PROFILE_TYPE SERVICE: go tool pprof -top
# of the original pprof equals that of /api/pprof for the service.
roundtrip_eq() {
    local sel url
    sel="$(node -e 'console.log(encodeURIComponent(process.argv[1]))' "{service.name=\"$6\"}")"
    url="$S_MCP/api/pprof?profile_type=$5&selector=$sel"
    check "$1" node -e '
import("'"$LIB"'/mcp_lib.mjs").then(async (m) => {
  const { compareTop } = await import("'"$LIB"'/compare_top.mjs");
  const [orig, url, work, si, unit] = process.argv.slice(1);
  let d;
  try {
    const a = m.goTop(orig, work, ["-sample_index=" + si, "-unit=" + unit]);
    const b = m.goTop(url, work, ["-unit=" + unit]);
    if (a.rows.size < 3) throw new Error("original has only " + a.rows.size + " rows");
    d = compareTop(a, b);
  } catch (e) { console.error(e.message.slice(0, 600)); process.exit(1); }
  if (d.length) console.error(d.slice(0, 6).join("\n"));
  process.exit(d.length ? 1 : 0);
});' "$2" "$url" "$WORK" "$3" "$4"
}
roundtrip_eq "gRPC round trip: go tool pprof -top cpu == original" \
    "$PP/compress_flate.cpu.pb.gz" cpu nanoseconds cpu:nanoseconds grpc_flate
roundtrip_eq "gRPC round trip: go tool pprof -top samples == original" \
    "$PP/compress_flate.cpu.pb.gz" samples count samples:count grpc_flate
for t in alloc_space:bytes alloc_objects:count inuse_space:bytes inuse_objects:count; do
    roundtrip_eq "HTTP round trip: go tool pprof -top ${t%%:*} == original" \
        "$PP/compress_flate.mem.pb.gz" "${t%%:*}" "${t#*:}" "$t" http_flate
done
roundtrip_eq "service.name from the file name: encoding_json cpu == original" \
    "$PP/encoding_json.cpu.pb.gz" cpu nanoseconds cpu:nanoseconds encoding_json

# Nobody listens: UNAVAILABLE / connection refused, retried, then exit 3.
read -r DEAD < <(free_ports 1)
run_send --endpoint "127.0.0.1:$DEAD" --retries 2 "$PP/compress_flate.cpu.pb.gz"
expect_eq "send to a dead port over gRPC: exit 3" 3 "$RC"
expect_contains "send to a dead port: retried twice" "retry 2 of 2" "$(cat "$WORK/send.err")"
expect_contains "send to a dead port: says unreachable" "unreachable after 2 retries" \
    "$(cat "$WORK/send.err")"
run_send --http --endpoint "127.0.0.1:$DEAD" --retries 1 "$PP/compress_flate.cpu.pb.gz"
expect_eq "send --http to a dead port: exit 3" 3 "$RC"

# The receiver comes up while send is retrying: the retry delivers it.
read -r LATE < <(free_ports 1)
"$OTELPROFD_BIN" send --endpoint "127.0.0.1:$LATE" --retries 6 --time-now \
    --resource service.name=late "$PP/compress_flate.cpu.pb.gz" >"$WORK/late.out" 2>"$WORK/late.err" &
LATE_PID=$!
sleep 0.5
daemon_start L --otlp-grpc "127.0.0.1:$LATE"
LATE_RC=0
wait "$LATE_PID" || LATE_RC=$?
expect_eq "send while the receiver starts: exit 0 after retries" 0 "$LATE_RC"
expect_contains "send while the receiver starts: it retried" "retry 1 of 6" "$(cat "$WORK/late.err")"
expect_contains "send while the receiver starts: accepted" "; accepted" "$(cat "$WORK/late.out")"
daemon_stop L

# A server that answers but is no OTLP receiver (the MCP port: 404): exit 1, no retry.
run_send --http --endpoint "${S_MCP#http://}" "$PP/compress_flate.cpu.pb.gz"
expect_eq "send --http to a non-OTLP server: exit 1" 1 "$RC"
expect_contains "send --http to a non-OTLP server: the HTTP status" "HTTP 404" "$(cat "$WORK/send.out")"

# A pprof the receiver rejects: samples:count with a cpu:nanoseconds period of 2^62, so
# the derived CPU time overflows int64 -> partial success, reported, exit 1.
node -e '
const varint = (v) => { v = BigInt(v); const b = []; do { let x = Number(v & 0x7fn); v >>= 7n; if (v) x |= 0x80; b.push(x); } while (v); return b; };
const fld = (n, bytes) => [...varint((n << 3) | 2), ...varint(bytes.length), ...bytes];
const num = (n, v) => [...varint(n << 3), ...varint(v)];
const str = (s) => [...Buffer.from(s)];
const p = [
  ...fld(1, [...num(1, 1), ...num(2, 2)]),
  ...fld(2, [...fld(1, varint(1)), ...fld(2, varint(4))]),
  ...fld(4, [...num(1, 1), ...fld(4, num(1, 1))]),
  ...fld(5, [...num(1, 1), ...num(2, 5)]),
  ...["", "samples", "count", "cpu", "nanoseconds", "main"].flatMap((s) => fld(6, str(s))),
  ...fld(11, [...num(1, 3), ...num(2, 4)]),
  ...num(12, 1n << 62n),
];
require("fs").writeFileSync(process.argv[1], Buffer.from(p));' "$WORK/overflow.pb"
run_send --endpoint "$S_GRPC" --time-now "$WORK/overflow.pb"
expect_eq "send a profile the receiver rejects: exit 1" 1 "$RC"
expect_contains "send a rejected profile: the partial success" \
    "overflow.pb: 1 profiles, 1 samples; partial success: 1 profiles rejected: " "$(cat "$WORK/send.out")"
expect_contains "send a rejected profile: the receiver's reason" "overflows int64" "$(cat "$WORK/send.out")"
run_send --http --endpoint "${S_HTTP#http://}" --time-now "$WORK/overflow.pb"
expect_eq "send --http a profile the receiver rejects: exit 1" 1 "$RC"
expect_contains "send --http a rejected profile: the partial success" \
    "partial success: 1 profiles rejected: " "$(cat "$WORK/send.out")"

# ---- samples the receiver drops: it says so, and so does send ----------------------------
# The Go runtime wrote these files long ago: without --time-now every sample is older than
# the default 1 h retention. Nothing is invalid, so no profile is rejected; the receiver
# says in partial_success.error_message what it did not store, and send, as nothing of the
# file was stored, prints it with a hint and exits 1. Its own count of what it sent (1578)
# must equal the receiver's.
OLD_LINE="sent $PP/compress_flate.cpu.pb.gz: 2 profiles, 1578 samples; nothing stored: 1578 of 1578 samples older than the retention (1h) were not stored"
run_send --endpoint "$S_GRPC" --retries 0 "$PP/compress_flate.cpu.pb.gz"
expect_eq "send an old pprof without --time-now over gRPC: exit 1" 1 "$RC"
expect_eq "send an old pprof over gRPC: the report line gives the receiver's counts" "$OLD_LINE" \
    "$(cat "$WORK/send.out")"
expect_contains "send an old pprof: the hint names --time-now" \
    "hint: the profiles keep the time the pprof was recorded (time_nanos); --time-now stamps them with the send time" \
    "$(cat "$WORK/send.err")"
run_send --http --endpoint "${S_HTTP#http://}" --retries 0 "$PP/compress_flate.cpu.pb.gz"
expect_eq "send --http an old pprof without --time-now: exit 1" 1 "$RC"
expect_eq "send --http an old pprof: the report line" "$OLD_LINE" "$(cat "$WORK/send.out")"
expect_contains "send --http an old pprof: the hint" "--time-now" "$(cat "$WORK/send.err")"
expect_eq "/metrics: the dropped samples are counted too old" 3156 \
    "$(metric "$S_MCP" 'rejected_samples_total{reason="too_old"}')"
run_send --endpoint "$S_GRPC" --retries 0 --time-now "$PP/compress_flate.cpu.pb.gz"
expect_eq "the same pprof with --time-now: exit 0" 0 "$RC"
expect_contains "the same pprof with --time-now: accepted" "1578 samples; accepted" "$(cat "$WORK/send.out")"
expect_eq "the same pprof with --time-now: no hint" "" "$(cat "$WORK/send.err")"
expect_contains "send --help documents the exit status" "1  a profile rejected, nothing of a file stored" \
    "$("$OTELPROFD_BIN" send --help)"

# How send reads other answers, from an independent receiver (node:http + grpc-js) that
# answers every export with a given partial success: part of the samples dropped (exit 0,
# warning and hint), another receiver's wording (exit 0, warning, no hint), all dropped for
# a clock far ahead (exit 1).
SINK_PID=
SINKS=0
# answer_sink REJECTED MESSAGE: (re)starts lib/answer_sink.mjs; sets ANS_GRPC, ANS_HTTP.
answer_sink() {
    [[ -z "$SINK_PID" ]] || kill "$SINK_PID" 2>/dev/null || true
    SINKS=$((SINKS + 1))
    local out="$WORK/ans$SINKS.out" i # a file of its own: the last one may still be written
    node "$LIB/answer_sink.mjs" --rejected "$1" --message "$2" >"$out" 2>"$WORK/ans.err" &
    SINK_PID=$!
    DAEMONS+=("$SINK_PID")
    for ((i = 0; i < 100; i++)); do
        [[ -s "$out" ]] && break
        kill -0 "$SINK_PID" 2>/dev/null || die "answer_sink.mjs exited: $(cat "$WORK/ans.err")"
        sleep 0.1
    done
    ANS_GRPC="127.0.0.1:$(jget "$(head -1 "$out")" grpc)"
    ANS_HTTP="127.0.0.1:$(jget "$(head -1 "$out")" http)"
}
answer_sink 0 "700 of 1578 samples older than the retention (1h) were not stored"
run_send --endpoint "$ANS_GRPC" --retries 0 "$PP/compress_flate.cpu.pb.gz"
expect_eq "some samples dropped: exit 0" 0 "$RC"
expect_contains "some samples dropped: the warning" \
    "1578 samples; accepted with a warning: 700 of 1578 samples older than the retention (1h) were not stored" \
    "$(cat "$WORK/send.out")"
expect_contains "some samples dropped: the hint" "--time-now" "$(cat "$WORK/send.err")"
run_send --http --endpoint "$ANS_HTTP" --retries 0 "$PP/compress_flate.cpu.pb.gz"
expect_eq "some samples dropped, over HTTP: exit 0" 0 "$RC"
answer_sink 0 "exporter queue 80% full"
run_send --endpoint "$ANS_GRPC" --retries 0 --time-now "$PP/compress_flate.cpu.pb.gz"
expect_eq "another receiver's warning: exit 0" 0 "$RC"
expect_contains "another receiver's warning: printed" "; accepted with a warning: exporter queue 80% full" \
    "$(cat "$WORK/send.out")"
expect_eq "another receiver's warning: no hint" "" "$(cat "$WORK/send.err")"
answer_sink 0 "1578 of 1578 samples more than 1h in the future were not stored"
run_send --http --endpoint "$ANS_HTTP" --retries 0 --time-now "$PP/compress_flate.cpu.pb.gz"
expect_eq "every sample too far in the future: exit 1" 1 "$RC"
expect_contains "every sample too far in the future: nothing stored" "; nothing stored: 1578 of 1578" \
    "$(cat "$WORK/send.out")"
expect_contains "every sample too far in the future, with --time-now: the clocks differ" \
    "hint: this machine's clock and the receiver's differ by more than its retention" \
    "$(cat "$WORK/send.err")"
kill "$SINK_PID" 2>/dev/null || true

# Broken input and usage.
printf 'not a profile' >"$WORK/junk.pb"
run_send --endpoint "$S_GRPC" "$WORK/junk.pb"
expect_eq "send a non-pprof file: exit 1" 1 "$RC"
expect_contains "send a non-pprof file: says so" "not a pprof profile" "$(cat "$WORK/send.err")"
run_send --endpoint "$S_GRPC"
expect_eq "send without files: exit 2" 2 "$RC"
run_send --resource novalue "$PP/compress_flate.cpu.pb.gz"
expect_eq "send --resource without =: exit 2" 2 "$RC"
daemon_stop S

# ---- serve --demo ---------------------------------------------------------------------
daemon_start D --demo
expect_contains "--demo logs what it loaded" \
    "loaded compress_flate.cpu.pb.gz as service.name=compress_flate" "$(cat "$D_LOG")"
set +e
"$OTELPROFD_BIN" query query_profile_table \
    '{"profile_type":"cpu:nanoseconds","selector":"{service.name=\"compress_flate\"}","limit":5}' \
    --connect "$D_MCP/mcp" >"$WORK/demo.out" 2>"$WORK/demo.err"
RC=$?
set -e
expect_eq "--demo: query_profile_table exit 0" 0 "$RC"
expect_contains "--demo: compress_flate total (go tool pprof: 16.77s)" "Total 16.77s over 1 series" \
    "$(cat "$WORK/demo.out")"
expect_contains "--demo: the top row is huffSym (3.14s flat, 3.91s cum)" \
    "3.14s,18.72,3.91s,23.32,compress/flate.(*decompressor).huffSym," "$(cat "$WORK/demo.out")"
# get_status counts what --demo stored (it once said "0 profiles received" beside the data):
# the text, structuredContent and /metrics agree with the profiles the log says were loaded.
DEMO_PROFILES="$(sed -n 's/.*--demo: loaded .* (\([0-9]*\) profiles, .*/\1/p' "$D_LOG" | awk '{s += $1} END {print s + 0}')"
DEMO_SAMPLES="$(sed -n 's/.*--demo: loaded .* profiles, \([0-9]*\) samples).*/\1/p' "$D_LOG" | awk '{s += $1} END {print s + 0}')"
if [[ "$DEMO_PROFILES" -gt 0 && "$DEMO_SAMPLES" -gt 0 ]]; then
    pass "--demo: the log says $DEMO_PROFILES profiles, $DEMO_SAMPLES samples loaded"
else
    fail "--demo: no profile counts in the log: $(grep -- '--demo' "$D_LOG" | head -3)"
fi
set +e
"$OTELPROFD_BIN" query get_status --connect "$D_MCP/mcp" >"$WORK/status.out" 2>&1
"$OTELPROFD_BIN" query get_status --connect "$D_MCP/mcp" --json >"$WORK/status.json" 2>&1
set -e
expect_contains "--demo: get_status text counts the preloaded profiles" \
    "Ingest: $DEMO_PROFILES profiles received ($DEMO_PROFILES preloaded by --demo), 0 rejected; $DEMO_SAMPLES samples received, $DEMO_SAMPLES stored" \
    "$(cat "$WORK/status.out")"
st="$(cat "$WORK/status.json")"
expect_eq "--demo: structuredContent received/preloaded profiles, stored/preloaded samples" \
    "$DEMO_PROFILES $DEMO_PROFILES $DEMO_SAMPLES $DEMO_SAMPLES" \
    "$(jget "$st" received_profiles) $(jget "$st" preloaded_profiles) $(jget "$st" stored_samples) $(jget "$st" preloaded_samples)"
expect_eq "--demo: /metrics received and preloaded profiles, received samples" \
    "$DEMO_PROFILES $DEMO_PROFILES $DEMO_SAMPLES" \
    "$(metric "$D_MCP" received_profiles_total) $(metric "$D_MCP" preloaded_profiles_total) $(metric "$D_MCP" received_samples_total)"
daemon_stop D

set +e
OTELPROFD_DEMO_DIR="$WORK/nothing-here" "$OTELPROFD_BIN" serve --demo --otlp-grpc off \
    --otlp-http off --mcp-http off >/dev/null 2>"$WORK/nodemo.err"
RC=$?
set -e
expect_eq "--demo with an empty OTELPROFD_DEMO_DIR: exit 1" 1 "$RC"
expect_contains "--demo with a missing folder: names it" "nothing-here" "$(cat "$WORK/nodemo.err")"

summary
