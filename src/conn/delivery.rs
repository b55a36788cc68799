//! Event delivery: the sink that holds a connection's events until they
//! reach the user's callback, `ws_poll`, or an event queue. This is the one
//! place where user code runs: no lock is held while it does, and a thread
//! inside any callback never waits here for another callback to end.

use super::{
    flow::{Credit, Flow},
    queue::{spin_until, EventQueue},
};
use crate::{
    error::{Error, Result},
    event::Event,
    types::{ws_callback, ws_event, ws_status},
};
use std::{
    cell::Cell,
    collections::VecDeque,
    ffi::c_void,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Condvar, Mutex, MutexGuard,
    },
    time::{Duration, Instant},
};

#[derive(Clone, Copy)]
struct Callback {
    f: unsafe extern "C" fn(*const ws_event, *mut c_void),
    user_data: *mut c_void,
}
// SAFETY: the user promises, by the documented contract of ws_set_callback,
// that the callback and its user_data may be used from the worker thread.
unsafe impl Send for Callback {}

/// An event on its way to the user, holding its share of the receive limit.
pub struct Queued {
    /// The event.
    pub event: Event,
    _credit: Credit,
}

#[derive(Default)]
struct Sink {
    pending: VecDeque<Queued>,
    callback: Option<Callback>,
    queue: Option<Arc<EventQueue>>,
    /// The thread running the callback now (its `thread_token`).
    delivering: Option<usize>,
    worker_done: bool,
    close_taken: bool,
    freed: bool,
}

/// Where a connection's events wait and how they leave.
pub struct Delivery {
    sink: Mutex<Sink>,
    cv: Condvar,
    /// Events waiting in the sink, readable without the lock (for the spin
    /// of `poll`).
    pending_len: AtomicUsize,
    flow: Arc<Flow>,
}

impl Delivery {
    /// An empty sink whose events count against `flow`.
    pub fn new(flow: Arc<Flow>) -> Delivery {
        Delivery {
            sink: Mutex::new(Sink::default()),
            cv: Condvar::new(),
            pending_len: AtomicUsize::new(0),
            flow,
        }
    }

    fn sink(&self) -> MutexGuard<'_, Sink> {
        self.sink.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn set_pending_len(&self, s: &Sink) {
        self.pending_len.store(s.pending.len(), Ordering::Release);
    }

    /// Queue an event of `handle` and deliver what can be delivered.
    pub fn emit(&self, handle: u64, ev: Event) {
        let bytes = match &ev {
            Event::Message { data, .. } => data.len() as u64,
            _ => 0,
        };
        let mut s = self.sink();
        if s.freed {
            return;
        }
        s.pending.push_back(Queued { event: ev, _credit: self.flow.take(bytes) });
        self.set_pending_len(&s);
        drop(s);
        self.dispatch(handle);
    }

    /// Deliver pending events to the callback, if one is set, on this thread
    /// (no lock is held while the callback runs), or move them to the
    /// attached event queue.
    pub fn dispatch(&self, handle: u64) {
        let mut s = self.sink();
        if let Some(q) = s.queue.clone() {
            if !s.freed {
                let events: Vec<Queued> = s.pending.drain(..).collect();
                self.set_pending_len(&s);
                s.close_taken |= events.iter().any(|q| q.event.is_close());
                q.push(handle, events);
            }
            return;
        }
        loop {
            if s.freed {
                s.pending.clear();
                self.set_pending_len(&s);
                break;
            }
            let (Some(cb), None) = (s.callback, s.delivering) else { break };
            let Some(ev) = s.pending.pop_front() else { break };
            self.set_pending_len(&s);
            s.close_taken |= ev.event.is_close();
            s.delivering = Some(thread_token());
            drop(s);
            let view = ev.event.view(handle);
            let _inside = InCallback::enter();
            // SAFETY: the callback contract of ws_set_callback; `view` points
            // into `ev`, which outlives the call.
            unsafe { (cb.f)(&view, cb.user_data) };
            drop(ev);
            s = self.sink();
            s.delivering = None;
            self.cv.notify_all();
        }
        self.cv.notify_all();
    }

    /// The worker is about to exit: deliver what is left.
    pub fn worker_done(&self, handle: u64) {
        self.sink().worker_done = true;
        self.dispatch(handle);
    }

