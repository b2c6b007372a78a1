#!/usr/bin/env bash
# Installs what is missing, builds otelprofd twice (optimised with warnings as errors, then
# with AddressSanitizer + UndefinedBehaviorSanitizer) and runs every test (unit and
# integration) in both builds with ctest, runs the concurrent ingest + query tests under
# ThreadSanitizer (build/tsan), then runs every libFuzzer target for 30 s
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
# ThreadSanitizer sees races only in instrumented code: libgrpc and libmicrohttpd are not,
# and their threads hand data to ours in ways TSan cannot follow (false positives), so this
# stage runs only the tests whose threads are all ours: concurrent ingest + query through
# translate/, window/ and tools/, and the receiver's shared byte budget.
echo "== build/tsan: ThreadSanitizer, concurrent ingest + query =="
tsan_tests=(test_tools_concurrency test_window_concurrency test_receiver_budget)
if cmake -S . -B build/tsan -DOTELPROFD_WERROR=ON -DOTELPROFD_TESTDATA="$testdata" \
    -DCMAKE_BUILD_TYPE=Debug -DOTELPROFD_TSAN=ON >/dev/null &&
    cmake --build build/tsan -j"$jobs" --target "${tsan_tests[@]}"; then
    (cd build/tsan && TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
        ctest --output-on-failure -j1 -R "^unit\.($(IFS='|'; echo "${tsan_tests[*]}"))\$") || status=1
else
    status=1
fi
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
