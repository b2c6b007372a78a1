#!/usr/bin/env bash
# test_nats_tls.sh — otelprofd's NATS client options against a real nats-server (Debian's):
# --nats tls:// with --nats-tls-ca / --nats-tls-cert / --nats-tls-key, and --nats-creds.
#
# - a throwaway PKI made with the openssl CLI: a CA, a server certificate (SAN 127.0.0.1 and
#   localhost), a client certificate, and a second CA with a client certificate of its own;
# - one nats-server with JetStream and TLS that verifies client certificates
#   (tls { verify: true }): otelprofd --role all with the CA and the client pair starts,
#   cpu.pb over gRPC answers /debug/top equal to `go tool pprof -top` (testdata/expected),
#   a steady load (lib/nats_load.mjs) is acknowledged and the stored total equals the
#   acknowledged sum; the server's own /jsz holds the stream with every message;
# - refusals: no client certificate, a client certificate of the other CA, the other CA as
#   --nats-tls-ca, plain nats:// without --nats-tls-ca: otelprofd exits non-zero within
#   15 s (no hang) and its message names TLS and the option to fix;
# - one nats-server in operator (JWT) mode, its operator, accounts and users made by
#   lib/nats_jwt.mjs (@nats-io/jwt, since Debian has no nsc): with --nats-creds of a user of
#   the JetStream-enabled account, ingest and query work (total = acknowledged sum); a user
#   of an account the server does not know, and no credentials at all, are refused with a
#   message naming --nats-creds. (A first connection that nats-server 2.9.10 sometimes
#   refuses is made before, see below.)
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/nats_cluster.sh"
need_tools
need_nats_server
command -v openssl >/dev/null || die "openssl is not installed"
[[ -d "$OTELPROFD_SRC/tests/node_modules/@nats-io/jwt" ]] ||
    die "no @nats-io/jwt: run 'npm ci --prefix $OTELPROFD_SRC/tests'"
# On a fatal error (die) keep the work folder and show the servers' last words.
trap 'rc=$?; if ((rc != 0)); then FAILED=$((FAILED + 1)); tail -n 5 "$WORK"/nats*/server.log >&2 || true; fi; nats_cluster_stop; cleanup' EXIT

# ---- throwaway PKI (as test_tls.sh) --------------------------------------------------------
PKI="$WORK/pki"
make_pki "$PKI" "otelprofd nats test"

CPU_PB="$(shifted "$TD/otlp/cpu.pb")"
E="$TD/expected"

# stream_messages N: the message count of stream OTELPROFD on nats-server N (its /jsz).
stream_messages() {
    local jsz
    jsz="$(curl -s --max-time 2 "http://${NATS_MON[$1]}/jsz?streams=true")" || return 0
    node -e '
const j = JSON.parse(process.argv[1]);
for (const a of j.account_details ?? [])
  for (const s of a.stream_detail ?? []) if (s.name === "OTELPROFD") console.log(s.state.messages);' \
        "$jsz"
}

# refused DESC NEEDLE... -- OPTIONS...: `otelprofd serve OPTIONS` exits non-zero within 15 s
# (not a hang) and its stderr contains every NEEDLE.
refused() {
    local desc="$1" needles=() n rc=0 t0 t1 msg
    shift
    while [[ "$1" != -- ]]; do
        needles+=("$1")
        shift
    done
    shift
    t0="$(date +%s%N)"
    timeout 15 "$OTELPROFD_BIN" serve --otlp-grpc 127.0.0.1:0 --otlp-http 127.0.0.1:0 \
        --mcp-http 127.0.0.1:0 --role all "$@" 2>"$WORK/refused.log" >/dev/null || rc=$?
    t1="$(date +%s%N)"
    msg="$(cat "$WORK/refused.log")"
    echo "  $desc: exit $rc after $(((t1 - t0) / 1000000)) ms: $msg"
    if ((rc == 0 || rc == 124)); then
        fail "$desc: otelprofd exits with an error (exit $rc${rc:+, 124 = still running after 15 s})"
        return 0
    fi
    for n in "${needles[@]}"; do
        expect_contains "$desc: the message names '$n'" "$n" "$msg"
    done
}

# ---- TLS with client certificates ----------------------------------------------------------
mkdir -p "$WORK/nats1/store"
cat >"$WORK/tls.conf" <<EOF
tls {
  cert_file: "$PKI/server.pem"
  key_file: "$PKI/server.key"
  ca_file: "$PKI/ca.pem"
  verify: true
}
jetstream { store_dir: "$WORK/nats1/store" }
EOF
nats_server_start 1 "$WORK/tls.conf"
expect_eq "nats-server requires TLS (its client URL)" "tls" "${NATS_SCHEME[1]}"
TLS_URL="tls://${NATS_CLIENT[1]}"
TLS_OK=(--nats "$TLS_URL" --nats-tls-ca "$PKI/ca.pem" --nats-tls-cert "$PKI/client.pem"
    --nats-tls-key "$PKI/client.key")

