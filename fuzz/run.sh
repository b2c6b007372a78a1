#!/usr/bin/env bash
# Builds the libFuzzer targets with clang and runs each for SECONDS (default 30) on a seed
# corpus made from the shared testdata. Crashes land in fuzz/crashes/ (turn each into a
# regression test).   fuzz/run.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-30}
testdata=$(scripts/testdata.sh)
build=build/fuzz
CC=clang cmake -S . -B $build -DBUILD_FUZZERS=ON -DBUILD_TESTING=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build $build -j"$(nproc)" --target fuzz_otlp_protobuf fuzz_otlp_json fuzz_selector
mkdir -p fuzz/crashes
seed() { # seed NAME FILES...
    local dir=$build/corpus/$1; shift
    mkdir -p "$dir"; cp "$@" "$dir"/ 2>/dev/null || true; echo "$dir"
}
run() { # run TARGET CORPUS [extra libFuzzer args]
    local t=$1 c=$2; shift 2
    echo "== $t ($secs s) =="
    $build/fuzz/$t "$c" -max_total_time="$secs" -rss_limit_mb=2048 -artifact_prefix=fuzz/crashes/$t- \
        -print_final_stats=1 "$@" 2>&1 | grep -E "^(stat::number_of_executed_units|stat::peak_rss_mb|#[0-9]+ +DONE)|ERROR|SUMMARY" || true
}
run fuzz_otlp_protobuf "$(seed otlp_pb "$testdata"/otlp/*.pb)" -max_len=300000
run fuzz_otlp_json "$(seed otlp_json "$testdata"/otlp/ebpf_style.json)" -max_len=2000000
printf '%s\n' '{service.name="flate"}' '{a=~"x.*",b!~"y",c!=""}' > /tmp/sel_seed.txt
run fuzz_selector "$(seed selector /tmp/sel_seed.txt)"
if compgen -G "fuzz/crashes/*" >/dev/null; then echo "fuzz: crashes found in fuzz/crashes/" >&2; exit 1; fi
