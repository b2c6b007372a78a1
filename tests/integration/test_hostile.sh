#!/usr/bin/env bash
# test_hostile.sh — the hostile-input corpus (issue 6) against the real binary.
#
# For each input (lib/hostile.mjs builds them by hand): the documented answer (HTTP status
# / gRPC code and a message that names the problem), bounded memory (the daemon's peak RSS,
# VmHWM, reset before each case through /proc/PID/clear_refs, stays under RSS_BOUND), and
# other clients are still served: a good request on another connection, sent while the
# bad one is in flight for the big cases, is stored and answered exactly.
#   1 deep stacks (10,000 frames stored and queryable; 20,000 refused per profile)
#   2 huge string tables (1M strings; 60 MiB of strings)   3 out-of-range indices
#   4 millions of tiny samples                              5 oversized / nested attributes
#   6 64 MiB + 1 requests (HTTP Content-Length, chunked; gRPC)
#   7 gzip bombs (1 GiB of zeros in ~1 MB) over HTTP and gRPC
#   8 slowloris clients on 4318 and 4319                    9/10 malformed JSON-RPC, versions
#  11 hostile regexes: back-references (glibc's regexec crashed), catastrophic backtracking
# Figures (time, peak RSS) are printed as "figure:" lines, never asserted.
# OTELPROFD_HOSTILE_TINY (samples in the tiny-samples request, default 1,000,000) and
# OTELPROFD_RSS_SLACK_MIB (default 256, 1024 for an AddressSanitizer binary) tune it.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
need_tools

MAX=$((64 * 1024 * 1024))
slack_mib=256
# (not `ldd | grep -q`: under pipefail grep -q closing early fails the pipeline)
if is_asan_build; then
    slack_mib=1024
    echo "note: $OTELPROFD_BIN is an AddressSanitizer build: RSS bound raised"
fi
# one request in flight at a time here: its body (<= 64 MiB) and its decode arena (capped
# by the receiver at 4 x --max-message-size + 1 MiB), plus the store and allocator slack
RSS_BOUND=$((5 * MAX + ${OTELPROFD_RSS_SLACK_MIB:-$slack_mib} * 1024 * 1024))
TINY="${OTELPROFD_HOSTILE_TINY:-1000000}"
H="$WORK/h"
node "$LIB/hostile.mjs" "$H" --tiny "$TINY"
node "$LIB/make_requests.mjs" "$WORK/req" # good.pb: service bad-good, main -> foo = 100
printf 'total 100\n100 100 foo\n0 100 main\n' >"$WORK/expect100.txt"

# short idle timeouts so the silent-client drop is seen in seconds (test-only variable)
OTELPROFD_TEST_CONN_TIMEOUT=3 daemon_start D
URL="$D_HTTP/v1development/profiles"
GRPC_ADDR="${D_GRPC}"

now_ms() { date +%s%3N; }
hwm_reset() {
    echo 5 >"/proc/$D_PID/clear_refs" 2>/dev/null || true
}
# rss_check LABEL: the peak RSS since hwm_reset is under RSS_BOUND.
rss_check() {
    local kb
    kb="$(awk '/^VmHWM:/ {print $2}' "/proc/$D_PID/status" 2>/dev/null || echo 0)"
    echo "figure: $1: peak RSS $((kb / 1024)) MiB"
    if [[ "$kb" =~ ^[0-9]+$ && "$kb" -gt 0 && $((kb * 1024)) -lt $RSS_BOUND ]]; then
        pass "$1: peak RSS $((kb / 1024)) MiB < $((RSS_BOUND / 1048576)) MiB"
    else
        fail "$1: peak RSS '$kb' kB, bound $((RSS_BOUND / 1048576)) MiB"
    fi
}
# top_is LABEL SERVICE EXPECTED_FILE: /debug/top of the service's cpu:nanoseconds.
top_is() {
    if get_top "$D_MCP" cpu:nanoseconds "{service.name=\"$2\"}" "$WORK/top.txt"; then
        check "$1" node "$LIB/compare_top.mjs" --label "$1" "$3" "$WORK/top.txt"
    else
        fail "$1: /debug/top failed"
    fi
}
# alive LABEL: a good request from another client (alternately gRPC and HTTP), stored
# under a fresh service name and answered exactly.
ALIVE=0
alive() {
    ALIVE=$((ALIVE + 1))
    local svc f="$WORK/alive.pb" out
    svc="$(printf 'alv%05d' "$ALIVE")" # as long as "bad-good": the framing stays valid
    node -e '
const fs = require("fs"); const [src, dst, svc] = process.argv.slice(1);
const b = fs.readFileSync(src).toString("latin1").replace("bad-good", svc);
fs.writeFileSync(dst, Buffer.from(b, "latin1"));' "$WORK/req/good.pb" "$f" "$svc"
    if ((ALIVE % 2)); then
        out="$(node "$LIB/send_grpc.mjs" "$GRPC_ADDR" "$f")"
        expect_eq "$1: another client over gRPC is served" OK "$(jget "$out" status)"
    else
        expect_eq "$1: another client over HTTP is served" 200 \
            "$(curl -sS --max-time 30 -o /dev/null -w '%{http_code}' -H 'Content-Type: application/x-protobuf' \
                --data-binary "@$f" "$URL" || echo curl-error)"
    fi
    top_is "$1: its data is answered exactly" "$svc" "$WORK/expect100.txt"
}
# post FILE CTYPE [curl options]: HTTP status; body in $WORK/body.
post() {
    local f="$1" ct="$2"
    shift 2
    http_post "$URL" "$f" "$ct" "$@"
}
body_text() { tr -c '[:print:]' ' ' <"$WORK/body"; }

