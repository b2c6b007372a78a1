#!/usr/bin/env bash
# test_nats_cluster.sh — otelprofd across nodes on a real three-node NATS JetStream cluster
# (Debian's nats-server, lib/nats_cluster.sh; every port bound by the servers themselves).
#
# Two ingest nodes (--role ingest) and two query nodes (--role query) share one R3 stream:
# - cpu.pb over gRPC to ingest node 1, mem.pb over HTTP to ingest node 2: both query nodes
#   answer /debug/top equal to `go tool pprof -top` (testdata/expected) and to the
#   reference from the bytes sent (lib/check_top.mjs), and equal each other;
# - mem.pb sent again to the other ingest node (a sender's retry after an ingest node died
#   before answering): stored once, the answers do not change;
# - kill -9 of one NATS server during steady ingest (lib/nats_load.mjs, an exporter that
#   retries what was not acknowledged on the other ingest node): on both query nodes the
#   stored total equals the sum of what was acknowledged (nothing lost, nothing twice);
#   the server rejoins;
# - a query node killed (-9) and restarted: it replays the stream and answers exactly again;
# - an ingest node killed (-9) under load: the exporter's retries through the other node
#   are acknowledged, and what the killed node had published already is stored once;
# - two of three NATS servers stopped (no quorum): ingest answers 503;
# - every NATS server stopped: ingest answers 503 (HTTP) and never 200, the query nodes keep
#   answering from memory; the cluster restarted: ingest is acknowledged again and the query
#   nodes catch up;
# - Q1 forwards (--forward, a durable stream consumer) to a node:http OTLP sink: every
#   stream record arrives there;
# - --role all with --nats: its windows hold its own and the other nodes' ingest, via the
#   stream; get_status reports the role, the stream and the replay.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/nats_cluster.sh"
need_tools
need_nats_server

CPU_PB="$(shifted "$TD/otlp/cpu.pb")"
MEM_PB="$(shifted "$TD/otlp/mem.pb")"
E="$TD/expected"

nats_cluster_start 3

# plain node:http OTLP sinks (no otelprofd code): Q1 forwards everything to the first, Q3
# (the diverged-replica node below) to the second
for sink in 1 2; do
    node "$LIB/otlp_sink.mjs" --port 0 --mode ok --out "$WORK/sink$sink.jsonl" >"$WORK/sink$sink.out" 2>&1 &
    printf -v "SINK${sink}_PID" '%s' "$!"
    for ((k = 0; k < 100; k++)); do
        port="$(sed -n 's/^port //p' "$WORK/sink$sink.out" 2>/dev/null || true)"
        [[ -n "$port" ]] && break
        sleep 0.1
    done
    [[ -n "$port" ]] || die "OTLP sink $sink did not start"
    printf -v "SINK${sink}_PORT" '%s' "$port"
done
SINK_PORT="$SINK1_PORT"
trap 'kill "$SINK1_PID" "$SINK2_PID" 2>/dev/null || true; nats_cluster_stop; cleanup' EXIT

NODE_OPTS=(--nats "$NATS_URLS" --nats-replicas 3 --nats-stream OTELPROFD_IT)
daemon_start I1 --role ingest "${NODE_OPTS[@]}"
daemon_start I2 --role ingest "${NODE_OPTS[@]}"
daemon_start Q1 --role query "${NODE_OPTS[@]}" --forward "http://127.0.0.1:$SINK_PORT"
daemon_start Q2 --role query "${NODE_OPTS[@]}"

expect_contains "a query node opens no OTLP listener" "role query" "$(cat "$Q1_LOG")"
if grep -q "OTLP/gRPC listening" "$Q1_LOG"; then fail "query node Q1 listens for OTLP"; fi

