'use strict';
// wsclient for Node: a WebSocket that follows the WHATWG API and stays
// connected (heartbeat, reconnect with backoff, queued sends), over the
// wsclient C library through koffi.

const { api, koffi, WsStats, lastErrorMessage } = require('./lib/native');
const { WebSocketError, fromStatus, fromEvent } = require('./lib/errors');
const { pump, check } = require('./lib/pump');
const { MessageEvent, CloseEvent, ErrorEvent, ReconnectingEvent, PongEvent } = require('./lib/events');
const { constants, enums } = require('./lib/c');

// readyState, as the WHATWG standard numbers it (tracked here from the
// events, not read from the library's ws_ready_state).
const CONNECTING = 0;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;

const {
  WS_EVENT_OPEN: EV_OPEN, WS_EVENT_MESSAGE: EV_MESSAGE, WS_EVENT_ERROR: EV_ERROR, WS_EVENT_CLOSE: EV_CLOSE,
  WS_EVENT_PONG: EV_PONG, WS_EVENT_RECONNECTING: EV_RECONNECTING,
} = enums.ws_event_type;

const MAX_U32 = 0xffffffff;

/** Option name -> [kind, C setter]; times are in milliseconds. Options not given keep the library's defaults. */
const NUMERIC = {
  connectTimeout: ['ms', 'ws_config_set_connect_timeout_ms'],
  handshakeTimeout: ['ms', 'ws_config_set_handshake_timeout_ms'],
  receiveMaxEvents: ['u64', 'ws_config_set_receive_max_events'],
  receiveMaxBytes: ['u64', 'ws_config_set_receive_max_bytes'],
  maxFrameSize: ['size', 'ws_config_set_max_frame_size'],
  closeTimeout: ['ms', 'ws_config_set_close_timeout_ms'],
  pingInterval: ['ms0', 'ws_config_set_ping_interval_ms'],
  pongTimeout: ['ms', 'ws_config_set_pong_timeout_ms'],
  initialDelay: ['ms', 'ws_config_set_initial_delay_ms'],
  maxDelay: ['ms', 'ws_config_set_max_delay_ms'],
  minUptime: ['ms0', 'ws_config_set_min_uptime_ms'],
  maxAttempts: ['u32', 'ws_config_set_max_attempts'],
  maxRedirects: ['u32', 'ws_config_set_max_redirects'],
  multiplier: ['float', 'ws_config_set_backoff_multiplier'],
  jitter: ['float', 'ws_config_set_backoff_jitter'],
  maxMessageSize: ['size', 'ws_config_set_max_message_size'],
  readBufferSize: ['size', 'ws_config_set_read_buffer_size'],
  queueLimit: ['u64', 'ws_config_set_queue_max_messages'],
  queueLimitBytes: ['u64', 'ws_config_set_queue_max_bytes'],
};
const KNOWN_OPTIONS = new Set([
  ...Object.keys(NUMERIC),
  'headers', 'pingPayload', 'reconnect', 'finalCloseCodes', 'fatalHttpStatuses',
  'queueWhileDisconnected', 'ca', 'cert', 'insecure', 'seed',
]);

/** The close reason of an event: every byte up to reason_len (NUL bytes included). */
function reasonOf(ev) {
  const len = Number(ev.reason_len);
  return len === 0 ? '' : Buffer.from(koffi.view(ev.reason, len)).toString('utf8');
}

function num(name, value, kind) {
  if (typeof value !== 'number' || Number.isNaN(value)) {
    throw new TypeError(`options.${name} must be a number, got ${typeof value}`);
  }
  const min = kind === 'ms' || kind === 'size' || kind === 'u64' ? 1 : 0;
  const max = kind === 'float' ? Infinity : kind === 'u64' ? Number.MAX_SAFE_INTEGER : MAX_U32;
  if (value < min || value > max) throw new RangeError(`options.${name} must be between ${min} and ${max}, got ${value}`);
  return kind === 'float' ? value : Math.round(value);
}

