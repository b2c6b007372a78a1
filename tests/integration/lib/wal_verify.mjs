// wal_verify.mjs — checks a profile against what wal_load.mjs senders were told.
//
// CLI: node wal_verify.mjs SOURCE WORKDIR RESULT.json... [--lost N]
//   SOURCE is anything `go tool pprof` reads (the daemon's /api/pprof URL). Every acked
//   request must be there exactly once (flat of req_ID = 1), every refused one absent,
//   every unknown one (no answer: the connection broke) there at most once, and no other
//   req_ID present. With --lost N, exactly N acked requests may be missing (a record that
//   was deliberately damaged on disk). Prints one JSON line; exit 1 on any difference.
import { goTop } from './mcp_lib.mjs';

const argv = process.argv.slice(2);
let lost = 0;
const files = [];
for (let i = 2; i < argv.length; i++) {
  if (argv[i] === '--lost') lost = Number(argv[++i]);
  else files.push(argv[i]);
}
const { readFileSync } = await import('node:fs');
const acked = new Set(), unknown = new Set(), refused = new Set();
for (const f of files) {
  const r = JSON.parse(readFileSync(f, 'utf8'));
  r.acked.forEach((id) => acked.add(id));
  r.unknown.forEach((id) => unknown.add(id));
  r.refused.forEach((id) => refused.add(id));
}
const top = goTop(argv[0], argv[1], ['-unit=nanoseconds']);
const problems = [];
const seen = new Map();
for (const [name, row] of top.rows) {
  const m = /^req_(\d+)$/.exec(name);
  if (!m) continue;
  seen.set(Number(m[1]), row.flat);
}
let missing = 0, unknownKept = 0;
for (const id of acked) {
  const v = seen.get(id);
  if (v === undefined) missing++;
  else if (v !== 1n) problems.push(`req_${id}: acknowledged once, stored ${v} times`);
}
if (missing !== lost) problems.push(`${missing} acknowledged requests missing (expected ${lost})`);
for (const [id, v] of seen) {
  if (acked.has(id)) continue;
  if (refused.has(id)) problems.push(`req_${id}: refused, but stored ${v} times`);
  else if (unknown.has(id)) {
    if (v !== 1n) problems.push(`req_${id}: unanswered, stored ${v} times`);
    else unknownKept++;
  } else problems.push(`req_${id}: never sent, stored ${v} times`);
}
console.log(JSON.stringify({ acked: acked.size, refused: refused.size, unknown: unknown.size, unknown_kept: unknownKept, missing, stored: seen.size, problems: problems.slice(0, 10) }));
process.exit(problems.length ? 1 : 0);
