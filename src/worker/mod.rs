//! The connection's own thread: connect, run the session, report the close.
//! It sleeps in `poll(2)` on the socket and the wake-up pipe; commands from
//! the caller arrive over the channel and are drained on every wake-up.

pub(crate) mod link;
mod proxy;
pub(crate) mod session;
pub(crate) mod transport;

use crate::{
    config::Config,
    conn::{Command, Shared},
    error::ConnError,
    event::{cstring, message, CText, Event},
    log::log,
    policy::backoff::{Backoff, Ending},
    types::{ws_error_kind, ws_ready_state::*},
};
use crossbeam_channel::Receiver;
use std::{
    collections::VecDeque,
    panic::{catch_unwind, AssertUnwindSafe},
    sync::{atomic::Ordering, Arc},
    time::{Instant, SystemTime, UNIX_EPOCH},
};
use transport::ConnectFail;
use tungstenite::Message;

/// How a connection ended, for the close event.
#[derive(Debug)]
pub struct Closed {
    /// Close code (1005: none given, 1006: no close handshake).
    pub code: u16,
    /// Close reason.
    pub reason: String,
    /// Whether close frames were exchanged.
    pub clean: bool,
}

impl Closed {
    /// A close without a handshake (1006).
    pub fn abnormal(reason: &str) -> Closed {
        Closed { code: 1006, reason: reason.to_string(), clean: false }
    }
}

/// The worker's view of the commands: messages waiting to be written, in
/// order, and the user's close request.
pub struct Inbox {
    rx: Receiver<Command>,
    /// Messages taken from the channel and not yet handed to the socket.
    pub outbox: VecDeque<Message>,
    /// Code and reason of the user's `ws_close`, once called.
    pub close_req: Option<(u16, String)>,
    /// Payloads of `ws_ping` not yet written.
    pub pings: VecDeque<tungstenite::Bytes>,
}

impl Inbox {
    /// Forget the pings not written (their connection is gone).
    pub fn drop_pings(&mut self, shared: &Shared) {
        let n = self.pings.len() as u64;
        self.pings.clear();
        shared.pending_pings.fetch_sub(n, Ordering::SeqCst);
    }

    /// An inbox reading the command channel `rx`.
    pub fn new(rx: Receiver<Command>) -> Inbox {
        Inbox { rx, outbox: VecDeque::new(), close_req: None, pings: VecDeque::new() }
    }

    /// Take every queued command. Runs the callback for pending events when
    /// the user set one.
    pub fn drain(&mut self, shared: &Shared) -> usize {
        shared.waker.reset();
        let mut n = 0;
        while let Ok(cmd) = self.rx.try_recv() {
            n += 1;
            match cmd {
                Command::Send(m) => self.outbox.push_back(m),
                Command::Close(code, reason) => {
                    self.close_req.get_or_insert((code, reason));
                }
                Command::Dispatch => shared.dispatch(),
                Command::Ping(p) => self.pings.push_back(p),
            }
        }
        n
    }
}

/// The worker thread's body.
pub fn run(shared: Arc<Shared>, rx: Receiver<Command>, config: Config) {
    shared.worker_started();
    if let Some(t) = &config.target {
        log!(WS_LOG_DEBUG, shared.handle(), "created for {}", t.url);
    }
    let mut inbox = Inbox::new(rx);
    let outcome = catch_unwind(AssertUnwindSafe(|| connection(&shared, &mut inbox, &config)));
    let closed = outcome.unwrap_or_else(|panic| {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        shared.emit(Event::Error {
            kind: ws_error_kind::WS_ERROR_INTERNAL,
            message: message(&format!("internal error: the worker thread panicked: {what}")),
            http_status: 0,
        });
        Closed::abnormal("internal error")
    });
    finish(&shared, &mut inbox, closed);
    shared.worker_done();
}

