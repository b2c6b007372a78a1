// mcp_lib.mjs — shared by the MCP integration checks (mcp_http_check.mjs,
// mcp_stdio_check.mjs): a pass/fail reporter, the official SDK client, independent
// oracles (`go tool pprof -top` / `-peek` answers, the OTLP wire reader) and the tool suite
// that calls every tool of DESIGN.md and checks the answers value for value.
//
// Nothing here uses otelprofd's C code: the SDK speaks MCP, Ajv (the SDK's own dependency,
// a separate instance) validates structuredContent, `go tool pprof` is the reference.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { compareTop, parseTop } from './compare_top.mjs';
import { profileTotals } from './otlp_top.mjs';

export const TOOL_NAMES = [
  'get_status',
  'list_profile_types',
  'list_labels',
  'list_label_values',
  'query_profile_table',
  'query_profile_flamegraph',
  'query_profile_sandwich',
  'query_profile_diff',
  'query_profile_timeseries',
  'export_pprof',
  'query_profile_source',
];

// ---- reporting ------------------------------------------------------------------------
export class Reporter {
  constructor(prefix) {
    this.prefix = prefix;
    this.passed = 0;
    this.failed = 0;
  }
  ok(desc) {
    this.passed++;
    console.log(`ok   ${this.prefix}${desc}`);
  }
  fail(desc, detail) {
    this.failed++;
    console.error(`FAIL ${this.prefix}${desc}${detail ? `: ${detail}` : ''}`);
  }
  check(desc, cond, detail) {
    if (cond) this.ok(desc);
    else this.fail(desc, typeof detail === 'function' ? detail() : detail);
    return !!cond;
  }
  eq(desc, expected, got) {
    const e = typeof expected === 'bigint' ? expected.toString() : JSON.stringify(expected);
    const g = typeof got === 'bigint' ? got.toString() : JSON.stringify(got);
    return this.check(desc, e === g, `expected ${e}, got ${g}`);
  }
  // Runs fn; an exception is one failure (the check could not run), never a crash.
  async step(desc, fn) {
    try {
      return await fn();
    } catch (e) {
      this.fail(desc, `threw ${e?.code !== undefined ? `[${e.code}] ` : ''}${e?.message ?? e}`);
      return undefined;
    }
  }
  summary() {
    console.log(`${this.prefix}${this.passed} passed, ${this.failed} failed`);
    return this.failed === 0;
  }
}

export function newClient(name) {
  return new Client({ name, version: '0.0.0' }, { capabilities: {} });
}

// ---- result access ----------------------------------------------------------------------
export function textOf(res) {
  return (res?.content ?? [])
    .filter((c) => c.type === 'text')
    .map((c) => c.text)
    .join('\n');
}

// The first of `names` that `obj` has (structured field names are checked, not guessed:
// a miss is reported with the keys that are there).
export function field(obj, ...names) {
  if (obj == null || typeof obj !== 'object') return undefined;
  for (const n of names) if (n in obj) return obj[n];
  return undefined;
}

export function big(v) {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isSafeInteger(v)) return BigInt(v);
  if (typeof v === 'string' && /^-?\d+$/.test(v)) return BigInt(v);
  throw new Error(`not an integer: ${JSON.stringify(v)}`);
}

// Rows of a flame-graph-shaped structured object: {rows:[...]} or the array itself.
export function rowsOf(x) {
  if (Array.isArray(x)) return x;
  if (x && Array.isArray(x.rows)) return x.rows;
  return undefined;
}

// ---- independent oracles ----------------------------------------------------------------
export function pprofEnv(work) {
  return { ...process.env, PPROF_TMPDIR: work, HOME: work, PPROF_BINARY_PATH: work };
}

export function goPprof(args, work) {
  return execFileSync('go', ['tool', 'pprof', ...args], {
    env: pprofEnv(work),
    encoding: 'utf8',
    maxBuffer: 64 << 20,
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 120000,
  });
}

// `go tool pprof -top` of a profile (file or URL), raw integer units.
export function goTop(source, work, extra = []) {
  const txt = goPprof(['-top', '-nodecount=100000', '-nodefraction=0', '-edgefraction=0', ...extra, source], work);
  // Unit suffixes off the flat and cum columns, as in testdata/expected.
  const bare = txt
    .split('\n')
    .map((l) => l.replace(/^(\s*-?\d+)[a-zA-Z]*(\s+\S+%\s+\S+%\s+-?\d+)[a-zA-Z]*(\s+\S+%\s)/, '$1$2$3'))
    .join('\n');
  return parseTop(bare, `go tool pprof -top ${source}`);
}

// Escapes a function name for pprof's regexp (Go RE2 syntax).
export function reEscape(s) {
  return s.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&');
}

// `go tool pprof -peek '^name$'`: {flat, cum, callers: Map, callees: Map} (BigInt).
export function goPeek(file, name, unit, work) {
  const txt = goPprof(
    ['-peek', `^${reEscape(name)}$`, `-unit=${unit}`, '-nodecount=100000', '-nodefraction=0', '-edgefraction=0', file],
    work,
  );
  const num = (s) => BigInt(s.replace(/[a-zA-Z]+$/, ''));
  const clean = (s) => s.trim().replace(/ \((partial-)?inline\)$/, '');
  const out = { flat: null, cum: null, callers: new Map(), callees: new Map() };
  let seen = 0;
  for (const line of txt.split('\n')) {
    if (/^-+\+-+$/.test(line)) {
      if (out.flat !== null) seen++;
      continue;
    }
    const center = /^\s*(\S+)\s+\S+%\s+\S+%\s+(\S+)\s+\S+%\s+\|\s(.+)$/.exec(line);
    if (center && !/flat%/.test(line)) {
      if (clean(center[3]) !== name) throw new Error(`peek block for ${clean(center[3])}, not ${name}`);
      out.flat = num(center[1]);
      out.cum = num(center[2]);
      continue;
    }
    const edge = /^\s+(\S+)\s+\S+%\s+\|\s+(.+)$/.exec(line);
    if (edge && seen === 0) {
      (out.flat === null ? out.callers : out.callees).set(clean(edge[2]), num(edge[1]));
    }
  }
  if (out.flat === null) throw new Error(`go tool pprof -peek found no block for ${name}:\n${txt.slice(0, 600)}`);
  return out;
}