# ---- 1. deep stacks ----------------------------------------------------------------------
hwm_reset
t0=$(now_ms)
code="$(post "$H/deep.pb" application/x-protobuf)"
echo "figure: 10,000-frame stack over HTTP: $(($(now_ms) - t0)) ms"
expect_eq "10,000-frame stack: 200" 200 "$code"
expect_eq "10,000-frame stack: nothing rejected" 0 "$(rejected "$(response_json)")"
if get_top "$D_MCP" cpu:nanoseconds '{service.name="hostile-deep"}' "$WORK/deep.top"; then
    expect_eq "10,000-frame stack: total 100" "total 100" "$(head -n 1 "$WORK/deep.top")"
    expect_eq "10,000-frame stack: leaf d0 has flat 100" "100 100 d0" "$(sed -n 2p "$WORK/deep.top")"
    expect_eq "10,000-frame stack: all 10,000 functions have cum 100" 10000 \
        "$(awk 'NR > 1 && $2 == 100' "$WORK/deep.top" | wc -l)"
else
    fail "10,000-frame stack: /debug/top failed"
fi
Q=("$OTELPROFD_BIN" query)
SEL='"profile_type":"cpu:nanoseconds","selector":"{service.name=\"hostile-deep\"}"'
out="$("${Q[@]}" query_profile_table "{$SEL,\"limit\":3}" --connect "$D_MCP/mcp" 2>&1)" || true
expect_contains "10,000-frame stack: query_profile_table counts 10000 functions" "of 10000 functions" "$out"
expect_contains "10,000-frame stack: query_profile_table leaf row" "100ns,100.00,100ns,100.00,d0," "$out"
out="$("${Q[@]}" query_profile_flamegraph "{$SEL,\"max_depth\":256}" --connect "$D_MCP/mcp" 2>&1)" || true
expect_contains "10,000-frame stack: flame graph starts at the root d9999" "1,0,1,100ns,100.00,0,d9999" "$out"
# (120 rows at most: the chain is shown to depth 118, then an "(other)" row)
expect_contains "10,000-frame stack: flame graph reaches depth 118 (d9882)" ",118,100ns,100.00,0,d9882" "$out"
focus="$(node -e 'console.log(JSON.stringify(Array.from({length: 64}, (_, i) => "d" + (9999 - i))))')"
out="$("${Q[@]}" query_profile_flamegraph "{$SEL,\"focus_path\":$focus}" --connect "$D_MCP/mcp" 2>&1)" || true
expect_contains "10,000-frame stack: flame graph focused 64 frames deep (the tool's cap) goes on at d9935" \
    ",1,100ns,100.00,0,d9935" "$out"
