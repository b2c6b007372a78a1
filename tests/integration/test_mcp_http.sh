#!/usr/bin/env bash
# test_mcp_http.sh — the MCP tools over Streamable HTTP with the official SDK client.
#
# cpu.pb (gRPC), mem.pb (HTTP protobuf) and ebpf_style.json (HTTP JSON) into a daemon; the
# SDK (lib/mcp_http_check.mjs) lists the tools and calls every one: tables equal
# `go tool pprof -top` (testdata/expected), flame-graph invariants on real data, the
# sandwich equals `go tool pprof -peek`, export_pprof / /api/pprof read by
# `go tool pprof -top` equal the original, bad arguments give isError. Then the protocol
# with raw curl: -32601, -32700, 401 without the token, 403 for a foreign Origin, GET 405,
# DELETE ends a session (404 after), a garbage MCP-Protocol-Version 400; the Host check
# against DNS rebinding on every path (403 for a foreign name, 400 without a Host),
# --mcp-allow-host and OTELPROFD_MCP_ALLOW_HOST, and the empty answer of a query tool
# whose profile type is present but has no samples in the range.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/mcp_raw.sh"
need_tools
command -v go >/dev/null || die "go is not installed (go tool pprof is the reference)"
[[ -d "$OTELPROFD_SRC/tests/node_modules/@modelcontextprotocol/sdk" ]] ||
    die "no @modelcontextprotocol/sdk: run 'npm ci --prefix $OTELPROFD_SRC/tests'"

# The data's T0 lands 20 min before NOW_NS (otlp_time.mjs), so absolute ranges can be checked.
NOW_NS="$(node -e 'console.log(String(BigInt(Date.now()) * 1000000n))')"
DATA_START_NS="$(node -e 'console.log(String(BigInt(process.argv[1]) - 1200000000000n))' "$NOW_NS")"
for f in cpu.pb mem.pb ebpf_style.json; do
    node "$LIB/otlp_time.mjs" "$TD/otlp/$f" "$WORK/shifted.$f" --now-ns "$NOW_NS" || die "otlp_time.mjs $f"
done
TOKEN="it-token-$RANDOM$RANDOM"

daemon_start A --mcp-allow-origin https://ide.example.com
daemon_start T --mcp-token "$TOKEN"

for d in A T; do
    grpc="${d}_GRPC" http="${d}_HTTP"
    out="$(node "$LIB/send_grpc.mjs" "${!grpc}" "$WORK/shifted.cpu.pb" --gzip)"
    expect_eq "$d: cpu.pb over gRPC: OK, nothing rejected" "OK 0" "$(jget "$out" status) $(rejected "$out")"
    code="$(http_post "${!http}/v1development/profiles" "$WORK/shifted.mem.pb" application/x-protobuf)"
    expect_eq "$d: mem.pb over HTTP: 200, nothing rejected" "200 0" "$code $(rejected "$(response_json)")"
done
code="$(http_post "$A_HTTP/v1development/profiles" "$WORK/shifted.ebpf_style.json" application/json)"
expect_eq "A: ebpf_style.json over HTTP JSON: 200, nothing rejected" "200 0" "$code $(rejected "$(response_json)")"

# ---- the SDK: every tool, prompts, resources, completion, token -----------------------
check "SDK over Streamable HTTP: every tool and its answers (see the mcp/http lines)" \
    node "$LIB/mcp_http_check.mjs" --url "$A_MCP" --td "$TD" --work "$WORK" \
    --sent "$WORK/shifted.cpu.pb" --sent "$WORK/shifted.mem.pb" --sent "$WORK/shifted.ebpf_style.json" \
    --data-start-ns "$DATA_START_NS" --token-url "$T_MCP" --token "$TOKEN"

