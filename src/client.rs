//! The caller's side of one connection: the command channel and wake-up pipe
//! into the worker, the shared state read by queries, and the event sink that
//! holds events until they are delivered to a callback or polled.

use crate::{
    config::{Config, Target},
    error::{ws_status, Error, Result},
    event::{ws_event, Event},
    queue::EventQueue,
};
use crossbeam_channel::{Receiver, Sender};
use std::{
    collections::VecDeque,
    ffi::c_void,
    os::fd::RawFd,
    sync::{
        atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering},
        Arc, Condvar, Mutex, MutexGuard, RwLock,
    },
    thread::{self, JoinHandle},
    time::{Duration, Instant},
};
use tungstenite::{
    http::{HeaderName, HeaderValue},
    Bytes, Message,
};

/// Counters of one connection, as `ws_get_stats` reports them. Readable from
/// any thread at any time; each field is read atomically on its own.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ws_stats {
    /// Messages written to the network (flushed).
    pub messages_sent: u64,
    /// Payload bytes of those messages.
    pub bytes_sent: u64,
    /// Messages received.
    pub messages_received: u64,
    /// Payload bytes of those messages.
    pub bytes_received: u64,
    /// Successful reconnects (opens after the first).
    pub reconnects: u64,
    /// The reconnect attempt under way or waited for; 0 while open.
    pub attempt: u64,
    /// Round-trip time of the last answered ping in microseconds; 0 if none.
    pub last_rtt_us: u64,
    /// When the connection last opened, in ms since the Unix epoch; 0 if never.
    pub last_open_unix_ms: u64,
    /// Messages accepted by `ws_send` and not yet written (queued, or in an
    /// unflushed write).
    pub queued_messages: u64,
    /// Bytes of those messages (as `ws_buffered_amount`).
    pub queued_bytes: u64,
    /// Messages entirely handed to the kernel on connections that then
    /// ended without a clean close, before the kernel's send queue was seen
    /// empty: they may not have reached the server (WebSocket has no
    /// acknowledgements). A message not entirely written when its
    /// connection died is never lost: it goes out again after the reconnect.
    pub messages_maybe_lost: u64,
    /// Events received and not yet delivered (see the receive limit).
    pub undelivered_events: u64,
    /// Message bytes received and not yet delivered.
    pub undelivered_bytes: u64,
}

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

/// The state of a connection, as `ws_state` reports it. The first four values
/// match the browser's `WebSocket.readyState`.
#[allow(non_camel_case_types)]
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ws_ready_state {
    /// Connecting for the first time (TCP, TLS, HTTP upgrade).
    WS_STATE_CONNECTING = 0,
    /// Open: messages flow both ways.
    WS_STATE_OPEN = 1,
    /// `ws_close` was called, or the server started closing; the close
    /// handshake is under way.
    WS_STATE_CLOSING = 2,
    /// Closed for good; the `WS_EVENT_CLOSE` event has been queued.
    WS_STATE_CLOSED = 3,
    /// The connection was lost and the library is waiting or trying to
    /// connect again.
    WS_STATE_RECONNECTING = 4,
}

impl ws_ready_state {
    fn from_u8(v: u8) -> Self {
        use ws_ready_state::*;
        [
            WS_STATE_CONNECTING,
            WS_STATE_OPEN,
            WS_STATE_CLOSING,
            WS_STATE_CLOSED,
            WS_STATE_RECONNECTING,
        ]
        .get(usize::from(v))
        .copied()
        .unwrap_or(WS_STATE_CLOSED)
    }
}

/// The callback type: see `ws_set_callback`.
#[allow(non_camel_case_types)]
pub type ws_callback = Option<unsafe extern "C" fn(event: *const ws_event, user_data: *mut c_void)>;

#[derive(Clone, Copy)]
struct Callback {
    f: unsafe extern "C" fn(*const ws_event, *mut c_void),
    user_data: *mut c_void,
}
// SAFETY: the user promises, by the documented contract of ws_set_callback,
// that the callback and its user_data may be used from the worker thread.
unsafe impl Send for Callback {}

/// What the caller asks of the worker.
pub enum Command {
    /// Send a message.
    Send(Message),
    /// Start the close handshake with this code and reason.
    Close(u16, String),
    /// A callback was set: deliver pending events.
    Dispatch,
}