out="$("${Q[@]}" query_profile_sandwich "{$SEL,\"function\":\"d5000\"}" --connect "$D_MCP/mcp" 2>&1)" || true
expect_contains "10,000-frame stack: sandwich of d5000 has caller d5001" "1,0,1,100ns,100.00,0,d5001" "$out"
expect_contains "10,000-frame stack: sandwich of d5000 has callee d4999" "1,0,1,100ns,100.00,0,d4999" "$out"
out="$(curl -sS --max-time 30 -o "$WORK/deep.pprof" -w '%{http_code}' \
    "$D_MCP/api/pprof?profile_type=cpu:nanoseconds&selector=%7Bservice.name%3D%22hostile-deep%22%7D" || echo curl-error)"
expect_eq "10,000-frame stack: /api/pprof export 200" 200 "$out"
if command -v go >/dev/null; then
    gout="$(go tool pprof -top -nodecount=2 "$WORK/deep.pprof" 2>/dev/null | grep -E ' d0$' || true)"
    expect_contains "10,000-frame stack: go tool pprof reads the export (d0 flat 100ns)" "100ns" "$gout"
fi
code="$(post "$H/deep_over.pb" application/x-protobuf)"
resp="$(response_json)"
expect_eq "20,000-frame stack: 200 with partial success" 200 "$code"
expect_eq "20,000-frame stack: rejected_profiles=1 (only the deep one)" 1 "$(rejected "$resp")"
expect_contains "20,000-frame stack: the message names the stack and the limit" \
    "stack_table[3] has 20000 frames, over the limit of 16384" "$(jget "$resp" partial_success.error_message)"
printf 'total 7\n7 7 d0\n' >"$WORK/expect7.txt"
if get_top "$D_MCP" cpu:nanoseconds '{service.name="hostile-deep-over"}' "$WORK/top.txt"; then
    expect_eq "20,000-frame stack: the 10,000-frame neighbour is kept (total 7)" "total 7" "$(head -n 1 "$WORK/top.txt")"
else
    fail "20,000-frame stack: /debug/top failed"
fi
rss_check "deep stacks"
alive "deep stacks"

# ---- 2. huge string tables --------------------------------------------------------------------
for f in strings longstr; do
    hwm_reset
    t0=$(now_ms)
    code="$(post "$H/$f.pb" application/x-protobuf)"
    echo "figure: $f.pb ($(($(stat -c %s "$H/$f.pb") / 1048576)) MiB) over HTTP: $(($(now_ms) - t0)) ms"
    expect_eq "$f.pb: 200" 200 "$code"
    top_is "$f.pb: its sample is stored exactly" "hostile-$f" "$WORK/expect100.txt"
    rss_check "$f.pb"
done
alive "huge string tables"

# ---- 3. out-of-range and self-referencing indices --------------------------------------------
while read -r -u 3 name field; do
    if [[ "$name" == *_neg || "$name" == loc_* ]]; then
        out="$(node "$LIB/send_grpc.mjs" "$GRPC_ADDR" "$H/cyc_$name.pb")"
        expect_eq "$name over gRPC: OK (partial success)" OK "$(jget "$out" status)"
        resp="$out"
    else
        code="$(post "$H/cyc_$name.pb" application/x-protobuf)"
        expect_eq "$name over HTTP: 200 (partial success)" 200 "$code"
        resp="$(response_json)"
    fi
    expect_eq "$name: rejected_profiles=1" 1 "$(rejected "$resp")"
    expect_contains "$name: the message names $field" "$field" "$(jget "$resp" partial_success.error_message)"
    top_is "$name: the valid neighbour is stored" "hostile-cyc-$name" "$WORK/expect100.txt"
done 3<"$H/cyc_cases.txt"
code="$(post "$H/cyc_selfloop.pb" application/x-protobuf)"
expect_eq "a stack naming one location 1000 times: 200, nothing rejected" "200 0" "$code $(rejected "$(response_json)")"
printf 'total 100\n100 100 main\n' >"$WORK/expect_self.txt"
top_is "a stack naming one location 1000 times: main 100 (recursion counted once)" hostile-cyc-selfloop "$WORK/expect_self.txt"
alive "bad indices"

# ---- 4. millions of tiny samples -----------------------------------------------------------------
hwm_reset
t0=$(now_ms)
out="$(node "$LIB/send_grpc.mjs" "$GRPC_ADDR" "$H/tiny.pb" --deadline-ms 120000)"
ms=$(($(now_ms) - t0))
echo "figure: $TINY samples of 1 ns ($(($(stat -c %s "$H/tiny.pb") / 1048576)) MiB) over gRPC: $ms ms ($((TINY * 1000 / (ms + 1))) samples/s)"
expect_eq "$TINY tiny samples over gRPC: OK" OK "$(jget "$out" status)"
if get_top "$D_MCP" cpu:nanoseconds '{service.name="hostile-tiny"}' "$WORK/top.txt"; then
    expect_eq "$TINY tiny samples: the total is exact" "total $TINY" "$(head -n 1 "$WORK/top.txt")"
