//! One live socket: write what is queued and flush once, read until the
//! socket would block, tick the heartbeat, then sleep in `poll(2)` until the
//! socket, the wake-up pipe or the next deadline.

use super::{
    link::{Link, LinkError},
    transport::wait,
    Closed, Inbox,
};
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
    wire::Incoming,
};
use std::{collections::VecDeque, os::fd::RawFd, sync::atomic::Ordering, time::Instant};
use tungstenite::Message;

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

/// The bytes of a queued data message, and whether it is binary. The
/// message's buffer becomes the frame's payload: no copy when the queue
/// held the only reference (what `ws_send` made).
fn into_data(m: Message) -> (Vec<u8>, bool) {
    match m {
        Message::Text(t) => (tungstenite::Bytes::from(t).into(), false),
        Message::Binary(b) => (b.into(), true),
        // Only data messages are queued.
        _ => (Vec::new(), true),
    }
}

/// A message the link gave back (not entirely written), as it was queued.
fn from_data(data: Vec<u8>, binary: bool) -> Message {
    if binary {
        return Message::Binary(data.into());
    }
    match String::from_utf8(data) {
        Ok(t) => Message::text(t),
        // Not reached: text is checked when it is sent.
        Err(e) => Message::text(String::from_utf8_lossy(e.as_bytes()).into_owned()),
    }
}

/// The error that ends the session for a failed write or read.
fn link_error(e: LinkError) -> ConnError {
    match e {
        LinkError::Wire(w) => ConnError::from_wire(w),
        LinkError::Io(io) => ConnError::from_io("connection lost", &io),
        LinkError::WouldBlock | LinkError::Full | LinkError::Closed => ConnError::new(
            ws_error_kind::WS_ERROR_NETWORK,
            "connection lost: the peer closed TCP without a close handshake",
        ),
    }
}