function configure(cfg, url, protocols, options) {
  check(api.ws_config_set_url(cfg, url));
  for (const p of protocols) check(api.ws_config_add_subprotocol(cfg, p));
  for (const [name, value] of Object.entries(options)) {
    if (!KNOWN_OPTIONS.has(name)) throw new TypeError(`unknown option '${name}'`);
    if (value === undefined) continue;
    if (NUMERIC[name]) {
      const [kind, setter] = NUMERIC[name];
      check(api[setter](cfg, num(name, value, kind)));
      continue;
    }
    switch (name) {
      case 'headers': {
        if (typeof value !== 'object' || value === null) throw new TypeError('options.headers must be an object');
        const entries = Array.isArray(value) ? value : Object.entries(value);
        for (const [k, v] of entries) check(api.ws_config_add_header(cfg, String(k), String(v)));
        break;
      }
      case 'pingPayload':
        if (value !== null && typeof value !== 'string') throw new TypeError('options.pingPayload must be a string');
        check(api.ws_config_set_ping_payload(cfg, value));
        break;
      case 'reconnect':
      case 'insecure':
      case 'queueWhileDisconnected':
        if (typeof value !== 'boolean') throw new TypeError(`options.${name} must be a boolean`);
        check(api[{ reconnect: 'ws_config_set_reconnect', insecure: 'ws_config_set_insecure',
          queueWhileDisconnected: 'ws_config_set_queue_while_disconnected' }[name]](cfg, value));
        break;
      case 'finalCloseCodes':
      case 'fatalHttpStatuses': {
        if (!Array.isArray(value) || !value.every(Number.isInteger)) {
          throw new TypeError(`options.${name} must be an array of integers`);
        }
        const setter = name === 'finalCloseCodes' ? 'ws_config_set_final_close_codes' : 'ws_config_set_fatal_http_statuses';
        check(api[setter](cfg, value.length ? new Uint16Array(value) : null, value.length));
        break;
      }
      case 'ca':
        if (typeof value !== 'string') throw new TypeError('options.ca must be the path of a PEM file');
        check(api.ws_config_set_ca_file(cfg, value));
        break;
      case 'cert': {
        const [cert, key] = Array.isArray(value) ? value : [value && value.cert, value && value.key];
        if (typeof cert !== 'string' || typeof key !== 'string') {
          throw new TypeError('options.cert must be { cert, key } with the paths of PEM files');
        }
        check(api.ws_config_set_client_cert(cfg, cert, key));
        break;
      }
      case 'seed':
        check(api.ws_config_set_random_seed(cfg, BigInt(value)));
        break;
      default:
        break;
    }
  }
}

function toBytes(data) {
  if (typeof data === 'string') return [Buffer.from(data, 'utf8'), false];
  if (Buffer.isBuffer(data)) return [data, true];
  if (data instanceof ArrayBuffer) return [Buffer.from(data), true];
  if (ArrayBuffer.isView(data)) return [Buffer.from(data.buffer, data.byteOffset, data.byteLength), true];
  throw new TypeError(
    `send() takes a string, Buffer, ArrayBuffer, TypedArray or DataView, not ${data === null ? 'null' : typeof data}`
  );
}

class WebSocket extends EventTarget {
  /**
   * @param {string|URL} url ws:// or wss:// URL.
   * @param {string|string[]} [protocols] subprotocols to offer.
   * @param {object} [options] heartbeat, reconnect, queue, TLS and header options (ms).
   */
  constructor(url, protocols = [], options = {}) {
    super();
    if (url instanceof URL) url = url.href;
    if (typeof url !== 'string') throw new TypeError('url must be a string or a URL');
    if (typeof protocols === 'string') protocols = [protocols];
    if (!Array.isArray(protocols) || !protocols.every((p) => typeof p === 'string')) {
      throw new TypeError('protocols must be a string or an array of strings');
    }
    if (new Set(protocols).size !== protocols.length) {
      throw new DOMException('protocols must not repeat', 'SyntaxError');
    }
    if (options === null || typeof options !== 'object') throw new TypeError('options must be an object');

    this._url = url;
    this._readyState = CONNECTING;
    this._protocol = '';
    this._binaryType = 'nodebuffer';
    this._reconnect = options.reconnect !== false;
    this._handlers = {};
    this._finalStats = null;

    const cfg = [0n];
    check(api.ws_config_new(cfg));
    const handle = [0n];
    try {
      configure(cfg[0], url, protocols, options);
      check(api.ws_create_with_config(cfg[0], handle));
    } finally {
      api.ws_config_free(cfg[0]);
    }
    this._handle = handle[0];
    pump.add(this._handle, this);
  }

