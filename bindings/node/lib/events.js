'use strict';
// Event classes. MessageEvent, CloseEvent and ErrorEvent are Node's own
// where this Node has them as globals (MessageEvent since Node 15,
// CloseEvent since Node 23); otherwise classes with the standard's shape:
// the constructor and its dictionary conversions, defaults, read-only
// attributes as getters on the prototype. ReconnectingEvent, PongEvent and
// PingEvent are ours, shaped the same way.

const { webidl } = require('./webidl');

/** `dictionary EventInit`: what Event's own constructor takes. */
function eventInit(init) {
  return { bubbles: Boolean(init.bubbles), cancelable: Boolean(init.cancelable), composed: Boolean(init.composed) };
}

/**
 * A subclass of Event whose extra attributes are read-only getters on the
 * prototype. `fields` maps each attribute to [converter, default].
 */
function eventClass(name, fields) {
  const slot = Symbol(name);
  // Dictionary members are converted in lexicographic order.
  const members = Object.entries(fields).sort(([a], [b]) => (a < b ? -1 : 1));
  const Class = {
    [name]: class extends Event {
      constructor(type, init = undefined) {
        if (arguments.length === 0) {
          throw new TypeError(`Failed to construct '${name}': 1 argument required, but only 0 present.`);
        }
        const dict = webidl.dictionary(init, name);
        super(webidl.DOMString(type), eventInit(dict));
        const values = {};
        for (const [key, [convert, fallback]] of members) {
          values[key] = dict[key] === undefined ? fallback : convert(dict[key]);
        }
        // Not enumerable: the event shows only the standard's attributes.
        Object.defineProperty(this, slot, { value: values });
      }
    },
  }[name];
  for (const key of Object.keys(fields)) {
    Object.defineProperty(Class.prototype, key, {
      configurable: true,
      enumerable: true,
      get() {
        const values = this === null || typeof this !== 'object' ? undefined : this[slot];
        if (values === undefined) throw new TypeError('Illegal invocation');
        return values[key];
      },
    });
  }
  Object.defineProperty(Class.prototype, Symbol.toStringTag, { value: name, configurable: true });
  return { Class, slot };
}

const any = (v) => v;

const closeEvent = eventClass('CloseEvent', {
  wasClean: [Boolean, false],
  code: [webidl.unsignedShort, 0],
  reason: [webidl.USVString, ''],
});

const errorEvent = eventClass('ErrorEvent', {
  message: [webidl.DOMString, ''],
  filename: [webidl.USVString, ''],
  lineno: [webidl.unsignedLong, 0],
  colno: [webidl.unsignedLong, 0],
  error: [any, undefined],
});

const ownMessageEvent = eventClass('MessageEvent', {
  data: [any, null],
  origin: [webidl.USVString, ''],
  lastEventId: [webidl.DOMString, ''],
  source: [any, null],
  ports: [(v) => Object.freeze(Array.from(v)), Object.freeze([])],
});

/**
 * Ours: the connection was lost and an attempt follows after `delay` ms.
 * `code`, `reason` and `wasClean` tell how the connection that ended closed
 * (1006, '' and false when there was no close handshake).
 */
const reconnectingEvent = eventClass('ReconnectingEvent', {
  attempt: [webidl.unsignedLong, 0],
  delay: [Number, 0],
  error: [any, null],
  code: [webidl.unsignedShort, 1006],
  reason: [webidl.USVString, ''],
  wasClean: [Boolean, false],
});

/** Ours: a pong from the server; `rtt` in ms, `data` its payload (a Buffer). */
const pongEvent = eventClass('PongEvent', { rtt: [Number, 0], data: [any, null] });

/** Ours: a ping from the server (already answered); `data` its payload (a Buffer). */
const pingEvent = eventClass('PingEvent', { data: [any, null] });

module.exports = {
  MessageEvent: typeof globalThis.MessageEvent === 'function' ? globalThis.MessageEvent : ownMessageEvent.Class,
  CloseEvent: typeof globalThis.CloseEvent === 'function' ? globalThis.CloseEvent : closeEvent.Class,
  ErrorEvent: typeof globalThis.ErrorEvent === 'function' ? globalThis.ErrorEvent : errorEvent.Class,
  ReconnectingEvent: reconnectingEvent.Class,
  PongEvent: pongEvent.Class,
  PingEvent: pingEvent.Class,
};
