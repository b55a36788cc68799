//! RFC 6455 client obligations, against a hostile server that writes raw
//! frames (tests/common/raw.rs). Each test states the outcome on the wire:
//! what the client delivers, and which close code it sends when it must
//! fail the connection.
mod common;
use common::{raw::*, *};
use std::{sync::mpsc, time::Duration};
use wsclient::*;

const WAIT: Duration = Duration::from_secs(10);

/// A raw echo server: data frames come back unmasked, a close is answered.
/// Every client frame is also reported on the channel.
fn echo() -> (Server, mpsc::Receiver<Wire>) {
    let (tx, rx) = mpsc::channel();
    let tx = std::sync::Mutex::new(tx);
    let server = hostile(move |peer| {
        let tx = tx.lock().unwrap().clone();
        peer.handshake();
        while let Ok(f) = peer.read() {
            match f.opcode {
                0x1 | 0x2 => peer.send(&Frame::new(f.opcode, &f.payload).bytes()),
                0x8 => peer.send(&frame(0x8, &f.payload)),
                _ => {}
            }
            let done = f.opcode == 0x8;
            let _ = tx.send(f);
            if done {
                return;
            }
        }
    });
    (server, rx)
}

fn text_of(len: usize) -> Vec<u8> {
    (0..len).map(|i| b'a' + (i % 26) as u8).collect()
}

#[test]
fn echo_at_frame_length_boundaries() {
    let (server, wire) = echo();
    let h = create_once(&server.url());
    expect_open(h);
    for len in [0, 125, 126, 127, 65535, 65536, 16 << 20] {
        for binary in [false, true] {
            let data = text_of(len);
            ok(send(h, &data, binary));
            match next(h, 20_000) {
                Ev::Message { data: got, binary: b } => {
                    assert_eq!((got.len(), b), (len, binary));
                    assert!(got == data, "payload of {len} bytes differs");
                }
                other => panic!("{len}: {other:?}"),
            }
            let f = wire.recv_timeout(WAIT).unwrap();
            assert_eq!(f.opcode, if binary { 0x2 } else { 0x1 });
            assert!(f.fin && f.rsv == 0 && f.mask.is_some(), "{len}: {f:?}");
            assert!(f.minimal_length, "{len}: the length must use the shortest form");
            assert_eq!(f.payload.len(), len);
        }
    }
    ok(close(h, 1000));
    assert!(matches!(next(h, 5000), Ev::Close { code: 1000, clean: true, .. }));
    ok(ws_free(h));
}

#[test]
fn fragmented_messages_are_reassembled() {
    // Text in uneven pieces with empty frames and a ping in between.
    let mut bytes = Frame::new(0x1, b"").more().bytes();
    bytes.extend(Frame::new(0x0, b"Hel").more().bytes());
    bytes.extend(Frame::new(0x0, b"").more().bytes());
    bytes.extend(Frame::new(0x0, "lo wö".as_bytes()).more().bytes());
    bytes.extend(frame(0x9, b"in-between ping"));
    bytes.extend(Frame::new(0x0, b"rld").bytes());
    // Binary, one byte a frame.
    let one_byte: Vec<u8> = (0..200u8).collect();
    bytes.extend(Frame::new(0x2, &one_byte[..1]).more().bytes());
    for b in &one_byte[1..199] {
        bytes.extend(Frame::new(0x0, &[*b]).more().bytes());
    }
    bytes.extend(Frame::new(0x0, &one_byte[199..]).bytes());
    // A message of nothing but empty frames.
    bytes.extend(Frame::new(0x1, b"").more().bytes());
    bytes.extend(Frame::new(0x0, b"").more().bytes());
    bytes.extend(Frame::new(0x0, b"").bytes());
    // Many frames (1000 of 64 bytes).
    let many = text_of(64_000);
    bytes.extend(Frame::new(0x1, &many[..64]).more().bytes());
    for (i, c) in many[64..].chunks(64).enumerate() {
        let f = Frame::new(0x0, c);
        bytes.extend(if i == 998 { f } else { f.more() }.bytes());
    }
    let (server, wire) = scripted(bytes);
    let h = create_once(&server.url());
    expect_open(h);
    let want = [
        ("Hello wörld".as_bytes().to_vec(), false),
        (one_byte, true),
        (Vec::new(), false),
        (many, false),
    ];
    for (data, binary) in want {
        assert_eq!(next(h, 5000), Ev::Message { data, binary });
    }
    let f = wire.recv_timeout(WAIT).unwrap();
    assert_eq!((f.opcode, f.payload.as_slice()), (0xA, &b"in-between ping"[..]));
    ok(ws_free(h));
}