else
    fail "$TINY tiny samples: /debug/top failed"
fi
rss_check "$TINY tiny samples"
# 4M samples in 28 MB decode to ~700 MB (protobuf-c structs ~120 B + ~50 B of ingest per
# sample): over the decode budget of 4 x --max-message-size, refused before memory runs away
node "$LIB/hostile.mjs" "$WORK/h4" --tiny 4000000 --only tiny
hwm_reset
code="$(post "$WORK/h4/tiny.pb" application/x-protobuf)"
expect_eq "4,000,000 tiny samples in one request: 413 (decode budget)" 413 "$code"
expect_contains "4,000,000 tiny samples: the message names the decode budget" "bytes to decode" "$(body_text)"
rss_check "4,000,000 tiny samples (refused)"
alive "tiny samples"

# ---- 5. oversized attributes ---------------------------------------------------------------------
code="$(post "$H/attrs100k.pb" application/x-protobuf)"
resp="$(response_json)"
expect_eq "100,000 resource attributes: 200, the profile rejected" "200 1" "$code $(rejected "$resp")"
expect_contains "100,000 resource attributes: the message gives the limit" "attributes (limit 256)" \
    "$(jget "$resp" partial_success.error_message)"
hwm_reset
code="$(post "$H/hugeattr.pb" application/x-protobuf)"
expect_eq "1 MiB key, 8 MiB value, 4 MiB sample attribute: 200, nothing rejected" "200 0" "$code $(rejected "$(response_json)")"
top_is "huge attributes: the sample is stored exactly" hostile-hugeattr "$WORK/expect100.txt"
rss_check "huge attributes"
code="$(post "$H/nested.pb" application/x-protobuf)"
expect_eq "AnyValue nested 100,000 deep (protobuf): 400" 400 "$code"
expect_contains "AnyValue nested 100,000 deep: the message says nested" "nested deeper than 64" "$(body_text)"
code="$(post "$H/nested.json" application/json)"
expect_eq "arrays nested 100,000 deep (JSON): 400" 400 "$code"
expect_contains "arrays nested 100,000 deep (JSON): the message says nested" "nested deeper than 1000" "$(body_text)"
out="$(node "$LIB/send_grpc.mjs" "$GRPC_ADDR" "$H/nested.pb")"
expect_eq "AnyValue nested 100,000 deep over gRPC: INVALID_ARGUMENT" INVALID_ARGUMENT "$(jget "$out" status)"
alive "oversized attributes"

# ---- 6. 64 MiB + 1 -----------------------------------------------------------------------------
hwm_reset
code="$(post "$H/over.pb" application/x-protobuf)"
expect_eq "64 MiB + 1 over HTTP with Content-Length: 413" 413 "$code"
expect_contains "64 MiB + 1 with Content-Length: the message gives the limit" "--max-message-size (67108864)" "$(body_text)"
post "$H/over.pb" application/x-protobuf -H 'Transfer-Encoding: chunked' >"$WORK/chunked.code" &
chunked=$!
alive "64 MiB + 1 chunked, in flight"
wait "$chunked" || true
code="$(cat "$WORK/chunked.code")"
expect_eq "64 MiB + 1 over HTTP chunked: 413" 413 "$code"
expect_contains "64 MiB + 1 chunked: the message gives the limit" "larger than --max-message-size" "$(body_text)"
out="$(node "$LIB/send_grpc.mjs" "$GRPC_ADDR" "$H/over.pb")"
expect_eq "64 MiB + 1 over gRPC: RESOURCE_EXHAUSTED" RESOURCE_EXHAUSTED "$(jget "$out" status)"
expect_contains "64 MiB + 1 over gRPC: the message gives the sizes" "67108865 vs. 67108864" "$(jget "$out" details)"
rss_check "64 MiB + 1 (HTTP twice, gRPC)"

