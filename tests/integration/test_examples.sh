#!/usr/bin/env bash
# test_examples.sh — examples/ checked as far as this machine allows (no collector, eBPF
# profiler or MCP client binaries here):
# - every JSON file parses, and the MCP client files have the documented shape;
# - the collector YAML parses (PyYAML when present, else a structural check) and wires the
#   otlp receiver to an otlp exporter for otelprofd's 4317 in a profiles pipeline;
# - every OTELPROFD_* variable the examples set is one `otelprofd --help` knows;
# - sidecar.sh really starts a dummy service plus otelprofd on free ports, /healthz answers,
#   OTLP is accepted, and SIGTERM (or the service exiting) stops both;
# - the stdio command line of the Claude Desktop JSON (plain and token variants) answers
#   initialize and tools/call against a running `serve`;
# - claude-code.sh and ebpf-profiler/run.sh pass the documented arguments (to stand-ins).
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
need_tools
EX="$OTELPROFD_SRC/examples"
[[ -d "$EX" ]] || die "no $EX"

# --- JSON ------------------------------------------------------------------------------
mapfile -t jsons < <(find "$EX" -name '*.json' -not -path "$EX/profiles/*" | sort)
[[ ${#jsons[@]} -ge 5 ]] || fail "at least 5 JSON examples (found ${#jsons[@]})"
for f in "${jsons[@]}"; do
    check "JSON parses: ${f#"$OTELPROFD_SRC"/}" node -e 'JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))' "$f"
done
# mcpServers.otelprofd = { command: "otelprofd", args: ["mcp","--connect",URL] (+ env token) }
for f in claude_desktop_config cursor-mcp; do
    for v in "" .token; do
        check "$f$v.json: stdio otelprofd mcp --connect http://127.0.0.1:4319/mcp${v:+ with env OTELPROFD_MCP_TOKEN}" \
            node -e '
const c = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).mcpServers.otelprofd;
const ok = c.command === "otelprofd" &&
  JSON.stringify(c.args) === JSON.stringify(["mcp", "--connect", "http://127.0.0.1:4319/mcp"]) &&
  (process.argv[2] === "" ? c.env === undefined : typeof c.env.OTELPROFD_MCP_TOKEN === "string" && c.env.OTELPROFD_MCP_TOKEN.length > 0);
process.exit(ok ? 0 : 1);' "$EX/mcp-clients/$f$v.json" "$v"
    done
done
check "claude-code.mcp.json: http server at http://127.0.0.1:4319/mcp with a Bearer header" node -e '
const c = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).mcpServers.otelprofd;
process.exit(c.type === "http" && c.url === "http://127.0.0.1:4319/mcp" &&
  c.headers.Authorization === "Bearer ${OTELPROFD_MCP_TOKEN}" ? 0 : 1);' "$EX/mcp-clients/claude-code.mcp.json"

# --- collector YAML --------------------------------------------------------------------
YAML="$EX/collector/otelcol-profiles.yaml"
if python3 -c 'import yaml' 2>/dev/null; then
    check "otelcol-profiles.yaml (PyYAML): otlp receiver off 4317 -> profiles pipeline -> otlp exporter to 127.0.0.1:4317, tls insecure" \
        python3 - "$YAML" <<'PY'
import sys, yaml
c = yaml.safe_load(open(sys.argv[1]))
p = c["service"]["pipelines"]["profiles"]
assert p["receivers"] == ["otlp"], p
rx = c["receivers"]["otlp"]["protocols"]
assert not rx["grpc"]["endpoint"].endswith(":4317") and not rx["http"]["endpoint"].endswith(":4318"), rx
exps = [e for e in p["exporters"] if e.split("/")[0] in ("otlp", "otlp_grpc")]
assert exps, p["exporters"]
for e in exps:
    x = c["exporters"][e]
    assert x["endpoint"] == "127.0.0.1:4317" and x["tls"]["insecure"] is True, x
for proc in p.get("processors", []):
    assert proc in c["processors"], proc
PY
else
    echo "(PyYAML not installed: structural check of the YAML only)"
    check "otelcol-profiles.yaml (structure): profiles pipeline, otlp exporter, 127.0.0.1:4317, insecure" \
        bash -c 'grep -q "^    profiles:" "$1" && grep -q "^  otlp/otelprofd:" "$1" &&
            grep -q "endpoint: 127.0.0.1:4317" "$1" && grep -q "insecure: true" "$1" &&
            ! grep -q "	" "$1"' _ "$YAML"
fi
expect_contains "collector README names the feature gate" "--feature-gates=service.profilesSupport" "$(cat "$EX/collector/README.md")"

# --- environment names -----------------------------------------------------------------
help="$("$OTELPROFD_BIN" --help 2>&1 || true)"
for v in $(grep -ohE 'OTELPROFD_[A-Z_]+' "$EX/sidecar/otelprofd.env" "$EX/sidecar/otelprofd.service" | sort -u); do
    expect_contains "$v (sidecar env/unit) is an option otelprofd --help lists" "env $v" "$help"
done

# --- sidecar.sh ------------------------------------------------------------------------
read -ra ports <<<"$(free_ports 3)"
export OTELPROFD_OTLP_GRPC="127.0.0.1:${ports[0]}" OTELPROFD_OTLP_HTTP="127.0.0.1:${ports[1]}" \
    OTELPROFD_MCP_HTTP="127.0.0.1:${ports[2]}"
BINDIR="$WORK/bin"
mkdir -p "$BINDIR"
ln -s "$OTELPROFD_BIN" "$BINDIR/otelprofd"
MARK="sidecar-dummy-$RANDOM-$$"
# The dummy service: a sleep whose command line we can find again.
cat >"$BINDIR/dummy-service" <<SH
#!/usr/bin/env bash
echo "\$OTEL_EXPORTER_OTLP_ENDPOINT" > "$WORK/dummy.endpoint"
exec -a "$MARK" sleep 300
SH
chmod +x "$BINDIR/dummy-service"
PATH="$BINDIR:$PATH" OTELPROFD_SIDECAR_LOG="$WORK/sidecar-otelprofd.log" \
    bash "$EX/sidecar/sidecar.sh" -- dummy-service 2>"$WORK/sidecar.err" &
SC_PID=$!
DAEMONS+=("$SC_PID")
up=0
for ((i = 0; i < 100; i++)); do
    if [[ "$(curl -s --max-time 1 "http://$OTELPROFD_MCP_HTTP/healthz" 2>/dev/null)" == ok* ]] && pgrep -f "^$MARK" >/dev/null; then
        up=1
        break
    fi
    sleep 0.1
done
expect_eq "sidecar.sh: /healthz answers and the dummy service runs" 1 "$up"
prof="$(pgrep -f "^$BINDIR/otelprofd serve" || pgrep -x -P "$SC_PID" otelprofd || true)"
[[ -n "$prof" ]] || prof="$(pgrep -P "$SC_PID" -f otelprofd || true)"
expect_eq "sidecar.sh: the service got OTEL_EXPORTER_OTLP_ENDPOINT" "http://$OTELPROFD_OTLP_GRPC" "$(cat "$WORK/dummy.endpoint" 2>/dev/null)"
CPU_PB="$(shifted "$TD/otlp/cpu.pb")"
code="$(http_post "http://$OTELPROFD_OTLP_HTTP/v1development/profiles" "$CPU_PB" application/x-protobuf)"
expect_eq "sidecar.sh: the otelprofd it started accepts OTLP/HTTP" 200 "$code"
n="$(metric "http://$OTELPROFD_MCP_HTTP" received_profiles_total)"
if [[ "$n" =~ ^[0-9]+$ && "$n" -gt 0 ]]; then pass "sidecar.sh: /metrics counts $n profiles"; else fail "sidecar.sh: /metrics counts the profiles: $n"; fi
expect_eq "sidecar.sh: none rejected" 0 "$(metric "http://$OTELPROFD_MCP_HTTP" rejected_profiles_total)"
kill -TERM "$SC_PID"
rc=0
for ((i = 0; i < 150; i++)); do kill -0 "$SC_PID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$SC_PID" 2>/dev/null; then
    fail "sidecar.sh exits within 15 s of SIGTERM"
    kill -KILL "$SC_PID" 2>/dev/null || true
fi
wait "$SC_PID" || rc=$?
DAEMONS=()
expect_eq "sidecar.sh: SIGTERM -> exit 0" 0 "$rc"
expect_eq "sidecar.sh: the dummy service is gone" "" "$(pgrep -f "^$MARK" || true)"
if [[ -n "$prof" ]]; then
    if kill -0 $prof 2>/dev/null; then fail "sidecar.sh: otelprofd ($prof) is gone"; else pass "sidecar.sh: otelprofd is gone"; fi
else
    fail "sidecar.sh: found otelprofd's pid"
fi
expect_eq "sidecar.sh: the ports are free again" "" "$(curl -s --max-time 1 "http://$OTELPROFD_MCP_HTTP/healthz" 2>/dev/null || true)"
expect_contains "sidecar.sh: otelprofd shut down on SIGTERM" "SIGTERM received" "$(cat "$WORK/sidecar-otelprofd.log")"

# The service ending on its own stops otelprofd, and its status is the script's.
rc=0
PATH="$BINDIR:$PATH" OTELPROFD_SIDECAR_LOG="$WORK/sidecar2.log" \
    timeout 30 bash "$EX/sidecar/sidecar.sh" sh -c 'exit 7' 2>"$WORK/sidecar2.err" || rc=$?
expect_eq "sidecar.sh: a service exiting 7 -> exit 7" 7 "$rc"
expect_eq "sidecar.sh: ... and otelprofd was stopped (ports free)" "" "$(curl -s --max-time 1 "http://$OTELPROFD_MCP_HTTP/healthz" 2>/dev/null || true)"
rc=0
PATH="$BINDIR:$PATH" bash "$EX/sidecar/sidecar.sh" 2>/dev/null || rc=$?
expect_eq "sidecar.sh without a command: usage, exit 2" 2 "$rc"
unset OTELPROFD_OTLP_GRPC OTELPROFD_OTLP_HTTP OTELPROFD_MCP_HTTP

# --- stdio command lines of the MCP client JSON -------------------------------------------
# stdio_run JSON URL [ENV-FROM-JSON yes|no]: runs mcpServers.otelprofd.command + args (the
# command resolved to OTELPROFD_BIN, the URL pointed at the test daemon), feeds initialize,
# initialized and tools/call get_status; stdout in $WORK/stdio.out.
stdio_run() {
    local json="$1" url="$2" useenv="${3:-yes}"
    node - "$json" "$url" "$OTELPROFD_BIN" "$useenv" >"$WORK/stdio.out" 2>"$WORK/stdio.err" <<'JS'
const fs = require("fs"), { spawn } = require("child_process");
const [json, url, bin, useenv] = process.argv.slice(2);
const c = JSON.parse(fs.readFileSync(json, "utf8")).mcpServers.otelprofd;
if (c.command !== "otelprofd") { console.error("command is " + c.command); process.exit(1); }
const args = c.args.map((a) => a === "http://127.0.0.1:4319/mcp" ? url : a);
const env = { ...process.env };
delete env.OTELPROFD_MCP_TOKEN;
if (useenv === "yes") Object.assign(env, c.env || {});
const p = spawn(bin, args, { env, stdio: ["pipe", "pipe", "inherit"] });
const msgs = [
  { jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "test_examples", version: "1" } } },
  { jsonrpc: "2.0", method: "notifications/initialized" },
  { jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "get_status", arguments: {} } },
];
let out = "", sent = 0;
const timer = setTimeout(() => { console.error("timeout; stdout so far: " + out.slice(0, 400)); p.kill(); process.exit(1); }, 20000);
p.stdout.on("data", (d) => {
  out += d;
  const lines = out.split("\n").filter((l) => l.trim());
  if (lines.length >= 1 && sent === 1) { p.stdin.write(JSON.stringify(msgs[1]) + "\n" + JSON.stringify(msgs[2]) + "\n"); sent = 3; }
  if (lines.length >= 2 || (lines.length === 1 && JSON.parse(lines[0]).error)) { p.stdin.end(); }
});
p.on("exit", (code) => {
  clearTimeout(timer);
  process.stdout.write(out);
  process.exit(0);
});
p.stdin.write(JSON.stringify(msgs[0]) + "\n"); sent = 1;
JS
}
# jline N FIELD: a field of the Nth JSON line of $WORK/stdio.out.
jline() {
    node -e '
const lines = require("fs").readFileSync(process.argv[1], "utf8").split("\n").filter((l) => l.trim());
let v; try { v = JSON.parse(lines[Number(process.argv[2])]); } catch { console.log(""); process.exit(0); }
for (const k of process.argv[3].split(".")) v = v == null ? v : v[k];
console.log(v == null ? "" : typeof v === "object" ? JSON.stringify(v) : String(v));' "$WORK/stdio.out" "$1" "$2"
}

