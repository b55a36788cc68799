//! One live socket: write what is queued and flush once, read until the
//! socket would block, tick the heartbeat, then sleep in `poll(2)` until the
//! socket, the wake-up pipe or the next deadline.

use super::{transport::wait, transport::Stream, Closed, Inbox};
use crate::{
    config::Config,
    conn::Shared,
    error::ConnError,
    event::Event,
    log::log,
    policy::{
        backoff::Ending,
        heartbeat::{Action, Heartbeat},
    },
    types::{ws_error_kind, ws_ready_state::WS_STATE_CLOSING},
};
use std::{collections::VecDeque, io, os::fd::RawFd, sync::atomic::Ordering, time::Instant};
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

struct Session<'a> {
    ws: WebSocket<Stream>,
    shared: &'a Shared,
    config: &'a Config,
    heartbeat: Heartbeat,
    bytes_seen: u64,
    /// Data frames handed to tungstenite and not yet entirely written to
    /// the socket, in order: the user's messages, or `None` for a text
    /// heartbeat. If the connection dies, the messages go back to the head
    /// of the queue: the server cannot have processed them.
    in_flight: VecDeque<Option<Message>>,
    /// User messages entirely handed to the kernel since its send queue was
    /// last seen empty: what a dying connection may have lost.
    unacked: u64,
    /// The socket refused bytes: wait for POLLOUT before writing more.
    blocked: bool,
    /// Reading is paused: the consumer is behind (receive limit reached).
    paused: bool,
    /// The user's close request (ws_close or ws_free: no heartbeat, no
    /// reconnect) and the close deadline, which runs from that request or
    /// from the peer's close.
    closing: crate::policy::closing::Closing,
    close_sent: bool,
    peer_close: Option<(u16, String)>,
    /// Pings of `ws_ping` written and not yet answered, oldest first, with
    /// when they were written (at most `MAX_PENDING_PINGS`).
    user_pings: VecDeque<(tungstenite::Bytes, Instant)>,
    /// The socket may be lent to callers (plain TCP).
    may_lend: bool,
    /// The socket is lent to callers (`conn::direct`): the worker does not
    /// touch it until it takes it back.
    lent: bool,
    /// The deadline of the worker's own work (heartbeat, close), while it
    /// sleeps.
    work_until: Option<Instant>,
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
        in_flight: VecDeque::new(),
        unacked: 0,
        blocked: false,
        paused: false,
        closing: crate::policy::closing::Closing::new(config.close_timeout),
        close_sent: false,
        peer_close: None,
        user_pings: VecDeque::new(),
        may_lend: false,
        lent: false,
        work_until: None,
    };
    s.may_lend = s.ws.get_ref().is_plain();
    s.bytes_seen = s.ws.get_ref().bytes_read;
    let end = s.run(inbox);
    // Take the socket back from the callers before it is dropped.
    let back = shared.direct.revoke();
    s.take_back(back);
    s.settle();
    inbox.drop_pings(shared);
    // Messages not entirely written go back to the head of the queue, in
    // order, for the next connection (they stay counted as queued).
    for m in std::mem::take(&mut s.in_flight).into_iter().rev().flatten() {
        inbox.outbox.push_front(m);
    }
    // Callers' frames not entirely written came before all of them.
    for m in s.ws.get_mut().take_unsent().into_iter().rev() {
        inbox.outbox.push_front(m);
    }
    if !end.closed.clean && s.unacked > 0 {
        shared.stats.messages_maybe_lost.fetch_add(s.unacked, Ordering::Relaxed);
        log!(
            WS_LOG_WARN,
            shared.handle(),
            "{} messages were handed to the kernel but maybe not received before the connection \
             ended",
            s.unacked
        );
    }
    end
}

