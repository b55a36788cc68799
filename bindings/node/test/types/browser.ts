// Browser code, as it is written against lib.dom, on wsclient's WebSocket.
import { WebSocket, CloseEvent, MessageEvent, ErrorEvent } from "libwsclient";

const ws = new WebSocket('wss://example.test/feed', ['v1'], { pingInterval: 1000, ca: Buffer.from('') });
const other = new WebSocket('ws://example.test', { reconnect: false, protocols: 'chat' });
ws.binaryType = 'arraybuffer';
ws.onopen = () => ws.send(JSON.stringify({ op: 'subscribe' }));
ws.onmessage = (event: MessageEvent) => {
  if (typeof event.data === 'string') console.log(event.data.length);
};
ws.onclose = (event: CloseEvent) => console.log(event.code, event.reason, event.wasClean);
ws.onerror = (event) => console.log((event as ErrorEvent).error);
ws.addEventListener("error", (event) => console.log(event.error, event.message));
ws.addEventListener('close', (e) => console.log(e.code), { once: true });
ws.addEventListener('message', { handleEvent: (e) => console.log(e.data) });
ws.onreconnecting = (e) => console.log(e.attempt, e.delay);
ws.on('message', (data, isBinary) => console.log(data, isBinary));
ws.on('close', (code, reason) => console.log(code, reason.toString()));
ws.once('pong', (data) => console.log(data.length));
ws.ping('x');
const state: number = ws.readyState === WebSocket.OPEN ? ws.bufferedAmount : 0;
console.log(state, other.url, new CloseEvent('close', { code: 1000 }).code);
ws.send(new Uint8Array([1]));
ws.send(new Blob(['x']));
ws.close(1000, 'bye');
ws.terminate();
