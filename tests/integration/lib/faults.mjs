// faults.mjs — misbehaving and crowding OTLP clients for test_faults.sh.
//
// Independent clients only: raw TCP (node:net) for HTTP/1.1, node:http2 (nghttp2) speaking
// gRPC framing by hand, and @grpc/grpc-js. Every mode prints one JSON summary line and
// exits 0 when the clients ran (whatever they saw), 2 on usage or unexpected errors.
//
//   node faults.mjs request OUT SERVICE VALUE [PAD_BYTES]
//       writes a valid request: one cpu:nanoseconds sample (main -> foo) of VALUE at "now"
//       for service.name=SERVICE; PAD_BYTES adds a string of that size to the dictionary
//   node faults.mjs disconnect --http URL --grpc HOST:PORT --rounds N --file PB
//       N clients that leave mid-request, five kinds in turn: HTTP Content-Length 10 MiB
//       with half the body sent; a gzip body cut in half; a whole request whose answer is
//       never read; a grpc-js call cancelled while its 4 MiB message is being sent; an
//       HTTP/2 gRPC stream whose 4 MiB message stops half-way (session destroyed)
//   node faults.mjs inflight --http URL --grpc HOST:PORT --n N --size BYTES --slow-ms MS
//        [--stall K]
//       N HTTP and N gRPC (grpc-js) clients sending BYTES-large valid requests at once, the
//       HTTP bodies in pieces over MS ms, plus K HTTP uploads and K HTTP/2 gRPC streams that
//       stop half-way and wait (cut off only by the server); prints "ready" on stderr once
//       all are under way, then waits (up to 30 s each) for every outcome: HTTP status or
//       socket error, gRPC status or stream error
//   node faults.mjs connections --http URL --grpc HOST:PORT --n N [--n-http M]
//       M (default N) TCP connections to OTLP/HTTP and N HTTP/2 connections to gRPC, all opened before
//       any request is sent, then one small valid request each (service conn-http /
//       conn-grpc, value 1); outcomes counted, a client waiting over 60 s is a hang
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import http2 from 'node:http2';
import zlib from 'node:zlib';
import { createRequire } from 'node:module';
import { Msg } from './pbwire.mjs';
import { nowNs } from './otlp_time.mjs';

const require = createRequire(import.meta.url);
function loadGrpc() {
  const r = process.env.OTELPROFD_SRC && `${process.env.OTELPROFD_SRC}/tests/node_modules`;
  try {
    if (r) return require(`${r}/@grpc/grpc-js`);
  } catch {
    /* fall through */
  }
  return require('@grpc/grpc-js');
}
const grpc = loadGrpc();
const EXPORT_PATH = '/opentelemetry.proto.collector.profiles.v1development.ProfilesService/Export';
const OTLP_PATH = '/v1development/profiles';

// ---- requests -----------------------------------------------------------------------
export function request(service, value, pad = 0) {
  const strings = ['', 'cpu', 'nanoseconds', 'main', 'foo', 'service.name', 'main.go'];
  if (pad > 0) strings.push('p'.repeat(pad));
  const d = new Msg();
  d.msg(1, new Msg());
  d.msg(2, new Msg());
  d.msg(2, new Msg().msg(3, new Msg().varint(1, 1).varint(2, 10)));
  d.msg(2, new Msg().msg(3, new Msg().varint(1, 2).varint(2, 20)));
  d.msg(3, new Msg());
  d.msg(3, new Msg().varint(1, 3).varint(3, 6));
  d.msg(3, new Msg().varint(1, 4).varint(3, 6));
  for (const s of strings) d.string(5, s);
  d.msg(7, new Msg());
  d.msg(7, new Msg().packedVarints(1, [2, 1]));
  const t = nowNs() - 2n * 1000000000n;
  const p = new Msg().msg(1, new Msg().varint(1, 1).varint(2, 2));
  p.msg(2, new Msg().varint(1, 1).packedVarints(4, [value]));
  p.fixed64(3, t).varint(4, 1000000000);
  const res = new Msg().msg(1, new Msg().string(1, 'service.name').msg(2, new Msg().string(1, service)));
  return new Msg().msg(1, new Msg().msg(1, res).msg(2, new Msg().msg(2, p))).msg(2, d).toBuffer();
}

function grpcFrame(msg) {
  const h = Buffer.alloc(5);
  h.writeUInt32BE(msg.length, 1);
  return Buffer.concat([h, msg]);
}

function hostPort(url) {
  const u = new URL(url);
  return { host: u.hostname, port: Number(u.port) };
}

