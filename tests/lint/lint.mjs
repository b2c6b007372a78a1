// Checks the conventions of DESIGN.md that a compiler does not: run by ctest as the `lint`
// label (tests/CMakeLists.txt passes the source folder and every module library).
//
//   node lint.mjs SRC_DIR CHECK [ARGS...]
//     symbols  MODULE=LIB.a ...   every global symbol a module defines carries its prefix
//     internal                    no module includes another module's _internal.h
//     limits                      every limit docs/ states next to a `NAME` equals its #define
//     format                      clang-format agrees with every tracked .c/.h file
//
// Each check prints one line per finding and exits 1 when there is any, so a finding
// names the file and line to fix.
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const [src, check, ...rest] = process.argv.slice(2);
if (!src || !check) {
  console.error('usage: node lint.mjs SRC_DIR symbols|internal|limits|format [MODULE=LIB.a ...]');
  process.exit(2);
}

// The product's modules and the prefix each one's global symbols carry (DESIGN.md,
// "Conventions"; module-internal symbols shared across files use PREFIX_ + '_').
const MODULES = {
  base: 'base_', receiver: 'otlp_', translate: 'tr_', window: 'win_', query: 'query_',
  mcp: 'mcp_', tools: 'tools_', log: 'log_',
};
const PRODUCT_DIRS = [...Object.keys(MODULES), 'cli'];

const findings = [];
const report = (where, what) => findings.push(`${where}: ${what}`);

function walk(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}

