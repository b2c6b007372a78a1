# shellcheck shell=bash
# nats_cluster.sh — a real three-node NATS JetStream cluster (Debian's nats-server) on
# loopback for the --nats tests (sourced after common.sh, never run).
#
# Every port is bound by the servers themselves (-p -1, -m -1, cluster port -1) and read back
# from the ports file each server writes (--ports_file_dir): nothing is picked in advance, so
# nothing can collide with a parallel test. JetStream clustering refuses to start without a
# configured route, and the first server cannot know the others' ports: it gets a route to
# 127.0.0.1:1 (nothing listens there: refused, retried, harmless), the others route to the
# first one's reported cluster port, and gossip completes the mesh. A restarted node binds the
# ports it reported before (so client URL lists stay valid) and routes to its two peers.
#
#   nats_cluster_start [N]     starts N (default 3) nodes, waits for a JetStream meta leader
#                              that sees every node; sets NATS_URLS (comma-separated client
#                              URLs of all nodes), NATS_CLIENT[i], NATS_MON[i], NATS_ROUTE[i]
#   nats_node_kill I           kill -9 of node I (1-based)
#   nats_node_stop I           SIGTERM, waits for the exit
#   nats_node_start I          (re)starts node I on its former ports with routes to its peers
#   nats_wait_meta_leader [N]  waits (30 s) until a meta leader sees N-1 current peers
#   nats_wait_stream NAME [N]  waits (30 s) until a stream has a leader and N-1 current replicas
#   nats_stream_replicas NAME  "n<i> <messages> <last_seq>" per node, from its own /jsz
#   nats_replicas_diverge NAME true when the replicas disagree (prints them)
#   nats_cluster_stop          stops every node (also run by the EXIT trap)
#   nats_server_start I CONF   one stand-alone server (no cluster) from configuration file
#                              CONF (TLS, operator mode...), its ports bound by itself, waits
#                              for its /healthz; sets
#                              NATS_CLIENT[i] (host:port), NATS_MON[i] and NATS_SCHEME[i]
#                              (nats or tls, from the URL the server reports)
#   total_of NAME SERVICE      the cpu:nanoseconds total of a service on otelprofd node NAME
#   expect_total DESC NAME SERVICE EXPECTED
#                              that total reaches EXPECTED (waiting 30 s) and is exactly that

NATS_N=0
NATS_PIDS=()
NATS_CLIENT=()
NATS_MON=()
NATS_ROUTE=()
NATS_SCHEME=()
NATS_SOLO=()
NATS_URLS=""

need_nats_server() {
    command -v nats-server >/dev/null ||
        die "nats-server is not installed (Debian package nats-server; scripts/install-deps.sh --test)"
}

# nats__launch I ROUTES CLIENT_PORT MON_PORT CLUSTER_PORT: one server; ports -1 = any.
nats__launch() {
    local i="$1" routes="$2" dir="$WORK/nats$1"
    mkdir -p "$dir/store" "$dir/ports"
    rm -f "$dir/ports/"*
    nats-server -a 127.0.0.1 -p "$3" -m "$4" -n "n$i" -js -sd "$dir/store" \
        --cluster_name otelprofd-test --cluster "nats://127.0.0.1:$5" --routes "$routes" \
        --ports_file_dir "$dir/ports" >>"$dir/server.log" 2>&1 &
    NATS_PIDS[i]=$!
}