function httpHead(host, len, extra = '') {
  return (
    `POST ${OTLP_PATH} HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/x-protobuf\r\n` +
    `Content-Length: ${len}\r\n${extra}\r\n`
  );
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// One HTTP/1.1 exchange over a raw socket: resolves {status} or {error}; `hangMs` bounds it.
function rawHttp(url, head, body, { hangMs = 60000, onSocket } = {}) {
  return new Promise((resolve) => {
    const { host, port } = hostPort(url);
    const s = net.connect(port, host);
    let buf = Buffer.alloc(0);
    let done = false;
    const finish = (r) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => finish({ error: 'hang' }), hangMs);
    s.on('connect', () => {
      if (onSocket) onSocket(s);
      else s.write(Buffer.concat([Buffer.from(head), body]));
    });
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(buf.toString('latin1', 0, Math.min(buf.length, 64)));
      const end = buf.indexOf('\r\n\r\n');
      if (m && end >= 0) {
        const hdr = buf.toString('latin1', 0, end);
        const cl = /content-length:\s*(\d+)/i.exec(hdr);
        if (!cl || buf.length >= end + 4 + Number(cl[1]))
          finish({ status: Number(m[1]), retryAfter: /retry-after:/i.test(hdr) });
      }
    });
    s.on('error', (e) => finish({ error: e.code ?? e.message }));
    s.on('close', () => finish({ error: 'closed' }));
  });
}

// gRPC over node:http2 on an existing session: resolves {code} (grpc-status) or {error}.
function h2Call(session, msg, hangMs = 60000) {
  return new Promise((resolve) => {
    let done = false;
    const finish = (r) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(r);
    };
    const timer = setTimeout(() => {
      finish({ error: 'hang' });
      try {
        st.close(http2.constants.NGHTTP2_CANCEL);
      } catch {
        /* already gone */
      }
    }, hangMs);
    let st;
    try {
      st = session.request({
        ':method': 'POST',
        ':path': EXPORT_PATH,
        'content-type': 'application/grpc',
        te: 'trailers',
      });
    } catch (e) {
      finish({ error: e.code ?? e.message });
      return;
    }
    let headerStatus = null;
    st.on('response', (h) => {
      if (h['grpc-status'] !== undefined) headerStatus = Number(h['grpc-status']);
    });
    st.on('trailers', (t) => finish({ code: Number(t['grpc-status']) }));
    st.on('data', () => {});
    st.on('end', () => finish(headerStatus !== null ? { code: headerStatus } : { error: 'no-status' }));
    st.on('error', (e) => finish({ error: e.code ?? e.message }));
    st.on('close', () => finish(headerStatus !== null ? { code: headerStatus } : { error: 'stream-closed' }));
    st.end(grpcFrame(msg));
  });
}

function h2Connect(target) {
  return new Promise((resolve) => {
    const s = http2.connect(`http://${target}`);
    const t = setTimeout(() => resolve({ error: 'connect-hang', session: s }), 60000);
    s.on('connect', () => {
      clearTimeout(t);
      resolve({ session: s });
    });
    s.on('error', (e) => {
      clearTimeout(t);
      resolve({ error: e.code ?? e.message, session: s });
    });
  });
}

function grpcClient(target) {
  const Client = grpc.makeGenericClientConstructor({}, 'x');
  return new Client(target, grpc.credentials.createInsecure(), {
    'grpc.max_send_message_length': 256 << 20,
    'grpc.max_receive_message_length': 256 << 20,
    'grpc.use_local_subchannel_pool': 1,
  });
}

function grpcUnary(client, msg, deadlineMs, onCall) {
  return new Promise((resolve) => {
    const call = client.makeUnaryRequest(
      EXPORT_PATH,
      (b) => b,
      (b) => b,
      msg,
      new grpc.Metadata(),
      { deadline: Date.now() + deadlineMs },
      (err) => resolve(err ? { code: err.code, details: err.details } : { code: 0 }),
    );
    if (onCall) onCall(call);
  });
}

const count = (obj, k) => {
  obj[k] = (obj[k] ?? 0) + 1;
};