# ---- /api/pprof directly ------------------------------------------------------------------
# pprof_top_eq LABEL SOURCE EXPECTED UNIT: `go tool pprof -top` of SOURCE equals EXPECTED.
pprof_top_eq() {
    check "$1" node -e '
import("'"$LIB"'/mcp_lib.mjs").then(async (m) => {
  const { compareTop, parseTop } = await import("'"$LIB"'/compare_top.mjs");
  const exp = parseTop(require("fs").readFileSync(process.argv[2], "utf8"), process.argv[2]);
  let d;
  try { d = compareTop(exp, m.goTop(process.argv[1], process.argv[3], ["-unit=" + process.argv[4]])); }
  catch (e) { console.error(e.message.slice(0, 600)); process.exit(1); }
  if (d.length) console.error(d.slice(0, 6).join("\n"));
  process.exit(d.length ? 1 : 0);
});' "$2" "$3" "$WORK" "$4"
}
sel="$(node -e 'console.log(encodeURIComponent(process.argv[1]))' '{service.name="flate",host.name="node-a"}')"
API="$A_MCP/api/pprof?profile_type=cpu:nanoseconds&selector=$sel"
code="$(curl -sS --max-time 60 -o "$WORK/api.pb.gz" -D "$WORK/api.headers" -w '%{http_code}' "$API" || echo curl-error)"
expect_eq "GET /api/pprof: 200" 200 "$code"
expect_contains "GET /api/pprof: Content-Type application/octet-stream" "application/octet-stream" \
    "$(tr '[:upper:]' '[:lower:]' <"$WORK/api.headers")"
expect_contains "GET /api/pprof: Content-Disposition attachment" "attachment" \
    "$(tr '[:upper:]' '[:lower:]' <"$WORK/api.headers")"
pprof_top_eq "GET /api/pprof + go tool pprof -top == compress_flate.cpu.cpu" "$WORK/api.pb.gz" \
    "$TD/expected/compress_flate.cpu.cpu.top.txt" nanoseconds
pprof_top_eq "go tool pprof -top '$A_MCP/api/pprof?...' == compress_flate.cpu.cpu" "$API" \
    "$TD/expected/compress_flate.cpu.cpu.top.txt" nanoseconds
start="$(node -e 'console.log(new Date(Number(BigInt(process.argv[1]) / 1000000n) - 60000).toISOString())' "$DATA_START_NS")"
sel="$(node -e 'console.log(encodeURIComponent(process.argv[1]))' '{service_name="flate", host.name=~"node-b"}')"
pprof_top_eq "go tool pprof -top /api/pprof (inuse_space, start=RFC 3339, end=now) == compress_flate.mem.inuse_space" \
    "$A_MCP/api/pprof?profile_type=inuse_space:bytes&selector=$sel&start=$start&end=now" \
    "$TD/expected/compress_flate.mem.inuse_space.top.txt" bytes
code="$(curl -sS --max-time 10 -o "$WORK/api.err" -w '%{http_code}' "$A_MCP/api/pprof?profile_type=cpu:nanoseconds&selector=%7Bbroken" || true)"
expect_eq "GET /api/pprof with a broken selector: 400" 400 "$code"
expect_contains "GET /api/pprof with a broken selector: the reason" "selector" "$(cat "$WORK/api.err")"
code="$(curl -sS --max-time 10 -o "$WORK/api.err" -w '%{http_code}' "$A_MCP/api/pprof?selector=%7B%7D" || true)"
expect_eq "GET /api/pprof without profile_type: 400" 400 "$code"

