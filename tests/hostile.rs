//! What a hostile server can announce or select, against the rules: a
//! frame length meant to make the client allocate, a length with its top
//! bit set, an extension the client never offered, close reasons with NUL
//! bytes; and options that would make a hot reconnect loop.
mod common;
use common::raw::{close_frame, frame, hostile, scripted, Peer};
use common::*;
use std::{os::unix::process::CommandExt, process::Command, time::Duration};
use wsclient::*;

/// A binary frame header announcing `len` bytes, with no payload after it.
fn header_only(len: u64) -> Vec<u8> {
    let mut h = vec![0x82, 127];
    h.extend_from_slice(&len.to_be_bytes());
    h
}

fn error_then_close(h: ws_handle) -> (ws_error_kind, String) {
    let evs = until_close(h, 20_000);
    match &evs[..] {
        [Ev::Open { .. }, Ev::Error { kind, message, .. }, Ev::Close { code: 1006, .. }] => {
            (*kind, message.clone())
        }
        other => panic!("{other:?}"),
    }
}

const CHILD: &str = "WSCLIENT_TEST_AS_CHILD";

/// Run in a child process (this test binary, this test only) whose address
/// space is limited to 800 MB: a 1 GiB frame header must give an error
/// event, not an allocation failure that aborts the process.
#[test]
fn a_1_gib_frame_header_under_an_address_space_limit_is_an_error_not_an_abort() {
    if std::env::var_os(CHILD).is_some() {
        let (server, _) = scripted(header_only(1 << 30));
        let h = create_with(&server.url(), |cfg| {
            ok(ws_config_set_reconnect(cfg, false));
            ok(ws_config_set_max_message_size(cfg, 2 << 30));
        });
        let (kind, message) = error_then_close(h);
        assert_eq!(kind, ws_error_kind::WS_ERROR_MESSAGE_TOO_LARGE, "{message}");
        ok(ws_free(h));
        println!("CHILD-OK");
        return;
    }
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "--exact",
        "a_1_gib_frame_header_under_an_address_space_limit_is_an_error_not_an_abort",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(CHILD, "1")
    .env("MALLOC_ARENA_MAX", "2");
    // SAFETY: setrlimit only, between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            let limit = libc::rlimit { rlim_cur: 800_000 * 1024, rlim_max: 800_000 * 1024 };
            if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("CHILD-OK"),
        "the child failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn frames_larger_than_the_frame_limit_fail_with_1009_before_any_payload() {
    let (server, frames) = scripted(header_only(200 << 20));
    let h = create_with(&server.url(), |cfg| {
        ok(ws_config_set_reconnect(cfg, false));
        ok(ws_config_set_max_message_size(cfg, 1 << 30));
        ok(ws_config_set_max_frame_size(cfg, 100 << 20));
    });
    let (kind, message) = error_then_close(h);
    assert_eq!(kind, ws_error_kind::WS_ERROR_MESSAGE_TOO_LARGE, "{message}");
    let close = frames.recv_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!(close.close_code(), Some(1009));
    ok(ws_free(h));
}

#[test]
fn a_message_in_frames_under_the_frame_limit_may_reach_the_message_limit() {
    // 3 frames of 600 KiB under a 1 MiB frame limit: a 1.8 MiB message.
    let part = vec![7u8; 600 << 10];
    let mut bytes = common::raw::Frame::new(0x2, &part).more().bytes();
    bytes.extend(common::raw::Frame::new(0x0, &part).more().bytes());
    bytes.extend(common::raw::Frame::new(0x0, &part).bytes());
    let (server, _) = scripted(bytes);
    let h = create_with(&server.url(), |cfg| {
        ok(ws_config_set_reconnect(cfg, false));
        ok(ws_config_set_max_frame_size(cfg, 1 << 20));
    });
    expect_open(h);
    match next(h, 10_000) {
        Ev::Message { data, binary: true } => assert_eq!(data.len(), 3 * part.len()),
        other => panic!("{other:?}"),
    }
    ok(ws_free(h));
}

