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

# Every stage turns testing on explicitly (a build folder that scripts/run.sh configured
# has BUILD_TESTING=OFF cached, and the cached value would otherwise win) and makes ctest
# fail when it finds no test: a stage that runs nothing must never count as passed.
run_suite() {
    local dir=$1; shift
    # run_suite is called as `run_suite ... || status=1`, where bash ignores `set -e`
    # inside it: each step checks its own exit, or a failed build would test old binaries.
    if ! cmake -S . -B "$dir" -DBUILD_TESTING=ON -DOTELPROFD_WERROR=ON \
        -DOTELPROFD_TESTDATA="$testdata" "$@" >/dev/null ||
        ! cmake --build "$dir" -j"$jobs"; then
        stage_lines+=("$dir: build FAILED")
        return 1
    fi
    ctest_counted "$dir" --output-on-failure -j1 "${ctest_args[@]}"
}

# ctest_counted DIR ARGS...: runs ctest in DIR (failing when it finds no test) and adds
# its counts to the totals printed at the end; the stage's name is the folder.
passed_total=0 failed_total=0 stage_lines=()
ctest_counted() {
    local dir=$1; shift
    local log rc
    log=$(mktemp)
    (cd "$dir" && ctest --no-tests=error "$@") 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    local line ran=0 failed=0
    line=$(grep -E '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -1 || true)
    if [[ -n $line ]]; then
        failed=$(sed -E 's/.* ([0-9]+) tests? failed.*/\1/' <<<"$line")
        ran=$(sed -E 's/.*out of ([0-9]+).*/\1/' <<<"$line")
    fi
    rm -f "$log"
    if ((ran == 0 || failed > 0)); then rc=1; fi # no test ran: never a pass
    passed_total=$((passed_total + ran - failed)) failed_total=$((failed_total + failed))
    stage_lines+=("$dir: $((ran - failed)) of $ran passed")
    return $rc
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
# translate/, window/ and tools/, the receiver's shared byte budget, and the log's concurrent
# appenders sharing one fdatasync (the WAL's group commit, test_log_wal).
echo "== build/tsan: ThreadSanitizer, concurrent ingest + query =="
tsan_tests=(test_tools_concurrency test_window_concurrency test_receiver_budget test_log_wal)
if cmake -S . -B build/tsan -DBUILD_TESTING=ON -DOTELPROFD_WERROR=ON -DOTELPROFD_TESTDATA="$testdata" \
    -DCMAKE_BUILD_TYPE=Debug -DOTELPROFD_TSAN=ON >/dev/null &&
    cmake --build build/tsan -j"$jobs" --target "${tsan_tests[@]}"; then
    TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 ctest_counted build/tsan \
        --output-on-failure -j1 -R "^unit\.($(IFS='|'; echo "${tsan_tests[*]}"))\$" || status=1
else
    stage_lines+=("build/tsan: build FAILED")
    status=1
fi
if ((${#ctest_args[@]} == 0)); then
    echo "== fuzz: 30 s per target =="
    fuzz/run.sh 30 || status=1
fi
printf '%s\n' "${stage_lines[@]}"
if [[ $status != 0 ]]; then
    echo "test.sh: FAILED (see above)" >&2
else
    echo "test.sh: all suites passed"
fi
# The closing line CI reads: ctest's tests of every stage, added up.
echo "tests: $passed_total passed, $failed_total failed"
exit $status
