//! One live socket: write what is queued and flush once, read until the
//! socket would block, tick the heartbeat, then sleep in `poll(2)` until the
//! socket, the wake-up pipe or the next deadline.

use super::{transport::wait, transport::Stream, Closed, Inbox};
use crate::{
    client::{ws_ready_state::WS_STATE_CLOSING, Shared},
    config::Config,
    error::{ws_error_kind, ConnError},
    event::Event,
    log::log,
    policy::{
        backoff::Ending,
        heartbeat::{Action, Heartbeat},
    },
};
use std::{io, sync::atomic::Ordering, time::Instant};
use tungstenite::{
    error::ProtocolError,
    protocol::{frame::coding::CloseCode, CloseFrame},
    Error as WsError, Message, WebSocket,
};

/// Messages read per wake-up before the worker looks at its commands again.
const READ_BATCH: usize = 256;

/// How a session ended.
pub struct SessionEnd {
    /// For the close event, if this is the end.
    pub closed: Closed,
    /// Why, for the reconnect decision.
    pub ending: Ending,
    /// The error to report, if any.
    pub error: Option<ConnError>,
}

fn would_block(e: &WsError) -> bool {
    matches!(e, WsError::Io(io) if io.kind() == io::ErrorKind::WouldBlock)
}

fn min_deadline(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

struct Session<'a> {
    ws: WebSocket<Stream>,
    shared: &'a Shared,
    config: &'a Config,
    heartbeat: Heartbeat,
    bytes_seen: u64,
    /// Messages and bytes handed to tungstenite since the last full flush.
    unflushed: (u64, u64),
    /// The socket refused bytes: wait for POLLOUT before writing more.
    blocked: bool,
    close_sent: bool,
    deadline: Option<Instant>,
    peer_close: Option<(u16, String)>,
}

/// Run the session until the connection ends.
pub fn run(
    ws: WebSocket<Stream>,
    shared: &Shared,
    inbox: &mut Inbox,
    config: &Config,
) -> SessionEnd {
    let mut s = Session {
        ws,
        shared,
        config,
        heartbeat: Heartbeat::new(config.ping_interval, config.pong_timeout, Instant::now()),
        bytes_seen: 0,
        unflushed: (0, 0),
        blocked: false,
        close_sent: false,
        deadline: None,
        peer_close: None,
    };
    s.bytes_seen = s.ws.get_ref().bytes_read;
    let end = s.run(inbox);
    // What tungstenite still held dies with the socket: it is no longer
    // waiting to be sent (a message already written may be lost too; WebSocket
    // has no acknowledgements).
    shared.buffered_messages.fetch_sub(s.unflushed.0, Ordering::SeqCst);
    shared.buffered_bytes.fetch_sub(s.unflushed.1, Ordering::SeqCst);
    end
}

