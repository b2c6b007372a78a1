#!/usr/bin/env bash
# test_pyroscope.sh — Pyroscope SDK pushes (POST /ingest) into otelprofd.
#
# A real Node.js program (examples/pyroscope/burn.mjs) burns CPU in burnAlpha and burnBeta
# under the Grafana Pyroscope SDK (@pyroscope/nodejs, pinned in tests/package-lock.json),
# uploading every second for 4 s through an independent HTTP recorder
# (lib/pyroscope_recorder.mjs) that keeps each pushed body and forwards it to otelprofd.
# Then the official MCP SDK (lib/pyroscope_check.mjs): for every sample type the pprof
# carried, query_profile_table for the service equals `go tool pprof -top` over the pushed
# pprof files, value for value; burnAlpha and burnBeta lead by cum; the SDK's tags and its
# X-Scope-OrgID are labels. Then hostile pushes with curl (a web page's form POST, bad
# gzip, truncated pprof, format=jfr, no format on a raw body, too many labels, an oversized
# name, a bad label name, no name, a multipart body without its profile part, prev_profile, bad time): each a
# clear 4xx naming the problem, the daemon healthy, and a good push afterwards stored,
# raw and as multipart, with a bearer token and a tenant. Last, --max-message-size holds for
# the inflated pprof (a gzip bomb in a small body) and for the body itself (413).
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
need_tools
command -v go >/dev/null || die "go is not installed (go tool pprof is the reference)"
[[ -d "$OTELPROFD_SRC/tests/node_modules/@pyroscope/nodejs" ]] ||
    die "no @pyroscope/nodejs: run 'npm ci --prefix $OTELPROFD_SRC/tests'"

daemon_start S

# ---- the Node.js SDK through the recorder ------------------------------------------------
mkdir -p "$WORK/pushes"
node "$LIB/pyroscope_recorder.mjs" "$WORK/pushes" "$S_HTTP" >"$WORK/recorder.port" 2>"$WORK/recorder.err" &
REC_PID=$!
for ((i = 0; i < 100; i++)); do [[ -s "$WORK/recorder.port" ]] && break; sleep 0.1; done
REC_PORT="$(cat "$WORK/recorder.port")"
[[ -n "$REC_PORT" ]] || die "the recorder did not start: $(cat "$WORK/recorder.err")"

# burn.mjs imports @pyroscope/nodejs: a copy in $WORK beside a link to tests/node_modules
mkdir -p "$WORK/app"
cp "$OTELPROFD_SRC/examples/pyroscope/burn.mjs" "$WORK/app/burn.mjs"
ln -s "$OTELPROFD_SRC/tests/node_modules" "$WORK/app/node_modules"
set +e
PYROSCOPE_SERVER_ADDRESS="http://127.0.0.1:$REC_PORT" PYROSCOPE_FLUSH_MS=1000 \
    PYROSCOPE_APP=node-burn PYROSCOPE_TENANT=team-a PYROSCOPE_AUTH_TOKEN=glc_sometoken \
    timeout 60 node "$WORK/app/burn.mjs" 4 >"$WORK/burn.out" 2>&1
RC=$?
set -e
kill "$REC_PID" 2>/dev/null || true
wait "$REC_PID" 2>/dev/null || true
expect_eq "burn.mjs under @pyroscope/nodejs exits 0" 0 "$RC"
[[ $RC -eq 0 ]] || cat "$WORK/burn.out" >&2
check "the SDK's pushes carry X-Scope-OrgID" grep -q '"x-scope-orgid": "team-a"' "$WORK/pushes/push0.json"
check "the SDK's pushes carry the bearer token (accepted)" \
    grep -q '"authorization": "Bearer glc_sometoken"' "$WORK/pushes/push0.json"
check "the SDK's pushes carry name=node-burn{...}" grep -q 'name=node-burn%7B' "$WORK/pushes/push0.json"

check "MCP table per sample type == go tool pprof -top of the pushed pprofs" \
    node "$LIB/pyroscope_check.mjs" --url "$S_MCP" --pushes "$WORK/pushes" --work "$WORK" \
    --service node-burn --expect-fn burnAlpha,burnBeta --tenant team-a \
    --label region=eu-west,version=1.2.3

# ---- hostile pushes -------------------------------------------------------------------------
PP="$TD/pprof/compress_flate.cpu.pb.gz"
NOW="$(date +%s)"
zcat "$PP" >"$WORK/plain.pb"
head -c 2000 "$WORK/plain.pb" >"$WORK/truncated.pb"
head -c 500 "$PP" >"$WORK/truncated.gz"
printf '\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03garbage-not-deflate' >"$WORK/bad.gz"

