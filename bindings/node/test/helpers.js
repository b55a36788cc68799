'use strict';
// Test servers built with the `ws` package on 127.0.0.1, free port, that
// can be stopped, restarted on the same port, and told to stop reading.

const http = require('http');
const { WebSocketServer } = require('ws');

function echo(socket) {
  socket.on('message', (data, isBinary) => {
    const text = isBinary ? null : data.toString();
    if (text && text.startsWith('!close ')) {
      const [, code, ...reason] = text.split(' ');
      socket.close(Number(code), reason.join(' '));
      return;
    }
    socket.send(data, { binary: isBinary });
  });
}

class Server {
  constructor({ handler = echo, verifyClient, perMessageDeflate = false } = {}) {
    this.handler = handler;
    this.verifyClient = verifyClient;
    this.perMessageDeflate = perMessageDeflate;
    this.port = 0;
    this.sockets = new Set();
    this.connections = 0;
  }

  async start() {
    this.http = http.createServer();
    this.wss = new WebSocketServer({
      server: this.http, verifyClient: this.verifyClient, maxPayload: 64 * 2 ** 20, perMessageDeflate: this.perMessageDeflate,
    });
    this.wss.on('connection', (socket, req) => {
      this.connections++;
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      this.handler(socket, req);
    });
    await new Promise((resolve) => this.http.listen(this.port, '127.0.0.1', resolve));
    this.port = this.http.address().port;
    return this;
  }

  get url() {
    return `ws://127.0.0.1:${this.port}`;
  }

  /** Drop every connection and stop listening. */
  async stop() {
    for (const s of this.sockets) s.terminate();
    await new Promise((resolve) => this.wss.close(() => resolve()));
    await new Promise((resolve) => this.http.close(() => resolve()));
    this.http.closeAllConnections?.();
  }

  /** Stop reading from every connection: pings go unanswered. */
  blackHole() {
    for (const s of this.sockets) s._socket.pause();
  }
}

async function startServer(opts) {
  return new Server(opts).start();
}

/** Resolve with the first `type` event of `target` (rejects after ms). */
function once(target, type, ms = 5000) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no ${type} event within ${ms} ms`)), ms);
    target.addEventListener(type, (e) => { clearTimeout(t); resolve(e); }, { once: true });
  });
}

/** Run `script` in a child node; resolves with its exit status and output. */
function runScript(script) {
  const { spawn } = require('child_process');
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('exit', (status) => resolve({ status, stdout, stderr }));
  });
}

function threadCount() {
  return require('fs').readdirSync('/proc/self/task').length;
}

module.exports = { startServer, once, echo, threadCount, runScript };