  get url() { return this._url; }
  get readyState() { return this._readyState; }
  get protocol() { return this._protocol; }
  get extensions() { return ''; }
  get binaryType() { return this._binaryType; }
  set binaryType(t) {
    if (t === 'nodebuffer' || t === 'arraybuffer' || t === 'blob') this._binaryType = t;
  }

  /** Bytes sent and not yet written to the network. */
  get bufferedAmount() {
    if (!this._handle) return 0;
    const out = [0n];
    check(api.ws_buffered_amount(this._handle, out));
    return Number(out[0]);
  }

  /** Counters: messages and bytes each way, reconnects, last ping RTT (ms), ... */
  get stats() {
    if (!this._handle) return this._finalStats;
    const s = {};
    check(api.ws_get_stats(this._handle, s));
    return {
      messagesSent: Number(s.messages_sent),
      bytesSent: Number(s.bytes_sent),
      messagesReceived: Number(s.messages_received),
      bytesReceived: Number(s.bytes_received),
      reconnects: Number(s.reconnects),
      attempt: Number(s.attempt),
      lastRtt: s.last_rtt_us ? Number(s.last_rtt_us) / 1000 : null,
      lastOpen: s.last_open_unix_ms ? Number(s.last_open_unix_ms) : null,
      queuedMessages: Number(s.queued_messages),
      queuedBytes: Number(s.queued_bytes),
      messagesMaybeLost: Number(s.messages_maybe_lost),
      undeliveredEvents: Number(s.undelivered_events),
      undeliveredBytes: Number(s.undelivered_bytes),
    };
  }

  /**
   * Queue a message; returns at once. While connecting or reconnecting it
   * waits in the queue and goes out after the open (with `reconnect: false`,
   * sending while CONNECTING throws, as in the browser).
   */
  send(data) {
    if (this._readyState === CONNECTING && !this._reconnect) {
      throw new DOMException('WebSocket is not open: readyState 0 (CONNECTING)', 'InvalidStateError');
    }
    const [buf, binary] = toBytes(data);
    if (!this._handle || this._readyState === CLOSING || this._readyState === CLOSED) return; // discarded, as in the browser
    const status = api.ws_send(this._handle, buf, buf.length, binary);
    if (status === constants.WS_ERR_CLOSED) return; // closing or closed: discarded, as in the browser
    if (status !== constants.WS_OK) throw fromStatus(status, lastErrorMessage());
  }

  /** Start the close handshake. `code` 1000 or 3000-4999; `reason` at most 123 UTF-8 bytes. */
  close(code, reason) {
    if (code !== undefined && code !== 1000 && !(Number.isInteger(code) && code >= 3000 && code <= 4999)) {
      throw new DOMException(`close code must be 1000 or between 3000 and 4999, got ${code}`, 'InvalidAccessError');
    }
    if (reason !== undefined && Buffer.byteLength(String(reason), 'utf8') > 123) {
      throw new DOMException('close reason must be at most 123 UTF-8 bytes', 'SyntaxError');
    }
    if (this._readyState === CLOSING || this._readyState === CLOSED) return;
    this._readyState = CLOSING;
    check(api.ws_close(this._handle, code === undefined ? 1000 : code, reason === undefined ? null : String(reason)));
  }

