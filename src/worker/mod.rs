//! The connection's own thread: connect, run the session, report the close.
//! It sleeps in `poll(2)` on the socket and the wake-up pipe; commands from
//! the caller arrive over the channel and are drained on every wake-up.

mod session;
pub mod transport;

use crate::{
    client::{ws_ready_state::*, Command, Shared},
    config::Config,
    error::ws_error_kind,
    event::{cstring, Event},
};
use crossbeam_channel::Receiver;
use std::{
    collections::VecDeque,
    panic::{catch_unwind, AssertUnwindSafe},
    sync::{atomic::Ordering, Arc},
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
}

impl Inbox {
    /// Take every queued command. Runs the callback for pending events when
    /// the user set one.
    pub fn drain(&mut self, shared: &Shared) {
        shared.waker.reset();
        while let Ok(cmd) = self.rx.try_recv() {
            match cmd {
                Command::Send(m) => self.outbox.push_back(m),
                Command::Close(code, reason) => {
                    self.close_req.get_or_insert((code, reason));
                }
                Command::Dispatch => shared.dispatch(),
            }
        }
    }
}

/// The worker thread's body.
pub fn run(shared: Arc<Shared>, rx: Receiver<Command>, config: Config) {
    let mut inbox = Inbox { rx, outbox: VecDeque::new(), close_req: None };
    let outcome = catch_unwind(AssertUnwindSafe(|| connection(&shared, &mut inbox, &config)));
    let closed = outcome.unwrap_or_else(|panic| {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        shared.emit(Event::Error {
            kind: ws_error_kind::WS_ERROR_INTERNAL,
            message: cstring(&format!("internal error: the worker thread panicked: {what}")),
            http_status: 0,
        });
        Closed::abnormal("internal error")
    });
    finish(&shared, &mut inbox, closed);
    shared.worker_done();
}

fn connection(shared: &Shared, inbox: &mut Inbox, config: &Config) -> Closed {
    shared.set_state(WS_STATE_CONNECTING);
    inbox.drain(shared);
    if inbox.close_req.is_some() {
        return Closed::abnormal("closed before the connection opened");
    }
    let result = transport::connect(config, shared.waker.fd(), &mut || {
        inbox.drain(shared);
        inbox.close_req.is_some()
    });
    match result {
        Err(ConnectFail::Aborted) => Closed::abnormal("closed before the connection opened"),
        Err(ConnectFail::Failed(e)) => {
            shared.emit(Event::error(&e));
            Closed::abnormal("")
        }
        Ok(conn) => {
            shared.set_state(WS_STATE_OPEN);
            shared.emit(Event::Open { protocol: cstring(&conn.protocol), reconnect: false });
            session::run(conn.ws, shared, inbox, config)
        }
    }
}

/// Refuse further sends, count what never left, and queue the close event.
fn finish(shared: &Shared, inbox: &mut Inbox, closed: Closed) {
    shared.stop_accepting();
    shared.set_state(WS_STATE_CLOSED);
    inbox.outbox.clear();
    while inbox.rx.try_recv().is_ok() {}
    shared.emit(Event::Close {
        code: closed.code,
        reason: cstring(&closed.reason),
        was_clean: closed.clean,
        unsent_messages: shared.buffered_messages.load(Ordering::SeqCst),
        unsent_bytes: shared.buffered_bytes.load(Ordering::SeqCst),
    });
}