impl Session<'_> {
    fn run(&mut self, inbox: &mut Inbox) -> SessionEnd {
        let fd = self.ws.get_ref().fd();
        let mut socket_ready = false;
        // The worker has work for the lent socket (kept until it has it back).
        let mut want_back = false;
        loop {
            let commands = inbox.drain(self.shared);
            if self.lent && !self.shared.abandoned() {
                // Lent: take the socket back only if there is work for it.
                // Readable while a caller reads: that caller takes it.
                want_back |= commands > 0
                    || (socket_ready && !self.shared.direct.reading())
                    || self.work_until.is_some_and(|u| Instant::now() >= u)
                    || self.shared.direct.needs_worker();
                if !want_back {
                    socket_ready = match self.sleep(fd, libc::POLLIN, self.work_until) {
                        Ok(r) => r,
                        Err(end) => return end,
                    };
                    continue;
                }
                match self.shared.direct.reclaim(true) {
                    Some(back) => {
                        self.lent = false;
                        want_back = false;
                        self.take_back(back);
                    }
                    None => {
                        // A caller is reading: it stops and wakes us.
                        socket_ready = false;
                        if let Err(e) = wait(-1, 0, self.shared.waker.fd(), None) {
                            return self.fail(ConnError::from_io("poll failed", &e));
                        }
                        continue;
                    }
                }
            }
            if self.shared.abandoned() {
                // The handle was freed and the process is exiting.
                return SessionEnd {
                    closed: Closed::abnormal("abandoned at process exit"),
                    ending: Ending::UserClose,
                    error: None,
                };
            }
            // The close deadline starts now, whatever is still queued.
            if inbox.close_req.is_some() && self.closing.request(Instant::now()) {
                self.shared.set_state(WS_STATE_CLOSING);
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
            if self.closing.expired(now) {
                return match self.peer_close.take() {
                    Some(pc) => self.ended(Some(pc)),
                    None => {
                        let what = if self.close_sent {
                            "the server did not answer the close handshake in time".to_string()
                        } else {
                            format!(
                                "the close did not finish within {} ms: the server did not take \
                                 the queued messages",
                                self.config.close_timeout.as_millis()
                            )
                        };
                        SessionEnd {
                            closed: Closed::abnormal(&what),
                            ending: Ending::UserClose,
                            error: None,
                        }
                    }
                };
            }
            if let Some(end) = self.tick_heartbeat(now) {
                return end;
            }

            // With messages left unread (TLS may hold decrypted bytes poll
            // cannot see), or queued messages the socket can take now, only
            // look at the pipe and come straight back.
            let writable = !self.blocked && !inbox.outbox.is_empty() && self.ws.can_write();
            let until = if more || writable {
                Some(now)
            } else {
                if self.unacked > 0 && self.ws.get_ref().unacked() == Some(0) {
                    // Everything written so far reached the server's TCP.
                    self.unacked = 0;
                }
                crate::policy::deadline::earliest(
                    self.closing.deadline(),
                    (!self.close_sent).then(|| self.heartbeat.poll_timeout()).flatten(),
                )
            };
            // Idle with nothing of its own in the socket: lend it to the
            // callers (conn::direct), for reading too in pull mode.
            if self.may_lend
                && !more
                && !writable
                && !self.blocked
                && !self.paused
                && inbox.outbox.is_empty()
                && inbox.pings.is_empty()
                && inbox.close_req.is_none()
                && !self.close_sent
                && self.peer_close.is_none()
                && self.ws.can_write()
                && self.ws.get_ref().write_idle()
            {
                let read = self.ws.get_ref().read_idle() && self.shared.read_by_caller();
                self.lent = self.shared.direct.lend(fd, read, || inbox.rx.is_empty());
            }
            // While paused, the socket is watched only for room to write;
            // the credit that makes room wakes the pipe.
            let events = match (self.paused, self.blocked) {
                (true, false) => 0,
                (true, true) => libc::POLLOUT,
                (false, b) => libc::POLLIN | if b { libc::POLLOUT } else { 0 },
            };
            self.work_until = until;
            socket_ready = match self.sleep(fd, events, until) {
                Ok(r) => r,
                Err(end) => return end,
            };
        }
    }

    /// Sleep until the socket is ready for `events` (none: 0), the
    /// wake-up pipe or `until`. While the socket is lent and callers read
    /// it, it is not watched (`Direct::watch`). Returns whether the socket
    /// was ready.
    fn sleep(
        &mut self,
        fd: RawFd,
        events: i16,
        until: Option<Instant>,
    ) -> Result<bool, SessionEnd> {
        let (mut poll_fd, mut events, mut until) =
            if events == 0 { (-1, 0, until) } else { (fd, events, until) };
        if self.lent {
            let (watch, grace) = self.shared.direct.watch(Instant::now());
            if !watch {
                (poll_fd, events) = (-1, 0);
                until = crate::policy::deadline::earliest(until, grace);
            }
        }
        match wait(poll_fd, events, self.shared.waker.fd(), until) {
            Ok(r) => Ok(r.socket != 0),
            Err(e) => Err(self.fail(ConnError::from_io("poll failed", &e))),
        }
    }

    /// Take what callers left when the socket comes back from them.
    fn take_back(&mut self, back: crate::conn::direct::Reclaimed) {
        let stream = self.ws.get_mut();
        stream.push_unsent(back.unsent);
        stream.unread(back.read);
        self.unacked += back.written;
        if back.bytes_read > 0 {
            self.heartbeat.handle_received(Instant::now());
        }
    }

    /// Let tungstenite take frames of any size from us (they are bounded by
    /// the send queue), or only its own small control frames.
    fn room_for_us(&mut self, ours: bool) {
        let max = if ours { usize::MAX } else { super::transport::CONTROL_ROOM };
        self.ws.set_config(|c| c.max_write_buffer_size = max);
    }

    /// Account the data frames the socket took entirely since last time.
    fn settle(&mut self) {
        let done = self.ws.get_mut().take_completed();
        // Callers' frames, finished by the worker, came before.
        let (mut n, mut bytes) = self.ws.get_mut().take_unsent_done();
        for _ in 0..done {
            if let Some(Some(m)) = self.in_flight.pop_front() {
                n += 1;
                bytes += m.len() as u64;
            }
        }
        if n > 0 {
            self.unacked += n;
            self.shared.buffered_messages.fetch_sub(n, Ordering::SeqCst);
            self.shared.buffered_bytes.fetch_sub(bytes, Ordering::SeqCst);
            self.shared.stats.messages_sent.fetch_add(n, Ordering::Relaxed);
            self.shared.stats.bytes_sent.fetch_add(bytes, Ordering::Relaxed);
        }
    }

    /// Hand queued messages to tungstenite, start the close handshake when
    /// asked, and flush once.
    fn write(&mut self, inbox: &mut Inbox) -> Option<SessionEnd> {
        if let Some(end) = self.write_pings(inbox) {
            return Some(end);
        }
        if !self.blocked && self.ws.can_write() {
            self.room_for_us(true);
            let mut failed = None;
            while let Some(msg) = inbox.outbox.pop_front() {
                let kept = msg.clone();
                match self.ws.write(msg) {
                    Ok(()) => self.in_flight.push_back(Some(kept)),
                    // The frame is buffered; the socket is full.
                    Err(e) if would_block(&e) => {
                        self.in_flight.push_back(Some(kept));
                        self.blocked = true;
                        break;
                    }
                    Err(WsError::WriteBufferFull(_)) => {
                        inbox.outbox.push_front(kept);
                        break;
                    }
                    Err(e) => {
                        // Buffered or not, it was not entirely written.
                        self.in_flight.push_back(Some(kept));
                        failed = Some(e);
                        break;
                    }
                }
            }
            if failed.is_none() && !self.close_sent && inbox.outbox.is_empty() {
                if let Some((code, reason)) = &inbox.close_req {
                    log!(WS_LOG_DEBUG, self.shared.handle(), "sending close {code}");
                    // Code 0: a close frame without a body (the peer sees 1005).
                    let frame = (*code != 0).then(|| CloseFrame {
                        code: CloseCode::from(*code),
                        reason: reason.as_str().into(),
                    });
                    match self.ws.close(frame) {
                        Err(e) if !would_block(&e) => failed = Some(e),
                        _ => {}
                    }
                    self.close_sent = true;
                }
            }
            self.room_for_us(false);
            if let Some(e) = failed {
                self.settle();
                return Some(self.fail(ConnError::from_ws(e)));
            }
        }
        let flushed = self.ws.flush();
        self.settle();
        match flushed {
            Ok(()) => self.blocked = false,
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

    /// Hand the pings of `ws_ping` to tungstenite (flushed with the
    /// messages). None are sent once the close handshake has started.
    fn write_pings(&mut self, inbox: &mut Inbox) -> Option<SessionEnd> {
        while let Some(p) = inbox.pings.pop_front() {
            self.shared.pending_pings.fetch_sub(1, Ordering::SeqCst);
            if self.closing.requested() || self.close_sent || self.peer_close.is_some() {
                continue;
            }
            match self.ws.write(Message::Ping(p.clone())) {
                Ok(()) => {}
                Err(e) if would_block(&e) => self.blocked = true,
                // No room beside our own frames: this ping is dropped.
                Err(WsError::WriteBufferFull(_)) => continue,
                Err(e) => return Some(self.fail(ConnError::from_ws(e))),
            }
            if self.user_pings.len() as u64 >= crate::conn::MAX_PENDING_PINGS {
                self.user_pings.pop_front();
            }
            self.user_pings.push_back((p, Instant::now()));
        }
        None
    }

    /// The round trip of the oldest ping of `ws_ping` that `payload`
    /// answers (and those before it, which went unanswered), if any.
    fn user_pong(&mut self, payload: &[u8], now: Instant) -> Option<std::time::Duration> {
        let i = self.user_pings.iter().position(|(p, _)| p.as_ref() == payload)?;
        let (_, sent) = self.user_pings.drain(..=i).last()?;
        Some(now.saturating_duration_since(sent))
    }

    /// Read until the socket would block (or a batch is done: `more`).
    fn read(&mut self) -> (bool, Option<SessionEnd>) {
        let stats = &self.shared.stats;
        let mut more = true;
        for _ in 0..READ_BATCH {
            if self.shared.flow.must_pause() {
                if !self.paused {
                    self.paused = true;
                    self.heartbeat.pause();
                    let (events, bytes) = self.shared.flow.undelivered();
                    log!(
                        WS_LOG_DEBUG,
                        self.shared.handle(),
                        "receive limit reached ({events} events, {bytes} bytes not delivered): \
                         reading paused"
                    );
                }
                return (false, None);
            }
            if self.paused {
                self.paused = false;
                self.heartbeat.resume(Instant::now());
                log!(WS_LOG_DEBUG, self.shared.handle(), "reading again");
            }
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
                    let rtt =
                        self.heartbeat.handle_pong(&p, now).or_else(|| self.user_pong(&p, now));
                    let rtt_us = rtt.map_or(0, |rtt| rtt.as_micros() as u64);
                    if rtt.is_some() {
                        stats.last_rtt_us.store(rtt_us, Ordering::Relaxed);
                    }
                    self.shared.emit(Event::Pong { rtt_us, data: p });
                }
                Ok(Message::Ping(p)) if self.config.ping_events => {
                    self.shared.emit(Event::Ping { data: p });
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
                    self.closing.peer_closed(now);
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
        if self.closing.requested() || self.close_sent || self.peer_close.is_some() {
            return None;
        }
        match self.heartbeat.handle_timeout(now)? {
            Action::Ping(seq) => {
                log!(WS_LOG_TRACE, self.shared.handle(), "ping {seq}");
                let written = match &self.config.ping_payload {
                    // A text heartbeat is a data frame: it takes its place
                    // in the order of the messages in flight.
                    Some(text) => {
                        self.room_for_us(true);
                        let r = self.ws.write(Message::text(text.as_str()));
                        self.room_for_us(false);
                        if r.is_ok() || r.as_ref().is_err_and(would_block) {
                            self.in_flight.push_back(None);
                        }
                        r
                    }
                    None => self.ws.write(Message::Ping(Heartbeat::payload(seq).to_vec().into())),
                };
                let r = written.and_then(|()| self.ws.flush());
                self.settle();
                match r {
                    Err(e) if would_block(&e) => self.blocked = true,
                    // The socket is full of our own frames: the ping waits
                    // for the next interval, the verdict for the timeout.
                    Err(WsError::WriteBufferFull(_)) => {}
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
                ending: if self.closing.requested() {
                    Ending::UserClose
                } else {
                    Ending::ServerClose(code)
                },
                closed: Closed { code, reason, clean: true },
                error: None,
            },
            None if self.closing.requested() => {
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
        let ending = if self.closing.requested() { Ending::UserClose } else { Ending::Failure };
        SessionEnd { closed: Closed::abnormal(""), ending, error: Some(err) }
    }
}

/// Whether tungstenite replaced the peer's close frame by its own 1002
/// answer, which it does when the peer's code is not allowed on the wire
/// (0-999, 1004-1006, 1014-2999 but the registered ones, 5000 and up).
fn invalid_code_reply(frame: &CloseFrame) -> bool {
    frame.code == CloseCode::Protocol && frame.reason.as_str() == "Protocol violation"
}
