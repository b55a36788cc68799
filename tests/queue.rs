//! The send queue: bounded in messages and bytes (the send that does not fit
//! gets WS_ERR_QUEUE_FULL and nothing is dropped), messages never sent are
//! counted in the close event, and queueing while disconnected can be off.
mod common;
use common::{proxy::*, *};
use wsclient::{ws_status::*, *};

fn down_client(setup: impl FnOnce(ws_config)) -> (Proxy, ws_handle) {
    let server = echo_server();
    let proxy = Proxy::start(server.port);
    proxy.set(Mode::Refuse);
    let h = create_with(&proxy.url(), |cfg| {
        ok(ws_config_set_initial_delay_ms(cfg, 50));
        setup(cfg);
    });
    until(h, 2000, |e| matches!(e, Ev::Reconnecting { .. }));
    (proxy, h)
}

#[test]
fn full_queue_refuses_and_unsent_are_counted_at_close() {
    let (_proxy, h) = down_client(|cfg| ok(ws_config_set_queue_limit(cfg, 3, 1000)));
    ok(send(h, b"one", false));
    ok(send(h, b"two", false));
    ok(send(h, b"three", false));
    assert_eq!(send(h, b"four", false), WS_ERR_QUEUE_FULL);
    assert!(last_error().contains("queue full"), "{}", last_error());
    let mut n = 0;
    ok(unsafe { ws_buffered_amount(h, &mut n) });
    assert_eq!(n, 11);
    ok(close(h, 1000));
    let evs = until(h, 2000, |e| matches!(e, Ev::Close { .. }));
    assert!(
        matches!(evs.last(), Some(Ev::Close { unsent_messages: 3, unsent_bytes: 11, .. })),
        "{evs:?}"
    );
    ok(ws_free(h));
}

#[test]
fn byte_limit_refuses_what_does_not_fit() {
    let (proxy, h) = down_client(|cfg| ok(ws_config_set_queue_limit(cfg, 100, 10)));
    ok(send(h, b"12345678", true));
    assert_eq!(send(h, b"123", true), WS_ERR_QUEUE_FULL);
    ok(send(h, b"12", true)); // exactly fits
    proxy.set(Mode::Pass);
    until(h, 5000, |e| matches!(e, Ev::Open { .. }));
    assert_eq!(next(h, 2000), Ev::Message { data: b"12345678".to_vec(), binary: true });
    assert_eq!(next(h, 2000), Ev::Message { data: b"12".to_vec(), binary: true });
    ok(send(h, b"room again", true));
    assert_eq!(next(h, 2000), Ev::Message { data: b"room again".to_vec(), binary: true });
    ok(ws_free(h));
}

#[test]
fn queueing_while_disconnected_can_be_off() {
    let (proxy, h) = down_client(|cfg| ok(ws_config_set_queue_while_disconnected(cfg, false)));
    assert_eq!(send(h, b"now", false), WS_ERR_NOT_CONNECTED);
    proxy.set(Mode::Pass);
    until(h, 5000, |e| matches!(e, Ev::Open { .. }));
    ok(send(h, b"now", false));
    assert_eq!(next(h, 2000), Ev::Message { data: b"now".to_vec(), binary: false });
    ok(ws_free(h));
}

#[test]
fn stats_count_both_ways() {
    let server = echo_server();
    let h = create(&server.url());
    expect_open(h);
    for _ in 0..10 {
        ok(send(h, b"12345", false));
    }
    for _ in 0..10 {
        next(h, 2000);
    }
    let mut s = ws_stats::default();
    ok(unsafe { ws_get_stats(h, &mut s) });
    assert_eq!(
        (s.messages_sent, s.bytes_sent, s.messages_received, s.bytes_received),
        (10, 50, 10, 50)
    );
    assert_eq!((s.reconnects, s.attempt, s.queued_messages, s.queued_bytes), (0, 0, 0, 0));
    assert!(s.last_open_unix_ms > 1_600_000_000_000);
    assert_eq!(unsafe { ws_get_stats(h, std::ptr::null_mut()) }, WS_ERR_INVALID_ARGUMENT);
    ok(ws_free(h));
}
