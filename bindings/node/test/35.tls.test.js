'use strict';
// TLS options as tls.connect takes them: ca, cert, key as PEM strings or
// Buffers, rejectUnauthorized: false; caFile/certFile/keyFile for paths.
// The test certificates of tests/data (a test CA, a server certificate for
// 127.0.0.1 signed by it, a self-signed one).
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const https = require('node:https');
const path = require('node:path');
const { WebSocketServer } = require('ws');
const { WebSocket } = require('..');
const { once } = require('./helpers');

const DATA = path.resolve(__dirname, '..', '..', '..', 'tests', 'data');
const skip = fs.existsSync(DATA) ? {} : { skip: 'not run from a wsclient checkout' };
const read = (name) => fs.readFileSync(path.join(DATA, name));

async function tlsServer(cert, { requestCert = false } = {}) {
  const server = https.createServer({ cert, key: read('server.key'), ca: read('ca.pem'), requestCert, rejectUnauthorized: false });
  const wss = new WebSocketServer({ server });
  const peers = [];
  wss.on('connection', (socket, req) => {
    const peer = req.socket.getPeerCertificate();
    peers.push(peer && peer.subject ? { cn: peer.subject.CN, authorized: req.socket.authorized } : null);
    socket.on('message', (d, isBinary) => socket.send(d, { binary: isBinary }));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `wss://127.0.0.1:${server.address().port}/`,
    peers,
    stop: () => new Promise((r) => { for (const c of wss.clients) c.terminate(); wss.close(); server.close(r); }),
  };
}

async function opens(url, options) {
  const ws = new WebSocket(url, { reconnect: false, pingInterval: 0, ...options });
  const closed = once(ws, 'close');
  const outcome = await new Promise((resolve) => {
    ws.onopen = () => resolve('open');
    ws.onerror = (e) => resolve(e.error.code);
  });
  if (outcome === 'open') ws.close();
  await closed;
  return outcome;
}

test('ca as a PEM string, a Buffer or an array; without it the server is not trusted', skip, async () => {
  const server = await tlsServer(read('server.pem'));
  assert.strictEqual(await opens(server.url, {}), 'TLS');
  assert.strictEqual(await opens(server.url, { ca: read('ca.pem').toString() }), 'open');
  assert.strictEqual(await opens(server.url, { ca: read('ca.pem') }), 'open');
  assert.strictEqual(await opens(server.url, { ca: [read('unknownca.pem'), read('ca.pem')] }), 'open');
  assert.strictEqual(await opens(server.url, { caFile: path.join(DATA, 'ca.pem') }), 'open');
  assert.throws(() => new WebSocket(server.url, { ca: 42 }), TypeError);
  await server.stop();
});

test('rejectUnauthorized: false is the insecure switch', skip, async () => {
  const server = await tlsServer(read('selfsigned.pem'));
  assert.strictEqual(await opens(server.url, { rejectUnauthorized: true }), 'TLS');
  assert.strictEqual(await opens(server.url, { rejectUnauthorized: false }), 'open');
  await server.stop();
});

test('a client certificate: cert and key as PEM (strings or Buffers), or as file paths', skip, async () => {
  const server = await tlsServer(read('server.pem'), { requestCert: true });
  const ca = read('ca.pem');
  assert.strictEqual(await opens(server.url, { ca, cert: read('server.pem'), key: read('server.key').toString() }), 'open');
  assert.strictEqual(await opens(server.url, { ca, certFile: path.join(DATA, 'server.pem'), keyFile: path.join(DATA, 'server.key') }), 'open');
  assert.deepStrictEqual(server.peers, [
    { cn: 'wsclient test server', authorized: true },
    { cn: 'wsclient test server', authorized: true },
  ]);
  assert.throws(() => new WebSocket(server.url, { cert: read('server.pem') }), /go together/);
  await server.stop();
});

test('servername: the TLS name verified (and sent in SNI)', skip, async () => {
  const server = await tlsServer(read('server.pem'));
  const ca = read('ca.pem');
  assert.strictEqual(await opens(server.url, { ca, servername: 'localhost' }), 'open');
  assert.strictEqual(await opens(server.url, { ca, servername: 'other.example' }), 'TLS');
  assert.throws(() => new WebSocket(server.url, { servername: 5 }), TypeError);
  await server.stop();
});
