// send_grpc.mjs — send raw ExportProfilesServiceRequest bytes to an OTLP/gRPC endpoint
// with @grpc/grpc-js (an independent gRPC implementation), no proto-loader: the request
// is passed through as bytes and the response's partial_success is decoded by hand.
//
// CLI: node send_grpc.mjs HOST:PORT FILE [--gzip] [--shift] [--deadline-ms N]
//        [--ca PEM [--cert PEM --key PEM]]
//   FILE "-" reads stdin. --shift moves the file's times to now (otlp_time.mjs).
//   --ca switches to TLS (credentials.createSsl) trusting that CA; --cert/--key add a
//   client certificate (mTLS). Without --ca the channel is plaintext.
// Prints one JSON line: {"code":0,"status":"OK","details":"","partial_success":
//   {"rejected_profiles":"1","error_message":"..."}} (partial_success null when absent).
// Exit 0 whenever the call completed (whatever its status), 2 on usage or I/O errors.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { asInt64, decodeString, fields, WT_LEN, WT_VARINT } from './pbwire.mjs';
import { shiftToNow } from './otlp_time.mjs';

const require = createRequire(import.meta.url);
function loadGrpc() {
  const roots = [process.env.OTELPROFD_SRC && `${process.env.OTELPROFD_SRC}/tests/node_modules`];
  for (const r of roots.filter(Boolean)) {
    try {
      return require(`${r}/@grpc/grpc-js`);
    } catch {
      /* fall through to normal resolution */
    }
  }
  return require('@grpc/grpc-js');
}
const grpc = loadGrpc();

export const EXPORT_PATH = '/opentelemetry.proto.collector.profiles.v1development.ProfilesService/Export';

export function decodeResponse(buf) {
  let ps = null;
  for (const f of fields(buf)) {
    if (f.field !== 1 || f.wt !== WT_LEN) continue;
    ps = ps ?? { rejected_profiles: '0', error_message: '' };
    for (const g of fields(buf, f.start, f.end)) {
      if (g.field === 1 && g.wt === WT_VARINT) ps.rejected_profiles = asInt64(g.value).toString();
      else if (g.field === 2 && g.wt === WT_LEN) ps.error_message = decodeString(buf, g);
    }
  }
  return { partial_success: ps };
}

// tls: undefined for plaintext, or { ca, cert, key } as Buffers (cert/key optional).
export function sendGrpc(addr, payload, { gzip = false, deadlineMs = 30000, tls } = {}) {
  const identity = (b) => b;
  const Client = grpc.makeGenericClientConstructor(
    {
      Export: {
        path: EXPORT_PATH,
        requestStream: false,
        responseStream: false,
        requestSerialize: identity,
        requestDeserialize: identity,
        responseSerialize: identity,
        responseDeserialize: identity,
      },
    },
    'ProfilesService',
  );
  const options = { 'grpc.max_receive_message_length': 64 << 20, 'grpc.max_send_message_length': -1 };
  if (gzip) options['grpc.default_compression_algorithm'] = 2;
  const creds = tls
    ? grpc.credentials.createSsl(tls.ca, tls.key ?? null, tls.cert ?? null)
    : grpc.credentials.createInsecure();
  const client = new Client(addr, creds, options);
  return new Promise((resolve) => {
    const deadline = new Date(Date.now() + deadlineMs);
    client.Export(payload, { deadline }, (err, resp) => {
      client.close();
      if (err) {
        resolve({ code: err.code, status: grpc.status[err.code] ?? String(err.code), details: err.details ?? '', partial_success: null });
        return;
      }
      let decoded;
      try {
        decoded = decodeResponse(resp);
      } catch (e) {
        decoded = { partial_success: null, decode_error: e.message };
      }
      resolve({ code: 0, status: 'OK', details: '', ...decoded });
    });
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const pos = [];
  const opts = {};
  let shift = false;
  const tlsFiles = {};
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--gzip') opts.gzip = true;
    else if (['--ca', '--cert', '--key'].includes(args[i])) tlsFiles[args[i].slice(2)] = args[++i];
    else if (args[i] === '--shift') shift = true;
    else if (args[i] === '--deadline-ms') opts.deadlineMs = Number(args[++i]);
    else pos.push(args[i]);
  }
  if (pos.length !== 2 || ((tlsFiles.cert || tlsFiles.key) && !tlsFiles.ca) || !tlsFiles.cert !== !tlsFiles.key) {
    console.error('usage: send_grpc.mjs HOST:PORT FILE|- [--gzip] [--shift] [--deadline-ms N] [--ca PEM [--cert PEM --key PEM]]');
    process.exit(2);
  }
  let payload;
  try {
    if (tlsFiles.ca) {
      opts.tls = { ca: readFileSync(tlsFiles.ca) };
      if (tlsFiles.cert) {
        opts.tls.cert = readFileSync(tlsFiles.cert);
        opts.tls.key = readFileSync(tlsFiles.key);
      }
    }
    payload = readFileSync(pos[1] === '-' ? 0 : pos[1]);
  } catch (e) {
    console.error(`send_grpc: ${e.message}`);
    process.exit(2);
  }
  if (shift) payload = shiftToNow(payload);
  console.log(JSON.stringify(await sendGrpc(pos[0], payload, opts)));
}