// ---- modes --------------------------------------------------------------------------
async function disconnect(o) {
  const rounds = Number(o.rounds);
  const { host } = hostPort(o.http);
  const file = readFileSync(o.file);
  const gz = zlib.gzipSync(Buffer.concat([file, file, file, file]));
  const big = request('dc-grpc', 1, 4 << 20);
  const half = Buffer.alloc(5 << 20, 0x5a);
  const client = grpcClient(o.grpc);
  const kinds = {};
  const outcomes = {};
  for (let i = 0; i < rounds; i++) {
    const kind = ['http_half_body', 'http_gzip_cut', 'http_no_read', 'grpc_cancel', 'h2_half_message'][i % 5];
    count(kinds, kind);
    let r;
    if (kind === 'http_half_body' || kind === 'http_gzip_cut') {
      const total = kind === 'http_half_body' ? 10 << 20 : gz.length;
      const part = kind === 'http_half_body' ? half : gz.subarray(0, gz.length >> 1);
      r = await rawHttp(o.http, '', Buffer.alloc(0), {
        hangMs: 30000,
        onSocket: (s) => {
          s.write(httpHead(host, total, 'Content-Encoding: ' + (kind === 'http_gzip_cut' ? 'gzip' : 'identity') + '\r\n'));
          s.write(part, () => s.destroy());
        },
      });
    } else if (kind === 'http_no_read') {
      const body = request('dc-noread', 1);
      r = await rawHttp(o.http, '', Buffer.alloc(0), {
        onSocket: (s) => s.write(Buffer.concat([Buffer.from(httpHead(host, body.length)), body]), () => s.destroy()),
      });
    } else if (kind === 'grpc_cancel') {
      r = await grpcUnary(client, big, 30000, (call) => setTimeout(() => call.cancel(), 2));
    } else {
      const c = await h2Connect(o.grpc);
      if (c.error) r = { error: c.error };
      else {
        r = await new Promise((resolve) => {
          const st = c.session.request({ ':method': 'POST', ':path': EXPORT_PATH, 'content-type': 'application/grpc', te: 'trailers' });
          st.on('error', () => {});
          const frame = grpcFrame(big);
          st.write(frame.subarray(0, frame.length >> 1), () => {
            c.session.destroy();
            resolve({ error: 'destroyed' });
          });
        });
      }
      c.session.destroy();
    }
    count(outcomes, `${kind}:${r.status ?? r.code ?? r.error}`);
  }
  client.close();
  return { rounds, kinds, outcomes };
}

async function inflight(o) {
  const n = Number(o.n);
  const size = Number(o.size);
  const slowMs = Number(o['slow-ms'] ?? 2000);
  const stall = Number(o.stall ?? 0);
  const { host } = hostPort(o.http);
  const body = request('sigterm', 1, size);
  const pending = [];
  let started = 0;
  const ready = () => {
    if (++started === 2 * n + 2 * stall) process.stderr.write('ready\n');
  };
  for (let i = 0; i < stall; i++) {
    pending.push(
      rawHttp(o.http, '', Buffer.alloc(0), {
        hangMs: 30000,
        onSocket: (s) => {
          s.on('error', () => {});
          s.write(httpHead(host, body.length));
          s.write(body.subarray(0, body.length >> 1), ready);
        },
      }).then((r) => ({ transport: 'http-stalled', ...r })),
    );
    pending.push(
      h2Connect(o.grpc).then(
        (c) =>
          new Promise((resolve) => {
            if (c.error) return resolve({ transport: 'h2-stalled', error: `connect:${c.error}` });
            let done = false;
            const finish = (r) => {
              if (done) return;
              done = true;
              clearTimeout(timer);
              c.session.destroy();
              resolve({ transport: 'h2-stalled', ...r });
            };
            const timer = setTimeout(() => finish({ error: 'hang' }), 30000);
            c.session.on('goaway', () => {});
            c.session.on('close', () => finish({ error: 'session-closed' }));
            const st = c.session.request({ ':method': 'POST', ':path': EXPORT_PATH, 'content-type': 'application/grpc', te: 'trailers' });
            st.on('response', (h) => {
              if (h['grpc-status'] !== undefined) finish({ code: Number(h['grpc-status']) });
            });
            st.on('trailers', (t) => finish({ code: Number(t['grpc-status']) }));
            st.on('data', () => {});
            st.on('error', (e) => finish({ error: e.code ?? e.message }));
            st.on('close', () => finish({ error: `stream-closed:${st.rstCode}` }));
            const frame = grpcFrame(body);
            st.write(frame.subarray(0, frame.length >> 1), ready);
          }),
      ),
    );
  }
  for (let i = 0; i < n; i++) {
    pending.push(
      rawHttp(o.http, '', Buffer.alloc(0), {
        hangMs: 30000,
        onSocket: async (s) => {
          s.on('error', () => {});
          s.write(httpHead(host, body.length));
          const pieces = 20;
          const step = Math.ceil(body.length / pieces);
          for (let k = 0; k < pieces && !s.destroyed; k++) {
            s.write(body.subarray(k * step, Math.min(body.length, (k + 1) * step)));
            if (k === 0) ready();
            await sleep(slowMs / pieces);
          }
        },
      }).then((r) => ({ transport: 'http', ...r })),
    );
  }
  const client = grpcClient(o.grpc);
  for (let i = 0; i < n; i++) {
    pending.push(grpcUnary(client, body, 30000).then((r) => ({ transport: 'grpc', ...r })));
    ready();
  }
  const results = await Promise.all(pending);
  client.close();
  const outcomes = {};
  for (const r of results) count(outcomes, `${r.transport}:${r.status ?? (r.code !== undefined ? grpc.status[r.code] : r.error)}`);
  return { n, stall, size, outcomes };
}

