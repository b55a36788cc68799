//! What the caller's side and the worker of one connection share: the state
//! and counters queries read, the command channel's message type, the
//! wake-up fd, receive flow control and event delivery. The caller's side
//! (`client`) and the worker both build on this module; it knows neither.

pub mod delivery;
pub mod direct;
pub mod flow;
pub mod queue;
pub mod waker;

use crate::{
    config::{Config, Target},
    error::{Error, HttpResponse, Result},
    event::Event,
    types::{ws_ready_state, ws_stats, ws_status},
};
use delivery::Delivery;
use direct::Direct;
use flow::Flow;
use std::sync::{
    atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering},
    Arc, Mutex, RwLock,
};
use tungstenite::{
    http::{HeaderName, HeaderValue},
    Message,
};
use waker::Waker;

/// The live counters behind `ws_stats`.
#[derive(Default)]
pub struct Stats {
    /// See `ws_stats`.
    pub messages_sent: AtomicU64,
    /// See `ws_stats`.
    pub bytes_sent: AtomicU64,
    /// See `ws_stats`.
    pub messages_received: AtomicU64,
    /// See `ws_stats`.
    pub bytes_received: AtomicU64,
    /// See `ws_stats`.
    pub reconnects: AtomicU64,
    /// See `ws_stats`.
    pub attempt: AtomicU64,
    /// See `ws_stats`.
    pub last_rtt_us: AtomicU64,
    /// See `ws_stats`.
    pub last_open_unix_ms: AtomicU64,
    /// See `ws_stats`.
    pub messages_maybe_lost: AtomicU64,
}

/// URL and headers to use from the next connection attempt on.
#[derive(Default)]
pub struct NextAttempt {
    /// A new URL.
    pub target: Option<Target>,
    /// Headers to set, replacing those of the same name.
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

/// What the caller asks of the worker.
pub enum Command {
    /// Send a message.
    Send(Message),
    /// Start the close handshake with this code and reason.
    Close(u16, String),
    /// A callback or an event queue was set: deliver pending events (and
    /// stop lending the socket to readers of `ws_poll`).
    Dispatch,
    /// Send a ping with this payload (`ws_ping`).
    Ping(tungstenite::Bytes),
}

/// Pings of `ws_ping` that may wait to be written at once.
pub(crate) const MAX_PENDING_PINGS: u64 = 64;

/// The send side's limits, from the config.
pub struct SendLimits {
    /// Largest message either way.
    pub max_message_size: usize,
    /// Messages that may wait to be written.
    pub queue_max_messages: u64,
    /// Bytes that may wait to be written.
    pub queue_max_bytes: u64,
    /// Whether sends are taken while not open.
    pub queue_while_disconnected: bool,
}

/// State shared by the caller's side and the worker.
pub struct Shared {
    handle: AtomicU64,
    state: AtomicU8,
    /// Bytes accepted by `ws_send` and not yet flushed to the socket.
    pub buffered_bytes: AtomicU64,
    /// Messages accepted by `ws_send` and not yet flushed to the socket.
    pub buffered_messages: AtomicU64,
    /// Whether sends are accepted; written under the lock when the handle
    /// starts closing, so no send slips past the final count.
    pub accepting: RwLock<bool>,
    /// The wake-up fd.
    pub waker: Arc<Waker>,
    /// Receive flow control.
    pub flow: Arc<Flow>,
    /// Where events wait for the user.
    pub delivery: Delivery,
    /// The caller-thread fast path: the socket, when the worker lends it.
    pub direct: Direct,
    /// Counters.
    pub stats: Stats,
    /// Changes for the next connection attempt.
    pub next_attempt: Mutex<NextAttempt>,
    /// The send side's limits.
    pub limits: SendLimits,
    /// Pings of `ws_ping` not yet written (at most [`MAX_PENDING_PINGS`]).
    pub pending_pings: AtomicU64,
    /// The server's last answer to an upgrade request.
    pub response: Mutex<Option<HttpResponse>>,
    /// The extensions agreed for the current or last connection, in
    /// canonical form ("" for none).
    pub extensions: Mutex<String>,
    /// The worker thread's `thread_token`.
    worker_token: AtomicUsize,
    /// Set at process exit for freed handles still closing in the background.
    abandon: AtomicBool,
}

impl Shared {
    /// The state of a new connection from `config`.
    pub fn new(config: &Config) -> Result<Shared> {
        let waker = Arc::new(Waker::new().map_err(|e| {
            Error::new(ws_status::WS_ERR_INTERNAL, format!("cannot create wake-up pipe: {e}"))
        })?);
        let flow = Arc::new(Flow::new(
            config.receive_max_events,
            config.receive_max_bytes,
            Arc::clone(&waker),
        ));
        Ok(Shared {
            handle: AtomicU64::new(0),
            state: AtomicU8::new(ws_ready_state::WS_STATE_CONNECTING as u8),
            buffered_bytes: AtomicU64::new(0),
            buffered_messages: AtomicU64::new(0),
            accepting: RwLock::new(true),
            waker,
            delivery: Delivery::new(Arc::clone(&flow)),
            direct: Direct::default(),
            flow,
            stats: Stats::default(),
            next_attempt: Mutex::new(NextAttempt::default()),
            limits: SendLimits {
                max_message_size: config.max_message_size,
                queue_max_messages: config.queue_max_messages,
                queue_max_bytes: config.queue_max_bytes,
                queue_while_disconnected: config.queue_while_disconnected,
            },
            pending_pings: AtomicU64::new(0),
            response: Mutex::new(None),
            extensions: Mutex::new(String::new()),
            worker_token: AtomicUsize::new(0),
            abandon: AtomicBool::new(false),
        })
    }

