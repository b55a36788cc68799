'use strict';
// Gets events from the library to the JS main thread. One event queue for
// every socket of the process; one asynchronous ws_queue_poll at a time runs
// on a libuv worker thread and hands back a batch of events, which are
// dispatched on the main thread. No worker thread ever waits for JS, and the
// main thread never waits for a worker. While a socket is open a poll is
// pending, which keeps the process alive; after the last close none is, and
// the process can exit by itself.
//
// Node joins its worker pool when the process exits, so a poll must never
// block that: each one waits at most POLL_MS, and on 'exit' (process.exit(),
// an uncaught exception, the end of the loop) the pending one is woken, so
// the process ends at once even with sockets open and no event coming.

const { koffi, api, WsEvent } = require('./native');
const { fromStatus } = require('./errors');
const { constants } = require('./c');

const BATCH = 256;
const POLL_MS = 100;

class Pump {
  constructor() {
    this.queue = null;
    this.sockets = new Map(); // handle (BigInt) -> receiver with _onEvent(ev)
    this.polling = false;
    this.events = null;
    this.count = null;
  }

  add(handle, receiver) {
    if (this.queue === null) {
      const out = [0n];
      check(api.ws_queue_new(out));
      this.queue = out[0];
      this.events = koffi.alloc(WsEvent, BATCH);
      this.count = koffi.alloc('size_t', 1);
      process.once('exit', () => this.wake());
    }
    this.sockets.set(handle, receiver);
    check(api.ws_queue_attach(handle, this.queue));
    this.poll();
  }

  /** The socket's close event was delivered: no more events will come. */
  remove(handle) {
    this.sockets.delete(handle);
    // The last one: end the pending poll now, so nothing keeps the process.
    if (this.sockets.size === 0) this.wake();
  }

  /** Make the pending poll return (or the next one, if none is pending). */
  wake() {
    if (this.queue !== null) api.ws_queue_wake(this.queue);
  }

  poll() {
    if (this.polling || this.sockets.size === 0) return;
    this.polling = true;
    api.ws_queue_poll.async(this.queue, this.events, BATCH, POLL_MS, this.count, (err, status) => {
      this.polling = false;
      try {
        if (err) throw err;
        check(status);
        const n = Number(koffi.decode(this.count, 'size_t'));
        if (n > 0) {
          const batch = koffi.decode(this.events, koffi.array(WsEvent, n));
          for (const ev of batch) {
            const receiver = this.sockets.get(ev.handle);
            if (receiver !== undefined) receiver._onEvent(ev);
          }
        }
      } finally {
        this.poll();
      }
    });
  }
}

function check(status) {
  if (status !== constants.WS_OK) throw fromStatus(status, require('./native').lastErrorMessage());
}

module.exports = { pump: new Pump(), check };
