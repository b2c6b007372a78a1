#!/usr/bin/env bash
# Proves each lint check can fail: runs it over tests/lint/fixture/, which breaks every
# rule once, and expects exactly those findings. The fixture's files end in .in, so no
# formatter or linter of the repository itself trips over them; they are copied, without
# the suffix, into a scratch folder (with the repository's .clang-format) and linted there.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
fixture=$(mktemp -d)
trap 'rm -rf "$fixture"' EXIT
(cd "$here/fixture" && find . -type f -name '*.in') | while read -r f; do
    mkdir -p "$fixture/$(dirname "$f")"
    cp "$here/fixture/$f" "$fixture/${f%.in}"
done
cp "$here/../../.clang-format" "$fixture/"
fail=0
expect() { # expect CHECK PATTERN [ARGS...]: the check exits 1 and prints PATTERN
    local check=$1 pattern=$2; shift 2
    local out rc
    out=$(node "$here/lint.mjs" "$fixture" "$check" "$@" 2>&1); rc=$?
    if [[ $rc == 1 ]] && grep -qE "$pattern" <<<"$out"; then
        echo "ok: $check finds: $(grep -E "$pattern" <<<"$out" | head -1)"
    else
        echo "FAIL: $check (exit $rc) did not report /$pattern/:"; echo "$out"; fail=1
    fi
}
expect internal "window/store.c:2: includes query/'s internal header"
expect limits "says 4,096 for WIN__MAX_DEPTH, the code .* says 16384"
expect format "window/store.c: clang-format disagrees"
# the right value passes: 2^20 for (1u << 20) must not be reported
if node "$here/lint.mjs" "$fixture" limits | grep -q WIN__MAX_RING; then
    echo "FAIL: limits reported a correct 2^20"; fail=1
fi
obj=$(mktemp -d)
printf 'int win_ok(void) { return 1; }\nint stray_helper(void) { return 2; }\n' >"$obj/w.c"
cc -c "$obj/w.c" -o "$obj/w.o" && ar rcs "$obj/libw.a" "$obj/w.o"
expect symbols "global symbol stray_helper lacks the prefix win_" "window=$obj/libw.a"
rm -rf "$obj"
if [[ $fail == 0 ]]; then echo "lint self-test: every check fails on its fixture"; fi
exit $fail