# ---- raw JSON-RPC with curl ------------------------------------------------------------------
if SID="$(mcp_session "$A_MCP")"; then
    pass "curl: initialize + notifications/initialized (session $SID)"
    V=(-H 'MCP-Protocol-Version: 2025-06-18')
    code="$(mcp_post "$A_MCP" "$SID" '{"jsonrpc":"2.0","id":7,"method":"no/such/method"}' "${V[@]}")"
    expect_eq "curl: unknown method: HTTP 200" 200 "$code"
    expect_eq "curl: unknown method: -32601" "-32601 7" \
        "$(jget "$(mcp_json)" error.code) $(jget "$(mcp_json)" id)"

    code="$(mcp_post "$A_MCP" "$SID" '{"jsonrpc":"2.0","id":8,"method":"tools/list"' "${V[@]}")"
    expect_eq "curl: broken JSON: -32700" "-32700" "$(jget "$(mcp_json)" error.code)"
    expect_contains "curl: broken JSON: HTTP 400" 400 "$code"

    code="$(mcp_post "$A_MCP" "$SID" '{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"no_such_tool","arguments":{}}}' "${V[@]}")"
    expect_eq "curl: tools/call of an unknown tool: -32602" "-32602" "$(jget "$(mcp_json)" error.code)"

    code="$(mcp_post "$A_MCP" "$SID" '{"jsonrpc":"2.0","id":10,"method":"ping"}' "${V[@]}")"
    expect_eq "curl: ping: 200 {}" "200 {}" "$code $(jget "$(mcp_json)" result)"

    code="$(mcp_post "$A_MCP" "$SID" '{"jsonrpc":"2.0","id":11,"method":"ping"}' -H 'MCP-Protocol-Version: banana')"
    expect_eq "curl: MCP-Protocol-Version garbage: 400" 400 "$code"
    code="$(mcp_post "$A_MCP" "$SID" '{"jsonrpc":"2.0","id":12,"method":"ping"}' -H 'MCP-Protocol-Version: 2024-11-05')"
    expect_eq "curl: MCP-Protocol-Version 2024-11-05 (not offered): 400" 400 "$code"

    code="$(mcp_post "$A_MCP" "$SID" '{"jsonrpc":"2.0","id":13,"method":"ping"}' "${V[@]}" -H 'Origin: http://evil.example')"
    expect_eq "curl: foreign Origin http://evil.example: 403" 403 "$code"
    code="$(mcp_post "$A_MCP" "$SID" '{"jsonrpc":"2.0","id":14,"method":"ping"}' "${V[@]}" -H "Origin: http://localhost:5173")"
    expect_eq "curl: loopback Origin http://localhost:5173: 200" 200 "$code"
    code="$(mcp_post "$A_MCP" "$SID" '{"jsonrpc":"2.0","id":15,"method":"ping"}' "${V[@]}" -H "Origin: https://ide.example.com")"
    expect_eq "curl: --mcp-allow-origin https://ide.example.com: 200" 200 "$code"

    code="$(curl -sS --max-time 10 -o /dev/null -w '%{http_code}' -H "Mcp-Session-Id: $SID" \
        -H "Accept: text/event-stream" "$A_MCP/mcp" || true)"
    expect_eq "curl: GET /mcp: 405" 405 "$code"

    code="$(mcp_post "$A_MCP" "not-a-session-$RANDOM" '{"jsonrpc":"2.0","id":16,"method":"ping"}' "${V[@]}")"
    expect_eq "curl: unknown Mcp-Session-Id: 404" 404 "$code"
    code="$(mcp_post "$A_MCP" - '{"jsonrpc":"2.0","id":17,"method":"ping"}' "${V[@]}")"
    expect_eq "curl: a request other than initialize without Mcp-Session-Id: 400" 400 "$code"

    code="$(curl -sS --max-time 10 -o /dev/null -w '%{http_code}' -X DELETE -H "Mcp-Session-Id: $SID" \
        "${V[@]}" "$A_MCP/mcp" || true)"
    if [[ "$code" == 200 || "$code" == 204 ]]; then pass "curl: DELETE /mcp ends the session ($code)"; else fail "curl: DELETE /mcp: HTTP $code"; fi
    code="$(mcp_post "$A_MCP" "$SID" '{"jsonrpc":"2.0","id":18,"method":"ping"}' "${V[@]}")"
    expect_eq "curl: the deleted session: 404" 404 "$code"
else
    fail "curl: initialize + notifications/initialized"
fi

