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
import { readFileSync } from 'node:fs';
import { goPprof, newClient, Reporter, textOf } from './mcp_lib.mjs';
import { readLinked, topOf, totalsBy } from './otlp_links.mjs';

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

// ---- frame kinds and trace/span links on ebpf_style (host.name="node-c") ------------------
const ebpf = readLinked(readFileSync(o.ebpf), 'cpu:nanoseconds').samples;
const SEL = '{host.name="node-c"}';

// rows of a table answer (limit 10000) == an independent top, value for value
function sameTop(desc, res, exp) {
  const sc = res.structuredContent;
  if (!r.check(`${desc}: not an error`, !res.isError && sc, textOf(res).slice(0, 300))) return;
  const diffs = [];
  const got = new Map(sc.rows.map((x) => [x.function, x]));
  for (const [fn, v] of exp.rows) {
    if (v.flat === 0n && v.cum === 0n) continue;
    const g = got.get(fn);
    if (!g || BigInt(g.flat) !== v.flat || BigInt(g.cum) !== v.cum) diffs.push(`${fn}: expected ${v.flat}/${v.cum}, got ${g ? `${g.flat}/${g.cum}` : 'none'}`);
  }
  for (const fn of got.keys()) if (!exp.rows.has(fn)) diffs.push(`${fn}: not expected`);
  r.check(`${desc}: total ${exp.total} and ${exp.rows.size} functions == the OTLP bytes`, BigInt(sc.total) === exp.total && diffs.length === 0, `total ${sc.total}; ${diffs.slice(0, 5).join('; ')}`);
}

await r.step('frame kinds', async () => {
  const kinds = new Set(ebpf.flatMap((s) => s.frames.map((f) => f.kind)).filter((k) => k));
  r.check('ebpf_style carries profile.frame.type kinds', kinds.size >= 2, [...kinds].join(','));
  const all = await call('query_profile_table', { profile_type: 'cpu:nanoseconds', selector: SEL, limit: 10000 });
  sameTop('table (no filter)', all, topOf(ebpf));
  // each function's kind as the sender gave it
  const kindOf = new Map();
  for (const s of ebpf) for (const f of s.frames) if (!kindOf.has(f.fn)) kindOf.set(f.fn, f.kind);
  const wrong = (all.structuredContent?.rows ?? []).filter((x) => (x.frame_type ?? '') !== (kindOf.get(x.function) ?? ''));
  r.check('table rows carry each function\'s profile.frame.type', wrong.length === 0, wrong.slice(0, 3).map((x) => `${x.function}: ${x.frame_type}`).join('; '));
  r.check('table text has a kind column', /\{flat,flat%,cum,cum%,function,file,kind\}/.test(textOf(all)), textOf(all).slice(0, 300));
  for (const k of kinds) {
    const only = await call('query_profile_table', { profile_type: 'cpu:nanoseconds', selector: SEL, limit: 10000, frame_type: k });
    sameTop(`table frame_type=${k}`, only, topOf(ebpf, (f) => f.kind === k));
    const but = await call('query_profile_table', { profile_type: 'cpu:nanoseconds', selector: SEL, limit: 10000, frame_type: `!${k}` });
    sameTop(`table frame_type=!${k}`, but, topOf(ebpf, (f) => f.kind !== k));
    r.check(`table frame_type=!${k}: the header says so`, textOf(but).split('\n')[0].includes(`frame_type=!${k}`), textOf(but).split('\n')[0]);
    const fg = await call('query_profile_flamegraph', { profile_type: 'cpu:nanoseconds', selector: SEL, frame_type: `!${k}` });
    const rows = fg.structuredContent?.rows ?? [];
    const exp = topOf(ebpf, (f) => f.kind !== k);
    r.check(`flamegraph frame_type=!${k}: root == total, no row of kind ${k}, within ~4,000 tokens`,
      !fg.isError && BigInt(rows[0]?.cum ?? -1) === exp.total && rows.every((x) => x.frame_type !== k) && textOf(fg).length <= BUDGET,
      textOf(fg).slice(0, 300));
  }
  const bad = await call('query_profile_table', { profile_type: 'cpu:nanoseconds', frame_type: '!' });
  r.check('frame_type "!": isError that shows the syntax', bad.isError && /comma-separated/.test(textOf(bad)), textOf(bad));
});