impl Session<'_> {
    fn run(&mut self, inbox: &mut Inbox) -> SessionEnd {
        let fd = self.ws.get_ref().fd();
        loop {
            inbox.drain(self.shared);
            if self.shared.abandoned() {
                // The handle was freed and the process is exiting.
                return SessionEnd {
                    closed: Closed::abnormal("abandoned at process exit"),
                    ending: Ending::UserClose,
                    error: None,
                };
            }
            // Read first: a peer that has gone (FIN or RST already here) is
            // noticed before more messages are written into a dead socket,
            // so they stay queued for the next connection.
            let (more, end) = self.read();
            if let Some(end) = end {
                return end;
            }
            if let Some(end) = self.write(inbox) {
                return end;
            }
            let now = Instant::now();
            if self.deadline.is_some_and(|d| now >= d) {
                return match self.peer_close.take() {
                    Some(pc) => self.ended(Some(pc)),
                    None => SessionEnd {
                        closed: Closed::abnormal(
                            "the server did not answer the close handshake in time",
                        ),
                        ending: Ending::UserClose,
                        error: None,
                    },
                };
            }
            if let Some(end) = self.tick_heartbeat(now) {
                return end;
            }

            // With messages left unread (TLS may hold decrypted bytes poll
            // cannot see), or queued messages the socket can take now, only
            // look at the pipe and come straight back.
            let writable = !self.blocked && !inbox.outbox.is_empty() && self.ws.can_write();
            let events = libc::POLLIN | if self.blocked { libc::POLLOUT } else { 0 };
            let until = if more || writable {
                Some(now)
            } else {
                min_deadline(
                    self.deadline,
                    (!self.close_sent).then(|| self.heartbeat.poll_timeout()).flatten(),
                )
            };
            if let Err(e) = wait(fd, events, self.shared.waker.fd(), until) {
                return self.fail(ConnError::from_io("poll failed", &e));
            }
        }
    }

    /// Hand queued messages to tungstenite, start the close handshake when
    /// asked, and flush once.
    fn write(&mut self, inbox: &mut Inbox) -> Option<SessionEnd> {
        if !self.blocked && self.ws.can_write() {
            while let Some(msg) = inbox.outbox.pop_front() {
                let len = msg.len() as u64;
                match self.ws.write(msg) {
                    Ok(()) => self.unflushed = (self.unflushed.0 + 1, self.unflushed.1 + len),
                    // The frame is buffered; the socket is full.
                    Err(e) if would_block(&e) => {
                        self.unflushed = (self.unflushed.0 + 1, self.unflushed.1 + len);
                        break;
                    }
                    Err(WsError::WriteBufferFull(m)) => {
                        inbox.outbox.push_front(*m);
                        break;
                    }
                    Err(e) => return Some(self.fail(ConnError::from_ws(e))),
                }
            }
        }
        if !self.close_sent && inbox.outbox.is_empty() {
            if let Some((code, reason)) = &inbox.close_req {
                self.shared.set_state(WS_STATE_CLOSING);
                log!(WS_LOG_DEBUG, self.shared.handle(), "sending close {code}");
                if self.ws.can_write() {
                    let frame =
                        CloseFrame { code: CloseCode::from(*code), reason: reason.as_str().into() };
                    match self.ws.close(Some(frame)) {
                        Err(e) if !would_block(&e) => {
                            return Some(self.fail(ConnError::from_ws(e)))
                        }
                        _ => {}
                    }
                }
                self.close_sent = true;
                self.deadline.get_or_insert(Instant::now() + self.config.close_timeout);
            }
        }
        match self.ws.flush() {
            Ok(()) => {
                self.blocked = false;
                let (n, bytes) = std::mem::take(&mut self.unflushed);
                if n > 0 {
                    self.shared.buffered_messages.fetch_sub(n, Ordering::SeqCst);
                    self.shared.buffered_bytes.fetch_sub(bytes, Ordering::SeqCst);
                    self.shared.stats.messages_sent.fetch_add(n, Ordering::Relaxed);
                    self.shared.stats.bytes_sent.fetch_add(bytes, Ordering::Relaxed);
                }
            }
            Err(e) if would_block(&e) => self.blocked = true,
            Err(WsError::ConnectionClosed | WsError::AlreadyClosed) => {
                let pc = self.peer_close.take();
                return Some(self.ended(pc));
            }
            Err(e) => return Some(self.fail(ConnError::from_ws(e))),
        }
        if self.peer_close.is_some() && !self.blocked {
            let pc = self.peer_close.take();
            return Some(self.ended(pc));
        }
        None
    }

    /// Read until the socket would block (or a batch is done: `more`).
    fn read(&mut self) -> (bool, Option<SessionEnd>) {
        let stats = &self.shared.stats;
        let mut more = true;
        for _ in 0..READ_BATCH {
            let msg = self.ws.read();
            let now = Instant::now();
            match msg {
                Ok(Message::Text(t)) => {
                    stats.messages_received.fetch_add(1, Ordering::Relaxed);
                    stats.bytes_received.fetch_add(t.len() as u64, Ordering::Relaxed);
                    self.shared.emit(Event::Message { data: t.into(), binary: false })
                }
                Ok(Message::Binary(b)) => {
                    stats.messages_received.fetch_add(1, Ordering::Relaxed);
                    stats.bytes_received.fetch_add(b.len() as u64, Ordering::Relaxed);
                    self.shared.emit(Event::Message { data: b, binary: true })
                }
                Ok(Message::Pong(p)) => {
                    if let Some(rtt) = self.heartbeat.handle_pong(&p, now) {
                        let us = rtt.as_micros() as u64;
                        stats.last_rtt_us.store(us, Ordering::Relaxed);
                        self.shared.emit(Event::Pong { rtt_us: us });
                    }
                }
                Ok(Message::Close(frame)) => {
                    if !self.close_sent && frame.as_ref().is_some_and(invalid_code_reply) {
                        // tungstenite has queued its 1002 answer: send it
                        // and fail the connection.
                        let _ = self.ws.flush();
                        return (
                            false,
                            Some(self.failed(ConnError::new(
                                ws_error_kind::WS_ERROR_PROTOCOL,
                                "protocol violation by the peer: its close frame carried a close \
                             code that is not allowed (RFC 6455, 7.4); answered with 1002",
                            ))),
                        );
                    }
                    // A close from the peer, or its answer to ours. tungstenite
                    // queues the echo; once it is out, both close frames are
                    // exchanged and the client may drop TCP (RFC 6455, 7.1.1).
                    let pc = frame
                        .map_or((1005, String::new()), |f| (f.code.into(), f.reason.to_string()));
                    self.shared.set_state(WS_STATE_CLOSING);
                    match self.ws.flush() {
                        Err(e) if would_block(&e) => self.blocked = true,
                        _ => return (false, Some(self.ended(Some(pc)))),
                    }
                    self.peer_close = Some(pc);
                    self.deadline.get_or_insert(now + self.config.close_timeout);
                    more = false;
                    break;
                }
                Ok(_) => {}
                Err(e) if would_block(&e) => {
                    more = false;
                    break;
                }
                Err(WsError::ConnectionClosed | WsError::AlreadyClosed) => {
                    let pc = self.peer_close.take();
                    return (false, Some(self.ended(pc)));
                }
                // Frames after the peer's close frame are ignored (RFC 6455,
                // 5.5.1): only our echo is left to send.
                Err(WsError::Protocol(ProtocolError::ReceivedAfterClosing))
                    if self.peer_close.is_some() =>
                {
                    more = false;
                    break;
                }
                Err(e) => return (false, Some(self.fail(ConnError::from_ws(e)))),
            }
        }
        let read = self.ws.get_ref().bytes_read;
        if read != self.bytes_seen {
            self.bytes_seen = read;
            self.heartbeat.handle_received(Instant::now());
        }
        (more, None)
    }

    /// Send a ping when one is due; fail when the peer stayed silent.
    fn tick_heartbeat(&mut self, now: Instant) -> Option<SessionEnd> {
        if self.close_sent || self.peer_close.is_some() {
            return None;
        }
        match self.heartbeat.handle_timeout(now)? {
            Action::Ping(seq) => {
                log!(WS_LOG_TRACE, self.shared.handle(), "ping {seq}");
                let ping = match &self.config.ping_payload {
                    Some(text) => Message::text(text.as_str()),
                    None => Message::Ping(Heartbeat::payload(seq).to_vec().into()),
                };
                match self.ws.write(ping).and_then(|()| self.ws.flush()) {
                    Err(e) if would_block(&e) => self.blocked = true,
                    Err(e) => return Some(self.fail(ConnError::from_ws(e))),
                    Ok(()) => {}
                }
                None
            }
            Action::PeerDead => Some(self.fail(ConnError::new(
                ws_error_kind::WS_ERROR_HEARTBEAT_TIMEOUT,
                format!(
                    "no reply from the server within {} ms after a ping",
                    self.config.pong_timeout.as_millis()
                ),
            ))),
        }
    }

    /// The connection ended after (or without) the peer's close frame.
    fn ended(&self, peer_close: Option<(u16, String)>) -> SessionEnd {
        match peer_close {
            Some((code, reason)) => SessionEnd {
                ending: if self.close_sent { Ending::UserClose } else { Ending::ServerClose(code) },
                closed: Closed { code, reason, clean: true },
                error: None,
            },
            None if self.close_sent => {
                SessionEnd { closed: Closed::abnormal(""), ending: Ending::UserClose, error: None }
            }
            None => SessionEnd {
                closed: Closed::abnormal(""),
                ending: Ending::Failure,
                error: Some(ConnError::new(
                    ws_error_kind::WS_ERROR_NETWORK,
                    "connection lost: the peer closed TCP without a close handshake",
                )),
            },
        }
    }

    /// Fail the connection: send the close code the error calls for, and
    /// drop the socket. The worker reports the error.
    fn fail(&mut self, err: ConnError) -> SessionEnd {
        if let Some(code) = err.close_code {
            if self.ws.can_write() {
                let _ = self
                    .ws
                    .close(Some(CloseFrame { code: CloseCode::from(code), reason: "".into() }));
                let _ = self.ws.flush();
            }
        }
        self.failed(err)
    }

    /// The connection failed; any close frame is already on its way.
    fn failed(&self, err: ConnError) -> SessionEnd {
        let ending = if self.close_sent { Ending::UserClose } else { Ending::Failure };
        SessionEnd { closed: Closed::abnormal(""), ending, error: Some(err) }
    }
}

/// Whether tungstenite replaced the peer's close frame by its own 1002
/// answer, which it does when the peer's code is not allowed on the wire
/// (0-999, 1004-1006, 1014-2999 but the registered ones, 5000 and up).
fn invalid_code_reply(frame: &CloseFrame) -> bool {
    frame.code == CloseCode::Protocol && frame.reason.as_str() == "Protocol violation"
}
