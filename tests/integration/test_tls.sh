#!/usr/bin/env bash
# test_tls.sh — TLS and mTLS on all three listeners, with real TLS clients only.
#
# The openssl CLI makes a throwaway CA, a server certificate for 127.0.0.1/localhost
# (subjectAltName), a client certificate from that CA and one from another CA. Then:
#  - start-up: a missing, unreadable or non-PEM file, cert without key, a key that does
#    not match: exit 2 before listening, the message names the file;
#  - TLS: curl --cacert posts cpu.pb to OTLP/HTTP (200), plain http:// and an untrusting
#    curl fail; grpc-js createSsl(ca) exports mem.pb (OK), an insecure or wrongly trusting
#    grpc-js fails; /debug/top over https equals `go tool pprof -top` (testdata/expected);
#    the official MCP SDK over https lists the tools, its table equals the expected one and
#    export_pprof hands out an https:// URL; without the CA the SDK is refused;
#  - non-loopback MCP without --mcp-token still warns with TLS;
#  - mTLS (--tls-client-ca): curl, grpc-js and the SDK without a client certificate or
#    with one from another CA are refused; with the right one they get through, and the
#    daemon keeps serving after the refusals.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
need_tools
command -v openssl >/dev/null || die "openssl is not installed"
[[ -d "$OTELPROFD_SRC/tests/node_modules/@modelcontextprotocol/sdk" ]] ||
    die "no @modelcontextprotocol/sdk: run 'npm ci --prefix $OTELPROFD_SRC/tests'"
# grpc-js warns (DEP0123) when the TLS server name is an IP address; that is the point here
export NODE_NO_WARNINGS=1

# ---- throwaway PKI ------------------------------------------------------------------------
PKI="$WORK/pki"
make_pki "$PKI" "otelprofd test"
CA="$PKI/ca.pem"
SRV=(--tls-cert "$PKI/server.pem" --tls-key "$PKI/server.key")
CLIENT=(--cert "$PKI/client.pem" --key "$PKI/client.key")
INTRUDER=(--cert "$PKI/intruder.pem" --key "$PKI/intruder.key")

CPU_PB="$(shifted "$TD/otlp/cpu.pb")"
MEM_PB="$(shifted "$TD/otlp/mem.pb")"
E="$TD/expected"

# ---- start-up errors ----------------------------------------------------------------------
# start_fails DESC NEEDLE [serve options...]: exit 2, stderr names NEEDLE, nothing served.
start_fails() {
    local desc="$1" needle="$2" rc=0
    shift 2
    timeout 20 "$OTELPROFD_BIN" serve --otlp-grpc 127.0.0.1:0 --otlp-http 127.0.0.1:0 \
        --mcp-http 127.0.0.1:0 "$@" >"$WORK/start.out" 2>"$WORK/start.err" || rc=$?
    expect_eq "start-up, $desc: exit 2" 2 "$rc"
    expect_contains "start-up, $desc: the message names $needle" "$needle" "$(cat "$WORK/start.err")"
    if grep -q "listening on" "$WORK/start.err"; then
        fail "start-up, $desc: nothing listens: $(cat "$WORK/start.err")"
    fi
}
echo garbage >"$PKI/garbage.pem"
printf -- '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n' \
    >"$PKI/broken.pem"
start_fails "missing key file" "$PKI/missing.key" --tls-cert "$PKI/server.pem" \
    --tls-key "$PKI/missing.key"
start_fails "cert without key" "--tls-key" --tls-cert "$PKI/server.pem"
start_fails "key without cert" "--tls-cert" --tls-key "$PKI/server.key"
start_fails "client CA without cert and key" "--tls-client-ca" --tls-client-ca "$CA"
start_fails "garbage cert" "$PKI/garbage.pem" --tls-cert "$PKI/garbage.pem" \
    --tls-key "$PKI/server.key"
start_fails "PEM armour around garbage" "$PKI/broken.pem" --tls-cert "$PKI/broken.pem" \
    --tls-key "$PKI/server.key"
