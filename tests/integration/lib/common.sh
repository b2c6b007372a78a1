# shellcheck shell=bash
# common.sh — shared by tests/integration/test_*.sh (sourced, never run).
#
# Environment (set by ctest; defaults for running a script by hand from the repo):
#   OTELPROFD_BIN       the otelprofd binary
#   OTELPROFD_TESTDATA  the shared testdata folder (otlp/, expected/)
#   OTELPROFD_SRC       the repo root (node_modules live in tests/node_modules)
# Daemon helpers: daemon_start NAME [serve options...] sets NAME_PID, NAME_GRPC,
# NAME_HTTP, NAME_MCP (the ports the daemon bound) and NAME_LOG; every daemon is stopped by
# the EXIT trap.

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LIB="$HERE"
: "${OTELPROFD_SRC:=$(cd "$HERE/../../.." && pwd)}"
: "${OTELPROFD_BIN:=$OTELPROFD_SRC/build/otelprofd}"
: "${OTELPROFD_TESTDATA:=$OTELPROFD_SRC/../shared/testdata}"
export OTELPROFD_SRC OTELPROFD_BIN OTELPROFD_TESTDATA
TD="$OTELPROFD_TESTDATA"

PASSED=0
FAILED=0
DAEMONS=()
WORK="$(mktemp -d "${TMPDIR:-/tmp}/otelprofd-it.XXXXXX")"

die() {
    echo "FATAL: $*" >&2
    exit 1
}

pass() {
    PASSED=$((PASSED + 1))
    echo "ok   $*"
}

fail() {
    FAILED=$((FAILED + 1))
    echo "FAIL $*" >&2
}

# check DESCRIPTION COMMAND... : passes when the command exits 0.
check() {
    local desc="$1"
    shift
    if "$@"; then pass "$desc"; else fail "$desc"; fi
}

# expect_eq DESCRIPTION EXPECTED GOT
expect_eq() {
    if [[ "$2" == "$3" ]]; then pass "$1"; else fail "$1: expected '$2', got '$3'"; fi
}

# expect_contains DESCRIPTION NEEDLE HAYSTACK
expect_contains() {
    if [[ "$3" == *"$2"* ]]; then
        pass "$1"
    else
        fail "$1: expected to contain '$2', got '${3:0:400}'"
    fi
}

# is_asan_build: the binary links AddressSanitizer (its shadow memory and quarantine are not
# ours, so RSS bounds are looser). Not `ldd | grep -q`: grep exits at the first match, ldd
# gets SIGPIPE and, under pipefail, the pipeline reports failure at random.
is_asan_build() {
    [[ "$(ldd "$OTELPROFD_BIN" 2>/dev/null)" == *libasan* ]]
}

summary() {
    echo "$PASSED passed, $FAILED failed"
    [[ $FAILED -eq 0 ]]
}

need_tools() {
    [[ -x "$OTELPROFD_BIN" ]] || die "OTELPROFD_BIN=$OTELPROFD_BIN is not an executable"
    [[ -f "$TD/otlp/cpu.pb" ]] || die "OTELPROFD_TESTDATA=$TD has no otlp/cpu.pb"
    [[ -d "$OTELPROFD_SRC/tests/node_modules/@grpc/grpc-js" ]] ||
        die "no $OTELPROFD_SRC/tests/node_modules: run 'npm ci --prefix $OTELPROFD_SRC/tests'"
    command -v node >/dev/null || die "node is not installed"
    command -v curl >/dev/null || die "curl is not installed"
}

# free_ports N: prints N distinct loopback ports that were free a moment ago (the kernel
# picks them). Only for peers that cannot bind port 0 and report it: between this and their
# bind another process may take the port. otelprofd itself is started on port 0
# (daemon_start reads the bound ports from its log), which cannot collide.
free_ports() {
    node -e '
const net = require("net");
const n = Number(process.argv[1]); const servers = []; const ports = [];
(async () => {
  for (let i = 0; i < n; i++) {
    const s = net.createServer(); servers.push(s);
    await new Promise((r) => s.listen(0, "127.0.0.1", r));
    ports.push(s.address().port);
  }
  servers.forEach((s) => s.close());
  console.log(ports.join(" "));
})();' "$1"
}

