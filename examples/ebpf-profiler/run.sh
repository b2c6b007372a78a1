#!/usr/bin/env bash
# run.sh [PATH-TO-ebpf-profiler] [extra profiler flags...]
# Starts the OTel eBPF profiler exporting to otelprofd. Needs root (eBPF). otelprofd must be
# running (scripts/run.sh); its OTLP/gRPC address comes from OTELPROFD_OTLP (default
# 127.0.0.1:4317) and its HTTP API from OTELPROFD_API (default http://127.0.0.1:4319).
set -euo pipefail
bin="${1:-ebpf-profiler}"
[[ $# -gt 0 ]] && shift
otlp="${OTELPROFD_OTLP:-127.0.0.1:4317}"
api="${OTELPROFD_API:-http://127.0.0.1:4319}"
command -v "$bin" >/dev/null || [[ -x "$bin" ]] || {
    echo "run.sh: no ebpf-profiler at '$bin': build it with 'make agent' in" \
        "https://github.com/open-telemetry/opentelemetry-ebpf-profiler and pass its path" >&2
    exit 2
}
if ! curl -sf --max-time 2 "$api/healthz" >/dev/null; then
    echo "run.sh: otelprofd does not answer $api/healthz; start it first (scripts/run.sh)" >&2
    exit 3
fi
# otelprofd's receiver is plain gRPC on loopback, hence -disable-tls.
exec "$bin" -collection-agent="$otlp" -disable-tls "$@"