daemon_start D
out="$(node "$LIB/send_grpc.mjs" "$D_GRPC" "$CPU_PB")"
expect_eq "D: cpu.pb over gRPC" "OK 0" "$(jget "$out" status) $(rejected "$out")"
check "claude_desktop_config.json command line runs" stdio_run "$EX/mcp-clients/claude_desktop_config.json" "$D_MCP/mcp"
expect_eq "stdio bridge: initialize answers with serverInfo.name" otelprofd "$(jline 0 result.serverInfo.name)"
expect_eq "stdio bridge: initialize negotiates 2025-06-18" 2025-06-18 "$(jline 0 result.protocolVersion)"
expect_contains "stdio bridge: get_status through the bridge names cpu:nanoseconds" "cpu:nanoseconds" "$(jline 1 result.content)"
daemon_stop D

TOKEN="ex-token-$RANDOM$RANDOM"
daemon_start T --mcp-token "$TOKEN"
tokjson="$WORK/desktop.token.json"
node -e '
const fs = require("fs"); const c = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
c.mcpServers.otelprofd.env.OTELPROFD_MCP_TOKEN = process.argv[3];
fs.writeFileSync(process.argv[2], JSON.stringify(c));' "$EX/mcp-clients/claude_desktop_config.token.json" "$tokjson" "$TOKEN"
check "claude_desktop_config.token.json command line runs (token in env)" stdio_run "$tokjson" "$T_MCP/mcp" yes
expect_eq "token variant: initialize answers" otelprofd "$(jline 0 result.serverInfo.name)"
expect_eq "token variant: tools/call answers without isError" "" "$(jline 1 result.isError | sed 's/false//')"
stdio_run "$tokjson" "$T_MCP/mcp" no || true
expect_eq "token variant without the env token: no initialize result" "" "$(jline 0 result.serverInfo.name)"
daemon_stop T