#[test]
fn pings_are_answered_with_the_same_payload() {
    let payloads: Vec<Vec<u8>> = vec![vec![], b"abc".to_vec(), (0..125u8).collect()];
    let bytes = payloads.iter().flat_map(|p| frame(0x9, p)).collect();
    let (server, wire) = scripted(bytes);
    let h = create_once(&server.url());
    expect_open(h);
    for p in payloads {
        let f = wire.recv_timeout(WAIT).unwrap();
        assert_eq!((f.opcode, f.fin, f.payload), (0xA, true, p));
        assert!(f.mask.is_some());
    }
    ok(ws_free(h));
}

/// The server writes `bytes`; the client must report `kind`, send a close
/// frame with `code`, and end with 1006 (the connection failed).
fn must_fail(bytes: Vec<u8>, kind: ws_error_kind, code: u16) {
    let (server, wire) = scripted(bytes.clone());
    let h = create_once(&server.url());
    expect_open(h);
    let events = until_close(h, 5000);
    match &events[..] {
        [Ev::Error { kind: k, message, .. }, Ev::Close { code: 1006, clean: false, .. }] => {
            assert_eq!(*k, kind, "{message} (server sent {:02x?})", &bytes[..bytes.len().min(16)])
        }
        other => panic!("expected an error and a close for {bytes:02x?}, got {other:?}"),
    }
    let f = wire.recv_timeout(WAIT).expect("a close frame from the client");
    assert_eq!(
        f.close_code(),
        Some(code),
        "close frame for {:02x?}",
        &bytes[..bytes.len().min(16)]
    );
    assert!(f.mask.is_some());
    ok(ws_free(h));
}

fn protocol_error(bytes: Vec<u8>) {
    must_fail(bytes, ws_error_kind::WS_ERROR_PROTOCOL, 1002)
}

fn invalid_text(bytes: Vec<u8>) {
    must_fail(bytes, ws_error_kind::WS_ERROR_PROTOCOL, 1007)
}

#[test]
fn control_payload_over_125_bytes_is_1002() {
    protocol_error(frame(0x9, &[b'p'; 126]));
    protocol_error(frame(0xA, &[b'p'; 126]));
    let mut close = 1000u16.to_be_bytes().to_vec();
    close.extend([b'r'; 124]);
    protocol_error(frame(0x8, &close));
}

#[test]
fn fragmented_control_frames_are_1002() {
    protocol_error(Frame::new(0x9, b"x").more().bytes());
    protocol_error(Frame::new(0x8, &1000u16.to_be_bytes()).more().bytes());
}

#[test]
fn reserved_bits_are_1002() {
    for bits in [0x40, 0x20, 0x10] {
        protocol_error(Frame::new(0x1, b"x").rsv(bits).bytes());
    }
    protocol_error(Frame::new(0x9, b"x").rsv(0x40).bytes());
}

#[test]
fn reserved_opcodes_are_1002() {
    for op in (0x3..=0x7).chain(0xB..=0xF) {
        protocol_error(frame(op, b"x"));
    }
}

#[test]
fn continuation_without_a_start_is_1002() {
    protocol_error(frame(0x0, b"x"));
}