// Totals per (profile type, resource match) from the bytes sent (.pb through the wire
// reader, .json through otlp_top.mjs's own JSON reader), with the eBPF rule (samples:count
// with a cpu:nanoseconds period also answers cpu:nanoseconds as count x period when the
// resource has no native one).
export function sentTotals(files) {
  const rows = [];
  for (const { file, repeat = 1 } of files) {
    const byRes = new Map();
    for (const p of profileTotals(readFileSync(file))) {
      const key = JSON.stringify(p.resource);
      if (!byRes.has(key)) byRes.set(key, []);
      byRes.get(key).push(p);
    }
    for (const group of byRes.values()) {
      const hasCpu = group.some((p) => p.type === 'cpu:nanoseconds');
      for (const p of group) {
        const v = BigInt(p.value_sum) * BigInt(repeat);
        rows.push({ resource: p.resource, type: p.type, total: v });
        if (!hasCpu && p.type === 'samples:count' && p.period_type === 'cpu:nanoseconds') {
          rows.push({ resource: p.resource, type: 'cpu:nanoseconds', total: v * BigInt(p.period) });
        }
      }
    }
  }
  return {
    rows,
    total(type, match = {}) {
      let t = 0n;
      for (const r of rows) {
        if (r.type !== type) continue;
        if (Object.entries(match).every(([k, v]) => r.resource[k] === v)) t += r.total;
      }
      return t;
    },
  };
}

// ---- schema validation ------------------------------------------------------------------
export function newAjv() {
  const ajv = new Ajv({ strict: false, allErrors: true, validateSchema: true });
  addFormats(ajv);
  return ajv;
}

// ---- the checks of one tool list -------------------------------------------------------
export function checkToolList(r, tools) {
  const names = tools.map((t) => t.name).sort();
  r.eq('tools/list: exactly the 11 tools of DESIGN.md', [...TOOL_NAMES].sort(), names);
  const ajv = newAjv();
  const validators = new Map();
  for (const t of tools) {
    const is = t.inputSchema ?? {};
    r.check(
      `${t.name}: inputSchema is an object schema with properties`,
      is.type === 'object' && typeof is.properties === 'object',
      JSON.stringify(is).slice(0, 200),
    );
    r.check(`${t.name}: has a description telling when to use it (>= 80 chars)`, (t.description ?? '').length >= 80, t.description);
    const os = t.outputSchema;
    if (r.check(`${t.name}: outputSchema is an object schema`, os && os.type === 'object', JSON.stringify(os)?.slice(0, 200))) {
      try {
        validators.set(t.name, ajv.compile(os));
        r.ok(`${t.name}: outputSchema compiles (independent Ajv, schema validated)`);
      } catch (e) {
        r.fail(`${t.name}: outputSchema compiles`, e.message);
      }
    }
    const a = t.annotations ?? {};
    r.check(`${t.name}: annotations readOnlyHint and idempotentHint true`, a.readOnlyHint === true && a.idempotentHint === true, JSON.stringify(a));
    r.check(`${t.name}: annotations openWorldHint false`, a.openWorldHint === false, JSON.stringify(a));
  }
  const req = (n) => tools.find((t) => t.name === n)?.inputSchema?.required ?? [];
  for (const n of TOOL_NAMES.filter((x) => x.startsWith('query_') || x === 'export_pprof')) {
    // Either in `required`, or documented as required in its description: a tool that
    // wants to answer a missing profile_type with an isError listing the types present
    // (checked below) cannot let the schema check turn it into a -32602.
    const d = tools.find((t) => t.name === n)?.inputSchema?.properties?.profile_type?.description ?? '';
    r.check(`${n}: profile_type is required (schema or description)`, req(n).includes('profile_type') || /^required\b/i.test(d), `${JSON.stringify(req(n))} ${d}`);
  }
  r.check('list_label_values: name is required', req('list_label_values').includes('name'), JSON.stringify(req('list_label_values')));
  r.check('query_profile_sandwich: function is required', req('query_profile_sandwich').includes('function'), JSON.stringify(req('query_profile_sandwich')));
  const props = (n) => Object.keys(tools.find((t) => t.name === n)?.inputSchema?.properties ?? {});
  const want = {
    query_profile_table: ['profile_type', 'selector', 'start', 'end', 'service_name', 'sort', 'limit', 'filter'],
    query_profile_flamegraph: ['profile_type', 'selector', 'focus_path', 'max_depth', 'min_percent', 'max_nodes'],
    query_profile_sandwich: ['profile_type', 'function', 'max_depth', 'max_nodes'],
    query_profile_diff: ['profile_type', 'baseline', 'comparison'],
    query_profile_timeseries: ['profile_type', 'step', 'function', 'group_by'],
    list_label_values: ['name', 'limit'],
  };
  for (const [n, ps] of Object.entries(want)) {
    const have = props(n);
    const missing = ps.filter((p) => !have.includes(p));
    r.check(`${n}: inputSchema has ${ps.join(', ')}`, missing.length === 0, `missing ${missing.join(', ')} (has ${have.join(', ')})`);
  }
  return validators;
}

