//! Echo of text and binary messages at frame-length boundaries, a server
//! close with code and reason, and a client close handshake.
mod common;
use common::*;
use wsclient::*;

#[test]
fn echo_at_frame_boundaries() {
    let server = echo_server();
    let h = create(&server.url());
    assert_eq!(expect_open(h), "");
    for size in [0usize, 1, 125, 126, 127, 65535, 65536, 16 << 20] {
        let binary: Vec<u8> = (0..size).map(|i| (i * 7 % 251) as u8).collect();
        ok(send(h, &binary, true));
        assert_eq!(next(h, 10000), Ev::Message { data: binary, binary: true }, "binary of {size}");
        let text: Vec<u8> = (0..size).map(|i| b'a' + (i % 26) as u8).collect();
        ok(send(h, &text, false));
        assert_eq!(next(h, 10000), Ev::Message { data: text, binary: false }, "text of {size}");
    }
    // Multi-byte UTF-8 survives intact.
    let text = "héllo wörld ✓ 🚀".as_bytes();
    ok(send(h, text, false));
    assert_eq!(next(h, 5000), Ev::Message { data: text.to_vec(), binary: false });
    ok(close(h, 1000));
    assert_eq!(
        next(h, 5000),
        Ev::Close {
            code: 1000,
            reason: String::new(),
            clean: true,
            unsent_messages: 0,
            unsent_bytes: 0
        }
    );
    assert_eq!(try_next(h, 0), Err(ws_status::WS_ERR_CLOSED), "close is the last event");
    ok(ws_free(h));
}

#[test]
fn server_close_with_code_and_reason() {
    let server = echo_server();
    let h = create_once(&server.url());
    expect_open(h);
    ok(send(h, b"!close 4001 going away now", false));
    match next(h, 5000) {
        Ev::Close { code: 4001, reason, clean: true, .. } => assert_eq!(reason, "going away now"),
        other => panic!("{other:?}"),
    }
    let mut state = ws_ready_state::WS_STATE_OPEN;
    ok(unsafe { ws_state(h, &mut state) });
    assert_eq!(state, ws_ready_state::WS_STATE_CLOSED);
    assert_eq!(send(h, b"late", false), ws_status::WS_ERR_CLOSED);
    ok(ws_free(h));
}

#[test]
fn messages_sent_while_connecting_go_out_after_open() {
    let server = echo_server();
    let h = create(&server.url());
    for i in 0..100 {
        ok(send(h, format!("early {i}").as_bytes(), false));
    }
    expect_open(h);
    for i in 0..100 {
        assert_eq!(
            next(h, 5000),
            Ev::Message { data: format!("early {i}").into_bytes(), binary: false }
        );
    }
    let mut buffered = 1;
    ok(unsafe { ws_buffered_amount(h, &mut buffered) });
    assert_eq!(buffered, 0);
    ok(ws_free(h));
}
