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

    /// The size from which data messages are compressed (`usize::MAX`
    /// when they are not): smaller ones leave the deflater untouched.
    pub fn threshold(&self) -> usize {
        if self.deflater.is_some() {
            self.threshold
        } else {
            usize::MAX
        }
    }

    /// Queue a data frame that was framed and masked elsewhere (one
    /// unfragmented, uncompressed, masked frame: header and payload, whole
    /// in `frame`), of which the first `written` bytes are already written
    /// (only for the first frame queued: the queue must be empty then).
    /// It is counted and given back by [`take_unsent`](Self::take_unsent)
    /// as a data message of its own.
    pub fn push_framed(&mut self, frame: &[u8], written: usize) {
        let len_field = frame.get(1).map_or(0, |b| b & 0x7F);
        let head =
            2 + match len_field {
                126 => 2,
                127 => 8,
                _ => 0,
            } + 4;
        debug_assert!(frame.len() >= head && frame[1] & 0x80 != 0);
        let Some(mask) = frame.get(head - 4..head) else { return };
        let mask: [u8; 4] = mask.try_into().expect("4 bytes");
        let mut header = [0u8; 14];
        header[..head].copy_from_slice(&frame[..head]);
        let binary = frame[0] & 0x0F == 2;
        debug_assert!(written < frame.len().max(1));
        debug_assert!(written == 0 || self.pending.is_empty());
        let skip = if self.pending.is_empty() { written.min(frame.len()) } else { 0 };
        if self.pending.is_empty() {
            self.offset = skip;
        }
        let frame = OutFrame {
            header,
            header_len: head as u8,
            payload: frame[head..].to_vec(),
            mask,
            data: Some(Sent { binary, original: None }),
        };
        self.queued_bytes += frame.len() - skip;
        self.pending.push_back(frame);
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

#[cfg(test)]
mod tests {
    //! The frames are read back with tungstenite's own header parser and
    //! unmasked here; writers that take a little at a time stand in for a
    //! nonblocking socket.

    use super::*;
    use crate::wire::Inflater;

    /// One frame as the server would read it.
    #[derive(Debug)]
    struct Parsed {
        header: FrameHeader,
        /// The second byte's length field (125, 126 or 127 and below).
        len_byte: u8,
        /// Unmasked.
        payload: Vec<u8>,
    }

    fn parse_all(mut bytes: &[u8]) -> Vec<Parsed> {
        let mut out = Vec::new();
        while !bytes.is_empty() {
            let mut cursor = io::Cursor::new(bytes);
            let (header, len) = FrameHeader::parse(&mut cursor).unwrap().expect("a whole header");
            let start = cursor.position() as usize;
            let end = start + len as usize;
            let mut payload = bytes[start..end].to_vec();
            let mask = header.mask.expect("a client masks every frame");
            for (i, b) in payload.iter_mut().enumerate() {
                *b ^= mask[i % 4];
            }
            out.push(Parsed { header, len_byte: bytes[1] & 0x7f, payload });
            bytes = &bytes[end..];
        }
        out
    }

    /// Everything queued, written in one go.
    fn written(e: &mut Encoder) -> Vec<u8> {
        let mut out = Vec::new();
        assert!(e.flush_to(&mut out).unwrap());
        assert!(e.is_empty());
        assert_eq!(e.queued_bytes(), 0);
        out
    }

    fn deflate(threshold: usize, client_no_context_takeover: bool, bits: u8) -> Deflate {
        Deflate {
            server_no_context_takeover: false,
            client_no_context_takeover,
            server_max_window_bits: 15,
            client_max_window_bits: bits,
            threshold,
            level: 6,
        }
    }

    fn inflate(i: &mut Inflater, z: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        i.inflate(z, &mut out, usize::MAX).unwrap();
        i.finish(&mut out, usize::MAX).unwrap();
        out
    }

    #[test]
    fn a_message_is_one_masked_final_frame() {
        let mut e = Encoder::new(None, 42);
        e.push_message(b"hello".to_vec(), false);
        e.push_message(vec![0, 1, 2, 255], true);
        let bytes = written(&mut e);
        assert_eq!(bytes[0], 0x81);
        assert_eq!(bytes[1], 0x80 | 5);
        let frames = parse_all(&bytes);
        assert_eq!(frames.len(), 2);
        for (f, (op, payload)) in
            frames.iter().zip([(Data::Text, &b"hello"[..]), (Data::Binary, &[0, 1, 2, 255])])
        {
            assert!(f.header.is_final);
            assert!(!f.header.rsv1 && !f.header.rsv2 && !f.header.rsv3);
            assert_eq!(f.header.opcode, OpCode::Data(op));
            assert_eq!(f.payload, payload);
        }
        // The masked bytes are not the payload (with this seed's keys).
        assert_ne!(&bytes[6..11], b"hello");
        assert_eq!(e.take_completed(), 2);
        assert_eq!(e.take_completed(), 0);
    }

    #[test]
    fn lengths_of_7_16_and_64_bits() {
        for (len, len_byte, header_len) in [
            (0, 0, 6),
            (1, 1, 6),
            (125, 125, 6),
            (126, 126, 8),
            (0xffff, 126, 8),
            (0x1_0000, 127, 14),
            (100_003, 127, 14),
        ] {
            let data: Vec<u8> = (0..len).map(|i| (i % 253) as u8).collect();
            let mut e = Encoder::new(None, len as u64);
            e.push_message(data.clone(), true);
            assert_eq!(e.queued_bytes(), header_len + len);
            let bytes = written(&mut e);
            assert_eq!(bytes.len(), header_len + len);
            let frames = parse_all(&bytes);
            assert_eq!(frames.len(), 1);
            assert_eq!(frames[0].len_byte, len_byte, "{len}");
            assert_eq!(frames[0].payload, data, "{len}");
        }
    }

    #[test]
    fn every_frame_has_its_own_mask() {
        let mut e = Encoder::new(None, 7);
        for _ in 0..100 {
            e.push_message(b"same".to_vec(), true);
        }
        e.push_ping(b"p".to_vec());
        let bytes = written(&mut e);
        let masks: std::collections::HashSet<[u8; 4]> =
            parse_all(&bytes).iter().map(|f| f.header.mask.unwrap()).collect();
        assert_eq!(masks.len(), 101);
        // Deterministic for a seed, different across seeds.
        let run = |seed| {
            let mut e = Encoder::new(None, seed);
            e.push_message(b"same".to_vec(), true);
            written(&mut e)
        };
        assert_eq!(run(1), run(1));
        assert_ne!(run(1), run(2));
        // Seed 0 still masks (xorshift must not start at 0).
        let frames = parse_all(&run(0));
        assert_eq!(frames[0].payload, b"same");
        assert_ne!(frames[0].header.mask, Some([0; 4]));
    }

    #[test]
    fn apply_mask_twice_gives_the_bytes_back() {
        let data: Vec<u8> = (0..=255).collect();
        for len in 0..40 {
            let mut buf = data[..len].to_vec();
            apply_mask(&mut buf, [0xde, 0xad, 0xbe, 0xef]);
            for (i, b) in buf.iter().enumerate() {
                assert_eq!(*b, data[i] ^ [0xde, 0xad, 0xbe, 0xef][i % 4], "{len} {i}");
            }
            apply_mask(&mut buf, [0xde, 0xad, 0xbe, 0xef]);
            assert_eq!(buf, &data[..len]);
        }
    }

    #[test]
    fn ping_pong_and_close_frames() {
        let mut e = Encoder::new(None, 3);
        e.push_ping(b"are you there".to_vec());
        e.push_pong(Vec::new());
        e.push_ping(vec![1; 200]);
        e.push_pong(vec![2; 126]);
        e.push_close(Some((1000, "bye ☃")));
        e.push_close(None);
        // A reason cut to 123 bytes at a character boundary.
        let long = "é".repeat(100);
        e.push_close(Some((4000, &long)));
        let frames = parse_all(&written(&mut e));
        let ops: Vec<OpCode> = frames.iter().map(|f| f.header.opcode).collect();
        let (ping, pong, close) = (
            OpCode::Control(Control::Ping),
            OpCode::Control(Control::Pong),
            OpCode::Control(Control::Close),
        );
        assert_eq!(ops, [ping, pong, ping, pong, close, close, close]);
        assert!(frames.iter().all(|f| f.header.is_final && !f.header.rsv1));
        assert_eq!(frames[0].payload, b"are you there");
        assert_eq!(frames[1].payload, b"");
        assert_eq!(frames[2].payload, vec![1; 125]);
        assert_eq!(frames[3].payload, vec![2; 125]);
        let mut bye = 1000u16.to_be_bytes().to_vec();
        bye.extend_from_slice("bye ☃".as_bytes());
        assert_eq!(frames[4].payload, bye);
        assert_eq!(frames[5].payload, b"");
        assert_eq!(frames[6].payload.len(), 124);
        assert_eq!(&frames[6].payload[..2], 4000u16.to_be_bytes());
        assert_eq!(std::str::from_utf8(&frames[6].payload[2..]).unwrap(), "é".repeat(61));
        assert!(frames.iter().all(|f| f.payload.len() <= 125));
        // Control frames are not data messages.
        assert_eq!(e.take_completed(), 0);
    }

    /// A writer that takes a few bytes at a time, by a fixed pseudo-random
    /// schedule, and sometimes would block.
    struct Choppy {
        out: Vec<u8>,
        state: u64,
        max: usize,
        vectored: bool,
        blocks: usize,
        flushes: usize,
    }

    impl Choppy {
        fn new(seed: u64, max: usize, vectored: bool) -> Self {
            Choppy { out: Vec::new(), state: seed | 1, max, vectored, blocks: 0, flushes: 0 }
        }

        /// How much the next write takes: `None` would block.
        fn allowance(&mut self) -> Option<usize> {
            let mut r = XorShift(self.state);
            let v = r.next();
            self.state = r.0;
            if v % 4 == 0 {
                self.blocks += 1;
                return None;
            }
            Some(1 + (v >> 8) as usize % self.max)
        }
    }

    impl Write for Choppy {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let n = self.allowance().ok_or(io::ErrorKind::WouldBlock)?.min(buf.len());
            self.out.extend_from_slice(&buf[..n]);
            Ok(n)
        }

        fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
            if !self.vectored {
                // The default: the first non-empty slice only.
                let first = bufs.iter().find(|b| !b.is_empty()).map_or(&[][..], |b| b);
                return self.write(first);
            }
            let mut n = self.allowance().ok_or(io::ErrorKind::WouldBlock)?;
            let mut total = 0;
            for b in bufs {
                let take = n.min(b.len());
                self.out.extend_from_slice(&b[..take]);
                (n, total) = (n - take, total + take);
            }
            Ok(total)
        }

        fn flush(&mut self) -> io::Result<()> {
            self.flushes += 1;
            Ok(())
        }
    }

    /// Queue a mix of messages and control frames; returns which frame
    /// ends where in the one-shot output, and whether it is data.
    fn queue_mix(e: &mut Encoder) -> Vec<(Vec<u8>, bool)> {
        let mut msgs = Vec::new();
        for i in 0..40usize {
            match i % 5 {
                3 => e.push_ping(vec![i as u8; i]),
                4 => e.push_pong(Vec::new()),
                _ => {
                    let data: Vec<u8> = (0..i * 37 % 300).map(|j| (i + j) as u8).collect();
                    msgs.push((data.clone(), i % 2 == 0));
                    e.push_message(data, i % 2 == 0);
                }
            }
        }
        e.push_message(vec![9; 70_000], true);
        msgs.push((vec![9; 70_000], true));
        e.push_close(Some((1000, "done")));
        msgs
    }

    /// The end offsets of the data frames in `bytes`.
    fn data_frame_ends(bytes: &[u8]) -> Vec<usize> {
        let mut ends = Vec::new();
        let mut pos = 0;
        while pos < bytes.len() {
            let mut cursor = io::Cursor::new(&bytes[pos..]);
            let (header, len) = FrameHeader::parse(&mut cursor).unwrap().unwrap();
            pos += cursor.position() as usize + len as usize;
            if matches!(header.opcode, OpCode::Data(_)) {
                ends.push(pos);
            }
        }
        ends
    }

    #[test]
    fn partial_writes_resume_where_they_stopped() {
        let mut one_shot = Encoder::new(None, 99);
        queue_mix(&mut one_shot);
        let expected = written(&mut one_shot);
        let ends = data_frame_ends(&expected);
        for vectored in [false, true] {
            for (seed, max) in [(1, 1), (2, 3), (3, 50), (4, 1000), (5, 100_000)] {
                let mut e = Encoder::new(None, 99);
                queue_mix(&mut e);
                assert_eq!(e.queued_bytes(), expected.len());
                let mut w = Choppy::new(seed, max, vectored);
                let mut completed = 0;
                let mut calls = 0;
                loop {
                    calls += 1;
                    let done = e.flush_to(&mut w).unwrap();
                    completed += e.take_completed();
                    // Exactly the data messages whose last byte is out.
                    let whole = ends.iter().filter(|&&end| end <= w.out.len()).count();
                    assert_eq!(completed, whole as u64, "{seed} {vectored}");
                    assert_eq!(e.queued_bytes(), expected.len() - w.out.len());
                    if done {
                        assert!(w.flushes > 0);
                        break;
                    }
                }
                assert!(w.out == expected, "{seed} {max} {vectored}: the stream differs");
                assert_eq!(completed, ends.len() as u64);
                assert!(e.is_empty());
                if max < 1000 {
                    assert!(w.blocks > 0 && calls > 1);
                }
                // Nothing left: flushing again writes nothing.
                assert!(e.flush_to(&mut w).unwrap());
                assert_eq!(w.out.len(), expected.len());
            }
        }
    }

    #[test]
    fn write_errors_are_returned_and_interrupts_retried() {
        struct Flaky {
            calls: usize,
            out: Vec<u8>,
        }
        impl Write for Flaky {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                self.calls += 1;
                match self.calls {
                    1 | 2 => Err(io::ErrorKind::Interrupted.into()),
                    3 => {
                        self.out.push(buf[0]);
                        Ok(1)
                    }
                    _ => Err(io::ErrorKind::BrokenPipe.into()),
                }
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let mut e = Encoder::new(None, 5);
        e.push_message(b"abc".to_vec(), false);
        let mut w = Flaky { calls: 0, out: Vec::new() };
        assert_eq!(e.flush_to(&mut w).unwrap_err().kind(), io::ErrorKind::BrokenPipe);
        assert_eq!(w.out.len(), 1);
        assert_eq!(e.queued_bytes(), 9 - 1);
        // A writer that takes nothing.
        let mut full: &mut [u8] = &mut [];
        assert_eq!(e.flush_to(&mut full).unwrap_err().kind(), io::ErrorKind::WriteZero);
        assert_eq!(e.take_unsent(), [(b"abc".to_vec(), false)]);
    }

    #[test]
    fn take_unsent_gives_back_what_was_not_entirely_written() {
        for deflate in [None, Some(deflate(10, false, 15))] {
            let mut e = Encoder::new(deflate.as_ref(), 11);
            let msgs: Vec<(Vec<u8>, bool)> = vec![
                (b"first message, sent whole".to_vec(), false),
                (vec![b'x'; 300], true),
                (b"short".to_vec(), false),
                ("third ☃ message".repeat(20).into_bytes(), false),
            ];
            for (data, binary) in &msgs {
                e.push_message(data.clone(), *binary);
                e.push_ping(b"p".to_vec());
            }
            let total = e.queued_bytes();
            // The first frame, its ping, and 5 bytes of the second message.
            let mut one_shot = Encoder::new(deflate.as_ref(), 11);
            for (data, binary) in &msgs {
                one_shot.push_message(data.clone(), *binary);
                one_shot.push_ping(b"p".to_vec());
            }
            let all = written(&mut one_shot);
            assert_eq!(all.len(), total);
            let cut = data_frame_ends(&all)[0] + 7 + 5;
            let mut buf = vec![0u8; cut];
            let mut w = &mut buf[..];
            assert!(!e.flush_to(&mut w).is_ok_and(|done| done));
            assert_eq!(buf, all[..cut]);
            assert_eq!(e.take_completed(), 1);
            assert_eq!(e.queued_bytes(), total - cut);
            assert_eq!(e.take_unsent(), msgs[1..], "{deflate:?}");
            assert!(e.is_empty());
            assert_eq!(e.queued_bytes(), 0);
            assert_eq!(e.take_unsent(), []);
        }
        // Nothing written at all: everything comes back, in order.
        let mut e = Encoder::new(None, 1);
        e.push_close(None);
        e.push_message(b"a".to_vec(), true);
        e.push_message(b"b".to_vec(), false);
        assert_eq!(e.take_unsent(), [(b"a".to_vec(), true), (b"b".to_vec(), false)]);
    }

    #[test]
    fn messages_from_the_threshold_up_are_compressed() {
        let d = deflate(100, false, 15);
        let mut e = Encoder::new(Some(&d), 8);
        assert!(e.compresses());
        let big = "compress me, compress me, compress me! ".repeat(10).into_bytes();
        let at = vec![b'q'; 100];
        let small = vec![b'q'; 99];
        e.push_message(big.clone(), false);
        e.push_message(small.clone(), true);
        e.push_message(at.clone(), true);
        e.push_ping(vec![b'q'; 120]);
        let frames = parse_all(&written(&mut e));
        let mut i = Inflater::new(15, false);
        assert!(frames[0].header.rsv1);
        assert!(frames[0].payload.len() < big.len() / 4);
        assert_eq!(inflate(&mut i, &frames[0].payload), big);
        assert!(!frames[1].header.rsv1);
        assert_eq!(frames[1].payload, small);
        assert!(frames[2].header.rsv1);
        assert_eq!(inflate(&mut i, &frames[2].payload), at);
        assert!(!frames[3].header.rsv1, "control frames are never compressed");
        assert_eq!(frames[3].payload, vec![b'q'; 120]);
        assert_eq!(e.take_completed(), 3);

        // A window of 8 bits cannot be made: nothing is compressed.
        let mut e = Encoder::new(Some(&deflate(0, false, 8)), 8);
        assert!(!e.compresses());
        e.push_message(big.clone(), false);
        let frames = parse_all(&written(&mut e));
        assert!(!frames[0].header.rsv1);
        assert_eq!(frames[0].payload, big);
        // Smaller windows are.
        let mut e = Encoder::new(Some(&deflate(0, false, 9)), 8);
        e.push_message(big.clone(), false);
        let frames = parse_all(&written(&mut e));
        assert!(frames[0].header.rsv1);
        assert_eq!(inflate(&mut Inflater::new(9, false), &frames[0].payload), big);
        // Without deflate, nothing is compressed whatever the size.
        let mut e = Encoder::new(None, 8);
        assert!(!e.compresses());
        e.push_message(big.clone(), false);
        assert!(!parse_all(&written(&mut e))[0].header.rsv1);
    }

    #[test]
    fn empty_messages_compressed_with_a_threshold_of_0() {
        for no_takeover in [false, true] {
            let mut e = Encoder::new(Some(&deflate(0, no_takeover, 15)), 6);
            let msgs: [&[u8]; 5] = [b"", b"one one one", b"", b"", b"one one one two"];
            for m in msgs {
                e.push_message(m.to_vec(), false);
            }
            let frames = parse_all(&written(&mut e));
            let mut i = Inflater::new(15, no_takeover);
            for (f, m) in frames.iter().zip(msgs) {
                assert!(f.header.rsv1);
                assert_eq!(f.header.opcode, OpCode::Data(Data::Text));
                if m.is_empty() {
                    assert_eq!(f.payload, [0x00], "RFC 7692, 7.2.3.6");
                }
                assert_eq!(inflate(&mut i, &f.payload), m);
            }
        }
    }

    #[test]
    fn queued_bytes_count_the_compressed_frames() {
        let mut e = Encoder::new(Some(&deflate(10, false, 15)), 6);
        let big = vec![b'z'; 10_000];
        e.push_message(big.clone(), true);
        let after_one = e.queued_bytes();
        assert!(after_one < 200, "{after_one}");
        e.push_message(b"tiny".to_vec(), false);
        assert_eq!(e.queued_bytes(), after_one + 6 + 4);
        let bytes = written(&mut e);
        assert_eq!(bytes.len(), after_one + 10);
        assert_eq!(data_frame_ends(&bytes), [after_one, after_one + 10]);
        // Given back whole, as the caller's bytes.
        let mut e = Encoder::new(Some(&deflate(10, false, 15)), 6);
        e.push_message(big.clone(), true);
        assert_eq!(e.take_unsent(), [(big, true)]);
    }

    #[test]
    fn context_takeover_or_not() {
        let msg =
            b"{\"type\":\"trade\",\"price\":\"101.25\",\"size\":\"7\",\"side\":\"buy\"}".to_vec();
        for no_takeover in [false, true] {
            let mut e = Encoder::new(Some(&deflate(0, no_takeover, 15)), 4);
            for _ in 0..4 {
                e.push_message(msg.clone(), false);
            }
            let frames = parse_all(&written(&mut e));
            assert!(frames.iter().all(|f| f.header.rsv1));
            let payloads: Vec<&Vec<u8>> = frames.iter().map(|f| &f.payload).collect();
            if no_takeover {
                // Each stands alone: the same bytes, each read by a fresh
                // inflater.
                assert!(payloads.iter().all(|p| *p == payloads[0]));
                for p in &payloads {
                    assert_eq!(inflate(&mut Inflater::new(15, true), p), msg);
                }
            } else {
                // Later ones refer to the first: much shorter, and only an
                // inflater that keeps its context reads them.
                assert!(payloads[1].len() < payloads[0].len() / 3, "{payloads:?}");
                let mut i = Inflater::new(15, false);
                for p in &payloads {
                    assert_eq!(inflate(&mut i, p), msg);
                }
                let mut fresh = Inflater::new(15, false);
                let mut out = Vec::new();
                let read = fresh
                    .inflate(payloads[1], &mut out, usize::MAX)
                    .and_then(|()| fresh.finish(&mut out, usize::MAX));
                assert!(read.is_err() || out != msg);
            }
        }
    }

    #[test]
    fn frames_framed_elsewhere_are_resumed_counted_and_given_back() {
        // Two frames made by another encoder (as a caller's thread makes
        // them), the first 3 bytes of the first already written.
        let mut other = Encoder::new(None, 9);
        other.push_message(b"first".to_vec(), false);
        let first = written(&mut other);
        other.push_message(vec![1, 2, 3], true);
        let second = written(&mut other);
        let mut e = Encoder::new(None, 1);
        e.push_framed(&first, 3);
        e.push_framed(&second, 0);
        e.push_message(b"after".to_vec(), false);
        assert_eq!(e.queued_bytes(), first.len() - 3 + second.len() + 6 + 5);
        let out = written(&mut e);
        assert_eq!(&out[..first.len() - 3], &first[3..]);
        assert_eq!(&out[first.len() - 3..first.len() - 3 + second.len()], &second[..]);
        let rest = parse_all(&out[first.len() - 3 + second.len()..]);
        assert_eq!(rest[0].payload, b"after");
        assert_eq!(e.take_completed(), 3);
        // Not written: given back as they were given.
        let mut e = Encoder::new(None, 1);
        e.push_framed(&first, 3);
        e.push_framed(&second, 0);
        /// Takes 2 bytes, then would block.
        struct Two(usize);
        impl Write for Two {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                let n = buf.len().min(2 - self.0);
                self.0 += n;
                if n == 0 {
                    return Err(io::ErrorKind::WouldBlock.into());
                }
                Ok(n)
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        assert!(!e.flush_to(&mut Two(0)).unwrap());
        assert_eq!(e.take_completed(), 0);
        assert_eq!(e.take_unsent(), vec![(b"first".to_vec(), false), (vec![1, 2, 3], true)]);
        assert_eq!(e.queued_bytes(), 0);
    }
}
