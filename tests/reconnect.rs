//! Reconnect through the fault proxy: backoff during an outage, messages
//! sent while down delivered once and in order, what is final and what
//! retries, user close in every phase, attempt reset after min uptime, and a
//! fresh header and URL set from the reconnecting callback.
// tungstenite's accept_hdr callback fixes the Err type.
#![allow(clippy::result_large_err)]
mod common;
use common::{proxy::*, *};
use std::{
    ffi::c_void,
    sync::{mpsc, Mutex},
    thread,
    time::{Duration, Instant},
};
use tungstenite::{
    handshake::server::{ErrorResponse, Request, Response},
    protocol::{frame::coding::CloseCode, CloseFrame},
};
use wsclient::*;

fn fast(cfg: ws_config) {
    ok(ws_config_set_initial_delay_ms(cfg, 100));
    ok(ws_config_set_max_delay_ms(cfg, 800));
    ok(ws_config_set_backoff_multiplier(cfg, 2.0));
    ok(ws_config_set_backoff_jitter(cfg, 0.2));
    ok(ws_config_set_random_seed(cfg, 7));
    ok(ws_config_set_ping_interval_ms(cfg, 0));
    ok(ws_config_set_connect_timeout_ms(cfg, 1000));
}

#[test]
fn outage_backoff_then_every_queued_message_once_in_order() {
    let server = echo_server();
    let proxy = Proxy::start(server.port);
    let h = create_with(&proxy.url(), fast);
    expect_open(h);
    let before = proxy.attempts();

    proxy.set(Mode::Refuse);
    proxy.cut();
    let evs = until(h, 2000, |e| matches!(e, Ev::Reconnecting { .. }));
    assert!(matches!(evs[0], Ev::Error { kind: ws_error_kind::WS_ERROR_NETWORK, .. }), "{evs:?}");
    // Sent while down: they wait in the queue.
    for i in 0..50 {
        ok(send(h, format!("queued {i}").as_bytes(), false));
    }
    let mut stats = ws_stats::default();
    ok(unsafe { ws_get_stats(h, &mut stats) });
    assert_eq!(stats.queued_messages, 50);

    let mut delays = vec![];
    if let Some(Ev::Reconnecting { attempt, delay_ms, .. }) = evs.last() {
        delays.push((*attempt, *delay_ms));
    }
    // The outage lasts until five attempts have been refused (about 2.3 s
    // of backoff), however long the machine takes for them.
    while delays.len() < 5 {
        match next(h, 10000) {
            Ev::Reconnecting { attempt, delay_ms, .. } => delays.push((attempt, delay_ms)),
            Ev::Error { .. } => {} // each refused attempt (a reset)
            other => panic!("{other:?} while down, after {delays:?}"),
        }
    }
    proxy.set(Mode::Pass);
    let evs = until(h, 5000, |e| matches!(e, Ev::Open { .. }));
    assert!(matches!(evs.last(), Some(Ev::Open { reconnect: true, .. })));
    for e in &evs {
        if let Ev::Reconnecting { attempt, delay_ms, .. } = e {
            delays.push((*attempt, *delay_ms));
        }
    }
    // The first retry after the drop waits a random delay in [0, 100] ms
    // (full jitter); the failed attempts after it wait 200, 400, 800, 800,
    // ... ms within 20 % jitter.
    assert!(delays[0].1 <= 100, "{delays:?}");
    for (i, (attempt, delay)) in delays.iter().enumerate() {
        assert_eq!(*attempt as usize, i + 1);
        if i == 0 {
            continue;
        }
        let base = (100u64 << i).min(800) as f64;
        assert!(
            (*delay as f64) >= base * 0.8 - 1.0 && (*delay as f64) <= (base * 1.2).min(800.0) + 1.0,
            "{delays:?}"
        );
    }
    assert!(delays.len() >= 5, "{delays:?}");
    // Each reconnecting event is one attempt at the proxy.
    assert_eq!(proxy.attempts() - before, delays.len());
    for i in 0..50 {
        assert_eq!(
            next(h, 5000),
            Ev::Message { data: format!("queued {i}").into_bytes(), binary: false }
        );
    }
    assert_eq!(try_next(h, 300), Err(ws_status::WS_ERR_TIMEOUT), "each exactly once");
    ok(ws_free(h));
}

fn closing_server(code: u16) -> Server {
    serve(move |stream| {
        let mut ws = tungstenite::accept(stream).unwrap();
        let _ = ws.close(Some(CloseFrame { code: CloseCode::from(code), reason: "bye".into() }));
        while ws.read().is_ok() {}
    })
}

