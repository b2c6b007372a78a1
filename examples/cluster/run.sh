#!/usr/bin/env bash
# examples/cluster/run.sh — the whole cluster picture of docs/cluster.md on one machine:
# three NATS JetStream servers (nats-1..3.conf), two otelprofd ingest nodes and two query
# nodes sharing one stream with three replicas. Ctrl-C stops everything.
#
#   ingest node 1: OTLP gRPC 127.0.0.1:4317, HTTP 127.0.0.1:4318
#   ingest node 2: OTLP gRPC 127.0.0.1:4327, HTTP 127.0.0.1:4328
#   query node 1:  MCP http://127.0.0.1:4319/mcp
#   query node 2:  MCP http://127.0.0.1:4329/mcp
#
# Needs nats-server (Debian package nats-server) and otelprofd on PATH (or OTELPROFD=path).
set -euo pipefail
cd "$(dirname "$0")"
OTELPROFD="${OTELPROFD:-otelprofd}"
mkdir -p data
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait' EXIT INT TERM

for i in 1 2 3; do
    nats-server -c "nats-$i.conf" -l "data/nats-$i.log" &
    pids+=($!)
done
# wait for the JetStream meta leader (the monitoring port of server 1)
for _ in $(seq 100); do
    curl -s http://127.0.0.1:8222/jsz | grep -q '"leader"' && break
    sleep 0.2
done

NATS=nats://127.0.0.1:4222,nats://127.0.0.1:4223,nats://127.0.0.1:4224
common=(--nats "$NATS" --nats-replicas 3)
"$OTELPROFD" serve --role ingest "${common[@]}" --otlp-grpc 127.0.0.1:4317 \
    --otlp-http 127.0.0.1:4318 --mcp-http 127.0.0.1:4339 2>data/ingest-1.log &
pids+=($!)
"$OTELPROFD" serve --role ingest "${common[@]}" --otlp-grpc 127.0.0.1:4327 \
    --otlp-http 127.0.0.1:4328 --mcp-http 127.0.0.1:4349 2>data/ingest-2.log &
pids+=($!)
"$OTELPROFD" serve --role query "${common[@]}" --mcp-http 127.0.0.1:4319 2>data/query-1.log &
pids+=($!)
"$OTELPROFD" serve --role query "${common[@]}" --mcp-http 127.0.0.1:4329 2>data/query-2.log &
pids+=($!)
echo "cluster up: send OTLP to 127.0.0.1:4317 or :4327 (otelcol-cluster.yaml does), ask"
echo "http://127.0.0.1:4319/mcp or :4329/mcp; logs in $(pwd)/data/. Ctrl-C stops."
wait
