//! wsclient: a WebSocket client that stays connected, with a C ABI.
//!
//! The layers point down only (see `docs/architecture.md`):
//! `ffi` (the C API; `include/wsclient.h` is generated from it) →
//! [`registry`] → [`client`] (the caller's side of a connection) → `worker`
//! (the connection's own thread) → `conn` (state shared by both sides,
//! flow control and event delivery) → [`event`], [`log`], [`config`],
//! [`error`] → [`policy`] (pure decisions) → [`types`] (the plain C types).
#![deny(missing_docs)]

pub mod client;
pub mod config;
mod conn;
pub mod error;
pub mod event;
pub mod ffi;
pub mod log;
pub mod policy;
pub mod registry;
pub mod tls;
pub mod types;
/// Not yet used by the worker: built and tested on its own first (issue 17).
#[allow(dead_code, unused_imports)]
mod wire;
mod worker;

/// Entry points for the fuzz targets in `fuzz/` (only with `--cfg fuzzing`).
#[cfg(fuzzing)]
pub mod fuzz;

pub use ffi::*;
pub use types::*;
