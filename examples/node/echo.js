'use strict';
// Connect to an echo server, send a string and binary, print what comes back, close.
//   node examples/node/echo.js ws://127.0.0.1:9001
const { WebSocket } = require('libwsclient');

const url = process.argv[2] || 'ws://127.0.0.1:9001';
const ws = new WebSocket(url);
let replies = 0;

ws.onopen = () => {
  console.log(`open ${url}`);
  ws.send('hello from Node');
  ws.send(Buffer.from([0, 1, 2, 3]));
};
ws.onmessage = (event) => {
  console.log('<', event.data);
  if (++replies === 2) ws.close(1000, 'bye');
};
ws.onerror = (event) => console.error('error:', event.message);
ws.onclose = (event) => {
  console.log(`closed with ${event.code} ${event.reason} (clean: ${event.wasClean})`);
  process.exitCode = replies === 2 && event.code === 1000 ? 0 : 1;
};
