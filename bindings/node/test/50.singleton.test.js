'use strict';
// The classic browser singleton (examples/node/singleton.js), run unchanged
// on our WebSocket installed as globalThis.WebSocket, reconnects across a
// server restart; so does the version that uses our options instead.
const test = require('node:test');
const assert = require('node:assert');
const Module = require('module');
const path = require('path');
const { startServer } = require('./helpers');

// Let the examples `require('libwsclient')` resolve to this package.
const origResolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  if (request === 'libwsclient') return path.resolve(__dirname, '..', 'index.js');
  return origResolve.call(this, request, ...rest);
};

const examples = path.resolve(__dirname, '..', '..', '..', 'examples', 'node');

for (const file of ['singleton.js', 'singleton-native.js']) {
  test(`${file} reconnects across a server restart and resubscribes`, async () => {
    const server = await startServer();
    const { Socket } = require(path.join(examples, file));
    Socket.instance = null;
    const s = Socket.get(server.url);
    const feed = [];
    s.onfeed = (msg) => feed.push(msg);
    await waitFor(() => s.ws.readyState === 1);
    assert.strictEqual(Socket.get(server.url), s, 'a single shared instance');
    await server.stop();
    await new Promise((r) => setTimeout(r, 700));
    await server.start();
    await waitFor(() => feed.some((m) => m.op === 'subscribe'), 8000);
    s.close();
    await waitFor(() => s.ws.readyState === 3);
    await server.stop();
  });
}

async function waitFor(cond, ms = 5000) {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}
