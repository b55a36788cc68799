//! The two halves together: what the Encoder writes, unmasked and framed
//! again as a server would send it, read back by a Decoder with the same
//! deflate parameters (a client's frames are masked, and a Decoder rightly
//! refuses masked frames, so the bytes cannot go across as they are).

use super::{Decoder, Deflate, Encoder, Incoming};
use std::io::Cursor;
use tungstenite::protocol::frame::FrameHeader;

/// The Encoder's frames, unmasked, with the mask bit cleared.
fn as_server_frames(mut bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let mut cursor = Cursor::new(bytes);
        let (mut header, len) = FrameHeader::parse(&mut cursor).unwrap().unwrap();
        let start = cursor.position() as usize;
        let mask = header.mask.take().expect("masked");
        header.format(len, &mut out).unwrap();
        let payload = &bytes[start..start + len as usize];
        out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i & 3]));
        bytes = &bytes[start + len as usize..];
    }
    out
}

/// How many frames have RSV1 set.
fn count_rsv1(mut bytes: &[u8]) -> usize {
    let mut n = 0;
    while !bytes.is_empty() {
        let mut cursor = Cursor::new(bytes);
        let (header, len) = FrameHeader::parse(&mut cursor).unwrap().unwrap();
        n += usize::from(header.rsv1);
        bytes = &bytes[cursor.position() as usize + len as usize..];
    }
    n
}

/// Deterministic message contents: some compressible, some not.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn message(&mut self) -> (Vec<u8>, bool) {
        let len = match self.next() % 4 {
            0 => (self.next() % 20) as usize,
            1 => (self.next() % 2000) as usize,
            2 => (self.next() % 70_000) as usize,
            _ => 1024,
        };
        match self.next() % 3 {
            0 => {
                let words = ["price", "qty", "\"side\":", "☃", "é", "{}", " ", "42"];
                let mut s = String::new();
                while s.len() < len {
                    s.push_str(words[(self.next() % words.len() as u64) as usize]);
                }
                (s.into_bytes(), false)
            }
            1 => ((0..len).map(|_| self.next() as u8).collect(), true),
            _ => ((0..len).map(|i| (i / 50) as u8).collect(), true),
        }
    }
}

fn round_trip(deflate: Option<&Deflate>, seed: u64) {
    let mut e = Encoder::new(deflate, seed);
    // The Decoder reads what the Encoder's peer would: our client_*
    // parameters are its server_* ones.
    let mirrored = deflate.map(|d| Deflate {
        server_no_context_takeover: d.client_no_context_takeover,
        server_max_window_bits: d.client_max_window_bits,
        ..d.clone()
    });
    let mut d = Decoder::new(1024, 1 << 20, mirrored.as_ref());
    let mut g = Gen(seed | 1);
    let mut wire = Vec::new();
    let mut sent = Vec::new();
    let mut compressed = 0;
    for i in 0..60 {
        let (data, binary) = g.message();
        sent.push(Ok(Incoming::Message { data: data.clone(), binary }));
        e.push_message(data, binary);
        if i % 9 == 0 {
            e.push_ping(vec![i as u8; i]);
            sent.push(Ok(Incoming::Ping(vec![i as u8; i])));
        }
        // Written in small batches, read back as they come.
        if i % 4 == 3 {
            let mut out = Vec::new();
            assert!(e.flush_to(&mut out).unwrap());
            compressed += count_rsv1(&out);
            let frames = as_server_frames(&out);
            for chunk in frames.chunks(997) {
                d.feed(chunk);
                wire.extend((&mut d).collect::<Vec<_>>());
            }
        }
    }
    let mut out = Vec::new();
    e.push_close(Some((1000, "end")));
    assert!(e.flush_to(&mut out).unwrap());
    d.feed(&as_server_frames(&out));
    wire.extend((&mut d).collect::<Vec<_>>());
    sent.push(Ok(Incoming::Close { code: 1000, reason: "end".into() }));
    if let Some(d) = deflate {
        // Something was compressed when it could be.
        assert_eq!(compressed > 0, d.client_max_window_bits > 8, "{compressed}");
    } else {
        assert_eq!(compressed, 0);
    }
    assert_eq!(wire.len(), sent.len(), "{deflate:?}");
    for (i, (got, want)) in wire.iter().zip(&sent).enumerate() {
        assert!(got == want, "{deflate:?} seed {seed}: item {i} differs");
    }
    assert_eq!(e.take_completed(), 60);
}

#[test]
fn encoder_to_decoder_without_deflate() {
    for seed in 1..4 {
        round_trip(None, seed);
    }
}

#[test]
fn encoder_to_decoder_with_deflate() {
    for bits in [9, 12, 15] {
        for no_takeover in [false, true] {
            for threshold in [0, 100, 1024] {
                let deflate = Deflate {
                    server_no_context_takeover: false,
                    client_no_context_takeover: no_takeover,
                    server_max_window_bits: 15,
                    client_max_window_bits: bits,
                    threshold,
                    level: if bits == 12 { 1 } else { 6 },
                };
                round_trip(Some(&deflate), u64::from(bits) * 100 + threshold as u64);
            }
        }
    }
}

