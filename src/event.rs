//! Events: the Rust form the worker produces, and the C view of it.

use crate::{
    error::ConnError,
    types::{ws_error_kind, ws_event, ws_event_type},
};
use std::{
    ffi::{c_char, CString},
    ptr,
};
use tungstenite::Bytes;

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
    /// A pong: the answer to our ping (heartbeat or `ws_ping`) or one the
    /// server sent on its own.
    Pong {
        /// Round trip in microseconds (0 when it answers no ping of ours).
        rtt_us: u64,
        /// Its payload.
        data: Bytes,
    },
    /// A ping from the server (already answered), when asked for.
    Ping {
        /// Its payload.
        data: Bytes,
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
            Event::Pong { rtt_us, data } => {
                log!(WS_LOG_TRACE, handle, "pong ({} bytes) after {rtt_us} us", data.len())
            }
            Event::Ping { data } => log!(WS_LOG_TRACE, handle, "ping ({} bytes)", data.len()),
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
            Event::Pong { rtt_us, data } => {
                ev.r#type = ws_event_type::WS_EVENT_PONG;
                ev.rtt_us = *rtt_us;
                ev.data = if data.is_empty() { ptr::null() } else { data.as_ptr() };
                ev.len = data.len();
            }
            Event::Ping { data } => {
                ev.r#type = ws_event_type::WS_EVENT_PING;
                ev.data = if data.is_empty() { ptr::null() } else { data.as_ptr() };
                ev.len = data.len();
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
