//! Bytes from the server in, messages out.

use super::{Deflate, Inflater, Utf8Check, WireError};
use std::io::{self, Cursor, Read};
use tungstenite::protocol::frame::{
    coding::{Control, Data, OpCode},
    FrameHeader,
};

/// What the server sent, as the worker handles it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    /// A whole data message (reassembled and inflated). Text is valid UTF-8.
    Message {
        /// The payload.
        data: Vec<u8>,
        /// Binary (opcode 2) or text (opcode 1).
        binary: bool,
    },
    /// A ping with its payload (at most 125 bytes): answer with a pong.
    Ping(Vec<u8>),
    /// A pong with its payload.
    Pong(Vec<u8>),
    /// The server's close: its code (1005 when the frame had no body) and
    /// reason. Nothing after it is read.
    Close {
        /// The close code.
        code: u16,
        /// The reason, valid UTF-8.
        reason: String,
    },
}

/// The data frame being read: its payload arrives piece by piece.
#[derive(Debug)]
struct Frame {
    left: u64,
    fin: bool,
}

/// The data message being assembled.
#[derive(Debug)]
struct Assembly {
    data: Vec<u8>,
    binary: bool,
    compressed: bool,
    utf8: Utf8Check,
}

/// The smallest read buffer: a whole control frame (14 + 125 bytes) fits.
const MIN_BUFFER: usize = 256;

/// Reads server frames and returns messages.
///
/// Drive it with [`read_from`](Self::read_from) and drain it as an
/// iterator: every item is an [`Incoming`] or the [`WireError`] that fails
/// the connection (after which it yields nothing more).
///
/// ```text
/// loop {
///     for item in &mut decoder { ... }          // everything that is complete
///     match decoder.read_from(&mut stream) {
///         Ok(0) => /* EOF */, Ok(_) => continue,
///         Err(e) if e.kind() == WouldBlock => break, Err(e) => /* failed */,
///     }
/// }
/// ```
///
/// The payload of a data frame is taken as it arrives, not once the frame
/// is whole: it goes straight onto the message (or through the inflater),
/// and UTF-8 and the size limit are checked at once. So the read buffer
/// only ever holds a frame header or a control frame, and is never
/// zero-filled again after it is made; nothing is allocated for a length
/// that the server merely announces.
#[derive(Debug)]
pub struct Decoder {
    buf: Vec<u8>,
    /// Unread bytes are `buf[pos..end]`.
    pos: usize,
    end: usize,
    limit: usize,
    /// Largest frame accepted (its announced length), compressed or not.
    frame_limit: u64,
    inflater: Option<Inflater>,
    frame: Option<Frame>,
    msg: Option<Assembly>,
    /// An error was returned or a close was read: nothing more comes out.
    done: bool,
}

impl Decoder {
    /// A decoder with a read buffer of `read_buffer` bytes (at least 256),
    /// messages of at most `max_message` bytes (inflated), and the
    /// negotiated permessage-deflate if any.
    pub fn new(read_buffer: usize, max_message: usize, deflate: Option<&Deflate>) -> Self {
        Decoder {
            buf: vec![0; read_buffer.max(MIN_BUFFER)],
            pos: 0,
            end: 0,
            limit: max_message,
            frame_limit: u64::MAX,
            inflater: deflate
                .map(|d| Inflater::new(d.server_max_window_bits, d.server_no_context_takeover)),
            frame: None,
            msg: None,
            done: false,
        }
    }

    /// Refuse data frames that announce more than `bytes` (1009), before
    /// any of their payload is read. Without it, only the message limit
    /// applies.
    pub fn set_frame_limit(&mut self, bytes: usize) {
        self.frame_limit = bytes as u64;
    }

    /// One `read` from `r` into the buffer: what `r.read` returned (`Ok(0)`
    /// is EOF). Drain the decoder first: its buffer then has room.
    pub fn read_from(&mut self, r: &mut impl Read) -> io::Result<usize> {
        self.make_room();
        let n = r.read(&mut self.buf[self.end..])?;
        self.end += n;
        Ok(n)
    }