# caught_up NAME...: waits (30 s) until every named node's windows consumer has nothing
# pending behind the stream head and its applied sequence has stopped moving (the same for
# 3 s, longer than the consumer watchdog's 2 s). Not "applied = the stream's last
# sequence": a publish that lost its quorum can use a sequence that never holds a message.
# Whether everything arrived is checked by the exact totals (expect_total waits for them).
caught_up() {
    local name mcp k applied pending last=-1 same=0
    for name in "$@"; do
        mcp="${name}_MCP"
        last=-1 same=0
        for ((k = 0; k < 60; k++)); do
            applied="$(metric "${!mcp}" stream_applied_sequence)"
            pending="$(metric "${!mcp}" stream_pending_records)"
            if [[ "$pending" == 0 && "$applied" != absent && "$applied" != 0 && "$applied" == "$last" ]]; then
                same=$((same + 1))
                ((same >= 6)) && break
            else
                same=0
            fi
            last="$applied"
            sleep 0.5
        done
        if ((k == 60)); then
            fail "$name caught up with the stream (applied $applied, pending $pending)"
            return 1
        fi
    done
}

# ---- ingest through two nodes, answers on two query nodes -------------------------------
out="$(node "$LIB/send_grpc.mjs" "$I1_GRPC" "$CPU_PB" --gzip)"
expect_eq "cpu.pb over gRPC to ingest node 1: OK" "OK" "$(jget "$out" status)" || echo "  $out" >&2
code="$(http_post "$I2_HTTP/v1development/profiles" "$MEM_PB" application/x-protobuf)"
expect_eq "mem.pb over HTTP to ingest node 2: 200" "200" "$code"
expect_eq "mem.pb: nothing rejected" "0" "$(rejected "$(response_json)")"
# the sender's retry of the same request, to the other ingest node: stored once
code="$(http_post "$I1_HTTP/v1development/profiles" "$MEM_PB" application/x-protobuf)"
expect_eq "mem.pb retried through ingest node 1: 200" "200" "$code"
caught_up Q1 Q2

answers() {
    local q="$1" tag="$2" mcp="${1}_MCP" svc s f sel t
    for svc in flate:compress_flate json:encoding_json; do
        s="${svc%%:*}" f="${svc#*:}"
        sel="{service.name=\"$s\", host.name=\"node-a\"}"
        check "$q ($tag): $s cpu:nanoseconds = pprof" node "$LIB/check_top.mjs" --base "${!mcp}" \
            --type cpu:nanoseconds --selector "$sel" --file "$CPU_PB" --match service.name="$s" \
            --match host.name=node-a --expected "$E/$f.cpu.cpu.top.txt" --save "$WORK/$q.$tag.$s.cpu"
        sel="{service.name=\"$s\", host.name=\"node-b\"}"
        for t in alloc_space:bytes inuse_objects:count; do
            check "$q ($tag): $s $t = pprof (the retry stored once)" node "$LIB/check_top.mjs" \
                --base "${!mcp}" --type "$t" --selector "$sel" --file "$MEM_PB" \
                --match service.name="$s" --match host.name=node-b \
                --expected "$E/$f.mem.${t%%:*}.top.txt" --save "$WORK/$q.$tag.$s.${t%%:*}"
        done
    done
}
answers Q1 first
answers Q2 first
for f in "$WORK"/Q1.first.*; do
    check "query nodes agree: ${f##*/Q1.first.}" cmp -s "$f" "${f/Q1.first/Q2.first}"
done

# (total_of and expect_total: lib/nats_cluster.sh)

# ---- kill -9 of a NATS server during steady ingest -------------------------------------
rm -f "$WORK/mark"
node "$LIB/nats_load.mjs" --http "$I1_HTTP,$I2_HTTP" --count 200 --interval 10 \
    --mark "$WORK/mark" >"$WORK/load1.json" &
load=$!
for ((k = 0; k < 300; k++)); do [[ -f "$WORK/mark" ]] && break; sleep 0.1; done
nats_node_kill 2
wait "$load" || true
load1="$(cat "$WORK/load1.json")"
echo "load during the kill: $load1"
expect_eq "every request of the load acknowledged in the end" "0" "$(jget "$load1" unacked)"
sum="$(jget "$load1" acked_sum)"
expect_total "Q1: stored total = acknowledged sum (kill -9 of a NATS server)" Q1 load "$sum"
expect_total "Q2: stored total = acknowledged sum (kill -9 of a NATS server)" Q2 load "$sum"
nats_node_start 2
nats_wait_meta_leader 3
pass "the killed NATS server rejoined the cluster"

