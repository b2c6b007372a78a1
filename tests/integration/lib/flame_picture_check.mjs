// flame_picture_check.mjs — the flame graphs to look at, checked by independent peers
// against a running `otelprofd serve` that was sent testdata's cpu.pb (test_flame_picture.sh):
//   - the official MCP SDK calls query_profile_flamegraph with "format": "image": the
//     content holds the header text and an image/png that pngjs decodes, of the size the
//     answer states (>= 1200 px), not blank, under 200 KB; its rows equal the text format's;
//   - GET /flamegraph.svg parses with fast-xml-parser, and its rectangles add up (each width
//     = cum / root cum of the plot, children inside their parent and summing to at most it,
//     the root's cum = pprof's total; drawn + not drawn = the rows);
//   - headless Chromium (Debian's, driven by puppeteer-core) loads GET /: the hottest
//     functions of `go tool pprof -top` are drawn, every rendered rect's width is cum /
//     root cum of the plot within a pixel, the top table equals pprof -top's first rows,
//     hover shows the numbers, click zooms, search highlights, nothing is fetched from
//     elsewhere, no script error; the screenshot decodes, is not blank, and shows the
//     frames' colours where the DOM puts them; the standalone SVG's script runs too.
//
// CLI: node flame_picture_check.mjs --url http://127.0.0.1:PORT --td TESTDATA --work DIR
//        [--chromium /usr/bin/chromium]
// Prints ok/FAIL lines; exit 0 when every check passed, 1 otherwise.
import { readFileSync, writeFileSync } from 'node:fs';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { PNG } from 'pngjs';
import puppeteer from 'puppeteer-core';
import { parseTop } from './compare_top.mjs';
import { newClient, Reporter, textOf } from './mcp_lib.mjs';

const o = { chromium: '/usr/bin/chromium' };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) o[argv[i].replace(/^--/, '')] = argv[++i];
const r = new Reporter('picture: ');
const SEL = '{service.name="flate"}';
const TYPE = 'cpu:nanoseconds';
const pprof = parseTop(readFileSync(`${o.td}/expected/compress_flate.cpu.cpu.top.txt`, 'utf8'), 'expected');
const byFlat = [...pprof.rows.entries()].sort((a, b) => (b[1].flat > a[1].flat ? 1 : b[1].flat < a[1].flat ? -1 : 0));
const HOT = byFlat.slice(0, 3).map(([name]) => name);

function distinctColours(png) {
  const seen = new Set();
  for (let i = 0; i < png.data.length; i += 4) seen.add((png.data[i] << 16) | (png.data[i + 1] << 8) | png.data[i + 2]);
  return seen.size;
}

// PNG signature and IHDR read by hand (independent of the decoder).
function ihdr(buf) {
  const sig = buf.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  return { sig, chunk: buf.subarray(12, 16).toString('latin1'), width: buf.readUInt32BE(16), height: buf.readUInt32BE(20) };
}

