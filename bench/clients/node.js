'use strict';
// Benchmark clients in Node: ours (wsclient) and the `ws` package's client.
// Same command line as every bench client; prints one JSON line. Sends from
// the main thread; replies arrive as events there.
const path = require('path');

const a = { client: 'wsclient', url: '', mode: 'rtt', count: 1000, size: 32, window: 1, hold: 30, payload: 'x', deflate: '' };
for (let i = 2; i + 1 < process.argv.length; i += 2) {
  const k = process.argv[i].replace(/^--/, '');
  a[k] = ['count', 'size', 'window', 'hold'].includes(k) ? Number(process.argv[i + 1]) : process.argv[i + 1];
}

// ours from bindings/node; `ws` from bench/node_modules (bench/package.json),
// with bufferutil beside it, as ws's users install it (ws loads it by itself).
const nodeDir = path.resolve(__dirname, '..', '..', 'bindings', 'node');
const benchDir = path.resolve(__dirname, '..');
const WebSocket = a.client === 'ws'
  ? require(require.resolve('ws', { paths: [benchDir] }))
  : require(nodeDir).WebSocket;
const hasBufferutil = () => {
  try {
    require.resolve('bufferutil', { paths: [path.dirname(require.resolve('ws', { paths: [benchDir] }))] });
    return true;
  } catch {
    return false;
  }
};

const rssKib = () => Math.round(process.memoryUsage.rss() / 1024);
// CPU time of the whole process (every thread), user + system.
const cpuS = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };

/** JSON-like text of `n` bytes, as the C client makes it (--payload json). */
function jsonLike(n) {
  let s = '';
  for (let i = 0; s.length < n; i++) {
    s += `{"seq":${i},"price":${100 + (i % 7)}.${String(i % 100).padStart(2, '0')},"qty":${1 + (i % 13)},"side":"${i % 2 ? 'buy' : 'sell'}"},`;
  }
  return s.slice(0, n);
}

function open(small) {
  // --deflate 0|1: permessage-deflate off or on (both clients offer it by default).
  const deflate = a.deflate === '' ? {} : { perMessageDeflate: a.deflate === '1' };
  const opts = a.client === 'ws'
    ? (a.deflate === '' ? [] : [deflate])
    : [[], small ? { readBufferSize: 4096, ...deflate } : { pingInterval: 0, ...deflate }];
  const ws = new WebSocket(a.url, ...opts);
  ws.binaryType = 'nodebuffer';
  return new Promise((resolve, reject) => {
    ws.onopen = () => resolve(ws);
    ws.onerror = (e) => reject(e.error || new Error('error'));
  });
}

(async () => {
  if (a.mode === 'connections') {
    const before = rssKib();
    const t0 = process.hrtime.bigint();
    const conns = await Promise.all(Array.from({ length: a.count }, () => open(true)));
    const openS = Number(process.hrtime.bigint() - t0) / 1e9;
    const c0 = cpuS();
    await new Promise((r) => setTimeout(r, a.hold * 1000));
    console.log(JSON.stringify({ open_s: openS, rss_kib_before: before, rss_kib_held: rssKib(),
      cpu_s_idle: cpuS() - c0, count: conns.length }));
    process.exit(0);
  }
  const ws = await open(false);
  const payload = a.payload === 'json' ? jsonLike(a.size) : a.size > 1024 ? Buffer.alloc(a.size, 120) : 'x'.repeat(a.size);
  const times = [];
  let sent = 0, got = 0, ts = 0n;
  const cpu0 = cpuS(); // the harness counts the CPU used after this: the loop, the close, the exit
  const t0 = process.hrtime.bigint();
  await new Promise((resolve) => {
    const pump = () => {
      while (sent < a.count && sent - got < a.window) { ts = process.hrtime.bigint(); ws.send(payload); sent++; }
    };
    ws.onmessage = () => {
      if (a.window === 1) times.push(Number(process.hrtime.bigint() - ts) / 1e3);
      got++;
      if (got === a.count) resolve(); else pump();
    };
    pump();
  });
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const out = { msgs_per_s: a.count / secs, mib_per_s: (a.count * a.size) / secs / 2 ** 20, cpu_s_start: cpu0,
    count: a.count };
  if (a.client === 'ws') out.bufferutil = hasBufferutil();
  if (times.length) {
    times.sort((x, y) => x - y);
    out.p50_us = times[times.length >> 1];
    out.p99_us = times[Math.floor((times.length * 99) / 100)];
    out.mean_us = times.reduce((s, x) => s + x, 0) / times.length;
  }
  console.log(JSON.stringify(out));
  ws.onclose = () => process.exit(0);
  ws.close();
})();
