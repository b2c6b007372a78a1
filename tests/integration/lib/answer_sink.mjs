// answer_sink.mjs — an independent plaintext OTLP profiles receiver that answers every
// export with a given partial success, for testing how a sender (`otelprofd send`) reads
// answers otelprofd itself would not give on demand (some samples stored, some dropped; a
// foreign receiver's warning). node:http for OTLP/HTTP (POST /v1development/profiles) and
// @grpc/grpc-js for OTLP/gRPC (Export); the response is encoded by hand:
//   ExportProfilesServiceResponse { partial_success (1) { rejected_profiles (1, int64),
//   error_message (2, string) } }
//
// CLI: node answer_sink.mjs --rejected N --message TEXT
// Prints {"http":PORT,"grpc":PORT}, then one line per request; runs until killed.
import http from 'node:http';
import { createRequire } from 'node:module';
import { EXPORT_PATH } from './send_grpc.mjs';

const require = createRequire(import.meta.url);
const grpc = (() => {
  const root = process.env.OTELPROFD_SRC && `${process.env.OTELPROFD_SRC}/tests/node_modules`;
  try {
    if (root) return require(`${root}/@grpc/grpc-js`);
  } catch {
    /* fall through */
  }
  return require('@grpc/grpc-js');
})();

const o = { rejected: '0', message: '' };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) o[argv[i].replace(/^--/, '')] = argv[++i];

function varint(v) {
  let x = BigInt.asUintN(64, BigInt(v));
  const out = [];
  do {
    let b = Number(x & 0x7fn);
    x >>= 7n;
    if (x) b |= 0x80;
    out.push(b);
  } while (x);
  return out;
}

function len(field, bytes) {
  return [...varint((field << 3) | 2), ...varint(bytes.length), ...bytes];
}

const ps = [];
if (BigInt(o.rejected) !== 0n) ps.push(...varint(1 << 3), ...varint(o.rejected));
if (o.message) ps.push(...len(2, [...Buffer.from(o.message, 'utf8')]));
const answer = Buffer.from(len(1, ps));

const web = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    if (req.method !== 'POST' || req.url !== '/v1development/profiles') {
      res.writeHead(404).end();
      return;
    }
    console.log(JSON.stringify({ transport: 'http' }));
    res.writeHead(200, { 'Content-Type': 'application/x-protobuf' }).end(answer);
  });
});
await new Promise((r) => web.listen(0, '127.0.0.1', r));

const identity = (b) => b;
const server = new grpc.Server();
server.addService(
  {
    Export: { path: EXPORT_PATH, requestStream: false, responseStream: false, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity },
  },
  {
    Export(call, callback) {
      console.log(JSON.stringify({ transport: 'grpc' }));
      callback(null, answer);
    },
  },
);
const grpcPort = await new Promise((resolve, reject) =>
  server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
);
console.log(JSON.stringify({ http: web.address().port, grpc: grpcPort }));
