#!/usr/bin/env bash
# Installs what is missing, builds otelprofd (optimised) and starts it with working
# defaults: OTLP gRPC on 127.0.0.1:4317, OTLP/HTTP on 127.0.0.1:4318, HTTP API on
# 127.0.0.1:4319. Extra arguments go to `otelprofd serve` (try --help).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=OFF >/dev/null
cmake --build build/release -j"$(nproc 2>/dev/null || echo 2)" --target otelprofd >&2
exec build/release/otelprofd serve "$@"
