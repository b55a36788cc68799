'use strict';
// Errors, and the one place that maps C status codes and error kinds to them.

const STATUS = {
  [-1]: 'WS_ERR_INVALID_ARGUMENT',
  [-2]: 'WS_ERR_INVALID_HANDLE',
  [-3]: 'WS_ERR_INVALID_URL',
  [-4]: 'WS_ERR_INVALID_UTF8',
  [-5]: 'WS_ERR_MESSAGE_TOO_LARGE',
  [-6]: 'WS_ERR_CLOSED',
  [-7]: 'WS_ERR_TIMEOUT',
  [-8]: 'WS_ERR_QUEUE_FULL',
  [-9]: 'WS_ERR_INVALID_STATE',
  [-10]: 'WS_ERR_BUFFER_TOO_SMALL',
  [-11]: 'WS_ERR_FILE',
  [-12]: 'WS_ERR_INTERNAL',
  [-13]: 'WS_ERR_NOT_CONNECTED',
};

const KIND = {
  0: 'NONE',
  1: 'DNS',
  2: 'CONNECT_REFUSED',
  3: 'CONNECT_FAILED',
  4: 'CONNECT_TIMEOUT',
  5: 'TLS',
  6: 'HANDSHAKE_REJECTED',
  7: 'PROTOCOL',
  8: 'NETWORK',
  9: 'MESSAGE_TOO_LARGE',
  10: 'HEARTBEAT_TIMEOUT',
  11: 'INTERNAL',
};

/** An error from wsclient; `code` is a stable string such as 'WS_ERR_QUEUE_FULL' or 'HANDSHAKE_REJECTED'. */
class WebSocketError extends Error {
  constructor(message, code, extra = {}) {
    super(message);
    this.name = 'WebSocketError';
    this.code = code;
    Object.assign(this, extra);
  }
}

/** The error for a failed call (status < 0). */
function fromStatus(status, message) {
  const code = STATUS[status] || `WS_ERR_${status}`;
  if (code === 'WS_ERR_INVALID_ARGUMENT' || code === 'WS_ERR_INVALID_UTF8') {
    const e = new TypeError(message);
    e.code = code;
    return e;
  }
  if (code === 'WS_ERR_INVALID_URL') {
    // What the browser throws for a bad URL.
    return new DOMException(message, 'SyntaxError');
  }
  return new WebSocketError(message, code, { status });
}

/** The error carried by an `error` or `reconnecting` event. */
function fromEvent(kind, message, httpStatus) {
  const code = KIND[kind] || `KIND_${kind}`;
  const extra = code === 'HANDSHAKE_REJECTED' ? { httpStatus } : {};
  return new WebSocketError(message, code, extra);
}

module.exports = { WebSocketError, fromStatus, fromEvent, STATUS, KIND };