function trackedFiles() {
  // git knows what is ours; outside a checkout (a source tarball) walk the product folders.
  // The self-test's fixture breaks every rule on purpose: it is linted only on its own
  // (its files end in .in; selftest.sh copies them out).
  try {
    return execFileSync('git', ['-C', src, 'ls-files', '--cached', '--others', '--exclude-standard'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
      .split('\n').filter(Boolean).filter((f) => !f.startsWith('tests/lint/fixture/'))
      .map((f) => join(src, f));
  } catch {
    return PRODUCT_DIRS.concat(['tests', 'bench', 'fuzz', 'docs']).flatMap((d) => {
      try { return walk(join(src, d)); } catch { return []; }
    });
  }
}

function checkSymbols(pairs) {
  if (pairs.length === 0) report('symbols', 'no libraries given');
  for (const pair of pairs) {
    const [module, lib] = pair.split('=');
    const prefix = MODULES[module];
    if (!prefix) { report(lib, `unknown module ${module}`); continue; }
    const out = execFileSync('nm', ['-g', '--defined-only', lib], { encoding: 'utf8' });
    let seen = 0;
    for (const line of out.split('\n')) {
      const m = /^[0-9a-f]+ ([A-Za-z]) (\S+)$/.exec(line);
      if (!m) continue;
      seen++;
      // ASan's one-definition-rule markers (__odr_asan.NAME) name our global NAME
      const sym = m[2].replace(/^__odr_asan\./, '');
      if (!sym.startsWith(prefix)) report(`${module} (${relative(src, lib)})`, `global symbol ${sym} lacks the prefix ${prefix}`);
    }
    if (seen === 0) report(lib, 'defines no global symbol: wrong library?');
  }
}

function checkInternal() {
  for (const f of trackedFiles()) {
    const rel = relative(src, f);
    const module = rel.split('/')[0];
    if (!PRODUCT_DIRS.includes(module) || !/\.[ch]$/.test(f)) continue;
    readFileSync(f, 'utf8').split('\n').forEach((line, i) => {
      const m = /^\s*#\s*include\s*[<"]([a-z_]+)\/[a-z_]*_internal\.h[>"]/.exec(line);
      if (m && m[1] !== module) report(`${rel}:${i + 1}`, `includes ${m[1]}/'s internal header; use ${m[1]}/${m[1]}.h`);
    });
  }
}

// Value of a #define's replacement text: integer literals (with u/l suffixes), casts,
// parentheses, << * + - and names of other defines. Anything else is not a limit.
function evaluate(expr, defines, depth = 0) {
  if (depth > 8) return undefined;
  let e = expr.replace(/\/\*.*?\*\//g, '').replace(/\/\/.*$/, '').trim();
  e = e.replace(/\(\s*(?:size_t|uint64_t|uint32_t|int64_t|int|unsigned|long|unsigned long)\s*\)/g, '');
  e = e.replace(/\b(0x[0-9a-fA-F]+|\d+)[uUlL]*\b/g, '$1');
  const names = e.match(/\b[A-Za-z_]\w*\b/g) || [];
  for (const n of names) {
    if (/^0x/.test(n)) continue;
    if (!(n in defines)) return undefined;
    const v = evaluate(defines[n], defines, depth + 1);
    if (v === undefined) return undefined;
    e = e.replace(new RegExp(`\\b${n}\\b`), `(${v})`);
  }
  if (!/^[\d\sxa-fA-F()<>*+-]+$/.test(e)) return undefined;
  try {
    const big = Function(`"use strict"; return (${e.replace(/(0x[0-9a-fA-F]+|\d+)/g, '$1n')});`)();
    return typeof big === 'bigint' ? big : undefined;
  } catch {
    return undefined;
  }
}

// A number as docs write it: 16,384 / 65536 / 2^20 / 64 KiB / 256 MiB / 1 GiB / 4 M.
function parseDocNumber(text) {
  const m = /^(\d[\d,]*)(?:\s*\^\s*(\d+))?\s*(KiB|MiB|GiB|K|M)?$/.exec(text.trim());
  if (!m) return undefined;
  let v = BigInt(m[1].replace(/,/g, ''));
  if (m[2]) v = v ** BigInt(m[2]);
  const scale = { KiB: 1024n, MiB: 1024n ** 2n, GiB: 1024n ** 3n, K: 1000n, M: 1n << 20n };
  if (m[3]) v *= scale[m[3]];
  return v;
}

function checkLimits() {
  const defines = {};
  const where = {};
  for (const f of trackedFiles()) {
    const rel = relative(src, f);
    if (!PRODUCT_DIRS.includes(rel.split('/')[0]) || !/\.[ch]$/.test(f)) continue;
    readFileSync(f, 'utf8').split('\n').forEach((line, i) => {
      const m = /^\s*#\s*define\s+([A-Z][A-Z0-9_]+)\s+(.+)$/.exec(line);
      if (!m) return;
      if (m[1] in defines && defines[m[1]] !== m[2]) where[m[1]] += ` and ${rel}:${i + 1} (differs)`;
      else { defines[m[1]] = m[2]; where[m[1]] = `${rel}:${i + 1}`; }
    });
  }
  let checked = 0;
  const docs = trackedFiles().filter((f) => /\.md$/.test(f) && /^(docs|README)/.test(relative(src, f)));
  for (const f of docs) {
    const rel = relative(src, f);
    // a stated limit may wrap onto the next line: match over the text with newlines as
    // spaces, and name the line where the value starts
    const text = readFileSync(f, 'utf8');
    const flat = text.replace(/\n/g, ' ');
    // convention (docs/internals/README.md): a limit is written "VALUE ... (`NAME`" with
    // `)`, `;` or `,` after the name
    for (const m of flat.matchAll(/(\d[\d,]*(?:\s*\^\s*\d+)?(?:\s*(?:KiB|MiB|GiB|K|M)\b)?)[^`\d]{0,40}\(`([A-Z][A-Z0-9_]+)`[);,]/g)) {
      const at = `${rel}:${text.slice(0, m.index).split('\n').length}`;
      const name = m[2];
      if (!(name in defines)) { report(at, `\`${name}\` is not a #define in the product`); continue; }
      const code = evaluate(defines[name], defines);
      const doc = parseDocNumber(m[1]);
      checked++;
      if (code === undefined) report(at, `cannot evaluate ${name} (${where[name]})`);
      else if (doc !== code) report(at, `says ${m[1].trim()} for ${name}, the code (${where[name]}) says ${code}`);
    }
  }
  if (checked === 0) report('docs', 'no limit written as "VALUE (`NAME`)": the check would check nothing');
  else console.log(`limits: ${checked} stated limits equal their #define`);
}

function checkFormat() {
  const files = trackedFiles().filter((f) => /\.[ch]$/.test(f));
  if (files.length === 0) report('format', 'no C files found');
  for (let i = 0; i < files.length; i += 50) {
    const batch = files.slice(i, i + 50);
    try {
      execFileSync('clang-format', ['--dry-run', '--Werror', ...batch], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
      const bad = new Set();
      for (const l of String(e.stderr).split('\n')) {
        const m = /^(\S+?):\d+:\d+: error/.exec(l);
        if (m) bad.add(m[1]);
      }
      if (bad.size === 0) report('clang-format', String(e.stderr || e.message).split('\n')[0]);
      for (const b of bad) report(relative(src, b), 'clang-format disagrees (run clang-format -i)');
    }
  }
  if (findings.length === 0) console.log(`format: ${files.length} files agree with .clang-format`);
}

switch (check) {
  case 'symbols': checkSymbols(rest); break;
  case 'internal': checkInternal(); break;
  case 'limits': checkLimits(); break;
  case 'format': checkFormat(); break;
  default: console.error(`unknown check ${check}`); process.exit(2);
}
for (const f of findings) console.log(f);
process.exit(findings.length ? 1 : 0);