    /// Set the state read by `ws_state`.
    pub fn set_state(&self, s: ws_ready_state) {
        self.state.store(s as u8, Ordering::SeqCst);
    }

    /// The current state.
    pub fn state(&self) -> ws_ready_state {
        ws_ready_state::from_u8(self.state.load(Ordering::SeqCst))
    }

    /// Refuse every later send. Returns whether sends were accepted until now.
    pub fn stop_accepting(&self) -> bool {
        std::mem::replace(&mut *self.accepting.write().unwrap_or_else(|e| e.into_inner()), false)
    }

    /// The handle events carry (0 when the connection has none).
    pub fn handle(&self) -> u64 {
        self.handle.load(Ordering::Relaxed)
    }

    /// Set the handle events carry; before the worker starts.
    pub fn set_handle(&self, handle: u64) {
        self.handle.store(handle, Ordering::Relaxed);
    }

    /// Log an event, queue it and deliver what can be delivered.
    pub fn emit(&self, ev: Event) {
        ev.log(self.handle());
        self.delivery.emit(self.handle(), ev);
    }

    /// Deliver pending events (see [`Delivery::dispatch`]).
    pub fn dispatch(&self) {
        self.delivery.dispatch(self.handle());
    }

    /// Called by the worker thread when it starts.
    pub fn worker_started(&self) {
        self.worker_token.store(delivery::thread_token(), Ordering::Relaxed);
        crate::log::set_thread_handle(self.handle());
    }

    /// Whether the calling thread is this connection's worker.
    pub fn on_worker(&self) -> bool {
        self.worker_token.load(Ordering::Relaxed) == delivery::thread_token()
    }

    /// The worker is about to exit: deliver what is left.
    pub fn worker_done(&self) {
        self.delivery.worker_done(self.handle());
    }

    /// Tell the worker of a freed handle to drop its socket at once (the
    /// process is exiting).
    pub fn abandon(&self) {
        self.abandon.store(true, Ordering::Relaxed);
        self.waker.wake();
    }

    /// Whether the worker should drop what it is doing at once: its handle
    /// was freed and the process is exiting.
    pub fn abandoned(&self) -> bool {
        self.abandon.load(Ordering::Relaxed)
    }

    /// Keep the server's answer to the last upgrade request.
    pub fn set_response(&self, response: HttpResponse) {
        *self.response.lock().unwrap_or_else(|e| e.into_inner()) = Some(response);
    }

    /// Keep the extensions agreed by the last upgrade ("" for none).
    pub fn set_extensions(&self, extensions: String) {
        *self.extensions.lock().unwrap_or_else(|e| e.into_inner()) = extensions;
    }

    /// Whether a caller waiting for this connection's events may read its
    /// socket (the fast path): they are read with `ws_poll`, or with
    /// `ws_queue_poll` from a queue that holds this connection alone.
    pub fn read_by_caller(&self) -> bool {
        match self.delivery.pull_target() {
            None => false,
            Some(None) => true,
            Some(Some(q)) => q.solo().is_some_and(|c| std::ptr::eq(Arc::as_ptr(&c), self)),
        }
    }

    /// A message a caller read from the socket itself: counted and logged.
    pub fn read_by_caller_event(&self, data: tungstenite::Bytes, binary: bool) -> Event {
        let stats = &self.stats;
        stats.messages_received.fetch_add(1, Ordering::Relaxed);
        stats.bytes_received.fetch_add(data.len() as u64, Ordering::Relaxed);
        let ev = Event::Message { data, binary };
        ev.log(self.handle());
        ev
    }

    /// Account `n` messages of `bytes` payload bytes that a caller wrote
    /// to the socket itself (the fast path): no longer queued, sent.
    pub fn written(&self, n: u64, bytes: u64) {
        if n > 0 {
            self.buffered_bytes.fetch_sub(bytes, Ordering::SeqCst);
            self.buffered_messages.fetch_sub(n, Ordering::SeqCst);
            self.stats.messages_sent.fetch_add(n, Ordering::Relaxed);
            self.stats.bytes_sent.fetch_add(bytes, Ordering::Relaxed);
        }
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> ws_stats {
        let s = &self.stats;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let (undelivered_events, undelivered_bytes) = self.flow.undelivered();
        ws_stats {
            messages_sent: get(&s.messages_sent),
            bytes_sent: get(&s.bytes_sent),
            messages_received: get(&s.messages_received),
            bytes_received: get(&s.bytes_received),
            reconnects: get(&s.reconnects),
            attempt: get(&s.attempt),
            last_rtt_us: get(&s.last_rtt_us),
            last_open_unix_ms: get(&s.last_open_unix_ms),
            queued_messages: self.buffered_messages.load(Ordering::SeqCst),
            queued_bytes: self.buffered_bytes.load(Ordering::SeqCst),
            messages_maybe_lost: get(&s.messages_maybe_lost),
            undelivered_events,
            undelivered_bytes,
        }
    }
}