# ---- 7. compression bombs ---------------------------------------------------------------------
hwm_reset
t0=$(now_ms)
code="$(post "$H/bomb.pb.gz" application/x-protobuf -H 'Content-Encoding: gzip')"
echo "figure: HTTP gzip bomb ($(stat -c %s "$H/bomb.pb.gz") bytes -> 1 GiB) refused in $(($(now_ms) - t0)) ms"
expect_eq "gzip bomb (1 GiB) over HTTP: 413" 413 "$code"
expect_contains "gzip bomb over HTTP: the message says decompressed" "decompressed message is larger than 67108864" "$(body_text)"
rss_check "gzip bomb over HTTP"
hwm_reset
node "$LIB/hostile_grpc.mjs" "$GRPC_ADDR" "$H/bomb.pb.gz" --compressed >"$WORK/gbomb.json" &
gbomb=$!
alive "gzip bomb over gRPC, in flight"
wait "$gbomb" || true
out="$(cat "$WORK/gbomb.json")"
echo "figure: gRPC gzip bomb refused in $(jget "$out" ms) ms"
expect_eq "gzip bomb (1 GiB) over gRPC: RESOURCE_EXHAUSTED (8)" 8 "$(jget "$out" status)"
expect_contains "gzip bomb over gRPC: refused while inflating" "decompressed message is larger than 67108864" "$(jget "$out" message)"
rss_check "gzip bomb over gRPC (the core no longer inflates it whole)"
gzip -c "$WORK/req/good.pb" >"$WORK/good.pb.gz"
out="$(node "$LIB/hostile_grpc.mjs" "$GRPC_ADDR" "$WORK/good.pb.gz" --compressed)"
expect_eq "a good gzip message over gRPC (inflated by us): OK" 0 "$(jget "$out" status)"
head -c 64 /dev/urandom >"$WORK/junk.gz"
out="$(node "$LIB/hostile_grpc.mjs" "$GRPC_ADDR" "$WORK/junk.gz" --compressed)"
expect_eq "a compressed gRPC message that is not gzip: INVALID_ARGUMENT (3)" 3 "$(jget "$out" status)"

# ---- 8. slowloris ----------------------------------------------------------------------------
HP="${D_HTTP##*:}" MP="${D_MCP##*:}"
hwm_reset
rm -f "$WORK/ready"
node "$LIB/hostile_slow.mjs" --ports "$HP,$MP" --n 100 --every 1000 --seconds 12 --ready "$WORK/ready" >"$WORK/slow.json" &
slow=$!
for ((i = 0; i < 100; i++)); do [[ -f "$WORK/ready" ]] && break; sleep 0.1; done
expect_eq "slowloris: 200 dripping connections open (100 on 4318, 100 on 4319)" 200 "$(cat "$WORK/ready" 2>/dev/null)"
alive "slowloris (200 dripping connections)"
alive "slowloris (200 dripping connections), again"
expect_eq "slowloris: MCP /healthz still answers" ok "$(curl -s --max-time 5 "$D_MCP/healthz" | head -c 2)"
out="$("${Q[@]}" get_status '{}' --connect "$D_MCP/mcp" 2>&1 | head -c 200)" || true
expect_contains "slowloris: an MCP tools/call still answers" "otelprofd" "$out"
kill -TERM "$slow" 2>/dev/null || true
wait "$slow" || true
s="$(cat "$WORK/slow.json")"
echo "figure: dripping clients (a byte a second, idle timeout 3 s): $s"
expect_eq "slowloris: 200 dripping clients (under 3/4 of the connection limits) keep their connections" 0 \
    "$(jget "$s" closed_by_server)"
