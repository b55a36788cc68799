'use strict';
// wsclient for Node: the WHATWG WebSocket, that stays connected (heartbeat,
// reconnect with backoff, queued sends), over the wsclient C library
// through koffi, with `ws`-style on()/once()/off(), ping() and terminate().

const { types } = require('util');
const { api, lastErrorMessage } = require('./lib/native');
const { WebSocketError, fromStatus, fromEvent } = require('./lib/errors');
const { pump, check } = require('./lib/pump');
const { MessageEvent, CloseEvent, ErrorEvent, ReconnectingEvent, PongEvent, PingEvent } = require('./lib/events');
const { webidl } = require('./lib/webidl');
const { constants, enums } = require('./lib/c');

// readyState, as the WHATWG standard numbers it (tracked here from the
// events, not read from the library's ws_ready_state).
const CONNECTING = 0;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;

const {
  WS_EVENT_OPEN: EV_OPEN, WS_EVENT_MESSAGE: EV_MESSAGE, WS_EVENT_ERROR: EV_ERROR, WS_EVENT_CLOSE: EV_CLOSE,
  WS_EVENT_PONG: EV_PONG, WS_EVENT_RECONNECTING: EV_RECONNECTING, WS_EVENT_PING: EV_PING = -1,
} = enums.ws_event_type;

// Tasks (lib/pump.js runs each as a task of its own): one per event, and
// one for an error with the close that follows it (the standard fires both
// in one task, with readyState already CLOSED).
const T_OPEN = 1, T_MESSAGE = 2, T_ERROR = 3, T_CLOSE = 4, T_RECONNECTING = 5, T_PONG = 6, T_PING = 7;

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
const BOOLEAN = {
  reconnect: 'ws_config_set_reconnect',
  insecure: 'ws_config_set_insecure',
  queueWhileDisconnected: 'ws_config_set_queue_while_disconnected',
  proxyFromEnv: 'ws_config_set_proxy_from_env',
};
const STRING = {
  proxy: 'ws_config_set_proxy',
  servername: 'ws_config_set_server_name',
  passphrase: 'ws_config_set_client_key_password',
  userAgent: 'ws_config_set_user_agent',
};
const KNOWN_OPTIONS = new Set([
  ...Object.keys(NUMERIC), ...Object.keys(BOOLEAN), ...Object.keys(STRING),
  'protocols', 'headers', 'pingPayload', 'finalCloseCodes', 'fatalHttpStatuses',
  'ca', 'cert', 'key', 'rejectUnauthorized', 'caFile', 'certFile', 'keyFile', 'seed', 'perMessageDeflate',
]);
/** `perMessageDeflate: { ... }`, named as `ws` names them. */
const DEFLATE_OPTIONS = new Set([
  'threshold', 'level', 'zlibDeflateOptions', 'serverNoContextTakeover', 'clientNoContextTakeover',
  'serverMaxWindowBits', 'clientMaxWindowBits',
]);

// A Sec-WebSocket-Protocol element: an RFC 7230 token.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

function num(name, value, kind) {
  if (typeof value !== 'number' || Number.isNaN(value)) {
    throw new TypeError(`options.${name} must be a number, got ${typeof value}`);
  }
  const min = kind === 'ms' || kind === 'size' || kind === 'u64' ? 1 : 0;
  const max = kind === 'float' ? Infinity : kind === 'u64' ? Number.MAX_SAFE_INTEGER : MAX_U32;
  if (value < min || value > max) throw new RangeError(`options.${name} must be between ${min} and ${max}, got ${value}`);
  return kind === 'float' ? value : Math.round(value);
}

/** PEM as tls.connect takes it: a string, a Buffer, or an array of them (joined). */
function pem(name, value) {
  const parts = Array.isArray(value) ? value : [value];
  if (!parts.every((p) => typeof p === 'string' || Buffer.isBuffer(p) || p instanceof Uint8Array)) {
    throw new TypeError(`options.${name} must be PEM text: a string, a Buffer, or an array of them`);
  }
  return parts.map((p) => (typeof p === 'string' ? p : Buffer.from(p).toString('latin1')).trim()).join('\n') + '\n';
}

function setter(name) {
  const fn = api[name];
  if (!fn) throw new WebSocketError(`this wsclient library has no ${name}`, 'WS_ERR_UNSUPPORTED');
  return fn;
}

