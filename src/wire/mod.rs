//! The message layer: WebSocket frames to and from messages, over
//! tungstenite's public frame types (issue 17).
//!
//! tungstenite's own `WebSocket` rejects frames with RSV1 set, so
//! permessage-deflate (RFC 7692) cannot run through it. This module does
//! what its read and write halves do, with no socket, no clock and no
//! thread: the worker hands it bytes and a `Read`/`Write` to drive.
//!
//! - [`negotiate`]: the `Sec-WebSocket-Extensions` offer and the checks of
//!   the server's answer ([`DeflateConfig`] in, [`Deflate`] out).
//! - [`Decoder`]: bytes in, [`Incoming`] out: reassembly of fragments, the
//!   checks of RFC 6455 (masks, RSV bits, opcodes, control frames, close
//!   codes), UTF-8 validated as the bytes arrive, inflation with the
//!   message size limit applied to the inflated size as it grows.
//! - [`Encoder`]: messages in, frames out: compression above a threshold,
//!   masking in place of the caller's buffer, vectored writes that resume
//!   after a partial write, and the count of data messages entirely written.
//!
//! It imports nothing of the crate (layer 1): it is pure protocol.

mod decoder;
mod deflate;
mod encoder;
mod negotiate;
mod utf8;

pub use decoder::{Decoder, Incoming};
pub use deflate::{Deflater, Inflater};
pub use encoder::{apply_mask, Encoder};
pub use negotiate::{negotiate, Deflate, DeflateConfig};
pub use utf8::Utf8Check;

use std::fmt;

/// Close code 1002: the peer broke the protocol.
pub(crate) const CLOSE_PROTOCOL: u16 = 1002;
/// Close code 1007: data inconsistent with its type (bad UTF-8 in a text
/// message or a close reason, corrupt compressed data).
pub(crate) const CLOSE_INVALID_DATA: u16 = 1007;
/// Close code 1009: a message over the size limit.
pub(crate) const CLOSE_TOO_BIG: u16 = 1009;

/// What the peer did wrong, with the close code to answer it with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireError {
    /// The close code to send: [`CLOSE_PROTOCOL`], [`CLOSE_INVALID_DATA`]
    /// or [`CLOSE_TOO_BIG`].
    pub code: u16,
    /// What happened, in words, for the error event.
    pub message: String,
}

impl WireError {
    /// A protocol violation (1002).
    pub fn protocol(message: impl Into<String>) -> Self {
        WireError { code: CLOSE_PROTOCOL, message: message.into() }
    }

    /// Invalid data (1007).
    pub fn invalid_data(message: impl Into<String>) -> Self {
        WireError { code: CLOSE_INVALID_DATA, message: message.into() }
    }

    /// A message over the limit (1009).
    pub fn too_big(limit: usize) -> Self {
        WireError {
            code: CLOSE_TOO_BIG,
            message: format!("the message is larger than the limit of {limit} bytes"),
        }
    }
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (close {})", self.message, self.code)
    }
}

impl std::error::Error for WireError {}

#[cfg(test)]
mod tests;