/// Wakes the worker out of `poll(2)`: an eventfd on Linux (one fd), a
/// self-pipe elsewhere.
pub struct Waker {
    read_fd: RawFd,
    write_fd: RawFd,
    armed: AtomicBool,
}

impl Waker {
    #[cfg(target_os = "linux")]
    fn new() -> std::io::Result<Waker> {
        // SAFETY: plain eventfd(2) call.
        let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(Waker { read_fd: fd, write_fd: fd, armed: AtomicBool::new(false) })
    }

    #[cfg(not(target_os = "linux"))]
    fn new() -> std::io::Result<Waker> {
        let mut fds = [0; 2];
        // SAFETY: fds is a valid array of two ints.
        if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        for fd in fds {
            // SAFETY: fd was just returned by pipe().
            unsafe {
                libc::fcntl(fd, libc::F_SETFL, libc::fcntl(fd, libc::F_GETFL) | libc::O_NONBLOCK);
                libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
            }
        }
        Ok(Waker { read_fd: fds[0], write_fd: fds[1], armed: AtomicBool::new(false) })
    }

    /// Wake the worker; at most one wake-up is in flight at a time.
    pub fn wake(&self) {
        if !self.armed.swap(true, Ordering::SeqCst) {
            // 8 bytes for an eventfd; a pipe takes them as well.
            let one = 1u64.to_ne_bytes();
            // SAFETY: writing from a valid buffer to our own fd.
            unsafe { libc::write(self.write_fd, one.as_ptr().cast(), one.len()) };
        }
    }

    /// The fd the worker polls.
    pub fn fd(&self) -> RawFd {
        self.read_fd
    }

    /// Call before draining the command channel. Empties the fd, then
    /// re-arms: a sender that saw the flag still set had queued its command
    /// before this returned, so the drain that follows sees it; any later
    /// sender writes again and wakes `poll`. (Clearing the flag before
    /// emptying the fd would swallow such a write and lose the wake-up.)
    pub fn reset(&self) {
        let mut buf = [0u8; 64];
        // SAFETY: reading into a valid buffer from our own nonblocking fd.
        while unsafe { libc::read(self.read_fd, buf.as_mut_ptr().cast(), buf.len()) } > 0 {}
        self.armed.store(false, Ordering::SeqCst);
    }
}

impl Drop for Waker {
    fn drop(&mut self) {
        // SAFETY: the fds are ours and closed once (one fd for an eventfd).
        unsafe {
            libc::close(self.read_fd);
            if self.write_fd != self.read_fd {
                libc::close(self.write_fd);
            }
        }
    }
}

/// Receive-side flow control: what was received and not yet delivered, in
/// events and payload bytes. Every event holds a [`Credit`] until it is
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

    fn take(self: &Arc<Self>, bytes: u64) -> Credit {
        self.events.fetch_add(1, Ordering::SeqCst);
        self.bytes.fetch_add(bytes, Ordering::SeqCst);
        Credit { flow: Arc::clone(self), bytes }
    }
}

/// One event's share of the receive limit, given back when dropped.
struct Credit {
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
    accepting: RwLock<bool>,
    /// The wake-up pipe.
    pub waker: Arc<Waker>,
    /// Receive flow control.
    pub flow: Arc<Flow>,
    /// Counters.
    pub stats: Stats,
    /// Changes for the next connection attempt.
    pub next_attempt: Mutex<NextAttempt>,
    /// Events waiting in the sink, readable without the lock (for the spin
    /// of `poll`).
    pending_len: AtomicUsize,
    max_message_size: usize,
    queue_max_messages: u64,
    queue_max_bytes: u64,
    queue_while_disconnected: bool,
    sink: Mutex<Sink>,
    sink_cv: Condvar,
    /// The worker thread's `thread_token`.
    worker_token: AtomicUsize,
    /// Set at process exit for freed handles still closing in the background.
    abandon: AtomicBool,
}

impl Shared {
    fn sink(&self) -> MutexGuard<'_, Sink> {
        self.sink.lock().unwrap_or_else(|e| e.into_inner())
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

    /// The handle events carry (0 before `start`).
    pub fn handle(&self) -> u64 {
        self.handle.load(Ordering::Relaxed)
    }