function path(name, value) {
  if (typeof value !== 'string') throw new TypeError(`options.${name} must be the path of a PEM file`);
  return value;
}

/** A client certificate and its key: two options that go together, set by one call (at the first of them). */
function clientCert(cfg, options, name, [certName, keyName], convert, fn) {
  if ((options[certName] === undefined) !== (options[keyName] === undefined)) {
    throw new TypeError(`options.${certName} and options.${keyName} go together`);
  }
  if (name === certName) check(setter(fn)(cfg, convert(certName, options[certName]), convert(keyName, options[keyName])));
}

/** `perMessageDeflate`: false turns it off; true or `{ threshold, level, ... }` (as `ws` takes them) tunes it. */
function perMessageDeflate(cfg, value) {
  if (typeof value === 'boolean') {
    check(api.ws_config_set_permessage_deflate(cfg, value));
    return;
  }
  if (typeof value !== 'object' || value === null) throw new TypeError('options.perMessageDeflate must be a boolean or an object');
  for (const k of Object.keys(value)) {
    if (!DEFLATE_OPTIONS.has(k)) throw new TypeError(`unknown option 'perMessageDeflate.${k}'`);
  }
  check(api.ws_config_set_permessage_deflate(cfg, true));
  const bool = (k) => {
    if (typeof value[k] !== 'boolean') throw new TypeError(`options.perMessageDeflate.${k} must be a boolean`);
    return value[k];
  };
  if (value.threshold !== undefined) check(api.ws_config_set_deflate_threshold(cfg, num('perMessageDeflate.threshold', value.threshold, 'u32')));
  const level = value.level !== undefined ? value.level : value.zlibDeflateOptions?.level;
  if (level !== undefined) check(api.ws_config_set_deflate_level(cfg, num('perMessageDeflate.level', level, 'u32')));
  if (value.serverNoContextTakeover !== undefined) check(api.ws_config_set_deflate_server_no_context_takeover(cfg, bool('serverNoContextTakeover')));
  if (value.clientNoContextTakeover !== undefined) check(api.ws_config_set_deflate_client_no_context_takeover(cfg, bool('clientNoContextTakeover')));
  if (value.serverMaxWindowBits !== undefined) {
    check(api.ws_config_set_deflate_server_max_window_bits(cfg, num('perMessageDeflate.serverMaxWindowBits', value.serverMaxWindowBits, 'u32')));
  }
  if (value.clientMaxWindowBits !== undefined && value.clientMaxWindowBits !== true) {
    check(api.ws_config_set_deflate_client_max_window_bits(cfg, num('perMessageDeflate.clientMaxWindowBits', value.clientMaxWindowBits, 'u32')));
  }
}

/** The extensions agreed for the connection (ws_extensions), '' for none. */
function extensionsOf(handle) {
  const buf = Buffer.alloc(256);
  const len = [0];
  if (api.ws_extensions(handle, buf, buf.length, len) !== 0) return '';
  return buf.toString('latin1', 0, Number(len[0]));
}

