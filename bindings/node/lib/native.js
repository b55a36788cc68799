'use strict';
// The one module that loads the shared library and knows the C ABI.
// The library is looked for, in order: in this package's
// prebuilds/<platform>/ folder (what the published package carries, one
// folder per platform, e.g. prebuilds/linux-x64-gnu/); in a package named
// libwsclient-<platform> (how more platforms can ship, as optionalDependencies
// that npm installs only where they fit); next to this package (`make node`
// copies it there); in the target/release folder of the checkout this
// package lives in; at the path in the WSCLIENT_LIBRARY environment variable.

const fs = require('fs');
const os = require('os');
const path = require('path');
const { structs, setters } = require('./c');
const { platformKey } = require('./platform');

const LIB_NAME = process.platform === 'darwin' ? 'libwsclient.dylib' : process.platform === 'win32' ? 'wsclient.dll' : 'libwsclient.so';

function candidates() {
  const root = path.resolve(__dirname, '..');
  const key = platformKey();
  const found = [];
  found.push([`the package's prebuilt library for ${key}`, path.join(root, 'prebuilds', key, LIB_NAME)]);
  let platformPackage = `(package libwsclient-${key} not installed)`;
  try {
    platformPackage = path.join(path.dirname(require.resolve(`libwsclient-${key}/package.json`)), LIB_NAME);
  } catch {
    // not installed: the usual case while one package carries every platform
  }
  found.push([`the package libwsclient-${key}`, platformPackage]);
  found.push(['bundled next to the package', path.join(root, LIB_NAME)]);
  found.push(['the checkout\'s cargo build', path.resolve(root, '..', '..', 'target', 'release', LIB_NAME)]);
  found.push(['WSCLIENT_LIBRARY', process.env.WSCLIENT_LIBRARY || '(not set)']);
  return found;
}

function findLibrary() {
  const tried = candidates();
  for (const [, file] of tried) {
    if (fs.existsSync(file)) return file;
  }
  const key = platformKey();
  const shipped = fs.existsSync(path.resolve(__dirname, '..', 'prebuilds'))
    ? fs.readdirSync(path.resolve(__dirname, '..', 'prebuilds')).join(', ')
    : 'none';
  const list = tried.map(([where, file], i) => `  ${i + 1}. ${where}: ${file}`).join('\n');
  throw new Error(
    `libwsclient: no prebuilt library for this platform (${key}); this package carries: ${shipped}. ` +
      `Looked for ${LIB_NAME} in:\n${list}\n` +
      'Build it from source (`make node` in the wsclient repository, or `cargo build --release`) ' +
      'and set WSCLIENT_LIBRARY to the library\'s path.'
  );
}

// Found before koffi loads, so that on a platform without a library the
// error says so (koffi's own would be about koffi).
const libraryPath = findLibrary();
const koffi = require('koffi');
const lib = koffi.load(libraryPath);

// C type (as the generated field lists name them) -> koffi type.
const KOFFI_TYPES = {
  bool: 'bool',
  int32_t: 'int32_t',
  uint16_t: 'uint16_t',
  uint32_t: 'uint32_t',
  uint64_t: 'uint64_t',
  size_t: 'size_t',
  double: 'double',
  'const char *': 'const char *',
  'const uint8_t *': 'void *',
  'void *': 'void *',
};
// Fields read another way than their C type says.
const FIELD_TYPES = { 'ws_event.reason': 'void *' }; // may hold NUL bytes: read reason_len bytes

/** A koffi struct for a struct of wsclient.h, from the generated layout. */
function struct(name) {
  const members = {};
  for (const [field, ctype] of structs[name]) {
    const type = FIELD_TYPES[`${name}.${field}`] || KOFFI_TYPES[ctype];
    if (!type) throw new Error(`wsclient: ${name}.${field} has the C type '${ctype}', which lib/native.js does not map`);
    members[field] = type;
  }
  return koffi.struct(name, members);
}

const WsEvent = struct('ws_event');
const WsStats = struct('ws_stats');