start_fails "garbage key" "$PKI/garbage.pem" --tls-cert "$PKI/server.pem" \
    --tls-key "$PKI/garbage.pem"
start_fails "a certificate given as the key" "$PKI/server.pem" --tls-cert "$PKI/server.pem" \
    --tls-key "$PKI/server.pem"
start_fails "key does not match the certificate" "$PKI/client.key" \
    --tls-cert "$PKI/server.pem" --tls-key "$PKI/client.key"
start_fails "garbage client CA" "$PKI/garbage.pem" "${SRV[@]}" --tls-client-ca "$PKI/garbage.pem"
start_fails "a directory as the cert" "$PKI" --tls-cert "$PKI" --tls-key "$PKI/server.key"
OTELPROFD_TLS_KEY="$PKI/nope.key" start_fails "OTELPROFD_TLS_KEY names a missing file" \
    "$PKI/nope.key" --tls-cert "$PKI/server.pem"

help="$("$OTELPROFD_BIN" serve --help)"
for f in --tls-cert --tls-key --tls-client-ca OTELPROFD_TLS_CERT; do
    expect_contains "serve --help documents $f" "$f" "$help"
done
expect_contains "serve --help: MCP HTTP binds 127.0.0.1 by default" "default 127.0.0.1:4319" "$help"

# ---- TLS daemons ---------------------------------------------------------------------------
# tls_daemon_start NAME [options...]: like daemon_start, over https; /healthz is polled
# with curl trusting the test CA (and presenting the client certificate: mTLS daemons
# refuse everything else). Sets NAME_GRPC (host:port), NAME_HTTP, NAME_MCP (https URLs).
tls_daemon_start() {
    local name="$1"
    shift
    local log="$WORK/$name.log" pid
    "$OTELPROFD_BIN" serve --otlp-grpc 127.0.0.1:0 --otlp-http 127.0.0.1:0 \
        --mcp-http 127.0.0.1:0 "${SRV[@]}" "$@" 2>"$log" &
    pid=$!
    DAEMONS+=("$pid")
    printf -v "${name}_PID" '%s' "$pid"
    printf -v "${name}_LOG" '%s' "$log"
    daemon_wait_ready "$name" "$pid" "$log" https --cacert "$CA" "${CLIENT[@]}"
}

# curl_code URL [curl options...]: the HTTP status, or curl-error:N when curl failed.
curl_code() {
    local url="$1" rc=0 code
    shift
    code="$(curl -sS --max-time 20 -o "$WORK/body" -w '%{http_code}' "$@" "$url" 2>"$WORK/curl.err")" ||
        rc=$?
    if [[ $rc -ne 0 ]]; then echo "curl-error:$rc"; else echo "$code"; fi
}

post_cpu() { # post_cpu BASE [curl options...]
    local base="$1"
    shift
    curl_code "$base/v1development/profiles" -H 'Content-Type: application/x-protobuf' \
        --data-binary "@$CPU_PB" "$@"
}

tls_daemon_start T
expect_contains "T logs its listeners as TLS" "OTLP/gRPC listening on $T_GRPC (TLS)" "$(cat "$T_LOG")"

# OTLP/HTTP
code="$(post_cpu "$T_HTTP" --cacert "$CA")"
expect_eq "OTLP/HTTP over TLS: curl --cacert posts cpu.pb: 200" 200 "$code"
expect_eq "OTLP/HTTP over TLS: nothing rejected" 0 "$(rejected "$(response_json)")"
code="$(post_cpu "https://localhost:${T_HTTP##*:}" --cacert "$CA")"
expect_eq "OTLP/HTTP over TLS by name (SAN DNS:localhost): 200" 200 "$code"
code="$(post_cpu "http://${T_HTTP#https://}")"
if [[ "$code" == curl-error:* ]]; then
    pass "plain http:// to the TLS OTLP/HTTP port fails ($code)"
else
    fail "plain http:// to the TLS OTLP/HTTP port must fail, got $code"
fi
code="$(post_cpu "$T_HTTP" --cacert "$PKI/other-ca.pem")"
if [[ "$code" == curl-error:60 ]]; then
    pass "curl trusting another CA refuses the server certificate"
