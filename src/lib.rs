//! wsclient: a WebSocket client that stays connected, with a C ABI.
//!
//! The C API is in [`ffi`]; `include/wsclient.h` is generated from it. Each
//! connection runs on its own worker thread (see `worker`), which sleeps in
//! `poll(2)` on the socket and a wake-up pipe.
#![deny(missing_docs)]

pub mod client;
pub mod config;
pub mod error;
pub mod event;
pub mod ffi;
pub mod log;
pub mod policy;
pub mod queue;
pub mod registry;
mod worker;

/// Entry points for the fuzz targets in `fuzz/` (only with `--cfg fuzzing`).
#[cfg(fuzzing)]
pub mod fuzz {
    pub use crate::worker::fuzz::{handshake, session};
}

pub use client::{ws_callback, ws_ready_state, ws_stats};
pub use error::{ws_error_kind, ws_status};
pub use event::{ws_event, ws_event_type};
pub use ffi::*;
pub use log::{ws_log_fn, ws_log_level};