    /// Take `bytes` as read from the server (tests, fuzzing).
    pub fn feed(&mut self, bytes: &[u8]) {
        self.make_room();
        if self.buf.len() - self.end < bytes.len() {
            self.buf.resize(self.end + bytes.len(), 0);
        }
        self.buf[self.end..self.end + bytes.len()].copy_from_slice(bytes);
        self.end += bytes.len();
    }

    /// Bytes read and not yet taken (a partial header or control frame).
    pub fn buffered(&self) -> usize {
        self.end - self.pos
    }

    /// Whether a data message is being assembled.
    pub fn in_message(&self) -> bool {
        self.msg.is_some()
    }

    /// Move what is unread to the front, so the rest of the buffer is free.
    fn make_room(&mut self) {
        if self.pos == self.end {
            (self.pos, self.end) = (0, 0);
        } else if self.pos > 0 {
            self.buf.copy_within(self.pos..self.end, 0);
            (self.end, self.pos) = (self.end - self.pos, 0);
        }
        if self.end == self.buf.len() {
            // Only when fed or read without draining: grow, never lose bytes.
            let len = self.buf.len();
            self.buf.resize(len * 2, 0);
        }
    }

    fn step(&mut self) -> Result<Option<Incoming>, WireError> {
        loop {
            if let Some(frame) = &mut self.frame {
                // Payload of a data frame, as much as is here.
                let take = frame.left.min((self.end - self.pos) as u64) as usize;
                let fin = frame.fin;
                frame.left -= take as u64;
                let left = frame.left;
                let msg = self.msg.as_mut().expect("a data frame belongs to a message");
                let bytes = &self.buf[self.pos..self.pos + take];
                self.pos += take;
                if msg.compressed {
                    let inflater = self.inflater.as_mut().expect("RSV1 only with deflate");
                    inflater.inflate(bytes, &mut msg.data, self.limit)?;
                } else {
                    msg.data.extend_from_slice(bytes);
                }
                if !msg.binary {
                    msg.utf8.advance(&msg.data).map_err(|_| invalid_utf8())?;
                }
                if left > 0 {
                    return Ok(None);
                }
                self.frame = None;
                if fin {
                    let mut msg = self.msg.take().expect("checked");
                    if msg.compressed {
                        let inflater = self.inflater.as_mut().expect("RSV1 only with deflate");
                        inflater.finish(&mut msg.data, self.limit)?;
                    }
                    if !msg.binary {
                        msg.utf8.finish(&msg.data).map_err(|_| invalid_utf8())?;
                    }
                    return Ok(Some(Incoming::Message { data: msg.data, binary: msg.binary }));
                }
                continue;
            }

            let mut cursor = Cursor::new(&self.buf[self.pos..self.end]);
            let (header, len) = match FrameHeader::parse(&mut cursor) {
                Ok(Some(h)) => h,
                Ok(None) => return Ok(None),
                Err(e) => return Err(WireError::protocol(format!("bad frame: {e}"))),
            };
            let header_len = cursor.position() as usize;
            if header.mask.is_some() {
                return Err(WireError::protocol("the server masked a frame (RFC 6455, 5.1)"));
            }
            if header.rsv2 || header.rsv3 {
                return Err(WireError::protocol("a frame has RSV2 or RSV3 set"));
            }
            if len > i64::MAX as u64 {
                return Err(WireError::protocol(
                    "a frame length has its most significant bit set (RFC 6455, 5.2)",
                ));
            }
            match header.opcode {
                OpCode::Control(c) => {
                    if header.rsv1 {
                        return Err(WireError::protocol("a control frame has RSV1 set"));
                    }
                    if len > 125 {
                        return Err(WireError::protocol(
                            "a control frame is longer than 125 bytes",
                        ));
                    }
                    if !header.is_final {
                        return Err(WireError::protocol("a control frame is fragmented"));
                    }
                    let total = header_len + len as usize;
                    if self.end - self.pos < total {
                        return Ok(None); // whole control frames only
                    }
                    let payload = self.buf[self.pos + header_len..self.pos + total].to_vec();
                    self.pos += total;
                    return match c {
                        Control::Ping => Ok(Some(Incoming::Ping(payload))),
                        Control::Pong => Ok(Some(Incoming::Pong(payload))),
                        Control::Close => {
                            let (code, reason) = close_body(&payload)?;
                            self.done = true;
                            Ok(Some(Incoming::Close { code, reason }))
                        }
                        Control::Reserved(op) => Err(bad_opcode(op)),
                    };
                }
                OpCode::Data(d) => {
                    match (d, &self.msg) {
                        (Data::Continue, None) => {
                            return Err(WireError::protocol(
                                "a continuation frame with no message to continue",
                            ))
                        }
                        (Data::Continue, Some(_)) if header.rsv1 => {
                            return Err(WireError::protocol("a continuation frame has RSV1 set"))
                        }
                        (Data::Continue, Some(_)) => {}
                        (Data::Text | Data::Binary, Some(_)) => {
                            return Err(WireError::protocol(
                                "a new data message started before the last one ended",
                            ))
                        }
                        (Data::Text | Data::Binary, None) => {
                            if header.rsv1 && self.inflater.is_none() {
                                return Err(WireError::protocol(
                                    "a frame has RSV1 set, and no extension was negotiated",
                                ));
                            }
                            self.msg = Some(Assembly {
                                data: Vec::new(),
                                binary: d == Data::Binary,
                                compressed: header.rsv1,
                                utf8: Utf8Check::new(),
                            });
                        }
                        (Data::Reserved(op), _) => return Err(bad_opcode(op)),
                    }
                    if len > self.frame_limit {
                        return Err(WireError {
                            code: super::CLOSE_TOO_BIG,
                            message: format!(
                                "a frame of {len} bytes is over the frame limit of {} bytes",
                                self.frame_limit
                            ),
                        });
                    }
                    let msg = self.msg.as_ref().expect("set above");
                    // Uncompressed, the size is known now: fail before the bytes come.
                    if !msg.compressed
                        && (msg.data.len() as u64).saturating_add(len) > self.limit as u64
                    {
                        return Err(WireError::too_big(self.limit));
                    }
                    self.pos += header_len;
                    self.frame = Some(Frame { left: len, fin: header.is_final });
                }
            }
        }
    }
}