    /// Queue an event and deliver what can be delivered.
    pub fn emit(&self, ev: Event) {
        ev.log(self.handle());
        let bytes = match &ev {
            Event::Message { data, .. } => data.len() as u64,
            _ => 0,
        };
        let mut s = self.sink();
        if s.freed {
            return;
        }
        s.pending.push_back(Queued { event: ev, _credit: self.flow.take(bytes) });
        self.pending_len.store(s.pending.len(), Ordering::Release);
        drop(s);
        self.dispatch();
    }

    /// Deliver pending events to the callback, if one is set, on this thread
    /// (no lock is held while the callback runs), or move them to the
    /// attached event queue.
    pub fn dispatch(&self) {
        let mut s = self.sink();
        if let Some(q) = s.queue.clone() {
            if !s.freed {
                let events: Vec<Queued> = s.pending.drain(..).collect();
                self.pending_len.store(0, Ordering::Release);
                s.close_taken |= events.iter().any(|q| q.event.is_close());
                q.push(self.handle.load(Ordering::Relaxed), events);
            }
            return;
        }
        loop {
            if s.freed {
                s.pending.clear();
                self.pending_len.store(0, Ordering::Release);
                break;
            }
            let (Some(cb), None) = (s.callback, s.delivering) else { break };
            let Some(ev) = s.pending.pop_front() else { break };
            self.pending_len.store(s.pending.len(), Ordering::Release);
            s.close_taken |= ev.event.is_close();
            s.delivering = Some(thread_token());
            drop(s);
            let view = ev.event.view(self.handle.load(Ordering::Relaxed));
            let _inside = InCallback::enter();
            // SAFETY: the callback contract of ws_set_callback; `view` points
            // into `ev`, which outlives the call.
            unsafe { (cb.f)(&view, cb.user_data) };
            drop(ev);
            s = self.sink();
            s.delivering = None;
            self.sink_cv.notify_all();
        }
        self.sink_cv.notify_all();
    }

    /// Called by the worker thread when it starts.
    pub fn worker_started(&self) {
        self.worker_token.store(thread_token(), Ordering::Relaxed);
    }

    /// Whether the worker should drop what it is doing at once: its handle
    /// was freed and the process is exiting.
    pub fn abandoned(&self) -> bool {
        self.abandon.load(Ordering::Relaxed)
    }

    /// The worker is about to exit: deliver what is left.
    pub fn worker_done(&self) {
        self.sink().worker_done = true;
        self.dispatch();
    }

    /// Wait until no other thread runs the callback. From inside a callback
    /// (of any handle) it does not wait: that callback's worker may be
    /// waiting for ours, and two callbacks that free or re-register each
    /// other's handles would wait for each other for ever. The caller's
    /// change then takes effect from the next event on.
    fn wait_idle<'a>(&'a self, mut s: MutexGuard<'a, Sink>) -> MutexGuard<'a, Sink> {
        let me = thread_token();
        if InCallback::active() {
            return s;
        }
        while s.delivering.is_some_and(|t| t != me) {
            s = self.sink_cv.wait(s).unwrap_or_else(|e| e.into_inner());
        }
        s
    }
}

/// One connection, as held by the registry.
pub struct Client {
    shared: Arc<Shared>,
    tx: Sender<Command>,
    worker: Mutex<Option<JoinHandle<()>>>,
    start: Mutex<Option<(Config, Receiver<Command>)>>,
}

