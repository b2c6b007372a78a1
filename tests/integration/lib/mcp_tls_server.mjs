// mcp_tls_server.mjs — an independent MCP server over https (the official SDK's McpServer
// and StreamableHTTPServerTransport, stateless, on node:https), for testing otelprofd's MCP
// client side (`otelprofd query --connect https://...`, `otelprofd mcp --connect`) without
// otelprofd on the other end. One tool, `whoami`, answers with the subject CN of the client
// certificate the connection presented ("none" without one).
//
// CLI: node mcp_tls_server.mjs --ca CA.pem --cert SERVER.pem --key SERVER.key
//        [--require-client-cert]
// Prints {"port":PORT} when listening; runs until killed.
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';

const o = {};
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const k = argv[i].replace(/^--/, '');
  if (k === 'require-client-cert') o.requireClient = true;
  else o[k] = argv[++i];
}
if (!o.ca || !o.cert || !o.key) {
  console.error('usage: mcp_tls_server.mjs --ca CA.pem --cert SERVER.pem --key SERVER.key [--require-client-cert]');
  process.exit(2);
}

function makeServer(cn) {
  const s = new McpServer({ name: 'tls-stub', version: '0.0.0' });
  s.registerTool('whoami', { description: 'the client certificate subject CN' }, async () => ({
    content: [{ type: 'text', text: `client certificate CN=${cn ?? 'none'}` }],
  }));
  return s;
}

const web = https.createServer(
  {
    ca: readFileSync(o.ca),
    cert: readFileSync(o.cert),
    key: readFileSync(o.key),
    requestCert: !!o.requireClient,
    rejectUnauthorized: !!o.requireClient,
  },
  async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    let body;
    try {
      body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : undefined;
    } catch {
      res.writeHead(400).end();
      return;
    }
    const cn = req.socket.getPeerCertificate?.()?.subject?.CN;
    const server = makeServer(cn);
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.on('close', () => {
      transport.close();
      server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
  },
);
await new Promise((r) => web.listen(0, '127.0.0.1', r));
console.log(JSON.stringify({ port: web.address().port }));
