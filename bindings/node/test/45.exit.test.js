'use strict';
// The process ends promptly with sockets still open: process.exit(), an
// uncaught exception, whatever the heartbeat (pingInterval 0: no event ever
// comes to end a pending poll). Each case runs in a child process; the test
// waits for its exit event, with a generous bound only against a hang.
const test = require('node:test');
const assert = require('node:assert');
const { spawn } = require('child_process');
const path = require('path');
const { startServer } = require('./helpers');

const PKG = JSON.stringify(path.resolve(__dirname, '..'));
const HANG = 5000; // far above "promptly": only there to fail instead of hanging

/** Run `script` in a child node; resolves with how it ended. */
function run(script) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '', hung = false;
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => { hung = true; child.kill('SIGKILL'); }, HANG);
    child.on('exit', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, hung, stdout, stderr });
    });
  });
}

/** A child with an open socket that runs `then` once it is open. */
function childScript(url, pingInterval, then) {
  return `
    const { WebSocket } = require(${PKG});
    const ws = new WebSocket(${JSON.stringify(url)}, [], { pingInterval: ${pingInterval} });
    ws.onopen = () => {
      console.log('open');
      ${then}
    };
  `;
}

for (const pingInterval of [5000, 0]) {
  test(`process.exit() with a socket open ends the process (pingInterval ${pingInterval})`, async () => {
    const server = await startServer();
    // From a timer, so that a poll is pending when it runs.
    const r = await run(childScript(server.url, pingInterval, 'setTimeout(() => process.exit(7), 50);'));
    assert.strictEqual(r.hung, false, `still running after ${HANG} ms: ${r.stdout} ${r.stderr}`);
    assert.strictEqual(r.status, 7, r.stderr);
    assert.strictEqual(r.stdout.trim(), 'open');
    await server.stop();
  });

  test(`an uncaught exception with a socket open ends the process (pingInterval ${pingInterval})`, async () => {
    const server = await startServer();
    const r = await run(childScript(server.url, pingInterval, "setTimeout(() => { throw new Error('boom'); }, 50);"));
    assert.strictEqual(r.hung, false, `still running after ${HANG} ms: ${r.stdout} ${r.stderr}`);
    assert.strictEqual(r.status, 1);
    assert.match(r.stderr, /Error: boom/);
    await server.stop();
  });
}

test('process.exit() and a throw from inside an event handler end the process', async () => {
  const server = await startServer();
  for (const then of ["ws.onmessage = () => process.exit(3); ws.send('x');",
    "ws.onmessage = () => { throw new Error('in handler'); }; ws.send('x');"]) {
    const r = await run(childScript(server.url, 0, then));
    assert.strictEqual(r.hung, false, `still running after ${HANG} ms: ${r.stdout} ${r.stderr}`);
    assert.ok(r.status === 3 || /in handler/.test(r.stderr), `${r.status} ${r.stderr}`);
    assert.notStrictEqual(r.status, 0);
  }
  await server.stop();
});

test('the end of the script with every socket closed ends the process, with pingInterval 0 too', async () => {
  const server = await startServer();
  const r = await run(childScript(server.url, 0, "ws.onclose = () => console.log('closed'); ws.close();"));
  assert.strictEqual(r.hung, false, `still running after ${HANG} ms: ${r.stdout} ${r.stderr}`);
  assert.strictEqual(r.status, 0, r.stderr);
  assert.deepStrictEqual(r.stdout.trim().split('\n'), ['open', 'closed']);
  await server.stop();
});