impl Iterator for Decoder {
    type Item = Result<Incoming, WireError>;

    /// The next complete message or control frame, an error (then `None`
    /// for ever), or `None` when more bytes are needed.
    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.step() {
            Ok(item) => item.map(Ok),
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

fn invalid_utf8() -> WireError {
    WireError::invalid_data("a text message is not valid UTF-8")
}

fn bad_opcode(op: u8) -> WireError {
    WireError::protocol(format!("a frame has the reserved opcode {op}"))
}

/// The code and reason of a close frame's body (RFC 6455, 5.5.1 and 7.4).
fn close_body(payload: &[u8]) -> Result<(u16, String), WireError> {
    match payload {
        [] => Ok((1005, String::new())),
        [_] => Err(WireError::protocol("a close frame has a body of one byte")),
        [a, b, reason @ ..] => {
            let code = u16::from_be_bytes([*a, *b]);
            if !close_code_allowed(code) {
                return Err(WireError::protocol(format!(
                    "the close code {code} may not be sent (RFC 6455, 7.4)"
                )));
            }
            let reason = std::str::from_utf8(reason)
                .map_err(|_| WireError::invalid_data("a close reason is not valid UTF-8"))?;
            Ok((code, reason.to_string()))
        }
    }
}

/// Codes a peer may put in a close frame: those RFC 6455 defines for that
/// (not 1004-1006, 1015), the IANA-registered 1012-1014, and the ranges
/// for libraries (3000-3999) and applications (4000-4999).
pub fn close_code_allowed(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}
