#!/usr/bin/env bash
# test_mcp_lines_links_kinds.sh — issue 13's answers over Streamable HTTP with the official
# MCP SDK client: source lines (query_profile_source == `go tool pprof -top -lines` for
# several functions, inlined ones included), frame kinds and the frame_type filter, trace /
# span filters and rankings (== an independent reading of the OTLP bytes sent), and a diff
# with a profile type per side. See lib/mcp_source_check.mjs.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
need_tools
command -v go >/dev/null || die "go is not installed (go tool pprof is the reference)"
[[ -d "$OTELPROFD_SRC/tests/node_modules/@modelcontextprotocol/sdk" ]] ||
    die "no @modelcontextprotocol/sdk: run 'npm ci --prefix $OTELPROFD_SRC/tests'"

NOW_NS="$(node -e 'console.log(String(BigInt(Date.now()) * 1000000n))')"
for f in cpu.pb ebpf_style.pb; do
    node "$LIB/otlp_time.mjs" "$TD/otlp/$f" "$WORK/shifted.$f" --now-ns "$NOW_NS" || die "otlp_time.mjs $f"
done

daemon_start A
out="$(node "$LIB/send_grpc.mjs" "$A_GRPC" "$WORK/shifted.cpu.pb")"
expect_eq "cpu.pb over gRPC: OK, nothing rejected" "OK 0" "$(jget "$out" status) $(rejected "$out")"
code="$(http_post "$A_HTTP/v1development/profiles" "$WORK/shifted.ebpf_style.pb" application/x-protobuf)"
expect_eq "ebpf_style.pb over HTTP: 200, nothing rejected" "200 0" "$code $(rejected "$(response_json)")"

check "SDK: source lines, frame kinds, trace/span links, per-side diff (see the mcp/lines lines)" \
    node "$LIB/mcp_source_check.mjs" --url "$A_MCP" --td "$TD" --work "$WORK" \
    --ebpf "$WORK/shifted.ebpf_style.pb"

daemon_stop A
summary
