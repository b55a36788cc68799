'use strict';
const test = require('node:test');
const assert = require('node:assert');
const { WebSocket } = require('..');
const { startServer, once } = require('./helpers');

test('reconnect across a server restart; sends queued while down arrive in order', async () => {
  const server = await startServer();
  const ws = new WebSocket(server.url, [], { initialDelay: 100, maxDelay: 500, pingInterval: 0 });
  await once(ws, 'open');
  const reconnecting = once(ws, 'reconnecting');
  await server.stop();
  const r = await reconnecting;
  assert.strictEqual(r.attempt, 1);
  assert.strictEqual(ws.readyState, WebSocket.CONNECTING, 'readyState goes back to CONNECTING');
  for (let i = 0; i < 20; i++) ws.send(`down ${i}`);
  assert.ok(ws.bufferedAmount > 0);
  await new Promise((r2) => setTimeout(r2, 300));
  await server.start();
  await once(ws, 'open', 5000);
  const got = [];
  await new Promise((resolve) => {
    ws.onmessage = (e) => { got.push(e.data); if (got.length === 20) resolve(); };
  });
  assert.deepStrictEqual(got, Array.from({ length: 20 }, (_, i) => `down ${i}`));
  assert.strictEqual(ws.stats.reconnects, 1);
  ws.close();
  await once(ws, 'close');
  await server.stop();
});

test('heartbeat timeout when the server stops answering pings', async () => {
  const server = await startServer();
  const ws = new WebSocket(server.url, [], { pingInterval: 200, pongTimeout: 200, initialDelay: 100 });
  await once(ws, 'open');
  await once(ws, 'pong');
  assert.ok(ws.stats.lastRtt > 0);
  // Black-holed for good: only the heartbeat can end this connection.
  server.blackHole();
  const reconnecting = once(ws, 'reconnecting', 10000); // same batch as the error
  const e = await once(ws, 'error', 10000);
  assert.strictEqual(e.error.code, 'HEARTBEAT_TIMEOUT');
  const r = await reconnecting;
  assert.strictEqual(r.error.code, 'HEARTBEAT_TIMEOUT');
  await once(ws, 'open', 5000);
  ws.close();
  await once(ws, 'close');
  await server.stop();
});
