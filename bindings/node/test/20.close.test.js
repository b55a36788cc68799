'use strict';
const test = require('node:test');
const assert = require('node:assert');
const { WebSocket } = require('..');
const { startServer, once } = require('./helpers');

test('close codes and the spec errors', async () => {
  const server = await startServer();
  const ws = new WebSocket(server.url);
  await once(ws, 'open');
  assert.throws(() => ws.close(999), { name: 'InvalidAccessError' });
  assert.throws(() => ws.close(1001), { name: 'InvalidAccessError' });
  assert.throws(() => ws.close(5000), { name: 'InvalidAccessError' });
  assert.throws(() => ws.close(1000, 'x'.repeat(124)), { name: 'SyntaxError' });
  assert.throws(() => ws.close(1000, 'é'.repeat(62)), { name: 'SyntaxError' }); // 124 bytes
  ws.close(3001, 'é'.repeat(61));
  ws.close(3001); // again: nothing happens
  const e = await once(ws, 'close');
  assert.strictEqual(e.code, 3001);
  ws.send('after close is discarded');
  await server.stop();
});

test('server close code and reason', async () => {
  const server = await startServer();
  const ws = new WebSocket(server.url, [], { reconnect: false });
  await once(ws, 'open');
  ws.send('!close 4002 server says bye');
  const e = await once(ws, 'close');
  assert.deepStrictEqual([e.code, e.reason, e.wasClean], [4002, 'server says bye', true]);
  await server.stop();
});

test('handshake rejected: error, then close with 1006', async () => {
  const server = await startServer({ verifyClient: (info, cb) => cb(false, 403, 'Forbidden') });
  const ws = new WebSocket(server.url);
  const order = [];
  ws.onerror = (e) => order.push(['error', e.error.code, e.error.httpStatus]);
  ws.onclose = (e) => order.push(['close', e.code, e.wasClean]);
  await once(ws, 'close');
  assert.deepStrictEqual(order, [['error', 'HANDSHAKE_REJECTED', 403], ['close', 1006, false]]);
  await server.stop();
});

test('close() from inside onmessage', async () => {
  const server = await startServer();
  const ws = new WebSocket(server.url);
  ws.onopen = () => { ws.send('a'); ws.send('b'); };
  const got = [];
  ws.onmessage = (e) => {
    got.push(e.data);
    ws.close(1000, 'enough');
  };
  const e = await once(ws, 'close');
  assert.strictEqual(e.code, 1000);
  assert.strictEqual(got[0], 'a');
  await server.stop();
});

test('with reconnect: false, send while CONNECTING throws as in the browser', async () => {
  const server = await startServer();
  const ws = new WebSocket(server.url, [], { reconnect: false });
  assert.throws(() => ws.send('too early'), { name: 'InvalidStateError' });
  await once(ws, 'open');
  ws.close();
  await once(ws, 'close');
  await server.stop();
});

test('redirects: not followed unless maxRedirects allows', async () => {
  const server = await startServer();
  const http = require('node:http');
  const redirector = http.createServer((req, res) => {
    res.writeHead(302, { Location: `${server.url}/moved` });
    res.end();
  });
  redirector.on('upgrade', (req, socket) => {
    socket.end(`HTTP/1.1 302 Found\r\nLocation: ${server.url}/moved\r\nContent-Length: 0\r\n\r\n`);
  });
  await new Promise((resolve) => redirector.listen(0, '127.0.0.1', resolve));
  const url = `ws://127.0.0.1:${redirector.address().port}/`;

  const refused = new WebSocket(url, [], { reconnect: false });
  // Both listeners first: the close may come in the same batch as the error.
  const [errored, closed] = [once(refused, 'error'), once(refused, 'close')];
  const err = await errored;
  assert.strictEqual(err.error.httpStatus, 302);
  assert.match(err.error.message, /not followed/);
  await closed;

  const ws = new WebSocket(url, [], { maxRedirects: 1 });
  await once(ws, 'open');
  ws.send('after a redirect');
  const m = await once(ws, 'message');
  assert.strictEqual(m.data, 'after a redirect');
  ws.close();
  await once(ws, 'close');
  assert.throws(() => new WebSocket(url, [], { maxRedirects: -1 }), RangeError);
  redirector.close();
  await server.stop();
});