# ingest QUERY FILE [curl options...]: POST the file raw to /ingest?QUERY; prints the status.
ingest() {
    local q="$1" f="$2"
    shift 2
    curl -sS --max-time 30 -o "$WORK/body" -w '%{http_code}' -H 'Content-Type: application/octet-stream' \
        --data-binary "@$f" "$@" "$S_HTTP/ingest?$q" || echo curl-error
}
# hostile DESC STATUS NEEDLE QUERY FILE [curl options...]
hostile() {
    local desc="$1" want="$2" needle="$3"
    shift 3
    local code
    code="$(ingest "$@")"
    expect_eq "$desc: $want" "$want" "$code"
    expect_contains "$desc: the answer says why" "$needle" "$(cat "$WORK/body")"
    check "$desc: daemon healthy after" curl -sS --fail --max-time 5 -o /dev/null "$S_MCP/healthz"
}
labels="$(for i in $(seq 1 65); do printf 'k%d=v,' "$i"; done)"
longname="$(head -c 5000 /dev/zero | tr '\0' a)"
hostile "bad gzip" 400 "bad gzip" "name=h&format=pprof&from=$NOW" "$WORK/bad.gz"
hostile "truncated gzip" 400 "gzip stream is truncated" "name=h&format=pprof&from=$NOW" "$WORK/truncated.gz"
hostile "truncated pprof" 400 "not a pprof profile" "name=h&format=pprof&from=$NOW" "$WORK/truncated.pb"
hostile "format=jfr" 415 "format=pprof" "name=h&format=jfr&from=$NOW" "$PP"
hostile "format=trie" 415 'format "trie" is not supported' "name=h&format=trie" "$PP"
hostile "raw body without format= (Pyroscope's groups format)" 415 "groups" "name=h" "$PP"
hostile "65 labels" 400 "more than 64 labels" "name=h%7B${labels%,}%7D&format=pprof" "$PP"
hostile "a 5000-byte name" 400 "more than 4096" "name=$longname&format=pprof" "$PP"
hostile "a label name with a space inside" 400 "label name" "name=h%7Bbad%20key%3Dv%7D&format=pprof" "$PP"
hostile "no name" 400 "missing name" "format=pprof&from=$NOW" "$PP"
hostile "from=yesterday" 400 "from" "name=h&format=pprof&from=yesterday" "$PP"
code="$(curl -sS --max-time 30 -o "$WORK/body" -w '%{http_code}' -F "other=@$PP" "$S_HTTP/ingest?name=h")"
expect_eq "multipart without a profile part: 400" 400 "$code"
expect_contains "multipart without a profile part: says so" 'no part named "profile"' "$(cat "$WORK/body")"
code="$(curl -sS --max-time 30 -o "$WORK/body" -w '%{http_code}' -F "profile=@$PP" -F "prev_profile=@$PP" "$S_HTTP/ingest?name=h")"
expect_eq "prev_profile (refused by Pyroscope too): 400" 400 "$code"
expect_contains "prev_profile: says to update the SDK" "prev_profile" "$(cat "$WORK/body")"
code="$(curl -sS --max-time 30 -o "$WORK/body" -w '%{http_code}' -X GET "$S_HTTP/ingest?name=h")"
expect_eq "GET /ingest: 405" 405 "$code"
# a huge URL: libmicrohttpd refuses it before our code sees it
code="$(curl -sS --max-time 30 -o /dev/null -w '%{http_code}' -H 'Content-Type: application/octet-stream' \
    --data-binary "@$PP" "$S_HTTP/ingest?name=h%7B$(head -c 40000 /dev/zero | tr '\0' a)%3Dv%7D&format=pprof")"
check "a 40 KB query string: refused with a 4xx ($code)" test "${code:0:1}" = 4
# a web page's form POST (multipart/form-data needs no CORS preflight, so any page the user
# visits could send it): refused, on /ingest and on the OTLP path; a page on this machine
# (a loopback Origin) and a sender without Origin (every SDK and collector) are not
code="$(curl -sS --max-time 30 -o "$WORK/body" -w '%{http_code}' -H 'Origin: https://attacker.example' \
    -F "profile=@$PP" "$S_HTTP/ingest?name=webpage")"
expect_eq "a web page's form POST to /ingest (Origin https://attacker.example): 403" 403 "$code"
expect_contains "the refusal names the page's Origin" 'web page at Origin "https://attacker.example"' "$(cat "$WORK/body")"
code="$(curl -sS --max-time 30 -o /dev/null -w '%{http_code}' -H 'Origin: http://rebind.attacker.example:4318' \
    -H 'Content-Type: application/x-protobuf' --data-binary "@$OTELPROFD_TESTDATA/otlp/cpu.pb" \
    "$S_HTTP/v1development/profiles")"
expect_eq "a DNS-rebound page's OTLP POST (Origin of its own name): 403" 403 "$code"
code="$(curl -sS --max-time 30 -o /dev/null -w '%{http_code}' -H 'Origin: http://localhost:3000' \
    -F "profile=@$PP" "$S_HTTP/ingest?name=localpage&from=$NOW")"
expect_eq "a page on this machine (Origin http://localhost:3000): not refused (200)" 200 "$code"
check "daemon healthy after the hostile pushes" curl -sS --fail --max-time 5 -o /dev/null "$S_MCP/healthz"
"$OTELPROFD_BIN" query list_label_values '{"name":"service.name"}' --connect "$S_MCP/mcp" --json \
    >"$WORK/services.json" 2>&1 || true