# ---- a query node killed and restarted: replays, answers exactly again --------------------
kill -KILL "$Q2_PID"
wait "$Q2_PID" 2>/dev/null || true
DAEMONS=("${DAEMONS[@]/$Q2_PID/}")
daemon_start Q2 --role query "${NODE_OPTS[@]}"
caught_up Q2
answers Q2 replayed
expect_total "Q2 after its restart: the load's total again" Q2 load "$sum"

# ---- an ingest node killed (-9) under load: every request's retry lands once ----------------
rm -f "$WORK/mark"
node "$LIB/nats_load.mjs" --http "$I1_HTTP,$I2_HTTP" --count 100 --interval 10 --service retry \
    --mark "$WORK/mark" >"$WORK/load2.json" &
load=$!
for ((k = 0; k < 300; k++)); do [[ -f "$WORK/mark" ]] && break; sleep 0.1; done
kill -KILL "$I1_PID"
wait "$load" || true
wait "$I1_PID" 2>/dev/null || true
DAEMONS=("${DAEMONS[@]/$I1_PID/}")
load2="$(cat "$WORK/load2.json")"
echo "load during the ingest node's kill: $load2"
expect_eq "ingest node killed: every request acknowledged by the other" "0" "$(jget "$load2" unacked)"
sum2="$(jget "$load2" acked_sum)"
expect_total "ingest node killed: Q1 total = acknowledged sum (retries stored once)" Q1 retry "$sum2"
expect_total "ingest node killed: Q2 total = acknowledged sum (retries stored once)" Q2 retry "$sum2"
daemon_start I1 --role ingest "${NODE_OPTS[@]}"

# ---- two of three NATS servers stopped: no quorum for the R3 stream --------------------------
nats_node_stop 1
nats_node_stop 2
code="$(http_post "$I2_HTTP/v1development/profiles" "$MEM_PB" application/x-protobuf)"
expect_eq "no quorum (one server of three left): ingest node answers 503" "503" "$code"

# ---- every NATS server stopped -------------------------------------------------------------
nats_cluster_stop
code="$(http_post "$I1_HTTP/v1development/profiles" "$MEM_PB" application/x-protobuf)"
expect_eq "cluster down: ingest node answers 503" "503" "$code"
node "$LIB/nats_load.mjs" --http "$I2_HTTP" --count 1 --retries 0 --service down >"$WORK/down.json"
expect_eq "cluster down: nothing acknowledged" "0" "$(jget "$(cat "$WORK/down.json")" acked)"
answers Q1 down
expect_total "cluster down: Q2 still answers the load's total" Q2 load "$sum"

for i in 1 2 3; do nats_node_start "$i"; done
nats_wait_meta_leader 3
# Publishing while the restarted stream still recovers lost one acknowledged request in 2
# of about 10 runs (on both query nodes; nats-server 2.9.10): an operator waits for the
# stream to be whole again, and so does this test (see the report of issue 14).
nats_wait_stream OTELPROFD_IT 3
node "$LIB/nats_load.mjs" --http "$I1_HTTP,$I2_HTTP" --count 20 --interval 0 --service after \
    >"$WORK/after.json"