#[test]
fn a_length_with_the_top_bit_set_is_a_protocol_error_1002() {
    let (server, frames) = scripted(header_only(1 << 63));
    let h = create_with(&server.url(), |cfg| ok(ws_config_set_reconnect(cfg, false)));
    let (kind, message) = error_then_close(h);
    assert_eq!(kind, ws_error_kind::WS_ERROR_PROTOCOL, "{message}");
    assert!(message.contains("most significant bit"), "{message}");
    let close = frames.recv_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!(close.close_code(), Some(1002));
    ok(ws_free(h));
}

#[test]
fn an_extension_the_client_did_not_offer_fails_the_connection() {
    // permessage-deflate is offered by default: here it is turned off.
    let server = hostile(|peer: &mut Peer| {
        let req = peer.read_request();
        assert!(!req.to_ascii_lowercase().contains("sec-websocket-extensions"), "{req}");
        let key = req
            .lines()
            .find_map(|l| {
                l.strip_prefix("Sec-WebSocket-Key: ").or(l.strip_prefix("sec-websocket-key: "))
            })
            .unwrap()
            .trim()
            .to_string();
        let accept = tungstenite::handshake::derive_accept_key(key.as_bytes());
        peer.send(
            format!(
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                 Sec-WebSocket-Accept: {accept}\r\n\
                 Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n"
            )
            .as_bytes(),
        );
        std::thread::sleep(Duration::from_secs(5));
    });
    let h = create_with(&server.url(), |cfg| {
        ok(ws_config_set_reconnect(cfg, false));
        ok(ws_config_set_permessage_deflate(cfg, false));
    });
    let evs = until_close(h, 20_000);
    match &evs[..] {
        [Ev::Error { kind: ws_error_kind::WS_ERROR_PROTOCOL, message, .. }, Ev::Close { code: 1006, .. }] =>
        {
            assert!(
                message.contains("permessage-deflate") && message.contains("not offer"),
                "{message}"
            )
        }
        other => panic!("{other:?}"),
    }
    ok(ws_free(h));
}

#[test]
fn close_reasons_keep_their_nul_bytes_and_reason_len_is_their_length() {
    let reason = b"bye\0now\0";
    let (server, _) = scripted(close_frame(4000, reason));
    let h = create_with(&server.url(), |cfg| ok(ws_config_set_reconnect(cfg, false)));
    expect_open(h);
    match next(h, 10_000) {
        Ev::Close { code: 4000, reason: r, clean: true, .. } => assert_eq!(r.as_bytes(), reason),
        other => panic!("{other:?}"),
    }
    ok(ws_free(h));
}

#[test]
fn a_zero_initial_delay_is_refused_and_no_options_make_a_hot_loop() {
    let mut cfg = 0;
    ok(unsafe { ws_config_new(&mut cfg) });
    assert_eq!(ws_config_set_initial_delay_ms(cfg, 0), ws_status::WS_ERR_INVALID_ARGUMENT);
    assert!(last_error().contains("initial delay"), "{}", last_error());
    ok(ws_config_free(cfg));
    // The smallest delays the options allow, against a server that accepts
    // and closes at once: attempts are spaced by at least the floor.
    let server = hostile(|peer: &mut Peer| {
        peer.handshake();
        peer.send(&frame(0x8, &1000u16.to_be_bytes()));
    });
    let h = create_with(&server.url(), |cfg| {
        ok(ws_config_set_initial_delay_ms(cfg, 1));
        ok(ws_config_set_backoff_multiplier(cfg, 1.0));
        ok(ws_config_set_min_uptime_ms(cfg, 60_000));
        ok(ws_config_set_ping_interval_ms(cfg, 0));
    });
    let mut delays = Vec::new();
    while delays.len() < 20 {
        if let Ev::Reconnecting { delay_ms, code: 1000, .. } = next(h, 20_000) {
            delays.push(delay_ms);
        }
    }
    // The first retry after an open is free (full jitter in [0, 1] ms); the
    // ones after a connection that dropped at once wait the floor at least.
    assert!(delays[1..].iter().all(|d| *d >= 10), "{delays:?}");
    ok(ws_free(h));
}