/// A valid stream of server frames: fragmented messages, some compressed,
/// control frames between fragments, and the messages expected from it.
fn server_stream(g: &mut Gen, takeover: bool) -> (Vec<u8>, Vec<Incoming>) {
    let mut z = super::Deflater::new(15, 6, !takeover).unwrap();
    let (mut wire, mut want) = (Vec::new(), Vec::new());
    let push = |wire: &mut Vec<u8>, first: u8, payload: &[u8]| {
        let header = FrameHeader {
            is_final: first & 0x80 != 0,
            rsv1: first & 0x40 != 0,
            opcode: (first & 0x0f).into(),
            ..Default::default()
        };
        header.format(payload.len() as u64, wire).unwrap();
        wire.extend_from_slice(payload);
    };
    for _ in 0..12 {
        let (data, binary) = g.message();
        let compressed = g.next() % 2 == 0;
        let payload = if compressed { z.compress(&data) } else { data.clone() };
        let pieces = 1 + (g.next() % 4) as usize;
        let step = payload.len() / pieces + 1;
        let chunks: Vec<&[u8]> =
            if payload.is_empty() { vec![&[][..]] } else { payload.chunks(step).collect() };
        for (i, chunk) in chunks.iter().enumerate() {
            let mut first = if i > 0 {
                0
            } else if binary {
                2
            } else {
                1
            };
            if i == 0 && compressed {
                first |= 0x40;
            }
            if i == chunks.len() - 1 {
                first |= 0x80;
            }
            push(&mut wire, first, chunk);
            if i == chunks.len() - 1 {
                want.push(Incoming::Message { data: data.clone(), binary });
            }
            if g.next() % 3 == 0 {
                let p = vec![g.next() as u8; (g.next() % 126) as usize];
                push(&mut wire, 0x89, &p);
                want.push(Incoming::Ping(p));
            }
        }
    }
    push(&mut wire, 0x88, &[0x03, 0xe8, b'o', b'k']);
    want.push(Incoming::Close { code: 1000, reason: "ok".into() });
    (wire, want)
}

fn deflate_both(takeover: bool) -> Deflate {
    Deflate {
        server_no_context_takeover: !takeover,
        client_no_context_takeover: !takeover,
        server_max_window_bits: 15,
        client_max_window_bits: 15,
        threshold: 0,
        level: 6,
    }
}

#[test]
fn any_split_of_a_valid_stream_reads_the_same() {
    for seed in 1..6u64 {
        let mut g = Gen(seed * 7919);
        let takeover = seed % 2 == 0;
        let (wire, want) = server_stream(&mut g, takeover);
        for round in 0..20 {
            let mut d = Decoder::new(256 + round * 100, 1 << 20, Some(&deflate_both(takeover)));
            let mut got = Vec::new();
            let mut pos = 0;
            while pos < wire.len() {
                let n = match g.next() % 5 {
                    0 => 1,
                    1 => (g.next() % 16) as usize,
                    _ => (g.next() % 5000) as usize,
                };
                let end = (pos + n).min(wire.len());
                d.feed(&wire[pos..end]);
                pos = end;
                got.extend((&mut d).map(|r| r.expect("a valid stream")));
            }
            if got != want {
                let short = |i: &Incoming| match i {
                    Incoming::Message { data, binary } => format!("msg {} {binary}", data.len()),
                    other => format!("{other:?}"),
                };
                for (i, (a, b)) in got.iter().zip(&want).enumerate() {
                    eprintln!("{i}: {} | {} {}", short(a), short(b), a == b);
                }
                panic!("seed {seed} round {round}: {} items, {} wanted", got.len(), want.len());
            }
        }
    }
}

#[test]
fn damaged_streams_fail_cleanly_and_never_panic() {
    // Every outcome must be messages and at most one error, then nothing:
    // no panic, no endless output, whatever the bytes.
    for seed in 1..40u64 {
        let mut g = Gen(seed * 104_729);
        let takeover = seed % 2 == 0;
        let (mut wire, _) = server_stream(&mut g, takeover);
        for _ in 0..1 + g.next() % 8 {
            let i = (g.next() as usize) % wire.len();
            match g.next() % 3 {
                0 => wire[i] ^= 1 << (g.next() % 8),
                1 => wire[i] = g.next() as u8,
                _ => {
                    wire.truncate(i);
                    wire.extend((0..g.next() % 64).map(|_| g.next() as u8));
                }
            }
            if wire.is_empty() {
                break;
            }
        }
        for limit in [100, 1 << 20] {
            let mut d = Decoder::new(256, limit, Some(&deflate_both(takeover)));
            let mut errors = 0;
            for chunk in wire.chunks(1 + (seed as usize * 37) % 700) {
                d.feed(chunk);
                for item in &mut d {
                    if let Err(e) = item {
                        assert!([1002, 1007, 1009].contains(&e.code), "{e}");
                        errors += 1;
                    }
                }
            }
            assert!(errors <= 1);
            assert!(d.next().is_none());
        }
        // Random bytes, with and without deflate.
        let noise: Vec<u8> = (0..2000).map(|_| g.next() as u8).collect();
        for deflate in [None, Some(deflate_both(takeover))] {
            let mut d = Decoder::new(256, 1 << 16, deflate.as_ref());
            for chunk in noise.chunks(97) {
                d.feed(chunk);
                for _ in &mut d {}
            }
        }
    }
}
