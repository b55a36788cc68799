'use strict';
// The binding's numbers, layouts and defaults are the header's and the
// library's: lib/c.js is generated from include/wsclient.h by
// tools/gen_bindings.py, and options not given never reach the C config.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { WebSocket, version } = require('..');
const { api, WsEvent, WsStats, koffi } = require('../lib/native');
const { constants, enums, structs } = require('../lib/c');
const { once } = require('./helpers');

const ROOT = path.resolve(__dirname, '..', '..', '..');
const GEN = path.join(ROOT, 'tools', 'gen_bindings.py');
const HEADER = path.join(ROOT, 'include', 'wsclient.h');
const inCheckout = fs.existsSync(GEN) ? {} : { skip: 'not run from a wsclient checkout' };

function check(header) {
  return spawnSync('python3', [GEN, '--check', '--header', header], { encoding: 'utf8', timeout: 60000 });
}

test('the committed lib/c.js is what the header gives', inCheckout, () => {
  const r = check(HEADER);
  assert.strictEqual(r.status, 0, r.stderr || String(r.error));
});

test('the check fails when a default, a status or a field type differs', inCheckout, (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wsclient-h-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const text = fs.readFileSync(HEADER, 'utf8');
  for (const [from, to] of [
    ['#define WS_DEFAULT_QUEUE_MAX_BYTES (256 << 20)', '#define WS_DEFAULT_QUEUE_MAX_BYTES (255 << 20)'],
    ['WS_ERR_CLOSED = -6,', 'WS_ERR_CLOSED = -60,'],
    ['  uint32_t attempt;', '  uint64_t attempt;'],
  ]) {
    assert.ok(text.includes(from), from);
    const changed = path.join(dir, 'wsclient.h');
    fs.writeFileSync(changed, text.replace(from, to));
    const r = check(changed);
    assert.strictEqual(r.status, 1, `${to}: ${r.stderr}`);
    assert.match(r.stderr, /lib\/c\.js/);
    assert.match(r.stderr, /make bindings-gen/);
  }
});

test('the loaded library matches the generated constants and layouts', () => {
  assert.strictEqual(version, constants.WSCLIENT_VERSION);
  const described = new Set(Object.values(enums.ws_status).map((s) => api.ws_status_str(s)));
  assert.ok(!described.has('unknown status'));
  assert.strictEqual(described.size, Object.keys(enums.ws_status).length);
  assert.deepStrictEqual(Object.keys(koffi.introspect(WsEvent).members), structs.ws_event.map(([f]) => f));
  assert.deepStrictEqual(Object.keys(koffi.introspect(WsStats).members), structs.ws_stats.map(([f]) => f));
});

/**
 * The ws_config_set_* calls made while creating a socket with these
 * options, but for ws_config_set_ping_events(true), which the binding
 * always makes (server pings are 'ping' events; no option of the user's).
 */
async function configCalls(t, options) {
  const calls = [];
  for (const name of Object.keys(api).filter((n) => n.startsWith('ws_config_set_'))) {
    const real = api[name];
    api[name] = (cfg, ...args) => {
      calls.push([name, ...args]);
      return real(cfg, ...args);
    };
    t.after(() => { api[name] = real; });
  }
  const ws = new WebSocket('ws://127.0.0.1:1/', [], options);
  ws.onerror = () => {};
  const closed = once(ws, 'close');
  ws.close();
  await closed;
  const ping = calls.findIndex(([name]) => name === 'ws_config_set_ping_events');
  assert.deepStrictEqual(calls[ping], ['ws_config_set_ping_events', true]);
  calls.splice(ping, 1);
  return calls;
}

test('options not given keep the library\'s defaults', async (t) => {
  assert.deepStrictEqual((await configCalls(t, {})).map(([name]) => name), ['ws_config_set_url']);
  const calls = await configCalls(t, { reconnect: false, pingInterval: 0 });
  assert.deepStrictEqual(calls.slice(1).sort(), [['ws_config_set_ping_interval_ms', 0], ['ws_config_set_reconnect', false]]);
});

test('one queue limit given sets that limit alone', async (t) => {
  assert.deepStrictEqual((await configCalls(t, { queueLimit: 7 })).slice(1),
    [['ws_config_set_queue_max_messages', 7]]);
  assert.deepStrictEqual((await configCalls(t, { queueLimitBytes: 4096 })).slice(1),
    [['ws_config_set_queue_max_bytes', 4096]]);
});

test('a queue limit given alone is in force', async () => {
  // Nothing listens on port 1: sends wait in the queue, which holds 3.
  const ws = new WebSocket('ws://127.0.0.1:1/', [], { queueLimit: 3 });
  ws.onerror = () => {};
  try {
    for (let i = 0; i < 3; i++) ws.send(`m${i}`);
    assert.throws(() => ws.send('one too many'), { code: 'WS_ERR_QUEUE_FULL' });
  } finally {
    const closed = once(ws, 'close');
    ws.close();
    await closed;
  }
});
