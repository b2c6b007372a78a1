// hostile_grpc.mjs — one gRPC Export call framed by hand on node's own HTTP/2 client, for
// what grpc-js will not send: a message that is already gzip-compressed (a compression
// bomb: grpc-js would have to hold the inflated gigabyte to compress it itself).
//
// CLI: node hostile_grpc.mjs HOST:PORT FILE [--compressed]
//   --compressed: FILE is gzip data, sent with the compressed flag and grpc-encoding gzip.
// Prints one JSON line {"status": <grpc-status or null>, "message": "...", "http": <:status>,
// "ms": <elapsed>}; exit 0 whenever an answer (or a reset) came back, 2 on usage errors.
import { readFileSync } from 'node:fs';
import http2 from 'node:http2';

const [addr, file] = process.argv.slice(2);
if (!addr || !file) {
  console.error('usage: hostile_grpc.mjs HOST:PORT FILE [--compressed]');
  process.exit(2);
}
const compressed = process.argv.includes('--compressed');
const payload = readFileSync(file);
const frame = Buffer.alloc(5);
frame[0] = compressed ? 1 : 0;
frame.writeUInt32BE(payload.length, 1);

const t0 = Date.now();
const out = { status: null, message: '', http: null, ms: 0 };
const done = () => {
  out.ms = Date.now() - t0;
  console.log(JSON.stringify(out));
  process.exit(0);
};
const client = http2.connect(`http://${addr}`);
client.on('error', (e) => {
  out.message = out.message || `connection error: ${e.message}`;
  done();
});
const headers = {
  ':method': 'POST',
  ':path': '/opentelemetry.proto.collector.profiles.v1development.ProfilesService/Export',
  'content-type': 'application/grpc',
  te: 'trailers',
};
if (compressed) headers['grpc-encoding'] = 'gzip';
const req = client.request(headers);
const take = (h) => {
  if (h[':status']) out.http = h[':status'];
  if (h['grpc-status'] !== undefined) out.status = Number(h['grpc-status']);
  if (h['grpc-message'] !== undefined) out.message = decodeURIComponent(h['grpc-message']);
};
req.on('response', take);
req.on('trailers', take);
req.on('data', () => {});
req.on('end', () => {
  client.close();
  done();
});
req.on('error', (e) => {
  out.message = out.message || `stream error: ${e.message}`;
  done();
});
req.write(frame);
req.end(payload);
setTimeout(() => {
  out.message = 'no answer within 60 s';
  done();
}, 60000).unref();
