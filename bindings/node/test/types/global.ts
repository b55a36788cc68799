// With lib.dom: the browser's global replaced by wsclient's.
import { WebSocket } from 'libwsclient';

globalThis.WebSocket = WebSocket;
const ws: globalThis.WebSocket = new globalThis.WebSocket('ws://example.test');
ws.onmessage = (e: globalThis.MessageEvent) => console.log(e.data);
ws.onclose = (e: globalThis.CloseEvent) => console.log(e.code);