// ---- MCP: format image ---------------------------------------------------------------------
const client = newClient('otelprofd-it-picture');
await client.connect(new StreamableHTTPClientTransport(new URL(`${o.url}/mcp`)));
const args = { profile_type: TYPE, selector: SEL, max_nodes: 300 };
let imageRows = null;
await r.step('format image', async () => {
  const res = await client.callTool({ name: 'query_profile_flamegraph', arguments: { ...args, format: 'image' } });
  r.eq('format image: not an error', false, !!res.isError);
  const types = res.content.map((c) => c.type);
  r.eq('format image: content is the header text, then the image', '["text","image"]', JSON.stringify(types));
  const text = textOf(res);
  r.check('format image: the header names the call, selector and range', text.startsWith(`Flame graph, ${TYPE}, ${SEL}, `), text.slice(0, 200));
  r.check('format image: the header gives the total and the picture\'s size', /Total 16\.77s over 1 series/.test(text) && /Image \(PNG\): \d+x\d+ px, \d+ bytes; \d+ frames drawn/.test(text), text);
  r.check('format image: the text stays within the ~4,000-token budget', text.length <= 16000, `${text.length} chars`);
  const img = res.content.find((c) => c.type === 'image');
  r.eq('format image: mimeType image/png', 'image/png', img?.mimeType);
  const buf = Buffer.from(img.data, 'base64');
  writeFileSync(`${o.work}/flame.png`, buf);
  const h = ihdr(buf);
  const st = res.structuredContent;
  r.check('format image: PNG signature and IHDR first', h.sig && h.chunk === 'IHDR', JSON.stringify(h));
  r.eq('format image: IHDR size = the stated size', `${st.image.width}x${st.image.height}`, `${h.width}x${h.height}`);
  r.check('format image: at least 1200 px wide', h.width >= 1200, h.width);
  const png = PNG.sync.read(buf);
  r.eq('format image: pngjs decodes it at that size', `${h.width}x${h.height}`, `${png.width}x${png.height}`);
  const colours = distinctColours(png);
  r.check('format image: not blank (many distinct colours: boxes, anti-aliased labels)', colours >= 50, `${colours} colours`);
  r.check(`format image: ${st.rows.length} rows drawn in ${buf.length} bytes, under 200 KB`, buf.length < 200 * 1024, buf.length);
  r.eq('format image: bytes stated = bytes sent', buf.length, st.image.bytes);
  r.eq('format image: drawn + not drawn = rows', st.rows.length, st.image.drawn + st.image.not_drawn);
  r.eq('format image: the root is pprof\'s total', pprof.total.toString(), String(st.root_cum));
  const plain = await client.callTool({ name: 'query_profile_flamegraph', arguments: args });
  r.eq('format image: its rows equal the text format\'s', JSON.stringify(plain.structuredContent.rows), JSON.stringify(st.rows));
  imageRows = st.rows;
  const wide = await client.callTool({ name: 'query_profile_flamegraph', arguments: { ...args, format: 'image', width: 1600 } });
  const wb = Buffer.from(wide.content.find((c) => c.type === 'image').data, 'base64');
  r.eq('format image, width 1600: a 1600 px PNG', 1600, ihdr(wb).width);
  const bad = await client.callTool({ name: 'query_profile_flamegraph', arguments: { ...args, format: 'image', width: 50 } });
  r.check('format image, width 50: isError naming width', bad.isError && /width/.test(textOf(bad)), textOf(bad));
  const badf = await client.callTool({ name: 'query_profile_flamegraph', arguments: { ...args, format: 'gif' } });
  r.check('format gif: isError naming format', badf.isError && /format/.test(textOf(badf)), textOf(badf));
  const nofocus = await client.callTool({ name: 'query_profile_flamegraph', arguments: { ...args, format: 'image', focus_path: ['no.such'] } });
  r.check('format image, focus_path matching nothing: the same isError as text', nofocus.isError && /focus_path matches no stack/.test(textOf(nofocus)), textOf(nofocus));
  const focus = imageRows.find((x) => x.parent === 0 && !x.other);
  const fz = await client.callTool({ name: 'query_profile_flamegraph', arguments: { ...args, format: 'image', focus_path: [focus.name] } });
  r.eq('format image, focus_path: the focus root\'s cum', String(focus.cum), String(fz.structuredContent.root_cum));
});
await client.close();

