//! Heartbeat through the fault proxy: a black-holed peer is detected within
//! the pong timeout and reconnect takes over; a big message trickling in
//! while pings go unanswered never trips the timeout; pongs carry the RTT;
//! the application-payload mode sends text pings.
mod common;
use common::{proxy::*, *};
use std::{
    sync::mpsc,
    time::{Duration, Instant},
};
use tungstenite::Message;
use wsclient::*;

fn heartbeat_client(url: &str, interval: u32, timeout: u32) -> ws_handle {
    create_with(url, |cfg| {
        ok(ws_config_set_ping_interval_ms(cfg, interval));
        ok(ws_config_set_pong_timeout_ms(cfg, timeout));
        ok(ws_config_set_initial_delay_ms(cfg, 100));
        ok(ws_config_set_connect_timeout_ms(cfg, 1000));
        ok(ws_config_set_random_seed(cfg, 1));
    })
}

#[test]
fn black_holed_peer_is_detected_then_reconnect_takes_over() {
    let server = echo_server();
    let proxy = Proxy::start(server.port);
    let h = heartbeat_client(&proxy.url(), 200, 200);
    expect_open(h);
    // Pongs come back with a round-trip time.
    let evs = until(h, 2000, |e| matches!(e, Ev::Pong { .. }));
    assert!(matches!(evs.last(), Some(Ev::Pong { rtt_us, .. }) if *rtt_us > 0));

    let start = Instant::now();
    proxy.set(Mode::BlackHole);
    let evs = until(h, 10000, |e| matches!(e, Ev::Error { .. }));
    let took = start.elapsed();
    match evs.last().unwrap() {
        Ev::Error { kind: ws_error_kind::WS_ERROR_HEARTBEAT_TIMEOUT, .. } => {}
        other => panic!("{other:?}"),
    }
    // Never before the 200 ms pong timeout (less a few ms: the last ping may
    // have left just before the black hole). How soon after is a timing
    // claim: the policy's exact deadlines are tested on a fake clock
    // (src/policy/heartbeat.rs) and the latency in the benchmark; here only
    // a bound that a loaded machine meets.
    assert!(
        took >= Duration::from_millis(190) && took <= Duration::from_secs(5),
        "detected after {took:?}"
    );
    assert!(matches!(
        next(h, 2000),
        Ev::Reconnecting { attempt: 1, kind: ws_error_kind::WS_ERROR_HEARTBEAT_TIMEOUT, .. }
    ));
    let mut state = ws_ready_state::WS_STATE_OPEN;
    ok(unsafe { ws_state(h, &mut state) });
    assert_eq!(state, ws_ready_state::WS_STATE_RECONNECTING);

    proxy.set(Mode::Pass);
    until(h, 5000, |e| matches!(e, Ev::Open { reconnect: true, .. }));
    ok(send(h, b"back", false));
    until(h, 2000, |e| *e == Ev::Message { data: b"back".to_vec(), binary: false });
    let mut stats = ws_stats::default();
    ok(unsafe { ws_get_stats(h, &mut stats) });
    assert_eq!(stats.reconnects, 1);
    assert!(stats.last_rtt_us > 0);
    assert_eq!(stats.attempt, 0);
    ok(ws_free(h));
}

#[test]
fn a_big_message_trickling_in_does_not_trip_the_timeout() {
    let server = echo_server();
    let proxy = Proxy::start(server.port);
    let h = heartbeat_client(&proxy.url(), 200, 200);
    expect_open(h);
    // 5 MiB at 2 MiB/s: about 2.5 s, during which the server cannot answer
    // pings (it is busy writing the echo) and no whole frame arrives.
    proxy.set(Mode::Throttle(2 << 20));
    let big = vec![42u8; 5 << 20];
    let start = Instant::now();
    ok(send(h, &big, true));
    let evs = until(h, 15000, |e| matches!(e, Ev::Message { .. } | Ev::Error { .. }));
    assert!(
        start.elapsed() > Duration::from_millis(1500),
        "the link really was slow: {:?}",
        start.elapsed()
    );
    match evs.last().unwrap() {
        Ev::Message { data, binary: true } => assert_eq!(data.len(), big.len()),
        other => panic!("expected the message, got {other:?}"),
    }
    assert!(
        !evs.iter().any(|e| matches!(e, Ev::Error { .. } | Ev::Reconnecting { .. })),
        "{evs:?}"
    );
    ok(ws_free(h));
}

/// A server that reports every message it reads (and answers text with a
/// JSON pong).
fn recording_server() -> (Server, mpsc::Receiver<Message>) {
    let (tx, rx) = mpsc::channel();
    let tx = std::sync::Mutex::new(tx);
    let server = serve(move |stream| {
        let tx = tx.lock().unwrap().clone();
        let mut ws = tungstenite::accept(stream).unwrap();
        while let Ok(m) = ws.read() {
            if m.is_text() {
                let _ = ws.send(Message::text("{\"op\":\"pong\"}"));
            }
            let _ = tx.send(m);
        }
    });
    (server, rx)
}

#[test]
fn application_payload_pings_are_text_messages() {
    let (server, rx) = recording_server();
    let h = create_with(&server.url(), |cfg| unsafe {
        ok(ws_config_set_ping_interval_ms(cfg, 100));
        ok(ws_config_set_ping_payload(cfg, cs("{\"op\":\"ping\"}").as_ptr()));
    });
    expect_open(h);
    for _ in 0..3 {
        assert_eq!(
            rx.recv_timeout(Duration::from_secs(2)).unwrap(),
            Message::text("{\"op\":\"ping\"}")
        );
    }
    ok(ws_free(h));
}

/// With the heartbeat off, a connection sends no ping for as long as a
/// connection with a 50 ms heartbeat, opened after it, takes to send three;
/// only the message it is asked to send reaches the server. Ordered by
/// events (the open, what the server reads), not by a wait on the clock.
#[test]
fn heartbeat_off_sends_no_pings() {
    // What each connection sends, tagged with its number (in accept order).
    let (tx, rx) = mpsc::channel();
    let tx = std::sync::Mutex::new(tx);
    let accepted = std::sync::atomic::AtomicUsize::new(0);
    let server = serve(move |stream| {
        let id = accepted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let tx = tx.lock().unwrap().clone();
        let mut ws = tungstenite::accept(stream).unwrap();
        while let Ok(m) = ws.read() {
            let _ = tx.send((id, m));
        }
    });
    let off = create_with(&server.url(), |cfg| ok(ws_config_set_ping_interval_ms(cfg, 0)));
    expect_open(off); // connection 0
    let on = heartbeat_client(&server.url(), 50, 5000);
    expect_open(on); // connection 1
    let mut from_off = Vec::new();
    let mut pings = 0;
    while pings < 3 {
        match rx.recv_timeout(Duration::from_secs(10)).expect("the 50 ms heartbeat pings") {
            (0, m) => from_off.push(m),
            (_, m) => pings += m.is_ping() as usize,
        }
    }
    ok(send(off, b"last", false));
    while from_off.last() != Some(&Message::text("last")) {
        if let (0, m) = rx.recv_timeout(Duration::from_secs(10)).expect("the message arrives") {
            from_off.push(m);
        }
    }
    assert_eq!(from_off, [Message::text("last")], "only the message, no ping");
    ok(ws_free(off));
    ok(ws_free(on));
}
