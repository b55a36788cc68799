'use strict';
// Run in child processes, so that the test server (in this process) does not
// count: the child must leave no threads behind and exit by itself.
const test = require('node:test');
const assert = require('node:assert');
const { spawn } = require('child_process');
const path = require('path');
const { startServer } = require('./helpers');

const PKG = JSON.stringify(path.resolve(__dirname, '..'));

/**
 * Run `script` in a child node. It is stopped with SIGTERM after timeoutMs
 * (a bound against hanging), or, with `aliveMs`, that long after it printed
 * 'open' (to see that it is still running then).
 */
function run(script, timeoutMs, { aliveMs } = {}) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '', exited = false;
    const stop = () => { if (!exited) child.kill('SIGTERM'); };
    child.stdout.on('data', (d) => {
      stdout += d;
      if (aliveMs !== undefined && /^open$/m.test(stdout)) setTimeout(stop, aliveMs);
    });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(stop, timeoutMs);
    child.on('exit', (status, signal) => {
      exited = true;
      clearTimeout(timer);
      resolve({ status, signal, stdout, stderr });
    });
  });
}

test('1,000 create/close cycles leave no threads or handles behind', async () => {
  const server = await startServer();
  const r = await run(`
    const { WebSocket } = require(${PKG});
    const threads = () => require('fs').readdirSync('/proc/self/task').length;
    const once = (ws, type) => new Promise((res) => ws.addEventListener(type, res, { once: true }));
    (async () => {
      // One socket first: it loads the library and makes the process's event queue.
      const warm = new WebSocket(${JSON.stringify(server.url)});
      await once(warm, 'open');
      warm.close();
      await once(warm, 'close');
      const before = threads();
      for (let round = 0; round < 10; round++) {
        const batch = Array.from({ length: 100 }, () => new WebSocket(${JSON.stringify(server.url)}));
        await Promise.all(batch.map((ws) => once(ws, 'open')));
        batch.forEach((ws) => ws.close());
        await Promise.all(batch.map((ws) => once(ws, 'close')));
      }
      const deadline = Date.now() + 5000;
      while (threads() > before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      console.log(before, threads());
    })();
  `, 60000);
  assert.strictEqual(r.status, 0, `exits by itself: ${r.signal} ${r.stderr}`);
  const [before, after] = r.stdout.trim().split(' ').map(Number);
  assert.ok(after <= before, `threads ${before} -> ${after}`);
  await server.stop();
});

test('the process exits by itself after the last close, and an open socket keeps it alive', async () => {
  const server = await startServer();
  const script = (closeAfter) => `
    const { WebSocket } = require(${PKG});
    const ws = new WebSocket(${JSON.stringify(server.url)});
    ws.onopen = () => { console.log('open'); ${closeAfter ? `setTimeout(() => ws.close(), ${closeAfter});` : ''} };
    ws.onclose = () => console.log('closed');
  `;
  // Exits by itself (the 30 s bound would end it with SIGTERM).
  const r = await run(script(200), 30000);
  assert.strictEqual(r.status, 0, `${r.signal} ${r.stderr}`);
  assert.deepStrictEqual(r.stdout.trim().split('\n'), ['open', 'closed']);
  // Still running 1 s after its open.
  const alive = await run(script(0), 30000, { aliveMs: 1000 });
  assert.strictEqual(alive.signal, 'SIGTERM', 'still running while a socket is open');
  assert.strictEqual(alive.stdout.trim(), 'open');
  await server.stop();
});