struct Session<'a> {
    ws: Link,
    shared: &'a Shared,
    config: &'a Config,
    heartbeat: Heartbeat,
    bytes_seen: u64,
    /// Data frames handed to the link and not yet entirely written to
    /// the socket, in order: the length of a user's message, or `None` for
    /// a text heartbeat. If the connection dies, the link gives these
    /// messages back and they go to the head of the queue: the server
    /// cannot have processed them.
    in_flight: VecDeque<Option<usize>>,
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
pub fn run(ws: Link, shared: &Shared, inbox: &mut Inbox, config: &Config) -> SessionEnd {
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
    // Take the socket back from the callers before it is dropped; their
    // frames not entirely written join the link's, first.
    let back = shared.direct.revoke();
    s.take_back(back);
    s.settle();
    inbox.drop_pings(shared);
    // Messages not entirely written go back to the head of the queue, in
    // order, for the next connection (they stay counted as queued).
    let unsent = s.ws.take_unsent();
    debug_assert_eq!(unsent.len(), s.in_flight.len());
    let back: Vec<Message> = std::mem::take(&mut s.in_flight)
        .into_iter()
        .zip(unsent)
        .filter_map(|(len, (data, binary))| len.map(|_| from_data(data, binary)))
        .collect();
    for m in back.into_iter().rev() {
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
                            return self.poll_failed(&e);
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
            let writable = !self.blocked
                && (!inbox.outbox.is_empty() || self.ws.has_queued())
                && self.ws.can_write();
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
            // Idle with nothing of its own in the socket either way: lend
            // it to the callers (conn::direct), for reading too in pull mode.
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
                && !self.ws.has_queued()
            {
                let read = self.ws.read_idle() && self.shared.read_by_caller();
                let limits = (self.ws.compress_threshold(), self.config.frame_limit());
                self.lent = self.shared.direct.lend(fd, read, limits, || inbox.rx.is_empty());
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
            Err(e) => Err(self.poll_failed(&e)),
        }
    }

    /// `poll(2)` failed: fail the connection, with the socket taken back
    /// from the callers first if it is lent (the close frame is written
    /// after their frames, never between).
    fn poll_failed(&mut self, e: &std::io::Error) -> SessionEnd {
        if self.lent {
            let back = self.shared.direct.revoke();
            self.lent = false;
            self.take_back(back);
        }
        self.fail(ConnError::from_io("poll failed", e))
    }

    /// Take what callers left when the socket comes back from them: their
    /// frames not entirely written go to the link first (and in flight, to
    /// be counted once written), the bytes they read and did not consume
    /// to its decoder.
    fn take_back(&mut self, back: crate::conn::direct::Reclaimed) {
        let mut n = 0;
        for (_, _, len) in back.unsent.frames() {
            self.in_flight.push_back(Some(len as usize));
            n += 1;
        }
        debug_assert!(n == 0 || self.in_flight.len() == n);
        self.ws.take_back(back.unsent.frames().map(|(f, w, _)| (f, w)), &back.read);
        self.unacked += back.written;
        if back.bytes_read > 0 {
            self.heartbeat.handle_received(Instant::now());
        }
    }

    /// Let the link take frames of any size from us (they are bounded by
    /// the send queue), or only its own small control frames.
    fn room_for_us(&mut self, ours: bool) {
        self.ws.set_room(ours);
    }

    /// Account the data frames the socket took entirely since last time.
    fn settle(&mut self) {
        let done = self.ws.take_completed();
        let (mut n, mut bytes) = (0u64, 0u64);
        for _ in 0..done {
            if let Some(Some(len)) = self.in_flight.pop_front() {
                n += 1;
                bytes += len as u64;
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

    /// Hand queued messages to the link, start the close handshake when
    /// asked, and flush once.
    fn write(&mut self, inbox: &mut Inbox) -> Option<SessionEnd> {
        if let Some(end) = self.write_pings(inbox) {
            return Some(end);
        }
        if !self.blocked && self.ws.can_write() {
            self.room_for_us(true);
            let mut failed = None;
            while let Some(msg) = inbox.outbox.pop_front() {
                let len = msg.len();
                if !self.ws.room_for(len) {
                    inbox.outbox.push_front(msg);
                    break;
                }
                let (data, binary) = into_data(msg);
                // Queued now, whatever the write says.
                self.in_flight.push_back(Some(len));
                match self.ws.send_message(data, binary) {
                    Ok(()) => {}
                    // The socket is full.
                    Err(LinkError::WouldBlock) => {
                        self.blocked = true;
                        break;
                    }
                    Err(e) => {
                        failed = Some(e);
                        break;
                    }
                }
            }
            if failed.is_none() && !self.close_sent && inbox.outbox.is_empty() {
                if let Some((code, reason)) = &inbox.close_req {
                    log!(WS_LOG_DEBUG, self.shared.handle(), "sending close {code}");
                    // Code 0: a close frame without a body (the peer sees 1005).
                    let close = (*code != 0).then_some((*code, reason.as_str()));
                    match self.ws.send_close(close) {
                        Err(LinkError::WouldBlock) | Ok(()) => {}
                        Err(e) => failed = Some(e),
                    }
                    self.close_sent = true;
                }
            }
            self.room_for_us(false);
            if let Some(e) = failed {
                self.settle();
                return Some(self.end_for(e));
            }
        }
        let flushed = self.ws.flush();
        self.settle();
        match flushed {
            Ok(()) => self.blocked = false,
            Err(LinkError::WouldBlock) => self.blocked = true,
            Err(e) => return Some(self.end_for(e)),
        }
        if self.peer_close.is_some() && !self.blocked {
            let pc = self.peer_close.take();
            return Some(self.ended(pc));
        }
        None
    }

    /// The end of the session after a failed write or read: the peer's
    /// EOF ends it (cleanly after a close handshake), anything else fails it.
    fn end_for(&mut self, e: LinkError) -> SessionEnd {
        match e {
            LinkError::Closed => {
                let pc = self.peer_close.take();
                self.ended(pc)
            }
            e => self.fail(link_error(e)),
        }
    }

    /// Hand the pings of `ws_ping` to the link (flushed with the
    /// messages). None are sent once the close handshake has started.
    fn write_pings(&mut self, inbox: &mut Inbox) -> Option<SessionEnd> {
        while let Some(p) = inbox.pings.pop_front() {
            self.shared.pending_pings.fetch_sub(1, Ordering::SeqCst);
            if self.closing.requested() || self.close_sent || self.peer_close.is_some() {
                continue;
            }
            match self.ws.send_ping(&p) {
                Ok(()) => {}
                Err(LinkError::WouldBlock) => self.blocked = true,
                // No room beside our own frames: this ping is dropped.
                Err(LinkError::Full | LinkError::Closed) => continue,
                Err(e) => return Some(self.end_for(e)),
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
                Ok(Incoming::Message { data, binary }) => {
                    stats.messages_received.fetch_add(1, Ordering::Relaxed);
                    stats.bytes_received.fetch_add(data.len() as u64, Ordering::Relaxed);
                    self.shared.emit(Event::Message { data: data.into(), binary })
                }
                Ok(Incoming::Pong(p)) => {
                    let rtt =
                        self.heartbeat.handle_pong(&p, now).or_else(|| self.user_pong(&p, now));
                    let rtt_us = rtt.map_or(0, |rtt| rtt.as_micros() as u64);
                    if rtt.is_some() {
                        stats.last_rtt_us.store(rtt_us, Ordering::Relaxed);
                    }
                    self.shared.emit(Event::Pong { rtt_us, data: p.into() });
                }
                Ok(Incoming::Ping(p)) => {
                    if self.config.ping_events {
                        self.shared.emit(Event::Ping { data: p.into() });
                    }
                }
                Ok(Incoming::Close { code, reason }) => {
                    // A close from the peer, or its answer to ours. The link
                    // queues the echo; once it is out, both close frames are
                    // exchanged and the client may drop TCP (RFC 6455, 7.1.1).
                    let pc = (code, reason);
                    self.shared.set_state(WS_STATE_CLOSING);
                    match self.ws.flush() {
                        Err(LinkError::WouldBlock) => self.blocked = true,
                        _ => return (false, Some(self.ended(Some(pc)))),
                    }
                    self.peer_close = Some(pc);
                    self.closing.peer_closed(now);
                    more = false;
                    break;
                }
                Err(LinkError::WouldBlock) => {
                    more = false;
                    break;
                }
                Err(e) => return (false, Some(self.end_for(e))),
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
                    Some(text) if self.ws.room_for(text.len()) => {
                        self.in_flight.push_back(None);
                        self.ws.send_message(text.as_bytes().to_vec(), false)
                    }
                    Some(_) => Err(LinkError::Full),
                    None => self.ws.send_ping(&Heartbeat::payload(seq)),
                };
                let r = written.and_then(|()| self.ws.flush());
                self.settle();
                match r {
                    Err(LinkError::WouldBlock) => self.blocked = true,
                    // The socket is full of our own frames: the ping waits
                    // for the next interval, the verdict for the timeout.
                    Err(LinkError::Full) => {}
                    Err(e) => return Some(self.end_for(e)),
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
            if !self.close_sent {
                self.close_sent = true;
                let _ = self.ws.send_close(Some((code, "")));
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
