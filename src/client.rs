//! The caller's side of one connection: a `Client` starts the worker,
//! queues what the caller sends, and reads what the worker shares. The C API
//! (`ffi`) keeps one per handle; Rust programs (the CLI) use it directly.

use crate::{
    config::{Config, Target},
    conn::{
        delivery::InCallback,
        direct::{Read, Sent},
        queue::EventQueue,
        Command, Shared,
    },
    error::{Error, Result},
    event::Event,
    types::{ws_callback, ws_ready_state, ws_stats, ws_status},
};
use crossbeam_channel::{Receiver, Sender};
use std::{
    ffi::c_void,
    sync::{atomic::Ordering, Arc, Mutex, RwLockReadGuard},
    thread::{self, JoinHandle},
    time::{Duration, Instant},
};
use tungstenite::{Bytes, Message};

/// One connection, as held by the registry.
pub struct Client {
    shared: Arc<Shared>,
    tx: Sender<Command>,
    worker: Mutex<Option<JoinHandle<()>>>,
    start: Mutex<Option<(Config, Receiver<Command>)>>,
}

impl Client {
    /// Prepare a connection; nothing happens until `start`.
    pub(crate) fn new(mut config: Config) -> Result<Client> {
        config.check()?;
        config.capture_proxy_env()?;
        match &config.target {
            None => return Err(Error::new(ws_status::WS_ERR_INVALID_URL, "no URL was set")),
            Some(t) if t.tls => config.connector = Some(config.tls_connector()?),
            Some(_) => {}
        }
        let (tx, rx) = crossbeam_channel::unbounded();
        let shared = Arc::new(Shared::new(&config)?);
        Ok(Client { shared, tx, worker: Mutex::new(None), start: Mutex::new(Some((config, rx))) })
    }

    /// Create and start a connection whose events carry no handle (0): the
    /// Rust API, for programs that use the library without the C handles.
    pub fn open(config: Config) -> Result<Client> {
        let client = Client::new(config)?;
        client.start(0, "wsclient".to_string())?;
        Ok(client)
    }

    /// Start the worker thread, named `thread_name`; `handle` is what events
    /// will carry (the C API's handle).
    pub(crate) fn start(&self, handle: u64, thread_name: String) -> Result<()> {
        let Some((config, rx)) = self.start.lock().unwrap_or_else(|e| e.into_inner()).take() else {
            return Err(Error::new(ws_status::WS_ERR_INVALID_STATE, "already started"));
        };
        self.shared.set_handle(handle);
        let shared = Arc::clone(&self.shared);
        let mut builder = thread::Builder::new().name(thread_name);
        if let Some(size) = config.thread_stack_size {
            builder = builder.stack_size(size);
        }
        let join = builder.spawn(move || crate::worker::run(shared, rx, config)).map_err(|e| {
            Error::new(ws_status::WS_ERR_INTERNAL, format!("cannot start the worker thread: {e}"))
        })?;
        *self.worker.lock().unwrap_or_else(|e| e.into_inner()) = Some(join);
        Ok(())
    }

