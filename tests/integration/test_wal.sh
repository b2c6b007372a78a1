#!/usr/bin/env bash
# test_wal.sh — the write-ahead log (--data-dir): nothing acknowledged is lost or doubled.
#
# Independent senders (node's HTTP client and @grpc/grpc-js, lib/wal_load.mjs) stream
# requests whose leaf function names the request; `go tool pprof -top` of the restarted
# daemon's /api/pprof then says exactly which requests it holds (lib/wal_verify.mjs):
#   - kill -9 under load, SIGTERM under load, kill -9 with --wal-sync interval: after each
#     restart every acknowledged request is there exactly once, refused ones are absent,
#     unanswered ones (connection broke) at most once;
#   - a torn last record / garbage appended to a segment: skipped with a warning, nothing
#     before it lost, later appends land after it;
#   - a byte flipped in the middle of a segment: that one record is lost (counted), all
#     others kept;
#   - a data dir of another format version, a second process on the same dir, a data dir
#     that is a file: refused at start with a clear message;
#   - a file-size limit (ulimit -f: the disk is "full"): senders get 503 / UNAVAILABLE, the
#     daemon keeps answering queries with exactly what it acknowledged.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
need_tools
command -v go >/dev/null || die "go is not installed (go tool pprof is the reference)"

D="$WORK/data"
SEL="$(node -e 'console.log(encodeURIComponent(process.argv[1]))' '{service.name="wal-load"}')"
NEXT=1

# load NAME RESULT [wal_load options...]: runs the senders against daemon NAME.
load() {
    local name="$1" out="$2" h="${1}_HTTP" g="${1}_GRPC"
    shift 2
    node "$LIB/wal_load.mjs" --http "${!h}" --grpc "${!g}" --first "$NEXT" --out "$out" "$@" ||
        die "wal_load.mjs failed"
    NEXT="$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).next)' "$out")"
}

# reap NAME: waits for a daemon that was killed by the load, and forgets it.
reap() {
    local pidvar="${1}_PID" kept=() i
    wait "${!pidvar}" 2>/dev/null || true
    for i in "${DAEMONS[@]}"; do [[ "$i" == "${!pidvar}" ]] || kept+=("$i"); done
    DAEMONS=("${kept[@]}")
}

# verify DESC NAME [--lost N] RESULT...: the daemon's profile against the senders' answers.
verify() {
    local desc="$1" m="${2}_MCP" out
    shift 2
    if out="$(node "$LIB/wal_verify.mjs" "${!m}/api/pprof?profile_type=cpu:nanoseconds&selector=$SEL" \
        "$WORK" "$@" 2>&1)"; then
        pass "$desc: $out"
    else
        fail "$desc: $out"
    fi
}

# 1. kill -9 under load (group commit, small segments so they roll under load)
daemon_start A --data-dir "$D" --wal-segment-size 64KiB
load A "$WORK/r1.json" --ms 2500 --http-senders 3 --grpc-senders 2 --kill "$A_PID" --signal SIGKILL
reap A
daemon_start B --data-dir "$D" --wal-segment-size 64KiB
verify "kill -9 under load: every acknowledged request exactly once" B "$WORK/r1.json"
expect_contains "replay logged with its count" "log: replayed" "$(cat "$B_LOG")"
check "replay figures in /metrics" test "$(metric "$B_MCP" log_replayed_requests)" -gt 0

# 2. SIGTERM under load: the daemon exits 0, nothing acknowledged lost
load B "$WORK/r2.json" --ms 2000 --kill "$B_PID" --signal SIGTERM
B_rc=0
wait "$B_PID" 2>/dev/null || B_rc=$?
reap B
expect_eq "SIGTERM under load: exit 0" 0 "$B_rc"

# 3. kill -9 with --wal-sync interval (a process crash loses nothing: the page cache keeps it)
daemon_start C --data-dir "$D" --wal-segment-size 64KiB --wal-sync interval
verify "after SIGTERM under load: exact" C "$WORK/r1.json" "$WORK/r2.json"
load C "$WORK/r3.json" --ms 2000 --kill "$C_PID" --signal SIGKILL
reap C
daemon_start E --data-dir "$D" --wal-sync off
verify "kill -9 with --wal-sync interval: exact" E "$WORK/r1.json" "$WORK/r2.json" "$WORK/r3.json"
status="$("$OTELPROFD_BIN" query get_status --connect "$E_MCP/mcp")"
expect_contains "get_status reports the replay" "replayed at start:" "$status"