after="$(cat "$WORK/after.json")"
expect_eq "cluster back: ingest acknowledged again" "0" "$(jget "$after" unacked)"
# nats-server 2.9.10 bug: after the whole cluster was stopped and restarted, in some runs
# (1 in 5 to 7 in 8 here) one server's replica of the stream (the server left alone as the
# stream's leader in the no-quorum step above, which took a publish it could not commit)
# misses the first message stored after the restart and holds every later one a sequence
# lower: 321 messages and last sequence 321 there, 322 on the other two (their /jsz, and
# their stores). The stream leader acknowledged the message. A query node whose ordered
# consumer that server serves finds it (its last record differs from the leader's at that
# sequence) and repairs itself from the leader: the totals are strict either way. The
# forwarder's durable consumer, when that server leads it, does not repair (see below).
after_sum="$(jget "$after" acked_sum)"
# diverged: the replicas disagree three times a second apart (not a follower still applying)
diverged=1
for ((k = 0; k < 3; k++)); do
    nats_replicas_diverge OTELPROFD_IT || { diverged="" && break; }
    sleep 1
done
[[ -z "$diverged" ]] || echo "note: the stream's replicas diverged in this run (nats-server 2.9.10)" >&2
for q in Q1 Q2; do
    expect_total "$q caught up after the cluster returned" "$q" after "$after_sum"
    qlog="${q}_LOG"
    if grep -q "differs from the stream leader" "${!qlog}"; then
        echo "note: $q read a diverged replica and repaired itself from the stream leader" >&2
    fi
done

# Q1's forwarder is a durable consumer of the stream: every distinct record in the stream
# reached the sink (at least once: a commit lost with a killed server may send a record
# again, so requests are counted by their sha). When the durable's replica diverged (above),
# the forwarder reads what it lacked from the leader. (A record the forwarder fetched while
# the connection dropped comes again after the consumer's ack wait, 30 s: wait up to 60 s.)
held="$(metric "$Q1_MCP" stream_records)"
for ((k = 0; k < 600; k++)); do
    got="$( (grep -o '"sha":"[0-9a-f]*"' "$WORK/sink1.jsonl" 2>/dev/null || true) | sort -u | wc -l)"
    ((got >= held)) && break
    sleep 0.1
done
echo "forwarded: $got distinct requests ($(cat "$WORK/sink1.jsonl" 2>/dev/null | wc -l) sent) for $held records in the stream"
if grep -q "otelprofd-.*differs from the stream leader" "$Q1_LOG"; then
    echo "note: Q1's forwarder read a diverged replica and repaired from the stream leader" >&2
fi
check "Q1 forwarded every stream record to the sink ($got distinct for $held)" test "$got" -ge "$held"

# --role all with --nats: one process both ingests and answers, its windows fed from the
# stream (so it also holds what the other ingest nodes took)
daemon_start A --role all "${NODE_OPTS[@]}"
node "$LIB/nats_load.mjs" --http "$A_HTTP" --count 10 --interval 0 --service allrole >"$WORK/all.json"
allsum="$(jget "$(cat "$WORK/all.json")" acked_sum)"
expect_total "--role all: its own ingest visible in its windows" A allrole "$allsum"
expect_total "--role all: holds what other ingest nodes took" A load "$sum"
expect_total "--role all: its ingest reached the query nodes" Q1 allrole "$allsum"
caught_up Q1

status="$("$OTELPROFD_BIN" query get_status --connect "$Q1_MCP/mcp" --json)"
expect_eq "get_status: cluster role" "query" "$(jget "$status" cluster.role)"
expect_eq "get_status: cluster stream" "OTELPROFD_IT" "$(jget "$status" cluster.stream)"
expect_eq "get_status: replay done" "true" "$(jget "$status" cluster.replay_done)"
expect_eq "get_status: nothing pending" "0" "$(jget "$status" cluster.pending_records)"

st="$(curl -s "$Q1_MCP/metrics" | grep -c '^otelprofd_cluster_info{role="query",stream="OTELPROFD_IT"} 1')"
expect_eq "/metrics names the role and the stream" "1" "$st"

# ---- a query node whose replica diverged (the server bug above, as a test fault) ----------
# OTELPROFD_TEST_NATS_DIVERGE=D makes a node's consumers behave as the diverged replica:
# they never see stream sequence D and read every later record one sequence lower. Q3's
# windows (an ordered consumer) and its forwarder (a new durable consumer, which starts at
# the stream's end) must both find it by comparing with the stream leader and repair from
# the leader: the record that sequence holds is applied / sent, nothing is applied twice.
caught_up Q1
base_seq="$(metric "$Q1_MCP" stream_last_sequence)"
drop=$((base_seq + 3))
OTELPROFD_TEST_NATS_DIVERGE="$drop" daemon_start Q3 --role query "${NODE_OPTS[@]}" \
    --forward "http://127.0.0.1:$SINK2_PORT"
