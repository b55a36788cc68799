// ESM entry: the same objects as the CommonJS one.
import cjs from './index.js';

export const { WebSocket, WebSocketError, MessageEvent, CloseEvent, ErrorEvent, version, tlsBackend } = cjs;
export default cjs.WebSocket;