impl Client {
    /// Prepare a connection; nothing happens until `start`.
    pub fn new(mut config: Config) -> Result<Client> {
        config.check()?;
        match &config.target {
            None => return Err(Error::new(ws_status::WS_ERR_INVALID_URL, "no URL was set")),
            Some(t) if t.tls => config.connector = Some(config.tls_connector()?),
            Some(_) => {}
        }
        let waker = Waker::new().map_err(|e| {
            Error::new(ws_status::WS_ERR_INTERNAL, format!("cannot create wake-up pipe: {e}"))
        })?;
        let (tx, rx) = crossbeam_channel::unbounded();
        let waker = Arc::new(waker);
        let flow = Arc::new(Flow {
            events: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            max_events: config.receive_max_events,
            max_bytes: config.receive_max_bytes,
            paused: AtomicBool::new(false),
            waker: Arc::clone(&waker),
        });
        let shared = Arc::new(Shared {
            handle: AtomicU64::new(0),
            state: AtomicU8::new(ws_ready_state::WS_STATE_CONNECTING as u8),
            buffered_bytes: AtomicU64::new(0),
            buffered_messages: AtomicU64::new(0),
            accepting: RwLock::new(true),
            waker,
            flow,
            stats: Stats::default(),
            next_attempt: Mutex::new(NextAttempt::default()),
            pending_len: AtomicUsize::new(0),
            max_message_size: config.max_message_size,
            queue_max_messages: config.queue_max_messages,
            queue_max_bytes: config.queue_max_bytes,
            queue_while_disconnected: config.queue_while_disconnected,
            sink: Mutex::new(Sink::default()),
            sink_cv: Condvar::new(),
            worker_token: AtomicUsize::new(0),
            abandon: AtomicBool::new(false),
        });
        Ok(Client { shared, tx, worker: Mutex::new(None), start: Mutex::new(Some((config, rx))) })
    }

    /// The state shared with the worker (for the fuzz targets).
    #[cfg(fuzzing)]
    pub(crate) fn shared(&self) -> &Shared {
        &self.shared
    }

    /// Start the worker thread; `handle` is what events will carry.
    pub fn start(&self, handle: u64) -> Result<()> {
        self.shared.handle.store(handle, Ordering::Relaxed);
        let Some((config, rx)) = self.start.lock().unwrap_or_else(|e| e.into_inner()).take() else {
            return Err(Error::new(ws_status::WS_ERR_INVALID_STATE, "already started"));
        };
        let shared = Arc::clone(&self.shared);
        let mut builder =
            thread::Builder::new().name(format!("wsclient-{}", crate::registry::slot(handle)));
        if let Some(size) = config.thread_stack_size {
            builder = builder.stack_size(size);
        }
        let join = builder.spawn(move || crate::worker::run(shared, rx, config)).map_err(|e| {
            Error::new(ws_status::WS_ERR_INTERNAL, format!("cannot start the worker thread: {e}"))
        })?;
        *self.worker.lock().unwrap_or_else(|e| e.into_inner()) = Some(join);
        Ok(())
    }

    /// Copy and queue a message.
    pub fn send(&self, data: &[u8], binary: bool) -> Result<()> {
        if data.len() > self.shared.max_message_size {
            return Err(Error::new(
                ws_status::WS_ERR_MESSAGE_TOO_LARGE,
                format!(
                    "message of {} bytes is over the maximum of {} bytes",
                    data.len(),
                    self.shared.max_message_size
                ),
            ));
        }
        let msg = if binary {
            Message::Binary(Bytes::copy_from_slice(data))
        } else {
            let text = std::str::from_utf8(data).map_err(|e| {
                Error::new(
                    ws_status::WS_ERR_INVALID_UTF8,
                    format!("text message is not valid UTF-8: {e}"),
                )
            })?;
            Message::text(text)
        };
        let accepting = self.shared.accepting.read().unwrap_or_else(|e| e.into_inner());
        if !*accepting {
            return Err(Error::new(
                ws_status::WS_ERR_CLOSED,
                "the connection is closing or closed",
            ));
        }
        if !self.shared.queue_while_disconnected
            && self.shared.state() != ws_ready_state::WS_STATE_OPEN
        {
            return Err(Error::new(
                ws_status::WS_ERR_NOT_CONNECTED,
                "not connected (queueing while disconnected is off)",
            ));
        }
        let len = data.len() as u64;
        let bytes = self.shared.buffered_bytes.fetch_add(len, Ordering::SeqCst) + len;
        let messages = self.shared.buffered_messages.fetch_add(1, Ordering::SeqCst) + 1;
        if messages > self.shared.queue_max_messages || bytes > self.shared.queue_max_bytes {
            self.shared.buffered_bytes.fetch_sub(len, Ordering::SeqCst);
            self.shared.buffered_messages.fetch_sub(1, Ordering::SeqCst);
            return Err(Error::new(
                ws_status::WS_ERR_QUEUE_FULL,
                format!(
                    "send queue full: {} messages / {} bytes waiting (limits {} / {})",
                    messages - 1,
                    bytes - len,
                    self.shared.queue_max_messages,
                    self.shared.queue_max_bytes
                ),
            ));
        }
        // The worker holds the receiver until it stops accepting, under the
        // write lock we exclude here, so this cannot fail.
        let _ = self.tx.send(Command::Send(msg));
        drop(accepting);
        self.shared.waker.wake();
        Ok(())
    }