caught_up Q3
node "$LIB/nats_load.mjs" --http "$I2_HTTP" --count 10 --interval 0 --service diverge >"$WORK/div.json"
divsum="$(jget "$(cat "$WORK/div.json")" acked_sum)"
expect_total "diverged replica (sequence $drop missed): Q3 repaired, total = acknowledged sum" Q3 diverge "$divsum"
expect_total "diverged replica: Q3 holds the load's total too" Q3 load "$sum"
for ((k = 0; k < 50; k++)); do grep -q "replica repaired" "$Q3_LOG" && break; sleep 0.2; done
expect_contains "Q3 says its replica differed from the leader" "differs from the stream leader from sequence" "$(cat "$Q3_LOG")"
# one record, or more when this run's real divergence (above) put Q3 on the short replica too
repaired="$(sed -n 's/.*replica repaired: \([0-9]*\) records it lacked were applied.*/\1/p' "$Q3_LOG" | head -n 1)"
if [[ "$repaired" =~ ^[0-9]+$ ]] && ((repaired >= 1)); then
    pass "Q3 applied the $repaired record(s) its replica lacked from the leader"
else
    fail "Q3 applied no record from the leader (repaired '$repaired')"
fi
rep="$(metric "$Q3_MCP" stream_replica_repaired_records_total)"
if [[ "$rep" =~ ^[0-9]+$ ]] && ((rep >= 1)); then
    pass "Q3 /metrics: otelprofd_stream_replica_repaired_records_total = $rep"
else
    fail "Q3 /metrics: otelprofd_stream_replica_repaired_records_total is '$rep', expected >= 1"
fi
expect_eq "Q3 /metrics: reading from the stream leader" 1 "$(metric "$Q3_MCP" stream_reading_from_leader)"
status="$("$OTELPROFD_BIN" query get_status --connect "$Q3_MCP/mcp" --json)"
expect_eq "Q3 get_status: cluster.reading_from_leader" true "$(jget "$status" cluster.reading_from_leader)"
expect_eq "Q1 /metrics: not reading from the leader unless its replica diverged" \
    "$(grep -q 'differs from the stream leader from sequence' "$Q1_LOG" && echo 1 || echo 0)" \
    "$(metric "$Q1_MCP" stream_reading_from_leader)"
# sink2_has N: waits (30 s) until the second sink holds N distinct requests; prints the count
sink2_has() {
    local k distinct=0
    for ((k = 0; k < 300; k++)); do
        distinct="$( (grep -o '"sha":"[0-9a-f]*"' "$WORK/sink2.jsonl" 2>/dev/null || true) | sort -u | wc -l)"
        ((distinct >= $1)) && break
        sleep 0.1
    done
    echo "$distinct"
}
expect_eq "diverged replica: Q3's forwarder sent all 10 records of the load" 10 "$(sink2_has 10)"
expect_contains "Q3's forwarder says its replica differed" "otelprofd-" \
    "$(grep "differs from the stream leader" "$Q3_LOG" || true)"
# and both follow the stream afterwards (the windows from the leader, the forwarder with
# its durable again)
node "$LIB/nats_load.mjs" --http "$I1_HTTP" --count 5 --interval 0 --service diverge2 >"$WORK/div2.json"
expect_total "Q3 follows the stream from the leader after the repair" Q3 diverge2 \
    "$(jget "$(cat "$WORK/div2.json")" acked_sum)"
expect_eq "Q3's forwarder goes on after the repair (15 distinct records)" 15 "$(sink2_has 15)"

for n in I1 I2 Q1 Q2 Q3 A; do daemon_stop "$n"; done
summary
