// pyroscope_recorder.mjs — an independent HTTP recorder between a Pyroscope SDK and
// otelprofd: every request is saved (DIR/push<N>.body, DIR/push<N>.json with method, URL
// and headers), forwarded unchanged (method, path + query, body, Content-Type,
// Authorization, X-Scope-OrgID) to the upstream, and answered with the upstream's status
// and body; the status lands in push<N>.json as "upstream_status".
//
// CLI: node pyroscope_recorder.mjs DIR UPSTREAM_URL   (prints "PORT" once listening)
import http from 'node:http';
import { writeFileSync } from 'node:fs';

const [dir, upstream] = process.argv.slice(2);
let n = 0;
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', async () => {
    const id = n++;
    const body = Buffer.concat(chunks);
    const meta = { method: req.method, url: req.url, headers: req.headers };
    writeFileSync(`${dir}/push${id}.body`, body);
    const headers = {};
    for (const h of ['content-type', 'authorization', 'x-scope-orgid'])
      if (req.headers[h] !== undefined) headers[h] = req.headers[h];
    let status = 502;
    let text = '';
    try {
      const up = await fetch(upstream + req.url, { method: req.method, headers, body: req.method === 'POST' ? body : undefined });
      status = up.status;
      text = await up.text();
    } catch (e) {
      text = `recorder: upstream failed: ${e.message}`;
    }
    meta.upstream_status = status;
    meta.upstream_body = text;
    writeFileSync(`${dir}/push${id}.json`, JSON.stringify(meta, null, 1));
    res.writeHead(status, { 'content-type': 'text/plain' });
    res.end(text);
  });
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