// ---- GET /flamegraph.svg ---------------------------------------------------------------------
const q = `profile_type=${encodeURIComponent(TYPE)}&selector=${encodeURIComponent(SEL)}&max_nodes=300`;
await r.step('/flamegraph.svg', async () => {
  const resp = await fetch(`${o.url}/flamegraph.svg?${q}`);
  r.eq('/flamegraph.svg: 200', 200, resp.status);
  r.check('/flamegraph.svg: image/svg+xml', /^image\/svg\+xml/.test(resp.headers.get('content-type')), resp.headers.get('content-type'));
  r.check('/flamegraph.svg: a CSP forbids loading anything from elsewhere', /default-src 'none'/.test(resp.headers.get('content-security-policy') ?? ''));
  const svg = await resp.text();
  writeFileSync(`${o.work}/flame.svg`, svg);
  r.eq('/flamegraph.svg: well-formed XML (fast-xml-parser)', true, XMLValidator.validate(svg));
  const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', isArray: (n) => n === 'g' }).parse(svg);
  const root = doc.svg;
  const plot = Number(root['data-plot-width']);
  const frames = root.g.find((g) => g.class === 'frames').g.map((g) => ({
    id: Number(g['data-id']), parent: Number(g['data-parent']), cum: BigInt(g['data-cum']), name: g['data-name'],
    x: Number(g.rect.x), w: Number(g.rect.width),
  }));
  const byId = new Map(frames.map((f) => [f.id, f]));
  r.eq('/flamegraph.svg: the root\'s cum is pprof\'s total', pprof.total.toString(), String(byId.get(0)?.cum));
  r.check('/flamegraph.svg: the root spans the plot', Math.abs(byId.get(0).w - plot) < 0.01, `${byId.get(0).w} vs ${plot}`);
  const rootCum = Number(byId.get(0).cum);
  const errs = [];
  const childSum = new Map();
  for (const f of frames) {
    const want = (Number(f.cum) / rootCum) * plot;
    if (Math.abs(f.w - want) > 0.01) errs.push(`${f.name}: width ${f.w}, cum share ${want}`);
    if (f.id === 0) continue;
    const p = byId.get(f.parent);
    if (!p) { errs.push(`${f.name}: parent ${f.parent} not drawn`); continue; }
    if (f.x < p.x - 0.01 || f.x + f.w > p.x + p.w + 0.02) errs.push(`${f.name}: [${f.x}, ${f.x + f.w}] outside parent [${p.x}, ${p.x + p.w}]`);
    childSum.set(p.id, (childSum.get(p.id) ?? 0) + f.w);
  }
  for (const [id, s] of childSum) if (s > byId.get(id).w + 0.02) errs.push(`children of ${byId.get(id).name} sum to ${s} > ${byId.get(id).w}`);
  r.check(`/flamegraph.svg: ${frames.length} rectangles add up (width = cum share, inside the parent, children <= parent)`, errs.length === 0, errs.slice(0, 5).join('; '));
  const notDrawn = Number(root['data-narrow']) + Number(root['data-deep']) + Number(root['data-over']);
  r.eq('/flamegraph.svg: drawn + not drawn = the tool\'s rows', imageRows?.length, frames.length + notDrawn);
  const miss = await fetch(`${o.url}/flamegraph.svg`);
  r.check('/flamegraph.svg without profile_type: 400 naming the types present', miss.status === 400 && /cpu:nanoseconds/.test(await miss.text()));
  const badSel = await fetch(`${o.url}/flamegraph.svg?profile_type=${TYPE}&selector=${encodeURIComponent('{service.name=')}`);
  r.eq('/flamegraph.svg with a broken selector: 400', 400, badSel.status);
});

