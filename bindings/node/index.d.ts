// Types for wsclient: a browser-compatible WebSocket that stays connected.

export interface WebSocketOptions {
  /** Extra HTTP headers on the upgrade request. */
  headers?: Record<string, string> | Array<[string, string]>;
  /** TCP connect budget, ms (default 10000). */
  connectTimeout?: number;
  /** TLS handshake + HTTP upgrade budget from the TCP connect on, ms (default 5000). */
  handshakeTimeout?: number;
  /**
   * Receive limit: events received and not yet dispatched (default 1000). At the limit the
   * library stops reading the socket (TCP pushes back on the server) until JS catches up;
   * nothing is dropped, and the heartbeat does not blame the server meanwhile.
   */
  receiveMaxEvents?: number;
  /** Receive limit in message bytes (default 16 MiB); one message may go over it. */
  receiveMaxBytes?: number;
  /** Largest frame from the server, bytes (default 64 MiB, capped by maxMessageSize). */
  maxFrameSize?: number;
  /** Wait for the server's close frame, ms (default 5000). */
  closeTimeout?: number;
  /** Heartbeat ping interval, ms; 0 turns it off (default 30000). */
  pingInterval?: number;
  /** Silence after a ping that means a dead peer, ms (default 5000). */
  pongTimeout?: number;
  /** Send this text as the ping instead of a protocol ping frame. */
  pingPayload?: string | null;
  /** Reconnect after failures and non-final closes (default true). With false: a browser socket. */
  reconnect?: boolean;
  /**
   * Initial reconnect delay, ms, at least 1 (default 1000). The first retry after an open
   * connection drops waits a random delay in [0, initialDelay]; failed attempts grow it.
   */
  initialDelay?: number;
  /** Largest reconnect delay, ms (default 30000). */
  maxDelay?: number;
  /** Backoff growth per attempt (default 2). */
  multiplier?: number;
  /** Relative jitter of each delay, 0..1 (default 0.2). */
  jitter?: number;
  /** Give up after this many failed attempts in a row; 0 = never (default). */
  maxAttempts?: number;
  /** HTTP redirects to follow per attempt (default 0; never wss to ws). */
  maxRedirects?: number;
  /** A connection must stay open this long (ms) before the attempt count resets (default 5000). */
  minUptime?: number;
  /** Server close codes that end reconnecting (default []: every server close reconnects, 1000 too). */
  finalCloseCodes?: number[];
  /** Rejected-upgrade statuses that end reconnecting (default [401, 403, 404]). */
  fatalHttpStatuses?: number[];
  /** Most messages waiting to be sent (default 100000). */
  queueLimit?: number;
  /** Most bytes waiting to be sent (default 256 MiB). */
  queueLimitBytes?: number;
  /** Queue sends while not open (default true); false makes them throw. */
  queueWhileDisconnected?: boolean;
  /** Largest message either way, bytes (default 64 MiB). */
  maxMessageSize?: number;
  /** Read buffer, bytes (default 128 KiB). */
  readBufferSize?: number;
  /** Path of a PEM file with extra trusted CA certificates. */
  ca?: string;
  /** Client certificate and PKCS#8 key, PEM file paths. */
  cert?: { cert: string; key: string } | [string, string];
  /** Skip certificate and host name verification (tests only). */
  insecure?: boolean;
  /** Seed of the backoff jitter. */
  seed?: number | bigint;
}

export interface Stats {
  messagesSent: number;
  bytesSent: number;
  messagesReceived: number;
  bytesReceived: number;
  reconnects: number;
  attempt: number;
  /** Round-trip time of the last answered ping, ms. */
  lastRtt: number | null;
  /** When the connection last opened, ms since the epoch. */
  lastOpen: number | null;
  queuedMessages: number;
  queuedBytes: number;
  /** Messages handed to the kernel on connections that then died uncleanly: maybe not received. */
  messagesMaybeLost: number;
  /** Events received and not yet dispatched, and their message bytes (see receiveMaxEvents). */
  undeliveredEvents: number;
  undeliveredBytes: number;
}

export class WebSocketError extends Error {
  /** e.g. 'WS_ERR_QUEUE_FULL', 'HANDSHAKE_REJECTED', 'HEARTBEAT_TIMEOUT'. */
  code: string;
  /** For HANDSHAKE_REJECTED: the HTTP status. */
  httpStatus?: number;
}

export class MessageEvent extends Event {
  readonly data: string | Buffer | ArrayBuffer | Blob;
  readonly origin: string;
}

export class CloseEvent extends Event {
  readonly code: number;
  readonly reason: string;
  readonly wasClean: boolean;
}

export class ErrorEvent extends Event {
  readonly error: WebSocketError;
  readonly message: string;
}

export interface ReconnectingEvent extends Event {
  readonly attempt: number;
  /** ms until the attempt. */
  readonly delay: number;
  readonly error: WebSocketError;
  /** How the connection that ended closed: 1006, '' and false without a close handshake. */
  readonly code: number;
  readonly reason: string;
  readonly wasClean: boolean;
}

export interface PongEvent extends Event {
  /** Round-trip time, ms. */
  readonly rtt: number;
}

export interface WebSocketEventMap {
  open: Event;
  message: MessageEvent;
  error: ErrorEvent;
  close: CloseEvent;
  reconnecting: ReconnectingEvent;
  pong: PongEvent;
}

export class WebSocket extends EventTarget {
  constructor(url: string | URL, protocols?: string | string[], options?: WebSocketOptions);
  static readonly CONNECTING: 0;
  static readonly OPEN: 1;
  static readonly CLOSING: 2;
  static readonly CLOSED: 3;
  readonly CONNECTING: 0;
  readonly OPEN: 1;
  readonly CLOSING: 2;
  readonly CLOSED: 3;
  readonly url: string;
  /** Goes back to CONNECTING (0) while reconnecting. */
  readonly readyState: 0 | 1 | 2 | 3;
  readonly protocol: string;
  readonly extensions: string;
  readonly bufferedAmount: number;
  readonly stats: Stats;
  binaryType: 'nodebuffer' | 'arraybuffer' | 'blob';
  onopen: ((this: WebSocket, ev: Event) => unknown) | null;
  onmessage: ((this: WebSocket, ev: MessageEvent) => unknown) | null;
  onerror: ((this: WebSocket, ev: ErrorEvent) => unknown) | null;
  onclose: ((this: WebSocket, ev: CloseEvent) => unknown) | null;
  onreconnecting: ((this: WebSocket, ev: ReconnectingEvent) => unknown) | null;
  onpong: ((this: WebSocket, ev: PongEvent) => unknown) | null;
  send(data: string | Buffer | ArrayBuffer | ArrayBufferView): void;
  close(code?: number, reason?: string): void;
  /** Use this URL from the next reconnect attempt on. */
  setUrl(url: string): void;
  /** Send this header from the next reconnect attempt on. */
  setHeader(name: string, value: string): void;
  addEventListener<K extends keyof WebSocketEventMap>(
    type: K,
    listener: (this: WebSocket, ev: WebSocketEventMap[K]) => unknown,
    options?: boolean | AddEventListenerOptions
  ): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject, options?: boolean | AddEventListenerOptions): void;
}

/** Version of the C library in use. */
export const version: string;
export default WebSocket;