await r.step('trace and span links', async () => {
  for (const [name, key] of [['trace_id', 'trace'], ['span_id', 'span']]) {
    const exp = totalsBy(ebpf, key);
    r.check(`ebpf_style has ${name} links`, exp.size >= 2, String(exp.size));
    const res = await call('list_label_values', { profile_type: 'cpu:nanoseconds', selector: SEL, name, limit: 1000 });
    const vals = res.structuredContent?.values ?? [];
    const diffs = [];
    for (const v of vals) if (exp.get(v.value) !== BigInt(v.total)) diffs.push(`${v.value}: expected ${exp.get(v.value)}, got ${v.total}`);
    const ranked = vals.every((v, i) => i === 0 || BigInt(vals[i - 1].total) >= BigInt(v.total));
    r.check(`list_label_values name=${name}: ${exp.size} values with totals == the OTLP bytes, heaviest first`, !res.isError && vals.length === exp.size && diffs.length === 0 && ranked, diffs.slice(0, 4).join('; ') || textOf(res).slice(0, 300));
    r.check(`list_label_values name=${name}: within ~4,000 tokens`, textOf(res).length <= BUDGET, `${textOf(res).length}`);
    const names = await call('list_labels', { profile_type: 'cpu:nanoseconds', selector: SEL });
    const row = (names.structuredContent?.labels ?? []).find((x) => x.name === name);
    r.check(`list_labels: ${name} listed at sample level with ${exp.size} values`, row && row.values === exp.size && row.level === 'sample', JSON.stringify(row));
    const top = [...exp.entries()].sort((a, b) => (b[1] > a[1] ? 1 : b[1] < a[1] ? -1 : 0)).slice(0, 2);
    for (const [id, total] of top) {
      const args = { profile_type: 'cpu:nanoseconds', selector: SEL, [name]: id.toUpperCase() };
      const linked = ebpf.filter((s) => s[key] === id);
      sameTop(`table ${name}=${id.slice(0, 8)}…`, await call('query_profile_table', { ...args, limit: 10000 }), topOf(linked));
      const fg = await call('query_profile_flamegraph', args);
      r.check(`flamegraph ${name}=${id.slice(0, 8)}…: root cum == ${total}`, !fg.isError && BigInt(fg.structuredContent?.rows?.[0]?.cum ?? -1) === total, textOf(fg).slice(0, 300));
      const ts = await call('query_profile_timeseries', args);
      const tsum = (ts.structuredContent?.groups ?? []).reduce((a, g) => a + BigInt(g.total), 0n);
      r.check(`timeseries ${name}=${id.slice(0, 8)}…: total == ${total}`, !ts.isError && tsum === total, textOf(ts).slice(0, 300));
      const hot = topOf(linked);
      const fn = [...hot.rows.entries()].sort((a, b) => (b[1].cum > a[1].cum ? 1 : -1)).find(([f]) => !f.startsWith('0x'))?.[0];
      const sw = await call('query_profile_sandwich', { ...args, function: fn });
      r.check(`sandwich ${name}=${id.slice(0, 8)}… ${fn}: flat/cum == the OTLP bytes`, !sw.isError && BigInt(sw.structuredContent?.flat ?? -1) === hot.rows.get(fn).flat && BigInt(sw.structuredContent?.cum ?? -1) === hot.rows.get(fn).cum, textOf(sw).slice(0, 300));
      const src = await call('query_profile_source', { ...args, function: fn, limit: 10000 });
      const lineCum = (src.structuredContent?.functions ?? [])[0]?.cum;
      r.check(`source ${name}=${id.slice(0, 8)}… ${fn}: function cum == the OTLP bytes`, !src.isError && BigInt(lineCum ?? -1) === hot.rows.get(fn).cum, textOf(src).slice(0, 300));
    }
  }
  const bad = await call('query_profile_table', { profile_type: 'cpu:nanoseconds', trace_id: 'xyz' });
  r.check('trace_id not 32 hex digits: isError that says the form', bad.isError && /32 hex digits/.test(textOf(bad)), textOf(bad));
  const none = await call('query_profile_table', { profile_type: 'cpu:nanoseconds', trace_id: '0'.repeat(32) });
  r.check('trace_id with no samples: an empty answer, not an error', !none.isError && /No samples in range/.test(textOf(none)), textOf(none));
});

