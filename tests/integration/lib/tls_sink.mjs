// tls_sink.mjs — an independent OTLP profiles receiver over TLS, for testing senders
// (`otelprofd send --tls-ca ...`) without otelprofd on the other end: node:https for
// OTLP/HTTP (POST /v1development/profiles) and @grpc/grpc-js for OTLP/gRPC (Export), both
// with the given server certificate and, with --require-client-cert, refusing clients
// without a certificate signed by --ca in the handshake.
//
// CLI: node tls_sink.mjs --ca CA.pem --cert SERVER.pem --key SERVER.key [--require-client-cert]
// Prints {"http":PORT,"grpc":PORT} first, then one JSON line per request received:
// {"transport":"http"|"grpc","profiles":N,"bytes":N,"client_cn":"..."|null}; answers
// every request with an empty ExportProfilesServiceResponse (all accepted). Runs until
// killed.
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { createRequire } from 'node:module';
import { gunzipSync } from 'node:zlib';
import { inspect } from './otlp_inspect.mjs';
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

const o = {};
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const k = argv[i].replace(/^--/, '');
  if (k === 'require-client-cert') o.requireClient = true;
  else o[k] = argv[++i];
}
if (!o.ca || !o.cert || !o.key) {
  console.error('usage: tls_sink.mjs --ca CA.pem --cert SERVER.pem --key SERVER.key [--require-client-cert]');
  process.exit(2);
}
const ca = readFileSync(o.ca);
const cert = readFileSync(o.cert);
const key = readFileSync(o.key);

function report(transport, body, clientCn) {
  let profiles = -1;
  try {
    profiles = inspect(body).profiles.length;
  } catch {
    /* not an ExportProfilesServiceRequest: -1 says so */
  }
  console.log(JSON.stringify({ transport, profiles, bytes: body.length, client_cn: clientCn ?? null }));
}

const web = https.createServer({ ca, cert, key, requestCert: !!o.requireClient, rejectUnauthorized: !!o.requireClient }, (req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    if (req.method !== 'POST' || req.url !== '/v1development/profiles') {
      res.writeHead(404).end();
      return;
    }
    let body = Buffer.concat(chunks);
    if (/gzip/i.test(req.headers['content-encoding'] ?? '')) body = gunzipSync(body);
    report('http', body, req.socket.getPeerCertificate?.()?.subject?.CN);
    res.writeHead(200, { 'Content-Type': 'application/x-protobuf' }).end();
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
      report('grpc', call.request, call.getAuthContext?.()?.sslPeerCertificate?.subject?.CN);
      callback(null, Buffer.alloc(0));
    },
  },
);
const creds = grpc.ServerCredentials.createSsl(o.requireClient ? ca : null, [{ cert_chain: cert, private_key: key }], !!o.requireClient);
const grpcPort = await new Promise((resolve, reject) => server.bindAsync('127.0.0.1:0', creds, (e, p) => (e ? reject(e) : resolve(p))));
console.log(JSON.stringify({ http: web.address().port, grpc: grpcPort }));