function configure(cfg, url, protocols, options) {
  check(api.ws_config_set_url(cfg, url));
  for (const p of protocols) check(api.ws_config_add_subprotocol(cfg, p));
  for (const name of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(name)) throw new TypeError(`unknown option '${name}'`);
  }
  for (const [name, value] of Object.entries(options)) {
    if (value === undefined || name === 'protocols') continue;
    if (NUMERIC[name]) {
      const [kind, fn] = NUMERIC[name];
      check(api[fn](cfg, num(name, value, kind)));
      continue;
    }
    if (BOOLEAN[name]) {
      if (typeof value !== 'boolean') throw new TypeError(`options.${name} must be a boolean`);
      check(api[BOOLEAN[name]](cfg, value));
      continue;
    }
    if (STRING[name]) {
      if (typeof value !== 'string') throw new TypeError(`options.${name} must be a string`);
      check(api[STRING[name]](cfg, value));
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
      case 'rejectUnauthorized':
        if (typeof value !== 'boolean') throw new TypeError('options.rejectUnauthorized must be a boolean');
        if (!value) check(api.ws_config_set_insecure(cfg, true));
        break;
      case 'finalCloseCodes':
      case 'fatalHttpStatuses': {
        if (!Array.isArray(value) || !value.every(Number.isInteger)) {
          throw new TypeError(`options.${name} must be an array of integers`);
        }
        const fn = name === 'finalCloseCodes' ? 'ws_config_set_final_close_codes' : 'ws_config_set_fatal_http_statuses';
        check(api[fn](cfg, value.length ? new Uint16Array(value) : null, value.length));
        break;
      }
      case 'ca':
        check(setter('ws_config_set_ca_pem')(cfg, pem('ca', value)));
        break;
      case 'cert':
      case 'key':
        clientCert(cfg, options, name, ['cert', 'key'], pem, 'ws_config_set_client_cert_pem');
        break;
      case 'caFile':
        check(api.ws_config_set_ca_file(cfg, path('caFile', value)));
        break;
      case 'certFile':
      case 'keyFile':
        clientCert(cfg, options, name, ['certFile', 'keyFile'], path, 'ws_config_set_client_cert');
        break;
      case 'seed':
        check(api.ws_config_set_random_seed(cfg, BigInt(value)));
        break;
      case 'perMessageDeflate':
        perMessageDeflate(cfg, value);
        break;
      default:
        break;
    }
  }
  // Server pings as events (for 'ping' listeners), where the library has them.
  if (api.ws_config_set_ping_events) check(api.ws_config_set_ping_events(cfg, true));
}

/** The URL Standard's parse, then the WebSocket constructor's checks: the URL record, serialised. */
function parseUrl(url) {
  const text = webidl.USVString(url);
  let record;
  try {
    record = new URL(text);
  } catch {
    // Not the input: it may hold credentials.
    throw new DOMException('Invalid URL', 'SyntaxError');
  }
  if (record.protocol === 'http:') record.protocol = 'ws:';
  else if (record.protocol === 'https:') record.protocol = 'wss:';
  if (record.protocol !== 'ws:' && record.protocol !== 'wss:') {
    throw new DOMException('The URL\'s scheme must be ws, wss, http or https', 'SyntaxError');
  }
  // A fragment, even an empty one, is serialised with its '#'.
  if (record.href.includes('#')) throw new DOMException('The URL must not have a fragment', 'SyntaxError');
  return record;
}

/** `(DOMString or sequence<DOMString>) protocols`, then the constructor's checks. */
function parseProtocols(protocols) {
  if (protocols === undefined) return [];
  const isSequence = protocols !== null && (typeof protocols === 'object' || typeof protocols === 'function') &&
    protocols[Symbol.iterator] !== undefined;
  const list = isSequence ? Array.from(protocols, webidl.DOMString) : [webidl.DOMString(protocols)];
  const seen = new Set();
  for (const p of list) {
    if (!TOKEN.test(p)) throw new DOMException(`Invalid subprotocol '${p}'`, 'SyntaxError');
    const folded = p.toLowerCase();
    if (seen.has(folded)) throw new DOMException(`The subprotocol '${p}' is offered twice`, 'SyntaxError');
    seen.add(folded);
  }
  return list;
}

/** `(url, protocols)`, `(url, protocols, options)` and `(url, options)`: [protocols, options]. */
function splitArguments(protocols, options) {
  const isOptions = (v) => v !== null && typeof v === 'object' && v[Symbol.iterator] === undefined;
  if (options === undefined && isOptions(protocols)) {
    options = protocols;
    protocols = options.protocols;
  }
  if (options === undefined || options === null) options = {};
  if (typeof options !== 'object') throw new TypeError('options must be an object');
  if (protocols === undefined) protocols = options.protocols;
  return [parseProtocols(protocols), options];
}

// A reused buffer for the UTF-8 of short text messages (ws_send copies).
const scratch = Buffer.allocUnsafe(64 * 1024);

/** A Blob as WebIDL recognises one (Node's buffer.Blob and File, or any Blob-like object). */
function isBlob(v) {
  return v instanceof Blob || (v !== null && typeof v === 'object' && typeof v.arrayBuffer === 'function' &&
    typeof v.stream === 'function' && /^(Blob|File)$/.test(v[Symbol.toStringTag]));
}

/**
 * `(BufferSource or Blob or USVString) data`: [bytes, isBinary, size], or
 * [blob, true, size] for a Blob. A SharedArrayBuffer (and a view of one) is
 * no BufferSource: it becomes a string, as any other value does.
 */
