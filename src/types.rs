//! The plain C types of the API: handles, events, statuses, error kinds,
//! states, stats, log levels and the callback types. They are data only,
//! at the bottom of the crate: every other module imports them, and this
//! module imports nothing of the crate. `include/wsclient.h` is generated
//! from them and from `ffi`.
#![allow(non_camel_case_types)]

use std::ffi::{c_char, c_void};

/// A connection handle: an opaque number (do not decode it). 0 is never a
/// valid handle, and no value is issued twice in a process.
pub type ws_handle = u64;

/// A configuration handle, from `ws_config_new`. 0 is never valid.
pub type ws_config = u64;

/// An event queue handle, from `ws_queue_new`. 0 is never valid.
pub type ws_queue = u64;

/// Status returned by every fallible `ws_*` function. `WS_OK` (0) is success;
/// every error is negative. Numbers are never reused: a retired code stays
/// reserved.
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ws_status {
    /// Success.
    WS_OK = 0,
    /// A required pointer was NULL, a length or option was out of range, or a
    /// string was not valid (see `ws_last_error_message` for which).
    WS_ERR_INVALID_ARGUMENT = -1,
    /// The handle was never issued, or was already freed.
    WS_ERR_INVALID_HANDLE = -2,
    /// The URL is not a valid `ws://` or `wss://` URL with a host.
    WS_ERR_INVALID_URL = -3,
    /// A text message, close reason or string option is not valid UTF-8.
    WS_ERR_INVALID_UTF8 = -4,
    /// The message is larger than the configured maximum message size.
    WS_ERR_MESSAGE_TOO_LARGE = -5,
    /// The connection is closing or closed: nothing more can be sent.
    WS_ERR_CLOSED = -6,
    /// A waiting call (`ws_poll`) timed out with nothing to return.
    WS_ERR_TIMEOUT = -7,
    /// The send queue is full; the message was not queued.
    WS_ERR_QUEUE_FULL = -8,
    /// The call does not fit the handle's mode, e.g. `ws_poll` on a handle
    /// that has a callback set.
    WS_ERR_INVALID_STATE = -9,
    /// The caller's buffer is too small; the needed size was reported.
    WS_ERR_BUFFER_TOO_SMALL = -10,
    /// A file named in an option could not be read or parsed (CA file, client
    /// certificate or key).
    WS_ERR_FILE = -11,
    /// An internal error, including a caught Rust panic. The library stays
    /// usable; please report it.
    WS_ERR_INTERNAL = -12,
    /// Not connected, and queueing while disconnected is turned off
    /// (`ws_config_set_queue_while_disconnected`).
    WS_ERR_NOT_CONNECTED = -13,
}

/// What went wrong, as carried by a `WS_EVENT_ERROR` event.
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ws_error_kind {
    /// Not an error event (the field is unused for this event type).
    WS_ERROR_NONE = 0,
    /// The host name could not be resolved.
    WS_ERROR_DNS = 1,
    /// The server refused the TCP connection (nothing listens on the port).
    WS_ERROR_CONNECT_REFUSED = 2,
    /// The TCP connection failed for another reason (host or network
    /// unreachable, ...).
    WS_ERROR_CONNECT_FAILED = 3,
    /// TCP connect, TLS handshake and HTTP upgrade together took longer than
    /// the connect timeout.
    WS_ERROR_CONNECT_TIMEOUT = 4,
    /// The TLS handshake failed; the message gives the reason (for example a
    /// certificate that does not verify, or a host name mismatch).
    WS_ERROR_TLS = 5,
    /// The server answered the upgrade request with an HTTP status other than
    /// 101; `http_status` holds it.
    WS_ERROR_HANDSHAKE_REJECTED = 6,
    /// The peer violated the WebSocket protocol (bad frame, bad handshake
    /// response, invalid UTF-8 in a text message, ...). The client closed the
    /// connection with 1002 or 1007.
    WS_ERROR_PROTOCOL = 7,
    /// The connection was lost: reset, or EOF without a close handshake.
    WS_ERROR_NETWORK = 8,
    /// The peer sent a message larger than the maximum message size. The
    /// client closed the connection with 1009.
    WS_ERROR_MESSAGE_TOO_LARGE = 9,
    /// No pong (or any other frame) arrived within the pong timeout.
    WS_ERROR_HEARTBEAT_TIMEOUT = 10,
    /// An internal error (including a caught panic on the worker thread).
    WS_ERROR_INTERNAL = 11,
    /// The proxy could not be reached or refused the tunnel: the message
    /// says which proxy and why, and `http_status` holds an HTTP proxy's
    /// status (407: proxy authentication required).
    WS_ERROR_PROXY = 12,
}

