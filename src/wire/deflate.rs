//! Per-message deflate and inflate (RFC 7692, 7.2) with flate2 on the
//! zlib-rs backend.
//!
//! Each message is compressed with a sync flush, which ends the output with
//! the empty stored block `00 00 ff ff`; the sender strips it and the
//! receiver appends it again before inflating.
//!
//! # Window bits 8
//!
//! zlib (and zlib-rs, which follows it) cannot make a raw deflate stream
//! with a 256-byte window: since zlib 1.2.9 `deflateInit2` turns 8 into 9,
//! and flate2 refuses 8 outright. A stream made with a 512-byte window may
//! refer 512 bytes back, which a peer inflating with a 256-byte window must
//! reject. So when the server sets our `client_max_window_bits` to 8, we do
//! not compress at all ([`Deflater::new`] returns `None`): an uncompressed
//! message (RSV1 clear) is always allowed. Inflating is not affected: a
//! larger window reads any stream made with a smaller one, so the server's
//! `server_max_window_bits=8` is inflated with 9. Browsers never offer 8
//! either, and `ws` (Node) also raises 8 to 9 on its side.

use super::WireError;
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

/// The empty stored block a sync flush ends with.
const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];
/// Output grows by at most this much at a time: what a bomb can allocate
/// past the limit.
const CHUNK: usize = 32 << 10;

/// The window flate2 can use for `bits` (8 becomes 9; see the module doc).
fn usable(bits: u8) -> u8 {
    bits.clamp(9, 15)
}

/// Our compressor, for the messages we send.
pub struct Deflater {
    c: Compress,
    reset_each: bool,
}

impl std::fmt::Debug for Deflater {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deflater").field("reset_each", &self.reset_each).finish()
    }
}

impl Deflater {
    /// A compressor for `window_bits` (our negotiated
    /// `client_max_window_bits`) at `level`; `no_context_takeover` resets it
    /// after each message. `None` for 8 bits: see the module doc.
    pub fn new(window_bits: u8, level: u32, no_context_takeover: bool) -> Option<Self> {
        if window_bits < 9 {
            return None;
        }
        let c = Compress::new_with_window_bits(
            Compression::new(level.min(9)),
            false,
            usable(window_bits),
        );
        Some(Deflater { c, reset_each: no_context_takeover })
    }

    /// One message compressed, without the `00 00 ff ff` tail.
    pub fn compress(&mut self, data: &[u8]) -> Vec<u8> {
        if data.is_empty() {
            // zlib skips a sync flush that follows another with no input
            // in between (Z_BUF_ERROR, nothing written), so after a first
            // message this would be empty, and the peer, appending the
            // tail, would read `00 00 ff ff` as the header of a stored
            // block of 0xff00 bytes still waiting for its NLEN: the next
            // compressed message would fail as corrupt, or be misread.
            // The one byte 0x00 is the empty message (RFC 7692, 7.2.3.6):
            // with the tail, an empty stored block; the window is unchanged.
            return vec![0x00];
        }
        let mut out = Vec::with_capacity(data.len() / 2 + 64);
        let start = self.c.total_in();
        loop {
            let done = (self.c.total_in() - start) as usize;
            if out.capacity() - out.len() < 64 {
                out.reserve(out.capacity().max(CHUNK));
            }
            self.c
                .compress_vec(&data[done..], &mut out, FlushCompress::Sync)
                .expect("deflate cannot fail on a valid stream");
            // zlib: the flush is complete once output room is left over.
            if (self.c.total_in() - start) as usize == data.len() && out.len() < out.capacity() {
                break;
            }
        }
        debug_assert!(out.ends_with(&TAIL), "a sync flush ends with an empty stored block");
        if out.ends_with(&TAIL) {
            out.truncate(out.len() - TAIL.len());
        }
        if self.reset_each {
            self.c.reset();
        }
        out
    }
}

/// Our decompressor, for the server's messages.
pub struct Inflater {
    d: Decompress,
    window_bits: u8,
    reset_each: bool,
    /// The server ended the deflate stream (a block with BFINAL set, which
    /// RFC 7692 7.2.3.4 allows): the rest of the message is ignored and the
    /// stream starts anew with the next one.
    ended: bool,
}

impl std::fmt::Debug for Inflater {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inflater").field("reset_each", &self.reset_each).finish()
    }
}

