#!/usr/bin/env bash
# test_ingest.sh — real profiles in over every OTLP transport, exact pprof answers out.
#
# cpu.pb over gRPC with gzip (grpc-js), mem.pb over HTTP protobuf (plain, then gzip: so
# every mem value counts twice), ebpf_style.json over HTTP JSON; then /debug/top must
# equal, value for value (lib/check_top.mjs, no tolerance):
# - for cpu.pb and mem.pb, both resources (flate, json) and every sample type:
#   `go tool pprof -top` (testdata/expected) and the reference computed from the bytes sent;
# - for ebpf_style: the go tool pprof total exactly (samples:count = flate 1,677, json
#   29,865; cpu:nanoseconds = that x 10 ms), and per function the reference computed from
#   the bytes sent (its unsymbolized locations answer by address, so per function pprof's
#   table of the symbolized original cannot be met by design).
# Finally cpu.json (HTTP JSON) and ebpf_style.pb (gRPC) into a fresh daemon, held to the
# same oracles.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
need_tools

CPU_PB="$(shifted "$TD/otlp/cpu.pb")"
MEM_PB="$(shifted "$TD/otlp/mem.pb")"
EBPF_JSON="$(shifted "$TD/otlp/ebpf_style.json")"
CPU_JSON="$(shifted "$TD/otlp/cpu.json")"
EBPF_PB="$(shifted "$TD/otlp/ebpf_style.pb")"
E="$TD/expected"

daemon_start A

# ---- ingest ----------------------------------------------------------------------------
out="$(node "$LIB/send_grpc.mjs" "$A_GRPC" "$CPU_PB" --gzip)"
expect_eq "cpu.pb over gRPC+gzip: status OK" "OK" "$(jget "$out" status)" || echo "  $out" >&2
expect_eq "cpu.pb over gRPC+gzip: nothing rejected" "0" "$(rejected "$out")"

code="$(http_post "$A_HTTP/v1development/profiles" "$MEM_PB" application/x-protobuf)"
expect_eq "mem.pb over HTTP protobuf: 200" "200" "$code"
expect_contains "mem.pb over HTTP protobuf: response is application/x-protobuf" \
    "application/x-protobuf" "$(tr '[:upper:]' '[:lower:]' <"$WORK/headers")"
expect_eq "mem.pb over HTTP protobuf: nothing rejected" "0" "$(rejected "$(response_json)")"

gzip -c "$MEM_PB" >"$WORK/mem.pb.gz"
code="$(http_post "$A_HTTP/v1development/profiles" "$WORK/mem.pb.gz" application/x-protobuf \
    -H 'Content-Encoding: gzip')"
expect_eq "mem.pb over HTTP protobuf+gzip: 200" "200" "$code"
expect_eq "mem.pb over HTTP protobuf+gzip: nothing rejected" "0" "$(rejected "$(response_json)")"

code="$(http_post "$A_HTTP/v1development/profiles" "$EBPF_JSON" 'application/json; charset=utf-8')"
expect_eq "ebpf_style.json over HTTP JSON: 200" "200" "$code"
expect_contains "ebpf_style.json over HTTP JSON: response is application/json" \
    "application/json" "$(tr '[:upper:]' '[:lower:]' <"$WORK/headers")"
expect_eq "ebpf_style.json over HTTP JSON: nothing rejected" "0" "$(rejected "$(response_json)")"

# ---- answers ----------------------------------------------------------------------------
# top LABEL ARGS...: one check_top.mjs comparison against daemon A.
top() {
    local label="$1"
    shift
    check "$label" node "$LIB/check_top.mjs" --base "$A_MCP" --label "$label" "$@"
}

