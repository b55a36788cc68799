'use strict';
// Gets events from the library to the JS main thread. One event queue for
// every socket of the process; one asynchronous ws_queue_poll at a time runs
// on a libuv worker thread and hands back a batch of events, which are
// dispatched on the main thread. No worker thread ever waits for JS, and the
// main thread never waits for a worker. While a socket is open a poll is
// pending, which keeps the process alive; after the last close none is, and
// the process can exit by itself.

const { koffi, api, WsEvent } = require('./native');
const { fromStatus } = require('./errors');

const BATCH = 256;

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
    }
    this.sockets.set(handle, receiver);
    check(api.ws_queue_attach(handle, this.queue));
    this.poll();
  }

  /** The socket's close event was delivered: no more events will come. */
  remove(handle) {
    this.sockets.delete(handle);
  }

  poll() {
    if (this.polling || this.sockets.size === 0) return;
    this.polling = true;
    api.ws_queue_poll.async(this.queue, this.events, BATCH, -1, this.count, (err, status) => {
      this.polling = false;
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
      this.poll();
    });
  }
}

function check(status) {
  if (status !== 0) throw fromStatus(status, require('./native').lastErrorMessage());
}

module.exports = { pump: new Pump(), check };
