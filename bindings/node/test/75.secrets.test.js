'use strict';
// No secret in an error for a malformed URL or header.
const test = require('node:test');
const assert = require('node:assert');
const { WebSocket } = require('..');

const MARK = 's3cr3t';
const BAD_URLS = [
  'ws://alice:S3CR3TMARK/PW@127.0.0.1/',
  'ws://alice:S3CR3TMARK?PW@127.0.0.1/',
  'wss://alice:S3CR3TMARK@host:99999/',
  'ws://alice:S3CR3TMARK%zz@host/',
  'alice:S3CR3TMARK@host',
];
const BAD_HEADERS = [
  ['Authorization', 'Bearer S3CR3TMARK\n'],
  ['X-Api-Key', 'S3CR3TMARK\x01'],
  ['X-Api-Key S3CR3TMARK', 'x'],
];

function secretFree(fn, what) {
  let thrown = null;
  try {
    const ws = fn();
    ws.close();
  } catch (e) {
    thrown = e;
  }
  assert.ok(thrown, `${what} was accepted`);
  assert.ok(!String(thrown.message).toLowerCase().includes(MARK), `${what}: ${thrown.message}`);
}

test('a bad URL never shows its secret', () => {
  for (const url of BAD_URLS) secretFree(() => new WebSocket(url, [], { reconnect: false }), url);
});

test('a bad header never shows its value', () => {
  for (const [name, value] of BAD_HEADERS) {
    secretFree(() => new WebSocket('ws://127.0.0.1:1/', [], { reconnect: false, headers: { [name]: value } }), name);
  }
});
