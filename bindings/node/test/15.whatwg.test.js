'use strict';
// The WHATWG WebSockets standard (with the URL Standard and WebIDL), with
// { reconnect: false }, where the class promises browser behaviour. Each
// case says which step of the standard it checks.
const test = require('node:test');
const assert = require('node:assert');
const net = require('node:net');
const { WebSocket, CloseEvent, ErrorEvent, MessageEvent } = require('..');
const { startServer, once } = require('./helpers');

const BROWSER = { reconnect: false, pingInterval: 0 };

/** A port nothing listens on (bound, then closed). */
async function deadPort() {
  const s = net.createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

/** A server that records what each connection receives, and how it closed. */
async function recordingServer() {
  const got = [];
  const closes = [];
  const server = await startServer({
    handler: (socket) => {
      socket.on('message', (data, isBinary) => got.push(isBinary ? ['binary', [...data]] : ['text', data.toString()]));
      socket.on('close', (code, reason) => closes.push([code, reason.toString()]));
    },
  });
  return { server, got, closes };
}

async function until(cond) {
  while (!cond()) await new Promise((r) => setImmediate(r));
}

test('constructor: URL parsing, serialisation and scheme mapping (URL Standard)', async () => {
  const cases = [
    ['ws://LOCALHOST:80', 'ws://localhost/'],
    ['ws://h/a b', 'ws://h/a%20b'],
    ['http://h:8080/p?q=1', 'ws://h:8080/p?q=1'],
    ['https://h:443/x', 'wss://h/x'],
    ['WSS://H.example', 'wss://h.example/'],
    [new URL('ws://h/u'), 'ws://h/u'],
  ];
  for (const [input, href] of cases) {
    const ws = new WebSocket(input, BROWSER);
    assert.strictEqual(ws.url, href, String(input));
    ws.onerror = () => {};
    const closed = once(ws, 'close');
    ws.close();
    await closed;
  }
  for (const bad of ['ws://h/#', 'ws://h/#frag', 'foo', '/relative', 'ftp://h/', 'ws://[::1', 'javascript:x']) {
    assert.throws(() => new WebSocket(bad, BROWSER), (e) => e instanceof DOMException && e.name === 'SyntaxError', bad);
  }
});

test('http: URLs connect as ws:', async () => {
  const server = await startServer();
  const ws = new WebSocket(`http://127.0.0.1:${server.port}/path`, BROWSER);
  assert.strictEqual(ws.url, `ws://127.0.0.1:${server.port}/path`);
  await once(ws, 'open');
  ws.close();
  await once(ws, 'close');
  await server.stop();
});

test('constructor: subprotocols (token rules, duplicates case-insensitive) are SyntaxError DOMExceptions', () => {
  const url = 'ws://127.0.0.1:1/';
  for (const bad of ['', 'a b', 'a,b', ['ok', ''], ['chat', 'chat'], ['echo', 'eCho'], 'é', ['a\u0000']]) {
    assert.throws(() => new WebSocket(url, bad, BROWSER), (e) => e instanceof DOMException && e.name === 'SyntaxError',
      JSON.stringify(bad));
  }
  assert.throws(() => new WebSocket(url, [Symbol('p')], BROWSER), TypeError);
});

test('constructor forms: (url, protocols), (url, protocols, options), (url, options)', async () => {
  const server = await startServer();
  server.wss.options.handleProtocols = (protocols) => [...protocols].pop();
  const forms = [
    [['b']],
    [['a', 'b'], BROWSER],
    [{ ...BROWSER, protocols: ['a', 'b'] }],
    ['b', { pingInterval: 0 }],
  ];
  for (const args of forms) {
    const ws = new WebSocket(server.url, ...args);
    await once(ws, 'open');
    assert.strictEqual(ws.protocol, 'b', JSON.stringify(args));
    ws.close();
    await once(ws, 'close');
  }
  await server.stop();
});

test('binaryType: "blob" by default; an invalid value keeps the old one', async () => {
  const server = await startServer();
  const ws = new WebSocket(server.url, BROWSER);
  assert.strictEqual(ws.binaryType, 'blob');
  ws.binaryType = 'nodebuffer';
  assert.strictEqual(ws.binaryType, 'blob');
  ws.binaryType = 'arraybuffer';
  ws.binaryType = 'fragments';
  assert.strictEqual(ws.binaryType, 'arraybuffer');
  ws.binaryType = 'blob';
  await once(ws, 'open');
  ws.send(new Uint8Array([1, 2]));
  const e = await once(ws, 'message');
  assert.ok(e.data instanceof Blob);
  assert.deepStrictEqual([...new Uint8Array(await e.data.arrayBuffer())], [1, 2]);
  ws.close();
  await once(ws, 'close');
  await server.stop();
});

test('send(): WebIDL conversions (Blob in order, SharedArrayBuffer and other values as strings)', async () => {
  const { server, got } = await recordingServer();
  const ws = new WebSocket(server.url, BROWSER);
  await once(ws, 'open');
  assert.throws(() => ws.send(), TypeError);
  assert.throws(() => ws.send(Symbol('x')), TypeError);
  ws.send('first');
  ws.send(new Blob(['bl', 'ob']));
  ws.send('after the blob');
  ws.send(42);
  ws.send(null);
  ws.send(undefined);
  ws.send({ toString: () => 'object' });
  ws.send(new SharedArrayBuffer(2));
  ws.send(new Uint8Array(new SharedArrayBuffer(2)));
  ws.send(new Uint8Array([7, 8]).buffer);
  ws.send(new DataView(new Uint8Array([1, 2, 3]).buffer, 1));
  ws.send('\ud800'); // a lone surrogate: U+FFFD (USVString)
  await until(() => got.length === 12);
  assert.deepStrictEqual(got, [
    ['text', 'first'],
    ['binary', [...Buffer.from('blob')]],
    ['text', 'after the blob'],
    ['text', '42'],
    ['text', 'null'],
    ['text', 'undefined'],
    ['text', 'object'],
    ['text', '[object SharedArrayBuffer]'],
    ['text', '0,0'],
    ['binary', [7, 8]],
    ['binary', [2, 3]],
    ['text', '\ufffd'],
  ]);
  ws.close();
  await once(ws, 'close');
  await server.stop();
});

test('send(): InvalidStateError while CONNECTING; after close() discarded and counted in bufferedAmount', async () => {
  const server = await startServer();
  const ws = new WebSocket(server.url, BROWSER);
  assert.throws(() => ws.send('x'), (e) => e instanceof DOMException && e.name === 'InvalidStateError');
  await once(ws, 'open');
  ws.close();
  const before = ws.bufferedAmount;
  ws.send('four');
  assert.strictEqual(ws.bufferedAmount, before + 4);
  await once(ws, 'close');
  ws.send(new Uint8Array(3));
  assert.ok(ws.bufferedAmount >= 7, `bufferedAmount ${ws.bufferedAmount} does not reset to 0`);
  await server.stop();
});

test('a failed connection: readyState CLOSED when error fires, then close 1006 in the same task', async () => {
  const ws = new WebSocket(`ws://127.0.0.1:${await deadPort()}/`, BROWSER);
  const order = [];
  ws.onerror = (e) => {
    order.push(['error', ws.readyState, e instanceof Event, e.bubbles, e.cancelable]);
    queueMicrotask(() => order.push(['microtask']));
  };
  ws.onclose = (e) => order.push(['close', ws.readyState, e.code, e.reason, e.wasClean, e instanceof CloseEvent]);
  await once(ws, 'close');
  assert.deepStrictEqual(order, [
    ['error', WebSocket.CLOSED, true, false, false],
    ['close', WebSocket.CLOSED, 1006, '', false, true],
    ['microtask'],
  ]);
});

test('close() while CONNECTING: readyState CLOSING, then error, then close 1006', async () => {
  const server = await startServer();
  const ws = new WebSocket(server.url, BROWSER);
  const order = [];
  ws.onopen = () => order.push(['open']);
  ws.onerror = () => order.push(['error', ws.readyState]);
  ws.onclose = (e) => order.push(['close', ws.readyState, e.code, e.wasClean]);
  ws.close();
  assert.strictEqual(ws.readyState, WebSocket.CLOSING);
  await once(ws, 'close');
  assert.deepStrictEqual(order, [['error', WebSocket.CLOSED], ['close', WebSocket.CLOSED, 1006, false]]);
  await server.stop();
});

test('close(): [Clamp] code, USVString reason, the errors, the code the server sees', async () => {
  const { server, closes } = await recordingServer();
  const ws = new WebSocket(server.url, BROWSER);
  await once(ws, 'open');
  assert.throws(() => ws.close(NaN), (e) => e.name === 'InvalidAccessError'); // clamps to 0
  assert.throws(() => ws.close(2999.4), (e) => e.name === 'InvalidAccessError');
  assert.throws(() => ws.close(1000, 'x'.repeat(124)), (e) => e.name === 'SyntaxError');
  ws.close('3000.5', 'bye'); // "3000.5" -> 3000.5 -> 3000 (half to even)
  assert.strictEqual(ws.readyState, WebSocket.CLOSING);
  const e = await once(ws, 'close');
  assert.deepStrictEqual([e.code, e.reason, e.wasClean], [3000, 'bye', true]);
  await until(() => closes.length === 1);
  assert.deepStrictEqual(closes, [[3000, 'bye']]);
  await server.stop();
});

test('close() without a code sends a close frame without a body: the server sees 1005', async (t) => {
  const { server, closes } = await recordingServer();
  t.after(() => server.stop());
  const ws = new WebSocket(server.url, BROWSER);
  await once(ws, 'open');
  ws.close();
  const e = await once(ws, 'close');
  assert.strictEqual(e.code, 1005);
  await until(() => closes.length === 1);
  assert.deepStrictEqual(closes, [[1005, '']]);
});

test('each event is its own task: code after `await open` sees the message and close that came with it', async () => {
  const server = await startServer({ handler: (s) => { s.send('hello'); s.send('world'); s.close(4001, 'done'); } });
  for (let round = 0; round < 10; round++) {
    const ws = new WebSocket(server.url, BROWSER);
    await once(ws, 'open');
    // A promise continuation: runs before the next task, so before the next event.
    const seen = [];
    ws.onmessage = (e) => {
      seen.push(e.data);
      Promise.resolve().then(() => seen.push(`after ${e.data}`));
    };
    const e = await once(ws, 'close');
    assert.deepStrictEqual(seen, ['hello', 'after hello', 'world', 'after world'], `round ${round}`);
    assert.strictEqual(e.code, 4001);
  }
  await server.stop();
});

test('messages that arrive once close() was called are not dispatched', async () => {
  const server = await startServer({ handler: (s) => { for (let i = 0; i < 50; i++) s.send(`m${i}`); } });
  const ws = new WebSocket(server.url, BROWSER);
  const got = [];
  ws.onmessage = (e) => { got.push(e.data); ws.close(); };
  await once(ws, 'close');
  assert.deepStrictEqual(got, ['m0']);
  await server.stop();
});

test('event objects: MessageEvent, CloseEvent, ErrorEvent as the standard shapes them', async () => {
  // Constructors, defaults, attributes as prototype getters.
  const m = new MessageEvent('message');
  assert.strictEqual(m.data, null);
  assert.strictEqual(m.origin, '');
  assert.strictEqual(m.lastEventId, '');
  const c = new CloseEvent('close', { code: 4000.7, reason: 'r', wasClean: 1, bubbles: true });
  assert.deepStrictEqual([c.type, c.code, c.reason, c.wasClean, c.bubbles, c.cancelable], ['close', 4000, 'r', true, true, false]);
  const d = new CloseEvent('close');
  assert.deepStrictEqual([d.code, d.reason, d.wasClean], [0, '', false]);
  assert.throws(() => new CloseEvent(), TypeError);
  assert.throws(() => new CloseEvent('close', 5), TypeError);
  for (const [Class, names] of [[CloseEvent, ['code', 'reason', 'wasClean']], [ErrorEvent, ['message', 'filename', 'lineno', 'colno', 'error']],
    [MessageEvent, ['data', 'origin', 'lastEventId', 'source', 'ports']]]) {
    for (const name of names) {
      const desc = Object.getOwnPropertyDescriptor(Class.prototype, name);
      assert.strictEqual(typeof desc.get, 'function', `${Class.name}.prototype.${name} is a getter`);
      assert.strictEqual(desc.set, undefined);
      assert.throws(() => desc.get.call({}), TypeError);
    }
    assert.ok(Object.getPrototypeOf(Class.prototype) === Event.prototype || Class.prototype instanceof Event);
  }
  const err = new ErrorEvent('error');
  assert.deepStrictEqual([err.message, err.filename, err.lineno, err.colno], ['', '', 0, 0]);
  assert.deepStrictEqual(Object.keys(new CloseEvent('close')), Object.keys(new Event('close')));

  // The events a socket fires.
  const server = await startServer({ handler: (s) => { s.send('x'); s.close(4000, 'end'); } });
  const ws = new WebSocket(server.url, BROWSER);
  const events = [];
  for (const type of ['open', 'message', 'close']) ws.addEventListener(type, (e) => events.push(e));
  await once(ws, 'close');
  assert.deepStrictEqual(events.map((e) => [e.type, e.constructor.name, e.target === ws, e.bubbles, e.cancelable]), [
    ['open', 'Event', true, false, false],
    ['message', 'MessageEvent', true, false, false],
    ['close', 'CloseEvent', true, false, false],
  ]);
  assert.strictEqual(events[1].origin, `ws://127.0.0.1:${server.port}`);
  assert.strictEqual(events[1].data, 'x');
  await server.stop();
});

/** A raw server that answers the upgrade with 101 and these extra header lines. */
async function rawUpgradeServer(extra) {
  const crypto = require('node:crypto');
  const server = net.createServer((socket) => {
    let head = '';
    socket.on('data', (d) => {
      head += d;
      if (!head.includes('\r\n\r\n')) return;
      const key = /sec-websocket-key: *(\S+)/i.exec(head)[1];
      const accept = crypto.createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Accept: ${accept}\r\n${extra}\r\n`);
    });
    socket.on('error', () => {});
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return server;
}

test('RFC 6455 4.1: an extension or a subprotocol the client did not offer fails the connection', async () => {
  // (permessage-deflate is offered: an unknown extension is the one not offered.)
  for (const [extra, protocols] of [['Sec-WebSocket-Extensions: x-unknown-extension\r\n', []],
    ['Sec-WebSocket-Protocol: other\r\n', ['mine']]]) {
    const server = await rawUpgradeServer(extra);
    const ws = new WebSocket(`ws://127.0.0.1:${server.address().port}/`, protocols, BROWSER);
    const order = [];
    ws.onopen = () => order.push('open');
    ws.onerror = () => order.push(['error', ws.readyState]);
    const e = await once(ws, 'close');
    assert.deepStrictEqual([order, e.code, e.wasClean], [[['error', WebSocket.CLOSED]], 1006, false], extra);
    await new Promise((r) => server.close(r));
  }
});

test('event handler attributes: null removes, reassignment keeps the listener\'s place', async () => {
  const server = await startServer({ handler: (s) => s.send('x') });
  const ws = new WebSocket(server.url, BROWSER);
  const calls = [];
  ws.onmessage = () => calls.push('handler 1');
  ws.addEventListener('message', () => calls.push('listener'));
  ws.onmessage = () => calls.push('handler 2'); // same place: before the listener
  await once(ws, 'message');
  ws.onmessage = null;
  assert.strictEqual(ws.onmessage, null);
  ws.onopen = 5;
  assert.strictEqual(ws.onopen, null);
  assert.deepStrictEqual(calls, ['handler 2', 'listener']);
  ws.close();
  await once(ws, 'close');
  await server.stop();
});

test('the constants and attributes of the interface', () => {
  const ws = new WebSocket('ws://127.0.0.1:1/', BROWSER);
  ws.onerror = () => {};
  for (const [name, value] of [['CONNECTING', 0], ['OPEN', 1], ['CLOSING', 2], ['CLOSED', 3]]) {
    assert.strictEqual(WebSocket[name], value);
    assert.strictEqual(ws[name], value);
  }
  assert.strictEqual(ws.protocol, '');
  assert.strictEqual(ws.extensions, '');
  assert.strictEqual(ws.bufferedAmount, 0);
  assert.ok(ws instanceof EventTarget);
  ws.close();
});
