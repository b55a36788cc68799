// Types for wsclient: the WHATWG WebSocket, that stays connected. They need
// Node's types (@types/node) and no DOM names: they compile with and without
// lib.dom, and with lib.dom `globalThis.WebSocket = WebSocket` type-checks.
/// <reference types="node" />

/** permessage-deflate's parameters, named as `ws` names them. */
export interface PerMessageDeflateOptions {
  /** Messages shorter than this many bytes are sent uncompressed (default 1024). */
  threshold?: number;
  /** The deflate level, 0 to 9 (default 6). */
  level?: number;
  /** As `ws`: `{ level }` is read from here too. */
  zlibDeflateOptions?: { level?: number };
  /** Ask the server to reset its compressor after each message. */
  serverNoContextTakeover?: boolean;
  /** Reset ours after each message. */
  clientNoContextTakeover?: boolean;
  /** Ask the server for this window at most (8 to 15). */
  serverMaxWindowBits?: number;
  /** Cap our window (8 to 15); true (the default) lets the server pick. */
  clientMaxWindowBits?: number | true;
}

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
  /**
   * Reconnect after failures and non-final closes (default true). With false: a browser socket.
   * With true, a drop fires `reconnecting` (not `close`), readyState goes back to CONNECTING,
   * and send() while CONNECTING queues instead of throwing; nothing else changes.
   */
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
  /** Subprotocols to offer, for the `(url, options)` form. */
  protocols?: string | string[];
  /** Extra trusted CA certificates, PEM (as tls.connect takes them): text, a Buffer, or an array of them. */
  ca?: PEM | PEM[];
  /** Client certificate chain, PEM; with `key`. */
  cert?: PEM | PEM[];
  /** The client certificate's PKCS#8 key, PEM; with `cert`. */
  key?: PEM | PEM[];
  /** false skips certificate and host name verification (tests only); default true. */
  rejectUnauthorized?: boolean;
  /** Path of a PEM file with extra trusted CA certificates. */
  caFile?: string;
  /** permessage-deflate (RFC 7692): offered by default; false turns it off, an object tunes it. */
  perMessageDeflate?: boolean | PerMessageDeflateOptions;
  /** Paths of the client certificate chain and its PKCS#8 key, PEM files. */
  certFile?: string;
  keyFile?: string;
  /** Same as `rejectUnauthorized: false`. */
  insecure?: boolean;
  /** The password of an encrypted PKCS#8 `key`. */
  passphrase?: string;
  /** The TLS server name, sent in SNI and verified (default: the URL's host). */
  servername?: string;
  /** The User-Agent header (default `wsclient/VERSION`; '' sends none). */
  userAgent?: string;
  /** An HTTP CONNECT or SOCKS5 proxy URL ('' : none; default: from the environment). */
  proxy?: string;
  /** Read https_proxy, http_proxy, all_proxy, no_proxy when no proxy is set (default true). */
  proxyFromEnv?: boolean;
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

/** PEM text, as a string or bytes. */
export type PEM = string | Uint8Array;

/** What send() takes: anything else is sent as its string (WebIDL). */
export type SendData = string | ArrayBufferLike | ArrayBufferView | Blob;

export interface EventInitDict {
  bubbles?: boolean;
  cancelable?: boolean;
  composed?: boolean;
}

export interface MessageEventInit<T = unknown> extends EventInitDict {
  data?: T;
  origin?: string;
  lastEventId?: string;
  source?: unknown;
  ports?: unknown[];
}

/** Node's own MessageEvent. `data`: a string, or a Blob / ArrayBuffer (binaryType). */
export class MessageEvent<T = any> extends Event {
  constructor(type: string, init?: MessageEventInit<T>);
  readonly data: T;
  readonly origin: string;
  readonly lastEventId: string;
  readonly source: unknown;
  readonly ports: ReadonlyArray<unknown>;
}

export interface CloseEventInit extends EventInitDict {
  code?: number;
  reason?: string;
  wasClean?: boolean;
}

export class CloseEvent extends Event {
  constructor(type: string, init?: CloseEventInit);
  readonly code: number;
  readonly reason: string;
  readonly wasClean: boolean;
}

export interface ErrorEventInit extends EventInitDict {
  message?: string;
  filename?: string;
  lineno?: number;
  colno?: number;
  error?: unknown;
}

/** The `error` event: `error` is a WebSocketError saying what went wrong. */
export class ErrorEvent extends Event {
  constructor(type: string, init?: ErrorEventInit);
  readonly error: any;
  readonly message: string;
  readonly filename: string;
  readonly lineno: number;
  readonly colno: number;
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
  /** Round-trip time, ms (0 for a pong the server sent unasked). */
  readonly rtt: number;
  /** The pong's payload. */
  readonly data: Buffer;
}

