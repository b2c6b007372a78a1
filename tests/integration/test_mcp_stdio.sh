#!/usr/bin/env bash
# test_mcp_stdio.sh — the MCP tools over stdio with the official SDK client.
#
# The SDK's StdioClientTransport spawns `otelprofd mcp` with the receiver embedded; data
# arrives over OTLP while it serves, then every tool is called over stdio (tables equal
# `go tool pprof -top`, flame graph invariants, sandwich == `go tool pprof -peek`, the
# export's embedded pprof read by `go tool pprof`), and stdout carries nothing but
# JSON-RPC. Then `otelprofd mcp --connect URL` bridges stdio to a running `serve`.
# See lib/mcp_stdio_check.mjs.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
need_tools
command -v go >/dev/null || die "go is not installed (go tool pprof is the reference)"
[[ -d "$OTELPROFD_SRC/tests/node_modules/@modelcontextprotocol/sdk" ]] ||
    die "no @modelcontextprotocol/sdk: run 'npm ci --prefix $OTELPROFD_SRC/tests'"

CPU_PB="$(shifted "$TD/otlp/cpu.pb")"
MEM_PB="$(shifted "$TD/otlp/mem.pb")"

# A running daemon for the bridge, with cpu.pb in it.
daemon_start B
out="$(node "$LIB/send_grpc.mjs" "$B_GRPC" "$CPU_PB")"
expect_eq "B: cpu.pb over gRPC: OK, nothing rejected" "OK 0" "$(jget "$out" status) $(rejected "$out")"

# Port 0: the check reads the bound ports from the daemon's stderr (no port race).
check "SDK over stdio: embedded receiver, every tool, framing, bridge (see the mcp/stdio lines)" \
    node "$LIB/mcp_stdio_check.mjs" --bin "$OTELPROFD_BIN" \
    --grpc 127.0.0.1:0 --http 127.0.0.1:0 \
    --td "$TD" --work "$WORK" --cpu "$CPU_PB" --mem "$MEM_PB" --bridge-url "$B_MCP/mcp"

# An OTLP port that is taken: `otelprofd mcp` must say so on stderr and point at --connect,
# and never write anything but JSON-RPC to stdout.
set +e
"$OTELPROFD_BIN" mcp --otlp-grpc "${B_GRPC}" --otlp-http off </dev/null >"$WORK/taken.out" 2>"$WORK/taken.err"
rc=$?
set -e
if [[ $rc -ne 0 ]]; then pass "otelprofd mcp with a taken OTLP port exits non-zero ($rc)"; else fail "otelprofd mcp with a taken OTLP port exits 0"; fi
expect_contains "otelprofd mcp with a taken OTLP port suggests --connect" "--connect" "$(cat "$WORK/taken.err")"
expect_eq "otelprofd mcp with a taken OTLP port: nothing on stdout" "" "$(cat "$WORK/taken.out")"

daemon_stop B
summary
