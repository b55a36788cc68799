'use strict';
// Errors, and the one place that maps C status codes and error kinds to them.

const { enums } = require('./c');

// ws_status value -> its name ('WS_ERR_QUEUE_FULL'); ws_error_kind value -> its name without WS_ERROR_ ('DNS').
const STATUS = Object.fromEntries(Object.entries(enums.ws_status).filter(([, v]) => v < 0).map(([k, v]) => [v, k]));
const KIND = Object.fromEntries(Object.entries(enums.ws_error_kind).map(([k, v]) => [v, k.replace(/^WS_ERROR_/, '')]));

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