const fn = (proto) => lib.func(proto);
const api = {
  ws_version: fn('const char *ws_version(void)'),
  ws_tls_backend: fn('const char *ws_tls_backend(void)'),
  ws_status_str: fn('const char *ws_status_str(int32_t status)'),
  ws_last_error_message: fn('int32_t ws_last_error_message(_Out_ uint8_t *buf, size_t len, _Out_ size_t *out_len)'),
  ws_extensions: fn('int32_t ws_extensions(uint64_t h, _Out_ uint8_t *buf, size_t len, _Out_ size_t *out_len)'),
  ws_config_new: fn('int32_t ws_config_new(_Out_ uint64_t *out)'),
  ws_config_free: fn('int32_t ws_config_free(uint64_t cfg)'),
  ws_create_with_config: fn('int32_t ws_create_with_config(uint64_t cfg, _Out_ uint64_t *out)'),
  ws_send: fn('int32_t ws_send(uint64_t h, const uint8_t *data, size_t len, bool is_binary)'),
  ws_close: fn('int32_t ws_close(uint64_t h, uint16_t code, const char *reason)'),
  ws_free: fn('int32_t ws_free(uint64_t h)'),
  ws_buffered_amount: fn('int32_t ws_buffered_amount(uint64_t h, _Out_ uint64_t *out)'),
  ws_get_stats: fn('int32_t ws_get_stats(uint64_t h, _Out_ ws_stats *out)'),
  ws_set_url: fn('int32_t ws_set_url(uint64_t h, const char *url)'),
  ws_set_header: fn('int32_t ws_set_header(uint64_t h, const char *name, const char *value)'),
  ws_queue_new: fn('int32_t ws_queue_new(_Out_ uint64_t *out)'),
  ws_queue_attach: fn('int32_t ws_queue_attach(uint64_t h, uint64_t q)'),
  ws_queue_poll: fn('int32_t ws_queue_poll(uint64_t q, void *events, size_t max, int32_t timeout_ms, void *out_count)'),
  ws_queue_fd: fn('int32_t ws_queue_fd(uint64_t q, _Out_ int32_t *out_fd)'),
  ws_ping: fn('int32_t ws_ping(uint64_t h, const uint8_t *data, size_t len)'),
};
// The config setters, from the header.
for (const [name, proto] of Object.entries(setters)) api[name] = fn(proto);

/**
 * Reads `count` ws_event structs in place, one at a time (`at(i)`), with
 * getters named as the fields, without decoding whole structs (koffi's
 * decode of one ws_event costs microseconds; these reads cost nanoseconds).
 * Numbers come as numbers (u64 too: counts and times well below 2^53),
 * `handle` as a BigInt, `const char *` fields as strings (or null);
 * `bytes(ptr, len)` and `text(ptr, len)` copy what a pointer field points to.
 */
function eventReader(events, count) {
  if (os.endianness() !== 'LE') throw new Error('wsclient: the event reader assumes a little-endian machine');
  const size = koffi.sizeof(WsEvent);
  const dv = new DataView(koffi.view(events, size * count));
  const ptrSize = koffi.sizeof('void *');
  const reader = {
    off: 0,
    at(i) { this.off = i * size; return this; },
    bytes(ptrField, lenField) {
      const len = this[lenField];
      const out = Buffer.allocUnsafe(len);
      if (len > 0) libc.memcpy(out, koffi.decode(events, this.off + OFFSET[ptrField], 'void *'), len);
      return out;
    },
    text(ptrField, lenField) {
      const len = this[lenField];
      if (len === 0) return '';
      const buf = len <= scratch.length ? scratch : Buffer.allocUnsafe(len);
      libc.memcpy(buf, koffi.decode(events, this.off + OFFSET[ptrField], 'void *'), len);
      return buf.utf8Slice(0, len);
    },
  };
  const scratch = Buffer.allocUnsafe(64 * 1024);
  const OFFSET = {};
  const read = {
    bool: (o) => dv.getUint8(o) !== 0,
    int32_t: (o) => dv.getInt32(o, true),
    uint16_t: (o) => dv.getUint16(o, true),
    uint32_t: (o) => dv.getUint32(o, true),
    uint64_t: (o) => Number(dv.getBigUint64(o, true)),
    size_t: ptrSize === 8 ? (o) => Number(dv.getBigUint64(o, true)) : (o) => dv.getUint32(o, true),
    'const char *': (o) => koffi.decode(events, o, 'const char *'),
  };
  for (const [field, ctype] of structs.ws_event) {
    const offset = koffi.offsetof(WsEvent, field);
    OFFSET[field] = offset;
    const get = field === 'handle' ? (o) => dv.getBigUint64(o, true) : read[ctype];
    if (!get) continue; // pointers to bytes: bytes() / text()
    Object.defineProperty(reader, field, { get() { return get(this.off + offset); } });
  }
  return reader;
}

// dup(2), from the C library already in the process: the event queue's fd
// is duplicated for Node to own (lib/pump.js).
// memcpy(3) copies an event's bytes into a Buffer: cheaper than koffi.view.
const libcLib = koffi.load(null);
const libc = {
  dup: libcLib.func('int dup(int fd)'),
  memcpy: libcLib.func('void *memcpy(void *dst, const void *src, size_t n)'),
};

function lastErrorMessage() {
  const buf = Buffer.alloc(1024);
  const len = [0];
  api.ws_last_error_message(buf, buf.length, len);
  return buf.toString('utf8', 0, Math.min(Number(len[0]), buf.length - 1));
}

module.exports = { koffi, api, WsEvent, WsStats, libc, eventReader, lastErrorMessage, findLibrary, LIB_NAME };