# bound_port LOG WHAT: the port of otelprofd's "WHAT listening on HOST:PORT[ (TLS...)]" log
# line (WHAT: OTLP/gRPC, OTLP/HTTP, "MCP (/mcp) and HTTP API"); empty before it is logged,
# and before the log file exists (the child's redirection may not have run yet).
bound_port() {
    [[ -f "$1" ]] || return 0
    sed -n "s#^.*$2 listening on [^ ]*:\([0-9][0-9]*\)\( .*\)\{0,1\}\$#\1#p" "$1" | head -n 1
}

# daemon_wait_ready NAME PID LOG SCHEME [curl options...]: waits (up to 60 s: a sanitized
# binary on a loaded machine starts slowly) until the daemon has logged its MCP listener and
# answers /healthz there, then sets NAME_GRPC (host:port), NAME_HTTP and NAME_MCP (URLs)
# from the ports it logged.
daemon_wait_ready() {
    local name="$1" pid="$2" log="$3" scheme="$4" i mcp grpc http
    shift 4
    for ((i = 0; i < 600; i++)); do
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "--- $log:" >&2
            tail -n 30 "$log" >&2
            die "otelprofd serve ($name) exited during start-up"
        fi
        mcp="$(bound_port "$log" 'MCP (/mcp) and HTTP API')"
        if [[ -n "$mcp" && "$(curl -s --max-time 2 "$@" "$scheme://127.0.0.1:$mcp/healthz" 2>/dev/null)" == ok* ]]; then
            grpc="$(bound_port "$log" OTLP/gRPC)" http="$(bound_port "$log" OTLP/HTTP)"
            printf -v "${name}_GRPC" '%s' "127.0.0.1:$grpc"
            printf -v "${name}_HTTP" '%s' "$scheme://127.0.0.1:$http"
            printf -v "${name}_MCP" '%s' "$scheme://127.0.0.1:$mcp"
            echo "started $name (pid $pid): grpc $grpc, http $http, mcp $mcp"
            return 0
        fi
        sleep 0.1
    done
    tail -n 30 "$log" >&2
    die "otelprofd ($name) did not answer /healthz within 60 s"
}

cleanup() {
    local pid
    for pid in "${DAEMONS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${DAEMONS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    if [[ $FAILED -eq 0 && -z "${KEEP_WORK:-}" ]]; then rm -rf "$WORK"; else echo "(work files kept in $WORK)" >&2; fi
}
trap cleanup EXIT

# daemon_start NAME [options...]: starts `otelprofd serve` with every listener on loopback
# port 0 (the kernel picks a free one: no race with other tests for a port) and waits for
# /healthz. Options are appended to the listener options (a later --otlp-grpc ADDR wins).
daemon_start() {
    local name="$1"
    shift
    local log="$WORK/$name.log"
    "$OTELPROFD_BIN" serve --otlp-grpc 127.0.0.1:0 --otlp-http 127.0.0.1:0 \
        --mcp-http 127.0.0.1:0 "$@" 2>"$log" &
    local pid=$!
    DAEMONS+=("$pid")
    printf -v "${name}_PID" '%s' "$pid"
    printf -v "${name}_LOG" '%s' "$log"
    daemon_wait_ready "$name" "$pid" "$log" http
}

# daemon_stop NAME: SIGTERM, and the daemon must exit 0 within 10 s.
daemon_stop() {
    local name="$1" pidvar="${1}_PID" logvar="${1}_LOG"
    local pid="${!pidvar}" i rc
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        fail "$name exits within 10 s of SIGTERM"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rc=0
    wait "$pid" 2>/dev/null || rc=$?
    if [[ $rc -eq 0 ]]; then
        pass "$name exits 0 on SIGTERM"
    else
        fail "$name exits 0 on SIGTERM: exit status $rc (log: ${!logvar})"
        tail -n 20 "${!logvar}" >&2
    fi
    local kept=()
    for i in "${DAEMONS[@]}"; do [[ "$i" == "$pid" ]] || kept+=("$i"); done
    DAEMONS=("${kept[@]}")
}

# shifted FILE: prints the path of a copy of testdata FILE with its times moved to now.
shifted() {
    local out
    out="$WORK/shifted.$(basename "$1")"
    node "$LIB/otlp_time.mjs" "$1" "$out" || die "otlp_time.mjs failed on $1"
    echo "$out"
}

# http_post URL FILE CONTENT_TYPE [curl options...]: prints the HTTP status; the body is
# left in $WORK/body and the response headers in $WORK/headers.
http_post() {
    local url="$1" file="$2" ctype="$3"
    shift 3
    curl -sS --max-time 60 -o "$WORK/body" -D "$WORK/headers" -w '%{http_code}' \
        -H "Content-Type: $ctype" --data-binary "@$file" "$@" "$url" || echo "curl-error"
}

# response_json: the last HTTP response ($WORK/body) as {"partial_success":...} JSON.
response_json() {
    node "$LIB/otlp_response.mjs" "$WORK/body"
}

# metric NAME: the value of otelprofd_NAME (summed over label sets) from /metrics of $1.
metric() {
    curl -s --max-time 5 "$1/metrics" | awk -v n="otelprofd_$2" '
        $1 == n || index($1, n "{") == 1 { s += $NF; found = 1 }
        END { if (found) printf "%d\n", s; else print "absent" }'
}

# jget JSON PATH: a field of a JSON document ("partial_success.rejected_profiles"); "" if
# absent.
jget() {
    node -e '
let v = JSON.parse(process.argv[1]);
for (const k of process.argv[2].split(".")) v = v == null ? v : v[k];
console.log(v == null ? "" : typeof v === "object" ? JSON.stringify(v) : String(v));' "$1" "$2"
}

# rejected JSON: partial_success.rejected_profiles as a number (0 when absent).
rejected() {
    local r
    r="$(jget "$1" partial_success.rejected_profiles)"
    echo "${r:-0}"
}

# get_top BASE TYPE SELECTOR OUT: GET /debug/top into OUT; fails when not HTTP 200.
get_top() {
    local sel code
    sel="$(node -e 'console.log(encodeURIComponent(process.argv[1]))' "$3")"
    code="$(curl -sS --max-time 30 -o "$4" -w '%{http_code}' \
        "$1/debug/top?profile_type=$2&selector=$sel" || echo curl-error)"
    if [[ "$code" != 200 ]]; then
        echo "GET $1/debug/top?profile_type=$2&selector=$3 -> $code: $(head -c 300 "$4" 2>/dev/null)" >&2
        return 1
    fi
}

# make_pki DIR LABEL: a throwaway PKI in DIR for the TLS tests: two CAs (ca, other-ca), a
# server certificate of ca for localhost and 127.0.0.1 (server.pem/.key), a client
# certificate of ca (client.pem/.key) and one of other-ca (intruder.pem/.key). P-256 keys,
# valid two days; openssl's messages go to DIR/openssl.log.
make_pki() {
    local dir="$1" label="$2" ca
    mkdir -p "$dir"
    _pki_ossl() { openssl "$@" 2>>"$dir/openssl.log" || die "openssl $1 failed (see $dir/openssl.log)"; }
    _pki_key() { _pki_ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$dir/$1.key"; }
    # _pki_sign NAME CA SUBJECT EXTENSIONS: a certificate for NAME.key signed by CA
    _pki_sign() {
        printf '%b\n' "$4" >"$dir/$1.ext"
        _pki_ossl req -new -key "$dir/$1.key" -subj "$3" -out "$dir/$1.csr"
        _pki_ossl x509 -req -in "$dir/$1.csr" -CA "$dir/$2.pem" -CAkey "$dir/$2.key" \
            -CAcreateserial -days 2 -extfile "$dir/$1.ext" -out "$dir/$1.pem"
    }
    for ca in ca other-ca; do
        _pki_key "$ca"
        _pki_ossl req -x509 -new -key "$dir/$ca.key" -subj "/CN=$label $ca" -days 2 \
            -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" \
            -out "$dir/$ca.pem"
    done
    _pki_key server
    _pki_sign server ca /CN=localhost \
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth"
    _pki_key client
    _pki_sign client ca /CN=it-client "extendedKeyUsage=clientAuth"
    _pki_key intruder
    _pki_sign intruder other-ca /CN=it-intruder "extendedKeyUsage=clientAuth"
}
