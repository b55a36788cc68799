'use strict';
// What `ws` users reach for first, on the same object: on/once/off with ws's
// arguments, ping(data) and its pong, server pings, terminate().
const test = require('node:test');
const assert = require('node:assert');
const { WebSocket } = require('..');
const { startServer, once } = require('./helpers');

test('on/once/off with ws\'s arguments, in order with addEventListener', async () => {
  const server = await startServer();
  const ws = new WebSocket(server.url, { reconnect: false, pingInterval: 0 });
  const seen = [];
  ws.on('open', (...args) => seen.push(['open', args.length]));
  const onMessage = (data, isBinary) => seen.push(['on', Buffer.isBuffer(data) ? data.toString() : data, isBinary]);
  ws.on('message', onMessage);
  ws.addEventListener('message', (e) => seen.push(['listener', typeof e.data]));
  ws.once('message', (data, isBinary) => seen.push(['once', data.toString(), isBinary]));
  await new Promise((resolve) => ws.once('open', resolve));
  ws.send('text');
  await once(ws, 'message');
  ws.off('message', onMessage);
  ws.send(new Uint8Array([104, 105]));
  ws.on('message', (data, isBinary) => seen.push(['again', data, isBinary]));
  await once(ws, 'message');
  ws.binaryType = 'arraybuffer';
  ws.send(new Uint8Array([1]));
  await once(ws, 'message');
  ws.send('!close 4100 see you');
  const [code, reason] = await new Promise((resolve) => ws.on('close', (...args) => resolve(args)));
  assert.strictEqual(code, 4100);
  assert.ok(Buffer.isBuffer(reason));
  assert.strictEqual(reason.toString(), 'see you');
  assert.deepStrictEqual(seen.slice(0, 5), [
    ['open', 0],
    ['on', 'text', false],
    ['listener', 'string'],
    ['once', 'text', false],
    ['listener', 'object'],
  ]);
  assert.deepStrictEqual(seen[5], ['again', Buffer.from('hi'), true]);
  assert.ok(seen[7][1] instanceof ArrayBuffer, 'with binaryType arraybuffer, an ArrayBuffer');
  await server.stop();
});

test('on(\'error\') gets the error', async () => {
  const server = await startServer({ verifyClient: (info, cb) => cb(false, 401, 'no') });
  const ws = new WebSocket(server.url, { reconnect: false });
  const closed = once(ws, 'close'); // error and close come in one task
  const err = await new Promise((resolve) => ws.on('error', resolve));
  assert.strictEqual(err.code, 'HANDSHAKE_REJECTED');
  assert.strictEqual(err.httpStatus, 401);
  await closed;
  await server.stop();
});

test('ping(data) is answered by a pong with that payload; server pings are ping events', async () => {
  const server = await startServer({ handler: (s) => s.on('message', () => s.ping(Buffer.from('from server'))) });
  const ws = new WebSocket(server.url, { pingInterval: 0 });
  assert.throws(() => ws.ping(), { name: 'InvalidStateError' });
  await once(ws, 'open');
  ws.ping('hello');
  const [data] = await new Promise((resolve) => ws.once('pong', (...args) => resolve(args)));
  assert.strictEqual(data.toString(), 'hello');
  ws.ping(new Uint8Array([1, 2, 3]));
  const e = await once(ws, 'pong');
  assert.deepStrictEqual([...e.data], [1, 2, 3]);
  assert.ok(e.rtt > 0);
  assert.throws(() => ws.ping(Buffer.alloc(126)), TypeError);
  ws.send('ping me');
  const [payload] = await new Promise((resolve) => ws.once('ping', (...args) => resolve(args)));
  assert.strictEqual(payload.toString(), 'from server');
  ws.close();
  await once(ws, 'close');
  await server.stop();
});

test('terminate(): close 1006 at once, no closing handshake, no more events', async () => {
  const server = await startServer({ handler: (s) => { for (let i = 0; i < 100; i++) s.send(`m${i}`); } });
  const ws = new WebSocket(server.url, { pingInterval: 0 });
  let messages = 0;
  ws.onmessage = () => { if (++messages === 1) ws.terminate(); };
  const [code, reason] = await new Promise((resolve) => ws.on('close', (...args) => resolve(args)));
  assert.deepStrictEqual([code, reason.toString(), ws.readyState, messages], [1006, '', WebSocket.CLOSED, 1]);
  ws.terminate(); // again: nothing
  await server.stop();
});