else
    fail "curl trusting another CA must fail with 60 (certificate), got $code: $(cat "$WORK/curl.err")"
fi

# OTLP/gRPC
out="$(node "$LIB/send_grpc.mjs" "$T_GRPC" "$MEM_PB" --ca "$CA")"
expect_eq "OTLP/gRPC over TLS: grpc-js createSsl(ca) exports mem.pb: OK" OK "$(jget "$out" status)"
expect_eq "OTLP/gRPC over TLS: nothing rejected" 0 "$(rejected "$out")"
out="$(node "$LIB/send_grpc.mjs" "$T_GRPC" "$MEM_PB" --deadline-ms 5000)"
expect_eq "OTLP/gRPC: an insecure grpc-js client fails: UNAVAILABLE" UNAVAILABLE "$(jget "$out" status)"
out="$(node "$LIB/send_grpc.mjs" "$T_GRPC" "$MEM_PB" --ca "$PKI/other-ca.pem" --deadline-ms 5000)"
expect_eq "OTLP/gRPC: grpc-js trusting another CA fails: UNAVAILABLE" UNAVAILABLE "$(jget "$out" status)"

# the answers are those of a plaintext ingest: go tool pprof -top, value for value
export NODE_EXTRA_CA_CERTS="$CA"
sel='{service.name="flate", host.name="node-a"}'
check "top over https: flate cpu:nanoseconds (cpu.pb over OTLP/HTTP+TLS, twice)" \
    node "$LIB/check_top.mjs" --base "$T_MCP" --type cpu:nanoseconds --selector "$sel" \
    --file "$CPU_PB" --match service.name=flate --match host.name=node-a --repeat 2 \
    --expected "$E/compress_flate.cpu.cpu.top.txt" --label "TLS flate cpu"
sel='{service.name="flate", host.name="node-b"}'
check "top over https: flate alloc_space:bytes (mem.pb over OTLP/gRPC+TLS)" \
    node "$LIB/check_top.mjs" --base "$T_MCP" --type alloc_space:bytes --selector "$sel" \
    --file "$MEM_PB" --match service.name=flate --match host.name=node-b \
    --expected "$E/compress_flate.mem.alloc_space.top.txt" --label "TLS flate alloc_space"
# metric_tls BASE NAME [curl options...]: otelprofd_NAME summed over label sets, over https
metric_tls() {
    local base="$1" name="$2"
    shift 2
    curl -s --max-time 5 --cacert "$CA" "$@" "$base/metrics" | awk -v n="otelprofd_$name" '
        $1 == n || index($1, n "{") == 1 { s += $NF; found = 1 }
        END { if (found) printf "%d\n", s; else print "absent" }'
}
# cpu.pb holds 4 profiles (sent twice over HTTP), mem.pb 8 (once over gRPC)
expect_eq "/metrics over https: 2x4 + 8 profiles received" 16 \
    "$(metric_tls "$T_MCP" received_profiles_total)"

# MCP with the official SDK
check "MCP SDK over https (NODE_EXTRA_CA_CERTS): tools, table == pprof, https export URL" \
    node "$LIB/mcp_tls_check.mjs" --url "$T_MCP" --td "$TD" --repeat 2
out="$(NODE_EXTRA_CA_CERTS='' node "$LIB/mcp_tls_check.mjs" --url "$T_MCP" --td "$TD" \
    --expect-refused 2>&1)" || true
expect_contains "MCP SDK without the test CA is refused (unverifiable certificate)" \
    "UNABLE_TO_VERIFY" "$out"
daemon_stop T