code="$(curl -sS --max-time 10 -o "$WORK/mcp_body" -w '%{http_code}' -H 'Content-Type: application/json' \
    -H "Accept: $MCP_ACCEPT" --data-binary "$MCP_INIT" "$A_MCP/mcp" || true)"
expect_eq "curl: initialize without a session: 200" 200 "$code"
expect_contains "curl: initialize answers a version it supports (2025-06-18 asked)" '"protocolVersion":"2025-06-18"' \
    "$(mcp_json | tr -d ' ')"

# ---- Host header: DNS rebinding ---------------------------------------------------------------
# A page of rebind.attacker.example whose DNS answer turned into 127.0.0.1 sends its own name
# as Host and no Origin on a GET: refused on every path of the listener.
MPORT="${A_MCP##*:}"
EVIL="rebind.attacker.example:$MPORT"
# host_code HOST PATH [curl options...]: the status of GET PATH (POST initialize for /mcp)
# with that Host header; the body in $WORK/host_body.
host_code() {
    local host="$1" path="$2"
    shift 2
    local extra=() hh=(-H "Host: $host")
    [[ -n "$host" ]] || hh=(-H "Host:") # curl then sends none
    [[ "$path" == /mcp ]] && extra=(-H 'Content-Type: application/json' -H "Accept: $MCP_ACCEPT" --data-binary "$MCP_INIT")
    curl -sS --max-time 30 -o "$WORK/host_body" -w '%{http_code}' "${hh[@]}" "${extra[@]}" "$@" \
        "$A_MCP$path" || echo curl-error
}
for path in /mcp "/api/pprof?profile_type=cpu:nanoseconds" "/debug/top?profile_type=cpu:nanoseconds" /metrics /healthz; do
    expect_eq "Host $EVIL: $path refused with 403" 403 "$(host_code "$EVIL" "$path")"
    expect_contains "Host $EVIL: $path says why" "DNS rebinding" "$(cat "$WORK/host_body")"
    expect_eq "Host localhost:$MPORT: $path 200" 200 "$(host_code "localhost:$MPORT" "$path")"
done
expect_contains "Host $EVIL on /mcp: a JSON-RPC error naming the Host" \
    'Host \"rebind.attacker.example\" is not a name of this server' \
    "$(host_code "$EVIL" /mcp; cat "$WORK/host_body")"
for host in "127.0.0.1:$MPORT" "[::1]:$MPORT" "LOCALHOST" "localhost.:1"; do
    expect_eq "Host $host: /api/pprof 200" 200 "$(host_code "$host" "/api/pprof?profile_type=cpu:nanoseconds")"
done
expect_eq "Host 127.0.0.1.nip.io (a name, not the address): 403" 403 "$(host_code 127.0.0.1.nip.io /healthz)"
expect_eq "Host localhost:99999 (malformed): 400" 400 "$(host_code localhost:99999 /healthz)"
expect_eq "HTTP/1.0 without Host: 400" 400 "$(host_code "" /healthz -0)"
expect_eq "HTTP/1.1 without Host: 400" 400 "$(host_code "" /healthz)"
expect_eq "HTTP/1.0 with Host localhost: 200" 200 "$(host_code localhost /healthz -0)"

