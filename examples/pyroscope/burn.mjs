// burn.mjs — a Node.js service profiled by the Grafana Pyroscope SDK (@pyroscope/nodejs),
// pushing to otelprofd's POST /ingest. It burns CPU in two named functions, burnAlpha about
// twice as long as burnBeta, so their share is known before the profile is looked at.
//
//   PYROSCOPE_SERVER_ADDRESS=http://127.0.0.1:4318 node burn.mjs [SECONDS]
//
// Environment: PYROSCOPE_SERVER_ADDRESS (otelprofd's OTLP/HTTP listener), PYROSCOPE_APP
// (application name, default node-burn), PYROSCOPE_FLUSH_MS (upload period, default 10000),
// PYROSCOPE_TENANT (sent as X-Scope-OrgID), PYROSCOPE_AUTH_TOKEN (sent as a bearer token).
import Pyroscope from '@pyroscope/nodejs';

const seconds = Number(process.argv[2] ?? 60);
Pyroscope.init({
  serverAddress: process.env.PYROSCOPE_SERVER_ADDRESS ?? 'http://127.0.0.1:4318',
  appName: process.env.PYROSCOPE_APP ?? 'node-burn',
  flushIntervalMs: Number(process.env.PYROSCOPE_FLUSH_MS ?? 10000),
  tags: { region: 'eu-west', version: '1.2.3' },
  tenantID: process.env.PYROSCOPE_TENANT,
  authToken: process.env.PYROSCOPE_AUTH_TOKEN,
  wall: { collectCpuTime: true },
});
Pyroscope.startWallProfiling();

// Busy loops in named functions; each returns something so no JIT can drop the work.
function spin(ms) {
  const end = performance.now() + ms;
  let x = 0;
  while (performance.now() < end) x = (x * 1103515245 + 12345) % 2147483647;
  return x;
}
function burnAlpha() {
  return spin(20);
}
function burnBeta() {
  return spin(10);
}

let sink = 0;
const until = Date.now() + seconds * 1000;
function round() {
  sink ^= burnAlpha();
  sink ^= burnBeta();
  if (Date.now() < until) setImmediate(round);
  else
    Pyroscope.stopWallProfiling().then(() => {
      console.log(`done (${sink & 1})`);
    });
}
round();