/// How much the library logs. Each level includes the ones above it.
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ws_log_level {
    /// Nothing (the default).
    WS_LOG_OFF = 0,
    /// Failed connections, protocol violations, internal errors.
    WS_LOG_ERROR = 1,
    /// Reconnects and their reason, refused sends.
    WS_LOG_WARN = 2,
    /// Connection attempts, opens, closes.
    WS_LOG_INFO = 3,
    /// Steps of a connection (DNS, TCP, TLS, upgrade), handles created and
    /// freed.
    WS_LOG_DEBUG = 4,
    /// Every ping, pong and message (sizes only, never payloads).
    WS_LOG_TRACE = 5,
}

/// A log function: the level, the handle the line is about (0 when none),
/// the message (valid only during the call) and the `user_data` given to
/// `ws_set_logger`. It may run on any thread, several at once. It must
/// return normally (no exception, `longjmp` or thread exit out of it).
pub type ws_log_fn = Option<
    unsafe extern "C" fn(
        level: ws_log_level,
        handle: ws_handle,
        message: *const c_char,
        user_data: *mut c_void,
    ),
>;

/// The type of a `ws_event`.
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ws_event_type {
    /// No event: what `ws_event_free` leaves behind.
    WS_EVENT_NONE = 0,
    /// The connection is open: `protocol` and `is_reconnect` are set.
    WS_EVENT_OPEN = 1,
    /// A message arrived: `data`, `len` and `is_binary` are set.
    WS_EVENT_MESSAGE = 2,
    /// Something went wrong: `error_kind`, `message` and, for a rejected
    /// handshake, `http_status` are set. A `WS_EVENT_CLOSE` follows unless the
    /// library reconnects.
    WS_EVENT_ERROR = 3,
    /// The connection is closed for good: `code`, `reason`, `reason_len`,
    /// `was_clean`, `unsent_messages` and `unsent_bytes` are set. This is
    /// always the last event of a handle, delivered exactly once.
    WS_EVENT_CLOSE = 4,
    /// A pong arrived: `rtt_us` is set when it answers a ping of ours (the
    /// heartbeat's or one of `ws_ping`; 0 for a pong the server sent on its
    /// own), and `data`/`len` hold its payload (NULL/0 when empty).
    WS_EVENT_PONG = 5,
    /// The connection was lost and the library will try again: `attempt`,
    /// `delay_ms`, `error_kind` and `message` are set, and `code`, `reason`,
    /// `reason_len` and `was_clean` tell how the connection (or attempt)
    /// that ended did: 1006 and "" when there was no close handshake.
    WS_EVENT_RECONNECTING = 6,
    /// The server sent a ping (the library has answered it): `data`/`len`
    /// hold its payload. Only with `ws_config_set_ping_events`.
    WS_EVENT_PING = 7,
}