daemon_start H --mcp-allow-host prof.example.test --mcp-allow-host other.example.test
A_MCP_SAVED="$A_MCP" A_MCP="$H_MCP"
expect_eq "--mcp-allow-host prof.example.test: /metrics 200" 200 "$(host_code prof.example.test:443 /metrics)"
expect_eq "--mcp-allow-host (repeated) other.example.test: /mcp 200" 200 "$(host_code OTHER.example.test /mcp)"
expect_eq "--mcp-allow-host: other names still 403" 403 "$(host_code rebind.attacker.example /debug/top)"
daemon_stop H
OTELPROFD_MCP_ALLOW_HOST="env-a.example.test, env-b.example.test" daemon_start E
A_MCP="$E_MCP"
expect_eq "OTELPROFD_MCP_ALLOW_HOST (comma list): the first name 200" 200 "$(host_code env-a.example.test /metrics)"
expect_eq "OTELPROFD_MCP_ALLOW_HOST (comma list): the second name 200" 200 "$(host_code env-b.example.test /metrics)"
expect_eq "OTELPROFD_MCP_ALLOW_HOST: other names 403" 403 "$(host_code env-c.example.test /metrics)"
daemon_stop E
A_MCP="$A_MCP_SAVED"
rc=0
out="$("$OTELPROFD_BIN" serve --otlp-grpc off --otlp-http off --mcp-http 127.0.0.1:0 --mcp-allow-host '*' 2>&1)" || rc=$?
expect_eq "--mcp-allow-host '*' without --mcp-token: exit 2" 2 "$rc"
expect_contains "--mcp-allow-host '*' without --mcp-token: says to set a token" "--mcp-token" "$out"
rc=0
out="$("$OTELPROFD_BIN" serve --otlp-grpc off --otlp-http off --mcp-http 127.0.0.1:0 --mcp-allow-host prof.example.test:4319 2>&1)" || rc=$?
expect_eq "--mcp-allow-host NAME:PORT: exit 2" 2 "$rc"
expect_contains "--mcp-allow-host NAME:PORT: says ports are not given" "no port" "$out"
expect_contains "serve --help documents --mcp-allow-host" "--mcp-allow-host NAME" "$("$OTELPROFD_BIN" serve --help)"

# ---- a present profile type without samples in the range: an empty answer ------------------
q=(--connect "$A_MCP/mcp")
rc=0
out="$("$OTELPROFD_BIN" query query_profile_table '{"profile_type":"cpu:nanoseconds","start":"2020-01-01T00:00:00Z","end":"2020-01-01T01:00:00Z"}' "${q[@]}" 2>&1)" || rc=$?
expect_eq "table of a present type over a range without data: not an error (exit 0)" 0 "$rc"
expect_contains "table over a range without data: says \"No samples in range\"" "No samples in range" "$out"
rc=0
out="$("$OTELPROFD_BIN" query export_pprof '{"profile_type":"cpu:nanoseconds","service_name":"no-such-service"}' "${q[@]}" 2>&1)" || rc=$?
expect_eq "export_pprof of a selector without data: not an error (exit 0)" 0 "$rc"
expect_contains "export_pprof of a selector without data: says so" "No samples in range" "$out"
rc=0
out="$("$OTELPROFD_BIN" query query_profile_table '{"profile_type":"wall:seconds"}' "${q[@]}" 2>&1)" || rc=$?
expect_eq "table of a type the store does not hold: isError (exit 1)" 1 "$rc"
expect_contains "table of an absent type: lists the types present" "Profile types present: " "$out"

# ---- bearer token -----------------------------------------------------------------------------
code="$(mcp_post "$T_MCP" - "$MCP_INIT")"
expect_eq "token: initialize without Authorization: 401" 401 "$code"
code="$(mcp_post "$T_MCP" - "$MCP_INIT" -H "Authorization: Bearer wrong-$TOKEN")"
expect_eq "token: initialize with a wrong token: 401" 401 "$code"
code="$(mcp_post "$T_MCP" - "$MCP_INIT" -H "Authorization: Bearer $TOKEN")"
expect_eq "token: initialize with the right token: 200" 200 "$code"
code="$(curl -sS --max-time 10 -o /dev/null -w '%{http_code}' "$T_MCP/api/pprof?profile_type=cpu:nanoseconds" || true)"
expect_eq "token: /api/pprof without the token: 401" 401 "$code"
code="$(curl -sS --max-time 10 -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
    "$T_MCP/api/pprof?profile_type=cpu:nanoseconds" || true)"
expect_eq "token: /api/pprof with the token: 200" 200 "$code"
code="$(curl -sS --max-time 10 -o /dev/null -w '%{http_code}' "$T_MCP/healthz" || true)"
expect_eq "token: /healthz stays open: 200" 200 "$code"

daemon_stop A
daemon_stop T
summary