    /// Start the close handshake. Calling it again is harmless.
    pub fn close(&self, code: u16, reason: &str) -> Result<()> {
        if self.shared.stop_accepting() {
            let _ = self.tx.send(Command::Close(code, reason.to_string()));
            self.shared.waker.wake();
        }
        Ok(())
    }

    /// Set or clear the callback; pending events go to the new one.
    pub fn set_callback(&self, cb: ws_callback, user_data: *mut c_void) {
        let mut s = self.shared.wait_idle(self.shared.sink());
        s.queue = None;
        s.callback = cb.map(|f| Callback { f, user_data });
        let done = s.worker_done;
        drop(s);
        if done {
            self.shared.dispatch();
        } else {
            let _ = self.tx.send(Command::Dispatch);
            self.shared.waker.wake();
        }
    }

    /// Send every event from now on (pending ones first) to `queue`.
    pub fn attach_queue(&self, queue: Arc<EventQueue>) -> Result<()> {
        let mut s = self.shared.wait_idle(self.shared.sink());
        if s.callback.is_some() {
            return Err(Error::new(
                ws_status::WS_ERR_INVALID_STATE,
                "a callback is set: events go to it",
            ));
        }
        s.queue = Some(queue);
        drop(s);
        self.shared.dispatch();
        Ok(())
    }

    /// Take the next event, waiting up to `timeout` (`None`: forever).
    pub fn poll(&self, timeout: Option<Duration>) -> Result<Event> {
        let deadline = timeout.map(|t| Instant::now() + t);
        if timeout != Some(Duration::ZERO) && self.shared.pending_len.load(Ordering::Acquire) == 0 {
            crate::queue::spin_until(
                || self.shared.pending_len.load(Ordering::Acquire) != 0,
                deadline,
            );
        }
        let mut s = self.shared.sink();
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
                self.shared.pending_len.store(s.pending.len(), Ordering::Release);
                return Ok(q.event);
            }
            if s.close_taken {
                return Err(Error::new(
                    ws_status::WS_ERR_CLOSED,
                    "the close event was already delivered",
                ));
            }
            s = match deadline {
                None => self.shared.sink_cv.wait(s).unwrap_or_else(|e| e.into_inner()),
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        return Err(Error::new(
                            ws_status::WS_ERR_TIMEOUT,
                            "no event within the timeout",
                        ));
                    }
                    self.shared
                        .sink_cv
                        .wait_timeout(s, d - now)
                        .unwrap_or_else(|e| e.into_inner())
                        .0
                }
            };
        }
    }

    /// Release the handle: no callback runs after this returns (unless this
    /// is called from inside the callback), pending events are dropped, and
    /// the connection closes in the background.
    pub fn free(&self) {
        let mut s = self.shared.wait_idle(self.shared.sink());
        s.freed = true;
        s.callback = None;
        s.pending.clear();
        self.shared.pending_len.store(0, Ordering::Release);
        let done = s.worker_done;
        drop(s);
        self.shared.sink_cv.notify_all();
        let _ = self.close(1000, "");
        let join = self.worker.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(join) = join {
            let on_worker = self.shared.worker_token.load(Ordering::Relaxed) == thread_token();
            // From a callback, never join: that worker may be joining ours.
            if done && !on_worker && !InCallback::active() {
                let _ = join.join();
            } else {
                background::keep(join, Arc::clone(&self.shared));
            }
        }
    }

    /// The connection state.
    pub fn state(&self) -> ws_ready_state {
        self.shared.state()
    }

    /// Bytes queued or written but not yet flushed.
    pub fn buffered_amount(&self) -> u64 {
        self.shared.buffered_bytes.load(Ordering::SeqCst)
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> ws_stats {
        let s = &self.shared.stats;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let (undelivered_events, undelivered_bytes) = self.shared.flow.undelivered();
        ws_stats {
            messages_sent: get(&s.messages_sent),
            bytes_sent: get(&s.bytes_sent),
            messages_received: get(&s.messages_received),
            bytes_received: get(&s.bytes_received),
            reconnects: get(&s.reconnects),
            attempt: get(&s.attempt),
            last_rtt_us: get(&s.last_rtt_us),
            last_open_unix_ms: get(&s.last_open_unix_ms),
            queued_messages: self.shared.buffered_messages.load(Ordering::SeqCst),
            queued_bytes: self.shared.buffered_bytes.load(Ordering::SeqCst),
            messages_maybe_lost: get(&s.messages_maybe_lost),
            undelivered_events,
            undelivered_bytes,
        }
    }

    /// Use `url` from the next connection attempt on.
    pub fn set_url(&self, url: &str) -> Result<()> {
        let target = Target::parse(url)?;
        self.shared.next_attempt.lock().unwrap_or_else(|e| e.into_inner()).target = Some(target);
        Ok(())
    }

    /// Set a header from the next connection attempt on, replacing any of the
    /// same name.
    pub fn set_header(&self, name: &str, value: &str) -> Result<()> {
        let header = crate::config::header(name, value)?;
        let mut next = self.shared.next_attempt.lock().unwrap_or_else(|e| e.into_inner());
        next.headers.retain(|(n, _)| *n != header.0);
        next.headers.push(header);
        Ok(())
    }
}

