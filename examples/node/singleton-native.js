'use strict';
// The same program as singleton.js, with the hand-written heartbeat and
// reconnect replaced by wsclient's options: the library pings, notices a
// dead server, reconnects with backoff, and queues sends while it is down.
//   node examples/node/singleton-native.js ws://127.0.0.1:9001 [seconds]

const { WebSocket } = require('libwsclient');

class Socket {
  static instance = null;

  static get(url) {
    if (!Socket.instance) Socket.instance = new Socket(url);
    return Socket.instance;
  }

  constructor(url) {
    this.onfeed = () => {};
    this.ws = new WebSocket(url, [], {
      pingInterval: 1000, // heartbeat (protocol pings; use pingPayload for a JSON ping)
      pongTimeout: 1000, // no sign of life within 1 s: reconnect
      initialDelay: 500, // backoff: 500 ms, 1 s, 2 s, ... up to maxDelay
      maxDelay: 5000,
    });
    this.ws.onopen = () => {
      console.log('open');
      if (this.ws.stats.reconnects > 0) this.openSuccess();
    };
    this.ws.onmessage = (event) => this.onfeed(JSON.parse(event.data));
    this.ws.onreconnecting = (event) => console.log(`reconnecting (${event.attempt}) in ${event.delay} ms`);
    this.ws.onclose = (event) => console.log(`close ${event.code}`);
  }

  openSuccess() {
    console.log('reconnected: subscribing again');
    this.send({ op: 'subscribe' });
  }

  send(obj) {
    this.ws.send(JSON.stringify(obj)); // queued while reconnecting, delivered in order
  }

  close() {
    this.ws.close(); // a deliberate close never reconnects
  }
}

if (require.main === module) {
  const url = process.argv[2] || 'ws://127.0.0.1:9001';
  const seconds = Number(process.argv[3] || 10);
  const s = Socket.get(url);
  s.onfeed = (msg) => console.log('feed:', JSON.stringify(msg));
  setInterval(() => s.send({ op: 'update', at: Date.now() }), 500).unref();
  setTimeout(() => {
    console.log(`singleton: ${s.ws.stats.reconnects} reconnects`);
    s.close();
  }, seconds * 1000);
}

module.exports = { Socket };