    /// The lock that keeps sends out once the handle starts closing, held
    /// while a command is queued; `WS_ERR_CLOSED` once it is closing.
    fn accepting(&self) -> Result<RwLockReadGuard<'_, bool>> {
        let accepting = self.shared.accepting.read().unwrap_or_else(|e| e.into_inner());
        if !*accepting {
            return Err(Error::new(
                ws_status::WS_ERR_CLOSED,
                "the connection is closing or closed",
            ));
        }
        Ok(accepting)
    }

    /// Copy and queue a message.
    pub fn send(&self, data: &[u8], binary: bool) -> Result<()> {
        let limits = &self.shared.limits;
        if data.len() > limits.max_message_size {
            return Err(Error::new(
                ws_status::WS_ERR_MESSAGE_TOO_LARGE,
                format!(
                    "message of {} bytes is over the maximum of {} bytes",
                    data.len(),
                    limits.max_message_size
                ),
            ));
        }
        if !binary {
            std::str::from_utf8(data).map_err(|e| {
                Error::new(
                    ws_status::WS_ERR_INVALID_UTF8,
                    format!("text message is not valid UTF-8: {e}"),
                )
            })?;
        }
        let accepting = self.accepting()?;
        if !limits.queue_while_disconnected && self.shared.state() != ws_ready_state::WS_STATE_OPEN
        {
            return Err(Error::new(
                ws_status::WS_ERR_NOT_CONNECTED,
                "not connected (queueing while disconnected is off)",
            ));
        }
        let len = data.len() as u64;
        let bytes = self.shared.buffered_bytes.fetch_add(len, Ordering::SeqCst) + len;
        let messages = self.shared.buffered_messages.fetch_add(1, Ordering::SeqCst) + 1;
        if messages > limits.queue_max_messages || bytes > limits.queue_max_bytes {
            self.shared.buffered_bytes.fetch_sub(len, Ordering::SeqCst);
            self.shared.buffered_messages.fetch_sub(1, Ordering::SeqCst);
            return Err(Error::new(
                ws_status::WS_ERR_QUEUE_FULL,
                format!(
                    "send queue full: {} messages / {} bytes waiting (limits {} / {})",
                    messages - 1,
                    bytes - len,
                    limits.queue_max_messages,
                    limits.queue_max_bytes
                ),
            ));
        }
        // Written on this thread if the worker lent the socket, else queued
        // for the worker (under the fast path's lock, so that no later send
        // overtakes it).
        let queue = || {
            let msg = if binary {
                Message::Binary(Bytes::copy_from_slice(data))
            } else {
                // SAFETY: checked above.
                Message::text(unsafe { std::str::from_utf8_unchecked(data) })
            };
            // The worker holds the receiver until it stops accepting, under
            // the write lock we exclude here, so this cannot fail.
            let _ = self.tx.send(Command::Send(msg));
        };
        match self.shared.direct.send(data, binary, queue) {
            Sent::Written(n, bytes) => {
                self.shared.written(n, bytes);
                Ok(())
            }
            Sent::Batched => Ok(()),
            Sent::Partial(n, bytes) => {
                self.shared.written(n, bytes);
                drop(accepting);
                self.shared.waker.wake();
                Ok(())
            }
            Sent::Queued => {
                drop(accepting);
                self.shared.waker.wake();
                Ok(())
            }
        }
    }

    /// Send a ping with `payload` (at most 125 bytes) now; its pong arrives
    /// as an event with the payload and the round trip.
    pub fn ping(&self, payload: &[u8]) -> Result<()> {
        if payload.len() > 125 {
            return Err(Error::invalid(format!(
                "a ping payload is at most 125 bytes, got {}",
                payload.len()
            )));
        }
        let accepting = self.accepting()?;
        if self.shared.state() != ws_ready_state::WS_STATE_OPEN {
            return Err(Error::new(ws_status::WS_ERR_NOT_CONNECTED, "not connected"));
        }
        let pending = self.shared.pending_pings.fetch_add(1, Ordering::SeqCst);
        if pending >= crate::conn::MAX_PENDING_PINGS {
            self.shared.pending_pings.fetch_sub(1, Ordering::SeqCst);
            return Err(Error::new(
                ws_status::WS_ERR_QUEUE_FULL,
                format!("{pending} pings are waiting to be written"),
            ));
        }
        let _ = self.tx.send(Command::Ping(Bytes::copy_from_slice(payload)));
        drop(accepting);
        self.shared.waker.wake();
        Ok(())
    }

    /// Start the close handshake with `code` (1000 or 3000..4999, or 0 for
    /// a close frame without a body) and `reason` (at most 123 bytes).
    /// Calling it again is harmless.
    pub fn close(&self, code: u16, reason: &str) -> Result<()> {
        if code == 0 && !reason.is_empty() {
            return Err(Error::invalid(
                "a close reason needs a close code (0: a close frame without a body)",
            ));
        }
        if code != 0 && code != 1000 && !(3000..=4999).contains(&code) {
            return Err(Error::invalid(format!("close code {code} is not 1000 or in 3000..4999")));
        }
        if reason.len() > 123 {
            return Err(Error::invalid(format!(
                "close reason is {} bytes; at most 123 fit",
                reason.len()
            )));
        }
        if self.shared.stop_accepting() {
            let _ = self.tx.send(Command::Close(code, reason.to_string()));
            self.shared.waker.wake();
        }
        Ok(())
    }

    /// Set or clear the callback; pending events go to the new one.
    pub fn set_callback(&self, cb: ws_callback, user_data: *mut c_void) {
        if self.shared.delivery.set_callback(cb, user_data) {
            self.shared.dispatch();
        } else {
            let _ = self.tx.send(Command::Dispatch);
            self.shared.waker.wake();
        }
    }

    /// Send every event from now on (pending ones first) to `queue`, in
    /// place of any callback.
    pub(crate) fn attach_queue(&self, queue: Arc<EventQueue>) {
        queue.join(Arc::downgrade(&self.shared));
        self.shared.delivery.attach_queue(self.shared.handle(), queue);
        // The worker stops lending the socket to readers of ws_poll.
        let _ = self.tx.send(Command::Dispatch);
        self.shared.waker.wake();
    }

    /// Take the next event, waiting up to `timeout` (`None`: forever).
    pub fn poll(&self, timeout: Option<Duration>) -> Result<Event> {
        let shared = &self.shared;
        if timeout == Some(Duration::ZERO) {
            return shared.delivery.poll(timeout);
        }
        let deadline = timeout.map(|t| Instant::now() + t);
        // Events the worker queued come first.
        match shared.delivery.poll(Some(Duration::ZERO)) {
            Err(e) if e.status == ws_status::WS_ERR_TIMEOUT => {}
            other => return other,
        }
        // The fast path: read the socket on this thread while the worker
        // lends it.
        let max = shared.limits.max_message_size;
        let nothing_pending = || shared.delivery.is_empty();
        let written = |n, bytes| shared.written(n, bytes);
        let wake = || shared.waker.wake();
        match shared.direct.read(deadline, max, 1, nothing_pending, written, wake) {
            Read::Messages(mut m) => {
                let (data, binary) = m.pop().expect("one message");
                return Ok(shared.read_by_caller_event(data, binary));
            }
            Read::Timeout => {
                return Err(Error::new(ws_status::WS_ERR_TIMEOUT, "no event within the timeout"))
            }
            Read::Worker => {}
        }
        // Wait for the worker's events (it watches the socket meanwhile).
        if shared.direct.waiting(true) {
            shared.waker.wake();
        }
        let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        let r = shared.delivery.poll(left);
        let _ = shared.direct.waiting(false);
        r
    }

    /// Release the handle: no callback runs after this returns (unless this
    /// is called from inside the callback), pending events are dropped, and
    /// the connection closes in the background.
    pub fn free(&self) {
        let done = self.shared.delivery.release();
        let _ = self.close(1000, "");
        let join = self.worker.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(join) = join {
            // From a callback, never join: that worker may be joining ours.
            if done && !self.shared.on_worker() && !InCallback::active() {
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

    /// The server's last answer to an upgrade request, if one came.
    pub fn response(&self) -> Option<crate::error::HttpResponse> {
        self.shared.response.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The extensions agreed for the current or last connection ("" for
    /// none), e.g. "permessage-deflate; client_max_window_bits=12".
    pub fn extensions(&self) -> String {
        self.shared.extensions.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> ws_stats {
        self.shared.stats()
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

/// Workers of freed handles that are still closing in the background. At
/// process exit they are told to drop their sockets and are joined (for a
/// short while), so no library thread is left running when the program
/// ends: valgrind then reports nothing, not even "possibly lost" stacks.
mod background {
    use super::Shared;
    use std::{
        sync::{Arc, Mutex, Once},
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
                shared.abandon();
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

#[cfg(test)]
mod tests {
    use super::Client;
    use crate::{config::Config, event::Event, types::ws_error_kind, worker::tests::PANIC};
    use std::{sync::atomic::Ordering, time::Duration};

    #[test]
    fn a_panic_on_the_worker_becomes_an_error_and_a_close() {
        let prev = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let mut config = Config::default();
        config.set_url("ws://127.0.0.1:1/").unwrap();
        let client = Client::new(config).unwrap();
        PANIC.store(true, Ordering::SeqCst);
        client.start(1, "wsclient-test".into()).unwrap();
        let first = client.poll(Some(Duration::from_secs(5))).unwrap();
        std::panic::set_hook(prev);
        match first {
            Event::Error { kind: ws_error_kind::WS_ERROR_INTERNAL, message, .. } => {
                assert!(message.to_str().unwrap().contains("forced by a test"))
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            client.poll(Some(Duration::from_secs(5))).unwrap(),
            Event::Close { code: 1006, .. }
        ));
        client.free();
    }
}
