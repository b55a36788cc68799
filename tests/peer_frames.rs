//! What the client does with raw frames from the server: fragmented messages
//! are reassembled, pings are answered with the same payload, and protocol
//! violations are answered with the right close code before the connection
//! is dropped.
mod common;
use common::*;
use std::{
    io::{Read, Write},
    net::TcpStream,
    sync::mpsc,
    time::Duration,
};
use wsclient::*;

/// An unmasked server frame.
fn frame(opcode: u8, fin: bool, rsv1: bool, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![(if fin { 0x80 } else { 0 }) | (if rsv1 { 0x40 } else { 0 }) | opcode];
    match payload.len() {
        n if n < 126 => f.push(n as u8),
        n if n < 65536 => {
            f.push(126);
            f.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            f.push(127);
            f.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    f.extend_from_slice(payload);
    f
}

/// Read one client frame: (fin, opcode, unmasked payload); checks the mask bit.
fn read_frame(s: &mut TcpStream) -> std::io::Result<(bool, u8, Vec<u8>)> {
    let mut h = [0u8; 2];
    s.read_exact(&mut h)?;
    assert!(h[1] & 0x80 != 0, "client frames must be masked");
    let len = match h[1] & 0x7f {
        126 => {
            let mut b = [0u8; 2];
            s.read_exact(&mut b)?;
            u16::from_be_bytes(b) as usize
        }
        127 => {
            let mut b = [0u8; 8];
            s.read_exact(&mut b)?;
            u64::from_be_bytes(b) as usize
        }
        n => n as usize,
    };
    let mut mask = [0u8; 4];
    s.read_exact(&mut mask)?;
    let mut p = vec![0u8; len];
    s.read_exact(&mut p)?;
    for (i, b) in p.iter_mut().enumerate() {
        *b ^= mask[i % 4];
    }
    Ok((h[0] & 0x80 != 0, h[0] & 0x0f, p))
}

/// A server that completes the handshake, writes `bytes`, then reports every
/// frame the client sends until EOF.
fn raw_server(bytes: Vec<u8>) -> (Server, mpsc::Receiver<(bool, u8, Vec<u8>)>) {
    let (tx, rx) = mpsc::channel();
    let tx = std::sync::Mutex::new(tx);
    let server = serve(move |stream| {
        let tx = tx.lock().unwrap().clone();
        let ws = tungstenite::accept(stream).unwrap();
        let mut tcp = ws.into_inner();
        tcp.write_all(&bytes).unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        while let Ok(f) = read_frame(&mut tcp) {
            let _ = tx.send(f);
        }
    });
    (server, rx)
}

fn close_payload(code: u16) -> Vec<u8> {
    code.to_be_bytes().to_vec()
}

#[test]
fn fragmented_messages_are_reassembled() {
    let mut bytes = frame(0x1, false, false, b"Hel");
    bytes.extend(frame(0x0, false, false, b""));
    bytes.extend(frame(0x0, false, false, "lo wö".as_bytes()));
    bytes.extend(frame(0x9, true, false, b"in-between ping"));
    bytes.extend(frame(0x0, true, false, b"rld"));
    let one_byte: Vec<u8> = (0..200u8).collect();
    bytes.extend(frame(0x2, false, false, &one_byte[..1]));
    for b in &one_byte[1..199] {
        bytes.extend(frame(0x0, false, false, &[*b]));
    }
    bytes.extend(frame(0x0, true, false, &one_byte[199..]));
    let (server, frames) = raw_server(bytes);
    let h = create(&server.url());
    expect_open(h);
    assert_eq!(
        next(h, 5000),
        Ev::Message { data: "Hello wörld".as_bytes().to_vec(), binary: false }
    );
    assert_eq!(next(h, 5000), Ev::Message { data: one_byte, binary: true });
    let (_, op, payload) = frames.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!(
        (op, payload.as_slice()),
        (0xA, &b"in-between ping"[..]),
        "ping answered with its payload"
    );
    ok(ws_free(h));
}

fn expect_failure(bytes: Vec<u8>, setup: impl FnOnce(ws_config), kind: ws_error_kind, code: u16) {
    let (server, frames) = raw_server(bytes);
    let h = create_with(&server.url(), |cfg| {
        ok(ws_config_set_reconnect(cfg, false));
        setup(cfg)
    });
    expect_open(h);
    match next(h, 5000) {
        Ev::Error { kind: k, message, .. } => assert_eq!(k, kind, "{message}"),
        other => panic!("expected an error, got {other:?}"),
    }
    assert!(matches!(next(h, 5000), Ev::Close { code: 1006, clean: false, .. }));
    let (_, op, payload) = frames.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!(op, 0x8, "the client sends a close frame");
    assert_eq!(payload[..2], close_payload(code)[..], "close code");
    ok(ws_free(h));
}

#[test]
fn reserved_bits_fail_with_1002() {
    expect_failure(frame(0x1, true, true, b"x"), |_| {}, ws_error_kind::WS_ERROR_PROTOCOL, 1002);
}

#[test]
fn fragmented_control_frame_fails_with_1002() {
    expect_failure(frame(0x9, false, false, b"x"), |_| {}, ws_error_kind::WS_ERROR_PROTOCOL, 1002);
}

#[test]
fn invalid_utf8_fails_with_1007() {
    expect_failure(
        frame(0x1, true, false, &[0x61, 0xff, 0x62]),
        |_| {},
        ws_error_kind::WS_ERROR_PROTOCOL,
        1007,
    );
}

#[test]
fn oversized_message_fails_with_1009() {
    expect_failure(
        frame(0x2, true, false, &[0u8; 2000]),
        |cfg| ok(ws_config_set_max_message_size(cfg, 1000)),
        ws_error_kind::WS_ERROR_MESSAGE_TOO_LARGE,
        1009,
    );
}

#[test]
fn tcp_drop_without_close_is_a_network_error() {
    let server = serve(|stream| {
        let ws = tungstenite::accept(stream).unwrap();
        drop(ws);
    });
    let h = create_once(&server.url());
    expect_open(h);
    match next(h, 5000) {
        Ev::Error { kind: ws_error_kind::WS_ERROR_NETWORK, .. } => {}
        other => panic!("{other:?}"),
    }
    assert!(matches!(next(h, 5000), Ev::Close { code: 1006, clean: false, .. }));
    ok(ws_free(h));
}

#[test]
fn close_without_code_is_reported_as_1005() {
    let (server, frames) = raw_server(frame(0x8, true, false, b""));
    let h = create_once(&server.url());
    expect_open(h);
    assert!(matches!(next(h, 5000), Ev::Close { code: 1005, clean: true, .. }));
    let (_, op, _) = frames.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!(op, 0x8, "the close is echoed");
    ok(ws_free(h));
}

#[test]
fn close_handshake_waits_a_bounded_time() {
    // The server reads our close frame and never answers.
    let (server, frames) = raw_server(Vec::new());
    let h = create_with(&server.url(), |cfg| {
        ok(ws_config_set_reconnect(cfg, false));
        ok(ws_config_set_close_timeout_ms(cfg, 300));
    });
    expect_open(h);
    let start = std::time::Instant::now();
    ok(close(h, 1000));
    assert!(matches!(next(h, 5000), Ev::Close { code: 1006, clean: false, .. }));
    let took = start.elapsed();
    assert!(took >= Duration::from_millis(300) && took < Duration::from_millis(2000), "{took:?}");
    let (_, op, payload) = frames.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!((op, &payload[..2]), (0x8, &1000u16.to_be_bytes()[..]));
    ok(ws_free(h));
}