async function connections(o) {
  const n = Number(o.n);
  const nHttp = Number(o['n-http'] ?? o.n);
  const { host, port } = hostPort(o.http);
  const body = request('conn-http', 1);
  const head = Buffer.from(httpHead(host, body.length, 'Connection: close\r\n'));
  // open every TCP connection first, then send on all of them at once
  const socks = await Promise.all(
    Array.from(
      { length: nHttp },
      () =>
        new Promise((resolve) => {
          const s = net.connect(port, host);
          const t = setTimeout(() => resolve({ s, error: 'connect-hang' }), 60000);
          s.once('connect', () => {
            clearTimeout(t);
            resolve({ s });
          });
          s.once('error', (e) => {
            clearTimeout(t);
            resolve({ s, error: e.code ?? e.message });
          });
        }),
    ),
  );
  const sessions = await Promise.all(Array.from({ length: n }, () => h2Connect(o.grpc)));
  const t0 = Date.now();
  const httpResults = socks.map(({ s, error }) =>
    error
      ? Promise.resolve({ error: `connect:${error}` })
      : new Promise((resolve) => {
          let buf = Buffer.alloc(0);
          let done = false;
          const finish = (r) => {
            if (done) return;
            done = true;
            clearTimeout(timer);
            s.destroy();
            resolve(r);
          };
          const timer = setTimeout(() => finish({ error: 'hang' }), 60000);
          s.on('data', (d) => {
            buf = Buffer.concat([buf, d]);
            const m = /^HTTP\/1\.[01] (\d{3})/.exec(buf.toString('latin1', 0, Math.min(buf.length, 64)));
            if (m && buf.indexOf('\r\n\r\n') >= 0) finish({ status: Number(m[1]) });
          });
          s.on('error', (e) => finish({ error: e.code ?? e.message }));
          s.on('close', () => finish({ error: 'closed-without-answer' }));
          s.write(Buffer.concat([head, body]));
        }),
  );
  const grpcMsg = request('conn-grpc', 1);
  const grpcResults = sessions.map((c) => (c.error ? Promise.resolve({ error: `connect:${c.error}` }) : h2Call(c.session, grpcMsg)));
  const http = await Promise.all(httpResults);
  const g = await Promise.all(grpcResults);
  const seconds = (Date.now() - t0) / 1000;
  for (const c of sessions) c.session.destroy();
  const outcomes = { http: {}, grpc: {} };
  for (const r of http) count(outcomes.http, String(r.status ?? r.error));
  for (const r of g) count(outcomes.grpc, r.code !== undefined ? grpc.status[r.code] ?? String(r.code) : r.error);
  return {
    n,
    n_http: nHttp,
    http_ok: http.filter((r) => r.status === 200).length,
    grpc_ok: g.filter((r) => r.code === 0).length,
    hangs: [...http, ...g].filter((r) => r.error === 'hang' || r.error === 'connect:connect-hang').length,
    outcomes,
    seconds,
  };
}

// ---- main ---------------------------------------------------------------------------
const [mode, ...rest] = process.argv.slice(2);
try {
  if (mode === 'request') {
    const [out, service, value, pad] = rest;
    writeFileSync(out, request(service, Number(value), Number(pad ?? 0)));
    process.exit(0);
  }
  const o = {};
  for (let i = 0; i < rest.length; i++) o[rest[i].replace(/^--/, '')] = rest[++i];
  const fn = { disconnect, inflight, connections }[mode];
  if (!fn) {
    console.error('usage: faults.mjs request|disconnect|inflight|connections ... (see the header)');
    process.exit(2);
  }
  console.log(JSON.stringify(await fn(o)));
  process.exit(0);
} catch (e) {
  console.error(`faults.mjs ${mode}: ${e.stack ?? e}`);
  process.exit(2);
}