# nats__read_ports I: waits (10 s) for node I's ports file, fills its port variables.
nats__read_ports() {
    local i="$1" dir="$WORK/nats$1" f k
    for ((k = 0; k < 100; k++)); do
        f="$(ls "$dir/ports/"*.ports 2>/dev/null | head -n 1 || true)"
        if [[ -n "$f" && -s "$f" ]]; then
            NATS_CLIENT[i]="$(sed -n 's#.*"nats":\["[a-z]*://\([^"]*\)"\].*#\1#p' "$f")"
            NATS_SCHEME[i]="$(sed -n 's#.*"nats":\["\([a-z]*\)://.*#\1#p' "$f")"
            NATS_MON[i]="$(sed -n 's#.*"monitoring":\["http://\([^"]*\)"\].*#\1#p' "$f")"
            NATS_ROUTE[i]="$(sed -n 's#.*"cluster":\["nats://\([^"]*\)"\].*#\1#p' "$f")"
            [[ -n "${NATS_CLIENT[i]}" && (-n "${NATS_ROUTE[i]}" || -n "${NATS_SOLO[i]:-}") ]] &&
                return 0
        fi
        kill -0 "${NATS_PIDS[i]}" 2>/dev/null || break
        sleep 0.1
    done
    tail -n 20 "$dir/server.log" >&2
    die "nats-server n$i did not write its ports file"
}

nats__urls() {
    local i u=()
    for ((i = 1; i <= NATS_N; i++)); do u+=("nats://${NATS_CLIENT[i]}"); done
    NATS_URLS="$(
        IFS=,
        echo "${u[*]}"
    )"
}