# ---- the MCP warning stays with TLS --------------------------------------------------------
# warn_check DESC EXPECT(yes|no) [options...]: MCP on 0.0.0.0 with TLS; is the loud warning logged?
warn_check() {
    local desc="$1" expect="$2" log="$WORK/warn.log" pid i
    shift 2
    : >"$log"
    "$OTELPROFD_BIN" serve --otlp-grpc off --otlp-http off --mcp-http 0.0.0.0:0 \
        "${SRV[@]}" "$@" 2>"$log" &
    pid=$!
    DAEMONS+=("$pid")
    for ((i = 0; i < 100; i++)); do
        grep -q "HTTP API listening" "$log" && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    DAEMONS=("${DAEMONS[@]/$pid/}")
    grep -q "HTTP API listening" "$log" || fail "$desc: the daemon did not start: $(tail -5 "$log")"
    local got=no
    if grep -q "WITHOUT a token" "$log"; then got=yes; fi
    expect_eq "$desc" "$expect" "$got"
}
warn_check "MCP on 0.0.0.0 with TLS but no --mcp-token: the loud warning is logged" yes
warn_check "MCP on 0.0.0.0 with TLS and --mcp-token: no warning" no --mcp-token "t-$RANDOM"

# ---- mTLS ------------------------------------------------------------------------------
tls_daemon_start M --tls-client-ca "$CA"
expect_contains "M logs client certificates as required" "(TLS, client certificates required)" \
    "$(cat "$M_LOG")"
refused() { # refused DESC CODE: curl failed (handshake, or the connection closed unanswered)
    if [[ "$2" == curl-error:* ]]; then pass "$1 ($2)"; else fail "$1: expected a refusal, got $2"; fi
}

refused "mTLS OTLP/HTTP: curl without a client certificate is refused" \
    "$(post_cpu "$M_HTTP" --cacert "$CA")"
refused "mTLS OTLP/HTTP: curl with a certificate from another CA is refused" \
    "$(post_cpu "$M_HTTP" --cacert "$CA" "${INTRUDER[@]}")"
expect_eq "mTLS OTLP/HTTP: curl with the right client certificate: 200" 200 \
    "$(post_cpu "$M_HTTP" --cacert "$CA" "${CLIENT[@]}")"

refused "mTLS MCP /healthz: without a client certificate refused" \
    "$(curl_code "$M_MCP/healthz" --cacert "$CA")"
refused "mTLS MCP /metrics: with another CA's certificate refused" \
    "$(curl_code "$M_MCP/metrics" --cacert "$CA" "${INTRUDER[@]}")"
refused "mTLS MCP POST /mcp initialize: without a client certificate refused" \
    "$(curl_code "$M_MCP/mcp" --cacert "$CA" -H 'Content-Type: application/json' \
        -H 'Accept: application/json, text/event-stream' \
        --data '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"curl","version":"0"}}}')"
expect_eq "mTLS MCP /healthz with the right client certificate: 200" 200 \
    "$(curl_code "$M_MCP/healthz" --cacert "$CA" "${CLIENT[@]}")"

out="$(node "$LIB/send_grpc.mjs" "$M_GRPC" "$MEM_PB" --ca "$CA" --deadline-ms 5000)"
expect_eq "mTLS gRPC: grpc-js createSsl(ca) without a client certificate fails" UNAVAILABLE \
    "$(jget "$out" status)"
out="$(node "$LIB/send_grpc.mjs" "$M_GRPC" "$MEM_PB" --ca "$CA" "${INTRUDER[@]}" --deadline-ms 5000)"
expect_eq "mTLS gRPC: grpc-js with another CA's certificate fails" UNAVAILABLE "$(jget "$out" status)"
out="$(node "$LIB/send_grpc.mjs" "$M_GRPC" "$MEM_PB" --ca "$CA" "${CLIENT[@]}")"
expect_eq "mTLS gRPC: grpc-js createSsl(ca, key, cert) exports mem.pb: OK" OK "$(jget "$out" status)"
expect_contains "mTLS gRPC: the refusals are logged" "peer did not return a certificate" \
    "$(cat "$M_LOG")"

check "mTLS MCP: SDK with the client certificate: tools, table == pprof, https export" \
    node "$LIB/mcp_tls_check.mjs" --url "$M_MCP" --td "$TD" --ca "$CA" "${CLIENT[@]}"
out="$(node "$LIB/mcp_tls_check.mjs" --url "$M_MCP" --td "$TD" --ca "$CA" "${INTRUDER[@]}" \
    --expect-refused 2>&1)" || true
