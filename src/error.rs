//! The error taxonomy: status codes returned by every C function, error kinds
//! carried by `error` events, and the internal error type that maps to both.

use crate::types::{ws_error_kind, ws_status};
use std::fmt;

impl ws_status {
    /// The static, NUL-terminated description of a status.
    pub(crate) fn describe(code: i32) -> &'static [u8] {
        use ws_status::*;
        let all = [
            (WS_OK, &b"ok\0"[..]),
            (WS_ERR_INVALID_ARGUMENT, b"invalid argument\0"),
            (WS_ERR_INVALID_HANDLE, b"invalid handle (never issued or already freed)\0"),
            (WS_ERR_INVALID_URL, b"invalid URL\0"),
            (WS_ERR_INVALID_UTF8, b"invalid UTF-8\0"),
            (WS_ERR_MESSAGE_TOO_LARGE, b"message too large\0"),
            (WS_ERR_CLOSED, b"connection closing or closed\0"),
            (WS_ERR_TIMEOUT, b"timed out\0"),
            (WS_ERR_QUEUE_FULL, b"send queue full\0"),
            (WS_ERR_INVALID_STATE, b"invalid state for this call\0"),
            (WS_ERR_BUFFER_TOO_SMALL, b"buffer too small\0"),
            (WS_ERR_FILE, b"cannot read or parse file\0"),
            (WS_ERR_INTERNAL, b"internal error\0"),
            (WS_ERR_NOT_CONNECTED, b"not connected\0"),
        ];
        all.iter().find(|(s, _)| *s as i32 == code).map_or(&b"unknown status\0"[..], |(_, d)| d)
    }
}

/// The library's internal error: a status for the C caller plus a message for
/// `ws_last_error_message`.
#[derive(Debug, Clone)]
pub struct Error {
    /// The status code the C function returns.
    pub status: ws_status,
    /// A human-readable explanation.
    pub message: String,
}

impl Error {
    /// An error with the given status and message.
    pub fn new(status: ws_status, message: impl Into<String>) -> Self {
        Error { status, message: message.into() }
    }

    /// `WS_ERR_INVALID_ARGUMENT` with a message.
    pub fn invalid(message: impl Into<String>) -> Self {
        Error::new(ws_status::WS_ERR_INVALID_ARGUMENT, message)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// Result with the library's error.
pub type Result<T> = std::result::Result<T, Error>;

/// A failure of a live or would-be connection, as reported in an error event.
#[derive(Debug, Clone)]
pub struct ConnError {
    /// The kind, from the documented enum.
    pub kind: ws_error_kind,
    /// A human-readable message.
    pub message: String,
    /// The HTTP status for `WS_ERROR_HANDSHAKE_REJECTED`, else 0.
    pub http_status: u16,
    /// The close code the client sends when it fails the connection because
    /// of this error (RFC 6455 section 7.4.1): 1002, 1007 or 1009.
    pub close_code: Option<u16>,
    /// The server's HTTP answer, when it rejected the upgrade.
    pub response: Option<Box<HttpResponse>>,
}

/// Most of a rejection's body that is kept.
pub const WS_MAX_RESPONSE_BODY: usize = 4096;

/// The server's HTTP answer to the upgrade request: the 101, or a rejection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpResponse {
    /// The status.
    pub status: u16,
    /// The headers, in order, with their raw values.
    pub headers: Vec<(String, Vec<u8>)>,
    /// The first bytes of the body (at most [`WS_MAX_RESPONSE_BODY`]).
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The status and headers of `resp`, and the start of `body`.
    pub fn of<T>(resp: &tungstenite::http::Response<T>, body: &[u8]) -> HttpResponse {
        HttpResponse {
            status: resp.status().as_u16(),
            headers: resp
                .headers()
                .iter()
                .map(|(n, v)| (n.as_str().to_string(), v.as_bytes().to_vec()))
                .collect(),
            body: body[..body.len().min(WS_MAX_RESPONSE_BODY)].to_vec(),
        }
    }

    /// The headers as `Name: value\r\n` lines.
    pub fn header_lines(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for (name, value) in &self.headers {
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value);
            out.extend_from_slice(b"\r\n");
        }
        out
    }
}