/// Connect, run the session, and reconnect with backoff until the end.
fn connection(shared: &Shared, inbox: &mut Inbox, initial: &Config) -> Closed {
    #[cfg(test)]
    if tests::PANIC.swap(false, Ordering::SeqCst) {
        panic!("forced by a test");
    }
    let mut config = initial.clone();
    let mut backoff = Backoff::new(config.backoff.clone(), config.seed.unwrap_or_else(seed));
    let mut opened_before = false;
    loop {
        shared.set_state(if opened_before || backoff.attempt() > 0 {
            WS_STATE_RECONNECTING
        } else {
            WS_STATE_CONNECTING
        });
        let _ = inbox.drain(shared);
        if inbox.close_req.is_some() {
            return Closed::abnormal("closed by the user before the connection opened");
        }
        // Events nobody has taken fill the receive limit: wait for the
        // consumer before making more (each attempt makes some).
        while shared.flow.must_pause() {
            let _ = transport::wait(-1, 0, shared.waker.fd(), None);
            inbox.drain(shared);
            if inbox.close_req.is_some() {
                return Closed::abnormal("closed by the user before the connection opened");
            }
        }
        let (ending, error, closed) = match attempt(shared, inbox, &mut config) {
            Err(ConnectFail::Aborted) => {
                return Closed::abnormal("closed by the user before the connection opened")
            }
            Err(ConnectFail::Redirect(..)) => unreachable!("attempt follows redirects"),
            Err(ConnectFail::Failed(mut e)) => {
                if let Some(response) = e.response.take() {
                    shared.set_response(*response);
                }
                let ending = match e.kind {
                    ws_error_kind::WS_ERROR_HANDSHAKE_REJECTED => Ending::Rejected(e.http_status),
                    // An HTTP proxy's refusal (407: authentication) counts
                    // like the server's: final when its status is.
                    ws_error_kind::WS_ERROR_PROXY if e.http_status > 0 => {
                        Ending::Rejected(e.http_status)
                    }
                    _ => Ending::Failure,
                };
                (ending, Some(e), Closed::abnormal(""))
            }
            Ok(mut conn) => {
                shared.set_response(std::mem::take(&mut conn.response));
                let stats = &shared.stats;
                stats.attempt.store(0, Ordering::Relaxed);
                stats.last_open_unix_ms.store(unix_ms(), Ordering::Relaxed);
                if opened_before {
                    stats.reconnects.fetch_add(1, Ordering::Relaxed);
                }
                shared.set_state(WS_STATE_OPEN);
                shared.set_extensions(conn.ws.extensions().to_string());
                shared.emit(Event::Open {
                    protocol: cstring(&conn.protocol),
                    reconnect: opened_before,
                });
                opened_before = true;
                backoff.opened(Instant::now());
                let end = session::run(conn.ws, shared, inbox, &config);
                backoff.dropped(Instant::now(), config.min_uptime);
                (end.ending, end.error, end.closed)
            }
        };
        if let Some(e) = &error {
            shared.emit(Event::error(e));
        }
        if !config.reconnect.should_retry(ending) {
            return closed;
        }
        let Some((n, delay)) = backoff.next_delay() else {
            return Closed::abnormal(&format!(
                "gave up after {} reconnect attempts",
                backoff.attempt()
            ));
        };
        shared.set_state(WS_STATE_RECONNECTING);
        shared.stats.attempt.store(n.into(), Ordering::Relaxed);
        let (kind, message) = match (&error, ending) {
            (Some(e), _) => (e.kind, e.message.clone()),
            (None, Ending::ServerClose(code)) => (
                ws_error_kind::WS_ERROR_NONE,
                format!("the server closed the connection with {code} {}", closed.reason),
            ),
            (None, _) => (ws_error_kind::WS_ERROR_NONE, "the connection ended".to_string()),
        };
        shared.emit(Event::Reconnecting {
            attempt: n,
            delay_ms: delay.as_millis() as u64,
            kind,
            message: crate::event::message(&message),
            code: closed.code,
            reason: CText::new(&closed.reason),
            was_clean: closed.clean,
        });
        // The backoff wait: only the wake-up pipe can end it early.
        let until = crate::policy::deadline::Deadline::after(Instant::now(), delay);
        loop {
            inbox.drain(shared);
            if inbox.close_req.is_some() {
                return Closed::abnormal("closed by the user while reconnecting");
            }
            if until.passed(Instant::now()) {
                break;
            }
            let _ = transport::wait(-1, 0, shared.waker.fd(), Some(until.at()));
        }
    }
}