#[test]
fn new_message_inside_an_unfinished_one_is_1002() {
    let mut b = Frame::new(0x1, b"a").more().bytes();
    b.extend(frame(0x1, b"b"));
    protocol_error(b);
    let mut b = Frame::new(0x2, b"a").more().bytes();
    b.extend(frame(0x1, b"b"));
    protocol_error(b);
}

#[test]
fn masked_frame_from_the_server_is_1002() {
    protocol_error(Frame::new(0x1, b"hello").masked().bytes());
}

#[test]
fn one_byte_close_payload_is_1002() {
    protocol_error(frame(0x8, &[0x03]));
}

#[test]
fn invalid_close_codes_are_1002() {
    for code in [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535] {
        protocol_error(close_frame(code, b""));
    }
}

#[test]
fn invalid_utf8_in_a_whole_text_message_is_1007() {
    invalid_text(frame(0x1, &[0x61, 0xff, 0x62]));
    // An overlong encoding and a surrogate.
    invalid_text(frame(0x1, &[0xc0, 0xaf]));
    invalid_text(frame(0x1, &[0xed, 0xa0, 0x80]));
    // A sequence cut off by the end of the message.
    invalid_text(frame(0x1, &[0x61, 0xe2, 0x82]));
}

#[test]
fn invalid_utf8_split_across_fragments_is_1007_before_the_message_ends() {
    // The first fragment is already invalid; the rest never comes.
    invalid_text(Frame::new(0x1, &[0x61, 0xff]).more().bytes());
    // Valid prefix of a 3-byte sequence, then a byte that cannot continue it.
    let mut b = Frame::new(0x1, &[0xe2, 0x82]).more().bytes();
    b.extend(Frame::new(0x0, &[0x28]).more().bytes());
    invalid_text(b);
    // Cut off at the final fragment.
    let mut b = Frame::new(0x1, b"ok").more().bytes();
    b.extend(Frame::new(0x0, &[0xf0, 0x9d]).bytes());
    invalid_text(b);
}

#[test]
fn invalid_utf8_in_a_close_reason_is_1007() {
    invalid_text(close_frame(1000, &[0x62, 0x79, 0xff]));
}

#[test]
fn multibyte_characters_split_across_fragments_are_accepted() {
    let text = "€𝄞ü";
    let bytes = text.as_bytes();
    // Every byte in its own frame.
    let mut b = Frame::new(0x1, &bytes[..1]).more().bytes();
    for (i, c) in bytes[1..].iter().enumerate() {
        let f = Frame::new(0x0, &[*c]);
        b.extend(if i == bytes.len() - 2 { f } else { f.more() }.bytes());
    }
    let (server, _wire) = scripted(b);
    let h = create_once(&server.url());
    expect_open(h);
    assert_eq!(next(h, 5000), Ev::Message { data: bytes.to_vec(), binary: false });
    ok(ws_free(h));
}

#[test]
fn a_valid_server_close_is_echoed_with_its_code() {
    for (code, reason) in
        [(1000, ""), (1001, "going away"), (1011, "oops"), (3000, "x"), (4999, "ü")]
    {
        let (server, wire) = scripted(close_frame(code, reason.as_bytes()));
        let h = create_once(&server.url());
        expect_open(h);
        match next(h, 5000) {
            Ev::Close { code: c, reason: r, clean: true, .. } => {
                assert_eq!((c, r.as_str()), (code, reason))
            }
            other => panic!("{code}: {other:?}"),
        }
        let f = wire.recv_timeout(WAIT).unwrap();
        assert_eq!(f.close_code(), Some(code));
        ok(ws_free(h));
    }
}

#[test]
fn data_after_the_close_is_ignored() {
    let mut b = close_frame(1000, b"bye");
    b.extend(frame(0x1, b"too late"));
    b.extend(frame(0x9, b"late ping"));
    let (server, wire) = scripted(b);
    let h = create_once(&server.url());
    expect_open(h);
    match until_close(h, 5000).as_slice() {
        [Ev::Close { code: 1000, clean: true, .. }] => {}
        other => panic!("only the close is reported, got {other:?}"),
    }
    let f = wire.recv_timeout(WAIT).unwrap();
    assert_eq!(f.close_code(), Some(1000));
    // Nothing after the close frame: no pong for the late ping.
    assert!(wire.recv_timeout(Duration::from_millis(300)).is_err());
    ok(ws_free(h));
}

