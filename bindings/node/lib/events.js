'use strict';
// Event objects, shaped like the browser's.

class MessageEvent extends Event {
  constructor(type, init = {}) {
    super(type);
    this.data = init.data;
    this.origin = init.origin || '';
    this.lastEventId = '';
    this.source = null;
    this.ports = [];
  }
}

class CloseEvent extends Event {
  constructor(type, init = {}) {
    super(type);
    this.code = init.code || 0;
    this.reason = init.reason || '';
    this.wasClean = Boolean(init.wasClean);
  }
}

class ErrorEvent extends Event {
  constructor(type, init = {}) {
    super(type);
    this.error = init.error;
    this.message = init.message || '';
  }
}

/**
 * Ours: the connection was lost and an attempt follows after `delay` ms.
 * `code`, `reason` and `wasClean` tell how the connection that ended closed
 * (1006, '' and false when there was no close handshake).
 */
class ReconnectingEvent extends Event {
  constructor(type, init = {}) {
    super(type);
    this.attempt = init.attempt;
    this.delay = init.delay;
    this.error = init.error;
    this.code = init.code || 1006;
    this.reason = init.reason || '';
    this.wasClean = Boolean(init.wasClean);
  }
}

/** Ours: a heartbeat ping was answered after `rtt` ms. */
class PongEvent extends Event {
  constructor(type, init = {}) {
    super(type);
    this.rtt = init.rtt;
  }
}

module.exports = { MessageEvent, CloseEvent, ErrorEvent, ReconnectingEvent, PongEvent };
