'use strict';
// The ESM entry exports the same objects as the CommonJS one.
const test = require('node:test');
const assert = require('node:assert');
const path = require('path');
const { pathToFileURL } = require('url');

test('import from the ESM entry', async () => {
  const esm = await import(pathToFileURL(path.resolve(__dirname, '..', 'index.mjs')).href);
  const cjs = require('..');
  assert.strictEqual(esm.WebSocket, cjs.WebSocket);
  assert.strictEqual(esm.default, cjs.WebSocket);
  assert.strictEqual(esm.version, cjs.version);
  assert.strictEqual(typeof esm.WebSocketError, 'function');
});
