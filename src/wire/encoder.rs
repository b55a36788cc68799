//! Messages in, frames out: masked in place, written with vectored writes.

use super::{Deflate, Deflater};
use std::{
    collections::VecDeque,
    io::{self, IoSlice, Write},
};
use tungstenite::protocol::frame::{
    coding::{Control, Data, OpCode},
    FrameHeader,
};

/// The frames `flush_to` hands to one `write_vectored` at most (two slices
/// each: header and payload).
const MAX_SLICES: usize = 64;

/// A frame waiting to be written.
#[derive(Debug)]
struct OutFrame {
    header: [u8; 14],
    header_len: u8,
    /// Masked already.
    payload: Vec<u8>,
    mask: [u8; 4],
    /// A data message (one frame each): counted once entirely written, and
    /// given back by [`Encoder::take_unsent`] if it was not.
    data: Option<Sent>,
}

/// What `take_unsent` needs to give a data message back as it came.
#[derive(Debug)]
struct Sent {
    binary: bool,
    /// The caller's bytes when the payload is their compressed form (the
    /// masked payload can be unmasked otherwise).
    original: Option<Vec<u8>>,
}

impl OutFrame {
    fn len(&self) -> usize {
        self.header_len as usize + self.payload.len()
    }
}

/// A small xorshift64* generator for mask keys. Masks only need to be
/// unpredictable to a script in a browser (RFC 6455, 10.3), which does not
/// exist here; a per-connection seed is plenty.
#[derive(Debug, Clone)]
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// XOR `buf` with the mask key, in place (RFC 6455, 5.3); applying it twice
/// gives the bytes back. Eight bytes at a time.
pub fn apply_mask(buf: &mut [u8], mask: [u8; 4]) {
    let wide = u64::from_ne_bytes([
        mask[0], mask[1], mask[2], mask[3], mask[0], mask[1], mask[2], mask[3],
    ]);
    let mut chunks = buf.chunks_exact_mut(8);
    for c in &mut chunks {
        let v = u64::from_ne_bytes((&*c).try_into().expect("8 bytes")) ^ wide;
        c.copy_from_slice(&v.to_ne_bytes());
    }
    for (i, b) in chunks.into_remainder().iter_mut().enumerate() {
        *b ^= mask[i & 3];
    }
}

/// Builds the client's frames and writes them.
///
/// Each data message is one frame. Its payload is the caller's own buffer,
/// masked in place, unless the message is compressed (negotiated, and at
/// least the threshold long): then the compressed bytes are masked and the
/// caller's buffer is kept only to give it back by
/// [`take_unsent`](Self::take_unsent). Headers are separate small arrays;
/// [`flush_to`](Self::flush_to) writes header and payload slices of many
/// frames with one `write_vectored` and resumes a partial write where it
/// stopped.
#[derive(Debug)]
pub struct Encoder {
    deflater: Option<Deflater>,
    threshold: usize,
    rng: XorShift,
    pending: VecDeque<OutFrame>,
    /// Bytes of the head frame already written.
    offset: usize,
    /// Data messages entirely written since the last `take_completed`.
    completed: u64,
    queued_bytes: usize,
}

impl Encoder {
    /// An encoder for the negotiated permessage-deflate, if any, with mask
    /// keys drawn from `seed` (any value; give each connection its own).
    pub fn new(deflate: Option<&Deflate>, seed: u64) -> Self {
        Encoder {
            deflater: deflate.and_then(|d| {
                Deflater::new(d.client_max_window_bits, d.level, d.client_no_context_takeover)
            }),
            threshold: deflate.map_or(usize::MAX, |d| d.threshold),
            rng: XorShift(seed | 1),
            pending: VecDeque::new(),
            offset: 0,
            completed: 0,
            queued_bytes: 0,
        }
    }

    /// Whether data messages are compressed (permessage-deflate negotiated,
    /// with a window we can make; see the `deflate` module).
    pub fn compresses(&self) -> bool {
        self.deflater.is_some()
    }

    /// Queue a data message. Text must be valid UTF-8 (checked by the
    /// caller, when the user sends it).
    pub fn push_message(&mut self, data: Vec<u8>, binary: bool) {
        let opcode = OpCode::Data(if binary { Data::Binary } else { Data::Text });
        let (payload, rsv1, original) = match &mut self.deflater {
            Some(d) if data.len() >= self.threshold => (d.compress(&data), true, Some(data)),
            _ => (data, false, None),
        };
        self.push(opcode, rsv1, payload, Some(Sent { binary, original }));
    }