// ---- the tool suite -------------------------------------------------------------------
//
// ctx: {r, client, validators, td, work, exportVia: 'url'|'blob', selCpu, selMem,
//       ebpf: bool (ebpf_style.pb was loaded, host.name="node-c"), totals (sentTotals),
//       types: [profile types present]}
export async function toolSuite(ctx) {
  const { r, client, validators, td, work } = ctx;
  const E = `${td}/expected`;
  const call = async (name, args) => {
    const res = await client.callTool({ name, arguments: args });
    // The ~4,000-token budget applies when the size argument is left unset; an explicit
    // limit / max_nodes is honoured (the caller asked for that much).
    Object.defineProperty(res, 'sizeGiven', { value: args && ('limit' in args || 'max_nodes' in args) });
    // The SDK validated structuredContent already (it compiled the outputSchema at
    // listTools); validate again with our own Ajv so the check does not rest on that.
    const v = validators.get(name);
    if (v && res.structuredContent && !res.isError) {
      if (!v(res.structuredContent)) r.fail(`${name}: structuredContent matches outputSchema`, JSON.stringify(v.errors).slice(0, 400));
    }
    return res;
  };
  const ok = (desc, res) =>
    r.check(`${desc}: not isError, has structuredContent and text`, res && !res.isError && res.structuredContent && textOf(res).length > 0, () =>
      `isError=${res?.isError} text=${JSON.stringify(textOf(res).slice(0, 300))}`,
    );
  const under4k = (desc, res) => {
    if (res?.sizeGiven) return;
    const t = textOf(res);
    r.check(`${desc}: text under ~4,000 tokens (16 KiB)`, t.length <= 16384, `${t.length} chars`);
  };

  // ---- every tool once, and the SDK's own schema validation is live -----------------
  // (a v1 SDK internal: the SDK v2 check, which validates with our Ajv alone, skips it)
  for (const n of ctx.sdkValidators === false ? [] : TOOL_NAMES) {
    const v = client.getToolOutputValidator?.(n);
    r.check(`SDK compiled a validator for ${n}'s outputSchema (callTool validates structuredContent)`, typeof v === 'function');
    if (typeof v === 'function') {
      const bad = v({ rows: 'not-an-array', total: 'x', profile_type: 7, groups: 3, types: 1, labels: 1, values: 1 });
      r.check(`${n}: the SDK's validator rejects a malformed structuredContent (validation is not vacuous)`, bad.valid === false);
    }
  }

  // ---- get_status --------------------------------------------------------------------
  await r.step('get_status', async () => {
    const res = await call('get_status', {});
    ok('get_status', res);
    const t = textOf(res);
    for (const ty of ctx.types) r.check(`get_status text names profile type ${ty}`, t.includes(ty), t.slice(0, 300));
    r.check('get_status: text reports memory and a limit', /memory/i.test(t), t.slice(0, 300));
    const js = JSON.stringify(res.structuredContent);
    r.check('get_status: structured reports the version', /"version"/.test(js), js.slice(0, 300));
  });

  // ---- list_profile_types --------------------------------------------------------------
  await r.step('list_profile_types', async () => {
    const res = await call('list_profile_types', {});
    ok('list_profile_types', res);
    const sc = res.structuredContent ?? {};
    const list = field(sc, 'profile_types', 'types', 'rows') ?? [];
    const got = new Map(list.map((x) => [field(x, 'profile_type', 'type', 'name'), x]));
    r.eq('list_profile_types: exactly the types sent', [...ctx.types].sort(), [...got.keys()].sort());
    for (const ty of ctx.types) {
      const x = got.get(ty);
      if (!x) continue;
      r.eq(`list_profile_types: total of ${ty} == sum of the values sent`, ctx.totals.total(ty), big(field(x, 'total')));
    }
    const res2 = await call('list_profile_types', { selector: '{host.name="node-b"}' });
    const list2 = field(res2.structuredContent ?? {}, 'profile_types', 'types', 'rows') ?? [];
    r.eq(
      'list_profile_types {host.name="node-b"}: only the four heap types',
      ['alloc_objects:count', 'alloc_space:bytes', 'inuse_objects:count', 'inuse_space:bytes'],
      list2.map((x) => field(x, 'profile_type', 'type', 'name')).sort(),
    );
  });

  // ---- list_labels / list_label_values -----------------------------------------------
  await r.step('list_labels', async () => {
    const res = await call('list_labels', {});
    ok('list_labels', res);
    const list = field(res.structuredContent ?? {}, 'labels', 'names', 'rows') ?? [];
    const byName = new Map(list.map((x) => [field(x, 'name', 'label'), x]));
    const hosts = ctx.ebpf ? 3 : 2;
    for (const [n, count] of [
      ['service.name', 2],
      ['host.name', hosts],
      ['process.pid', 2],
    ]) {
      const x = byName.get(n);
      if (r.check(`list_labels: has ${n}`, x, [...byName.keys()].join(','))) {
        r.eq(`list_labels: ${n} has ${count} values`, count, field(x, 'values', 'value_count', 'n_values', 'count'));
      }
    }
    r.check('list_labels: resource level is stated', JSON.stringify(list).includes('resource'), JSON.stringify(list).slice(0, 300));
  });
  await r.step('list_label_values', async () => {
    const res = await call('list_label_values', { name: 'service.name', profile_type: 'cpu:nanoseconds' });
    ok('list_label_values service.name', res);
    const list = field(res.structuredContent ?? {}, 'values', 'rows') ?? [];
    const got = list.map((x) => [field(x, 'value', 'name'), big(field(x, 'total'))]);
    const want = ['flate', 'json']
      .map((s) => [s, ctx.totals.total('cpu:nanoseconds', { 'service.name': s })])
      .sort((a, b) => (a[1] > b[1] ? -1 : a[1] < b[1] ? 1 : 0));
    r.eq('list_label_values service.name cpu:nanoseconds: ranked totals == the values sent', want.map(([a, b]) => [a, b.toString()]), got.map(([a, b]) => [a, b.toString()]));
    const res2 = await call('list_label_values', { name: 'service_name', limit: 1 });
    const list2 = field(res2.structuredContent ?? {}, 'values', 'rows') ?? [];
    r.check('list_label_values service_name alias, limit 1: one row', !res2.isError && list2.length === 1, textOf(res2).slice(0, 300));
  });

  // ---- query_profile_table == go tool pprof -top ------------------------------------
  // The text budget (~4,000 tokens) may lower even an explicit limit, and the structured
  // rows follow the text. Functions cut that way are then asked for by name (filter
  // '^(a|b|...)$'), so every function of the expected table is still checked exactly.
  const tableOracle = (label, args, expectedFile, o = {}) => checkTable(r, call, label, args, expectedFile, o);

  const flateCpu = await tableOracle('table flate cpu:nanoseconds', { profile_type: 'cpu:nanoseconds', selector: ctx.selCpu }, `${E}/compress_flate.cpu.cpu.top.txt`);
  await tableOracle('table flate samples:count', { profile_type: 'samples:count', selector: ctx.selCpu }, `${E}/compress_flate.cpu.samples.top.txt`);
  for (const t of ['alloc_space', 'inuse_space', 'alloc_objects', 'inuse_objects']) {
    const unit = t.endsWith('space') ? 'bytes' : 'count';
    await tableOracle(`table flate ${t}:${unit}`, { profile_type: `${t}:${unit}`, selector: ctx.selMem }, `${E}/compress_flate.mem.${t}.top.txt`);
  }
  // The second resource of the same requests (service.name="json"), every sample type: the
  // two resources share one dictionary, so a mix-up between them shows only here.
  const selJson = (sel) => sel.replace('"flate"', '"json"');
  await tableOracle('table json cpu:nanoseconds', { profile_type: 'cpu:nanoseconds', selector: selJson(ctx.selCpu) }, `${E}/encoding_json.cpu.cpu.top.txt`);
  await tableOracle('table json samples:count', { profile_type: 'samples:count', selector: selJson(ctx.selCpu) }, `${E}/encoding_json.cpu.samples.top.txt`);
  for (const t of ['alloc_space', 'inuse_space', 'alloc_objects', 'inuse_objects']) {
    const unit = t.endsWith('space') ? 'bytes' : 'count';
    await tableOracle(`table json ${t}:${unit}`, { profile_type: `${t}:${unit}`, selector: selJson(ctx.selMem) }, `${E}/encoding_json.mem.${t}.top.txt`);
  }
  if (ctx.selCpuShort) {
    await tableOracle(
      'table via service_name shorthand + time range now-1h..now',
      { profile_type: 'cpu:nanoseconds', ...ctx.selCpuShort, start: 'now-1h', end: 'now' },
      `${E}/compress_flate.cpu.cpu.top.txt`,
    );
  }
  if (ctx.dataStartNs) {
    const s = Number(ctx.dataStartNs / 1000000n) - 60000;
    await tableOracle(
      'table with RFC 3339 start and unix-seconds end around the data',
      { profile_type: 'cpu:nanoseconds', selector: ctx.selCpu, start: new Date(s).toISOString(), end: String(Math.ceil((s + 3 * 60000) / 1000)) },
      `${E}/compress_flate.cpu.cpu.top.txt`,
    );
    await r.step('table over a range without data', async () => {
      const res = await call('query_profile_table', { profile_type: 'cpu:nanoseconds', selector: ctx.selCpu, start: 'now-2m', end: 'now' });
      r.check('table over a range without data: total 0 (or an isError saying so)', res.isError || big(res.structuredContent.total) === 0n, textOf(res).slice(0, 300));
    });
  }

  // Text rendering, default limit, filter, sort.
  await r.step('table text and defaults', async () => {
    const res = await call('query_profile_table', { profile_type: 'cpu:nanoseconds', selector: ctx.selCpu });
    ok('table default args', res);
    const t = textOf(res);
    const lines = t.split('\n');
    r.check('table text: header "Top functions by flat, cpu:nanoseconds, ..."', /^Top functions by flat, cpu:nanoseconds, /.test(lines[0]), lines[0]);
    r.check('table text: "Total 16.77s over 1 series; 25 of 220 functions shown, covering ..% of flat."', /^Total 16\.77s over 1 series; 25 of 220 functions shown, covering [\d.]+% of flat\./.test(lines[1]), lines[1]);
    // cpu.pb gives profile.frame.type ("go") on its locations: rows then carry a kind column
    r.check('table text: "[25 or 26 with (other)]{flat,flat%,cum,cum%,function,file,kind}:"', ['[25]', '[26]'].some((n) => lines.includes(`${n}{flat,flat%,cum,cum%,function,file,kind}:`)), t.slice(0, 400));
    r.check('table text: first row is huffSym 3.14s', /3\.14s,18\.72,3\.91s,23\.32,compress\/flate\.\(\*decompressor\)\.huffSym,/.test(t), t.slice(0, 600));
    r.check('table text: an (other) row carries the cut flat', /\(other\)/.test(t), t.slice(-300));
    const sc = res.structuredContent;
    r.eq('table default limit: 25 rows', 25, sc.rows.length);
    const shown = sc.rows.reduce((a, x) => a + big(x.flat), 0n);
    r.eq('table default limit: rows flat + other_flat == total', big(sc.total), shown + big(sc.other_flat));
    const f = await call('query_profile_table', { profile_type: 'cpu:nanoseconds', selector: ctx.selCpu, filter: 'huffman', sort: 'cum', limit: 500 });
    const fr = f.structuredContent?.rows ?? [];
    r.check('table filter "huffman": only matching functions', fr.length > 0 && fr.every((x) => /huffman/.test(x.function)), JSON.stringify(fr.map((x) => x.function)));
    const exp = parseTop(readFileSync(`${E}/compress_flate.cpu.cpu.top.txt`, 'utf8'), 'expected');
    const want = [...exp.rows].filter(([n, v]) => /huffman/.test(n) && (v.flat || v.cum)).map(([n]) => n);
    r.eq('table filter "huffman": every matching function', want.sort(), fr.map((x) => x.function).sort());
    const sortedCum = fr.every((x, i) => i === 0 || big(fr[i - 1].cum) >= big(x.cum));
    r.check('table sort cum: rows ordered by cum descending', sortedCum, JSON.stringify(fr.map((x) => x.cum)));
  });

  // ---- query_profile_flamegraph ------------------------------------------------------
  const flame = (args) => call('query_profile_flamegraph', { profile_type: 'cpu:nanoseconds', selector: ctx.selCpu, ...args });
  const flameCheck = (label, res, o = {}) => {
    if (!ok(label, res)) return undefined;
    const rows = rowsOf(res.structuredContent);
    if (!r.check(`${label}: structured rows`, Array.isArray(rows) && rows.length > 0, JSON.stringify(res.structuredContent).slice(0, 300))) return undefined;
    const errs = flameInvariantErrors(rows, o);
    r.check(`${label}: invariants (ids, BFS order, cum == flat + sum(children), leaves + inner flat == root; ${rows.length} rows)`, errs.length === 0, () => errs.slice(0, 6).join('; '));
    under4k(label, res);
    return rows;
  };
  let full;
  await r.step('flamegraph', async () => {
    full = flameCheck('flamegraph max_nodes 500 min_percent 0 max_depth 64', await flame({ max_nodes: 500, min_percent: 0, max_depth: 64 }), { maxNodes: 500, maxDepth: 64, minPercent: 0 });
    if (full && flateCpu) r.eq('flamegraph: root cum == table total', flateCpu.total, big(full[0].cum));
    if (full && flateCpu && !full.some((x) => x.name === '(other)')) {
      // Every sample has one leaf node: summing flat by function over the whole tree gives
      // the table's flat column.
      const byFn = new Map();
      for (const x of full.slice(1)) byFn.set(x.name, (byFn.get(x.name) ?? 0n) + big(x.flat));
      const bad = [...flateCpu.rows].filter(([n, v]) => v.flat !== (byFn.get(n) ?? 0n));
      r.check('flamegraph (unpruned): flat summed per function == table flat', bad.length === 0, () => bad.slice(0, 5).map(([n, v]) => `${n}: table ${v.flat}, tree ${byFn.get(n)}`).join('; '));
    }
    for (const o of [
      { max_nodes: 10 },
      { max_nodes: 40, min_percent: 2 },
      { min_percent: 5 },
      { max_depth: 3 },
      { max_depth: 2, max_nodes: 7, min_percent: 0 },
      {},
    ]) {
      flameCheck(`flamegraph ${JSON.stringify(o)}`, await flame(o), {
        maxNodes: o.max_nodes ?? 120,
        maxDepth: o.max_depth ?? 16,
        minPercent: o.min_percent ?? 0.5,
      });
    }
    // focus_path taken from the data: the heaviest chain three levels down.
    if (full) {
      const path = [];
      let cur = full[0];
      for (let d = 0; d < 3; d++) {
        const kids = full.filter((x) => x.parent === cur.id && x.name !== '(other)');
        if (!kids.length) break;
        cur = kids.reduce((a, b) => (big(b.cum) > big(a.cum) ? b : a));
        path.push(cur.name);
      }
      const res = await flame({ focus_path: path, max_nodes: 200, min_percent: 0 });
      const fr = flameCheck(`flamegraph focus_path ${JSON.stringify(path)}`, res, { maxNodes: 200, minPercent: 0 });
      if (fr) {
        r.eq('flamegraph focus_path: root is the last focus frame', path[path.length - 1], fr[0].name);
        r.eq('flamegraph focus_path: root cum == that node\'s cum in the whole tree', big(cur.cum), big(fr[0].cum));
      }
      const miss = await flame({ focus_path: ['no.such.function'] });
      r.check('flamegraph focus_path that matches nothing: isError or no rows, saying so', miss.isError || (rowsOf(miss.structuredContent) ?? []).length === 0, textOf(miss).slice(0, 200));
    }
    if (ctx.ebpf) {
      const e = await call('query_profile_flamegraph', { profile_type: 'samples:count', selector: '{service.name="flate", host.name="node-c"}', max_nodes: 500, min_percent: 0, max_depth: 64 });
      const er = flameCheck('flamegraph eBPF data (unsymbolized frames)', e, { maxNodes: 500, maxDepth: 64, minPercent: 0 });
      const addr = er?.find((x) => /^0x[0-9a-f]+$/i.test(x.name));
      if (r.check('flamegraph eBPF data: unsymbolized frames appear by hex address', addr, JSON.stringify(er?.slice(0, 5)))) {
        const path = [];
        for (let x = addr; x && x.parent !== -1; x = er[x.parent]) path.unshift(x.name);
        const fr = flameCheck(`flamegraph focus_path with a hex address ${JSON.stringify(path)}`, await call('query_profile_flamegraph', {
          profile_type: 'samples:count', selector: '{service.name="flate", host.name="node-c"}', focus_path: path, min_percent: 0, max_nodes: 200,
        }), { maxNodes: 200, minPercent: 0 });
        if (fr) r.eq('flamegraph hex focus: root cum == the address node\'s cum', big(addr.cum), big(fr[0].cum));
      }
    }
  });

  // ---- query_profile_sandwich == go tool pprof -peek ---------------------------------
  await r.step('sandwich', async () => {
    if (!flateCpu) return;
    const hottest = [...flateCpu.rows].reduce((a, b) => (b[1].flat > a[1].flat ? b : a))[0];
    const second = [...flateCpu.rows].filter(([n]) => n !== hottest).sort((a, b) => (b[1].cum > a[1].cum ? 1 : -1)).find(([n]) => !n.startsWith('runtime.') && !n.startsWith('testing.'))[0];
    for (const fn of [hottest, second]) {
      const peek = goPeek(`${td}/pprof/compress_flate.cpu.pb.gz`, fn, 'nanoseconds', work);
      const res = await call('query_profile_sandwich', { profile_type: 'cpu:nanoseconds', selector: ctx.selCpu, function: fn, max_nodes: 200, max_depth: 4 });
      if (!ok(`sandwich ${fn}`, res)) continue;
      const sc = res.structuredContent;
      r.eq(`sandwich ${fn}: flat == pprof -peek`, peek.flat, big(field(sc, 'flat')));
      r.eq(`sandwich ${fn}: cum == pprof -peek`, peek.cum, big(field(sc, 'cum')));
      for (const side of ['callers', 'callees']) {
        const rows = rowsOf(field(sc, side));
        if (!r.check(`sandwich ${fn}: structured ${side} rows`, Array.isArray(rows) && rows.length > 0, JSON.stringify(sc).slice(0, 300))) continue;
        r.eq(`sandwich ${fn} ${side}: row 0 is the function`, fn, rows[0].name);
        const lvl1 = rows.filter((x) => x.parent === rows[0].id);
        const want = side === 'callers' ? peek.callers : peek.callees;
        const got = new Map();
        let other = 0n;
        for (const x of lvl1) {
          if (x.name === '(other)') other += big(x.cum);
          else got.set(x.name.replace(/ \((partial-)?inline\)$/, ''), big(x.cum));
        }
        const diffs = [];
        let missingSum = 0n;
        for (const [n, v] of want) {
          if (!got.has(n)) missingSum += v;
          else if (got.get(n) !== v) diffs.push(`${n}: pprof ${v}, ours ${got.get(n)}`);
        }
        for (const n of got.keys()) if (!want.has(n)) diffs.push(`${n}: not a ${side.slice(0, -1)} in pprof`);
        if (missingSum !== other) diffs.push(`(other) ${other} != pprof's unlisted ${side} ${missingSum}`);
        r.check(`sandwich ${fn} ${side} level 1 == go tool pprof -peek (${want.size} ${side})`, diffs.length === 0, () => diffs.slice(0, 6).join('; '));
        if (side === 'callees') {
          const errs = flameInvariantErrors(rows, {});
          r.check(`sandwich ${fn} callees tree: flame invariants`, errs.length === 0, () => errs.slice(0, 5).join('; '));
        }
      }
      under4k(`sandwich ${fn}`, res);
    }
    const nf = await call('query_profile_sandwich', { profile_type: 'cpu:nanoseconds', selector: ctx.selCpu, function: 'HUFFSYM' });
    r.check('sandwich unknown function: isError suggesting similar names (huffSym)', nf.isError && textOf(nf).includes('compress/flate.(*decompressor).huffSym'), textOf(nf).slice(0, 300));
  });

  // ---- query_profile_diff ------------------------------------------------------------
  await r.step('diff', async () => {
    const base = ctx.selCpu;
    const cmp = ctx.selCpu.replace('"flate"', '"json"');
    const res = await call('query_profile_diff', {
      profile_type: 'cpu:nanoseconds', start: 'now-1h', end: 'now',
      baseline: { selector: base }, comparison: { selector: cmp }, limit: 10,
    });
    if (!ok('diff flate vs json (same range)', res)) return;
    const sc = res.structuredContent;
    const bt = ctx.totals.total('cpu:nanoseconds', selMatch(base));
    const ct = ctx.totals.total('cpu:nanoseconds', selMatch(cmp));
    const B = sc.baseline ?? {};
    const C = sc.comparison ?? {};
    r.eq('diff: baseline total == the flate values sent', bt, big(B.total));
    r.eq('diff: comparison total == the json values sent', ct, big(C.total));
    const near = (a, b) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));
    r.check('diff: per_second == total / seconds on both sides', B.seconds > 0 && near(B.per_second, Number(B.total) / B.seconds) && near(C.per_second, Number(C.total) / C.seconds), JSON.stringify([B, C]));
    const rows = sc.rows ?? [];
    r.check('diff: at most limit rows, ranked by |delta/s| descending', rows.length > 0 && rows.length <= 10 &&
      rows.every((x, i) => i === 0 || Math.abs(rows[i - 1].delta_per_s) >= Math.abs(x.delta_per_s)), JSON.stringify(rows.slice(0, 3)));
    const bad = rows.filter((x) => !(near(x.base_per_s, Number(x.base_flat) / B.seconds) && near(x.cmp_per_s, Number(x.cmp_flat) / C.seconds) &&
      near(x.delta_per_s, x.cmp_per_s - x.base_per_s) && near(x.base_percent, (Number(x.base_flat) / Number(bt)) * 100) &&
      near(x.cmp_percent, (Number(x.cmp_flat) / Number(ct)) * 100) && near(x.delta_pp, x.cmp_percent - x.base_percent)));
    r.check('diff: every row: per second = flat / seconds, shares = flat / total, deltas = cmp - base', bad.length === 0, JSON.stringify(bad.slice(0, 2)));
    const exp = parseTop(readFileSync(`${E}/compress_flate.cpu.cpu.top.txt`, 'utf8'), 'expected');
    const all = await call('query_profile_diff', {
      profile_type: 'cpu:nanoseconds', start: 'now-1h', end: 'now',
      baseline: { selector: base }, comparison: { selector: cmp }, limit: 200,
    });
    r.check('diff limit 200: not isError', !all.isError, textOf(all).slice(0, 300));
    const allRows = all.structuredContent?.rows ?? [];
    const wrong = allRows.filter((x) => {
      const e = exp.rows.get(x.function) ?? { flat: 0n, cum: 0n };
      return big(x.base_flat) !== e.flat || big(x.base_cum) !== e.cum;
    });
    r.check(`diff: baseline flat/cum of every row (${allRows.length}) == go tool pprof on flate`, allRows.length > 10 && wrong.length === 0,
      () => wrong.slice(0, 4).map((x) => `${x.function}: ${x.base_flat}/${x.base_cum} vs ${JSON.stringify(exp.rows.get(x.function) ?? null, (k, v) => (typeof v === 'bigint' ? String(v) : v))}`).join('; '));
    const expJ = parseTop(readFileSync(`${E}/encoding_json.cpu.cpu.top.txt`, 'utf8'), 'expected json');
    const wrongJ = allRows.filter((x) => {
      const e = expJ.rows.get(x.function) ?? { flat: 0n, cum: 0n };
      return big(x.cmp_flat) !== e.flat || big(x.cmp_cum) !== e.cum;
    });
    r.check(`diff: comparison flat/cum of every row (${allRows.length}) == go tool pprof on json`, allRows.length > 10 && wrongJ.length === 0,
      () => wrongJ.slice(0, 4).map((x) => `${x.function}: ${x.cmp_flat}/${x.cmp_cum} vs ${JSON.stringify(expJ.rows.get(x.function) ?? null, (k, v) => (typeof v === 'bigint' ? String(v) : v))}`).join('; '));
    const same = await call('query_profile_diff', { profile_type: 'cpu:nanoseconds', selector: base, baseline: {}, comparison: {} });
    r.check('diff of the same data on both sides: isError saying how to pick two ranges or selectors', same.isError === true && /baseline/.test(textOf(same)) && /comparison/.test(textOf(same)), textOf(same).slice(0, 300));
  });

  // ---- query_profile_timeseries ------------------------------------------------------
  await r.step('timeseries', async () => {
    const res = await call('query_profile_timeseries', { profile_type: 'cpu:nanoseconds', selector: '{service.name="flate"}', group_by: 'host.name', step: '1m' });
    if (!ok('timeseries group_by host.name', res)) return;
    const sc = res.structuredContent;
    const groups = sc.groups ?? [];
    const want = new Map();
    for (const h of ['node-a', 'node-c']) {
      const t = ctx.totals.total('cpu:nanoseconds', { 'service.name': 'flate', 'host.name': h });
      if (t) want.set(h, t);
    }
    const got = new Map(groups.map((g) => [g.name, big(g.total)]));
    r.eq('timeseries group_by host.name: group totals == the values sent', [...want].map(([k, v]) => `${k}=${v}`).sort(), [...got].map(([k, v]) => `${k}=${v}`).sort());
    const sums = groups.every((g) => g.values.reduce((a, v) => a + big(v), 0n) === big(g.total));
    r.check('timeseries: each group\'s values sum to its total', sums, JSON.stringify(groups.map((g) => [g.total, g.values.filter((v) => v)])));
    r.check('timeseries: all groups have the same number of steps', groups.every((g) => g.values.length === groups[0].values.length), '');
    r.eq('timeseries: step is 60 s', 60, stepSeconds(sc.step));
    r.check('timeseries: text names the peak step', /peak/i.test(textOf(res)), textOf(res).slice(0, 400));
    under4k('timeseries', res);
    const fn = await call('query_profile_timeseries', { profile_type: 'cpu:nanoseconds', selector: ctx.selCpu, function: 'compress/flate.(*decompressor).huffSym' });
    if (ok('timeseries function huffSym', fn)) {
      const g = fn.structuredContent.groups ?? [];
      const tot = g.reduce((a, x) => a + big(x.total), 0n);
      r.eq('timeseries function huffSym: total == its cum in the table', 3910000000n, tot);
    }
  });

  // ---- export_pprof -------------------------------------------------------------------
  await r.step('export_pprof', async () => {
    const specs = [
      ['cpu:nanoseconds', ctx.selCpu, 'compress_flate.cpu.cpu'],
      ['alloc_space:bytes', ctx.selMem, 'compress_flate.mem.alloc_space'],
    ];
    for (const [type, sel, expName] of specs) {
      const res = await call('export_pprof', { profile_type: type, selector: sel });
      if (!ok(`export_pprof ${type}`, res)) continue;
      const exp = parseTop(readFileSync(`${E}/${expName}.top.txt`, 'utf8'), expName);
      const unit = type.split(':')[1];
      const t = textOf(res);
      r.check(`export_pprof ${type}: text gives the go tool pprof command`, /go tool pprof/.test(t), t.slice(0, 300));
      const blob = (res.content ?? []).find((c) => c.type === 'resource')?.resource;
      if (r.check(`export_pprof ${type}: embedded resource with the gzipped pprof`, blob && blob.blob && blob.mimeType === 'application/vnd.google.protobuf+gzip' && /^otelprofd:\/\/pprof\//.test(blob.uri), JSON.stringify(blob ?? null).slice(0, 200))) {
        const f = `${work}/export.${expName}.blob.pb.gz`;
        const bytes = Buffer.from(blob.blob, 'base64');
        writeFileSync(f, bytes);
        r.check(`export_pprof ${type}: blob is gzip`, bytes[0] === 0x1f && bytes[1] === 0x8b, bytes.subarray(0, 4).toString('hex'));
        const d = compareTop(exp, goTop(f, work, [`-unit=${unit}`]));
        r.check(`export_pprof ${type}: go tool pprof -top of the embedded blob == ${expName}`, d.length === 0, () => d.slice(0, 6).join('; '));
      }
      if (ctx.exportVia === 'url') {
        const url = /https?:\/\/[^\s"'`<>)]+\/api\/pprof\?[^\s"'`<>)]+/.exec(t + JSON.stringify(res.structuredContent))?.[0];
        if (!r.check(`export_pprof ${type}: names an /api/pprof URL`, url, t.slice(0, 400))) continue;
        const f = `${work}/export.${expName}.curl.pb.gz`;
        execFileSync('curl', ['-sS', '--fail', '--max-time', '60', '-o', f, url]);
        const d = compareTop(exp, goTop(f, work, [`-unit=${unit}`]));
        r.check(`export_pprof ${type}: curl URL + go tool pprof -top == ${expName}`, d.length === 0, () => d.slice(0, 6).join('; '));
        const d2 = compareTop(exp, goTop(url, work, [`-unit=${unit}`]));
        r.check(`export_pprof ${type}: go tool pprof -top '<URL>' directly == ${expName}`, d2.length === 0, () => d2.slice(0, 6).join('; '));
      }
    }
  });

  // ---- bad arguments: isError results that say how to fix the call -------------------
  await r.step('bad arguments', async () => {
    const cases = [
      ['query_profile_table without profile_type lists the types present', 'query_profile_table', { selector: ctx.selCpu }, /cpu:nanoseconds/],
      ['query_profile_table with an unknown profile_type lists the types present', 'query_profile_table', { profile_type: 'wall:seconds' }, /cpu:nanoseconds[\s\S]*alloc_space:bytes|alloc_space:bytes[\s\S]*cpu:nanoseconds/],
      ['query_profile_table with a broken selector explains the selector syntax', 'query_profile_table', { profile_type: 'cpu:nanoseconds', selector: '{service.name="flate"' }, /selector|[}]/i],
      ['query_profile_table with a bad regex in the selector', 'query_profile_table', { profile_type: 'cpu:nanoseconds', selector: '{service.name=~"(("}' }, /regex|regular|paren/i],
      ['query_profile_table with a bad start time says what is accepted', 'query_profile_table', { profile_type: 'cpu:nanoseconds', start: 'yesterday-ish' }, /RFC ?3339|now-|unix/i],
      ['query_profile_table with sort "banana" names flat|cum', 'query_profile_table', { profile_type: 'cpu:nanoseconds', sort: 'banana' }, /flat[\s\S]*cum/],
      ['query_profile_table with a bad filter regex', 'query_profile_table', { profile_type: 'cpu:nanoseconds', filter: '([' }, /filter|regex|regular/i],
      ['list_label_values without name says name is required', 'list_label_values', {}, /name/],
      ['query_profile_timeseries with a bad step', 'query_profile_timeseries', { profile_type: 'cpu:nanoseconds', step: 'soon' }, /step|10s|1m/i],
      ['query_profile_flamegraph with focus_path not an array', 'query_profile_flamegraph', { profile_type: 'cpu:nanoseconds', focus_path: 'main' }, /focus_path|array/i],
    ];
    for (const [desc, tool, args, re] of cases) {
      let res;
      try {
        res = await client.callTool({ name: tool, arguments: args });
      } catch (e) {
        r.fail(desc, `protocol error [${e.code}] ${e.message} instead of an isError result`);
        continue;
      }
      const t = textOf(res);
      r.check(desc, res.isError === true && re.test(t), `isError=${res.isError} text=${JSON.stringify(t.slice(0, 300))}`);
    }
    try {
      await client.callTool({ name: 'no_such_tool', arguments: {} });
      r.fail('unknown tool: a protocol error (-32602)', 'the call succeeded');
    } catch (e) {
      r.eq('unknown tool: a protocol error (-32602)', -32602, e.code);
    }
  });
}

