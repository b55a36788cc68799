//! Receive flow control: the limit on what was received and not yet
//! delivered.

use super::waker::Waker;
use std::sync::{
    atomic::{AtomicBool, AtomicU64, Ordering},
    Arc,
};

/// Receive-side flow control: what was received and not yet delivered, in
/// events and payload bytes. Every event holds a `Credit` until it is
/// delivered (the callback returned, `ws_poll` took it, or the event queue's
/// reader moved past its batch). At the limit the worker stops reading the
/// socket, so TCP pushes back on the server; the last credit given back
/// below the limit wakes it.
pub struct Flow {
    events: AtomicU64,
    bytes: AtomicU64,
    max_events: u64,
    max_bytes: u64,
    /// The worker stopped at the limit and waits to be woken.
    paused: AtomicBool,
    waker: Arc<Waker>,
}

impl Flow {
    /// No event undelivered yet; at most `max_events` events and
    /// `max_bytes` bytes may be; `waker` wakes the worker when it paused.
    pub fn new(max_events: u64, max_bytes: u64, waker: Arc<Waker>) -> Flow {
        Flow {
            events: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            max_events,
            max_bytes,
            paused: AtomicBool::new(false),
            waker,
        }
    }

    fn full(&self) -> bool {
        self.events.load(Ordering::SeqCst) >= self.max_events
            || self.bytes.load(Ordering::SeqCst) >= self.max_bytes
    }

    /// For the worker: whether to stop reading now. When it returns true,
    /// the credit that makes room wakes the worker.
    pub fn must_pause(&self) -> bool {
        if !self.full() {
            return false;
        }
        self.paused.store(true, Ordering::SeqCst);
        // A credit given back between the check and the store saw no pause
        // and woke nobody: look again.
        if self.full() {
            return true;
        }
        self.paused.store(false, Ordering::SeqCst);
        false
    }

    /// Events and bytes received and not yet delivered.
    pub fn undelivered(&self) -> (u64, u64) {
        (self.events.load(Ordering::SeqCst), self.bytes.load(Ordering::SeqCst))
    }

    pub(super) fn take(self: &Arc<Self>, bytes: u64) -> Credit {
        self.events.fetch_add(1, Ordering::SeqCst);
        self.bytes.fetch_add(bytes, Ordering::SeqCst);
        Credit { flow: Arc::clone(self), bytes }
    }
}

/// One event's share of the receive limit, given back when dropped.
pub(super) struct Credit {
    flow: Arc<Flow>,
    bytes: u64,
}

impl Drop for Credit {
    fn drop(&mut self) {
        let f = &self.flow;
        f.events.fetch_sub(1, Ordering::SeqCst);
        f.bytes.fetch_sub(self.bytes, Ordering::SeqCst);
        if f.paused.load(Ordering::SeqCst) && !f.full() && f.paused.swap(false, Ordering::SeqCst) {
            f.waker.wake();
        }
    }
}
