// nats_jwt.mjs — a throwaway NATS operator/JWT setup (what `nsc` would make; Debian has no
// nsc) with the official @nats-io/jwt and @nats-io/nkeys, for test_nats_tls.sh.
//
//   node nats_jwt.mjs DIR
//
// Writes into DIR:
//   auth.conf      nats-server configuration fragment: the operator JWT, the system account
//                  and a MEMORY resolver preloaded with the system account and account APP
//                  (JetStream enabled: unlimited memory and file storage, streams, consumers)
//   user.creds     a user of APP (JWT + NKey seed, the format nats.c reads)
//   stranger.creds a user of account OTHER, signed by the same operator but not known to the
//                  server (not preloaded): the server must refuse it
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { encodeAccount, encodeOperator, encodeUser, fmtCreds } from "@nats-io/jwt";
import { createAccount, createOperator, createUser } from "@nats-io/nkeys";

const dir = process.argv[2];
if (!dir) {
  console.error("usage: node nats_jwt.mjs DIR");
  process.exit(2);
}

const operator = createOperator();
const sys = createAccount();
const app = createAccount();
const other = createAccount();

const opJwt = await encodeOperator("otelprofd-test", operator, {
  system_account: sys.getPublicKey(),
});
const sysJwt = await encodeAccount("SYS", sys, {}, { signer: operator });
// -1 = unlimited, as nsc writes them (an omitted limit would be 0: no connections at all)
const jsLimits = {
  subs: -1,
  data: -1,
  payload: -1,
  imports: -1,
  exports: -1,
  wildcards: true,
  conn: -1,
  leaf: -1,
  mem_storage: -1,
  disk_storage: -1,
  streams: -1,
  consumer: -1,
  mem_max_stream_bytes: -1,
  disk_max_stream_bytes: -1,
  max_ack_pending: -1,
};
const appJwt = await encodeAccount("APP", app, { limits: jsLimits }, { signer: operator });
const otherJwt = await encodeAccount("OTHER", other, { limits: jsLimits }, { signer: operator });
void otherJwt; // signed, never given to the server

async function creds(name, account) {
  const u = createUser();
  return fmtCreds(await encodeUser(name, u, account), u);
}

writeFileSync(join(dir, "operator.jwt"), opJwt);
writeFileSync(
  join(dir, "auth.conf"),
  `operator: ${JSON.stringify(join(dir, "operator.jwt"))}
system_account: ${sys.getPublicKey()}
resolver: MEMORY
resolver_preload: {
  ${sys.getPublicKey()}: ${JSON.stringify(sysJwt)}
  ${app.getPublicKey()}: ${JSON.stringify(appJwt)}
}
`,
);
writeFileSync(join(dir, "user.creds"), await creds("otelprofd", app));
writeFileSync(join(dir, "stranger.creds"), await creds("stranger", other));
console.log(JSON.stringify({ operator: operator.getPublicKey(), app: app.getPublicKey() }));
