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
    /// Compressed bytes have come (see the end of a message in `step`).
    inflated_any: bool,
    utf8: Utf8Check,
}

/// The read buffer's size at first (it grows up to the configured size).
const FIRST_BUFFER: usize = 16 << 10;

/// Most of an announced frame reserved when its header arrives.
const RESERVE_AHEAD: usize = 4 << 20;

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
    /// The size `buf` may grow to by reads.
    max_buf: usize,
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
        let max_buf = read_buffer.max(MIN_BUFFER);
        Decoder {
            // Small at first: it grows to `read_buffer` only on a connection
            // whose reads fill it (an idle or chatty one stays small).
            buf: vec![0; max_buf.min(FIRST_BUFFER)],
            max_buf,
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
        let room = self.buf.len() - self.end;
        let n = r.read(&mut self.buf[self.end..])?;
        self.end += n;
        if n == room && self.buf.len() < self.max_buf {
            // The read filled the buffer: more is likely waiting.
            let len = (self.buf.len() * 2).min(self.max_buf);
            self.buf.resize(len, 0);
        }
        Ok(n)
    }

    /// Take `bytes` as read from the server (what came with the 101, what a
    /// caller read on the fast path and did not consume, tests, fuzzing).
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
        if self.done {
            // After a close or an error nothing more is taken: drop what
            // comes instead of growing the buffer for it.
            (self.pos, self.end) = (0, 0);
        }
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
                    msg.inflated_any |= take > 0;
                } else {
                    // Grow by doubling, but never past the limit: the
                    // header check made sure the message fits in it.
                    let need = msg.data.len() + take;
                    if need > msg.data.capacity() {
                        let cap = (msg.data.capacity() * 2).clamp(need, self.limit.max(need));
                        msg.data.reserve_exact(cap - msg.data.len());
                    }
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
                    // An empty payload is no deflate data at all (a
                    // compressor always leaves the byte that starts the
                    // stripped block, RFC 7692 7.2.1): the empty message.
                    // Appending the tail to nothing would start a stored
                    // block of 0xff00 bytes, and the next messages would
                    // be read as its contents.
                    if msg.compressed && msg.inflated_any {
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
                                inflated_any: false,
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
                    if !msg.compressed {
                        // The frame's payload, up to a bound: one allocation
                        // instead of a copy at every doubling. Only address
                        // space until the bytes come (a header that lies
                        // costs no resident memory).
                        let want = (len as usize).min(RESERVE_AHEAD);
                        let msg = self.msg.as_mut().expect("set above");
                        if msg.data.capacity() - msg.data.len() < want {
                            msg.data.reserve_exact(want);
                        }
                    }
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

#[cfg(test)]
mod tests {
    //! Server frames built by hand (unmasked, as a server sends them), fed
    //! whole, in pieces and byte by byte.

    use super::*;
    use crate::wire::{Deflater, CLOSE_INVALID_DATA, CLOSE_PROTOCOL, CLOSE_TOO_BIG};

    const FIN: u8 = 0x80;
    const RSV1: u8 = 0x40;
    const RSV2: u8 = 0x20;
    const RSV3: u8 = 0x10;
    const CONT: u8 = 0x0;
    const TEXT: u8 = 0x1;
    const BINARY: u8 = 0x2;
    const CLOSE: u8 = 0x8;
    const PING: u8 = 0x9;
    const PONG: u8 = 0xA;

    /// A server frame: `first` is the first byte (FIN, RSV bits, opcode),
    /// the length in the shortest form, no mask.
    fn frame(first: u8, payload: &[u8]) -> Vec<u8> {
        let mut out = vec![first];
        push_len(&mut out, payload.len() as u64, 0);
        out.extend_from_slice(payload);
        out
    }

    /// Only a header, announcing `len` bytes that do not follow.
    fn header(first: u8, len: u64) -> Vec<u8> {
        let mut out = vec![first];
        push_len(&mut out, len, 0);
        out
    }

    fn push_len(out: &mut Vec<u8>, len: u64, mask_bit: u8) {
        match len {
            0..=125 => out.push(mask_bit | len as u8),
            126..=0xffff => {
                out.push(mask_bit | 126);
                out.extend_from_slice(&(len as u16).to_be_bytes());
            }
            _ => {
                out.push(mask_bit | 127);
                out.extend_from_slice(&len.to_be_bytes());
            }
        }
    }

    /// A frame masked as only a client may send it.
    fn masked(first: u8, payload: &[u8], mask: [u8; 4]) -> Vec<u8> {
        let mut out = vec![first];
        push_len(&mut out, payload.len() as u64, 0x80);
        out.extend_from_slice(&mask);
        out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i & 3]));
        out
    }

    fn close_frame(code: u16, reason: &[u8]) -> Vec<u8> {
        let mut body = code.to_be_bytes().to_vec();
        body.extend_from_slice(reason);
        frame(FIN | CLOSE, &body)
    }

    fn deflate(server_no_context_takeover: bool) -> Deflate {
        Deflate {
            server_no_context_takeover,
            client_no_context_takeover: false,
            server_max_window_bits: 15,
            client_max_window_bits: 15,
            threshold: 0,
            level: 6,
        }
    }

    fn plain() -> Decoder {
        Decoder::new(4096, 1 << 20, None)
    }

    fn with_deflate() -> Decoder {
        Decoder::new(4096, 1 << 20, Some(&deflate(false)))
    }

    /// Everything complete so far.
    fn drain(d: &mut Decoder) -> Vec<Result<Incoming, WireError>> {
        d.collect()
    }

    fn feed_all(d: &mut Decoder, bytes: &[u8]) -> Vec<Result<Incoming, WireError>> {
        d.feed(bytes);
        drain(d)
    }

    /// Fed one byte at a time, drained after each.
    fn feed_bytewise(d: &mut Decoder, bytes: &[u8]) -> Vec<Result<Incoming, WireError>> {
        let mut out = Vec::new();
        for b in bytes {
            d.feed(std::slice::from_ref(b));
            out.extend(drain(d));
        }
        out
    }

    /// The close code of the error `bytes` end with (nothing else came out).
    fn error_code(d: &mut Decoder, bytes: &[u8]) -> u16 {
        let items = feed_all(d, bytes);
        match &items[..] {
            [.., Err(e)] => {
                assert!(d.next().is_none(), "nothing after an error");
                e.code
            }
            _ => panic!("no error: {items:?}"),
        }
    }

    fn text(s: &str) -> Result<Incoming, WireError> {
        Ok(Incoming::Message { data: s.as_bytes().to_vec(), binary: false })
    }

    fn binary(b: &[u8]) -> Result<Incoming, WireError> {
        Ok(Incoming::Message { data: b.to_vec(), binary: true })
    }

    /// The compressed form of `data` as a server sends it: the sync-flush
    /// tail stripped (by `Deflater` itself; RFC 7692, 7.2.1).
    fn compress(d: &mut Deflater, data: &[u8]) -> Vec<u8> {
        let z = d.compress(data);
        assert!(!z.ends_with(&[0, 0, 0xff, 0xff]));
        z
    }

    #[test]
    fn text_and_binary_fed_whole_and_byte_by_byte() {
        let mut bytes = frame(FIN | TEXT, "héllo ☃".as_bytes());
        bytes.extend(frame(FIN | BINARY, &[0, 1, 2, 0xff, 0xfe]));
        bytes.extend(frame(FIN | TEXT, b""));
        bytes.extend(frame(FIN | BINARY, b""));
        let expected = vec![text("héllo ☃"), binary(&[0, 1, 2, 0xff, 0xfe]), text(""), binary(b"")];
        let mut d = plain();
        assert_eq!(feed_all(&mut d, &bytes), expected);
        assert_eq!(d.buffered(), 0);
        assert!(!d.in_message());
        let mut d = plain();
        assert_eq!(feed_bytewise(&mut d, &bytes), expected);
        assert_eq!(d.buffered(), 0);
    }

    #[test]
    fn three_fragments_with_a_ping_and_a_pong_between() {
        let mut bytes = frame(TEXT, b"Hel");
        bytes.extend(frame(FIN | PING, b"ping"));
        bytes.extend(frame(CONT, b"lo, "));
        bytes.extend(frame(FIN | PONG, b"pong"));
        bytes.extend(frame(FIN | CONT, b"world"));
        bytes.extend(frame(FIN | PING, b""));
        let expected = vec![
            Ok(Incoming::Ping(b"ping".to_vec())),
            Ok(Incoming::Pong(b"pong".to_vec())),
            text("Hello, world"),
            Ok(Incoming::Ping(Vec::new())),
        ];
        assert_eq!(feed_all(&mut plain(), &bytes), expected);
        assert_eq!(feed_bytewise(&mut plain(), &bytes), expected);

        // The message is in progress between the fragments.
        let mut d = plain();
        assert_eq!(feed_all(&mut d, &frame(BINARY, b"a")), []);
        assert!(d.in_message());
        assert_eq!(feed_all(&mut d, &frame(FIN | PING, b"x")), [Ok(Incoming::Ping(b"x".to_vec()))]);
        assert!(d.in_message());
        assert_eq!(feed_all(&mut d, &frame(FIN | CONT, b"b")), [binary(b"ab")]);
        assert!(!d.in_message());
    }

    #[test]
    fn lengths_of_7_16_and_64_bits() {
        for len in [0usize, 1, 125, 126, 127, 1000, 0xffff, 0x1_0000, 70_000] {
            let payload: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
            let bytes = frame(FIN | BINARY, &payload);
            let header_len = bytes.len() - len;
            let want = match len {
                0..=125 => 2,
                126..=0xffff => 4,
                _ => 10,
            };
            assert_eq!(header_len, want, "{len}");
            assert_eq!(feed_all(&mut plain(), &bytes), [binary(&payload)], "{len}");
        }
        // A length in a longer form than needed is still a length.
        let mut bytes = vec![FIN | TEXT, 127];
        bytes.extend_from_slice(&3u64.to_be_bytes());
        bytes.extend_from_slice(b"abc");
        assert_eq!(feed_all(&mut plain(), &bytes), [text("abc")]);
    }

    #[test]
    fn a_frame_split_at_every_point_of_its_header() {
        let cases: Vec<Vec<u8>> = vec![
            frame(FIN | TEXT, b"short"),
            frame(FIN | TEXT, &[b'x'; 300]),
            frame(FIN | BINARY, &[7; 70_000]),
            frame(FIN | PING, &[1; 125]),
            close_frame(1000, b"bye"),
        ];
        for bytes in &cases {
            let whole = feed_all(&mut plain(), bytes);
            assert_eq!(whole.len(), 1);
            assert!(whole[0].is_ok());
            // Every split in the header and the first payload bytes, and
            // for the short frames every split at all.
            let splits = if bytes.len() < 400 { bytes.len() } else { 20 };
            for split in 0..=splits {
                let mut d = plain();
                let first = feed_all(&mut d, &bytes[..split]);
                if split < bytes.len() {
                    assert_eq!(first, [], "split {split}");
                }
                let mut got = first;
                got.extend(feed_all(&mut d, &bytes[split..]));
                assert_eq!(got, whole, "split {split}");
            }
            // And in three pieces around the header's end.
            for a in 1..14.min(bytes.len()) {
                let mut d = plain();
                let mut got = feed_all(&mut d, &bytes[..a]);
                got.extend(feed_all(&mut d, &bytes[a..a + 1]));
                got.extend(feed_all(&mut d, &bytes[a + 1..]));
                assert_eq!(got, whole, "pieces at {a}");
            }
        }
    }

    #[test]
    fn read_from_a_reader_that_gives_little_at_a_time() {
        /// Gives at most `step` bytes a read, and WouldBlock every other call.
        struct Trickle {
            data: Vec<u8>,
            pos: usize,
            step: usize,
            calls: usize,
        }
        impl Read for Trickle {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                self.calls += 1;
                if self.calls % 2 == 0 {
                    return Err(io::ErrorKind::WouldBlock.into());
                }
                let n = self.step.min(buf.len()).min(self.data.len() - self.pos);
                buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
                self.pos += n;
                Ok(n)
            }
        }
        let mut bytes = frame(TEXT, "κόσμε".as_bytes());
        bytes.extend(frame(FIN | PING, &[9; 125]));
        bytes.extend(frame(FIN | CONT, &[b'z'; 5000]));
        bytes.extend(close_frame(1000, b""));
        let mut want = "κόσμε".to_string();
        want.push_str(&"z".repeat(5000));
        for step in [1, 3, 100, 1000, 100_000] {
            let mut r = Trickle { data: bytes.clone(), pos: 0, step, calls: 0 };
            let mut d = Decoder::new(0, 1 << 20, None);
            let mut got = Vec::new();
            loop {
                got.extend(drain(&mut d));
                match d.read_from(&mut r) {
                    Ok(0) => break,
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) => panic!("{e}"),
                }
                // Drained each time, the buffer never grows past its size.
                assert_eq!(d.buf.len(), MIN_BUFFER, "step {step}");
            }
            assert_eq!(
                got,
                [
                    Ok(Incoming::Ping(vec![9; 125])),
                    text(&want),
                    Ok(Incoming::Close { code: 1000, reason: String::new() }),
                ],
                "step {step}"
            );
        }
    }

    #[test]
    fn reading_on_after_a_close_or_an_error_holds_nothing() {
        /// A server that keeps sending.
        struct Endless;
        impl Read for Endless {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                buf.fill(0x81);
                Ok(buf.len())
            }
        }
        let mut close = close_frame(1000, b"");
        close.extend(frame(FIN | TEXT, b"after"));
        let masked_frame = masked(FIN | TEXT, b"x", [1; 4]);
        for first in [close, masked_frame] {
            let mut d = plain();
            d.feed(&first);
            assert_eq!(drain(&mut d).len(), 1);
            // The worker may read until EOF after the close: what comes is
            // dropped, not kept in a buffer that doubles each time.
            for _ in 0..12 {
                assert!(d.read_from(&mut Endless).unwrap() > 0);
                assert!(d.next().is_none());
            }
            assert_eq!(d.buf.len(), 4096);
        }
    }

    #[test]
    fn a_masked_frame_from_the_server_is_a_protocol_error() {
        let key = [1, 2, 3, 4];
        assert_eq!(error_code(&mut plain(), &masked(FIN | TEXT, b"hi", key)), CLOSE_PROTOCOL);
        assert_eq!(error_code(&mut plain(), &masked(FIN | PING, b"", key)), CLOSE_PROTOCOL);
        // Even with a zero key, and in the middle of a message.
        let mut d = plain();
        assert_eq!(feed_all(&mut d, &frame(TEXT, b"a")), []);
        assert_eq!(error_code(&mut d, &masked(FIN | CONT, b"b", [0; 4])), CLOSE_PROTOCOL);
    }

    #[test]
    fn rsv2_and_rsv3_are_protocol_errors() {
        for rsv in [RSV2, RSV3, RSV2 | RSV3, RSV1 | RSV2] {
            for op in [TEXT, BINARY, PING, CLOSE] {
                for mut d in [plain(), with_deflate()] {
                    assert_eq!(error_code(&mut d, &frame(FIN | rsv | op, b"")), CLOSE_PROTOCOL);
                }
            }
        }
    }

    #[test]
    fn rsv1_is_only_for_the_first_frame_of_a_message_with_deflate() {
        // Not negotiated.
        assert_eq!(error_code(&mut plain(), &frame(FIN | RSV1 | TEXT, b"x")), CLOSE_PROTOCOL);
        assert_eq!(error_code(&mut plain(), &frame(FIN | RSV1 | BINARY, b"")), CLOSE_PROTOCOL);
        // On a control frame.
        for op in [PING, PONG, CLOSE] {
            assert_eq!(
                error_code(&mut with_deflate(), &frame(FIN | RSV1 | op, b"")),
                CLOSE_PROTOCOL
            );
            assert_eq!(error_code(&mut plain(), &frame(FIN | RSV1 | op, b"")), CLOSE_PROTOCOL);
        }
        // On a continuation, of a compressed message or not.
        let z = Deflater::new(15, 6, false).unwrap().compress(b"hello hello");
        for first in [RSV1 | TEXT, TEXT] {
            let mut d = with_deflate();
            let payload: &[u8] = if first & RSV1 != 0 { &z } else { b"hello" };
            assert_eq!(feed_all(&mut d, &frame(first, payload)), []);
            assert_eq!(error_code(&mut d, &frame(FIN | RSV1 | CONT, b"")), CLOSE_PROTOCOL);
        }
    }

    #[test]
    fn reserved_opcodes_are_protocol_errors() {
        for op in (3..=7).chain(0xB..=0xF) {
            for fin in [FIN, 0] {
                assert_eq!(error_code(&mut plain(), &frame(fin | op, b"")), CLOSE_PROTOCOL, "{op}");
                assert_eq!(error_code(&mut with_deflate(), &frame(fin | op, b"x")), CLOSE_PROTOCOL);
            }
            // Between the fragments of a message.
            let mut d = plain();
            assert_eq!(feed_all(&mut d, &frame(TEXT, b"a")), []);
            assert_eq!(error_code(&mut d, &frame(FIN | op, b"")), CLOSE_PROTOCOL, "{op}");
            // Known from the header alone, before the payload comes.
            assert_eq!(error_code(&mut plain(), &header(FIN | op, 100)), CLOSE_PROTOCOL, "{op}");
        }
    }

    #[test]
    fn fragments_out_of_order_are_protocol_errors() {
        // A continuation with nothing to continue.
        assert_eq!(error_code(&mut plain(), &frame(FIN | CONT, b"x")), CLOSE_PROTOCOL);
        assert_eq!(error_code(&mut plain(), &frame(CONT, b"")), CLOSE_PROTOCOL);
        let mut d = plain();
        assert_eq!(feed_all(&mut d, &frame(FIN | TEXT, b"done")), [text("done")]);
        assert_eq!(error_code(&mut d, &frame(FIN | CONT, b"more")), CLOSE_PROTOCOL);
        // A new message while one is unfinished.
        for second in [TEXT, BINARY, FIN | TEXT, FIN | BINARY] {
            let mut d = plain();
            assert_eq!(feed_all(&mut d, &frame(TEXT, b"a")), []);
            assert_eq!(error_code(&mut d, &frame(second, b"b")), CLOSE_PROTOCOL);
        }
    }

    #[test]
    fn control_frames_are_short_and_whole() {
        for op in [PING, PONG, CLOSE] {
            let mut body = vec![0x03, 0xe8];
            body.resize(126, b'a');
            assert_eq!(error_code(&mut plain(), &frame(FIN | op, &body)), CLOSE_PROTOCOL);
            // Known from the header: the 126 bytes need not come.
            assert_eq!(error_code(&mut plain(), &header(FIN | op, 126)), CLOSE_PROTOCOL);
            assert_eq!(error_code(&mut plain(), &header(FIN | op, 1 << 40)), CLOSE_PROTOCOL);
            // Fragmented.
            assert_eq!(error_code(&mut plain(), &frame(op, b"")), CLOSE_PROTOCOL);
        }
        let mut d = plain();
        assert_eq!(
            feed_all(&mut d, &frame(FIN | PING, &[5; 125])),
            [Ok(Incoming::Ping(vec![5; 125]))]
        );
        assert_eq!(
            feed_all(&mut d, &frame(FIN | PONG, &[6; 125])),
            [Ok(Incoming::Pong(vec![6; 125]))]
        );
    }

    #[test]
    fn close_frames() {
        let close = |code: u16, reason: &str| Ok(Incoming::Close { code, reason: reason.into() });
        let mut d = plain();
        assert_eq!(
            feed_all(&mut d, &close_frame(1000, "all done ☃".as_bytes())),
            [close(1000, "all done ☃")]
        );
        // Nothing is read after a close.
        assert_eq!(feed_all(&mut d, &frame(FIN | TEXT, b"late")), []);
        assert_eq!(feed_all(&mut plain(), &frame(FIN | CLOSE, b"")), [close(1005, "")]);
        assert_eq!(feed_all(&mut plain(), &close_frame(1001, b"")), [close(1001, "")]);
        // In the middle of a message.
        let mut d = plain();
        assert_eq!(feed_all(&mut d, &frame(TEXT, b"half")), []);
        assert_eq!(feed_all(&mut d, &close_frame(1000, b"")), [close(1000, "")]);
        // One byte is not a code.
        assert_eq!(error_code(&mut plain(), &frame(FIN | CLOSE, &[0x03])), CLOSE_PROTOCOL);
        for code in [0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 0xffff] {
            assert_eq!(error_code(&mut plain(), &close_frame(code, b"")), CLOSE_PROTOCOL, "{code}");
        }
        for code in (1000..=1003).chain(1007..=1014).chain([3000, 3999, 4000, 4321, 4999]) {
            assert_eq!(feed_all(&mut plain(), &close_frame(code, b"r")), [close(code, "r")]);
        }
        // A reason that is not UTF-8, or cut in the middle of a character.
        assert_eq!(error_code(&mut plain(), &close_frame(1000, &[b'a', 0xff])), CLOSE_INVALID_DATA);
        assert_eq!(error_code(&mut plain(), &close_frame(1000, &[0xe2, 0x98])), CLOSE_INVALID_DATA);
        assert_eq!(
            error_code(&mut plain(), &close_frame(1000, &[0xed, 0xa0, 0x80])),
            CLOSE_INVALID_DATA
        );
    }

    #[test]
    fn invalid_utf8_fails_as_soon_as_it_arrives() {
        // In the first fragment of a message that is not finished.
        let mut d = plain();
        assert_eq!(error_code(&mut d, &frame(TEXT, &[b'o', b'k', 0xff])), CLOSE_INVALID_DATA);
        // In the first bytes of a frame whose rest has not come.
        let mut bad = header(FIN | TEXT, 1000);
        bad.extend_from_slice("κόσμε".as_bytes());
        bad.extend_from_slice(&[0xf4, 0x90, 0x80, 0x80]);
        assert_eq!(error_code(&mut plain(), &bad), CLOSE_INVALID_DATA);
        // In the second fragment, before the third.
        let mut d = plain();
        assert_eq!(feed_all(&mut d, &frame(TEXT, b"fine ")), []);
        assert_eq!(error_code(&mut d, &frame(CONT, &[0xc0, 0x80])), CLOSE_INVALID_DATA);
        // A surrogate is known bad at its second byte.
        let mut d = plain();
        assert_eq!(feed_all(&mut d, &frame(TEXT, &[0xed])), []);
        assert_eq!(error_code(&mut d, &frame(CONT, &[0xa0])), CLOSE_INVALID_DATA);
        // Binary messages are not checked.
        assert_eq!(
            feed_all(&mut plain(), &frame(FIN | BINARY, &[0xff, 0xc0])),
            [binary(&[0xff, 0xc0])]
        );
    }

    #[test]
    fn a_character_split_across_fragments_is_accepted() {
        let s = "a€𝄞b";
        let bytes = s.as_bytes();
        for split in 0..=bytes.len() {
            for split2 in split..=bytes.len() {
                let mut wire = frame(TEXT, &bytes[..split]);
                wire.extend(frame(CONT, &bytes[split..split2]));
                wire.extend(frame(FIN | CONT, &bytes[split2..]));
                assert_eq!(feed_all(&mut plain(), &wire), [text(s)], "{split} {split2}");
            }
        }
        assert_eq!(feed_bytewise(&mut plain(), &frame(FIN | TEXT, bytes)), [text(s)]);
    }

    #[test]
    fn a_character_cut_at_the_end_of_the_message_is_invalid() {
        assert_eq!(
            error_code(&mut plain(), &frame(FIN | TEXT, &[b'a', 0xe2, 0x82])),
            CLOSE_INVALID_DATA
        );
        let mut d = plain();
        assert_eq!(feed_all(&mut d, &frame(TEXT, &[b'a', 0xf0, 0x9d])), []);
        assert_eq!(error_code(&mut d, &frame(FIN | CONT, &[0x84])), CLOSE_INVALID_DATA);
        // Cut, then the message ends with an empty fragment.
        let mut d = plain();
        assert_eq!(feed_all(&mut d, &frame(TEXT, &[0xe2])), []);
        assert_eq!(error_code(&mut d, &frame(FIN | CONT, b"")), CLOSE_INVALID_DATA);
    }

    #[test]
    fn a_message_over_the_limit_fails_before_its_bytes_come() {
        let limit = 1000;
        // Fragments that add up to the limit are fine.
        let mut d = Decoder::new(256, limit, None);
        let mut wire = frame(BINARY, &[1; 400]);
        wire.extend(frame(CONT, &[2; 400]));
        wire.extend(frame(FIN | CONT, &[3; 200]));
        let mut want = vec![1; 400];
        want.extend([2; 400]);
        want.extend([3; 200]);
        assert_eq!(feed_all(&mut d, &wire), [binary(&want)]);
        // One byte more, announced by the third header: 1009 as soon as
        // the header is read, with only what came before held.
        for op in [TEXT, BINARY] {
            let mut d = Decoder::new(256, limit, None);
            assert_eq!(feed_all(&mut d, &frame(op, &[b'a'; 400])), []);
            assert_eq!(feed_all(&mut d, &frame(CONT, &[b'b'; 400])), []);
            assert_eq!(error_code(&mut d, &header(FIN | CONT, 201)), CLOSE_TOO_BIG);
            assert_eq!(d.msg.as_ref().map(|m| m.data.len()), Some(800));
        }
        // A single frame announcing far more: nothing is allocated for it.
        let mut d = Decoder::new(256, limit, None);
        assert_eq!(error_code(&mut d, &header(FIN | BINARY, 1 << 40)), CLOSE_TOO_BIG);
        assert!(d.msg.as_ref().is_none_or(|m| m.data.capacity() <= limit));
        assert!(d.buf.len() <= MIN_BUFFER);
        // The largest length there is.
        let mut bytes = vec![FIN | BINARY, 127];
        bytes.extend_from_slice(&u64::MAX.to_be_bytes());
        assert_eq!(error_code(&mut Decoder::new(256, usize::MAX, None), &bytes), CLOSE_PROTOCOL);
    }

    #[test]
    fn a_message_never_holds_more_than_the_limit() {
        // Fragments that add up to the limit: the buffer grows, but not
        // past the limit (doubling 600 would reserve 1200).
        let limit = 1000;
        let mut d = Decoder::new(256, limit, None);
        assert_eq!(feed_all(&mut d, &frame(BINARY, &[1; 600])), []);
        assert_eq!(feed_all(&mut d, &header(FIN | CONT, 400)), []);
        for _ in 0..399 {
            assert_eq!(feed_all(&mut d, &[2]), []);
            let cap = d.msg.as_ref().unwrap().data.capacity();
            assert!(cap <= limit, "{cap}");
        }
        let mut want = vec![1; 600];
        want.extend([2; 400]);
        assert_eq!(feed_all(&mut d, &[2]), [binary(&want)]);
        // Text, fed byte by byte.
        let mut d = Decoder::new(256, 300, None);
        let mut wire = frame(TEXT, &[b'a'; 100]);
        wire.extend(frame(CONT, &[b'b'; 100]));
        wire.extend(frame(FIN | CONT, &[b'c'; 100]));
        for b in &wire[..wire.len() - 1] {
            assert_eq!(feed_all(&mut d, std::slice::from_ref(b)), []);
            assert!(d.msg.as_ref().is_none_or(|m| m.data.capacity() <= 300));
        }
        assert_eq!(feed_all(&mut d, b"c").len(), 1);
    }

    #[test]
    fn a_compressed_message_is_inflated() {
        let text_msg = "a compressed message, a compressed message, a compressed message ☃";
        let mut z = Deflater::new(15, 6, false).unwrap();
        let payload = compress(&mut z, text_msg.as_bytes());
        assert!(payload.len() < text_msg.len());
        let wire = frame(FIN | RSV1 | TEXT, &payload);
        assert_eq!(feed_all(&mut with_deflate(), &wire), [text(text_msg)]);
        assert_eq!(feed_bytewise(&mut with_deflate(), &wire), [text(text_msg)]);

        // Fragmented, RSV1 on the first frame only, with a ping between.
        let data: Vec<u8> = (0..20_000u32).flat_map(|i| (i % 300).to_le_bytes()).collect();
        let payload = compress(&mut Deflater::new(15, 6, false).unwrap(), &data);
        let (a, rest) = payload.split_at(payload.len() / 3);
        let (b, c) = rest.split_at(rest.len() / 2);
        let mut wire = frame(RSV1 | BINARY, a);
        wire.extend(frame(FIN | PING, b"p"));
        wire.extend(frame(CONT, b));
        wire.extend(frame(CONT, b""));
        wire.extend(frame(FIN | CONT, c));
        let want = vec![Ok(Incoming::Ping(b"p".to_vec())), binary(&data)];
        assert_eq!(feed_all(&mut with_deflate(), &wire), want);
        assert_eq!(feed_bytewise(&mut with_deflate(), &wire), want);

        // With deflate negotiated, an uncompressed message is still fine.
        assert_eq!(feed_all(&mut with_deflate(), &frame(FIN | TEXT, b"plain")), [text("plain")]);
        // The empty message, compressed.
        let empty = compress(&mut Deflater::new(15, 6, false).unwrap(), b"");
        assert_eq!(
            feed_all(&mut with_deflate(), &frame(FIN | RSV1 | BINARY, &empty)),
            [binary(b"")]
        );
        assert_eq!(feed_all(&mut with_deflate(), &frame(FIN | RSV1 | BINARY, b"")), [binary(b"")]);
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    #[test]
    fn the_rfc_7692_examples_as_frames() {
        let hello = || text("Hello");
        // 7.2.3.1: one frame, then the same message in two fragments.
        let one = hex("c107f248cdc9c90700");
        assert_eq!(feed_all(&mut with_deflate(), &one), [hello()]);
        let two = hex("4103f248cd8004c9c90700");
        assert_eq!(feed_all(&mut with_deflate(), &two), [hello()]);
        assert_eq!(feed_bytewise(&mut with_deflate(), &two), [hello()]);
        // 7.2.3.2: the second "Hello" refers to the first.
        let mut d = with_deflate();
        let mut wire = one.clone();
        wire.extend(hex("c105f200110000"));
        assert_eq!(feed_all(&mut d, &wire), [hello(), hello()]);
        // 7.2.3.3: a stored block. 7.2.3.4: BFINAL set, and the next
        // message starts a new stream. 7.2.3.5: two blocks in one message
        // ("He", then "llo" after an empty stored block).
        let mut d = with_deflate();
        let mut wire = hex("c10b000500faff48656c6c6f00");
        wire.extend(hex("c108f348cdc9c9070000"));
        wire.extend(one.clone());
        wire.extend(hex("c10df24805000000ffffcac9c90700"));
        assert_eq!(feed_all(&mut d, &wire), [hello(), hello(), hello(), hello()]);
        // 7.2.3.6: a fragment of only 0x00 (an empty stored block, once
        // the tail is appended) ends a message whose data was flushed.
        let mut d = with_deflate();
        let mut wire = hex("4105f248cdc9c9");
        wire.extend(hex("0006070000 00ffff".replace(' ', "").as_str()));
        wire.extend(hex("800100"));
        assert_eq!(feed_all(&mut d, &wire[..wire.len() - 3]), []);
        assert_eq!(feed_all(&mut d, &wire[wire.len() - 3..]), [hello()]);
    }

    #[test]
    fn a_compressed_message_in_one_byte_fragments() {
        let data = "fragments of one byte each, fragments of one byte each ☃".repeat(8);
        let payload = compress(&mut Deflater::new(15, 6, false).unwrap(), data.as_bytes());
        let mut wire = Vec::new();
        for (i, b) in payload.iter().enumerate() {
            let first = if i == 0 { RSV1 | TEXT } else { CONT };
            let fin = if i == payload.len() - 1 { FIN } else { 0 };
            wire.extend(frame(fin | first, std::slice::from_ref(b)));
            if i % 7 == 3 {
                wire.extend(frame(FIN | PONG, b""));
            }
        }
        let got: Vec<_> = feed_all(&mut with_deflate(), &wire)
            .into_iter()
            .filter(|g| g != &Ok(Incoming::Pong(Vec::new())))
            .collect();
        assert_eq!(got, [text(&data)]);
    }

    #[test]
    fn streams_made_by_flate2_directly() {
        use flate2::{Compress, Compression, FlushCompress};
        // Another compressor's choices: small windows, level 1 and 9, a
        // full flush, and the input given in small pieces.
        let data: Vec<u8> = (0..5000u32)
            .flat_map(|i| format!("{} ", (i as u64 * 2654435761) % 1000).into_bytes())
            .collect();
        for (bits, level, flush) in [
            (9, 1, FlushCompress::Sync),
            (12, 9, FlushCompress::Full),
            (15, 0, FlushCompress::Sync),
            (15, 6, FlushCompress::Full),
        ] {
            let mut c = Compress::new_with_window_bits(Compression::new(level), false, bits);
            let mut d = Decoder::new(
                4096,
                1 << 20,
                Some(&Deflate { server_max_window_bits: bits, ..deflate(false) }),
            );
            for _ in 0..3 {
                let mut out = Vec::with_capacity(data.len() * 2 + 1024);
                let start = c.total_in();
                for piece in data.chunks(333) {
                    c.compress_vec(piece, &mut out, FlushCompress::None).unwrap();
                }
                assert_eq!(c.total_in() - start, data.len() as u64);
                c.compress_vec(&[], &mut out, flush).unwrap();
                assert!(out.ends_with(&[0, 0, 0xff, 0xff]));
                out.truncate(out.len() - 4);
                assert_eq!(feed_all(&mut d, &frame(FIN | RSV1 | BINARY, &out)), [binary(&data)]);
            }
        }
    }

    #[test]
    fn an_empty_compressed_payload_leaves_the_stream_in_step() {
        // A compressor never makes an empty payload (RFC 7692, 7.2.1: at
        // least the byte that starts the stripped block), but one that
        // does (as ours did for an empty message after another) must not
        // throw the context out of step with the messages that follow.
        for takeover in [true, false] {
            let mut z = Deflater::new(15, 6, !takeover).unwrap();
            let mut d = Decoder::new(4096, 1 << 20, Some(&deflate(!takeover)));
            let a = compress(&mut z, b"first first first");
            assert_eq!(
                feed_all(&mut d, &frame(FIN | RSV1 | TEXT, &a)),
                [text("first first first")]
            );
            assert_eq!(feed_all(&mut d, &frame(FIN | RSV1 | TEXT, b"")), [text("")]);
            let mut wire = frame(RSV1 | BINARY, b"");
            wire.extend(frame(FIN | CONT, b""));
            assert_eq!(feed_all(&mut d, &wire), [binary(b"")]);
            let b = compress(&mut z, b"second first first");
            assert_eq!(
                feed_all(&mut d, &frame(FIN | RSV1 | TEXT, &b)),
                [text("second first first")]
            );
        }
    }

    #[test]
    fn context_takeover_across_messages() {
        let msgs: Vec<String> = (0..6)
            .map(|i| format!("{{\"seq\":{i},\"price\":101.25,\"qty\":7,\"side\":\"buy\"}}"))
            .collect();
        for takeover in [true, false] {
            let mut z = Deflater::new(15, 6, !takeover).unwrap();
            let mut d = Decoder::new(4096, 1 << 20, Some(&deflate(!takeover)));
            let mut sizes = Vec::new();
            for (i, m) in msgs.iter().enumerate() {
                let payload = compress(&mut z, m.as_bytes());
                sizes.push(payload.len());
                // Uncompressed messages in between do not touch the context.
                if i % 2 == 1 {
                    assert_eq!(feed_all(&mut d, &frame(FIN | TEXT, b"raw")), [text("raw")]);
                }
                assert_eq!(feed_all(&mut d, &frame(FIN | RSV1 | TEXT, &payload)), [text(m)]);
            }
            if takeover {
                // Later messages refer back to earlier ones.
                assert!(sizes[3] < sizes[0] / 2, "{sizes:?}");
            } else {
                assert!(sizes.iter().all(|&s| s >= sizes[0] - 1), "{sizes:?}");
            }
        }
        // server_no_context_takeover is honoured: a stream that refers back
        // cannot be read by a decoder that reset its context.
        let mut z = Deflater::new(15, 6, false).unwrap();
        let mut d = Decoder::new(4096, 1 << 20, Some(&deflate(true)));
        let first = compress(&mut z, msgs[0].as_bytes());
        assert_eq!(feed_all(&mut d, &frame(FIN | RSV1 | TEXT, &first)), [text(&msgs[0])]);
        let second = compress(&mut z, msgs[0].as_bytes());
        let got = feed_all(&mut d, &frame(FIN | RSV1 | TEXT, &second));
        assert_ne!(got, [text(&msgs[0])]);
    }

    #[test]
    fn a_decompression_bomb_fails_with_bounded_memory() {
        let limit = 1 << 20;
        let zeros = vec![0u8; 10 << 20];
        let payload = compress(&mut Deflater::new(15, 9, false).unwrap(), &zeros);
        assert!(payload.len() < 20_000, "{}", payload.len());
        for fragmented in [false, true] {
            let mut wire = Vec::new();
            if fragmented {
                let pieces: Vec<&[u8]> = payload.chunks(1000).collect();
                for (i, p) in pieces.iter().enumerate() {
                    let op = if i == 0 { RSV1 | BINARY } else { CONT };
                    let fin = if i == pieces.len() - 1 { FIN } else { 0 };
                    wire.extend(frame(fin | op, p));
                }
            } else {
                wire = frame(FIN | RSV1 | BINARY, &payload);
            }
            let mut d = Decoder::new(4096, limit, Some(&deflate(false)));
            let mut err = None;
            for piece in wire.chunks(512) {
                d.feed(piece);
                for item in &mut d {
                    err = Some(item.expect_err("no message comes out"));
                }
                // Never more than the limit (and the byte that crosses it).
                let held = d.msg.as_ref().map_or(0, |m| m.data.capacity());
                assert!(held <= limit + 1, "{held}");
                assert!(d.buf.len() <= 4096);
                if err.is_some() {
                    break;
                }
            }
            assert_eq!(err.expect("the bomb is caught").code, CLOSE_TOO_BIG);
        }
        // A compressed text message of exactly the limit is fine.
        let at_limit = vec![b'a'; limit];
        let payload = compress(&mut Deflater::new(15, 9, false).unwrap(), &at_limit);
        let mut d = Decoder::new(4096, limit, Some(&deflate(false)));
        assert_eq!(feed_all(&mut d, &frame(FIN | RSV1 | TEXT, &payload)).len(), 1);
        let mut d = Decoder::new(4096, limit - 1, Some(&deflate(false)));
        assert_eq!(error_code(&mut d, &frame(FIN | RSV1 | TEXT, &payload)), CLOSE_TOO_BIG);
    }

    #[test]
    fn corrupt_or_invalid_compressed_data() {
        // Not a deflate stream (BTYPE 3 is reserved).
        assert_eq!(
            error_code(&mut with_deflate(), &frame(FIN | RSV1 | TEXT, &[0xff; 8])),
            CLOSE_INVALID_DATA
        );
        // Good data, then garbage in a later fragment.
        let payload = compress(&mut Deflater::new(15, 6, false).unwrap(), b"hello hello hello");
        let mut d = with_deflate();
        assert_eq!(feed_all(&mut d, &frame(RSV1 | TEXT, &payload)), []);
        assert_eq!(error_code(&mut d, &frame(FIN | CONT, &[0xff; 8])), CLOSE_INVALID_DATA);
        // A distance before the start of the stream.
        assert_eq!(
            error_code(&mut with_deflate(), &frame(FIN | RSV1 | BINARY, &[0x02, 0x00, 0x00])),
            CLOSE_INVALID_DATA
        );
        // Compressed text that inflates to invalid UTF-8, caught before
        // the message ends.
        let bad = compress(&mut Deflater::new(15, 6, false).unwrap(), &[b'a', 0xff, b'b']);
        let mut d = with_deflate();
        assert_eq!(error_code(&mut d, &frame(RSV1 | TEXT, &bad)), CLOSE_INVALID_DATA);
    }
}
