// otlp_sink.mjs — a plain node:http OTLP/HTTP receiver that counts what arrives, for the
// forwarding tests (an independent peer: no otelprofd code).
//
// CLI: node otlp_sink.mjs --out FILE [--port P] [--mode ok|reject|unavailable] [--grpc 1]
//   Listens on 127.0.0.1:P (0 = any; the bound port is printed as "port N" on stdout),
//   accepts POST /v1development/profiles (gzip or not) and appends one JSON line per
//   request to FILE: {"ids":[...req_N numbers found in the body...],"bytes":N,
//   "sha":"<sha256 of the (inflated) body>","headers":{...}}: distinct shas count distinct
//   requests however often one was sent (at least once).
//   mode ok answers 200 with an empty ExportProfilesServiceResponse; reject answers 400;
//   unavailable answers 503 with Retry-After: 1 (and records nothing).
//   With --grpc 1 it is an OTLP/gRPC server instead (@grpc/grpc-js, which inflates gzip
//   messages itself): ProfilesService/Export recorded the same way, metadata as headers;
//   reject answers INVALID_ARGUMENT, unavailable UNAVAILABLE.
import { appendFileSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';

const sha = (b) => createHash('sha256').update(b).digest('hex');

const args = process.argv.slice(2);
const o = { port: 0, mode: 'ok' };
for (let i = 0; i < args.length; i++) o[args[i].replace(/^--/, '')] = args[++i];

const idsOf = (body) => (body.toString('latin1').match(/req_\d+/g) ?? []).map((x) => Number(x.slice(4)));

if (o.grpc) {
  const require = createRequire(import.meta.url);
  let grpc;
  try {
    grpc = require(`${process.env.OTELPROFD_SRC}/tests/node_modules/@grpc/grpc-js`);
  } catch {
    grpc = require('@grpc/grpc-js');
  }
  const id = (b) => b;
  const server = new grpc.Server();
  server.addService(
    { Export: { path: '/opentelemetry.proto.collector.profiles.v1development.ProfilesService/Export',
      requestStream: false, responseStream: false, requestSerialize: id, requestDeserialize: id,
      responseSerialize: id, responseDeserialize: id } },
    {
      Export: (call, cb) => {
        if (o.mode === 'unavailable') return cb({ code: grpc.status.UNAVAILABLE, details: 'away' });
        if (o.mode === 'reject') return cb({ code: grpc.status.INVALID_ARGUMENT, details: 'no' });
        const headers = {};
        for (const [k, v] of Object.entries(call.metadata.getMap())) headers[k] = String(v);
        appendFileSync(o.out, JSON.stringify({ ids: idsOf(call.request), bytes: call.request.length, sha: sha(call.request), headers }) + '\n');
        cb(null, Buffer.alloc(0));
      },
    },
  );
  server.bindAsync(`127.0.0.1:${o.port}`, grpc.ServerCredentials.createInsecure(), (err, port) => {
    if (err) { console.error(err.message); process.exit(2); }
    console.log(`port ${port}`);
  });
  for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => server.tryShutdown(() => process.exit(0)));
} else {
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
    const ids = idsOf(body);
    appendFileSync(o.out, JSON.stringify({ ids, bytes: body.length, sha: sha(body), headers: req.headers }) + '\n');
    res.writeHead(200, { 'Content-Type': 'application/x-protobuf' }).end();
  });
});
server.listen(Number(o.port), '127.0.0.1', () => console.log(`port ${server.address().port}`));
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => server.close(() => process.exit(0)));
}