expect_contains "the services stored so far: node-burn" '"node-burn"' "$(cat "$WORK/services.json")"
check "nothing of the hostile pushes was stored (no service h)" \
    bash -c "! grep -q '\"h\"' '$WORK/services.json'"
check "nothing of the web page's push was stored (no service webpage)" \
    bash -c "! grep -q '\"webpage\"' '$WORK/services.json'"

# ---- good pushes afterwards ------------------------------------------------------------------
# compress_flate.cpu.pb.gz carries its 2023 time_nanos, which wins over from= (as in
# Pyroscope): the raw push is accepted with the retention warning. A copy without
# time_nanos, pushed as multipart, lands at from= (now) and is stored.
code="$(ingest "name=after.cpu%7Benv%3Dprod%7D&format=pprof&from=$NOW&until=$NOW" "$PP")"
expect_eq "good raw push after the hostile ones: 200" 200 "$code"
expect_contains "a 2023 pprof: 200 says the samples were older than the retention" "older than the retention" "$(cat "$WORK/body")"
node -e '
// the same profile with time_nanos (field 9) removed: times come from from=
const fs = require("fs"), zlib = require("zlib");
const b = zlib.gunzipSync(fs.readFileSync(process.argv[1]));
const out = []; let i = 0;
const varint = () => { let v = 0n, s = 0n; for (;;) { const c = b[i++]; v |= BigInt(c & 0x7f) << s; s += 7n; if (!(c & 0x80)) return v; } };
while (i < b.length) {
  const start = i; const key = Number(varint()); const wt = key & 7;
  if (wt === 0) varint(); else if (wt === 2) { const n = Number(varint()); i += n; } else if (wt === 1) i += 8; else if (wt === 5) i += 4; else throw new Error("wire type " + wt);
  if ((key >> 3) !== 9) out.push(b.subarray(start, i));
}
fs.writeFileSync(process.argv[2], Buffer.concat(out));' "$PP" "$WORK/notime.pb"
code="$(curl -sS --max-time 30 -o "$WORK/body" -w '%{http_code}' -H 'Authorization: Bearer xyz' \
    -H 'X-Scope-OrgID: team-b' -F "profile=@$WORK/notime.pb" \
    "$S_HTTP/ingest?name=after.cpu%7Benv%3Dprod%7D&from=$NOW&until=$NOW&spyName=gospy")"
expect_eq "good multipart push with a bearer token and a tenant: 200" 200 "$code"
expect_eq "good multipart push: empty answer (everything stored)" "" "$(cat "$WORK/body")"
sel="$(node -e 'console.log(encodeURIComponent(process.argv[1]))' '{service.name="after",tenant="team-b",env="prod"}')"
check "after.cpu is stored as service.name=after with tenant and env labels" \
    curl -sS --fail --max-time 10 -o "$WORK/after.pb.gz" "$S_MCP/api/pprof?profile_type=cpu:nanoseconds&selector=$sel"
# total_of FILE [pprof options...]: the "of N total" of go tool pprof -top, units dropped
total_of() {
    local f="$1"
    shift
    HOME="$WORK" PPROF_TMPDIR="$WORK" go tool pprof -top -nodecount=1 "$@" "$f" 2>/dev/null |
        sed -n 's/.* of \([0-9][0-9]*\)[a-z]* total.*/\1/p'
}
a="$(total_of "$PP" -sample_index=cpu -unit=nanoseconds)"
b="$(total_of "$WORK/after.pb.gz" -unit=nanoseconds)"
check "after: go tool pprof states a total for the pushed pprof ($a)" test -n "$a"
expect_eq "after: the stored cpu total equals the pushed pprof's (go tool pprof)" "$a" "$b"
check "/metrics counts the failed pushes" test "$(metric "$S_MCP" failed_requests_total)" -ge 13

daemon_stop S

# ---- the OTLP size limit applies to the inflated pprof: a 1 MiB gzip bomb in a small body ----
daemon_start L --max-message-size 64KiB
head -c $((1 << 20)) /dev/zero | gzip -c >"$WORK/bomb.gz"
code="$(curl -sS --max-time 30 -o "$WORK/body" -w '%{http_code}' -F "profile=@$WORK/bomb.gz" \
    "$L_HTTP/ingest?name=bomb")"
expect_eq "a pprof that inflates past --max-message-size: 413" 413 "$code"
expect_contains "413 names the limit" "inflates to more than --max-message-size" "$(cat "$WORK/body")"
code="$(curl -sS --max-time 30 -o "$WORK/body" -w '%{http_code}' -H 'Content-Type: application/octet-stream' \
    --data-binary "@$TD/pprof/encoding_json.cpu.pb.gz" "$L_HTTP/ingest?name=big&format=pprof")"
expect_eq "a 66 KB body over a 64 KiB --max-message-size: 413" 413 "$code"
check "L healthy after" curl -sS --fail --max-time 5 -o /dev/null "$L_MCP/healthz"
daemon_stop L
summary