/// One connection attempt, with the URL and headers changed since the last.
fn attempt(
    shared: &Shared,
    inbox: &mut Inbox,
    config: &mut Config,
) -> Result<transport::Connected, ConnectFail> {
    let next = std::mem::take(&mut *shared.next_attempt.lock().unwrap_or_else(|e| e.into_inner()));
    if let Some(target) = next.target {
        config.connector = None;
        if target.tls {
            let connector = config
                .tls_connector()
                .map_err(|e| ConnError::new(ws_error_kind::WS_ERROR_TLS, e.message))?;
            config.connector = Some(connector);
        }
        config.target = Some(target);
    }
    for (name, value) in next.headers {
        config.headers.retain(|(n, _)| *n != name);
        config.headers.push((name, value));
    }
    let mut redirected: Option<Config> = None;
    for hop in 0.. {
        let cfg = redirected.as_ref().unwrap_or(config);
        let target = cfg.target.as_ref().expect("checked at create");
        log!(WS_LOG_INFO, shared.handle(), "connecting to {}", target.url);
        let (status, location) =
            match transport::connect(cfg, shared.handle(), shared.waker.fd(), &mut || {
                inbox.drain(shared);
                inbox.close_req.is_some()
            }) {
                Err(ConnectFail::Redirect(status, location)) => (status, location),
                other => return other,
            };
        let rejected = |why: String| {
            let mut e = ConnError::new(ws_error_kind::WS_ERROR_HANDSHAKE_REJECTED, why);
            e.http_status = status;
            ConnectFail::Failed(e)
        };
        if hop >= cfg.max_redirects {
            return Err(rejected(format!(
                "HTTP {status}: more than {} redirects",
                cfg.max_redirects
            )));
        }
        let next =
            target.redirect(&location).map_err(|why| rejected(format!("HTTP {status}: {why}")))?;
        log!(WS_LOG_INFO, shared.handle(), "HTTP {status}: redirected to {}", next.url);
        let tls = next.tls;
        let mut c = cfg.clone();
        // Another origin gets no credentials (config::follow_redirect).
        let dropped = c.follow_redirect(next);
        if !dropped.is_empty() {
            log!(
                WS_LOG_INFO,
                shared.handle(),
                "not sent to the new origin: {}",
                dropped.join(", ")
            );
        }
        if tls && c.connector.is_none() {
            let connector = c
                .tls_connector()
                .map_err(|e| ConnError::new(ws_error_kind::WS_ERROR_TLS, e.message))?;
            c.connector = Some(connector);
        }
        redirected = Some(c);
    }
    unreachable!("the loop returns")
}

fn unix_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// A jitter seed that differs per handle and per run.
fn seed() -> u64 {
    let t = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
    let local = 0u8;
    t ^ (&local as *const u8 as u64).rotate_left(32)
}

/// Refuse further sends, count what never left, and queue the close event.
fn finish(shared: &Shared, inbox: &mut Inbox, closed: Closed) {
    shared.stop_accepting();
    shared.set_state(WS_STATE_CLOSED);
    inbox.outbox.clear();
    while inbox.rx.try_recv().is_ok() {}
    shared.emit(Event::Close {
        code: closed.code,
        reason: CText::new(&closed.reason),
        was_clean: closed.clean,
        unsent_messages: shared.buffered_messages.load(Ordering::SeqCst),
        unsent_bytes: shared.buffered_bytes.load(Ordering::SeqCst),
    });
}

/// What tests of the layers above use to reach into the worker.
#[cfg(test)]
pub(crate) mod tests {
    use std::sync::atomic::AtomicBool;

    /// Makes the next connection's worker panic (see the client's tests).
    pub static PANIC: AtomicBool = AtomicBool::new(false);
}
