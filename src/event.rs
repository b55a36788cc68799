//! Events: the Rust form the worker produces, and the C view of it.

use crate::error::{ws_error_kind, ConnError};
use std::{
    ffi::{c_char, c_void, CString},
    ptr,
};
use tungstenite::Bytes;

/// The type of a `ws_event`.
#[allow(non_camel_case_types)]
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
    /// A pong answered our ping: `rtt_us` is set.
    WS_EVENT_PONG = 5,
    /// The connection was lost and the library will try again: `attempt`,
    /// `delay_ms`, `error_kind` and `message` are set, and `code`, `reason`,
    /// `reason_len` and `was_clean` tell how the connection (or attempt)
    /// that ended did: 1006 and "" when there was no close handshake.
    WS_EVENT_RECONNECTING = 6,
}

/// One event. All pointers are owned by the library: in a callback they are
/// valid only until the callback returns; from `ws_poll` they are valid until
/// `ws_event_free` is called on the event. Fields not listed for the event's
/// type are zero, `false` or point to an empty string.
#[allow(non_camel_case_types)]
#[repr(C)]
pub struct ws_event {
    /// Which event this is.
    pub r#type: ws_event_type,
    /// The handle the event belongs to.
    pub handle: crate::ffi::ws_handle,
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

/// An event as the worker produces it; owns everything a `ws_event` points to.
#[derive(Debug)]
pub enum Event {
    /// Connection open.
    Open {
        /// Negotiated subprotocol, "" if none.
        protocol: CString,
        /// Whether this open follows a reconnect.
        reconnect: bool,
    },
    /// A message.
    Message {
        /// Payload.
        data: Bytes,
        /// Binary or text.
        binary: bool,
    },
    /// An error.
    Error {
        /// Kind.
        kind: ws_error_kind,
        /// Message.
        message: CString,
        /// HTTP status of a rejected handshake, else 0.
        http_status: u16,
    },
    /// Closed for good.
    Close {
        /// Close code.
        code: u16,
        /// Close reason.
        reason: CText,
        /// Whether the close handshake completed.
        was_clean: bool,
        /// Messages that never left.
        unsent_messages: u64,
        /// Their bytes.
        unsent_bytes: u64,
    },
    /// Pong with round-trip time.
    Pong {
        /// Round trip in microseconds.
        rtt_us: u64,
    },
    /// About to reconnect.
    Reconnecting {
        /// Attempt number, from 1.
        attempt: u32,
        /// Delay before it, in ms.
        delay_ms: u64,
        /// The error that caused it.
        kind: ws_error_kind,
        /// Its message.
        message: CString,
        /// Close code of the connection that ended (1006: no handshake).
        code: u16,
        /// Its close reason.
        reason: CText,
        /// Whether its close handshake completed.
        was_clean: bool,
    },
}

/// Text for C that keeps every byte, NUL bytes included, with a
/// terminating NUL after them (a close reason is the peer's data).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CText(Box<[u8]>);

impl CText {
    /// `s` and a terminating NUL.
    pub fn new(s: &str) -> CText {
        let mut v = Vec::with_capacity(s.len() + 1);
        v.extend_from_slice(s.as_bytes());
        v.push(0);
        CText(v.into_boxed_slice())
    }

    /// The bytes, without the terminating NUL.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0[..self.0.len() - 1]
    }

    /// The text (it came from a `str`).
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(self.as_bytes()).unwrap_or_default()
    }

    /// The text, as `CStr::to_string_lossy` gives it.
    pub fn to_string_lossy(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(self.as_bytes())
    }

    /// For C: NUL-terminated.
    pub fn as_ptr(&self) -> *const c_char {
        self.0.as_ptr().cast()
    }
}

/// A C string from Rust text, dropping any interior NUL. For data (a
/// subprotocol): kept as it came.
pub fn cstring(s: &str) -> CString {
    CString::new(s.replace('\0', "")).unwrap_or_default()
}

/// A C string for a human-readable message (of an error or a reconnecting
/// event), with control characters escaped ([`crate::log::escape`]): text
/// from the peer in it can never pass for a line of its own.
pub fn message(s: &str) -> CString {
    cstring(&crate::log::escape(s))
}

static EMPTY: &[u8; 1] = b"\0";

