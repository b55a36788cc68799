'use strict';
const test = require('node:test');
const assert = require('node:assert');
const { WebSocket } = require('..');
const { startServer, once } = require('./helpers');

test('strings, unicode and binary in each binaryType, 1 MiB', async () => {
  const server = await startServer();
  const ws = new WebSocket(server.url);
  await once(ws, 'open');
  const next = () => once(ws, 'message').then((e) => e.data);

  ws.send('hello');
  assert.strictEqual(await next(), 'hello');
  const text = 'héllo wörld ✓ 🚀 日本語';
  ws.send(text);
  assert.strictEqual(await next(), text);

  assert.strictEqual(ws.binaryType, 'blob', 'the standard\'s default');
  ws.send(Buffer.from([1, 2, 3]));
  const blob = await next();
  assert.ok(blob instanceof Blob);
  assert.deepStrictEqual([...new Uint8Array(await blob.arrayBuffer())], [1, 2, 3]);

  ws.binaryType = 'arraybuffer';
  ws.send(new Uint8Array([4, 5]).buffer);
  const ab = await next();
  assert.ok(ab instanceof ArrayBuffer);
  assert.deepStrictEqual([...new Uint8Array(ab)], [4, 5]);
  ws.send(new Uint16Array([0x0102]));
  assert.strictEqual((await next()).byteLength, 2);
  ws.send(new DataView(new Uint8Array([9, 9, 9]).buffer, 1, 2));
  assert.deepStrictEqual([...new Uint8Array(await next())], [9, 9]);

  ws.binaryType = 'blob';
  ws.send(Buffer.from('blob'));
  assert.strictEqual(await (await next()).text(), 'blob');

  ws.binaryType = 'arraybuffer';
  const big = Buffer.alloc(1 << 20, 7);
  ws.send(big);
  assert.ok(big.equals(Buffer.from(await next())));
  ws.send('');
  assert.strictEqual(await next(), '');

  ws.binaryType = 'nonsense'; // ignored, as in the browser
  assert.strictEqual(ws.binaryType, 'arraybuffer');
  ws.send(42); // WebIDL: any other value is sent as its string
  assert.strictEqual(await next(), '42');
  ws.close();
  await once(ws, 'close');
  await server.stop();
});
