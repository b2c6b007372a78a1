#!/usr/bin/env bash
# Installs what is missing, builds otelprofd twice (optimised with warnings as errors, then
# with AddressSanitizer + UndefinedBehaviorSanitizer) and runs every test (unit and
# integration) in both builds with ctest, then runs every libFuzzer target for 30 s
# (fuzz/run.sh; skipped when ctest arguments select a subset).
#   scripts/test.sh            everything
#   scripts/test.sh -L unit    only tests with that ctest label (passed through to ctest)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

scripts/install-deps.sh --test
testdata=$(scripts/testdata.sh)
jobs=$(nproc 2>/dev/null || echo 2)

run_suite() {
    local dir=$1; shift
    cmake -S . -B "$dir" -DOTELPROFD_WERROR=ON -DOTELPROFD_TESTDATA="$testdata" "$@" >/dev/null
    cmake --build "$dir" -j"$jobs"
    (cd "$dir" && ctest --output-on-failure -j1 "${ctest_args[@]}")
}

ctest_args=("$@")
status=0
echo "== build/release: optimised, -Werror =="
run_suite build/release -DCMAKE_BUILD_TYPE=RelWithDebInfo || status=1
echo "== build/asan: AddressSanitizer + UndefinedBehaviorSanitizer =="
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    run_suite build/asan -DCMAKE_BUILD_TYPE=Debug -DOTELPROFD_SANITIZE=ON || status=1
if ((${#ctest_args[@]} == 0)); then
    echo "== fuzz: 30 s per target =="
    fuzz/run.sh 30 || status=1
fi
if [[ $status != 0 ]]; then
    echo "test.sh: FAILED (see above)" >&2
else
    echo "test.sh: all suites passed"
fi
exit $status
