'use strict';
// The echo server of bench/deflate.py: `ws` with permessage-deflate on (its
// default zlib settings, threshold 1 KiB), as servers that compress run it.
// Prints its URL, then one JSON line per closed connection: the bytes it
// read and wrote on that TCP connection (handshake included), i.e. what the
// wire carried both ways.
const http = require('http');
const { WebSocketServer } = require(require.resolve('ws', { paths: [__dirname] }));

const server = http.createServer();
const wss = new WebSocketServer({ server, perMessageDeflate: { threshold: 1024 }, maxPayload: 256 << 20 });
wss.on('connection', (ws, req) => {
  const socket = req.socket;
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('close', () => {
    console.log(JSON.stringify({ bytes_read: socket.bytesRead, bytes_written: socket.bytesWritten,
      extensions: ws.extensions }));
  });
});
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ ws: `ws://127.0.0.1:${server.address().port}` })));
