#!/usr/bin/env bash
# test_bad_input.sh — hostile and malformed OTLP requests, over both transports.
#
# Undecodable -> 400 / INVALID_ARGUMENT; one invalid profile among valid ones -> 200 with
# partial_success naming the first problem by path, and the valid neighbour stored;
# negative indices; over --max-message-size (also a small gzip that inflates past it) ->
# 413 / RESOURCE_EXHAUSTED; v1.9-numbered samples named as such; 415; 405; an empty
# request succeeds. Afterwards the daemon must still be healthy and accept good data.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
need_tools

R="$WORK/req"
node "$LIB/make_requests.mjs" "$R"
URL_PATH=/v1development/profiles
daemon_start D --max-message-size 1MiB
URL="$D_HTTP$URL_PATH"

# expect_top_100 LABEL SERVICE: the service's cpu:nanoseconds answer is exactly
# main -> foo = 100 (the valid profile of the request, nothing of the invalid one).
printf 'total 100\n100 100 foo\n0 100 main\n' >"$WORK/expect100.txt"
expect_top_100() {
    if get_top "$D_MCP" cpu:nanoseconds "{service.name=\"$2\"}" "$WORK/top.$2.txt"; then
        check "$1" node "$LIB/compare_top.mjs" --label "$1" "$WORK/expect100.txt" "$WORK/top.$2.txt"
    else
        fail "$1: /debug/top failed"
    fi
}

# ---- undecodable ---------------------------------------------------------------------
head -c 1000 "$TD/otlp/cpu.pb" >"$WORK/truncated.pb"
out="$(node "$LIB/send_grpc.mjs" "$D_GRPC" "$WORK/truncated.pb")"
expect_eq "truncated protobuf over gRPC: INVALID_ARGUMENT" INVALID_ARGUMENT "$(jget "$out" status)"
code="$(http_post "$URL" "$WORK/truncated.pb" application/x-protobuf)"
expect_eq "truncated protobuf over HTTP: 400" 400 "$code"
printf '{"resourceProfiles": [ {"scopeProfiles": [' >"$WORK/truncated.json"
code="$(http_post "$URL" "$WORK/truncated.json" application/json)"
expect_eq "truncated JSON over HTTP: 400" 400 "$code"

# ---- one invalid profile among valid ones ----------------------------------------------
code="$(http_post "$URL" "$R/oor.pb" application/x-protobuf)"
expect_eq "out-of-range stack_index over HTTP: 200 (partial success)" 200 "$code"
resp="$(response_json)"
expect_eq "out-of-range stack_index: rejected_profiles=1" 1 "$(rejected "$resp")"
msg="$(jget "$resp" partial_success.error_message)"
expect_contains "out-of-range stack_index: error_message names the path" \
    "resource_profiles[0].scope_profiles[0].profiles[1].samples[1].stack_index" "$msg"
expect_contains "out-of-range stack_index: error_message gives the value" "7" "$msg"
expect_top_100 "out-of-range stack_index: the valid neighbour is stored, the invalid one is not" bad-oor

out="$(node "$LIB/send_grpc.mjs" "$D_GRPC" "$R/negative.pb")"
expect_eq "negative stack_index over gRPC: OK (partial success)" OK "$(jget "$out" status)"
expect_eq "negative stack_index: rejected_profiles=1" 1 "$(rejected "$out")"
expect_contains "negative stack_index: error_message names the path" \
    "resource_profiles[0].scope_profiles[0].profiles[0].samples[0].stack_index" \
    "$(jget "$out" partial_success.error_message)"
expect_top_100 "negative stack_index: the valid profile after it is stored" bad-neg

# ---- size limits (--max-message-size 1MiB, checked after decompression) ----------------
code="$(http_post "$URL" "$R/big.pb" application/x-protobuf)"
expect_eq "2 MiB over HTTP with a 1 MiB limit: 413" 413 "$code"
out="$(node "$LIB/send_grpc.mjs" "$D_GRPC" "$R/big.pb")"
expect_eq "2 MiB over gRPC with a 1 MiB limit: RESOURCE_EXHAUSTED" RESOURCE_EXHAUSTED "$(jget "$out" status)"
gzip -9 -c "$R/bomb.pb" >"$WORK/bomb.pb.gz"
bombsize=$(stat -c %s "$WORK/bomb.pb.gz")
code="$(http_post "$URL" "$WORK/bomb.pb.gz" application/x-protobuf -H 'Content-Encoding: gzip')"
expect_eq "gzip of $bombsize bytes inflating to 3 MiB over HTTP: 413" 413 "$code"
out="$(node "$LIB/send_grpc.mjs" "$D_GRPC" "$R/bomb.pb" --gzip)"
expect_eq "gzip inflating to 3 MiB over gRPC: RESOURCE_EXHAUSTED" RESOURCE_EXHAUSTED "$(jget "$out" status)"