expect_contains "mTLS MCP: SDK with another CA's certificate is refused" "refused as expected" "$out"

# still serving after all the refusals, and what got in was stored exactly once
expect_eq "mTLS: after the refusals, the right client still gets 200" 200 \
    "$(post_cpu "$M_HTTP" --cacert "$CA" "${CLIENT[@]}")"
# admitted: cpu.pb twice over HTTP (2x4 profiles), mem.pb once over gRPC (8)
expect_eq "mTLS: only the admitted requests were ingested: 2x4 + 8 profiles" 16 \
    "$(metric_tls "$M_MCP" received_profiles_total "${CLIENT[@]}")"
expect_eq "mTLS: OTLP/HTTP counted the 2 admitted requests and the 2 refused ones" 4 \
    "$(metric_tls "$M_MCP" 'received_requests_total{transport="http"}' "${CLIENT[@]}")"
expect_eq "mTLS: OTLP/gRPC saw 1 call: the refused clients never got past the handshake" 1 \
    "$(metric_tls "$M_MCP" 'received_requests_total{transport="grpc"}' "${CLIENT[@]}")"
daemon_stop M

# ---- otelprofd send over TLS, to an independent receiver (node:https + grpc-js) ---------------
node "$LIB/tls_sink.mjs" --ca "$CA" --cert "$PKI/server.pem" --key "$PKI/server.key" \
    --require-client-cert >"$WORK/sink.out" 2>"$WORK/sink.err" &
SINK_PID=$!
DAEMONS+=("$SINK_PID")
for ((i = 0; i < 100; i++)); do
    [[ -s "$WORK/sink.out" ]] && break
    kill -0 "$SINK_PID" 2>/dev/null || die "tls_sink.mjs exited: $(cat "$WORK/sink.err")"
    sleep 0.1
done
SINK_HTTP="127.0.0.1:$(jget "$(head -1 "$WORK/sink.out")" http)"
SINK_GRPC="127.0.0.1:$(jget "$(head -1 "$WORK/sink.out")" grpc)"
PPROF="$OTELPROFD_SRC/examples/profiles/compress_flate.cpu.pb.gz" # 2 sample types: 2 profiles
sink_lines() { tail -n +2 "$WORK/sink.out" | grep -c "\"transport\":\"$1\"" || true; }
send_rc() {
    local rc=0
    "$OTELPROFD_BIN" send --retries 0 --timeout 5s --time-now "$@" "$PPROF" \
        >"$WORK/send.out" 2>"$WORK/send.err" || rc=$?
    echo "$rc"
}