// query_profile_table against a `go tool pprof -top` file, value for value. The text
// budget (~4,000 tokens) may lower even an explicit limit, and the structured rows follow
// the text: functions cut that way are then asked for by name (filter '^(a|b|...)$'), so
// every function of the expected table is still checked exactly, and other_flat must be
// the flat of what was cut.
export function checkTable(r, call, label, args, expectedFile, { scale = 1n } = {}) {
  const under4k = (desc, res, args) => res?.sizeGiven || (args && ('limit' in args || 'max_nodes' in args)) || r.check(`${desc}: text under ~4,000 tokens (16 KiB)`, textOf(res).length <= 16384, `${textOf(res).length} chars`);
  const ok = (desc, res) =>
    r.check(`${desc}: not isError, has structuredContent and text`, res && !res.isError && res.structuredContent && textOf(res).length > 0, () =>
      `isError=${res?.isError} text=${JSON.stringify(textOf(res).slice(0, 300))}`,
    );
  return r.step(label, async () => {
      const res = await call('query_profile_table', { limit: 500, ...args });
      if (!ok(label, res)) return undefined;
      const sc = res.structuredContent;
      const rows = new Map();
      const put = (x) => rows.set(x.function.replace(/ \((partial-)?inline\)$/, ''), { flat: big(x.flat), cum: big(x.cum) });
      sc.rows.forEach(put);
      const exp = parseTop(readFileSync(expectedFile, 'utf8'), expectedFile);
      const nonzero = [...exp.rows].filter(([, v]) => v.flat || v.cum);
      r.eq(`${label}: functions count`, nonzero.length, sc.functions);
      const shownFlat = sc.rows.reduce((a, x) => a + big(x.flat), 0n);
      r.eq(`${label}: rows flat + other_flat == total`, big(sc.total), shownFlat + big(sc.other_flat ?? 0));
      const cut = nonzero.filter(([n]) => !rows.has(n)).map(([n]) => n);
      if (cut.length) {
        const cutFlat = nonzero.filter(([n]) => !rows.has(n)).reduce((a, [, v]) => a + v.flat * scale, 0n);
        r.eq(`${label}: other_flat == flat of the ${cut.length} functions cut (pprof)`, cutFlat, big(sc.other_flat));
        r.check(`${label}: the text says the limit was lowered`, /lowered|cut|shown/.test(textOf(res)), textOf(res).slice(0, 300));
        // Groups of up to 40 names whose filter regex stays within the documented 1,024
        // bytes (a longer one is an isError, which fails here, never skipped). The answer to
        // a filtered call has the same text budget, so it may cut again (rows with flat 0
        // go last): names still missing are asked again in smaller groups, down to one a
        // call; one that never comes back stays missing and fails below.
        const groups = (names, size) => {
          const out = [];
          let cur = [];
          for (const n of names) {
            const next = [...cur, n];
            if (cur.length && (next.length > size || `^(${next.map(reEscape).join('|')})$`.length > 1000)) {
              out.push(cur);
              cur = [n];
            } else cur = next;
          }
          if (cur.length) out.push(cur);
          return out;
        };
        let pending = cut;
        for (let size = 40; pending.length > 0; size = Math.max(1, size >> 2)) {
          for (const part of groups(pending, size)) {
            const filter = `^(${part.map(reEscape).join('|')})$`;
            const more = await call('query_profile_table', { ...args, limit: 500, filter });
            if (more.isError) r.fail(`${label}: filtered call for ${part.length} cut functions`, `isError: ${textOf(more).slice(0, 200)}`);
            (more.structuredContent?.rows ?? []).forEach(put);
          }
          const still = pending.filter((n) => !rows.has(n));
          if (size === 1 || still.length === 0) break;
          console.log(`     ${label}: ${still.length} cut functions re-asked in groups of ${Math.max(1, size >> 2)}`);
          pending = still;
        }
      }
      const actual = { total: big(sc.total), rows };
      const diffs = compareTop(exp, actual, { scale });
      r.check(`${label} == ${expectedFile.replace(/.*\//, '')} value for value (${nonzero.length} functions, ${cut.length} fetched by filter)`, diffs.length === 0, () => diffs.slice(0, 8).join('; '));
      under4k(label, res, { limit: 500, ...args });
      return { res, rows, total: actual.total };
    });
}

