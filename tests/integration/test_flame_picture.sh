#!/usr/bin/env bash
# test_flame_picture.sh — flame graphs to look at, from the real binary, checked by peers
# that are not ours: the official MCP SDK and pngjs (query_profile_flamegraph "format":
# "image"), fast-xml-parser (GET /flamegraph.svg), and Debian's headless Chromium driven by
# puppeteer-core (GET /: the DOM, the rendered widths, hover/zoom/search, the screenshot);
# numbers against `go tool pprof -top` of the same data (testdata/expected). See
# lib/flame_picture_check.mjs. Then the page and the SVG keep /mcp's rules (curl): 401
# without the token, 403 for a foreign Origin or Host.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
need_tools
CHROMIUM="${OTELPROFD_CHROMIUM:-$(command -v chromium || true)}"
[[ -x "$CHROMIUM" ]] || die "chromium is not installed (Debian package chromium; scripts/install-deps.sh --test)"
[[ -d "$OTELPROFD_SRC/tests/node_modules/puppeteer-core" ]] ||
    die "no puppeteer-core: run 'npm ci --prefix $OTELPROFD_SRC/tests'"

TOKEN="it-token-$RANDOM$RANDOM"
daemon_start A
daemon_start T --mcp-token "$TOKEN"
CPU="$(shifted "$TD/otlp/cpu.pb")"
out="$(node "$LIB/send_grpc.mjs" "$A_GRPC" "$CPU")"
expect_eq "A: cpu.pb over gRPC: OK, nothing rejected" "OK 0" "$(jget "$out" status) $(rejected "$out")"

check "MCP image content, SVG and the page in headless Chromium (see the picture: lines)" \
    node "$LIB/flame_picture_check.mjs" --url "$A_MCP" --td "$TD" --work "$WORK" --chromium "$CHROMIUM"

# ---- otelprofd query --image saves the picture (read back by pngjs) -------------------------
"$OTELPROFD_BIN" query query_profile_flamegraph \
    '{"profile_type":"cpu:nanoseconds","service_name":"flate","format":"image","width":1400}' \
    --connect "$A_MCP/mcp" --image "$WORK/cli.png" >"$WORK/cli.txt" 2>"$WORK/cli.err" || true
expect_contains "otelprofd query --image: says where the PNG went" "to $WORK/cli.png" "$(cat "$WORK/cli.err")"
expect_eq "otelprofd query --image: the file is a 1400 px wide PNG (pngjs)" 1400 \
    "$(cd "$OTELPROFD_SRC/tests" && node -e 'const { PNG } = require("pngjs"); console.log(PNG.sync.read(require("fs").readFileSync(process.argv[1])).width)' "$WORK/cli.png" 2>&1)"

# ---- same token, Origin and Host rules as /mcp --------------------------------------------
code() { curl -s -o "$WORK/body" -w '%{http_code}' "$@"; }
SVGQ="/flamegraph.svg?profile_type=cpu:nanoseconds"
expect_eq "T: / without the token: 401" 401 "$(code "$T_MCP/")"
expect_eq "T: $SVGQ without the token: 401" 401 "$(code "$T_MCP$SVGQ")"
expect_eq "T: / with the token: 200 (no data yet: the page says so)" 200 "$(code -H "Authorization: Bearer $TOKEN" "$T_MCP/")"
expect_contains "T: the empty page says how to send data" "No profiles yet" "$(cat "$WORK/body")"
expect_eq "A: / with a foreign Origin: 403" 403 "$(code -H "Origin: https://evil.example" "$A_MCP/")"
expect_eq "A: $SVGQ with a foreign Host (DNS rebinding): 403" 403 "$(code -H "Host: evil.example" "$A_MCP$SVGQ")"
expect_eq "A: POST /: 405" 405 "$(code -X POST "$A_MCP/")"
expect_eq "A: / from a loopback Origin: 200" 200 "$(code -H "Origin: http://localhost:1234" "$A_MCP/")"
expect_contains "A: the page carries a CSP that allows nothing from elsewhere" \
    "default-src 'none'" "$(curl -s -D - -o /dev/null "$A_MCP/")"

daemon_stop A
daemon_stop T
summary
