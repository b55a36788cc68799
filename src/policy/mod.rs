//! Pure decision logic: no IO, no clock reads, no threads. Time comes in as
//! `now`, randomness from a seeded source, so tests run on a fake clock.

pub mod backoff;
pub mod closing;
pub mod connect;
pub mod deadline;
pub mod heartbeat;
