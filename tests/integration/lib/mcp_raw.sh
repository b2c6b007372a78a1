# shellcheck shell=bash
# mcp_raw.sh — raw Streamable HTTP with curl, for the protocol checks the SDK cannot make
# (broken JSON, foreign Origin, bad MCP-Protocol-Version, a deleted session). Sourced after
# common.sh.

MCP_ACCEPT='application/json, text/event-stream'

# mcp_post URL SESSION BODY [curl options...]: POSTs BODY to URL/mcp with the session id
# (none when SESSION is "-"); prints the HTTP status. Body in $WORK/mcp_body, headers in
# $WORK/mcp_headers.
mcp_post() {
    local url="$1" session="$2" body="$3"
    shift 3
    local sh=()
    [[ "$session" == - ]] || sh=(-H "Mcp-Session-Id: $session")
    curl -sS --max-time 30 -o "$WORK/mcp_body" -D "$WORK/mcp_headers" -w '%{http_code}' \
        -H 'Content-Type: application/json' -H "Accept: $MCP_ACCEPT" "${sh[@]}" \
        --data-binary "$body" "$@" "$url/mcp" || echo curl-error
}

# mcp_json: the JSON-RPC message of the last response (plain JSON, or the last SSE
# "data:" event).
mcp_json() {
    node -e '
const t = require("fs").readFileSync(process.argv[1], "utf8");
if (/^\s*[{\[]/.test(t)) { console.log(t.trim()); process.exit(0); }
const ev = t.split(/\r?\n\r?\n/).map((e) => e.split(/\r?\n/).filter((l) => l.startsWith("data:"))
  .map((l) => l.slice(5).replace(/^ /, "")).join("\n")).filter(Boolean);
console.log(ev.length ? ev[ev.length - 1] : "");' "$WORK/mcp_body"
}

# mcp_header NAME: a header of the last response (case-insensitive), value only.
mcp_header() {
    tr -d '\r' <"$WORK/mcp_headers" | awk -v n="$(echo "$1" | tr '[:upper:]' '[:lower:]')" '
        { i = index($0, ":"); if (i && tolower(substr($0, 1, i - 1)) == n) { v = substr($0, i + 1); sub(/^ +/, "", v); print v } }' | tail -n 1
}

MCP_INIT='{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"curl","version":"0"}}}'
MCP_INITIALIZED='{"jsonrpc":"2.0","method":"notifications/initialized"}'

# mcp_session URL [curl options...]: initialize + initialized; prints the session id.
mcp_session() {
    local url="$1" code sid
    shift
    code="$(mcp_post "$url" - "$MCP_INIT" "$@")"
    [[ "$code" == 200 ]] || { echo "initialize -> HTTP $code: $(head -c 300 "$WORK/mcp_body")" >&2; return 1; }
    sid="$(mcp_header Mcp-Session-Id)"
    [[ -n "$sid" ]] || { echo "initialize: no Mcp-Session-Id header" >&2; return 1; }
    code="$(mcp_post "$url" "$sid" "$MCP_INITIALIZED" -H 'MCP-Protocol-Version: 2025-06-18' "$@")"
    [[ "$code" == 202 ]] || { echo "notifications/initialized -> HTTP $code (want 202)" >&2; return 1; }
    echo "$sid"
}
