'use strict';
// Events are read on the main thread from the event queue's fd: no thread
// of libuv's pool is started or held while sockets are open, so fs, dns
// and crypto work of the program never waits behind a socket. Run in a
// child process (this one has started the pool already).
const test = require('node:test');
const assert = require('node:assert');
const path = require('path');
const { startServer, runScript: run } = require('./helpers');

const PKG = JSON.stringify(path.resolve(__dirname, '..'));

test('open sockets start no libuv pool thread: one thread per connection (the library\'s worker), nothing else', async () => {
  const server = await startServer();
  const r = await run(`
    const { WebSocket } = require(${PKG});
    const threads = () => require('fs').readdirSync('/proc/self/task').length;
    const once = (ws, type) => new Promise((res) => ws.addEventListener(type, res, { once: true }));
    (async () => {
      const before = threads();
      const sockets = [new WebSocket(${JSON.stringify(server.url)}), new WebSocket(${JSON.stringify(server.url)})];
      await Promise.all(sockets.map((ws) => once(ws, 'open')));
      for (const ws of sockets) ws.send('x');
      await Promise.all(sockets.map((ws) => once(ws, 'message')));
      const during = threads();
      // The pool is free: its first job starts it now.
      await require('fs').promises.stat('.');
      const withPool = threads();
      sockets.forEach((ws) => ws.close());
      await Promise.all(sockets.map((ws) => once(ws, 'close')));
      console.log(JSON.stringify({ before, during, withPool }));
    })();
  `);
  assert.strictEqual(r.status, 0, r.stderr);
  const { before, during, withPool } = JSON.parse(r.stdout);
  assert.strictEqual(during - before, 2, `threads ${before} -> ${during} with 2 sockets open`);
  assert.ok(withPool > during, 'the fs call started the pool, which the sockets had not');
  await server.stop();
});