await r.step('diff with a profile type per side', async () => {
  const res = await call('query_profile_diff', {
    profile_type: 'cpu:nanoseconds',
    selector: SEL,
    baseline: { profile_type: 'samples:count' },
    comparison: { profile_type: 'cpu:nanoseconds' },
  });
  const sc = res.structuredContent;
  const count = readLinked(readFileSync(o.ebpf), 'samples:count').samples.reduce((a, s) => a + s.value, 0n);
  const cpu = ebpf.reduce((a, s) => a + s.value, 0n);
  r.check('diff baseline samples:count vs comparison cpu:nanoseconds: each side\'s total and type',
    !res.isError && BigInt(sc?.baseline?.total ?? -1) === count && BigInt(sc?.comparison?.total ?? -1) === cpu &&
      sc.baseline.profile_type === 'samples:count' && sc.comparison.profile_type === 'cpu:nanoseconds',
    textOf(res).slice(0, 400));
  r.check('diff with two types: ranked by share (units differ), within ~4,000 tokens', /share/.test(textOf(res)) && textOf(res).length <= BUDGET, textOf(res).slice(0, 400));
  const bad = await call('query_profile_diff', { profile_type: 'cpu:nanoseconds', comparison: { profile_type: 'nope:x' } });
  r.check('diff: a side\'s unknown profile_type is an isError listing those present', bad.isError && /cpu:nanoseconds/.test(textOf(bad)), textOf(bad));
});

await r.step('guide and prompts teach table -> source and trace -> profile', async () => {
  const { resources } = await client.listResources();
  const uri = resources.find((x) => x.name === 'profiling-guide')?.uri;
  const g = await client.readResource({ uri });
  const md = g.contents?.[0]?.text ?? '';
  r.check('profiling-guide: teaches query_profile_source, trace_id ranking and filters, frame_type, per-side diff',
    /query_profile_source/.test(md) && /list_label_values[^\n]*trace_id/.test(md) && /"trace_id": "</.test(md) && /frame_type/.test(md) && /off_cpu:nanoseconds/.test(md), md.slice(0, 200));
  const { prompts } = await client.listPrompts();
  const it = prompts.find((x) => x.name === 'investigate_trace');
  r.check('prompts/list: investigate_trace with a required trace_id', it?.arguments?.some((a) => a.name === 'trace_id' && a.required), JSON.stringify(it));
  const top = [...totalsBy(ebpf, 'trace').entries()].sort((a, b) => (b[1] > a[1] ? 1 : -1))[0][0];
  const p = await client.getPrompt({ name: 'investigate_trace', arguments: { trace_id: top } });
  const t = p.messages.map((m) => m.content?.text ?? '').join('\n');
  r.check('prompts/get investigate_trace: names the trace, the table with trace_id and the source tool', t.includes(top) && /query_profile_table/.test(t) && /query_profile_source/.test(t), t.slice(0, 300));
  const hp = await client.getPrompt({ name: 'investigate_cpu_hotspots', arguments: { service_name: 'flate' } });
  r.check('prompts/get investigate_cpu_hotspots: goes on from the table to query_profile_source', hp.messages.some((m) => /query_profile_source/.test(m.content?.text ?? '')));
  const c = await client.complete({ ref: { type: 'ref/prompt', name: 'investigate_trace' }, argument: { name: 'trace_id', value: top.slice(0, 4) } });
  r.check('completion of trace_id: offers the traces present with that prefix', c.completion.values.includes(top), JSON.stringify(c.completion));
});

const ok = r.summary();
await client.close();
process.exit(ok ? 0 : 1);