# --- claude-code.sh and ebpf-profiler/run.sh against stand-ins ------------------------------
cat >"$BINDIR/claude" <<SH
#!/usr/bin/env bash
[[ "\$1 \$2" == "mcp get" ]] && exit 0
printf '%s\n' "\$@" > "$WORK/claude.args"
SH
chmod +x "$BINDIR/claude"
env -u OTELPROFD_MCP_TOKEN PATH="$BINDIR:$PATH" bash "$EX/mcp-clients/claude-code.sh" >/dev/null
expect_eq "claude-code.sh: claude mcp add --transport http otelprofd URL" \
    "mcp add --transport http otelprofd http://127.0.0.1:4319/mcp" "$(tr '\n' ' ' <"$WORK/claude.args" | sed 's/ $//')"
OTELPROFD_MCP_TOKEN=s3cret PATH="$BINDIR:$PATH" bash "$EX/mcp-clients/claude-code.sh" >/dev/null
expect_eq "claude-code.sh with a token: --header \"Authorization: Bearer s3cret\"" \
    "mcp|add|--transport|http|otelprofd|http://127.0.0.1:4319/mcp|--header|Authorization: Bearer s3cret" \
    "$(paste -sd'|' "$WORK/claude.args")"

cat >"$BINDIR/ebpf-profiler" <<SH
#!/usr/bin/env bash
printf '%s\n' "\$@" > "$WORK/ebpf.args"
SH
chmod +x "$BINDIR/ebpf-profiler"
daemon_start E
OTELPROFD_OTLP="$E_GRPC" OTELPROFD_API="$E_MCP" PATH="$BINDIR:$PATH" bash "$EX/ebpf-profiler/run.sh" ebpf-profiler -samples-per-second=19
expect_eq "ebpf-profiler/run.sh: -collection-agent=ADDR -disable-tls, extra flags passed" \
    "-collection-agent=$E_GRPC -disable-tls -samples-per-second=19" "$(paste -sd' ' "$WORK/ebpf.args")"
daemon_stop E
rc=0
OTELPROFD_API="http://127.0.0.1:$(free_ports 1)" PATH="$BINDIR:$PATH" bash "$EX/ebpf-profiler/run.sh" ebpf-profiler 2>/dev/null || rc=$?
expect_eq "ebpf-profiler/run.sh without otelprofd: exit 3" 3 "$rc"

summary
