// hostile_regex.mjs — hostile regexes in MCP tool arguments (issue 10), through the official
// SDK over Streamable HTTP against a running `otelprofd serve` that stores service
// hostile-regex (see test_hostile.sh): a function name and a resource attribute long.attr of
// 4,000-5,000 'a's and a 'b', under main, value 100.
//
// Back-references (the crash reproducers: glibc's regexec recursed until SIGSEGV) must be
// refused with a reason in an isError result; patterns that backtrack past the match limit
// on the stored values must answer "regex too expensive", never an empty table; afterwards
// ordinary RE2-syntax queries still answer on the same session.
//
// CLI: node hostile_regex.mjs --url http://127.0.0.1:PORT
// Prints ok/FAIL lines; exit 0 when every check passed, 1 otherwise.
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { newClient, Reporter, textOf } from './mcp_lib.mjs';

const args = process.argv.slice(2);
const url = args[args.indexOf('--url') + 1];
if (!url || args.indexOf('--url') < 0) {
  console.error('usage: hostile_regex.mjs --url BASE_URL');
  process.exit(2);
}
const r = new Reporter('mcp/regex: ');
const client = newClient('otelprofd-it-regex');
try {
  await client.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`)));
} catch (e) {
  r.fail('SDK connects over Streamable HTTP', e.message);
  r.summary();
  process.exit(1);
}

const TYPE = 'cpu:nanoseconds';
const SVC = '{service.name="hostile-regex"}';
// [label, arguments of query_profile_table, RegExp the isError text must match]
const REFUSED = [
  ['filter (|)(\\1\\1)* (crash reproducer)', { profile_type: TYPE, filter: '(|)(\\1\\1)*' }, /back-references/],
  ['selector service.name=~"()()(\\2\\2)*.*" (crash reproducer)', { profile_type: TYPE, selector: '{service.name=~"()()(\\2\\2)*.*"}' }, /back-references/],
  ['selector with (?P=name)', { profile_type: TYPE, selector: '{service.name!~"(?P<x>a)(?P=x)"}' }, /back-references/],
  ['filter with \\k<name>', { profile_type: TYPE, selector: SVC, filter: '(?<x>a)\\k<x>' }, /back-references/],
  ['filter of 1025 bytes', { profile_type: TYPE, selector: SVC, filter: 'a'.repeat(1025) }, /longer than 1024 bytes/],
  ['filter (a+)+$ on a 4,001-byte function name', { profile_type: TYPE, selector: SVC, filter: '(a+)+$' }, /regex too expensive/],
  ['selector long.attr=~"(a+)+" on a 5,001-byte value', { profile_type: TYPE, selector: '{long.attr=~"(a+)+"}' }, /regex too expensive/],
  ['selector long.attr!~"(a|aa)+" on a 5,001-byte value', { profile_type: TYPE, selector: '{long.attr!~"(a|aa)+"}' }, /regex too expensive/],
];
for (const [label, a, want] of REFUSED) {
  await r.step(label, async () => {
    const t0 = Date.now();
    const res = await client.callTool({ name: 'query_profile_table', arguments: a });
    const text = textOf(res);
    r.check(`${label}: isError`, res.isError === true, text.slice(0, 300));
    r.check(`${label}: the text says why (${want})`, want.test(text), text.slice(0, 300));
    console.log(`figure: ${label}: answered in ${Date.now() - t0} ms`);
  });
}
// the same guard in the other tools that take a selector
for (const name of ['list_label_values', 'query_profile_timeseries', 'query_profile_flamegraph']) {
  await r.step(name, async () => {
    const a = { profile_type: TYPE, selector: '{long.attr=~"(a+)+"}' };
    if (name === 'list_label_values') a.name = 'service.name';
    const res = await client.callTool({ name, arguments: a });
    const text = textOf(res);
    r.check(`${name} with long.attr=~"(a+)+": isError "regex too expensive"`, res.isError === true && /regex too expensive/.test(text), text.slice(0, 300));
  });
}

// ordinary RE2-syntax regexes on the same data still answer
await r.step('ordinary queries', async () => {
  let res = await client.callTool({ name: 'query_profile_table', arguments: { profile_type: TYPE, selector: '{service.name=~"(?i)HOSTILE-re.+"}', filter: '(?i)^MAIN$' } });
  let text = textOf(res);
  r.check('(?i) selector and filter: answered', res.isError !== true, text.slice(0, 300));
  r.check('(?i) selector and filter: the main row, cum 100', /,main,/.test(text) && /Total 100ns/.test(text), text.slice(0, 400));
  res = await client.callTool({ name: 'query_profile_table', arguments: { profile_type: TYPE, selector: '{long.attr=~"a+b", service.name="hostile-regex"}', filter: 'a{3}\\w*?b$' } });
  text = textOf(res);
  r.check('bounded regexes on the long values: the long function, flat 100', res.isError !== true && /^ *100ns,100\.00,100ns,100\.00,a{4000}b,/m.test(text), text.slice(0, 300));
});
await client.close();
process.exit(r.summary() ? 0 : 1);