daemon_start T --role all "${TLS_OK[@]}"
expect_contains "the stream is on the TLS server" "JetStream stream OTELPROFD at $TLS_URL" \
    "$(cat "$T_LOG")"
out="$(node "$LIB/send_grpc.mjs" "$T_GRPC" "$CPU_PB" --gzip)"
expect_eq "cpu.pb over gRPC, published over TLS: OK" "OK" "$(jget "$out" status)" || echo "  $out" >&2
sel='{service.name="flate", host.name="node-a"}'
for ((k = 0; k < 50; k++)); do
    get_top "$T_MCP" cpu:nanoseconds "$sel" "$WORK/top.flate" 2>/dev/null && break
    sleep 0.2
done
check "TLS: flate cpu:nanoseconds through the stream = pprof" node "$LIB/check_top.mjs" \
    --base "$T_MCP" --type cpu:nanoseconds --selector "$sel" --file "$CPU_PB" \
    --match service.name=flate --match host.name=node-a --expected "$E/compress_flate.cpu.cpu.top.txt"
node "$LIB/nats_load.mjs" --http "$T_HTTP" --count 20 --interval 0 --service tls >"$WORK/tls.json"
load="$(cat "$WORK/tls.json")"
expect_eq "TLS: every request of the load acknowledged" "0" "$(jget "$load" unacked)"
expect_total "TLS: stored total = acknowledged sum" T tls "$(jget "$load" acked_sum)"
# cpu.pb is one request; the load 20 more: the server holds all 21 in its stream
expect_eq "TLS: nats-server's own stream holds every request" "21" "$(stream_messages 1)"
daemon_stop T

refused "TLS, no client certificate" TLS "client certificate" --nats-tls-cert -- \
    --nats "$TLS_URL" --nats-tls-ca "$PKI/ca.pem"
refused "TLS, a client certificate of another CA" TLS --nats-tls-cert -- \
    --nats "$TLS_URL" --nats-tls-ca "$PKI/ca.pem" --nats-tls-cert "$PKI/intruder.pem" \
    --nats-tls-key "$PKI/intruder.key"
refused "TLS, the wrong CA as --nats-tls-ca" TLS "not trusted" --nats-tls-ca -- \
    --nats "$TLS_URL" --nats-tls-ca "$PKI/other-ca.pem" --nats-tls-cert "$PKI/client.pem" \
    --nats-tls-key "$PKI/client.key"
refused "plain nats:// to the TLS server without --nats-tls-ca" TLS --nats-tls-ca -- \
    --nats "nats://${NATS_CLIENT[1]}"
if grep -q "client didn't provide a certificate" "$WORK/nats1/server.log"; then
    pass "nats-server logged the connection without a client certificate"
else
    fail "nats-server logged the connection without a client certificate"
fi

# ---- operator (JWT) mode and --nats-creds ---------------------------------------------------
mkdir -p "$WORK/jwt" "$WORK/nats2/store"
node "$LIB/nats_jwt.mjs" "$WORK/jwt" >/dev/null || die "nats_jwt.mjs failed"
cat >"$WORK/creds.conf" <<EOF
include "jwt/auth.conf"
jetstream { store_dir: "$WORK/nats2/store" }
EOF
nats_server_start 2 "$WORK/creds.conf"
CREDS_URL="nats://${NATS_CLIENT[2]}"

# nats-server 2.9.10 bug: the first connection of an account (looked up in the MEMORY
# resolver at that moment) is now and then refused as "authentication error" (1 start in
# 40 to 120 here, never with -D); the account is registered anyway and every later connection
# with the same creds is admitted. A first connection by a short-lived otelprofd takes that
# hit; its refusal is printed as KNOWN SERVER ISSUE, not counted.
timeout 1 "$OTELPROFD_BIN" serve --otlp-grpc 127.0.0.1:0 --otlp-http 127.0.0.1:0 \
    --mcp-http 127.0.0.1:0 --role all --nats "$CREDS_URL" \
    --nats-creds "$WORK/jwt/user.creds" 2>"$WORK/first.log" || true
if grep -q "Authorization Violation" "$WORK/first.log"; then
    echo "KNOWN SERVER ISSUE: nats-server refused the account's first connection: $(cat "$WORK/first.log")" >&2
fi
daemon_start C --role all --nats "$CREDS_URL" --nats-creds "$WORK/jwt/user.creds"
node "$LIB/nats_load.mjs" --http "$C_HTTP" --count 20 --interval 0 --service creds >"$WORK/creds.json"
load="$(cat "$WORK/creds.json")"
expect_eq "creds: every request of the load acknowledged" "0" "$(jget "$load" unacked)"
expect_total "creds: stored total = acknowledged sum" C creds "$(jget "$load" acked_sum)"
expect_eq "creds: nats-server's own stream (account APP) holds every request" "20" \
    "$(stream_messages 2)"
daemon_stop C

refused "creds of a user of an account the server does not know" --nats-creds credentials -- \
    --nats "$CREDS_URL" --nats-creds "$WORK/jwt/stranger.creds"
refused "no creds, the server in operator mode" --nats-creds credentials -- --nats "$CREDS_URL"

summary
