'use strict';
// permessage-deflate against the `ws` server with compression on: what is
// agreed (`extensions`), compressed echoes with and without context
// takeover, the option that turns it off, and a decompression bomb.
const test = require('node:test');
const assert = require('node:assert');
const { WebSocket } = require('..');
const { startServer, once } = require('./helpers');

function jsonLike(n) {
  const rows = [];
  let size = 0;
  for (let i = 0; size < n; i++) {
    const row = JSON.stringify({ seq: i, price: 100 + (i % 7), side: i % 2 ? 'buy' : 'sell' });
    rows.push(row);
    size += row.length + 1;
  }
  return `[${rows.join(',')}]`;
}

/** Send each message and wait for its echo, in order. */
async function echoAll(ws, messages) {
  for (const m of messages) {
    ws.send(m);
    const e = await once(ws, 'message', 30000);
    const got = typeof e.data === 'string' ? e.data : Buffer.from(e.data);
    assert.ok(typeof m === 'string' ? got === m : Buffer.compare(got, m) === 0, `echo of ${m.length} bytes differs`);
  }
}

/** An echo server that records what each connection agreed, and the frames' RSV1 bit. */
function recording(perMessageDeflate) {
  const seen = { extensions: [], compressed: [], closeCodes: [] };
  const handler = (socket, req) => {
    seen.extensions.push(socket.extensions);
    seen.offer = req.headers['sec-websocket-extensions'];
    // ws exposes the RSV1 bit of each message as its receiver's `_compressed`.
    socket._receiver.on('message', () => seen.compressed.push(socket._receiver._compressed));
    socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
    socket.on('close', (code) => seen.closeCodes.push(code));
  };
  return { seen, opts: { handler, perMessageDeflate } };
}

test('a compressed echo with the ws server, with context takeover', async () => {
  const { seen, opts } = recording({ threshold: 0 });
  const server = await startServer(opts);
  const ws = new WebSocket(server.url, { reconnect: false });
  ws.binaryType = 'arraybuffer';
  await once(ws, 'open');
  assert.match(ws.extensions, /^permessage-deflate/);
  assert.match(seen.offer, /^permessage-deflate; client_max_window_bits/);
  assert.match(seen.extensions[0], /^permessage-deflate/, 'the server agreed');
  await echoAll(ws, [jsonLike(16 << 10), jsonLike(20000), Buffer.alloc(1 << 20, 7), 'small']);
  // Ours above the threshold (1 KiB) came compressed, the small one not.
  assert.deepStrictEqual(seen.compressed, [true, true, true, false]);
  ws.close();
  await once(ws, 'close');
  await server.stop();
});

test('a compressed echo without context takeover', async () => {
  const { seen, opts } = recording({ serverNoContextTakeover: true, clientNoContextTakeover: true, threshold: 0 });
  const server = await startServer(opts);
  const ws = new WebSocket(server.url, {
    reconnect: false, perMessageDeflate: { clientNoContextTakeover: true, serverNoContextTakeover: true, level: 1 },
  });
  await once(ws, 'open');
  assert.strictEqual(ws.extensions, 'permessage-deflate; server_no_context_takeover; client_no_context_takeover');
  await echoAll(ws, Array.from({ length: 5 }, () => jsonLike(8000)));
  assert.deepStrictEqual(seen.compressed, [true, true, true, true, true]);
  ws.close();
  await once(ws, 'close');
  await server.stop();
});

test('perMessageDeflate: false offers nothing', async () => {
  const { seen, opts } = recording({ threshold: 0 });
  const server = await startServer(opts);
  const ws = new WebSocket(server.url, { reconnect: false, perMessageDeflate: false });
  await once(ws, 'open');
  assert.strictEqual(ws.extensions, '');
  assert.strictEqual(seen.offer, undefined);
  await echoAll(ws, [jsonLike(4000)]);
  assert.deepStrictEqual(seen.compressed, [false]);
  ws.close();
  await once(ws, 'close');
  await server.stop();
});

test('a decompression bomb is an error and close 1009, not 64 MiB', async () => {
  const { opts } = recording({ threshold: 0 });
  let serverClosed;
  const closedOnServer = new Promise((resolve) => { serverClosed = resolve; });
  opts.handler = (socket) => {
    socket.on('close', (code) => serverClosed(code));
    socket.send(Buffer.alloc(64 << 20)); // about 64 KiB on the wire
  };
  const server = await startServer(opts);
  const ws = new WebSocket(server.url, { reconnect: false, maxMessageSize: 1 << 20 });
  const errors = [];
  ws.onerror = (e) => errors.push(e);
  const close = await once(ws, 'close', 30000);
  assert.strictEqual(close.code, 1006);
  assert.match(errors[0].message, /too large|limit/i);
  assert.strictEqual(await closedOnServer, 1009);
  await server.stop();
});

test('bad perMessageDeflate options are refused', () => {
  for (const bad of [{ level: 10 }, { serverMaxWindowBits: 7 }, { clientMaxWindowBits: 16 }, { nope: 1 }, 'yes']) {
    assert.throws(() => new WebSocket('ws://127.0.0.1:9/', { perMessageDeflate: bad }), /perMessageDeflate|must be|between/);
  }
});
