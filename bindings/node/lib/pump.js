'use strict';
// Gets events from the library to the JS main thread, with one hop and no
// thread of Node's: every socket of the process is attached to one event
// queue, whose file descriptor (`ws_queue_fd`, a pipe readable while events
// are pending) the main thread watches as a readable net.Socket. When it is
// readable, the queue is drained with non-blocking `ws_queue_poll` calls.
//
// Each event is dispatched as its own task, as the standard asks: the first
// of a batch in the I/O callback that saw the fd readable, each of the
// others in its own setImmediate (all scheduled at once, so they run in the
// same check phase, with the microtask queue emptied between them). The next
// batch is taken when the last event of this one has been dispatched, so
// the library's receive limit still holds back a fast server while JS is
// busy.
//
// The watcher is referenced while a socket is open and unreferenced after
// the last close: an open socket keeps the process alive, and the process
// exits by itself once every socket has closed. No thread of Node's waits
// in the library, so process.exit() and uncaught exceptions end the process
// at once.

const net = require('net');
const { koffi, api, WsEvent, libc, eventReader, lastErrorMessage } = require('./native');
const { fromStatus } = require('./errors');
const { constants } = require('./c');

const BATCH = 256;

class Pump {
  constructor() {
    this.queue = null;
    this.sockets = new Map(); // handle (BigInt) -> receiver with _take(ev, tasks) and _run(task)
    this.events = null;
    this.count = null;
    this.watcher = null;
    this.tasks = []; // tasks not yet run: each has one setImmediate (or the running I/O callback) of its own
    this.head = 0; // tasks[head..] are pending; while any is, the next batch waits
    this.runOne = this.runOne.bind(this);
  }

  start() {
    const out = [0n];
    check(api.ws_queue_new(out));
    this.queue = out[0];
    this.events = koffi.alloc(WsEvent, BATCH);
    this.count = koffi.alloc('size_t', 1);
    this.reader = eventReader(this.events, BATCH);
    const fd = [0];
    check(api.ws_queue_fd(this.queue, fd));
    // A duplicate of the queue's fd, for Node to own: Node may close its
    // handle's fd at exit, and the queue closes its own.
    const own = libc.dup(fd[0]);
    if (own < 0) throw new Error('wsclient: dup() of the event queue\'s fd failed');
    this.watcher = new net.Socket({ fd: own, readable: true, writable: false });
    // The bytes are only a doorbell; the events are in the queue.
    this.watcher.on('data', () => { if (this.tasks.length === this.head) this.drain(true); });
    this.watcher.on('error', (err) => process.nextTick(() => { throw err; }));
    this.watcher.unref();
  }

  add(handle, receiver) {
    if (this.queue === null) this.start();
    this.sockets.set(handle, receiver);
    check(api.ws_queue_attach(handle, this.queue));
    if (this.sockets.size === 1) this.watcher.ref();
  }

  /** The socket's last event was dispatched, or it was terminated: no more events for it. */
  remove(handle) {
    if (this.sockets.delete(handle) && this.sockets.size === 0) this.watcher.unref();
  }

  /** Run `task` (the receiver's `_run(task)`) as a task of its own, after those already pending. */
  post(task) {
    this.tasks.push(task);
    setImmediate(this.runOne);
  }

  /**
   * Unless tasks are pending, take events until a batch gives tasks or the
   * queue is empty. From the fd's I/O callback (`now`), the first new task
   * runs at once; every other one gets its own setImmediate.
   */
  drain(now) {
    const tasks = this.tasks;
    const start = tasks.length;
    while (tasks.length === this.head) {
      check(api.ws_queue_poll(this.queue, this.events, BATCH, 0, this.count));
      const n = Number(koffi.decode(this.count, 'size_t'));
      if (n === 0) return;
      this.take(n);
    }
    this.schedule(start, now);
  }

  /** The tasks of n polled events. */
  take(n) {
    const ev = this.reader;
    for (let i = 0; i < n; i++) {
      ev.at(i);
      const receiver = this.sockets.get(ev.handle);
      if (receiver !== undefined) receiver._take(ev, this.tasks);
    }
  }

  /** Give tasks[start..] each its own task: the first one now (`now`), the others a setImmediate each. */
  schedule(start, now) {
    const end = this.tasks.length;
    for (let i = start + (now ? 1 : 0); i < end; i++) setImmediate(this.runOne);
    if (now && end > start) this.runOne();
  }

  runOne() {
    const task = this.tasks[this.head];
    this.tasks[this.head++] = undefined;
    const last = this.head === this.tasks.length;
    if (last) {
      this.tasks.length = 0;
      this.head = 0;
    }
    try {
      task.receiver._run(task);
    } finally {
      if (last) this.drain(false);
    }
  }
}

function check(status) {
  if (status !== constants.WS_OK) throw fromStatus(status, lastErrorMessage());
}

module.exports = { pump: new Pump(), check };
