// otlp_sink.mjs — a plain node:http OTLP/HTTP receiver that counts what arrives, for the
// forwarding tests (an independent peer: no otelprofd code).
//
// CLI: node otlp_sink.mjs --out FILE [--port P] [--mode ok|reject|unavailable]
//   Listens on 127.0.0.1:P (0 = any; the bound port is printed as "port N" on stdout),
//   accepts POST /v1development/profiles (gzip or not) and appends one JSON line per
//   request to FILE: {"ids":[...req_N numbers found in the body...],"headers":{...}}.
//   mode ok answers 200 with an empty ExportProfilesServiceResponse; reject answers 400;
//   unavailable answers 503 with Retry-After: 1 (and records nothing).
import { appendFileSync } from 'node:fs';
import http from 'node:http';
import { gunzipSync } from 'node:zlib';

const args = process.argv.slice(2);
const o = { port: 0, mode: 'ok' };
for (let i = 0; i < args.length; i++) o[args[i].replace(/^--/, '')] = args[++i];

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    if (req.method !== 'POST' || req.url !== '/v1development/profiles') {
      res.writeHead(404).end();
      return;
    }
    if (o.mode === 'unavailable') {
      res.writeHead(503, { 'Retry-After': '1' }).end();
      return;
    }
    if (o.mode === 'reject') {
      res.writeHead(400, { 'Content-Type': 'application/x-protobuf' }).end();
      return;
    }
    let body = Buffer.concat(chunks);
    if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
    const ids = (body.toString('latin1').match(/req_\d+/g) ?? []).map((s) => Number(s.slice(4)));
    appendFileSync(o.out, JSON.stringify({ ids, bytes: body.length, headers: req.headers }) + '\n');
    res.writeHead(200, { 'Content-Type': 'application/x-protobuf' }).end();
  });
});
server.listen(Number(o.port), '127.0.0.1', () => console.log(`port ${server.address().port}`));
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => server.close(() => process.exit(0)));