# a second process on the same directory is refused
set +e
"$OTELPROFD_BIN" serve --otlp-grpc off --otlp-http off --mcp-http off --data-dir "$D" 2>"$WORK/second.err"
rc=$?
set -e
check "second process on the data dir: refused" test "$rc" -ne 0
expect_contains "second process: says who holds it" "is in use by another otelprofd (pid $E_PID)" \
    "$(cat "$WORK/second.err")"
daemon_stop E

# 4. torn tail: half a record header and garbage after the last record
last="$(ls "$D"/*.wal | tail -n 1)"
size_before="$(stat -c %s "$last")"
printf 'OLWR\x10\x00\x00\x00garbage-after-a-crash' >>"$last"
daemon_start F --data-dir "$D"
verify "torn tail: everything before it kept" F "$WORK/r1.json" "$WORK/r2.json" "$WORK/r3.json"
expect_contains "torn tail: a warning" "torn last write or garbage" "$(cat "$F_LOG")"
expect_eq "torn tail: cut off the segment" "$size_before" "$(stat -c %s "$last")"
load F "$WORK/r4.json" --count 20 --ms 60000
daemon_stop F
daemon_start G --data-dir "$D"
verify "appends after a torn tail survive a restart" G "$WORK/r1.json" "$WORK/r2.json" \
    "$WORK/r3.json" "$WORK/r4.json"
daemon_stop G

# 5. one byte flipped in the middle of the first (closed) segment: that record only
first="$(ls "$D"/*.wal | head -n 1)"
[[ "$(ls "$D"/*.wal | wc -l)" -ge 2 ]] || die "expected several segments"
off=$(($(stat -c %s "$first") / 2))
node -e 'const fs=require("fs");const fd=fs.openSync(process.argv[1],"r+");const b=Buffer.alloc(1);
fs.readSync(fd,b,0,1,+process.argv[2]);b[0]^=0x5a;fs.writeSync(fd,b,0,1,+process.argv[2]);' "$first" "$off"
daemon_start H --data-dir "$D"
verify "a damaged record mid-segment costs that record only" H --lost 1 "$WORK/r1.json" \
    "$WORK/r2.json" "$WORK/r3.json" "$WORK/r4.json"
expect_eq "the damaged record is counted" 1 "$(metric "$H_MCP" log_corrupt_records_total)"
daemon_stop H

# 6. format versions: a directory of another version is refused, with a clear message
refuse() {
    local desc="$1" needle="$2" rc
    shift 2
    set +e
    "$OTELPROFD_BIN" serve --otlp-grpc off --otlp-http off --mcp-http off "$@" 2>"$WORK/refuse.err"
    rc=$?
    set -e
    check "$desc: exit status not 0" test "$rc" -ne 0
    expect_contains "$desc: message" "$needle" "$(cat "$WORK/refuse.err")"
}
cp -r "$D" "$WORK/v2"
printf 'otelprofd-wal 2\n' >"$WORK/v2/FORMAT"
refuse "FORMAT of version 2" "written in log format version 2; this otelprofd reads version 1" \
    --data-dir "$WORK/v2"
printf 'otelprofd-wal 1\n' >"$WORK/v2/FORMAT"
seg="$(ls "$WORK/v2"/*.wal | head -n 1)"
printf '\x02' | dd of="$seg" bs=1 seek=8 conv=notrunc status=none
refuse "a segment of version 2" "was written in log format version 2" --data-dir "$WORK/v2"
: >"$WORK/a-file"
refuse "a data dir that is a file" "cannot" --data-dir "$WORK/a-file"

# 7. the disk is full (a 192 KiB file-size limit): 503 / UNAVAILABLE, queries still answered
cat >"$WORK/limited.sh" <<LIM
#!/usr/bin/env bash
ulimit -f 192
exec "$OTELPROFD_BIN" "\$@"
LIM
chmod +x "$WORK/limited.sh"
REAL_BIN="$OTELPROFD_BIN"
OTELPROFD_BIN="$WORK/limited.sh"
daemon_start K --data-dir "$WORK/full" --wal-segment-size 1GiB
OTELPROFD_BIN="$REAL_BIN"
load K "$WORK/r5.json" --ms 4000 --http-senders 2 --grpc-senders 1
codes="$(node -e 'console.log(JSON.stringify(JSON.parse(require("fs").readFileSync(process.argv[1])).codes))' "$WORK/r5.json")"
expect_contains "disk full: HTTP senders get 503" '"http_503"' "$codes"
expect_contains "disk full: gRPC senders get UNAVAILABLE" '"grpc_UNAVAILABLE"' "$codes"
check "disk full: refusals counted in /metrics" test "$(metric "$K_MCP" unavailable_requests_total)" -gt 0
# only r5's requests went to this daemon
verify "disk full: queries answer exactly what was acknowledged" K "$WORK/r5.json"
daemon_stop K

summary
