'use strict';
const test = require('node:test');
const assert = require('node:assert');
const { WebSocket } = require('..');
const { startServer, once } = require('./helpers');

test('event order and event objects', async () => {
  const server = await startServer();
  const ws = new WebSocket(server.url, ['chat.v1']);
  assert.strictEqual(ws.readyState, WebSocket.CONNECTING);
  assert.strictEqual(ws.url, `${server.url}/`); // the serialised URL
  const seen = [];
  ws.onopen = (e) => {
    seen.push(['open', e.type, e.target === ws, ws.readyState]);
    ws.send('one');
  };
  ws.onmessage = (e) => {
    seen.push(['message', e.type, e.data, e.target === ws, e.origin]);
    ws.close(4000, 'done');
    assert.strictEqual(ws.readyState, WebSocket.CLOSING);
  };
  const listener = (e) => seen.push(['listener', e.type]);
  ws.addEventListener('message', listener, { once: true });
  const closed = once(ws, 'close');
  const e = await closed;
  seen.push(['close', e.code, e.reason, e.wasClean, ws.readyState]);
  assert.deepStrictEqual(seen, [
    ['open', 'open', true, WebSocket.OPEN],
    ['message', 'message', 'one', true, server.url],
    ['listener', 'message'],
    ['close', 4000, 'done', true, WebSocket.CLOSED],
  ]);
  assert.strictEqual(ws.protocol, 'chat.v1'); // the ws server picks the first offered
  assert.strictEqual(ws.extensions, '');
  assert.strictEqual(WebSocket.OPEN, 1);
  assert.strictEqual(ws.CLOSED, 3);
  await server.stop();
});

test('handler attributes replace each other; removeEventListener works', async () => {
  const server = await startServer();
  const ws = new WebSocket(server.url);
  const calls = [];
  ws.onmessage = () => calls.push('first');
  ws.onmessage = () => calls.push('second');
  const extra = () => calls.push('extra');
  ws.addEventListener('message', extra);
  ws.removeEventListener('message', extra);
  await once(ws, 'open');
  ws.send('x');
  await once(ws, 'message');
  assert.deepStrictEqual(calls, ['second']);
  assert.strictEqual(typeof ws.onmessage, 'function');
  ws.onmessage = null;
  assert.strictEqual(ws.onmessage, null);
  ws.close();
  await once(ws, 'close');
  await server.stop();
});

test('subprotocol negotiation and headers', async () => {
  let seenHeader;
  const server = await startServer({
    handler: (s, req) => { seenHeader = req.headers['x-token']; },
  });
  server.wss.options.handleProtocols = (protocols) => (protocols.has('b') ? 'b' : false);
  const ws = new WebSocket(server.url, ['a', 'b'], { headers: { 'X-Token': 't0k' } });
  await once(ws, 'open');
  assert.strictEqual(ws.protocol, 'b');
  assert.strictEqual(seenHeader, 't0k');
  ws.close();
  await once(ws, 'close');
  await server.stop();
});

test('arguments are validated with precise errors', () => {
  assert.throws(() => new WebSocket(), TypeError);
  assert.throws(() => new WebSocket(Symbol('url')), TypeError);
  assert.throws(() => new WebSocket(42), { name: 'SyntaxError' }); // the string "42" is no URL
  assert.throws(() => new WebSocket('ftp://127.0.0.1/'), { name: 'SyntaxError' });
  assert.throws(() => new WebSocket('ws://127.0.0.1:1/', ['a', 'a']), { name: 'SyntaxError' });
  assert.throws(() => new WebSocket('ws://127.0.0.1:1/', [], { pingInterval: 'soon' }), TypeError);
  assert.throws(() => new WebSocket('ws://127.0.0.1:1/', [], { pongTimeout: -5 }), RangeError);
  assert.throws(() => new WebSocket('ws://127.0.0.1:1/', [], { nosuch: 1 }), /unknown option/);
  assert.throws(() => new WebSocket('ws://127.0.0.1:1/', [], { headers: { 'Bad Name': 'x' } }), TypeError);
  assert.throws(() => new WebSocket('ws://127.0.0.1:1/', [], { caFile: '/no/such.pem' }), { code: 'WS_ERR_FILE' });
});