    /// Queue a ping (the payload is at most 125 bytes; longer is cut).
    pub fn push_ping(&mut self, mut payload: Vec<u8>) {
        payload.truncate(125);
        self.push(OpCode::Control(Control::Ping), false, payload, None);
    }

    /// Queue a pong (the payload is at most 125 bytes; longer is cut).
    pub fn push_pong(&mut self, mut payload: Vec<u8>) {
        payload.truncate(125);
        self.push(OpCode::Control(Control::Pong), false, payload, None);
    }

    /// Queue a close frame: with a code and reason (cut at a character
    /// boundary to fit 123 bytes), or with no body.
    pub fn push_close(&mut self, close: Option<(u16, &str)>) {
        let mut body = Vec::new();
        if let Some((code, reason)) = close {
            let mut cut = reason.len().min(123);
            while !reason.is_char_boundary(cut) {
                cut -= 1;
            }
            body.extend_from_slice(&code.to_be_bytes());
            body.extend_from_slice(&reason.as_bytes()[..cut]);
        }
        self.push(OpCode::Control(Control::Close), false, body, None);
    }

    fn push(&mut self, opcode: OpCode, rsv1: bool, mut payload: Vec<u8>, data: Option<Sent>) {
        let mask = (self.rng.next() as u32).to_ne_bytes();
        let header =
            FrameHeader { is_final: true, rsv1, opcode, mask: Some(mask), ..Default::default() };
        let mut bytes = [0u8; 14];
        let mut cursor = io::Cursor::new(&mut bytes[..]);
        header.format(payload.len() as u64, &mut cursor).expect("14 bytes hold any header");
        let header_len = cursor.position() as u8;
        apply_mask(&mut payload, mask);
        let frame = OutFrame { header: bytes, header_len, payload, mask, data };
        self.queued_bytes += frame.len();
        self.pending.push_back(frame);
    }

    /// Write queued frames to `w` until all are written (`Ok(true)`) or `w`
    /// would block (`Ok(false)`; call again when it is writable). Other
    /// errors are returned as they are; what was written stays written.
    /// Count the messages written with [`take_completed`](Self::take_completed).
    pub fn flush_to(&mut self, w: &mut impl Write) -> io::Result<bool> {
        while !self.pending.is_empty() {
            let mut slices = Vec::with_capacity(MAX_SLICES);
            let mut skip = self.offset;
            for f in self.pending.iter().take(MAX_SLICES / 2) {
                let header = &f.header[..f.header_len as usize];
                if skip < header.len() {
                    slices.push(IoSlice::new(&header[skip..]));
                    skip = 0;
                } else {
                    skip -= header.len();
                }
                if skip < f.payload.len() {
                    slices.push(IoSlice::new(&f.payload[skip..]));
                }
                skip = 0;
            }
            let n = match w.write_vectored(&slices) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            self.advance(n);
        }
        w.flush().map(|()| true).or_else(|e| match e.kind() {
            io::ErrorKind::WouldBlock => Ok(false),
            _ => Err(e),
        })
    }

    /// `n` more bytes were written: drop the frames they finish.
    fn advance(&mut self, mut n: usize) {
        self.queued_bytes -= n;
        while let Some(f) = self.pending.front() {
            let rest = f.len() - self.offset;
            if n < rest {
                self.offset += n;
                return;
            }
            n -= rest;
            self.offset = 0;
            if self.pending.pop_front().is_some_and(|f| f.data.is_some()) {
                self.completed += 1;
            }
        }
    }

    /// Data messages entirely written since the last call, in the order
    /// they were queued (what the worker settles as sent).
    pub fn take_completed(&mut self) -> u64 {
        std::mem::take(&mut self.completed)
    }

    /// Whether nothing is waiting to be written.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// Bytes of frames not yet written.
    pub fn queued_bytes(&self) -> usize {
        self.queued_bytes
    }

    /// The connection is gone: the data messages not entirely written, in
    /// order, as the caller gave them (for the next connection's queue).
    /// Control frames are dropped.
    pub fn take_unsent(&mut self) -> Vec<(Vec<u8>, bool)> {
        self.offset = 0;
        self.queued_bytes = 0;
        self.pending
            .drain(..)
            .filter_map(|mut f| {
                let sent = f.data?;
                Some(match sent.original {
                    Some(original) => (original, sent.binary),
                    None => {
                        apply_mask(&mut f.payload, f.mask);
                        (f.payload, sent.binary)
                    }
                })
            })
            .collect()
    }
}
