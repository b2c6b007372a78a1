// pyroscope_check.mjs — what a Pyroscope SDK pushed (the bodies pyroscope_recorder.mjs
// captured) against what otelprofd answers over MCP (official SDK client): for each
// profile type, query_profile_table for the service equals `go tool pprof -top` over the
// pushed pprof files merged, value for value and in total; the named functions lead the
// table by cum; the labels of the name and X-Scope-OrgID are resource attributes.
//
// CLI: node pyroscope_check.mjs --url MCP_URL --pushes DIR --work DIR --service NAME
//        --expect-fn burnAlpha,burnBeta --tenant T --label region=eu-west
// Prints ok/FAIL lines; exit 0 when every check passed.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { checkTable, goPprof, newClient, Reporter, textOf } from './mcp_lib.mjs';

const o = {};
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) o[argv[i].replace(/^--/, '')] = argv[i + 1];
const r = new Reporter('pyroscope: ');

// The pprof of each captured push: the raw body, or the multipart part "profile".
function pprofOf(body, contentType) {
  const m = /boundary="?([^";]+)"?/i.exec(contentType ?? '');
  if (!/^multipart\/form-data/i.test(contentType ?? '') || !m) return body;
  const delim = Buffer.from(`\r\n--${m[1]}`);
  const text = Buffer.concat([Buffer.from('\r\n'), body]);
  let at = text.indexOf(delim);
  while (at >= 0) {
    const head = text.indexOf('\r\n\r\n', at);
    const next = text.indexOf(delim, head);
    if (head < 0 || next < 0) break;
    if (/name="profile"/.test(text.subarray(at, head).toString())) return text.subarray(head + 4, next);
    at = next;
  }
  throw new Error('multipart body without a profile part');
}

const files = [];
for (const f of readdirSync(o.pushes).filter((x) => x.endsWith('.json')).sort()) {
  const meta = JSON.parse(readFileSync(`${o.pushes}/${f}`, 'utf8'));
  const body = readFileSync(`${o.pushes}/${f.replace(/\.json$/, '.body')}`);
  r.eq(`${f}: otelprofd answered the SDK's push with 200`, 200, meta.upstream_status);
  const pp = pprofOf(body, meta.headers['content-type']);
  const out = `${o.work}/pushed.${files.length}.pb`;
  writeFileSync(out, pp[0] === 0x1f && pp[1] === 0x8b ? gunzipSync(pp) : pp);
  files.push(out);
}
r.check('the SDK pushed at least 3 profiles', files.length >= 3, `${files.length} pushes`);

// Sample types of the pushed profiles ("samples/count wall/nanoseconds cpu/nanoseconds").
const raw = goPprof(['-raw', files[0]], o.work);
const types = /^Samples:\n(.*)$/m.exec(raw)?.[1]?.trim().split(/\s+/) ?? [];
r.check('the pushed pprof has sample types', types.length > 0, raw.slice(0, 300));

const client = newClient('otelprofd-it-pyroscope');
await client.connect(new StreamableHTTPClientTransport(new URL(`${o.url}/mcp`)));
const call = (name, args) => client.callTool({ name, arguments: args });
const selector = `{service.name="${o.service}"}`;
for (const t of types) {
  const [si, unit] = t.split('/');
  const pt = `${si}:${unit}`;
  // go tool pprof merges the files; raw integer units, unit suffixes off as in goTop
  const top = goPprof(['-top', '-nodecount=100000', '-nodefraction=0', '-edgefraction=0', `-sample_index=${si}`, `-unit=${unit}`, ...files], o.work)
    .split('\n')
    .map((l) => l.replace(/^(\s*-?\d+)[a-zA-Z]*(\s+\S+%\s+\S+%\s+-?\d+)[a-zA-Z]*(\s+\S+%\s)/, '$1$2$3'))
    .map((l) => l.replace(/of (-?\d+)[a-zA-Z]* total/, 'of $1 total')) // so the totals are compared too
    .join('\n');
  const goTotal = /of (-?\d+) total/.exec(top)?.[1];
  r.check(`${pt}: go tool pprof states the pushed total`, goTotal !== undefined, top.slice(0, 300));
  const expFile = `${o.work}/expected.${si}.top.txt`;
  writeFileSync(expFile, top);
  const got = await checkTable(r, call, `query_profile_table ${pt} for ${o.service}`, { profile_type: pt, selector }, expFile);
  if (!got) continue;
  r.eq(`${pt}: the table's total == the pushed pprofs' total (go tool pprof)`, BigInt(goTotal ?? -1), got.total);
  // the named functions lead: each is among the top rows by cum (after the callers
  // every stack passes through: the event loop's frames and the round() driver)
  const byCum = [...got.rows].sort((a, b) => (b[1].cum > a[1].cum ? 1 : b[1].cum < a[1].cum ? -1 : 0)).map(([n]) => n);
  for (const fn of o['expect-fn'].split(',')) {
    const at = byCum.findIndex((n) => n.includes(fn));
    r.check(`${pt}: ${fn} is among the 10 largest functions by cum`, at >= 0 && at < 10, `rank ${at}: ${byCum.slice(0, 10).join(' | ')}`);
  }
}
const alpha = await call('query_profile_table', { profile_type: 'cpu:nanoseconds', selector, sort: 'cum', limit: 15 });
r.check('the table text names burnAlpha', /burnAlpha/.test(textOf(alpha)), textOf(alpha).slice(0, 400));

for (const [name, want] of [['tenant', o.tenant], ...o.label.split(',').map((kv) => kv.split('='))]) {
  const res = await call('list_label_values', { name });
  r.check(`label ${name} has the value ${want}`, textOf(res).includes(want) || JSON.stringify(res.structuredContent ?? {}).includes(want), textOf(res).slice(0, 300));
}
await client.close();
process.exit(r.summary() ? 0 : 1);