/// One event. All pointers are owned by the library: in a callback they are
/// valid only until the callback returns; from `ws_poll` they are valid until
/// `ws_event_free` is called on the event. Fields not listed for the event's
/// type are zero, `false` or point to an empty string.
#[repr(C)]
pub struct ws_event {
    /// Which event this is.
    pub r#type: ws_event_type,
    /// The handle the event belongs to.
    pub handle: ws_handle,
    /// `WS_EVENT_MESSAGE`: the payload (UTF-8 for text, not NUL-terminated);
    /// NULL when `len` is 0.
    pub data: *const u8,
    /// `WS_EVENT_MESSAGE`: payload length in bytes.
    pub len: usize,
    /// `WS_EVENT_MESSAGE`: true for a binary message, false for text.
    pub is_binary: bool,
    /// `WS_EVENT_OPEN`: the subprotocol the server chose, "" if none.
    pub protocol: *const c_char,
    /// `WS_EVENT_OPEN`: false for the first open, true after a reconnect.
    pub is_reconnect: bool,
    /// `WS_EVENT_ERROR`, `WS_EVENT_RECONNECTING`: what went wrong.
    pub error_kind: ws_error_kind,
    /// `WS_EVENT_ERROR`, `WS_EVENT_RECONNECTING`: a human-readable message,
    /// NUL-terminated, on one line: control characters in text from the peer
    /// are escaped (`\n`, `\xNN`, ...). It never holds the value of a
    /// request header or a URL's user information.
    pub message: *const c_char,
    /// `WS_EVENT_ERROR` of kind `WS_ERROR_HANDSHAKE_REJECTED`: the HTTP status.
    pub http_status: u16,
    /// `WS_EVENT_CLOSE`, `WS_EVENT_RECONNECTING`: the close code (1005 if the
    /// server sent none, 1006 if the connection ended without a close
    /// handshake).
    pub code: u16,
    /// `WS_EVENT_CLOSE`, `WS_EVENT_RECONNECTING`: the close reason, UTF-8,
    /// "" if none. It is NUL-terminated, and keeps every byte the server
    /// sent, NUL bytes included: use `reason_len` for its length.
    /// Control characters are kept too: escape it before you print or log it.
    pub reason: *const c_char,
    /// `WS_EVENT_CLOSE`, `WS_EVENT_RECONNECTING`: length of `reason` in bytes
    /// (without the terminating NUL).
    pub reason_len: usize,
    /// `WS_EVENT_CLOSE`, `WS_EVENT_RECONNECTING`: true if close frames were
    /// exchanged with the server.
    pub was_clean: bool,
    /// `WS_EVENT_CLOSE`: messages accepted by `ws_send` that never left.
    pub unsent_messages: u64,
    /// `WS_EVENT_CLOSE`: bytes of those messages.
    pub unsent_bytes: u64,
    /// `WS_EVENT_PONG`: round-trip time of the ping, in microseconds.
    pub rtt_us: u64,
    /// `WS_EVENT_RECONNECTING`: the attempt about to be made (1 for the first).
    pub attempt: u32,
    /// `WS_EVENT_RECONNECTING`: the wait before that attempt, in milliseconds.
    pub delay_ms: u64,
    /// Private: owned storage of a polled event. Do not touch.
    pub _private: *mut c_void,
}

/// Counters of one connection, as `ws_get_stats` reports them. Readable from
/// any thread at any time; each field is read atomically on its own.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ws_stats {
    /// Messages written to the network (flushed).
    pub messages_sent: u64,
    /// Payload bytes of those messages.
    pub bytes_sent: u64,
    /// Messages received.
    pub messages_received: u64,
    /// Payload bytes of those messages.
    pub bytes_received: u64,
    /// Successful reconnects (opens after the first).
    pub reconnects: u64,
    /// The reconnect attempt under way or waited for; 0 while open.
    pub attempt: u64,
    /// Round-trip time of the last answered ping in microseconds; 0 if none.
    pub last_rtt_us: u64,
    /// When the connection last opened, in ms since the Unix epoch; 0 if never.
    pub last_open_unix_ms: u64,
    /// Messages accepted by `ws_send` and not yet written (queued, or in an
    /// unflushed write).
    pub queued_messages: u64,
    /// Bytes of those messages (as `ws_buffered_amount`).
    pub queued_bytes: u64,
    /// Messages entirely handed to the kernel on connections that then
    /// ended without a clean close, before the kernel's send queue was seen
    /// empty: they may not have reached the server (WebSocket has no
    /// acknowledgements). A message not entirely written when its
    /// connection died is never lost: it goes out again after the reconnect.
    pub messages_maybe_lost: u64,
    /// Events received and not yet delivered (see the receive limit).
    pub undelivered_events: u64,
    /// Message bytes received and not yet delivered.
    pub undelivered_bytes: u64,
}

/// The state of a connection, as `ws_state` reports it. The first four values
/// match the browser's `WebSocket.readyState`.
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ws_ready_state {
    /// Connecting for the first time (TCP, TLS, HTTP upgrade).
    WS_STATE_CONNECTING = 0,
    /// Open: messages flow both ways.
    WS_STATE_OPEN = 1,
    /// `ws_close` was called, or the server started closing; the close
    /// handshake is under way.
    WS_STATE_CLOSING = 2,
    /// Closed for good; the `WS_EVENT_CLOSE` event has been queued.
    WS_STATE_CLOSED = 3,
    /// The connection was lost and the library is waiting or trying to
    /// connect again.
    WS_STATE_RECONNECTING = 4,
}

impl ws_ready_state {
    pub(crate) fn from_u8(v: u8) -> Self {
        use ws_ready_state::*;
        [
            WS_STATE_CONNECTING,
            WS_STATE_OPEN,
            WS_STATE_CLOSING,
            WS_STATE_CLOSED,
            WS_STATE_RECONNECTING,
        ]
        .get(usize::from(v))
        .copied()
        .unwrap_or(WS_STATE_CLOSED)
    }
}

/// The callback type: see `ws_set_callback`.
pub type ws_callback = Option<unsafe extern "C" fn(event: *const ws_event, user_data: *mut c_void)>;