thread_local! {
    /// How many callbacks this thread is running (nested: a callback that
    /// sets a callback that runs at once).
    static CALLBACK_DEPTH: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// Marks the current thread as running a user callback until dropped (also
/// when the callback unwinds).
struct InCallback;

impl InCallback {
    fn enter() -> InCallback {
        CALLBACK_DEPTH.with(|d| d.set(d.get() + 1));
        InCallback
    }

    fn active() -> bool {
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
fn thread_token() -> usize {
    thread_local! {
        static TOKEN: u8 = const { 0 };
    }
    TOKEN.with(|t| t as *const u8 as usize)
}

/// Workers of freed handles that are still closing in the background. At
/// process exit they are told to drop their sockets and are joined (for a
/// short while), so no library thread is left running when the program
/// ends: valgrind then reports nothing, not even "possibly lost" stacks.
mod background {
    use super::Shared;
    use std::{
        sync::{atomic::Ordering, Arc, Mutex, Once},
        thread::{self, JoinHandle},
        time::{Duration, Instant},
    };

    type Worker = (JoinHandle<()>, Arc<Shared>);
    static WORKERS: Mutex<Vec<Worker>> = Mutex::new(Vec::new());
    static AT_EXIT: Once = Once::new();
    /// How long exit waits for background closes (DNS cannot be cut short).
    const EXIT_WAIT: Duration = Duration::from_millis(500);

    /// Keep a freed handle's worker until it ends or the process exits.
    pub fn keep(join: JoinHandle<()>, shared: Arc<Shared>) {
        AT_EXIT.call_once(|| {
            // SAFETY: registers a function with no arguments that never
            // unwinds (it catches panics).
            unsafe { libc::atexit(at_exit) };
        });
        let finished: Vec<Worker> = {
            let mut all = WORKERS.lock().unwrap_or_else(|e| e.into_inner());
            all.push((join, shared));
            let (done, live): (Vec<Worker>, Vec<Worker>) =
                all.drain(..).partition(|(j, _)| j.is_finished());
            *all = live;
            done
        };
        for (j, _) in finished {
            let _ = j.join();
        }
    }

    extern "C" fn at_exit() {
        let _ = std::panic::catch_unwind(|| {
            let all = std::mem::take(&mut *WORKERS.lock().unwrap_or_else(|e| e.into_inner()));
            for (_, shared) in &all {
                shared.abandon.store(true, Ordering::Relaxed);
                shared.waker.wake();
            }
            let deadline = Instant::now() + EXIT_WAIT;
            for (j, _) in all {
                while !j.is_finished() && Instant::now() < deadline {
                    thread::sleep(Duration::from_millis(1));
                }
                if j.is_finished() {
                    let _ = j.join();
                }
            }
        });
    }
}