#[test]
fn every_server_close_reconnects_by_default_and_says_how_it_ended() {
    // 1000 included: servers use it when they rotate connections.
    for code in [1000, 1001, 1011, 4000] {
        let server = closing_server(code);
        let h = create_with(&server.url(), fast);
        expect_open(h);
        match next(h, 2000) {
            Ev::Reconnecting {
                attempt: 1,
                kind: ws_error_kind::WS_ERROR_NONE,
                message,
                code: c,
                reason,
                clean: true,
                ..
            } => {
                assert_eq!(c, code);
                assert_eq!(reason, "bye");
                assert!(message.contains(&code.to_string()), "{message}")
            }
            other => panic!("{code}: {other:?}"),
        }
        until(h, 2000, |e| matches!(e, Ev::Open { reconnect: true, .. }));
        ok(ws_free(h));
    }
}

#[test]
fn final_close_codes_are_configurable() {
    let server = closing_server(4001);
    let h = create_with(&server.url(), |cfg| {
        fast(cfg);
        ok(unsafe { ws_config_set_final_close_codes(cfg, [4001u16].as_ptr(), 1) });
    });
    expect_open(h);
    assert!(matches!(next(h, 2000), Ev::Close { code: 4001, .. }));
    ok(ws_free(h));
}

#[test]
fn handshake_503_retries_403_is_fatal() {
    let server = rejecting_server(503);
    let h = create_with(&server.url(), fast);
    assert!(matches!(next(h, 2000), Ev::Error { http_status: 503, .. }));
    assert!(matches!(
        next(h, 2000),
        Ev::Reconnecting { attempt: 1, kind: ws_error_kind::WS_ERROR_HANDSHAKE_REJECTED, .. }
    ));
    assert!(matches!(next(h, 2000), Ev::Error { http_status: 503, .. }));
    assert!(matches!(next(h, 2000), Ev::Reconnecting { attempt: 2, .. }));
    ok(ws_free(h));

    let server = rejecting_server(403);
    let h = create_with(&server.url(), fast);
    assert!(matches!(next(h, 2000), Ev::Error { http_status: 403, .. }));
    assert!(matches!(next(h, 2000), Ev::Close { code: 1006, .. }));
    thread::sleep(Duration::from_millis(300));
    assert_eq!(server.accepted.load(std::sync::atomic::Ordering::SeqCst), 1);
    ok(ws_free(h));
}

fn assert_no_more_attempts(proxy: &Proxy, h: ws_handle) {
    let n = proxy.attempts();
    thread::sleep(Duration::from_millis(1200));
    assert_eq!(proxy.attempts(), n, "no connection attempt after a user close");
    assert_eq!(try_next(h, 0), Err(ws_status::WS_ERR_CLOSED), "close was the last event");
}

#[test]
fn user_close_while_open_never_reconnects() {
    let server = echo_server();
    let proxy = Proxy::start(server.port);
    let h = create_with(&proxy.url(), fast);
    expect_open(h);
    ok(close(h, 1000));
    assert!(matches!(next(h, 2000), Ev::Close { code: 1000, clean: true, .. }));
    assert_no_more_attempts(&proxy, h);
    ok(ws_free(h));
}

#[test]
fn user_close_while_connecting_never_reconnects() {
    let server = echo_server();
    let proxy = Proxy::start(server.port);
    proxy.set(Mode::BlackHole); // the upgrade hangs
    let h = create_with(&proxy.url(), fast);
    thread::sleep(Duration::from_millis(200));
    ok(close(h, 1000));
    assert!(matches!(next(h, 2000), Ev::Close { code: 1006, clean: false, .. }));
    assert_no_more_attempts(&proxy, h);
    ok(ws_free(h));
}

#[test]
fn user_close_during_backoff_ends_it_at_once() {
    let server = echo_server();
    let proxy = Proxy::start(server.port);
    proxy.set(Mode::Refuse);
    let h = create_with(&proxy.url(), |cfg| {
        fast(cfg);
        ok(ws_config_set_initial_delay_ms(cfg, 5000));
        ok(ws_config_set_max_delay_ms(cfg, 5000));
    });
    until(h, 2000, |e| matches!(e, Ev::Reconnecting { .. }));
    let start = Instant::now();
    ok(close(h, 1000));
    assert!(matches!(next(h, 5000), Ev::Close { code: 1006, .. }));
    // Not after the 5 s delay: a bound well under it, not a timing claim.
    assert!(start.elapsed() < Duration::from_millis(2500), "close took {:?}", start.elapsed());
    assert_no_more_attempts(&proxy, h);
    ok(ws_free(h));
}