node "$LIB/hostile_slow.mjs" --ports "$HP,$MP" --n 50 --silent --seconds 8 >"$WORK/silent.json"
s="$(cat "$WORK/silent.json")"
echo "figure: silent clients (idle timeout 3 s): $s"
expect_eq "slow clients that go silent are dropped after the idle timeout (all 100)" 100 "$(jget "$s" closed_by_server)"
# Under pressure (3/4 of the limit: 768 of 1024 on 4318, 192 of 256 on 4319) request heads
# get a deadline (10 s; 3 s here): dripping clients are shut down and a good client that
# retries is served; on 4318 the deadline covers the body too (900 clients dripping bodies).
# Past the limit, 4318 refuses new connections at once (1100 there) and 4319 leaves them in
# the listen backlog (300 there) until slots free.
for spec in "$HP 1100 OTLP/HTTP head" "$HP 900 OTLP/HTTP body" "$MP 300 MCP head"; do
    read -r port n what part <<<"$spec"
    mode=()
    [[ "$part" == body ]] && mode=(--body)
    what="$what ($part)"
    rm -f "$WORK/ready"
    node "$LIB/hostile_slow.mjs" --ports "$port" --n "$n" --every 500 --seconds 8 "${mode[@]}" \
        --ready "$WORK/ready" >"$WORK/slow.json" &
    slow=$!
    for ((i = 0; i < 200; i++)); do [[ -f "$WORK/ready" ]] && break; sleep 0.1; done
    t0=$(now_ms)
    if [[ "$what" == MCP* ]]; then
        code="$(curl -sS --max-time 30 --retry 20 --retry-delay 1 --retry-all-errors -o /dev/null \
            -w '%{http_code}' "$D_MCP/healthz" 2>/dev/null || echo curl-error)"
    else
        code="$(curl -sS --max-time 30 --retry 20 --retry-delay 1 --retry-all-errors -o /dev/null \
            -w '%{http_code}' -H 'Content-Type: application/x-protobuf' --data-binary "@$WORK/req/good.pb" \
            "$URL" 2>/dev/null || echo curl-error)"
    fi
    echo "figure: $n dripping connections on $what: a retrying good client was served after $(($(now_ms) - t0)) ms"
    expect_eq "$n dripping connections on $what: a retrying good client is served (200)" 200 "$code"
    wait "$slow" || true # 8 s: past the 3 s deadline and the reaper's 1 s tick
    s="$(cat "$WORK/slow.json")"
    echo "figure: $n dripping on $what: $s"
    closed="$(jget "$s" closed_by_server)" refused="$(jget "$s" refused)"
    # The contract: past the deadline, connections are shut down while 3/4 of the limit are
    # open, so at least n - pressure of them must go (refused at accept or closed later). How
    # many more go in the same reaper tick depends on timing (822..1100 of 1100 seen), so a
    # fixed share of n made this check flaky.
    pressure=768
    [[ "$port" == "$MP" ]] && pressure=192
    if [[ "$closed" =~ ^[0-9]+$ && "$refused" =~ ^[0-9]+$ && $((closed + refused)) -ge $((n - pressure)) ]]; then
        pass "$n dripping connections on $what: the server closed $closed and refused $refused (>= $((n - pressure)))"
    else
        fail "$n dripping connections on $what: only '$closed' closed and '$refused' refused by the server (< $((n - pressure)))"
    fi
done
out="$(node "$LIB/send_grpc.mjs" "$GRPC_ADDR" "$WORK/req/good.pb")"
expect_eq "gRPC is not affected by the HTTP connection limits" OK "$(jget "$out" status)"
rss_check "slowloris (up to 1,100 connections)"

# ---- 9/10. malformed JSON-RPC, unknown MCP versions --------------------------------------------
hwm_reset
check "malformed JSON-RPC and unknown versions over stdio and HTTP (lib/hostile_mcp.mjs)" \
    node "$LIB/hostile_mcp.mjs" --bin "$OTELPROFD_BIN" --http "$D_MCP"
rss_check "malformed JSON-RPC over HTTP (the daemon; stdio runs its own process)"

# ---- 11. hostile regexes (issue 10) ------------------------------------------------------------
# A back-reference sent glibc's regexec into unbounded recursion (SIGSEGV: CVE-2018-20796
# class), with no MCP session needed over GET. Selectors and the table filter now run on
# PCRE2: back-references are refused (400 / isError with the reason), and patterns that
# backtrack past the match limit on stored values answer "regex too expensive".
# Data: service hostile-regex, main -> a 4,001-byte function name (100), resource attribute
# long.attr of 5,001 bytes.
node -e '
const [out, now] = process.argv.slice(1);
const s = ["", "cpu", "nanoseconds", "main", "a".repeat(4000) + "b", "x.go"];
const req = { resourceProfiles: [{ resource: { attributes: [
    { key: "service.name", value: { stringValue: "hostile-regex" } },
    { key: "long.attr", value: { stringValue: "a".repeat(5000) + "b" } }] },
  scopeProfiles: [{ profiles: [{ sampleType: { typeStrindex: 1, unitStrindex: 2 },
    timeUnixNano: now, samples: [{ stackIndex: 1, values: ["100"] }] }] }] }],
  dictionary: { stringTable: s,
    functionTable: [{}, { nameStrindex: 3, filenameStrindex: 5 }, { nameStrindex: 4, filenameStrindex: 5 }],
    locationTable: [{}, { lines: [{ functionIndex: 1 }] }, { lines: [{ functionIndex: 2 }] }],
    stackTable: [{}, { locationIndices: [2, 1] }] } };
