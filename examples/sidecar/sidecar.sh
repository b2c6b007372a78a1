#!/usr/bin/env bash
# sidecar.sh [--] COMMAND [ARGS...]
#
# Runs a service and otelprofd side by side, sharing localhost (a container entrypoint, a
# VM, a dev box): otelprofd starts first and must answer /healthz, then COMMAND starts with
# OTEL_EXPORTER_OTLP_ENDPOINT pointing at otelprofd's OTLP/gRPC port (unless already set).
# When either process exits, or on SIGTERM/SIGINT, both are stopped (SIGTERM, then SIGKILL
# after OTELPROFD_SIDECAR_STOP_TIMEOUT seconds). The exit status is the service's (or 1 if
# otelprofd died first).
#
# otelprofd is configured only through its environment, as sidecars are:
#   OTELPROFD_OTLP_GRPC (127.0.0.1:4317)  OTELPROFD_OTLP_HTTP (127.0.0.1:4318)
#   OTELPROFD_MCP_HTTP (127.0.0.1:4319)   OTELPROFD_RETENTION (1h)  OTELPROFD_RESOLUTION (10s)
#   OTELPROFD_MEMORY_LIMIT (512MiB)       OTELPROFD_MCP_TOKEN       OTELPROFD_LOG_LEVEL ...
# and for this script: OTELPROFD_BIN (otelprofd on PATH), OTELPROFD_SIDECAR_LOG (otelprofd's
# stderr; default: this script's stderr), OTELPROFD_SIDECAR_STOP_TIMEOUT (10).
set -uo pipefail

[[ "${1:-}" == "--" ]] && shift
if [[ $# -eq 0 ]]; then
    echo "usage: sidecar.sh [--] COMMAND [ARGS...]   (otelprofd settings from OTELPROFD_* variables)" >&2
    exit 2
fi

bin="${OTELPROFD_BIN:-otelprofd}"
if ! command -v "$bin" >/dev/null; then
    echo "sidecar.sh: cannot run '$bin': install otelprofd or set OTELPROFD_BIN" >&2
    exit 2
fi
stop_timeout="${OTELPROFD_SIDECAR_STOP_TIMEOUT:-10}"
grpc="${OTELPROFD_OTLP_GRPC:-127.0.0.1:4317}"
mcp="${OTELPROFD_MCP_HTTP:-127.0.0.1:4319}"

# "0.0.0.0:4319" and "[::]:4319" are reached on loopback.
loopback() {
    local hp="$1"
    hp="${hp/#0.0.0.0:/127.0.0.1:}"
    echo "${hp/#\[::\]:/[::1]:}"
}

prof_pid="" svc_pid=""
stop_all() {
    local pid i
    for pid in $svc_pid $prof_pid; do kill -TERM "$pid" 2>/dev/null; done
    for ((i = 0; i < stop_timeout * 10; i++)); do
        local alive=0
        for pid in $svc_pid $prof_pid; do kill -0 "$pid" 2>/dev/null && alive=1; done
        [[ $alive -eq 0 ]] && break
        sleep 0.1
    done
    for pid in $svc_pid $prof_pid; do
        if kill -0 "$pid" 2>/dev/null; then
            echo "sidecar.sh: pid $pid ignored SIGTERM for ${stop_timeout}s; SIGKILL" >&2
            kill -KILL "$pid" 2>/dev/null
        fi
    done
}

stopping=0
on_signal() { stopping=1; }
trap on_signal TERM INT

if [[ -n "${OTELPROFD_SIDECAR_LOG:-}" ]]; then
    "$bin" serve 2>>"$OTELPROFD_SIDECAR_LOG" &
else
    "$bin" serve &
fi
prof_pid=$!

# Wait for /healthz (the MCP/HTTP API listener); with that listener off, for the process to
# have stayed up a moment.
ready=0
for ((i = 0; i < 100; i++)); do
    if ! kill -0 "$prof_pid" 2>/dev/null; then
        wait "$prof_pid"
        echo "sidecar.sh: otelprofd exited during start-up (status $?); see its log" >&2
        exit 1
    fi
    if [[ "$mcp" == off ]]; then
        [[ $i -ge 5 ]] && ready=1 && break
    elif [[ "$(curl -s --max-time 1 "http://$(loopback "$mcp")/healthz" 2>/dev/null)" == ok* ]]; then
        ready=1
        break
    fi
    [[ $stopping -eq 1 ]] && break
    sleep 0.1
done
if [[ $ready -ne 1 ]]; then
    echo "sidecar.sh: otelprofd did not answer http://$(loopback "$mcp")/healthz within 10 s" >&2
    stop_all
    exit 1
fi
echo "sidecar.sh: otelprofd (pid $prof_pid) ready: OTLP/gRPC $grpc, MCP http://$(loopback "$mcp")/mcp" >&2

if [[ $grpc != off && -z "${OTEL_EXPORTER_OTLP_ENDPOINT:-}" ]]; then
    OTEL_EXPORTER_OTLP_ENDPOINT="http://$(loopback "$grpc")"
    export OTEL_EXPORTER_OTLP_ENDPOINT
fi
"$@" &
svc_pid=$!
echo "sidecar.sh: service (pid $svc_pid) started: $*" >&2

# Until a signal arrives or one of the two exits.
while [[ $stopping -eq 0 ]]; do
    kill -0 "$svc_pid" 2>/dev/null || break
    kill -0 "$prof_pid" 2>/dev/null || break
    wait -n "$svc_pid" "$prof_pid" 2>/dev/null
done

if [[ $stopping -eq 1 ]]; then
    echo "sidecar.sh: signal received, stopping the service and otelprofd" >&2
elif ! kill -0 "$svc_pid" 2>/dev/null; then
    echo "sidecar.sh: the service exited, stopping otelprofd" >&2
else
    echo "sidecar.sh: otelprofd exited, stopping the service" >&2
fi
svc_dead_first=0
kill -0 "$svc_pid" 2>/dev/null || svc_dead_first=1
stop_all
wait "$svc_pid" 2>/dev/null
svc_rc=$?
wait "$prof_pid" 2>/dev/null
prof_rc=$?
echo "sidecar.sh: service exit status $svc_rc, otelprofd exit status $prof_rc" >&2
if [[ $stopping -eq 1 || $svc_dead_first -eq 1 ]]; then
    # Stopped on request, or the service ended on its own: report the service's status
    # (143 after our SIGTERM counts as a clean stop).
    [[ $stopping -eq 1 && $svc_rc -eq 143 ]] && exit 0
    exit "$svc_rc"
fi
exit 1
