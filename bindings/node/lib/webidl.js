'use strict';
// The WebIDL conversions the WebSocket interface and its events use
// (https://webidl.spec.whatwg.org/#es-type-mapping).

function toNumber(v, what) {
  if (typeof v === 'symbol' || typeof v === 'bigint') throw new TypeError(`${what}: cannot convert a ${typeof v} to a number`);
  return Number(v);
}

const webidl = {
  DOMString(v) {
    if (typeof v === 'string') return v;
    if (typeof v === 'symbol') throw new TypeError('Cannot convert a Symbol value to a string');
    return String(v);
  },

  /** DOMString with lone surrogates replaced by U+FFFD. */
  USVString(v) {
    return webidl.DOMString(v).toWellFormed();
  },

  /** `unsigned short` (no [Clamp], no [EnforceRange]): modulo 2^16. */
  unsignedShort(v) {
    const x = toNumber(v, 'unsigned short');
    if (!Number.isFinite(x)) return 0;
    return ((Math.trunc(x) % 65536) + 65536) % 65536;
  },

  /** `unsigned long`: modulo 2^32. */
  unsignedLong(v) {
    const x = toNumber(v, 'unsigned long');
    if (!Number.isFinite(x)) return 0;
    return ((Math.trunc(x) % 2 ** 32) + 2 ** 32) % 2 ** 32;
  },

  /** `[Clamp] unsigned short`: clamped to 0..65535, rounded half to even. */
  clampUnsignedShort(v) {
    const x = toNumber(v, 'unsigned short');
    if (Number.isNaN(x)) return 0;
    const c = Math.min(Math.max(x, 0), 65535);
    const f = Math.floor(c);
    const d = c - f;
    if (d > 0.5) return f + 1;
    if (d < 0.5) return f;
    return f % 2 === 0 ? f : f + 1;
  },

  /** A dictionary argument: undefined and null are {}, other non-objects a TypeError. */
  dictionary(v, what) {
    if (v === undefined || v === null) return {};
    if (typeof v !== 'object' && typeof v !== 'function') {
      throw new TypeError(`Failed to construct '${what}': the second argument is not an object.`);
    }
    return v;
  },
};

module.exports = { webidl };