for svc in flate:compress_flate json:encoding_json; do
    s="${svc%%:*}" f="${svc#*:}"
    sel="{service.name=\"$s\", host.name=\"node-a\"}"
    top "$s cpu:nanoseconds (cpu.pb, gRPC gzip)" --type cpu:nanoseconds --selector "$sel" \
        --file "$CPU_PB" --match service.name="$s" --match host.name=node-a \
        --expected "$E/$f.cpu.cpu.top.txt"
    top "$s samples:count (cpu.pb)" --type samples:count --selector "$sel" \
        --file "$CPU_PB" --match service.name="$s" --match host.name=node-a \
        --expected "$E/$f.cpu.samples.top.txt"

    sel="{service.name=\"$s\", host.name=\"node-b\"}"
    for t in alloc_space:bytes inuse_space:bytes alloc_objects:count inuse_objects:count; do
        top "$s $t (mem.pb, HTTP plain + gzip)" --type "$t" --selector "$sel" --repeat 2 \
            --file "$MEM_PB" --match service.name="$s" --match host.name=node-b \
            --expected "$E/$f.mem.${t%%:*}.top.txt"
    done

    sel="{service.name=\"$s\", host.name=\"node-c\"}"
    top "$s samples:count (ebpf_style.json, HTTP JSON)" --type samples:count --selector "$sel" \
        --file "$EBPF_JSON" --match service.name="$s" --match host.name=node-c \
        --expected-total "$E/$f.cpu.samples.top.txt" --save "$WORK/A.$s.ebpf.samples.txt"
    top "$s cpu:nanoseconds derived from samples x period (ebpf_style.json)" \
        --type cpu:nanoseconds --selector "$sel" \
        --file "$EBPF_JSON" --match service.name="$s" --match host.name=node-c \
        --expected-total "$E/$f.cpu.samples.top.txt" --scale 10000000 \
        --save "$WORK/A.$s.ebpf.cpu.txt"
    # Independent of any reference: the derived CPU answer is the count answer x period.
    check "$s ebpf cpu:nanoseconds == samples:count x 10 ms (daemon vs itself)" \
        node "$LIB/compare_top.mjs" --scale 10000000 --label "$s ebpf derived" \
        "$WORK/A.$s.ebpf.samples.txt" "$WORK/A.$s.ebpf.cpu.txt"
done

# The eBPF file keeps some locations unsymbolized: they must appear by address (which
# ones and with what values is held to the reference above; this says they are there).
for s in flate json; do
    n="$(grep -cE '^-?[0-9]+ -?[0-9]+ 0x[0-9a-fA-F]+$' "$WORK/A.$s.ebpf.samples.txt" || true)"
    if [[ "$n" -gt 0 ]]; then
        pass "$s: unsymbolized eBPF locations are listed by address ($n rows)"
    else
        fail "$s: unsymbolized eBPF locations are listed by address: no 0x... row in the answer"
    fi
done

rej="$(metric "$A_MCP" rejected_profiles_total)"
expect_eq "/metrics: otelprofd_rejected_profiles_total is 0" "0" "$rej"
recv="$(metric "$A_MCP" received_profiles_total)"
if [[ "$recv" =~ ^[0-9]+$ && "$recv" -ge 1 ]]; then
    pass "/metrics: otelprofd_received_profiles_total = $recv"
else
    fail "/metrics: otelprofd_received_profiles_total is '$recv'"
fi

daemon_stop A

# ---- cpu.json and ebpf_style.pb into a fresh daemon: the same oracles -----------------------
daemon_start B
code="$(http_post "$B_HTTP/v1development/profiles" "$CPU_JSON" application/json)"
expect_eq "cpu.json over HTTP JSON: 200" "200" "$code"
expect_eq "cpu.json over HTTP JSON: nothing rejected" "0" "$(rejected "$(response_json)")"
out="$(node "$LIB/send_grpc.mjs" "$B_GRPC" "$EBPF_PB")"
expect_eq "ebpf_style.pb over gRPC: status OK" "OK" "$(jget "$out" status)" || echo "  $out" >&2
expect_eq "ebpf_style.pb over gRPC: nothing rejected" "0" "$(rejected "$out")"
topB() {
    local label="$1"
    shift
    check "$label" node "$LIB/check_top.mjs" --base "$B_MCP" --label "$label" "$@"
}
for svc in flate:compress_flate json:encoding_json; do
    s="${svc%%:*}" f="${svc#*:}"
    sel="{service.name=\"$s\", host.name=\"node-a\"}"
    topB "$s cpu:nanoseconds (cpu.json, HTTP JSON)" --type cpu:nanoseconds --selector "$sel" \
        --file "$CPU_JSON" --match service.name="$s" --match host.name=node-a \
        --expected "$E/$f.cpu.cpu.top.txt"
    topB "$s samples:count (cpu.json, HTTP JSON)" --type samples:count --selector "$sel" \
        --file "$CPU_JSON" --match service.name="$s" --match host.name=node-a \
        --expected "$E/$f.cpu.samples.top.txt"
    sel="{service.name=\"$s\", host.name=\"node-c\"}"
    topB "$s samples:count (ebpf_style.pb, gRPC)" --type samples:count --selector "$sel" \
        --file "$EBPF_PB" --match service.name="$s" --match host.name=node-c \
        --expected-total "$E/$f.cpu.samples.top.txt"
    topB "$s cpu:nanoseconds derived (ebpf_style.pb, gRPC)" --type cpu:nanoseconds --selector "$sel" \
        --file "$EBPF_PB" --match service.name="$s" --match host.name=node-c \
        --expected-total "$E/$f.cpu.samples.top.txt" --scale 10000000
