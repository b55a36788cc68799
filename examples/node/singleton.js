'use strict';
// The classic browser pattern, unchanged: one shared socket, a JSON
// {"request":"ping"} heartbeat on a timer with a reply deadline, reconnect()
// guarded by a lock flag and a delay, a userClose flag, and an openSuccess
// hook after reconnect. It only uses the global WebSocket, exactly as in a
// browser; here ours is installed as globalThis.WebSocket (with reconnect
// off, so this code is in charge, as it would be in a browser).
//   node examples/node/singleton.js ws://127.0.0.1:9001 [seconds]

const { WebSocket: Ours } = require('libwsclient');
globalThis.WebSocket = class extends Ours {
  constructor(url, protocols) {
    super(url, protocols, { reconnect: false, pingInterval: 0 });
  }
};

// ---- browser code from here on -------------------------------------------
class Socket {
  static instance = null;

  static get(url) {
    if (!Socket.instance) Socket.instance = new Socket(url);
    return Socket.instance;
  }

  constructor(url) {
    this.url = url;
    this.lockReconnect = false; // only one reconnect at a time
    this.userClose = false; // a deliberate close stays closed
    this.reconnects = 0;
    this.heartTimer = null;
    this.deadlineTimer = null;
    this.onfeed = () => {};
    this.connect();
  }

  connect() {
    this.ws = new WebSocket(this.url);
    this.ws.onopen = () => {
      console.log('open');
      this.heartCheck();
      if (this.reconnects > 0) this.openSuccess();
    };
    this.ws.onmessage = (event) => {
      this.heartCheck(); // any message proves the server is alive
      const msg = JSON.parse(event.data);
      if (msg.request !== 'ping') this.onfeed(msg);
    };
    this.ws.onerror = () => console.log('error');
    this.ws.onclose = (event) => {
      console.log(`close ${event.code}`);
      clearTimeout(this.heartTimer);
      clearTimeout(this.deadlineTimer);
      if (!this.userClose) this.reconnect();
    };
  }

  heartCheck() {
    clearTimeout(this.heartTimer);
    clearTimeout(this.deadlineTimer);
    this.heartTimer = setTimeout(() => {
      if (this.ws.readyState !== WebSocket.OPEN) return;
      this.ws.send(JSON.stringify({ request: 'ping' }));
      this.deadlineTimer = setTimeout(() => this.ws.close(), 1000); // no reply: start over
    }, 1000);
  }

  reconnect() {
    if (this.lockReconnect || this.userClose) return;
    this.lockReconnect = true;
    setTimeout(() => {
      this.reconnects++;
      console.log(`reconnecting (${this.reconnects})`);
      this.connect();
      this.lockReconnect = false;
    }, 500);
  }

  openSuccess() {
    console.log('reconnected: subscribing again');
    this.send({ op: 'subscribe' });
  }

  send(obj) {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(obj));
  }

  close() {
    this.userClose = true;
    this.ws.close();
  }
}
// ---- end of browser code ---------------------------------------------------

if (require.main === module) {
  const url = process.argv[2] || 'ws://127.0.0.1:9001';
  const seconds = Number(process.argv[3] || 10);
  const s = Socket.get(url);
  s.onfeed = (msg) => console.log('feed:', JSON.stringify(msg));
  setInterval(() => s.send({ op: 'update', at: Date.now() }), 500).unref();
  setTimeout(() => {
    console.log(`singleton: ${s.reconnects} reconnects`);
    s.close();
  }, seconds * 1000);
}

module.exports = { Socket };