# ---- version skew: opentelemetry-proto v1.9 Sample numbering ---------------------------
for f in v19 v19full; do
    code="$(http_post "$URL" "$R/$f.pb" application/x-protobuf)"
    body="$(tr -c '[:print:]' ' ' <"$WORK/body")"
    if [[ "$code" == 200 ]]; then
        resp="$(response_json)"
        expect_eq "$f.pb over HTTP: rejected_profiles=1" 1 "$(rejected "$resp")"
        body="$(jget "$resp" partial_success.error_message)"
    elif [[ "$code" == 400 ]]; then
        pass "$f.pb over HTTP: refused with 400"
    else
        fail "$f.pb over HTTP: expected 200 with a rejection or 400, got $code"
    fi
    expect_contains "$f.pb over HTTP: the message says v1.9" "v1.9" "$body"
    out="$(node "$LIB/send_grpc.mjs" "$D_GRPC" "$R/$f.pb")"
    expect_contains "$f.pb over gRPC: the message says v1.9" "v1.9" "$out"
done
if get_top "$D_MCP" cpu:nanoseconds '{service.name="bad-v19"}' "$WORK/top.v19.txt"; then
    expect_eq "v1.9 samples are not stored as garbage" "total 0" "$(head -n 1 "$WORK/top.v19.txt")"
else
    fail "v1.9: /debug/top failed"
fi

# ---- protocol errors --------------------------------------------------------------------
code="$(http_post "$URL" "$R/ctype.pb" text/plain)"
expect_eq "Content-Type text/plain: 415" 415 "$code"
if get_top "$D_MCP" cpu:nanoseconds '{service.name="bad-ctype"}' "$WORK/top.ctype.txt"; then
    expect_eq "a 415 request is not stored" "total 0" "$(head -n 1 "$WORK/top.ctype.txt")"
else
    fail "415: /debug/top failed"
fi
code="$(curl -sS --max-time 10 -o /dev/null -w '%{http_code}' "$URL" || echo curl-error)"
expect_eq "GET $URL_PATH: 405" 405 "$code"
code="$(http_post "$URL" "$R/empty.pb" application/x-protobuf)"
expect_eq "empty protobuf request: 200" 200 "$code"
printf '{}' >"$WORK/empty.json"
code="$(http_post "$URL" "$WORK/empty.json" application/json)"
expect_eq "empty JSON request: 200" 200 "$code"
out="$(node "$LIB/send_grpc.mjs" "$D_GRPC" "$R/empty.pb")"
expect_eq "empty request over gRPC: OK" OK "$(jget "$out" status)"

# ---- still healthy --------------------------------------------------------------------
expect_eq "still answers /healthz" ok "$(curl -s --max-time 5 "$D_MCP/healthz" | head -c 2)"
code="$(http_post "$URL" "$R/good.pb" application/x-protobuf)"
expect_eq "a good request afterwards: 200" 200 "$code"
expect_eq "a good request afterwards: nothing rejected" 0 "$(rejected "$(response_json)")"
expect_top_100 "a good request afterwards is stored" bad-good
CPU_PB="$(shifted "$TD/otlp/cpu.pb")"
out="$(node "$LIB/send_grpc.mjs" "$D_GRPC" "$CPU_PB")"
expect_eq "cpu.pb over gRPC afterwards: OK" OK "$(jget "$out" status)"
check "cpu.pb over gRPC afterwards answers exactly" node "$LIB/check_top.mjs" --base "$D_MCP" \
    --label "flate cpu after the bad inputs" --type cpu:nanoseconds --selector '{service.name="flate"}' \
    --file "$CPU_PB" --match service.name=flate \
    --expected "$TD/expected/compress_flate.cpu.cpu.top.txt"
rej="$(metric "$D_MCP" rejected_profiles_total)"
if [[ "$rej" =~ ^[0-9]+$ && "$rej" -ge 2 ]]; then
    pass "/metrics: otelprofd_rejected_profiles_total = $rej (>= 2)"
else
    fail "/metrics: otelprofd_rejected_profiles_total is '$rej', expected >= 2"
fi
daemon_stop D

summary