expect_eq "send over gRPC+TLS with a client certificate to grpc-js (mTLS): exit 0" 0 \
    "$(send_rc --endpoint "$SINK_GRPC" --tls-ca "$CA" "${CLIENT[@]/#--/--tls-}")"
expect_eq "send over OTLP/HTTP+TLS with a client certificate to node:https (mTLS): exit 0" 0 \
    "$(send_rc --http --endpoint "$SINK_HTTP" --tls-ca "$CA" "${CLIENT[@]/#--/--tls-}")"
expect_eq "send without a client certificate: refused, exit 3 (gRPC)" 3 \
    "$(send_rc --endpoint "$SINK_GRPC" --tls-ca "$CA")"
expect_eq "send without a client certificate: refused, exit 3 (HTTP)" 3 \
    "$(send_rc --http --endpoint "$SINK_HTTP" --tls-ca "$CA")"
expect_eq "send trusting another CA: refused, exit 3 (HTTP)" 3 \
    "$(send_rc --http --endpoint "$SINK_HTTP" --tls-ca "$PKI/other-ca.pem" "${CLIENT[@]/#--/--tls-}")"
expect_contains "send trusting another CA: says why (certificate)" "certificate" "$(cat "$WORK/send.err")"
expect_eq "send plaintext to the TLS receiver: fails, exit 3" 3 \
    "$(send_rc --http --endpoint "$SINK_HTTP")"
expect_eq "send --tls-cert without --tls-key: usage, exit 2" 2 \
    "$(send_rc --endpoint "$SINK_GRPC" --tls-ca "$CA" --tls-cert "$PKI/client.pem")"
expect_eq "send --tls-ca of a missing file: exit 2" 2 \
    "$(send_rc --endpoint "$SINK_GRPC" --tls-ca "$PKI/missing.pem")"
expect_contains "send --tls-ca of a missing file: names it" "$PKI/missing.pem" "$(cat "$WORK/send.err")"
expect_eq "the gRPC receiver got exactly the 1 admitted request" 1 "$(sink_lines grpc)"
expect_eq "the HTTP receiver got exactly the 1 admitted request" 1 "$(sink_lines http)"
got="$(grep -h '"transport"' "$WORK/sink.out" | sort)"
expect_contains "gRPC request: 2 profiles, client it-client" \
    '{"transport":"grpc","profiles":2,' "$got"
expect_contains "HTTP request: 2 profiles, from the client certificate it-client" \
    '"client_cn":"it-client"}' "$(grep '"transport":"http"' <<<"$got")"

# ---- otelprofd query / mcp --connect over TLS, to an independent MCP server (the SDK's) ------
node "$LIB/mcp_tls_server.mjs" --ca "$CA" --cert "$PKI/server.pem" --key "$PKI/server.key" \
    --require-client-cert >"$WORK/mcpsrv.out" 2>"$WORK/mcpsrv.err" &
MCPSRV_PID=$!
DAEMONS+=("$MCPSRV_PID")
for ((i = 0; i < 100; i++)); do
    [[ -s "$WORK/mcpsrv.out" ]] && break
    kill -0 "$MCPSRV_PID" 2>/dev/null || die "mcp_tls_server.mjs exited: $(cat "$WORK/mcpsrv.err")"
    sleep 0.1
done
STUB="https://127.0.0.1:$(jget "$(cat "$WORK/mcpsrv.out")" port)/mcp"
TLS_CLIENT=(--tls-ca "$CA" --tls-cert "$PKI/client.pem" --tls-key "$PKI/client.key")
run_rc() { # run_rc ARGS...: otelprofd's exit code; stdout in $WORK/run.out, stderr in run.err
    local rc=0
    "$OTELPROFD_BIN" "$@" >"$WORK/run.out" 2>"$WORK/run.err" </dev/null || rc=$?
    echo "$rc"
}
expect_eq "query over https with --tls-ca and a client certificate: exit 0" 0 \
    "$(run_rc query whoami --connect "$STUB" "${TLS_CLIENT[@]}")"
expect_contains "query over https: the server saw the client certificate" "CN=it-client" \
    "$(cat "$WORK/run.out")"
expect_eq "query over https without a client certificate: refused, exit 3" 3 \
    "$(run_rc query whoami --connect "$STUB" --tls-ca "$CA")"
expect_eq "query over https trusting another CA: exit 3" 3 \
    "$(run_rc query whoami --connect "$STUB" --tls-ca "$PKI/other-ca.pem" \
        --tls-cert "$PKI/client.pem" --tls-key "$PKI/client.key")"
expect_contains "query trusting another CA: says it is the certificate" "certificate" \
    "$(cat "$WORK/run.err")"
expect_eq "query --tls-cert without --tls-key: usage, exit 2" 2 \
    "$(run_rc query whoami --connect "$STUB" --tls-ca "$CA" --tls-cert "$PKI/client.pem")"
out="$(printf '%s\n' \
    '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"it","version":"0"}}}' \
    '{"jsonrpc":"2.0","method":"notifications/initialized"}' \
    '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"whoami","arguments":{}}}' |
    "$OTELPROFD_BIN" mcp --connect "$STUB" "${TLS_CLIENT[@]}" 2>"$WORK/bridge.err")" || true
expect_contains "mcp --connect https bridge: the tool answers through it with the client CN" \
    'client certificate CN=it-client' "$out"
expect_eq "mcp --connect to an untrusted https server: exit 3 at start" 3 \
    "$(run_rc mcp --connect "$STUB" --tls-ca "$PKI/other-ca.pem")"

summary
