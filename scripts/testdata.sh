#!/usr/bin/env bash
# Prints the folder of the shared test data: $OTELPROFD_TESTDATA, else ../shared/testdata
# beside the checkout, else /work/shared/testdata.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
for d in "${OTELPROFD_TESTDATA:-}" "$root/../shared/testdata" /work/shared/testdata; do
    if [[ -n "$d" && -f "$d/otlp/cpu.pb" ]]; then
        (cd "$d" && pwd)
        exit 0
    fi
done
echo "testdata: cannot find the shared test data (otlp/cpu.pb); set OTELPROFD_TESTDATA" >&2
exit 1