#[test]
fn every_client_frame_is_masked_with_a_fresh_key() {
    let (server, wire) = echo();
    let h = create_with(&server.url(), |cfg| {
        ok(ws_config_set_reconnect(cfg, false));
        ok(ws_config_set_ping_interval_ms(cfg, 20));
    });
    expect_open(h);
    let n = 300;
    for i in 0..n {
        ok(send(h, format!("message {i}").as_bytes(), i % 2 == 0));
    }
    let mut keys = std::collections::HashSet::new();
    let mut pings = 0;
    let mut data = 0;
    while data < n || pings < 2 {
        let f = wire.recv_timeout(WAIT).unwrap();
        let key = f.mask.unwrap_or_else(|| panic!("unmasked client frame {f:?}"));
        assert!(keys.insert(key), "mask key {key:02x?} used twice");
        match f.opcode {
            0x9 => pings += 1,
            0x1 | 0x2 => data += 1,
            _ => {}
        }
    }
    ok(ws_free(h));
}

#[test]
fn oversized_message_is_1009() {
    let (server, wire) = scripted(frame(0x2, &[0u8; 2000]));
    let h = create_with(&server.url(), |cfg| {
        ok(ws_config_set_reconnect(cfg, false));
        ok(ws_config_set_max_message_size(cfg, 1000));
    });
    expect_open(h);
    match until_close(h, 5000).as_slice() {
        [Ev::Error { kind: ws_error_kind::WS_ERROR_MESSAGE_TOO_LARGE, .. }, Ev::Close { code: 1006, .. }] =>
            {}
        other => panic!("{other:?}"),
    }
    assert_eq!(wire.recv_timeout(WAIT).unwrap().close_code(), Some(1009));
    ok(ws_free(h));
}

#[test]
fn tcp_drop_without_close_is_a_network_error() {
    let server = hostile(|peer| {
        peer.handshake();
    });
    let h = create_once(&server.url());
    expect_open(h);
    match until_close(h, 5000).as_slice() {
        [Ev::Error { kind: ws_error_kind::WS_ERROR_NETWORK, .. }, Ev::Close { code: 1006, clean: false, .. }] =>
            {}
        other => panic!("{other:?}"),
    }
    ok(ws_free(h));
}

#[test]
fn close_without_code_is_reported_as_1005() {
    let (server, wire) = scripted(frame(0x8, b""));
    let h = create_once(&server.url());
    expect_open(h);
    assert!(matches!(next(h, 5000), Ev::Close { code: 1005, clean: true, .. }));
    let f = wire.recv_timeout(WAIT).unwrap();
    assert_eq!((f.opcode, f.payload.len()), (0x8, 0), "the empty close is echoed empty");
    ok(ws_free(h));
}

#[test]
fn close_handshake_waits_a_bounded_time() {
    // The server reads our close frame and never answers.
    let (server, wire) = scripted(Vec::new());
    let h = create_with(&server.url(), |cfg| {
        ok(ws_config_set_reconnect(cfg, false));
        ok(ws_config_set_close_timeout_ms(cfg, 300));
    });
    expect_open(h);
    let start = std::time::Instant::now();
    ok(close(h, 1000));
    // Unbounded, it would never end (next() gives up after 10 s).
    assert!(matches!(next(h, 10000), Ev::Close { code: 1006, clean: false, .. }));
    let took = start.elapsed();
    assert!(took >= Duration::from_millis(300), "{took:?}");
    assert_eq!(wire.recv_timeout(WAIT).unwrap().close_code(), Some(1000));
    ok(ws_free(h));
}