#[test]
fn attempts_reset_only_after_min_uptime() {
    let server = echo_server();
    let proxy = Proxy::start(server.port);
    let h = create_with(&proxy.url(), |cfg| {
        fast(cfg);
        ok(ws_config_set_min_uptime_ms(cfg, 1500));
    });
    expect_open(h);
    thread::sleep(Duration::from_millis(1600));
    proxy.cut(); // up 1.6 s >= 1.5 s: attempt 1
    assert!(matches!(
        until(h, 2000, |e| matches!(e, Ev::Reconnecting { .. })).last(),
        Some(Ev::Reconnecting { attempt: 1, .. })
    ));
    until(h, 2000, |e| matches!(e, Ev::Open { .. }));
    proxy.cut(); // up only briefly (well under 1.5 s): the count goes on
    assert!(matches!(
        until(h, 2000, |e| matches!(e, Ev::Reconnecting { .. })).last(),
        Some(Ev::Reconnecting { attempt: 2, .. })
    ));
    until(h, 2000, |e| matches!(e, Ev::Open { .. }));
    ok(ws_free(h));
}

#[test]
fn max_attempts_gives_up_with_a_close() {
    let h = create_with("ws://127.0.0.1:1/", |cfg| {
        fast(cfg);
        ok(ws_config_set_initial_delay_ms(cfg, 10));
        ok(ws_config_set_max_attempts(cfg, 2));
    });
    let evs = until(h, 3000, |e| matches!(e, Ev::Close { .. }));
    let attempts = evs.iter().filter(|e| matches!(e, Ev::Reconnecting { .. })).count();
    let errors = evs.iter().filter(|e| matches!(e, Ev::Error { .. })).count();
    assert_eq!((attempts, errors), (2, 3), "{evs:?}");
    match evs.last().unwrap() {
        Ev::Close { code: 1006, reason, .. } => assert!(reason.contains("gave up"), "{reason}"),
        other => panic!("{other:?}"),
    }
    ok(ws_free(h));
}

struct TokenCtx {
    events: Mutex<mpsc::Sender<Ev>>,
    next_url: String,
}

unsafe extern "C" fn refresh_token(ev: *const ws_event, ud: *mut c_void) {
    let ctx = &*(ud as *const TokenCtx);
    let e = owned(&*ev);
    if let Ev::Reconnecting { .. } = e {
        ok(ws_set_header((*ev).handle, cs("X-Token").as_ptr(), cs("fresh").as_ptr()));
        ok(ws_set_url((*ev).handle, cs(&ctx.next_url).as_ptr()));
    }
    let _ = ctx.events.lock().unwrap().send(e);
}

#[test]
fn header_and_url_refreshed_from_the_reconnecting_callback() {
    // Accepts only X-Token: fresh.
    let server = serve(|stream| {
        let cb = |req: &Request, resp: Response| -> Result<Response, ErrorResponse> {
            let fresh = req.headers().get("x-token").is_some_and(|v| v == "fresh");
            if fresh && req.uri().query() == Some("v=2") {
                Ok(resp)
            } else {
                let mut r = ErrorResponse::new(Some("expired".into()));
                *r.status_mut() = tungstenite::http::StatusCode::UNAUTHORIZED;
                Err(r)
            }
        };
        if let Ok(mut ws) = tungstenite::accept_hdr(stream, cb) {
            echo_loop(&mut ws);
        }
    });
    let (tx, rx) = mpsc::channel();
    let ctx =
        Box::new(TokenCtx { events: Mutex::new(tx), next_url: format!("{}/?v=2", server.url()) });
    let h = create_with(&server.url(), |cfg| unsafe {
        fast(cfg);
        ok(ws_config_add_header(cfg, cs("X-Token").as_ptr(), cs("stale").as_ptr()));
        ok(ws_config_set_fatal_http_statuses(cfg, std::ptr::null(), 0)); // 401 retries here
    });
    ok(unsafe { ws_set_callback(h, Some(refresh_token), &*ctx as *const TokenCtx as *mut c_void) });
    let mut got = vec![];
    loop {
        let e = rx.recv_timeout(Duration::from_secs(5)).unwrap();
        let open = matches!(e, Ev::Open { .. });
        got.push(e);
        if open {
            break;
        }
    }
    assert!(matches!(got[0], Ev::Error { http_status: 401, .. }), "{got:?}");
    assert!(matches!(got[1], Ev::Reconnecting { attempt: 1, .. }));
    assert!(matches!(got[2], Ev::Open { reconnect: false, .. }), "first open: {got:?}");
    ok(ws_free(h));
}