// {a="x", b="y"} -> {a: "x", b: "y"} (only the = matchers the tests use).
export function selMatch(sel) {
  const m = {};
  for (const x of sel.matchAll(/([\w.]+)\s*=\s*"([^"]*)"/g)) m[x[1]] = x[2];
  return m;
}

function stepSeconds(step) {
  if (typeof step === 'number') return step > 1e6 ? step / 1e9 : step;
  const m = /^(\d+)(s|m)$/.exec(String(step));
  if (m) return Number(m[1]) * (m[2] === 'm' ? 60 : 1);
  return Number(step);
}

// The q_flame contract: ids are indexes, breadth-first order, every row with children
// has cum == flat + sum(children cum), (other) rows have flat == cum, leaves' cum + inner
// flat == root cum, and the pruning limits hold.
export function flameInvariantErrors(rows, { maxNodes, maxDepth, minPercent } = {}) {
  const errs = [];
  const kids = new Map();
  rows.forEach((x, i) => {
    if (x.id !== i) errs.push(`row ${i} has id ${x.id}`);
    if (i === 0) {
      if (x.parent !== -1 || x.depth !== 0) errs.push(`root: parent ${x.parent} depth ${x.depth}`);
      return;
    }
    if (!(x.parent >= 0 && x.parent < i)) errs.push(`row ${i}: parent ${x.parent} not before it`);
    else {
      if (x.depth !== rows[x.parent].depth + 1) errs.push(`row ${i}: depth ${x.depth}, parent's ${rows[x.parent].depth}`);
      if (!kids.has(x.parent)) kids.set(x.parent, []);
      kids.get(x.parent).push(x);
    }
    if (x.depth < rows[i - 1].depth || x.parent < rows[i - 1].parent) errs.push(`row ${i}: not breadth-first after row ${i - 1}`);
    if (x.name === '(other)' && big(x.flat) !== big(x.cum)) errs.push(`row ${i} (other): flat ${x.flat} != cum ${x.cum}`);
  });
  // Telescoping: with cum == flat + sum(children) at every inner row, the leaves' cum plus
  // the inner rows' flat is the root's cum (rows cut by max_depth are leaves whose cum
  // still holds what is below them).
  let leaves = 0n;
  let inner = 0n;
  rows.forEach((x, i) => {
    const k = kids.get(i);
    if (!k) {
      leaves += big(x.cum);
      return;
    }
    inner += big(x.flat);
    const s = k.reduce((a, c) => a + big(c.cum), 0n);
    if (big(x.cum) !== big(x.flat) + s) errs.push(`row ${i} ${x.name}: cum ${x.cum} != flat ${x.flat} + children ${s}`);
    const named = k.filter((c) => c.name !== '(other)');
    if (!named.every((c, j) => j === 0 || big(named[j - 1].cum) >= big(c.cum))) errs.push(`row ${i}: children not sorted by cum`);
    if (k.filter((c) => c.name === '(other)').length > 1) errs.push(`row ${i}: more than one (other) child`);
  });
  if (rows.length && leaves + inner !== big(rows[0].cum)) {
    errs.push(`sum(leaf cum) ${leaves} + sum(inner flat) ${inner} != root cum ${rows[0].cum}`);
  }
  if (maxNodes && rows.length > maxNodes) errs.push(`${rows.length} rows > max_nodes ${maxNodes}`);
  if (maxDepth && rows.some((x) => x.depth > maxDepth)) errs.push(`a row deeper than max_depth ${maxDepth}`);
  if (minPercent && rows.length) {
    const lim = (Number(rows[0].cum) * minPercent) / 100;
    const small = rows.filter((x, i) => i > 0 && x.name !== '(other)' && Number(x.cum) < lim);
    if (small.length) errs.push(`${small.length} rows under min_percent ${minPercent}% (e.g. ${small[0].name} ${small[0].cum})`);
  }
  return errs;
}
