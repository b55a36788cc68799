'use strict';
// A fast server and a slow consumer: while JS is busy, the library stops
// reading at the receive limit and TCP holds the server back; then every
// message arrives in order. The server runs on a worker thread, so it keeps
// sending while the main thread is stuck in a handler.
const test = require('node:test');
const assert = require('node:assert');
const { Worker } = require('node:worker_threads');
const { WebSocket } = require('..');
const { once } = require('./helpers');

const COUNT = 1500;
const SIZE = 64 * 1024;

function floodServer(progress) {
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    const { WebSocketServer } = require(workerData.ws);
    const sent = new Int32Array(workerData.progress);
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 }, () => parentPort.postMessage(wss.address().port));
    wss.on('connection', (socket) => {
      const payload = Buffer.alloc(${SIZE});
      let i = 0;
      const next = () => {
        if (i >= ${COUNT}) return;
        payload.writeUInt32BE(i++);
        socket.send(payload, { binary: true }, (err) => { if (!err) { Atomics.store(sent, 0, i); next(); } });
      };
      next();
    });
    parentPort.on('message', () => wss.close(() => process.exit(0)));
  `;
  const worker = new Worker(code, { eval: true, workerData: { ws: require.resolve('ws'), progress } });
  return new Promise((resolve) => worker.once('message', (port) => resolve({ worker, port })));
}

test('a busy main thread holds back a flooding server; then every message arrives in order', async () => {
  const progress = new SharedArrayBuffer(4);
  const sent = new Int32Array(progress);
  const { worker, port } = await floodServer(progress);
  const ws = new WebSocket(`ws://127.0.0.1:${port}`, [], { reconnect: false, receiveMaxEvents: 100, pingInterval: 0 });
  ws.binaryType = 'arraybuffer';
  const got = [];
  let heldBack = null;
  const done = new Promise((resolve) => {
    ws.onmessage = (e) => {
      if (got.length === 0) {
        // Stuck here: the library fills its receive limit and stops reading.
        const deadline = Date.now() + 60000;
        while (ws.stats.undeliveredEvents < 100 && Date.now() < deadline) { /* busy */ }
        heldBack = { undelivered: ws.stats.undeliveredEvents, sent: Atomics.load(sent, 0) };
      }
      got.push(new DataView(e.data).getUint32(0));
      assert.ok(ws.stats.undeliveredEvents <= 100);
      if (got.length === COUNT) resolve();
    };
  });
  await done;
  assert.ok(heldBack.undelivered >= 100, JSON.stringify(heldBack));
  assert.ok(heldBack.sent < COUNT / 2, `the server wrote ${heldBack.sent} messages while JS was busy`);
  assert.deepStrictEqual(got, Array.from({ length: COUNT }, (_, i) => i));
  ws.close();
  await once(ws, 'close');
  worker.postMessage('stop');
  await new Promise((resolve) => worker.once('exit', resolve));
});

test('a server close 1000 reconnects; the reconnecting event says how the connection ended', async () => {
  const { startServer } = require('./helpers');
  const server = await startServer({ handler: (s) => s.close(1000, 'rotating') });
  const ws = new WebSocket(server.url, [], { initialDelay: 50, pingInterval: 0 });
  const r = await once(ws, 'reconnecting', 10000);
  assert.deepStrictEqual([r.code, r.reason, r.wasClean], [1000, 'rotating', true]);
  assert.ok(r.delay <= 50, `first retry after an open: full jitter in [0, initialDelay], got ${r.delay}`);
  await once(ws, 'open', 10000);
  ws.close();
  await once(ws, 'close');
  await server.stop();
});
