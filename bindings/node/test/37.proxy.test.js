'use strict';
// Through a real proxy (pproxy, from the project's venv: `make test`
// installs it): the `proxy` option, and a proxy's refusal.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const net = require('net');
const path = require('path');
const { spawn } = require('child_process');
const { once } = require('events');
const { WebSocket } = require('..');
const { startServer } = require('./helpers');

const PPROXY = path.join(__dirname, '..', '..', '..', '.venv', 'bin', 'pproxy');

async function freePort() {
  const s = net.createServer();
  await new Promise((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address();
  await new Promise((resolve) => s.close(resolve));
  return port;
}

async function startProxy(t, auth) {
  const port = await freePort();
  const child = spawn(PPROXY, ['-l', `http://127.0.0.1:${port}#${auth}`, '--auth', '0'], { stdio: 'ignore' });
  t.after(() => child.kill());
  for (;;) { // ready when it accepts a connection
    const ok = await new Promise((resolve) => {
      const c = net.connect(port, '127.0.0.1', () => { c.destroy(); resolve(true); });
      c.on('error', () => resolve(false));
    });
    if (ok) return port;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const skip = !fs.existsSync(PPROXY) && !process.env.CI && 'pproxy is not installed (`make test` installs it)';

test('the proxy option carries the connection, and a 407 is an error', { skip }, async (t) => {
  const server = await startServer();
  t.after(() => server.stop());
  const port = await startProxy(t, 'alice:s3cret');
  const ws = new WebSocket(server.url, { reconnect: false, proxy: `http://alice:s3cret@127.0.0.1:${port}` });
  await once(ws, 'open');
  ws.send('via the proxy');
  const [data, isBinary] = await once(ws, 'message'); // ws-style arguments
  assert.deepStrictEqual([data.toString(), isBinary], ['via the proxy', false]);
  ws.close();
  await once(ws, 'close');

  const refused = new WebSocket(server.url, { reconnect: false, proxy: `http://alice:wrong@127.0.0.1:${port}` });
  const [err] = await once(refused, 'error');
  assert.match(String(err.message), /407/);
  assert.doesNotMatch(String(err.message), /wrong/);
});