done
daemon_stop B

# ---- samples the windows drop are said in the partial success -------------------------
# cpu.pb as recorded (times at T0, long past) is valid but older than the 1 h retention:
# the answer keeps rejected_profiles 0 (nothing invalid) and says in error_message how many
# samples were not stored; the same shifted 2 h into the future is too new. The expected
# count comes from the independent wire reader (otlp_inspect.mjs), not from otelprofd.
OBS="$(node --input-type=module -e '
import { inspect } from "'"$LIB"'/otlp_inspect.mjs";
import { readFileSync } from "node:fs";
const r = inspect(readFileSync(process.argv[1]));
console.log(r.profiles.reduce((n, p) => n + Number(p.observations), 0));' "$TD/otlp/cpu.pb")"
OLD_MSG="$OBS of $OBS samples older than the retention (1h) were not stored"
NEW_MSG="$OBS of $OBS samples more than 1h in the future were not stored"
node "$LIB/otlp_time.mjs" "$TD/otlp/cpu.pb" "$WORK/future.cpu.pb" --base-offset-ns 7200000000000 ||
    die "otlp_time.mjs failed"
daemon_start C

# ps_check LABEL RESPONSE_JSON MESSAGE: rejected_profiles 0 and exactly that error_message.
ps_check() {
    expect_eq "$1: rejected_profiles 0" 0 "$(rejected "$2")"
    expect_eq "$1: error_message" "$3" "$(jget "$2" partial_success.error_message)"
}
out="$(node "$LIB/send_grpc.mjs" "$C_GRPC" "$TD/otlp/cpu.pb" --gzip)"
expect_eq "old cpu.pb over gRPC (grpc-js): status OK" OK "$(jget "$out" status)"
ps_check "old cpu.pb over gRPC (grpc-js)" "$out" "$OLD_MSG"
code="$(http_post "$C_HTTP/v1development/profiles" "$TD/otlp/cpu.pb" application/x-protobuf)"
expect_eq "old cpu.pb over HTTP protobuf (curl): 200" 200 "$code"
ps_check "old cpu.pb over HTTP protobuf (curl)" "$(response_json)" "$OLD_MSG"
code="$(http_post "$C_HTTP/v1development/profiles" "$TD/otlp/cpu.json" application/json)"
expect_eq "old cpu.json over HTTP JSON (curl): 200" 200 "$code"
expect_contains "old cpu.json over HTTP JSON: proto3 JSON names" '"partialSuccess":{"rejectedProfiles":"0","errorMessage":' \
    "$(cat "$WORK/body")"
ps_check "old cpu.json over HTTP JSON (curl)" "$(response_json)" "$OLD_MSG"
out="$(node "$LIB/send_grpc.mjs" "$C_GRPC" "$WORK/future.cpu.pb")"
ps_check "cpu.pb 2 h in the future over gRPC (grpc-js)" "$out" "$NEW_MSG"
code="$(http_post "$C_HTTP/v1development/profiles" "$WORK/future.cpu.pb" application/x-protobuf)"
ps_check "cpu.pb 2 h in the future over HTTP protobuf (curl)" "$(response_json)" "$NEW_MSG"
expect_eq "/metrics: rejected_samples_total{reason=\"too_old\"} counts all three" $((3 * OBS)) \
    "$(metric "$C_MCP" 'rejected_samples_total{reason="too_old"}')"
expect_eq "/metrics: rejected_samples_total{reason=\"too_new\"} counts both" $((2 * OBS)) \
    "$(metric "$C_MCP" 'rejected_samples_total{reason="too_new"}')"
expect_eq "/metrics: nothing was rejected as invalid" 0 "$(metric "$C_MCP" rejected_profiles_total)"
expect_contains "the daemon logs the drop" "$OLD_MSG" "$(cat "$C_LOG")"
daemon_stop C

summary
