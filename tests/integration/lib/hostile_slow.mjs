// hostile_slow.mjs — slowloris clients: N connections per port that send an HTTP request
// head one byte at a time (every --every ms), or open and then go silent (--silent after
// a partial head), or (--body) send a whole head announcing a 100 KB body and drip the
// body; they never finish. Runs until --seconds have passed or SIGTERM.
//
// CLI: node hostile_slow.mjs --ports P1,P2 --n N [--every MS] [--silent | --body]
//        [--seconds S] [--ready FILE]
// Writes FILE (if given) once every connection is established. Prints one JSON line at
// the end: {"opened": k, "refused": k, "closed_by_server": k, "open_at_end": k,
//            "first_close_ms": t|null, "last_close_ms": t|null}
// (refused: closed by the server before the first byte was written; *_close_ms from the
// start of the run).
import net from 'node:net';
import { writeFileSync } from 'node:fs';

const args = process.argv.slice(2);
const opt = (n, d) => (args.includes(n) ? args[args.indexOf(n) + 1] : d);
const ports = String(opt('--ports', '')).split(',').filter(Boolean).map(Number);
const n = Number(opt('--n', 100));
const every = Number(opt('--every', 2000));
const silent = args.includes('--silent');
const bodyMode = args.includes('--body');
const seconds = Number(opt('--seconds', 30));
const ready = opt('--ready');
if (!ports.length) {
  console.error('usage: hostile_slow.mjs --ports P1,P2 --n N [--every MS] [--silent] [--seconds S] [--ready FILE]');
  process.exit(2);
}

const t0 = Date.now();
const st = { opened: 0, refused: 0, closed_by_server: 0, open_at_end: 0, first_close_ms: null, last_close_ms: null };
const socks = [];
const head = bodyMode
  ? 'POST /v1development/profiles HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-protobuf\r\nContent-Length: 100000\r\n\r\n'
  : 'POST /v1development/profiles HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-protobuf\r\nX-Slow: ';
let stopping = false;

function open(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    const rec = { s, sent: 0, closed: false };
    s.setNoDelay(true);
    s.on('connect', () => {
      st.opened++;
      // a partial head at once, then a byte at a time (or nothing more with --silent)
      const first = bodyMode ? head.length : 10;
      s.write(head.slice(0, first));
      rec.sent = first;
      socks.push(rec);
      resolve();
    });
    s.on('data', () => {});
    s.on('error', () => {});
    s.on('close', () => {
      if (rec.closed || stopping) return;
      rec.closed = true;
      if (!rec.sent) {
        st.refused++;
        resolve();
        return;
      }
      st.closed_by_server++;
      const t = Date.now() - t0;
      st.first_close_ms ??= t;
      st.last_close_ms = t;
    });
  });
}

for (const p of ports) {
  const batch = [];
  for (let i = 0; i < n; i++) batch.push(open(p));
  await Promise.all(batch);
}
if (ready) writeFileSync(ready, `${st.opened}\n`);

const drip = silent
  ? null
  : setInterval(() => {
      for (const r of socks) {
        if (r.closed) continue;
        r.s.write(r.sent < head.length ? head[r.sent] : 'a');
        r.sent++;
      }
    }, every);

const finish = () => {
  stopping = true;
  if (drip) clearInterval(drip);
  st.open_at_end = socks.filter((r) => !r.closed).length;
  console.log(JSON.stringify(st));
  for (const r of socks) r.s.destroy();
  process.exit(0);
};
process.on('SIGTERM', finish);
setTimeout(finish, seconds * 1000);
