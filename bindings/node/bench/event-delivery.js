'use strict';
// Compares the two ways of getting events from the library to the JS main
// thread, on the same echo server, interleaved:
//   callback: a koffi.register'ed callback that the worker thread calls (koffi
//             queues it to the main thread and the worker waits for it);
//   queue:    what the binding uses: the event queue's fd watched on the main
//             thread, drained with non-blocking ws_queue_poll calls.
// Usage: node bench/event-delivery.js ws://127.0.0.1:PORT [count] [rounds]

const { WebSocket } = require('..');
const { koffi, api, WsEvent } = require('../lib/native');

const url = process.argv[2];
const count = Number(process.argv[3] || 20000);
const rounds = Number(process.argv[4] || 3);
const window = 128;
const payload = 'x'.repeat(64);

function viaQueue() {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, [], { pingInterval: 0 });
    let sent = 0, got = 0, start;
    ws.onopen = () => {
      start = process.hrtime.bigint();
      while (sent < window) { ws.send(payload); sent++; }
    };
    ws.onmessage = () => {
      got++;
      if (sent < count) { ws.send(payload); sent++; }
      if (got === count) {
        const secs = Number(process.hrtime.bigint() - start) / 1e9;
        ws.onclose = () => resolve(count / secs);
        ws.close();
      }
    };
  });
}

const Callback = koffi.proto('void ws_cb(const ws_event *ev, void *user)');
const setCallback = require('../lib/native').koffi.load(require('../lib/native').findLibrary())
  .func('int32_t ws_set_callback(uint64_t h, ws_cb *cb, void *user)');

function viaCallback() {
  return new Promise((resolve) => {
    const cfg = [0n], h = [0n];
    api.ws_config_new(cfg);
    api.ws_config_set_url(cfg[0], url);
    api.ws_config_set_ping_interval_ms(cfg[0], 0);
    api.ws_create_with_config(cfg[0], h);
    api.ws_config_free(cfg[0]);
    const buf = Buffer.from(payload);
    let sent = 0, got = 0, start;
    const send = () => { api.ws_send(h[0], buf, buf.length, false); sent++; };
    let cb = null;
    cb = koffi.register((evPtr) => {
      const ev = koffi.decode(evPtr, WsEvent);
      if (ev.type === 1) {
        start = process.hrtime.bigint();
        while (sent < window) send();
      } else if (ev.type === 2) {
        Buffer.from(koffi.view(ev.data, Number(ev.len))).toString('utf8');
        got++;
        if (process.env.TRACE && got % 500 === 0) console.error('callback got', got);
        if (sent < count) send();
        if (got === count) {
          const secs = Number(process.hrtime.bigint() - start) / 1e9;
          api.ws_close(h[0], 1000, null);
          setImmediate(() => resolve(count / secs));
        }
      } else if (ev.type === 4) {
        setImmediate(() => { api.ws_free(h[0]); koffi.unregister(cb); });
      }
    }, koffi.pointer(Callback));
    setCallback(h[0], cb, null);
  });
}

(async () => {
  const results = { queue: [], callback: [] };
  const only = process.env.ONLY;
  for (let r = 0; r < rounds; r++) {
    if (only !== 'callback') results.queue.push(await viaQueue());
    if (only !== 'queue') results.callback.push(await viaCallback());
  }
  const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  for (const [k, xs] of Object.entries(results).filter(([, xs]) => xs.length)) {
    console.log(`${k.padEnd(8)} median ${Math.round(median(xs))} msg/s  (${xs.map(Math.round).join(', ')})`);
  }
  console.log(`queue / callback: ${(median(results.queue) / median(results.callback)).toFixed(2)}x`);
  setTimeout(() => process.exit(0), 200);
})();