    /// Wait until no other thread runs the callback. From inside a callback
    /// (of any handle) it does not wait: that callback's worker may be
    /// waiting for ours, and two callbacks that free or re-register each
    /// other's handles would wait for each other for ever. The caller's
    /// change then takes effect from the next event on.
    fn wait_idle(&self) -> MutexGuard<'_, Sink> {
        let mut s = self.sink();
        let me = thread_token();
        if InCallback::active() {
            return s;
        }
        while s.delivering.is_some_and(|t| t != me) {
            s = self.cv.wait(s).unwrap_or_else(|e| e.into_inner());
        }
        s
    }

    /// Set or clear the callback (detaching any event queue). Returns
    /// whether the worker has ended: then the caller dispatches pending
    /// events itself, else it asks the worker to.
    pub fn set_callback(&self, cb: ws_callback, user_data: *mut c_void) -> bool {
        let mut s = self.wait_idle();
        s.queue = None;
        s.callback = cb.map(|f| Callback { f, user_data });
        s.worker_done
    }

    /// Send every event from now on (pending ones first) to `queue`, in
    /// place of any callback.
    pub fn attach_queue(&self, handle: u64, queue: Arc<EventQueue>) {
        let mut s = self.wait_idle();
        s.callback = None;
        s.queue = Some(queue);
        drop(s);
        self.dispatch(handle);
    }

    /// Whether no event waits in the sink.
    pub fn is_empty(&self) -> bool {
        self.pending_len.load(Ordering::Acquire) == 0
    }

    /// Where events go when no callback is set and the handle is live:
    /// `Some(None)` for `ws_poll`, `Some(Some(queue))` for an event queue.
    pub(super) fn pull_target(&self) -> Option<Option<Arc<EventQueue>>> {
        let s = self.sink();
        (s.callback.is_none() && !s.freed).then(|| s.queue.clone())
    }

    /// Whether events go to `queue` (and the handle is not freed).
    pub(super) fn feeds(&self, queue: &EventQueue) -> bool {
        let s = self.sink();
        !s.freed && s.queue.as_ref().is_some_and(|q| std::ptr::eq(Arc::as_ptr(q), queue))
    }

    /// An event of this connection, holding its share of the receive limit.
    pub(super) fn queued(&self, event: Event) -> Queued {
        let bytes = match &event {
            Event::Message { data, .. } => data.len() as u64,
            _ => 0,
        };
        Queued { event, _credit: self.flow.take(bytes) }
    }

    /// Take the next event, waiting up to `timeout` (`None`: forever).
    pub fn poll(&self, timeout: Option<Duration>) -> Result<Event> {
        let deadline = timeout.map(|t| Instant::now() + t);
        if timeout != Some(Duration::ZERO) && self.pending_len.load(Ordering::Acquire) == 0 {
            spin_until(|| self.pending_len.load(Ordering::Acquire) != 0, deadline);
        }
        let mut s = self.sink();
        loop {
            if s.freed {
                return Err(Error::new(ws_status::WS_ERR_INVALID_HANDLE, "the handle was freed"));
            }
            if s.callback.is_some() || s.queue.is_some() {
                return Err(Error::new(
                    ws_status::WS_ERR_INVALID_STATE,
                    "a callback or an event queue is set: events go there",
                ));
            }
            if let Some(q) = s.pending.pop_front() {
                s.close_taken |= q.event.is_close();
                self.set_pending_len(&s);
                return Ok(q.event);
            }
            if s.close_taken {
                return Err(Error::new(
                    ws_status::WS_ERR_CLOSED,
                    "the close event was already delivered",
                ));
            }
            s = match deadline {
                None => self.cv.wait(s).unwrap_or_else(|e| e.into_inner()),
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        return Err(Error::new(
                            ws_status::WS_ERR_TIMEOUT,
                            "no event within the timeout",
                        ));
                    }
                    self.cv.wait_timeout(s, d - now).unwrap_or_else(|e| e.into_inner()).0
                }
            };
        }
    }

    /// The handle was freed: no callback runs after this returns (unless
    /// called from inside a callback), pending events are dropped, and a
    /// waiting `poll` returns. Returns whether the worker has ended.
    pub fn release(&self) -> bool {
        let mut s = self.wait_idle();
        s.freed = true;
        s.callback = None;
        s.pending.clear();
        self.set_pending_len(&s);
        let done = s.worker_done;
        drop(s);
        self.cv.notify_all();
        done
    }
}

thread_local! {
    /// How many callbacks this thread is running (nested: a callback that
    /// sets a callback that runs at once).
    static CALLBACK_DEPTH: Cell<u32> = const { Cell::new(0) };
}

/// Marks the current thread as running a user callback until dropped (also
/// when the callback unwinds).
pub struct InCallback;

impl InCallback {
    fn enter() -> InCallback {
        CALLBACK_DEPTH.with(|d| d.set(d.get() + 1));
        InCallback
    }

    /// Whether this thread is inside a user callback (of any handle).
    pub fn active() -> bool {
        CALLBACK_DEPTH.with(|d| d.get() > 0)
    }
}

impl Drop for InCallback {
    fn drop(&mut self) {
        CALLBACK_DEPTH.with(|d| d.set(d.get().saturating_sub(1)));
    }
}

/// A number that tells the calling thread apart from every other live
/// thread: the address of a thread-local. Unlike `thread::current()` it
/// allocates nothing, so a C program's main thread leaves nothing behind.
pub fn thread_token() -> usize {
    thread_local! {
        static TOKEN: u8 = const { 0 };
    }
    TOKEN.with(|t| t as *const u8 as usize)
}