export interface PingEvent extends Event {
  /** The server ping's payload (the library has answered it). */
  readonly data: Buffer;
}

export interface WebSocketEventMap {
  open: Event;
  message: MessageEvent;
  error: ErrorEvent;
  close: CloseEvent;
  reconnecting: ReconnectingEvent;
  pong: PongEvent;
  ping: PingEvent;
}

/** ws-style listener arguments. */
export interface WsListeners {
  open: () => void;
  message: (data: Buffer | ArrayBuffer, isBinary: boolean) => void;
  close: (code: number, reason: Buffer) => void;
  error: (error: WebSocketError) => void;
  ping: (data: Buffer) => void;
  pong: (data: Buffer) => void;
  reconnecting: (event: ReconnectingEvent) => void;
}

// Handler attributes take what lib.dom's take, so that with lib.dom
// `globalThis.WebSocket = WebSocket` type-checks (onerror an Event, as
// there; addEventListener('error', ...) gives the ErrorEvent).
type Handler<E> = (ev: E) => unknown;
type Listener<E> = Handler<E> | { handleEvent(ev: E): unknown };
interface ListenerOptions {
  capture?: boolean;
  once?: boolean;
  passive?: boolean;
  signal?: AbortSignal;
}

export class WebSocket extends EventTarget {
  constructor(url: string | URL, protocols?: string | string[]);
  constructor(url: string | URL, protocols: string | string[] | undefined, options: WebSocketOptions);
  constructor(url: string | URL, options: WebSocketOptions);
  static readonly CONNECTING: 0;
  static readonly OPEN: 1;
  static readonly CLOSING: 2;
  static readonly CLOSED: 3;
  readonly CONNECTING: 0;
  readonly OPEN: 1;
  readonly CLOSING: 2;
  readonly CLOSED: 3;
  /** The serialised URL (http: and https: become ws: and wss:). */
  readonly url: string;
  /** With reconnect on, goes back to CONNECTING (0) while reconnecting. */
  readonly readyState: 0 | 1 | 2 | 3;
  readonly protocol: string;
  readonly extensions: string;
  readonly bufferedAmount: number;
  readonly stats: Stats;
  /** 'blob' (the default) or 'arraybuffer'; other values are ignored. */
  binaryType: 'blob' | 'arraybuffer';
  onopen: Handler<Event> | null;
  onmessage: Handler<MessageEvent> | null;
  /** The event is an ErrorEvent (`error`, `message`); typed Event as in lib.dom. */
  onerror: Handler<Event> | null;
  onclose: Handler<CloseEvent> | null;
  onreconnecting: Handler<ReconnectingEvent> | null;
  onpong: Handler<PongEvent> | null;
  onping: Handler<PingEvent> | null;
  send(data: SendData): void;
  close(code?: number, reason?: string): void;
  /** ws: end the connection at once, without a closing handshake; `close` (1006) follows. */
  terminate(): void;
  /** ws: a ping with up to 125 bytes; its pong comes as a `pong` event with that payload. */
  ping(data?: string | ArrayBufferLike | ArrayBufferView): void;
  /** Use this URL from the next reconnect attempt on. */
  setUrl(url: string | URL): void;
  /** Send this header from the next reconnect attempt on. */
  setHeader(name: string, value: string): void;
  on<K extends keyof WsListeners>(type: K, listener: WsListeners[K]): this;
  once<K extends keyof WsListeners>(type: K, listener: WsListeners[K]): this;
  off<K extends keyof WsListeners>(type: K, listener: WsListeners[K]): this;
  addListener<K extends keyof WsListeners>(type: K, listener: WsListeners[K]): this;
  removeListener<K extends keyof WsListeners>(type: K, listener: WsListeners[K]): this;
  removeAllListeners(type?: keyof WsListeners): this;
  addEventListener<K extends keyof WebSocketEventMap>(
    type: K,
    listener: Listener<WebSocketEventMap[K]> | null,
    options?: boolean | ListenerOptions
  ): void;
  addEventListener(type: string, listener: Listener<Event> | null, options?: boolean | ListenerOptions): void;
  removeEventListener<K extends keyof WebSocketEventMap>(
    type: K,
    listener: Listener<WebSocketEventMap[K]> | null,
    options?: boolean | { capture?: boolean }
  ): void;
  removeEventListener(type: string, listener: Listener<Event> | null, options?: boolean | { capture?: boolean }): void;
}

/** Version of the C library in use. */
export const version: string;
/** The library's TLS stack, e.g. "OpenSSL 3.6.1 (vendored)" or "OpenSSL 3.0.17 (system)". */
export function tlsBackend(): string;
export default WebSocket;
