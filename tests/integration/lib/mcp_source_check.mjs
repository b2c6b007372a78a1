// mcp_source_check.mjs — the official MCP SDK client against a running `otelprofd serve`
// that was sent cpu.pb and ebpf_style.pb (test_mcp_lines_links_kinds.sh):
//   - query_profile_source rows == `go tool pprof -top -lines` restricted to the function's
//     rows (several functions, inlined ones included), value for value;
//   - frame kinds (profile.frame.type) in rows and the frame_type filter, against an
//     independent reading of the OTLP bytes (otlp_links.mjs);
//   - trace_id / span_id filters and list_label_values name=trace_id|span_id rankings ==
//     the same independent reading;
//   - query_profile_diff with a profile_type per side.
//
// CLI: node mcp_source_check.mjs --url http://127.0.0.1:PORT --td TESTDATA --work DIR
//        --ebpf SHIFTED_EBPF_PB
// Prints ok/FAIL lines; exit 0 when every check passed.
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { goPprof, newClient, Reporter, textOf } from './mcp_lib.mjs';

const o = {};
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) o[argv[i].replace(/^--/, '')] = argv[++i];
const r = new Reporter('mcp/lines: ');
const BUDGET = 16000; // ~4,000 tokens, as the tools promise

const client = newClient('otelprofd-it-lines');
try {
  await client.connect(new StreamableHTTPClientTransport(new URL(`${o.url}/mcp`)));
  r.ok('SDK connects');
} catch (e) {
  r.fail('SDK connects', e.message);
  r.summary();
  process.exit(1);
}

async function call(name, args) {
  return client.callTool({ name, arguments: args });
}

// ---- `go tool pprof -top -lines`: per (function, file:line) flat and cum -----------------
function pprofLines(file, sampleIndex) {
  const txt = goPprof(
    ['-top', '-lines', '-nodecount=1000000', '-nodefraction=0', '-edgefraction=0', `-sample_index=${sampleIndex}`, '-unit=nanoseconds', file],
    o.work,
  );
  const byFn = new Map();
  for (const line of txt.split('\n')) {
    // flat flat% sum% cum cum% name file:line [(inline)|(partial-inline)]
    const m = /^\s*(-?\d+)\w*\s+\S+%\s+\S+%\s+(-?\d+)\w*\s+\S+%\s+(\S+)\s+(\S+?):(\d+)(?:\s+\((?:partial-)?inline\))?\s*$/.exec(line);
    if (!m) continue;
    const [, flat, cum, fn, f, ln] = m;
    if (!byFn.has(fn)) byFn.set(fn, new Map());
    byFn.get(fn).set(`${f}:${ln}`, { flat: BigInt(flat), cum: BigInt(cum) });
  }
  return byFn;
}

async function checkSource(service, pprofFile, fns) {
  const lines = pprofLines(`${o.td}/pprof/${pprofFile}`, 'cpu');
  r.check(`${service}: go tool pprof -top -lines parsed`, lines.size > 20, `${lines.size} functions`);
  for (const fn of fns) {
    const exp = lines.get(fn);
    if (!r.check(`${service}: ${fn} is in pprof -lines`, exp && exp.size > 0)) continue;
    const res = await call('query_profile_source', {
      profile_type: 'cpu:nanoseconds',
      selector: `{service.name="${service}",host.name="node-a"}`,
      function: fn,
      limit: 10000,
    });
    const sc = res.structuredContent;
    if (!r.check(`${service}: source ${fn}: not an error`, !res.isError && sc, textOf(res).slice(0, 300))) continue;
    const got = new Map(sc.rows.map((x) => [`${x.file}:${x.line}`, { flat: BigInt(x.flat), cum: BigInt(x.cum) }]));
    const diffs = [];
    for (const [k, v] of exp) {
      const g = got.get(k);
      if (!g || g.flat !== v.flat || g.cum !== v.cum) diffs.push(`${k}: pprof ${v.flat}/${v.cum}, got ${g ? `${g.flat}/${g.cum}` : 'none'}`);
    }
    for (const k of got.keys()) if (!exp.has(k)) diffs.push(`${k}: not in pprof`);
    r.check(`${service}: source ${fn}: ${exp.size} lines == go tool pprof -top -lines (flat and cum)`, diffs.length === 0, diffs.slice(0, 5).join('; '));
    const f0 = sc.functions?.[0];
    const minLine = Math.min(...[...exp.keys()].map((k) => Number(k.split(':').pop())));
    r.check(
      `${service}: source ${fn}: header names the file and first line (${minLine}; Go 1.19 writes no start_line)`,
      f0 && f0.function === fn && f0.start_line === minLine && f0.start_line_known === false && sc.rows.every((x) => x.file === f0.file || true),
      JSON.stringify(f0),
    );
    const text = textOf(res);
    r.check(`${service}: source ${fn}: text names ${f0?.file}:${minLine}`, text.includes(`${f0?.file}:${minLine}`), text.slice(0, 400));
  }
}

await r.step('source lines vs go tool pprof -top -lines', async () => {
  // several functions of each profile, inlined ones included (writeByte, histogram and
  // tryWriteCopy are inlined into their callers: pprof marks their rows "(inline)")
  await checkSource('flate', 'compress_flate.cpu.pb.gz', [
    'compress/flate.(*decompressor).huffSym',
    'compress/flate.(*compressor).deflate',
    'compress/flate.(*compressor).findMatch',
    'compress/flate.(*dictDecoder).writeByte',
    'compress/flate.histogram',
    'compress/flate.(*dictDecoder).tryWriteCopy',
    'runtime.mallocgc',
  ]);
  await checkSource('json', 'encoding_json.cpu.pb.gz', [
    'encoding/json.checkValid',
    'encoding/json.(*decodeState).object',
    'encoding/json.stateInString',
  ]);
});

await r.step('source: regex, budget, errors', async () => {
  const res = await call('query_profile_source', {
    profile_type: 'cpu:nanoseconds',
    selector: '{service.name="flate"}',
    function_regex: '^compress/flate\\.',
  });
  const text = textOf(res);
  r.check('function_regex: several functions, within ~4,000 tokens', !res.isError && res.structuredContent.n_functions > 5 && text.length <= BUDGET, `${text.length} chars`);
  r.check('function_regex: says what it cut (lines shown of lines, other row)', /\d+ of \d+ lines shown/.test(text) && /\(other \d+ lines\)/.test(text), text.slice(0, 600));
  const nf = await call('query_profile_source', { profile_type: 'cpu:nanoseconds', function: 'huffSym' });
  r.check('unknown function: isError with similar names', nf.isError && /Similar names: .*huffSym/.test(textOf(nf)), textOf(nf));
  const both = await call('query_profile_source', { profile_type: 'cpu:nanoseconds' });
  r.check('neither function nor function_regex: isError that says what to give', both.isError && /function_regex/.test(textOf(both)), textOf(both));
});

const ok = r.summary();
await client.close();
process.exit(ok ? 0 : 1);