function sendData(data) {
  if (typeof data === 'string') return null; // the fast path, in send()
  if (types.isArrayBuffer(data)) return [Buffer.from(data), true];
  if (ArrayBuffer.isView(data) && !types.isSharedArrayBuffer(data.buffer)) {
    return [Buffer.from(data.buffer, data.byteOffset, data.byteLength), true];
  }
  if (isBlob(data)) return [data, true];
  return [Buffer.from(webidl.USVString(data), 'utf8'), false];
}

class WebSocket extends EventTarget {
  /**
   * @param {string|URL} url ws:, wss:, http: or https: URL.
   * @param {string|string[]|object} [protocols] subprotocols to offer, or the options.
   * @param {object} [options] heartbeat, reconnect, queue, TLS and header options (ms).
   */
  constructor(url, protocols = undefined, options = undefined) {
    super();
    if (arguments.length === 0) {
      throw new TypeError("Failed to construct 'WebSocket': 1 argument required, but only 0 present.");
    }
    const record = parseUrl(url);
    [protocols, options] = splitArguments(protocols, options);

    this._url = record.href;
    this._origin = record.origin;
    this._readyState = CONNECTING;
    this._protocol = '';
    this._binaryType = 'blob';
    this._reconnect = options.reconnect !== false;
    this._handlers = {}; // on* attributes
    this._listeners = new Map(); // ws-style listeners: type -> Map(fn -> [wrappers])
    this._finalStats = null;
    this._heldError = null; // an error event waiting for the event after it
    this._failed = false; // close() while CONNECTING: the standard fails the connection
    this._extraBuffered = 0; // bytes in bufferedAmount the library does not count
    this._blobs = null; // sends waiting behind a Blob being read, in order
    this._message = null; // while a message is dispatched: [bytes, isBinary] for ws-style listeners

    const cfg = [0n];
    check(api.ws_config_new(cfg));
    const handle = [0n];
    try {
      configure(cfg[0], this._url, protocols, options);
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
  get extensions() { return this._extensions || ''; }
  get binaryType() { return this._binaryType; }
  set binaryType(t) {
    if (t === 'blob' || t === 'arraybuffer') this._binaryType = t; // anything else is ignored, as the standard says
  }

  /** Bytes sent and not yet written to the network. */
  get bufferedAmount() {
    if (!this._handle) return this._extraBuffered;
    const out = [0n];
    check(api.ws_buffered_amount(this._handle, out));
    return Number(out[0]) + this._extraBuffered;
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
   * Queue a message; returns at once. Strings, ArrayBuffers, views and
   * Blobs; anything else is sent as its string. While CONNECTING this
   * throws, as in the browser, except with reconnect on, where messages
   * wait in the queue and go out after the open (also while reconnecting).
   */
  send(data) {
    if (arguments.length === 0) throw new TypeError("Failed to execute 'send' on 'WebSocket': 1 argument required, but only 0 present.");
    if (this._readyState === CONNECTING && !this._reconnect) {
      throw new DOMException('WebSocket is not open: readyState 0 (CONNECTING)', 'InvalidStateError');
    }
    let bytes, binary, len;
    if (typeof data === 'string') {
      if (data.length * 3 <= scratch.length) {
        len = scratch.utf8Write(data.toWellFormed(), 0);
        bytes = scratch;
      } else {
        bytes = Buffer.from(data.toWellFormed(), 'utf8');
        len = bytes.length;
      }
      binary = false;
    } else {
      [bytes, binary] = sendData(data);
      len = bytes.size === undefined ? bytes.length : bytes.size;
      if (bytes.size !== undefined) return this._sendBlob(bytes);
    }
    if (this._blobs !== null) {
      // Behind a Blob being read: wait, in order (a copy: bytes may be the scratch buffer).
      this._blobs.push([Buffer.from(bytes.subarray(0, len)), binary]);
      this._extraBuffered += len;
      return;
    }
    this._write(bytes, len, binary);
  }

  _write(bytes, len, binary) {
    // Closing or closed: discarded, and counted in bufferedAmount, as the standard says.
    if (!this._handle || this._readyState === CLOSING || this._readyState === CLOSED) {
      this._extraBuffered += len;
      return;
    }
    const status = api.ws_send(this._handle, bytes, len, binary);
    if (status === constants.WS_ERR_CLOSED) {
      this._extraBuffered += len;
      return;
    }
    if (status !== constants.WS_OK) throw fromStatus(status, lastErrorMessage());
  }

  _sendBlob(blob) {
    const first = this._blobs === null;
    if (first) this._blobs = [];
    this._blobs.push([blob, true]);
    this._extraBuffered += blob.size;
    if (first) this._flushBlobs();
  }

  /** Send what waits in _blobs, in order, reading each Blob first. */
  async _flushBlobs() {
    while (this._blobs.length > 0) {
      const [item, binary] = this._blobs[0];
      const bytes = isBlob(item) ? Buffer.from(await item.arrayBuffer()) : item;
      this._blobs.shift();
      this._extraBuffered -= bytes.length;
      try {
        this._write(bytes, bytes.length, binary);
      } catch (err) {
        this._blobs = null;
        process.nextTick(() => { throw err; });
        return;
      }
    }
    this._blobs = null;
  }

  /**
   * Start the closing handshake. `code` 1000 or 3000-4999, `reason` at most
   * 123 UTF-8 bytes. While CONNECTING, the connection fails: `error`, then
   * `close` with 1006.
   */
  close(code = undefined, reason = undefined) {
    if (code !== undefined) {
      code = webidl.clampUnsignedShort(code);
      if (code !== 1000 && !(code >= 3000 && code <= 4999)) {
        throw new DOMException(`close code must be 1000 or between 3000 and 4999, got ${code}`, 'InvalidAccessError');
      }
    }
    if (reason !== undefined) {
      reason = webidl.USVString(reason);
      if (Buffer.byteLength(reason, 'utf8') > 123) {
        throw new DOMException('close reason must be at most 123 UTF-8 bytes', 'SyntaxError');
      }
    }
    if (this._readyState === CLOSING || this._readyState === CLOSED) return;
    if (this._readyState === CONNECTING) this._failed = true;
    this._readyState = CLOSING;
    // No code and no reason: the standard sends a close frame without a
    // body; the library has no way to yet, so this sends 1000.
    // No code: a close frame without a body, as the standard says (the server sees 1005).
    check(api.ws_close(this._handle, code === undefined ? 0 : code, reason === undefined ? null : reason));
  }

  /** `ws`: end the connection now, without a closing handshake; `close` follows with 1006. */
  terminate() {
    if (this._readyState === CLOSED || !this._handle) return;
    const handle = this._handle;
    this._readyState = CLOSING;
    try { this._finalStats = this.stats; } catch { this._finalStats = null; }
    this._handle = 0n;
    pump.remove(handle);
    api.ws_free(handle);
    this._heldError = null;
    pump.post({ receiver: this, type: T_CLOSE, code: 1006, reason: '', wasClean: false, unsentBytes: 0 });
  }

  /** `ws`: send a ping with up to 125 bytes; the server's pong comes as a `pong` event with that payload. */
  ping(data = undefined) {
    if (this._readyState !== OPEN) {
      throw new DOMException(`WebSocket is not open: readyState ${this._readyState}`, 'InvalidStateError');
    }
    let bytes = Buffer.alloc(0);
    if (typeof data === 'string') bytes = Buffer.from(data, 'utf8');
    else if (data !== undefined && typeof data !== 'function') {
      bytes = sendData(data)[0];
      if (bytes.size !== undefined) throw new TypeError('ping() does not take a Blob');
    }
    check(setter('ws_ping')(this._handle, bytes, bytes.length));
  }

  /** Use this URL from the next reconnect attempt on (e.g. with a fresh token). */
  setUrl(url) {
    const record = parseUrl(url);
    check(api.ws_set_url(this._handle, record.href));
    this._url = record.href;
    this._origin = record.origin;
  }

  /** Send this header from the next reconnect attempt on, replacing any of that name. */
  setHeader(name, value) {
    check(api.ws_set_header(this._handle, String(name), String(value)));
  }

  // ---- ws-style listeners -------------------------------------------------
  // on/once/off as ws's EventEmitter has them, over addEventListener (so both
  // kinds run in the order they were added): 'message' gets (data, isBinary)
  // with data a Buffer (an ArrayBuffer with binaryType 'arraybuffer'),
  // 'close' (code, reason as a Buffer), 'error' (error), 'ping'/'pong' (data),
  // 'open' and the others nothing / the event.

  on(type, listener) { return this._on(type, listener, false); }
  addListener(type, listener) { return this._on(type, listener, false); }
  once(type, listener) { return this._on(type, listener, true); }

  off(type, listener) {
    const byFn = this._listeners.get(type);
    const wrappers = byFn && byFn.get(listener);
    if (wrappers) {
      const wrapper = wrappers.pop();
      if (wrappers.length === 0) byFn.delete(listener);
      this.removeEventListener(type, wrapper);
    }
    return this;
  }

  removeListener(type, listener) { return this.off(type, listener); }

  removeAllListeners(type = undefined) {
    for (const t of type === undefined ? [...this._listeners.keys()] : [type]) {
      for (const [fn, wrappers] of this._listeners.get(t) || []) for (let i = wrappers.length; i > 0; i--) this.off(t, fn);
    }
    return this;
  }

  _on(type, listener, once) {
    if (typeof listener !== 'function') throw new TypeError('The "listener" argument must be a function');
    const args = WS_ARGS[type];
    const wrapper = (event) => {
      if (once) this.off(type, listener);
      listener.apply(this, args ? args(this, event) : [event]);
    };
    let byFn = this._listeners.get(type);
    if (!byFn) this._listeners.set(type, (byFn = new Map()));
    if (!byFn.has(listener)) byFn.set(listener, []);
    byFn.get(listener).push(wrapper);
    this.addEventListener(type, wrapper);
    return this;
  }

  // ---- events: taken from the library (_take), dispatched as tasks (_run) --

  /** Copy what the task needs out of the library's event (`ev`: lib/native's eventReader, valid until the next poll). */
  _take(ev, tasks) {
    switch (ev.type) {
      case EV_OPEN:
        tasks.push({ receiver: this, type: T_OPEN, protocol: ev.protocol || '', extensions: extensionsOf(this._handle) });
        break;
      case EV_MESSAGE: {
        const binary = ev.is_binary;
        // Copies: the library reuses its memory at the next poll.
        tasks.push({ receiver: this, type: T_MESSAGE, data: binary ? ev.bytes('data', 'len') : ev.text('data', 'len'), binary });
        break;
      }
      case EV_ERROR:
        // Held until the event after it: a close (then both in one task,
        // readyState CLOSED first) or a reconnecting.
        this._heldError = fromEvent(ev.error_kind, ev.message || '', ev.http_status);
        break;
      case EV_RECONNECTING: {
        if (this._heldError !== null) {
          tasks.push({ receiver: this, type: T_ERROR, error: this._heldError });
          this._heldError = null;
        }
        tasks.push({
          receiver: this, type: T_RECONNECTING, attempt: ev.attempt, delay: ev.delay_ms,
          error: fromEvent(ev.error_kind, ev.message || '', 0), code: ev.code, reason: ev.text('reason', 'reason_len'), wasClean: ev.was_clean,
        });
        break;
      }
      case EV_PONG:
        tasks.push({ receiver: this, type: T_PONG, rtt: ev.rtt_us / 1000, data: ev.bytes('data', 'len') });
        break;
      case EV_PING:
        tasks.push({ receiver: this, type: T_PING, data: ev.bytes('data', 'len') });
        break;
      case EV_CLOSE:
        tasks.push({
          receiver: this, type: T_CLOSE, code: ev.code, reason: ev.text('reason', 'reason_len'), wasClean: ev.was_clean,
          unsentBytes: ev.unsent_bytes,
        });
        break;
      default:
        break;
    }
  }

  _run(task) {
    switch (task.type) {
      case T_OPEN:
        if (this._readyState !== CONNECTING) return; // close() or terminate() came first
        this._readyState = OPEN;
        this._protocol = task.protocol;
        this._extensions = task.extensions;
        this.dispatchEvent(new Event('open'));
        break;
      case T_MESSAGE: {
        if (this._readyState !== OPEN) return; // the standard drops messages once closing
        const { data, binary } = task;
        this._message = task;
        try {
          this.dispatchEvent(new MessageEvent('message', {
            data: binary ? this._binary(data) : data,
            origin: this._origin,
          }));
        } finally {
          this._message = null;
        }
        break;
      }
      case T_ERROR:
        if (this._readyState === CLOSED) return;
        if (this._readyState !== CLOSING) this._readyState = CONNECTING;
        this._fireError(task.error);
        break;
      case T_RECONNECTING:
        if (this._readyState === CLOSED) return;
        if (this._readyState !== CLOSING) this._readyState = CONNECTING;
        this.dispatchEvent(new ReconnectingEvent('reconnecting', task));
        break;
      case T_PONG:
        if (this._readyState === CLOSED) return;
        this.dispatchEvent(new PongEvent('pong', task));
        break;
      case T_PING:
        if (this._readyState === CLOSED) return;
        this.dispatchEvent(new PingEvent('ping', task));
        break;
      case T_CLOSE: {
        if (this._readyState === CLOSED) return;
        this._readyState = CLOSED;
        const handle = this._handle;
        if (handle) {
          pump.remove(handle);
          try { this._finalStats = this.stats; } catch { this._finalStats = null; }
          this._handle = 0n;
          api.ws_free(handle);
        }
        this._extraBuffered += task.unsentBytes;
        let { code, reason, wasClean } = task;
        let error = this._heldError;
        this._heldError = null;
        if (this._failed) {
          // close() while CONNECTING failed the connection.
          code = 1006; reason = ''; wasClean = false;
          error = error || new WebSocketError('close() was called before the connection was established', 'CLOSED_BEFORE_OPEN');
        }
        if (error !== null) this._fireError(error);
        this.dispatchEvent(new CloseEvent('close', { code, reason, wasClean }));
        break;
      }
      default:
        break;
    }
  }

  _fireError(error) {
    this.dispatchEvent(new ErrorEvent('error', { error, message: error.message }));
  }

  _binary(buf) {
    if (this._binaryType === 'arraybuffer') return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length);
    return new Blob([buf]);
  }
}

// ws-style listener arguments, from the event being dispatched.
const WS_ARGS = {
  open: () => [],
  message: (ws) => {
    const { data, binary } = ws._message;
    const bytes = binary ? data : Buffer.from(data, 'utf8');
    return [ws._binaryType === 'arraybuffer' ? bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) : bytes, binary];
  },
  close: (ws, e) => [e.code, Buffer.from(e.reason, 'utf8')],
  error: (ws, e) => [e.error],
  ping: (ws, e) => [e.data],
  pong: (ws, e) => [e.data],
};

for (const [name, value] of Object.entries({ CONNECTING, OPEN, CLOSING, CLOSED })) {
  Object.defineProperty(WebSocket, name, { value, enumerable: true });
  Object.defineProperty(WebSocket.prototype, name, { value, enumerable: true });
}

// onopen / onmessage / onerror / onclose (+ ours: onreconnecting, onpong,
// onping), as event handler attributes: one listener per type, which keeps
// its place among the listeners when the attribute is set again.
for (const type of ['open', 'message', 'error', 'close', 'reconnecting', 'pong', 'ping']) {
  Object.defineProperty(WebSocket.prototype, `on${type}`, {
    configurable: true,
    enumerable: true,
    get() {
      const h = this._handlers[type];
      return h ? h.handler : null;
    },
    set(handler) {
      const h = this._handlers[type];
      if (handler === null || (typeof handler !== 'function' && typeof handler !== 'object')) {
        // null (and any non-object) deactivates the handler: its listener goes.
        if (h) this.removeEventListener(type, h);
        delete this._handlers[type];
        return;
      }
      if (h) {
        h.handler = handler; // keeps its place among the listeners
        return;
      }
      const wrapper = (event) => {
        const fn = wrapper.handler;
        if (typeof fn === 'function') fn.call(this, event);
      };
      wrapper.handler = handler;
      this._handlers[type] = wrapper;
      this.addEventListener(type, wrapper);
    },
  });
}

module.exports = { WebSocket, WebSocketError, MessageEvent, CloseEvent, ErrorEvent, version: api.ws_version(),
  /** The library's TLS stack, e.g. 'OpenSSL 3.6.1 (vendored)' (ws_tls_backend in wsclient.h). */
  tlsBackend: () => api.ws_tls_backend() };
module.exports.default = WebSocket;
