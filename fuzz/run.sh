#!/usr/bin/env bash
# Builds the libFuzzer targets with clang and runs each for SECONDS (default 30) on a seed
# corpus made from the shared testdata, examples/profiles, fuzz/seeds and the kept corpus
# fuzz/corpus/<target>/. Prints the executions per target; exits non-zero when any target
# crashed (the input lands in fuzz/crashes/: minimize it with -minimize_crash=1 and turn it
# into a regression test).
#   fuzz/run.sh [SECONDS]           fuzz every target
#   fuzz/run.sh --merge [SECONDS]   then merge what the run found (inputs up to 16 KiB)
#                                   into fuzz/corpus/<target>/, minimized by coverage: the
#                                   ordinary test build replays that corpus (fuzz_replay.*)
set -euo pipefail
cd "$(dirname "$0")/.."
merge=0
if [[ ${1:-} == --merge ]]; then merge=1; shift; fi
secs=${1:-30}
testdata=$(scripts/testdata.sh)
build=build/fuzz
targets=(fuzz_otlp_protobuf fuzz_otlp_json fuzz_pprof fuzz_selector fuzz_time fuzz_mcp
         fuzz_receiver_codec fuzz_pyroscope)
CC=clang cmake -S . -B $build -DBUILD_FUZZERS=ON -DBUILD_TESTING=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build $build -j"$(nproc)" --target "${targets[@]}" >/dev/null
mkdir -p fuzz/crashes
seed() { # seed NAME FILES...: a fresh corpus dir each run, so runs are comparable
    local dir=$build/corpus/$1; shift
    rm -rf "$dir"; mkdir -p "$dir"; cp "$@" "$dir"/; echo "$dir"
}
failed=0
run() { # run TARGET CORPUS [extra libFuzzer args]
    local t=$1 c=$2; shift 2
    local log=$build/$t.log
    local rc=0
    local kept=fuzz/corpus/$t
    mkdir -p "$kept"
    # new inputs go to the first folder (the run's scratch corpus), never into the kept one
    $build/fuzz/$t "$c" "$kept" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=20 \
        -artifact_prefix=fuzz/crashes/$t- -print_final_stats=1 "$@" >"$log" 2>&1 || rc=$?
    local execs
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    if [[ $rc == 0 && ! ${execs:-0} -gt 0 ]]; then
        # a target that executed nothing tested nothing: count it as a failure
        echo "$t: FAILED (no executions recorded)"
        failed=1
    elif [[ $rc != 0 ]]; then
        echo "$t: FAILED (exit $rc, ${execs:-?} executions)"
        grep -E "ERROR|SUMMARY|Test unit written" "$log" | head -5
        failed=1
    else
        echo "$t: ok, ${execs:-?} executions in $secs s"
        if [[ $merge == 1 ]]; then
            local small=$build/corpus/$t.small
            rm -rf "$small"; mkdir -p "$small"
            find "$c" -maxdepth 1 -type f -size -16385c -exec cp {} "$small"/ \;
            $build/fuzz/$t -merge=1 "$kept" "$small" >"$log.merge" 2>&1 || true
            echo "$t: kept corpus $(find "$kept" -type f | wc -l) inputs, $(du -sk "$kept" | cut -f1) KiB"
        fi
    fi
}
pprof_seeds=$build/corpus/pprof_raw
rm -rf "$pprof_seeds"; mkdir -p "$pprof_seeds"
for f in examples/profiles/*.pb.gz; do # inflated copies too: mutations then hit the protobuf
    cp "$f" "$pprof_seeds"/; gzip -dc "$f" >"$pprof_seeds/$(basename "$f" .gz)"
done
run fuzz_otlp_protobuf "$(seed otlp_pb "$testdata"/otlp/*.pb)" -max_len=300000
run fuzz_otlp_json "$(seed otlp_json fuzz/seeds/otlp_json/* "$testdata"/otlp/ebpf_style.json)" -max_len=2000000
run fuzz_pprof "$pprof_seeds" -max_len=300000
run fuzz_selector "$(seed selector fuzz/seeds/selector/*)"
run fuzz_time "$(seed time fuzz/seeds/time/*)"
run fuzz_mcp "$(seed mcp fuzz/seeds/mcp/*)" -max_len=4096
run fuzz_receiver_codec "$(seed receiver_codec fuzz/seeds/receiver_codec/*)" -max_len=200000
run fuzz_pyroscope "$(seed pyroscope fuzz/seeds/pyroscope/*)" -max_len=200000
if [[ $failed != 0 ]]; then echo "fuzz: crashes found, inputs in fuzz/crashes/" >&2; exit 1; fi
echo "fuzz: all targets clean"
