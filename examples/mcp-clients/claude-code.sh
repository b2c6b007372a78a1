#!/usr/bin/env bash
# claude-code.sh: registers a running otelprofd with Claude Code over Streamable HTTP.
# With OTELPROFD_MCP_TOKEN set (the token `otelprofd serve --mcp-token` was given), the
# Authorization header is registered too. OTELPROFD_URL overrides the endpoint.
set -euo pipefail
url="${OTELPROFD_URL:-http://127.0.0.1:4319/mcp}"
command -v claude >/dev/null || { echo "claude-code.sh: the claude CLI is not on PATH" >&2; exit 2; }
if [[ -n "${OTELPROFD_MCP_TOKEN:-}" ]]; then
    TOKEN="$OTELPROFD_MCP_TOKEN"
    claude mcp add --transport http otelprofd "$url" --header "Authorization: Bearer $TOKEN"
else
    claude mcp add --transport http otelprofd "$url"
fi
claude mcp get otelprofd