  /** Use this URL from the next reconnect attempt on (e.g. with a fresh token). */
  setUrl(url) {
    check(api.ws_set_url(this._handle, String(url)));
    this._url = String(url);
  }

  /** Send this header from the next reconnect attempt on, replacing any of that name. */
  setHeader(name, value) {
    check(api.ws_set_header(this._handle, String(name), String(value)));
  }

  _decodeData(ev) {
    const len = Number(ev.len);
    if (len === 0) return ev.is_binary ? this._binary(Buffer.alloc(0)) : '';
    const view = Buffer.from(koffi.view(ev.data, len));
    if (!ev.is_binary) return view.toString('utf8');
    return this._binary(Buffer.from(view)); // a copy: the library's memory is reused
  }

  _binary(buf) {
    if (this._binaryType === 'arraybuffer') return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length);
    if (this._binaryType === 'blob') return new Blob([buf]);
    return buf;
  }

  _onEvent(ev) {
    switch (ev.type) {
      case EV_OPEN:
        this._readyState = OPEN;
        this._protocol = ev.protocol || '';
        this.dispatchEvent(new Event('open'));
        break;
      case EV_MESSAGE:
        this.dispatchEvent(new MessageEvent('message', { data: this._decodeData(ev), origin: this._origin() }));
        break;
      case EV_ERROR: {
        const error = fromEvent(ev.error_kind, ev.message || '', ev.http_status);
        this.dispatchEvent(new ErrorEvent('error', { error, message: error.message }));
        break;
      }
      case EV_RECONNECTING:
        if (this._readyState !== CLOSING) this._readyState = CONNECTING;
        this.dispatchEvent(new ReconnectingEvent('reconnecting', {
          attempt: ev.attempt,
          delay: Number(ev.delay_ms),
          error: fromEvent(ev.error_kind, ev.message || '', 0),
          code: ev.code,
          reason: reasonOf(ev),
          wasClean: ev.was_clean,
        }));
        break;
      case EV_PONG:
        this.dispatchEvent(new PongEvent('pong', { rtt: Number(ev.rtt_us) / 1000 }));
        break;
      case EV_CLOSE: {
        this._readyState = CLOSED;
        pump.remove(this._handle);
        try { this._finalStats = this.stats; } catch { this._finalStats = null; }
        const handle = this._handle;
        this._handle = 0n;
        api.ws_free(handle);
        this.dispatchEvent(new CloseEvent('close', { code: ev.code, reason: reasonOf(ev), wasClean: ev.was_clean }));
        break;
      }
      default:
        break;
    }
  }

  _origin() {
    try {
      const u = new URL(this._url);
      return `${u.protocol}//${u.host}`;
    } catch {
      return '';
    }
  }
}

for (const [name, value] of Object.entries({ CONNECTING, OPEN, CLOSING, CLOSED })) {
  Object.defineProperty(WebSocket, name, { value, enumerable: true });
  Object.defineProperty(WebSocket.prototype, name, { value, enumerable: true });
}

// onopen / onmessage / onerror / onclose (+ ours: onreconnecting, onpong), as
// event handler attributes: one listener per type, replaced on assignment.
for (const type of ['open', 'message', 'error', 'close', 'reconnecting', 'pong']) {
  Object.defineProperty(WebSocket.prototype, `on${type}`, {
    configurable: true,
    enumerable: true,
    get() {
      const h = this._handlers[type];
      return h ? h.handler : null;
    },
    set(handler) {
      const old = this._handlers[type];
      if (old) this.removeEventListener(type, old);
      if (typeof handler !== 'function') {
        delete this._handlers[type];
        return;
      }
      const wrapper = (event) => handler.call(this, event);
      wrapper.handler = handler;
      this._handlers[type] = wrapper;
      this.addEventListener(type, wrapper);
    },
  });
}

module.exports = { WebSocket, WebSocketError, MessageEvent, CloseEvent, ErrorEvent, version: api.ws_version() };
module.exports.default = WebSocket;
