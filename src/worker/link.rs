//! An open WebSocket over a [`Stream`]: the message layer of `crate::wire`
//! (our frame parsing, reassembly, permessage-deflate, UTF-8 checks and
//! masking) driven over the nonblocking socket. tungstenite only did the
//! HTTP upgrade.
//!
//! It answers pings and the server's close by itself, as RFC 6455 asks; the
//! session decides everything else.

use super::transport::Stream;
use crate::wire::{Decoder, Deflate, Encoder, Incoming, WireError};
use std::io;

/// Bytes of frames collected before they are written: a write call then
/// carries many small messages at once.
const WRITE_BUFFER: usize = 128 << 10;
/// Room for the frames the link queues by itself (pongs, the close echo)
/// and for pings: when the server does not read, a ping flood cannot grow
/// the queue past this; further pongs are dropped until it drains.
pub(crate) const CONTROL_ROOM: usize = 256 << 10;

/// Why a call did not do all it was asked.
#[derive(Debug)]
pub enum LinkError {
    /// The socket cannot take or give more now: wait for poll. For a
    /// write, what was asked is queued.
    WouldBlock,
    /// No room for a data frame (see [`Link::set_room`]): not queued.
    Full,
    /// The peer closed TCP (EOF), or writes are over.
    Closed,
    /// The socket failed.
    Io(io::Error),
    /// The server broke the protocol: fail with its close code.
    Wire(WireError),
}

impl From<io::Error> for LinkError {
    fn from(e: io::Error) -> Self {
        match e.kind() {
            io::ErrorKind::WouldBlock => LinkError::WouldBlock,
            _ => LinkError::Io(e),
        }
    }
}

/// The socket of an open connection with its message layer.
pub struct Link {
    stream: Stream,
    decoder: Decoder,
    encoder: Encoder,
    /// Most bytes of queued frames a data message may be added to.
    room: usize,
    close_sent: bool,
    close_received: bool,
    /// The agreed extensions, as `ws_extensions` shows them.
    extensions: String,
}

impl Link {
    /// A link over `stream`, whose upgrade left `tail` (frames that came
    /// with the 101) unread, with the agreed permessage-deflate; `limits`
    /// are the read buffer size, the message and the frame size limits.
    pub fn new(
        stream: Stream,
        tail: &[u8],
        limits: (usize, usize, usize),
        deflate: Option<&Deflate>,
        seed: u64,
    ) -> Link {
        let (read_buffer, max_message, max_frame) = limits;
        let mut decoder = Decoder::new(read_buffer, max_message, deflate);
        decoder.set_frame_limit(max_frame);
        if !tail.is_empty() {
            decoder.feed(tail);
        }
        Link {
            stream,
            decoder,
            encoder: Encoder::new(deflate, seed),
            room: CONTROL_ROOM,
            close_sent: false,
            close_received: false,
            extensions: deflate.map(Deflate::extension_string).unwrap_or_default(),
        }
    }

    /// The socket.
    pub fn get_ref(&self) -> &Stream {
        &self.stream
    }

    /// The agreed extensions ("" for none).
    pub fn extensions(&self) -> &str {
        &self.extensions
    }

    /// Whether data and pings may still be written: not once a close frame
    /// went either way.
    pub fn can_write(&self) -> bool {
        !self.close_sent && !self.close_received
    }

    /// Let data messages fill the queue up to `room` bytes (they are
    /// bounded by the send queue), or only up to [`CONTROL_ROOM`].
    pub fn set_room(&mut self, ours: bool) {
        self.room = if ours { usize::MAX } else { CONTROL_ROOM };
    }

    /// Whether a data message of `len` bytes may be queued now (see
    /// [`set_room`](Self::set_room)); writes must be open.
    pub fn room_for(&self, len: usize) -> bool {
        self.can_write() && self.encoder.queued_bytes().saturating_add(len) <= self.room
    }

    /// Queue a data message (its buffer becomes the frame: masked in
    /// place, or compressed), and write once enough is collected. Call it
    /// only when [`room_for`](Self::room_for) says so. `WouldBlock`: queued,
    /// and the socket is full; any error: queued and not entirely written
    /// ([`take_unsent`](Self::take_unsent) gives it back).
    pub fn send_message(&mut self, data: Vec<u8>, binary: bool) -> Result<(), LinkError> {
        debug_assert!(self.can_write());
        self.encoder.push_message(data, binary);
        self.write_if_full()
    }