impl Inflater {
    /// A decompressor for the server's `server_max_window_bits`;
    /// `no_context_takeover` resets it after each message.
    pub fn new(window_bits: u8, no_context_takeover: bool) -> Self {
        let window_bits = usable(window_bits);
        Inflater {
            d: Decompress::new_with_window_bits(false, window_bits),
            window_bits,
            reset_each: no_context_takeover,
            ended: false,
        }
    }

    /// Inflate `input` (part of a compressed message) onto `out`, which
    /// must not grow past `limit` bytes: the limit is checked as bytes come
    /// out, so a bomb fails with at most `limit` + 1 bytes allocated.
    pub fn inflate(
        &mut self,
        mut input: &[u8],
        out: &mut Vec<u8>,
        limit: usize,
    ) -> Result<(), WireError> {
        while !self.ended {
            // Grow by doubling, but never past one byte more than the limit
            // (to see it crossed): a bomb allocates at most `limit` + 1.
            let cap = limit.saturating_add(1);
            if out.capacity() == out.len() {
                let grow = out.len().max(CHUNK).min(cap.saturating_sub(out.len()));
                out.reserve_exact(grow.max(1));
            }
            let (in0, out0) = (self.d.total_in(), out.len());
            let spare = out.capacity() - out.len();
            let status = self
                .d
                .decompress_vec(input, out, FlushDecompress::Sync)
                .map_err(|e| WireError::invalid_data(format!("invalid compressed data: {e}")))?;
            input = &input[(self.d.total_in() - in0) as usize..];
            if out.len() > limit {
                return Err(WireError::too_big(limit));
            }
            match status {
                Status::StreamEnd => self.ended = true,
                _ if input.is_empty() && out.len() - out0 < spare => break,
                Status::BufError if out.len() == out0 && self.d.total_in() == in0 => {
                    // No progress with room and input left: cannot happen
                    // with zlib; guard against a loop anyway.
                    return Err(WireError::invalid_data("invalid compressed data"));
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// The message ends: inflate the tail the sender stripped, and reset if
    /// the server does not keep its context.
    pub fn finish(&mut self, out: &mut Vec<u8>, limit: usize) -> Result<(), WireError> {
        self.inflate(&TAIL, out, limit)?;
        if self.reset_each || self.ended {
            self.d = Decompress::new_with_window_bits(false, self.window_bits);
            self.ended = false;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    fn inflate_all(inf: &mut Inflater, data: &[u8], limit: usize) -> Result<Vec<u8>, WireError> {
        let mut out = Vec::new();
        inf.inflate(data, &mut out, limit)?;
        inf.finish(&mut out, limit)?;
        Ok(out)
    }

    #[test]
    fn the_rfc_7692_examples() {
        // 7.2.3.1 and 7.2.3.2: "Hello", then "Hello" again with the context.
        let mut d = Deflater::new(15, 6, false).unwrap();
        assert_eq!(d.compress(b"Hello"), hex("f248cdc9c90700"));
        assert_eq!(d.compress(b"Hello"), hex("f200110000"));
        let mut i = Inflater::new(15, false);
        assert_eq!(inflate_all(&mut i, &hex("f248cdc9c90700"), 100).unwrap(), b"Hello");
        assert_eq!(inflate_all(&mut i, &hex("f200110000"), 100).unwrap(), b"Hello");
        // 7.2.3.3: an uncompressed (stored) block.
        let mut i = Inflater::new(15, false);
        assert_eq!(inflate_all(&mut i, &hex("000500faff48656c6c6f00"), 100).unwrap(), b"Hello");
        // 7.2.3.4: a block with BFINAL set; the next message starts anew.
        let mut i = Inflater::new(15, false);
        assert_eq!(inflate_all(&mut i, &hex("f348cdc9c9070000"), 100).unwrap(), b"Hello");
        assert_eq!(inflate_all(&mut i, &hex("f248cdc9c90700"), 100).unwrap(), b"Hello");
    }

    #[test]
    fn without_context_takeover_each_message_stands_alone() {
        let mut d = Deflater::new(15, 6, true).unwrap();
        assert_eq!(d.compress(b"Hello"), hex("f248cdc9c90700"));
        assert_eq!(d.compress(b"Hello"), hex("f248cdc9c90700"));
        let mut i = Inflater::new(15, true);
        for _ in 0..3 {
            assert_eq!(inflate_all(&mut i, &hex("f248cdc9c90700"), 100).unwrap(), b"Hello");
        }
        // With takeover, the second message refers to the first: an
        // inflater that resets cannot read it.
        let mut i = Inflater::new(15, true);
        inflate_all(&mut i, &hex("f248cdc9c90700"), 100).unwrap();
        assert!(inflate_all(&mut i, &hex("f200110000"), 100).is_err());
    }

    #[test]
    fn python_zlib_output_is_read() {
        // zlib.compressobj(9, DEFLATED, -9): two messages with the context,
        // each flushed with Z_SYNC_FLUSH and the tail stripped.
        let text = b"Hello world, hello world, hello world".repeat(3);
        let mut i = Inflater::new(9, false);
        let a = hex("f248cdc9c95728cf2fca49d151c8c0c1f1a09a220000");
        assert_eq!(inflate_all(&mut i, &a, 1000).unwrap(), text);
        assert_eq!(inflate_all(&mut i, &hex("a2b3220000"), 1000).unwrap(), text);
        // And ours the same bytes at the same settings.
        let mut d = Deflater::new(9, 9, false).unwrap();
        assert_eq!(d.compress(&text), a);
        assert_eq!(d.compress(&text), hex("a2b3220000"));
        // The empty message.
        assert_eq!(Deflater::new(15, 6, false).unwrap().compress(b""), [0]);
    }

    #[test]
    fn window_bits_8_to_15_round_trip() {
        let data: Vec<u8> = (0..10_000)
            .flat_map(|i| format!("line {} of {}\n", i % 37, i % 11).into_bytes())
            .collect();
        for bits in 8..=15 {
            for takeover in [false, true] {
                // 8 on our side: we do not compress (see the module doc).
                let Some(mut d) = Deflater::new(bits, 6, !takeover) else {
                    assert_eq!(bits, 8);
                    continue;
                };
                let mut i = Inflater::new(bits, !takeover);
                for _ in 0..3 {
                    let z = d.compress(&data);
                    assert!(z.len() < data.len());
                    assert_eq!(inflate_all(&mut i, &z, data.len()).unwrap(), data, "{bits}");
                }
            }
            // The server's 8 is inflated with 9, as are its streams.
            let mut d = Deflater::new(9, 6, false).unwrap();
            let mut i = Inflater::new(8, false);
            assert_eq!(inflate_all(&mut i, &d.compress(&data), usize::MAX).unwrap(), data);
        }
    }

    #[test]
    fn a_bomb_fails_at_the_limit_with_bounded_memory() {
        let zeros = vec![0u8; 10 << 20];
        let z = Deflater::new(15, 9, false).unwrap().compress(&zeros);
        assert!(z.len() < 20_000, "{}", z.len());
        let limit = 1 << 20;
        let mut i = Inflater::new(15, false);
        let mut out = Vec::new();
        // Fed in small pieces, as frames arrive.
        let mut err = None;
        for piece in z.chunks(100) {
            if let Err(e) = i.inflate(piece, &mut out, limit) {
                err = Some(e);
                break;
            }
        }
        let e = err.expect("the limit was crossed");
        assert_eq!(e.code, crate::wire::CLOSE_TOO_BIG);
        assert!(out.capacity() <= limit + 1, "{}", out.capacity());
        // Exactly at the limit is fine.
        let mut i = Inflater::new(15, false);
        let z = Deflater::new(15, 9, false).unwrap().compress(&zeros[..limit]);
        assert_eq!(inflate_all(&mut i, &z, limit).unwrap().len(), limit);
    }

    #[test]
    fn corrupt_data_is_invalid_data() {
        let mut i = Inflater::new(15, false);
        let e = inflate_all(&mut i, &[0xff, 0xff, 0xff, 0xff], 100).unwrap_err();
        assert_eq!(e.code, crate::wire::CLOSE_INVALID_DATA);
    }

    #[test]
    fn an_empty_message_after_another_keeps_the_stream_in_step() {
        for level in [0, 1, 6, 9] {
            for no_context_takeover in [false, true] {
                let mut d = Deflater::new(15, level, no_context_takeover).unwrap();
                let mut i = Inflater::new(15, no_context_takeover);
                for msg in [&b"Hello"[..], b"", b"", b"Hello again", b"", b"Hello"] {
                    let z = d.compress(msg);
                    // RFC 7692 7.2.3.6: at least the one byte 0x00.
                    assert!(!z.is_empty(), "level {level}");
                    assert_eq!(inflate_all(&mut i, &z, 100).unwrap(), msg, "level {level}");
                }
            }
        }
    }
}