require("fs").writeFileSync(out, JSON.stringify(req));' "$WORK/regex.json" "$(($(date +%s) - 5))000000000"
code="$(post "$WORK/regex.json" application/json)"
expect_eq "regex data (4,001-byte function name, 5,001-byte attribute): 200, nothing rejected" "200 0" \
    "$code $(rejected "$(response_json)")"
printf 'total 100\n100 100 %sb\n0 100 main\n' "$(printf 'a%.0s' {1..4000})" >"$WORK/expect_regex.txt"
top_is "regex data is stored exactly" hostile-regex "$WORK/expect_regex.txt"
# get_regex PATH SELECTOR: HTTP status of GET PATH?profile_type=cpu:nanoseconds&selector=...;
# body in $WORK/body.
get_regex() {
    local sel
    sel="$(node -e 'console.log(encodeURIComponent(process.argv[1]))' "$2")"
    curl -sS --max-time 30 -o "$WORK/body" -w '%{http_code}' \
        "$D_MCP$1?profile_type=cpu:nanoseconds&selector=$sel" || echo curl-error
}
for path in /debug/top /api/pprof; do
    for sel in '{service.name=~"()()(\2\2)*.*"}' '{service.name=~"(|)(\1\1)*"}' \
        '{service.name!~"(?P<x>a)(?P=x)"}'; do
        code="$(get_regex "$path" "$sel")"
        expect_eq "GET $path selector $sel: 400" 400 "$code"
        expect_contains "GET $path selector $sel: the reason names back-references" \
            "back-references" "$(body_text)"
        check "GET $path selector $sel: the daemon is still running" kill -0 "$D_PID"
    done
    for sel in '{long.attr=~"(a+)+"}' '{long.attr!~"(a|aa)+"}'; do
        t0=$(now_ms)
        code="$(get_regex "$path" "$sel")"
        echo "figure: GET $path selector $sel over a 5,001-byte value: $(($(now_ms) - t0)) ms"
        expect_eq "GET $path selector $sel (backtracks past the limit): 400" 400 "$code"
        expect_contains "GET $path selector $sel: says regex too expensive" "regex too expensive" \
            "$(body_text)"
    done
done
check "hostile regexes over MCP (official SDK, lib/hostile_regex.mjs)" \
    node "$LIB/hostile_regex.mjs" --url "$D_MCP"
expect_eq "after the hostile regexes: /healthz" ok "$(curl -s --max-time 5 "$D_MCP/healthz" | head -c 2)"
code="$(get_regex /debug/top '{service.name=~"hostile-re.*", long.attr=~"a+b"}')"
expect_eq "after the hostile regexes: a bounded selector on the long value answers (200)" 200 "$code"
expect_eq "after the hostile regexes: ... with total 100" "total 100" "$(head -n 1 "$WORK/body")"
alive "hostile regexes"

# ---- still healthy, nothing lost --------------------------------------------------------------
CPU_PB="$(shifted "$TD/otlp/cpu.pb")"
out="$(node "$LIB/send_grpc.mjs" "$GRPC_ADDR" "$CPU_PB")"
expect_eq "cpu.pb over gRPC after the corpus: OK" OK "$(jget "$out" status)"
check "cpu.pb after the corpus answers exactly" node "$LIB/check_top.mjs" --base "$D_MCP" \
    --label "flate cpu after the hostile corpus" --type cpu:nanoseconds --selector '{service.name="flate"}' \
    --file "$CPU_PB" --match service.name=flate \
    --expected "$TD/expected/compress_flate.cpu.cpu.top.txt"
if get_top "$D_MCP" cpu:nanoseconds '{service.name="hostile-deep"}' "$WORK/deep.top"; then
    expect_eq "the 10,000-frame stack is still stored" "total 100|100 100 d0" "$(head -n 2 "$WORK/deep.top" | paste -sd'|')"
else
    fail "the 10,000-frame stack: /debug/top failed"
fi
daemon_stop D

summary