    /// The data messages queued and not entirely written, in order, as they
    /// were given (the connection ended: they go to the next one).
    pub fn take_unsent(&mut self) -> Vec<(Vec<u8>, bool)> {
        self.encoder.take_unsent()
    }

    /// Queue a ping. `Full`: no room beside the queued frames.
    pub fn send_ping(&mut self, payload: &[u8]) -> Result<(), LinkError> {
        if !self.can_write() {
            return Err(LinkError::Closed);
        }
        if self.encoder.queued_bytes() > CONTROL_ROOM {
            return Err(LinkError::Full);
        }
        self.encoder.push_ping(payload.to_vec());
        self.write_if_full()
    }

    /// Queue our close frame (with no body when `close` is `None`); nothing
    /// but the answer to a ping goes out after it.
    pub fn send_close(&mut self, close: Option<(u16, &str)>) -> Result<(), LinkError> {
        if self.close_sent {
            return Ok(());
        }
        self.close_sent = true;
        self.encoder.push_close(close);
        self.flush()
    }

    fn write_if_full(&mut self) -> Result<(), LinkError> {
        if self.encoder.queued_bytes() >= WRITE_BUFFER {
            self.flush()
        } else {
            Ok(())
        }
    }

    /// Write what is queued. `WouldBlock`: some is left; call again when
    /// the socket is writable.
    pub fn flush(&mut self) -> Result<(), LinkError> {
        match self.encoder.flush_to(&mut self.stream) {
            Ok(true) => Ok(()),
            Ok(false) => Err(LinkError::WouldBlock),
            Err(e) if matches!(e.kind(), io::ErrorKind::BrokenPipe | io::ErrorKind::WriteZero) => {
                Err(LinkError::Io(e))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Whether the decoder holds no part of a frame or of a message: a
    /// caller may read the socket (`conn::direct`).
    pub fn read_idle(&self) -> bool {
        self.decoder.buffered() == 0 && !self.decoder.in_message() && !self.close_received
    }

    /// The size from which data messages are compressed (`usize::MAX`: not
    /// compressed); smaller ones may be framed by a caller.
    pub fn compress_threshold(&self) -> usize {
        self.encoder.threshold()
    }

    /// Take back what callers left when they had the socket: frames to
    /// write before anything else (see `Encoder::push_framed`), and bytes
    /// read and not consumed, decoded before the socket is read again.
    pub fn take_back<'a>(
        &mut self,
        frames: impl IntoIterator<Item = (&'a [u8], usize)>,
        read: &[u8],
    ) {
        for (frame, written) in frames {
            self.encoder.push_framed(frame, written);
        }
        if !read.is_empty() {
            self.decoder.feed(read);
        }
    }

    /// Whether anything is queued and not yet written.
    pub fn has_queued(&self) -> bool {
        !self.encoder.is_empty()
    }

    /// Data messages entirely written since the last call, in order.
    pub fn take_completed(&mut self) -> u64 {
        self.encoder.take_completed()
    }

    /// The next message or control frame from the server. A ping is
    /// answered (the pong is queued) before it is returned; the server's
    /// close is echoed unless ours went first. After the close, bytes are
    /// read and dropped until EOF. `WouldBlock`: nothing complete yet.
    pub fn read(&mut self) -> Result<Incoming, LinkError> {
        loop {
            if let Some(item) = self.decoder.next() {
                let item = item.map_err(LinkError::Wire)?;
                match &item {
                    // A flood from a server that does not read: no pong
                    // is queued past the room (the pings after the queue
                    // drains are answered, as after any silence).
                    Incoming::Ping(p)
                        if !self.close_sent && self.encoder.queued_bytes() <= CONTROL_ROOM =>
                    {
                        self.encoder.push_pong(p.clone());
                    }
                    Incoming::Close { code, reason } => {
                        self.close_received = true;
                        if !self.close_sent {
                            self.close_sent = true;
                            // Echo the code (RFC 6455, 5.5.1); 1005 means no body.
                            let echo = (*code != 1005).then_some((*code, reason.as_str()));
                            self.encoder.push_close(echo);
                        }
                    }
                    _ => {}
                }
                return Ok(item);
            }
            if self.close_received {
                // Frames after the close are dropped (RFC 6455, 5.5.1).
                let mut sink = [0u8; 4096];
                return match io::Read::read(&mut self.stream, &mut sink) {
                    Ok(0) => Err(LinkError::Closed),
                    Ok(_) => continue,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => Err(e.into()),
                };
            }
            match self.decoder.read_from(&mut self.stream) {
                Ok(0) => return Err(LinkError::Closed),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
}