// ---- the page in headless Chromium ----------------------------------------------------------
const browser = await puppeteer.launch({
  executablePath: o.chromium,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-dev-shm-usage'],
});
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 900, deviceScaleFactor: 1 });
  const foreign = [];
  const errors = [];
  page.on('request', (req) => { if (!req.url().startsWith(o.url) && !req.url().startsWith('data:')) foreign.push(req.url()); });
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  const pageUrl = `${o.url}/?profile_type=${encodeURIComponent(TYPE)}&service_name=flate&max_nodes=300`;
  const resp = await page.goto(pageUrl, { waitUntil: 'load' });
  r.eq('page: 200', 200, resp.status());
  await r.step('page: DOM', async () => {
    const dom = await page.evaluate(() => {
      const svg = document.getElementById('otelprofd-flame');
      const plot = Number(svg.getAttribute('data-plot-width'));
      const k = svg.getBoundingClientRect().width / Number(svg.getAttribute('width'));
      const frames = [...svg.querySelectorAll('g.f')].map((g) => {
        const b = g.querySelector('rect').getBoundingClientRect();
        return { id: g.dataset.id, parent: g.dataset.parent, depth: Number(g.dataset.depth), name: g.dataset.name, cum: g.dataset.cum, flat: g.dataset.flat, left: b.left, top: b.top, width: b.width / k, fill: g.querySelector('rect').getAttribute('fill'), label: g.querySelector('text').textContent };
      });
      const top = [...document.querySelectorAll('#top tr[data-flat]')].map((tr) => ({ flat: tr.dataset.flat, cum: tr.dataset.cum, fn: tr.querySelector('td.fn').textContent }));
      const selected = document.getElementById('in-service_name').value;
      return { plot, frames, top, selected, rootCum: svg.getAttribute('data-root-cum') };
    });
    r.eq('page: the service picked is selected in the form', 'flate', dom.selected);
    r.eq('page: the flame graph\'s root is pprof\'s total', pprof.total.toString(), dom.rootCum);
    const names = new Set(dom.frames.map((f) => f.name));
    for (const h of HOT) r.check(`page: hottest function by pprof flat is drawn: ${h}`, names.has(h));
    const rootCum = Number(dom.rootCum);
    const off = dom.frames.filter((f) => Math.abs(f.width - (Number(f.cum) / rootCum) * dom.plot) > 1);
    r.check(`page: all ${dom.frames.length} rendered rect widths = cum share of the plot within a pixel`, dom.frames.length > 10 && off.length === 0, off.slice(0, 3).map((f) => `${f.name} ${f.width}`).join('; '));
    r.check('page: labels are drawn (the widest frames carry their names, cut with an ellipsis when long)', dom.frames.filter((f) => f.width > 300).every((f) => f.label === f.name || (f.label.endsWith('\u2026') && f.name.startsWith(f.label.slice(0, -1)))), JSON.stringify(dom.frames.filter((f) => f.width > 300).map((f) => [f.name, f.label])));
    const want = byFlat.slice(0, dom.top.length).map(([name, v]) => `${name} ${v.flat} ${v.cum}`);
    const got = dom.top.map((t) => `${t.fn} ${t.flat} ${t.cum}`);
    r.check(`page: the top table's ${got.length} rows equal go tool pprof -top (names, flat, cum)`, got.length >= 10 && JSON.stringify(got) === JSON.stringify(want), `\n  want ${want.slice(0, 3).join(' | ')}\n  got  ${got.slice(0, 3).join(' | ')}`);

    // the screenshot: decodes, not blank, the frames' colours where the DOM puts them
    const shot = Buffer.from(await page.screenshot({ fullPage: true, type: 'png' }));
    writeFileSync(`${o.work}/page.png`, shot);
    const png = PNG.sync.read(shot);
    r.check('page screenshot: a PNG at least 1200 px wide', png.width >= 1200, `${png.width}x${png.height}`);
    const colours = distinctColours(png);
    r.check('page screenshot: not blank', colours >= 50, `${colours} colours`);
    const pixel = (x, y) => { const i = (Math.round(y) * png.width + Math.round(x)) * 4; return `rgb(${png.data[i]},${png.data[i + 1]},${png.data[i + 2]})`; };
    const wide = dom.frames.filter((f) => f.width > 40).slice(0, 8);
    const wrong = wide.filter((f) => pixel(f.left + f.width - 2, f.top + 2) !== f.fill.replace(/\s/g, ''));
    r.check(`page screenshot: ${wide.length} frames show their fill colour where the DOM places them`, wide.length >= 3 && wrong.length === 0, wrong.map((f) => `${f.name}: ${pixel(f.left + f.width - 2, f.top + 2)} vs ${f.fill}`).join('; '));

    // hover, click (zoom), search, reset
    const child = dom.frames.filter((f) => f.parent === '0').sort((a, b) => Number(b.cum) - Number(a.cum))[0];
    await page.hover(`g.f[data-id="${child.id}"] rect`);
    const details = await page.$eval('#otelprofd-flame .details', (e) => e.textContent);
    r.check('page hover: the details line shows name, cum and %', details.startsWith(child.name) && /cum .*\(\d+\.\d\d%\), flat/.test(details), details);
    await page.click(`g.f[data-id="${child.id}"] rect`);
    const z = await page.evaluate((id) => {
      const svg = document.getElementById('otelprofd-flame');
      const w = (g) => Number(g.querySelector('rect').getAttribute('width'));
      const gs = [...svg.querySelectorAll('g.f')];
      const me = gs.find((g) => g.dataset.id === id);
      const hidden = gs.filter((g) => g.style.display === 'none').length;
      const siblings = gs.filter((g) => g.dataset.parent === '0' && g.dataset.id !== id);
      return { zoom: svg.getAttribute('data-zoom'), w: w(me), rootW: w(gs[0]), hidden, siblingsHidden: siblings.every((g) => g.style.display === 'none') };
    }, child.id);
    r.check('page click: zooms into the frame (it and the root span the plot, its siblings hidden)', z.zoom === child.id && Math.abs(z.w - dom.plot) < 0.01 && Math.abs(z.rootW - dom.plot) < 0.01 && z.siblingsHidden && z.hidden > 0, JSON.stringify(z));
    await page.click('#otelprofd-flame .reset');
    const reset = await page.$eval(`g.f[data-id="${child.id}"] rect`, (e) => Number(e.getAttribute('width')));
    r.check('page reset: the frame is back to its width', Math.abs(reset - (Number(child.cum) / rootCum) * dom.plot) < 0.01, reset);
    await page.type('#search', 'huffSym');
    const s = await page.evaluate(() => {
      const svg = document.getElementById('otelprofd-flame');
      const gs = [...svg.querySelectorAll('g.f')];
      return { lit: gs.filter((g) => g.querySelector('rect').getAttribute('fill') === 'rgb(230,0,230)').map((g) => g.dataset.name), want: gs.filter((g) => /huffSym/.test(g.dataset.name)).length, matched: svg.getAttribute('data-matched'), text: svg.querySelector('.matched').textContent };
    });
    r.check('page search: exactly the matching frames are highlighted', s.lit.length === s.want && s.want > 0 && s.lit.every((n) => /huffSym/.test(n)), JSON.stringify(s));
    r.check('page search: the matched share is said', /^Matched: \d+\.\d\d% of total$/.test(s.text) && BigInt(s.matched) > 0n && BigInt(s.matched) <= pprof.rows.get('compress/flate.(*decompressor).huffSym').cum, JSON.stringify(s));
  });
  r.eq('page: nothing fetched from elsewhere (no external scripts or fonts)', '[]', JSON.stringify(foreign));
  r.eq('page: no script errors', '[]', JSON.stringify(errors));

  // the standalone SVG in the browser: its own script runs (zoom from the fragment)
  await r.step('standalone SVG in the browser', async () => {
    const svgPage = await browser.newPage();
    const svgErrors = [];
    svgPage.on('pageerror', (e) => svgErrors.push(e.message));
    await svgPage.goto(`${o.url}/flamegraph.svg?${q}#zoom=1&search=flate`, { waitUntil: 'load' });
    const st = await svgPage.evaluate(() => ({ zoom: document.documentElement.getAttribute('data-zoom'), matched: document.documentElement.getAttribute('data-matched'), api: typeof window.otelprofdFlame?.zoom }));
    r.check('standalone SVG: its script runs (zoom and search from the URL fragment)', st.zoom === '1' && Number(st.matched) > 0 && st.api === 'function', JSON.stringify(st));
    r.eq('standalone SVG: no script errors', '[]', JSON.stringify(svgErrors));
  });

  // an empty store's page says what to do
  await r.step('page for a type with nothing in range', async () => {
    const p2 = await browser.newPage();
    await p2.goto(`${o.url}/?profile_type=${encodeURIComponent(TYPE)}&start=2001-01-01T00:00:00Z&end=2001-01-02T00:00:00Z`, { waitUntil: 'load' });
    const msg = await p2.$eval('#msg', (e) => e.textContent).catch(() => '');
    r.check('page: a range without samples says "No samples in range"', /No samples in range/.test(msg), msg);
  });
} finally {
  await browser.close();
}
process.exit(r.summary() ? 0 : 1);
