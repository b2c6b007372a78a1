#!/usr/bin/env bash
# test_soak.sh — issue 4: an independent OTLP sender streams the testdata at a steady rate
# while official-SDK MCP clients query concurrently (lib/soak.mjs).
#
# @grpc/grpc-js sends cpu.pb, mem.pb, ebpf_style.pb in turn at SOAK_RATE requests/s for
# SOAK_SECONDS, each request's times moved to its send time, half of them gzip; SOAK_CLIENTS
# SDK sessions loop get_status / table / flame graph / time series (SOAK_QUERY_PAUSE_MS
# apart, default 10), starting once a first Export was acknowledged and asking only for
# profile types of which something was acknowledged before they asked. Every query and
# every Export answers within SOAK_MAX_LATENCY_MS (default 10000); no query is an isError;
# every total lies between what was acknowledged when the query was issued and what was
# dispatched when it answered (a selector with nothing acknowledged yet answers empty);
# at the end, every request acknowledged, every profile type's total equals what the bytes
# sent carry (computed by the wire reader, not by otelprofd); /metrics counters agree with
# the sender. SOAK_RATE defaults to 5/s, SOAK_CLIENTS to 2.
#
# SOAK_SECONDS defaults to 60, or 20 for an AddressSanitizer binary (detected with ldd, or
# OTELPROFD_SANITIZED=1), whose latency bound defaults to 30000 ms.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
need_tools
[[ -d "$OTELPROFD_SRC/tests/node_modules/@modelcontextprotocol/sdk" ]] ||
    die "no @modelcontextprotocol/sdk: run 'npm ci --prefix $OTELPROFD_SRC/tests'"

seconds=60 max_ms=10000
if [[ "${OTELPROFD_SANITIZED:-}" == 1 ]] || is_asan_build; then
    seconds=20 max_ms=30000
    echo "note: $OTELPROFD_BIN is an AddressSanitizer build: defaults of 20 s and a 30 s latency bound"
fi
SOAK_SECONDS="${SOAK_SECONDS:-$seconds}"
SOAK_RATE="${SOAK_RATE:-5}"
SOAK_CLIENTS="${SOAK_CLIENTS:-2}"
SOAK_MAX_LATENCY_MS="${SOAK_MAX_LATENCY_MS:-$max_ms}"
SOAK_QUERY_PAUSE_MS="${SOAK_QUERY_PAUSE_MS:-10}"

daemon_start S
echo "soak: $SOAK_SECONDS s at $SOAK_RATE requests/s, $SOAK_CLIENTS MCP clients, latency bound $SOAK_MAX_LATENCY_MS ms"

out="$WORK/soak.json"
rc=0
node "$LIB/soak.mjs" --grpc "$S_GRPC" --mcp "$S_MCP" --td "$TD" --out "$out" \
    --seconds "$SOAK_SECONDS" --rate "$SOAK_RATE" --clients "$SOAK_CLIENTS" \
    --max-latency-ms "$SOAK_MAX_LATENCY_MS" --pause-ms "$SOAK_QUERY_PAUSE_MS" || rc=$?
[[ -s "$out" ]] || die "soak.mjs wrote no summary (exit $rc)"
s="$(cat "$out")"
# soak.mjs's own checks count in the totals printed below.
PASSED=$((PASSED + $(jget "$s" passed)))
FAILED=$((FAILED + $(jget "$s" failed)))
[[ $rc -eq 0 || $(jget "$s" failed) -gt 0 ]] || fail "soak.mjs exited $rc"

# ---- /metrics agrees with what the sender counted -------------------------------------
expect_eq "/metrics received_requests_total == requests sent" "$(jget "$s" requests)" "$(metric "$S_MCP" received_requests_total)"
expect_eq "/metrics failed_requests_total is 0" 0 "$(metric "$S_MCP" failed_requests_total)"
expect_eq "/metrics received_profiles_total == profiles sent" "$(jget "$s" profiles)" "$(metric "$S_MCP" received_profiles_total)"
expect_eq "/metrics rejected_profiles_total is 0" 0 "$(metric "$S_MCP" rejected_profiles_total)"
expect_eq "/metrics received_samples_total == observations sent" "$(jget "$s" observations)" "$(metric "$S_MCP" received_samples_total)"
expect_eq "/metrics rejected_samples_total (all reasons) is 0" 0 "$(metric "$S_MCP" rejected_samples_total)"
expect_eq "/metrics evicted_buckets_total is 0 (nothing dropped for memory)" 0 "$(metric "$S_MCP" evicted_buckets_total)"
expect_eq "still answers /healthz" ok "$(curl -s --max-time 5 "$S_MCP/healthz" | head -c 2)"
daemon_stop S

printf 'soak: %s requests (%s gzip) in %.1f s, %s samples; %s queries, latency median %.1f ms, p99 %.1f ms, max %.1f ms; send median %.1f ms, p99 %.1f ms\n' \
    "$(jget "$s" requests)" "$(jget "$s" gzip)" "$(jget "$s" send_seconds)" "$(jget "$s" observations)" \
    "$(jget "$s" queries)" "$(jget "$s" query_median_ms)" "$(jget "$s" query_p99_ms)" "$(jget "$s" query_max_ms)" \
    "$(jget "$s" send_median_ms)" "$(jget "$s" send_p99_ms)"
summary