impl Event {
    /// Log the event at its level (errors, warnings for reconnects, info for
    /// opens and closes, trace for pongs and messages).
    pub fn log(&self, handle: u64) {
        use crate::log::log;
        match self {
            Event::Open { protocol, reconnect } => log!(
                WS_LOG_INFO,
                handle,
                "{} (subprotocol '{}')",
                if *reconnect { "open again after a reconnect" } else { "open" },
                protocol.to_string_lossy()
            ),
            Event::Message { data, binary } => log!(
                WS_LOG_TRACE,
                handle,
                "received a {}-byte {} message",
                data.len(),
                if *binary { "binary" } else { "text" }
            ),
            Event::Error { kind, message, http_status } => log!(
                WS_LOG_ERROR,
                handle,
                "{kind:?}{}: {}",
                if *http_status > 0 { format!(" (HTTP {http_status})") } else { String::new() },
                message.to_string_lossy()
            ),
            Event::Close { code, reason, was_clean, unsent_messages, unsent_bytes } => log!(
                WS_LOG_INFO,
                handle,
                "closed with {code} '{}' ({}); {unsent_messages} messages ({unsent_bytes} bytes) \
                 never sent",
                reason.as_str(),
                if *was_clean { "clean" } else { "not clean" }
            ),
            Event::Pong { rtt_us } => log!(WS_LOG_TRACE, handle, "pong after {rtt_us} us"),
            Event::Reconnecting { attempt, delay_ms, message, .. } => log!(
                WS_LOG_WARN,
                handle,
                "reconnect attempt {attempt} in {delay_ms} ms, after: {}",
                message.to_string_lossy()
            ),
        }
    }

    /// An error event from a connection error.
    pub fn error(e: &ConnError) -> Event {
        Event::Error { kind: e.kind, message: message(&e.message), http_status: e.http_status }
    }

    /// Whether this is the final close event.
    pub fn is_close(&self) -> bool {
        matches!(self, Event::Close { .. })
    }

    /// The C view of this event, borrowing from `self`.
    pub fn view(&self, handle: u64) -> ws_event {
        let empty = EMPTY.as_ptr().cast::<c_char>();
        let mut ev = ws_event {
            r#type: ws_event_type::WS_EVENT_OPEN,
            handle,
            data: ptr::null(),
            len: 0,
            is_binary: false,
            protocol: empty,
            is_reconnect: false,
            error_kind: ws_error_kind::WS_ERROR_NONE,
            message: empty,
            http_status: 0,
            code: 0,
            reason: empty,
            reason_len: 0,
            was_clean: false,
            unsent_messages: 0,
            unsent_bytes: 0,
            rtt_us: 0,
            attempt: 0,
            delay_ms: 0,
            _private: ptr::null_mut(),
        };
        match self {
            Event::Open { protocol, reconnect } => {
                ev.protocol = protocol.as_ptr();
                ev.is_reconnect = *reconnect;
            }
            Event::Message { data, binary } => {
                ev.r#type = ws_event_type::WS_EVENT_MESSAGE;
                ev.data = if data.is_empty() { ptr::null() } else { data.as_ptr() };
                ev.len = data.len();
                ev.is_binary = *binary;
            }
            Event::Error { kind, message, http_status } => {
                ev.r#type = ws_event_type::WS_EVENT_ERROR;
                ev.error_kind = *kind;
                ev.message = message.as_ptr();
                ev.http_status = *http_status;
            }
            Event::Close { code, reason, was_clean, unsent_messages, unsent_bytes } => {
                ev.r#type = ws_event_type::WS_EVENT_CLOSE;
                ev.code = *code;
                ev.reason = reason.as_ptr();
                ev.reason_len = reason.as_bytes().len();
                ev.was_clean = *was_clean;
                ev.unsent_messages = *unsent_messages;
                ev.unsent_bytes = *unsent_bytes;
            }
            Event::Pong { rtt_us } => {
                ev.r#type = ws_event_type::WS_EVENT_PONG;
                ev.rtt_us = *rtt_us;
            }
            Event::Reconnecting { attempt, delay_ms, kind, message, code, reason, was_clean } => {
                ev.r#type = ws_event_type::WS_EVENT_RECONNECTING;
                ev.attempt = *attempt;
                ev.delay_ms = *delay_ms;
                ev.error_kind = *kind;
                ev.message = message.as_ptr();
                ev.code = *code;
                ev.reason = reason.as_ptr();
                ev.reason_len = reason.as_bytes().len();
                ev.was_clean = *was_clean;
            }
        }
        ev
    }
}
