//! Pings of the program's own (`ws_ping`), the pongs that answer them, and
//! the server's pings as events (`ws_config_set_ping_events`).
mod common;
use common::{raw::*, *};
use std::{ptr::null, sync::mpsc, time::Duration};
use wsclient::*;

fn quiet(url: &str, ping_events: bool) -> ws_handle {
    create_with(url, |cfg| {
        ok(ws_config_set_reconnect(cfg, false));
        ok(ws_config_set_ping_interval_ms(cfg, 0));
        ok(ws_config_set_ping_events(cfg, ping_events));
    })
}

#[test]
fn a_ping_of_ours_is_answered_by_a_pong_with_its_payload_and_round_trip() {
    let server = echo_server();
    let h = quiet(&server.url(), false);
    expect_open(h);
    ok(unsafe { ws_ping(h, b"are you there".as_ptr(), 13) });
    ok(unsafe { ws_ping(h, null(), 0) });
    match next(h, 5000) {
        Ev::Pong { data, rtt_us } => {
            assert_eq!(data, b"are you there");
            assert!(rtt_us > 0);
        }
        other => panic!("{other:?}"),
    }
    assert!(
        matches!(next(h, 5000), Ev::Pong { ref data, rtt_us } if data.is_empty() && rtt_us > 0)
    );
    let mut stats = ws_stats::default();
    ok(unsafe { ws_get_stats(h, &mut stats) });
    assert!(stats.last_rtt_us > 0, "the round trip is the last one known");
    ok(close(h, 1000));
    until_close(h, 5000);
    ok(ws_free(h));
}

#[test]
fn bad_pings_are_refused_with_the_reason() {
    let h = quiet("ws://127.0.0.1:1/", false);
    let big = [7u8; 126];
    assert_eq!(unsafe { ws_ping(h, big.as_ptr(), 126) }, ws_status::WS_ERR_INVALID_ARGUMENT);
    assert!(last_error().contains("125"), "{}", last_error());
    assert_eq!(unsafe { ws_ping(h, null(), 1) }, ws_status::WS_ERR_INVALID_ARGUMENT);
    // Not open (nothing listens on port 1): the ping would reach no server.
    // Without reconnect the refused connect may already have closed it.
    let st = unsafe { ws_ping(h, b"x".as_ptr(), 1) };
    assert!(matches!(st, ws_status::WS_ERR_NOT_CONNECTED | ws_status::WS_ERR_CLOSED), "{st:?}");
    ok(ws_free(h));
    assert_eq!(unsafe { ws_ping(h, null(), 0) }, ws_status::WS_ERR_INVALID_HANDLE);
}

#[test]
fn a_closing_connection_refuses_pings() {
    let server = echo_server();
    let h = quiet(&server.url(), false);
    expect_open(h);
    ok(close(h, 1000));
    assert_eq!(unsafe { ws_ping(h, b"late".as_ptr(), 4) }, ws_status::WS_ERR_CLOSED);
    until_close(h, 5000);
    ok(ws_free(h));
}

/// A server that pings the client with `payload`, sends a pong of its own,
/// then a text message; it reports the client's answer to the ping.
fn pinging_server(payload: &'static [u8]) -> (Server, mpsc::Receiver<Wire>) {
    let (tx, rx) = mpsc::channel();
    let tx = std::sync::Mutex::new(tx);
    let server = hostile(move |peer| {
        peer.handshake();
        peer.send(&frame(0x9, payload));
        peer.send(&frame(0xA, b"unasked"));
        peer.send(&frame(0x1, b"after"));
        while let Ok(wire) = peer.read() {
            if wire.opcode == 0x8 {
                peer.send(&close_frame(1000, b""));
                break;
            }
            if wire.opcode == 0xA {
                let _ = tx.lock().unwrap().send(wire);
            }
        }
    });
    (server, rx)
}

#[test]
fn the_servers_pings_are_events_when_asked_for_and_always_answered() {
    for ping_events in [true, false] {
        let (server, pongs) = pinging_server(b"tick");
        let h = quiet(&server.url(), ping_events);
        expect_open(h);
        let mut seen = Vec::new();
        loop {
            let ev = next(h, 5000);
            let last = matches!(ev, Ev::Message { .. });
            seen.push(ev);
            if last {
                break;
            }
        }
        let mut want = vec![];
        if ping_events {
            want.push(Ev::Ping { data: b"tick".to_vec() });
        }
        // A pong the server sent on its own: no round trip to tell.
        want.push(Ev::Pong { rtt_us: 0, data: b"unasked".to_vec() });
        want.push(Ev::Message { data: b"after".to_vec(), binary: false });
        assert_eq!(seen, want, "ping events {ping_events}");
        let answer = pongs.recv_timeout(Duration::from_secs(5)).expect("the ping was answered");
        assert_eq!(answer.payload, b"tick");
        ok(close(h, 1000));
        until_close(h, 5000);
        ok(ws_free(h));
    }
}

#[test]
fn a_close_without_a_code_sends_a_close_frame_without_a_body() {
    let (server, frames) = scripted(Vec::new());
    let h = quiet(&server.url(), false);
    expect_open(h);
    assert_eq!(unsafe { ws_close(h, 0, cs("why").as_ptr()) }, ws_status::WS_ERR_INVALID_ARGUMENT);
    ok(unsafe { ws_close(h, 0, std::ptr::null()) });
    let close = frames.iter().find(|w| w.opcode == 0x8).expect("a close frame");
    assert!(close.payload.is_empty(), "{close:?}");
    ok(ws_free(h));
}