impl ConnError {
    /// A connection error of the given kind.
    pub fn new(kind: ws_error_kind, message: impl Into<String>) -> Self {
        ConnError {
            kind,
            message: message.into(),
            http_status: 0,
            close_code: None,
            response: None,
        }
    }

    fn failing_with(mut self, code: u16) -> Self {
        self.close_code = Some(code);
        self
    }

    /// Classify an error from tungstenite on an established connection or
    /// during the HTTP upgrade.
    pub fn from_ws(err: tungstenite::Error) -> Self {
        use tungstenite::Error as E;
        use ws_error_kind::*;
        match err {
            E::Http(resp) => {
                let status = resp.status();
                let mut e = ConnError::new(
                    WS_ERROR_HANDSHAKE_REJECTED,
                    format!(
                        "server rejected the WebSocket upgrade with HTTP {} {}",
                        status.as_u16(),
                        status.canonical_reason().unwrap_or("")
                    ),
                );
                e.http_status = status.as_u16();
                let body = resp.body().as_deref().unwrap_or_default();
                e.response = Some(Box::new(HttpResponse::of(&resp, body)));
                e
            }
            E::Utf8(s) => ConnError::new(
                WS_ERROR_PROTOCOL,
                format!("peer sent invalid UTF-8 in a text message or close reason: {s}"),
            )
            .failing_with(1007),
            E::Protocol(tungstenite::error::ProtocolError::ResetWithoutClosingHandshake) => {
                ConnError::new(
                    WS_ERROR_NETWORK,
                    "connection lost: the peer closed TCP without a close handshake",
                )
            }
            E::Protocol(p) => {
                ConnError::new(WS_ERROR_PROTOCOL, format!("protocol violation by the peer: {p}"))
                    .failing_with(1002)
            }
            // A 64-bit length must have its most significant bit clear
            // (RFC 6455, 5.2): such a header is a protocol error, not a size.
            E::Capacity(tungstenite::error::CapacityError::MessageTooLong { size, .. })
                if size as u64 > i64::MAX as u64 =>
            {
                ConnError::new(
                    WS_ERROR_PROTOCOL,
                    "protocol violation by the peer: a frame length with the most significant \
                     bit set (RFC 6455, 5.2)",
                )
                .failing_with(1002)
            }
            E::Capacity(c @ tungstenite::error::CapacityError::MessageTooLong { .. }) => {
                ConnError::new(WS_ERROR_MESSAGE_TOO_LARGE, format!("peer sent {c}"))
                    .failing_with(1009)
            }
            E::Io(io) => ConnError::from_io("connection lost", &io),
            E::AttackAttempt => ConnError::new(
                WS_ERROR_PROTOCOL,
                "the server's handshake response is over 64 KiB or came in too many small pieces",
            ),
            E::Capacity(tungstenite::error::CapacityError::TooManyHeaders) => ConnError::new(
                WS_ERROR_PROTOCOL,
                "the server's handshake response has too many headers (the limit is 124)",
            ),
            other => ConnError::new(WS_ERROR_NETWORK, other.to_string()),
        }
    }

    /// The server broke the protocol, as the message layer found: fail the
    /// connection with the close code it calls for.
    pub fn from_wire(err: crate::wire::WireError) -> Self {
        use ws_error_kind::*;
        let (kind, message) = match err.code {
            1009 => (
                WS_ERROR_MESSAGE_TOO_LARGE,
                format!("the peer's message is too large: {}", err.message),
            ),
            1007 => (WS_ERROR_PROTOCOL, format!("peer sent invalid data: {}", err.message)),
            _ => (WS_ERROR_PROTOCOL, format!("protocol violation by the peer: {}", err.message)),
        };
        ConnError::new(kind, message).failing_with(err.code)
    }

    /// Classify an I/O error with some context.
    pub fn from_io(context: &str, io: &std::io::Error) -> Self {
        use std::io::ErrorKind as K;
        use ws_error_kind::*;
        let kind = match io.kind() {
            K::ConnectionRefused => WS_ERROR_CONNECT_REFUSED,
            K::TimedOut => WS_ERROR_CONNECT_TIMEOUT,
            _ => WS_ERROR_NETWORK,
        };
        ConnError::new(kind, format!("{context}: {io}"))
    }
}