# nats_wait_meta_leader [N]: a node's /jsz names a meta leader and N-1 current replicas.
nats_wait_meta_leader() {
    local want="${1:-$NATS_N}" k i jsz cur
    for ((k = 0; k < 300; k++)); do
        for ((i = 1; i <= NATS_N; i++)); do
            [[ -n "${NATS_PIDS[i]:-}" ]] && kill -0 "${NATS_PIDS[i]}" 2>/dev/null || continue
            jsz="$(curl -s --max-time 2 "http://${NATS_MON[i]}/jsz" 2>/dev/null)" || continue
            [[ "$jsz" =~ \"leader\":\ *\"n[0-9]+\" ]] || continue
            cur="$(grep -o '"current": *true' <<<"$jsz" | wc -l || true)"
            if ((cur >= want - 1)); then return 0; fi
        done
        sleep 0.1
    done
    die "JetStream cluster: no meta leader with $want nodes within 30 s"
}

# nats_wait_stream NAME [N]: waits (30 s) until stream NAME has a leader and N-1 current
# replicas (default: every node), as seen by any node's /jsz.
nats_wait_stream() {
    local want="${2:-$NATS_N}" k i jsz
    for ((k = 0; k < 300; k++)); do
        for ((i = 1; i <= NATS_N; i++)); do
            [[ -n "${NATS_PIDS[i]:-}" ]] || continue
            jsz="$(curl -s --max-time 2 "http://${NATS_MON[i]}/jsz?streams=true" 2>/dev/null)" || continue
            if node -e '
const j = JSON.parse(process.argv[1]);
for (const a of j.account_details ?? [])
  for (const s of a.stream_detail ?? [])
    if (s.name === process.argv[2] && s.cluster?.leader &&
        (s.cluster.replicas ?? []).filter((r) => r.current).length >= Number(process.argv[3]) - 1)
      process.exit(0);
process.exit(1);' "$jsz" "$1" "$want" 2>/dev/null; then return 0; fi
        done
        sleep 0.1
    done
    die "JetStream stream $1: no leader with $want current replicas within 30 s"
}

# nats_stream_replicas NAME: one line per running node, "n<i> <messages> <last_seq>": the
# stream as that node's own replica holds it (its /jsz).
nats_stream_replicas() {
    local i jsz
    for ((i = 1; i <= NATS_N; i++)); do
        [[ -n "${NATS_PIDS[i]:-}" ]] || continue
        jsz="$(curl -s --max-time 2 "http://${NATS_MON[i]}/jsz?streams=true" 2>/dev/null)" || continue
        node -e '
const j = JSON.parse(process.argv[1]);
for (const a of j.account_details ?? [])
  for (const s of a.stream_detail ?? [])
    if (s.name === process.argv[2]) console.log(`n${process.argv[3]} ${s.state.messages} ${s.state.last_seq}`);' \
            "$jsz" "$1" "$i" 2>/dev/null || true
    done
}

# nats_replicas_diverge NAME: true when the nodes' replicas of the stream do not hold the
# same number of messages and last sequence (prints them).
nats_replicas_diverge() {
    local r
    r="$(nats_stream_replicas "$1")"
    echo "stream $1 replicas: $(tr '\n' ';' <<<"$r")"
    (($(cut -d' ' -f2- <<<"$r" | sort -u | wc -l) > 1))
}

nats_cluster_start() {
    need_nats_server
    NATS_N="${1:-3}"
    local i
    nats__launch 1 "nats://127.0.0.1:1" -1 -1 -1
    nats__read_ports 1
    for ((i = 2; i <= NATS_N; i++)); do
        nats__launch "$i" "nats://${NATS_ROUTE[1]}" -1 -1 -1
    done
    for ((i = 2; i <= NATS_N; i++)); do nats__read_ports "$i"; done
    nats__urls
    nats_wait_meta_leader "$NATS_N"
    echo "JetStream cluster of $NATS_N nodes: $NATS_URLS"
}

nats_node_kill() {
    kill -KILL "${NATS_PIDS[$1]}" 2>/dev/null || true
    wait "${NATS_PIDS[$1]}" 2>/dev/null || true
    NATS_PIDS[$1]=""
}

nats_node_stop() {
    local pid="${NATS_PIDS[$1]:-}"
    [[ -n "$pid" ]] || return 0
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    NATS_PIDS[$1]=""
}

nats_node_start() {
    local i="$1" j routes=()
    for ((j = 1; j <= NATS_N; j++)); do
        ((j == i)) || routes+=("nats://${NATS_ROUTE[j]}")
    done
    nats__launch "$i" "$(
        IFS=,
        echo "${routes[*]}"
    )" "${NATS_CLIENT[i]##*:}" "${NATS_MON[i]##*:}" "${NATS_ROUTE[i]##*:}"
    nats__read_ports "$i"
}

nats_server_start() {
    need_nats_server
    local i="$1" dir="$WORK/nats$1"
    mkdir -p "$dir/ports"
    rm -f "$dir/ports/"*
    nats-server -c "$2" -a 127.0.0.1 -p -1 -m -1 -n "n$i" --ports_file_dir "$dir/ports" \
        >>"$dir/server.log" 2>&1 &
    NATS_PIDS[i]=$!
    NATS_SOLO[i]=1
    ((i <= NATS_N)) || NATS_N="$i"
    nats__read_ports "$i"
    # Ready when /healthz says so, not when the ports file is written: in operator (JWT) mode
    # a client that connected at once was refused as unauthenticated in about 1 of 40 starts.
    local k
    for ((k = 0; k < 100; k++)); do
        [[ "$(curl -s --max-time 2 "http://${NATS_MON[i]}/healthz" 2>/dev/null)" == *'"ok"'* ]] &&
            break
        sleep 0.1
    done
    ((k < 100)) || die "nats-server n$i: /healthz not ok within 10 s"
    echo "nats-server n$i: ${NATS_SCHEME[i]}://${NATS_CLIENT[i]} ($2)"
}

# total_of NAME SERVICE: the cpu:nanoseconds total of a service on otelprofd node NAME.
total_of() {
    local mcp="${1}_MCP"
    get_top "${!mcp}" cpu:nanoseconds "{service.name=\"$2\"}" "$WORK/total.$1" || return 0
    sed -n 's/^total \([0-9-]*\)$/\1/p' "$WORK/total.$1" | head -n 1
}

# expect_total DESC NAME SERVICE EXPECTED: the service's total on the node reaches EXPECTED
# (waiting up to 30 s for the node to apply what the stream holds) and is exactly that.
expect_total() {
    local got k
    for ((k = 0; k < 150; k++)); do
        got="$(total_of "$2" "$3")"
        [[ -n "$got" && $got -ge $4 ]] && break
        sleep 0.2
    done
    expect_eq "$1" "$4" "$got"
}

nats_cluster_stop() {
    local i
    for ((i = 1; i <= NATS_N; i++)); do nats_node_stop "$i"; done
}

# Stop the servers before common.sh's cleanup removes their store folders.
trap 'nats_cluster_stop; cleanup' EXIT
