//! One live socket: write what is queued and flush once, read until the
//! socket would block, then sleep in `poll(2)` until the socket, the wake-up
//! pipe or the next deadline.

use super::{transport::wait, transport::Stream, Closed, Inbox};
use crate::{
    client::{ws_ready_state::WS_STATE_CLOSING, Shared},
    config::Config,
    error::ConnError,
    event::Event,
};
use std::{io, sync::atomic::Ordering, time::Instant};
use tungstenite::{
    protocol::{frame::coding::CloseCode, CloseFrame},
    Error as WsError, Message, WebSocket,
};

/// Messages read per wake-up before the worker looks at its commands again.
const READ_BATCH: usize = 256;

fn would_block(e: &WsError) -> bool {
    matches!(e, WsError::Io(io) if io.kind() == io::ErrorKind::WouldBlock)
}

/// Run the session until the connection ends.
pub fn run(
    mut ws: WebSocket<Stream>,
    shared: &Shared,
    inbox: &mut Inbox,
    config: &Config,
) -> Closed {
    let fd = ws.get_ref().fd();
    // Messages and bytes handed to tungstenite since the last full flush.
    let mut unflushed = (0u64, 0u64);
    // The socket refused bytes: wait for POLLOUT before writing more.
    let mut blocked = false;
    let mut close_sent = false;
    let mut deadline: Option<Instant> = None;
    let mut peer_close: Option<(u16, String)> = None;

    loop {
        inbox.drain(shared);

        if !blocked && ws.can_write() {
            // Hand every queued message to tungstenite; the flush below
            // decides whether the socket is blocked.
            while let Some(msg) = inbox.outbox.pop_front() {
                let len = msg.len() as u64;
                match ws.write(msg) {
                    Ok(()) => unflushed = (unflushed.0 + 1, unflushed.1 + len),
                    // The frame is buffered; the socket is full.
                    Err(e) if would_block(&e) => {
                        unflushed = (unflushed.0 + 1, unflushed.1 + len);
                        break;
                    }
                    Err(WsError::WriteBufferFull(m)) => {
                        inbox.outbox.push_front(*m);
                        break;
                    }
                    Err(e) => return fail(&mut ws, shared, ConnError::from_ws(e)),
                }
            }
        }

        if !close_sent && inbox.outbox.is_empty() {
            if let Some((code, reason)) = &inbox.close_req {
                shared.set_state(WS_STATE_CLOSING);
                if ws.can_write() {
                    let frame =
                        CloseFrame { code: CloseCode::from(*code), reason: reason.as_str().into() };
                    match ws.close(Some(frame)) {
                        Err(e) if !would_block(&e) => {
                            return fail(&mut ws, shared, ConnError::from_ws(e))
                        }
                        _ => {}
                    }
                }
                close_sent = true;
                deadline.get_or_insert(Instant::now() + config.close_timeout);
            }
        }

        match ws.flush() {
            Ok(()) => {
                blocked = false;
                if unflushed.0 > 0 {
                    shared.buffered_messages.fetch_sub(unflushed.0, Ordering::SeqCst);
                    shared.buffered_bytes.fetch_sub(unflushed.1, Ordering::SeqCst);
                    unflushed = (0, 0);
                }
            }
            Err(e) if would_block(&e) => blocked = true,
            Err(WsError::ConnectionClosed | WsError::AlreadyClosed) => return ended(peer_close),
            Err(e) => return fail(&mut ws, shared, ConnError::from_ws(e)),
        }
        if peer_close.is_some() && !blocked {
            return ended(peer_close);
        }

        let mut more = true;
        for _ in 0..READ_BATCH {
            match ws.read() {
                Ok(Message::Text(t)) => {
                    shared.emit(Event::Message { data: t.into(), binary: false })
                }
                Ok(Message::Binary(b)) => shared.emit(Event::Message { data: b, binary: true }),
                Ok(Message::Close(frame)) => {
                    // A close from the peer, or its answer to ours. tungstenite
                    // queues the echo; it goes out with the next flush.
                    let (code, reason) = frame
                        .map_or((1005, String::new()), |f| (f.code.into(), f.reason.to_string()));
                    peer_close = Some((code, reason));
                    shared.set_state(WS_STATE_CLOSING);
                    // Both close frames are exchanged once the echo is out;
                    // then the client may drop TCP (RFC 6455, 7.1.1).
                    match ws.flush() {
                        Err(e) if would_block(&e) => blocked = true,
                        _ => return ended(peer_close),
                    }
                    deadline.get_or_insert(Instant::now() + config.close_timeout);
                    more = false;
                    break;
                }
                Ok(_) => {}
                Err(e) if would_block(&e) => {
                    more = false;
                    break;
                }
                Err(WsError::ConnectionClosed | WsError::AlreadyClosed) => {
                    return ended(peer_close)
                }
                Err(e) => return fail(&mut ws, shared, ConnError::from_ws(e)),
            }
        }

        if deadline.is_some_and(|d| Instant::now() >= d) {
            return match peer_close {
                Some(_) => ended(peer_close),
                None => Closed::abnormal("the server did not answer the close handshake in time"),
            };
        }

        // With messages left unread (TLS may hold decrypted bytes poll cannot
        // see), only look at the pipe and come straight back.
        let events = libc::POLLIN | if blocked { libc::POLLOUT } else { 0 };
        // Messages still queued after a flush that completed: write them now.
        let writable = !blocked && !inbox.outbox.is_empty() && ws.can_write();
        let until = if more || writable { Some(Instant::now()) } else { deadline };
        if let Err(e) = wait(fd, events, shared.waker.fd(), until) {
            return fail(&mut ws, shared, ConnError::from_io("poll failed", &e));
        }
    }
}

/// The connection ended after (or without) the peer's close frame.
fn ended(peer_close: Option<(u16, String)>) -> Closed {
    match peer_close {
        Some((code, reason)) => Closed { code, reason, clean: true },
        None => Closed::abnormal(""),
    }
}

/// Fail the connection: send the close code the error calls for, report the
/// error, and drop the socket.
fn fail(ws: &mut WebSocket<Stream>, shared: &Shared, err: ConnError) -> Closed {
    if let Some(code) = err.close_code {
        if ws.can_write() {
            let _ = ws.close(Some(CloseFrame { code: CloseCode::from(code), reason: "".into() }));
            let _ = ws.flush();
        }
    }
    shared.emit(Event::error(&err));
    Closed::abnormal("")
}
