#!/usr/bin/env bash
# test_memory_limit.sh — bounded memory under a stream of ever-new stacks.
#
# --memory-limit 8MiB, --retention 1h, --resolution 1s, then ~25 s of distinct synthetic
# profiles (lib/gen_load.mjs): the accounted memory never passes the limit, the oldest
# buckets are evicted (not the newest), the process RSS stays bounded, and the newest
# data is still answered exactly.
# OTELPROFD_LOAD_SECONDS (default 25) and OTELPROFD_RSS_SLACK_MIB (default 64, or 512 for
# an AddressSanitizer binary, whose shadow memory and quarantine are not ours) tune it.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
need_tools

LIMIT=$((8 * 1024 * 1024))
slack_mib=64
if is_asan_build; then
    slack_mib=512
    echo "note: $OTELPROFD_BIN is an AddressSanitizer build: RSS bound raised to limit + $slack_mib MiB"
fi
SLACK=$((${OTELPROFD_RSS_SLACK_MIB:-$slack_mib} * 1024 * 1024))
daemon_start M --memory-limit 8MiB --retention 1h --resolution 1s

expect_eq "/metrics: otelprofd_memory_limit_bytes is 8 MiB" "$LIMIT" "$(metric "$M_MCP" memory_limit_bytes)"
s="$(node "$LIB/gen_load.mjs" --http "$M_HTTP" --mcp "$M_MCP" --pid "$M_PID" \
    --seconds "${OTELPROFD_LOAD_SECONDS:-25}")" || fail "load generator: $s"
echo "load: $s"

requests="$(jget "$s" requests)"
if [[ "$requests" =~ ^[0-9]+$ && "$requests" -ge 20 ]]; then
    pass "streamed $requests distinct requests"
else
    fail "streamed only '$requests' requests"
fi
expect_eq "every load request answered 200" "{}" "$(jget "$s" bad_status)"
expect_eq "/metrics has memory_used_bytes and memory_limit_bytes throughout" false "$(jget "$s" metrics_missing)"
max_used="$(jget "$s" max_used)"
expect_eq "accounted memory never over the limit (max seen $max_used of $LIMIT)" "[]" \
    "$(jget "$s" over_limit_samples)"
if [[ "$max_used" =~ ^[0-9]+$ && "$max_used" -gt $((LIMIT / 2)) ]]; then
    pass "the store filled up to $max_used bytes (the limit was actually reached)"
else
    fail "the store only reached '$max_used' bytes: the test did not push it to the limit"
fi
evicted="$(jget "$s" evicted)"
if [[ "$evicted" =~ ^[0-9]+$ && "$evicted" -gt 0 ]]; then
    pass "otelprofd_evicted_buckets_total = $evicted"
else
    fail "otelprofd_evicted_buckets_total is '$evicted', expected > 0"
fi
max_rss="$(jget "$s" max_rss)"
if [[ "$max_rss" =~ ^[0-9]+$ && "$max_rss" -gt 0 && "$max_rss" -lt $((LIMIT + SLACK)) ]]; then
    pass "RSS stayed bounded: max $((max_rss / 1048576)) MiB < $(((LIMIT + SLACK) / 1048576)) MiB (start $(($(jget "$s" start_rss) / 1048576)) MiB)"
else
    fail "RSS not bounded: max '$max_rss' bytes, bound $((LIMIT + SLACK))"
fi
expect_eq "the newest profile is stored (status)" 200 "$(jget "$s" marker.status)"
expect_eq "the newest profile is answered whole" "total 1280000000" "$(jget "$s" marker.total)"
row="$(jget "$s" marker.row)"
if [[ "$row" =~ ^10000000\ [0-9]+\ newest\.marker$ ]]; then
    pass "the newest profile's leaf function is answered: $row"
else
    fail "the newest profile's leaf function: expected '10000000 <cum> newest.marker', got '$row'"
fi
expect_eq "the oldest data went first (request 0's functions evicted)" false \
    "$(jget "$s" marker.first_request_still_there)"
expect_eq "still answers /healthz" ok "$(curl -s --max-time 5 "$M_MCP/healthz" | head -c 2)"
daemon_stop M

summary
