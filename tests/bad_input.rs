//! Every kind of bad input gets its documented status, never a crash, and
//! leaves the connection usable where that makes sense.
mod common;
use common::*;
use std::ptr::{null, null_mut};
use wsclient::{ws_status::*, *};

#[test]
fn null_pointers() {
    unsafe {
        let mut h = 0;
        assert_eq!(ws_create(null(), &mut h), WS_ERR_INVALID_ARGUMENT);
        assert_eq!(ws_create(cs("ws://127.0.0.1:1").as_ptr(), null_mut()), WS_ERR_INVALID_ARGUMENT);
        assert_eq!(ws_config_new(null_mut()), WS_ERR_INVALID_ARGUMENT);
        let mut cfg = 0;
        ok(ws_config_new(&mut cfg));
        assert_eq!(ws_config_set_url(cfg, null()), WS_ERR_INVALID_ARGUMENT);
        assert_eq!(ws_config_add_header(cfg, null(), cs("v").as_ptr()), WS_ERR_INVALID_ARGUMENT);
        assert_eq!(ws_config_add_header(cfg, cs("X-A").as_ptr(), null()), WS_ERR_INVALID_ARGUMENT);
        assert_eq!(ws_config_add_subprotocol(cfg, null()), WS_ERR_INVALID_ARGUMENT);
        assert_eq!(ws_config_set_ca_file(cfg, null()), WS_ERR_INVALID_ARGUMENT);
        assert_eq!(ws_config_set_client_cert(cfg, null(), null()), WS_ERR_INVALID_ARGUMENT);
        assert_eq!(ws_create_with_config(cfg, &mut h), WS_ERR_INVALID_URL, "no URL set");
        ok(ws_config_free(cfg));

        let server = echo_server();
        let h = create(&server.url());
        expect_open(h);
        assert_eq!(ws_send(h, null(), 5, false), WS_ERR_INVALID_ARGUMENT);
        ok(ws_send(h, null(), 0, true)); // an empty message is fine
        assert_eq!(next(h, 5000), Ev::Message { data: vec![], binary: true });
        assert_eq!(ws_send_text(h, null()), WS_ERR_INVALID_ARGUMENT);
        assert_eq!(ws_poll(h, null_mut(), 0), WS_ERR_INVALID_ARGUMENT);
        assert_eq!(ws_state(h, null_mut()), WS_ERR_INVALID_ARGUMENT);
        assert_eq!(ws_buffered_amount(h, null_mut()), WS_ERR_INVALID_ARGUMENT);
        ws_event_free(null_mut());
        ok(ws_close(h, 1000, null()));
        assert!(matches!(next(h, 5000), Ev::Close { code: 1000, .. }));
        ok(ws_free(h));
    }
}

#[test]
fn bad_urls() {
    for url in [
        "http://127.0.0.1/",
        "ws://",
        "ws:///path",
        "ws://host:99999/",
        "ws://host:abc/",
        "127.0.0.1:80",
        "",
        "wss//x",
    ] {
        let mut h = 0;
        assert_eq!(unsafe { ws_create(cs(url).as_ptr(), &mut h) }, WS_ERR_INVALID_URL, "{url}");
        assert_eq!(h, 0, "out is written only on success");
        assert!(last_error().contains("invalid URL"), "{}", last_error());
    }
    let bad_utf8 = b"ws://\xff\xfe/\0";
    let mut h = 0;
    assert_eq!(unsafe { ws_create(bad_utf8.as_ptr().cast(), &mut h) }, WS_ERR_INVALID_UTF8);
}

#[test]
fn bad_sends_and_closes_leave_the_connection_usable() {
    let server = echo_server();
    let h = create_with(&server.url(), |cfg| ok(ws_config_set_max_message_size(cfg, 1000)));
    expect_open(h);
    assert_eq!(send(h, b"\xff\xfe not utf-8", false), WS_ERR_INVALID_UTF8);
    assert_eq!(send(h, &[0u8; 1001], true), WS_ERR_MESSAGE_TOO_LARGE);
    assert_eq!(unsafe { ws_send(h, [0u8].as_ptr(), usize::MAX, true) }, WS_ERR_MESSAGE_TOO_LARGE);
    assert_eq!(close(h, 999), WS_ERR_INVALID_ARGUMENT);
    assert_eq!(close(h, 1005), WS_ERR_INVALID_ARGUMENT);
    assert_eq!(close(h, 2999), WS_ERR_INVALID_ARGUMENT);
    assert_eq!(close(h, 5000), WS_ERR_INVALID_ARGUMENT);
    let long = cs(&"r".repeat(124));
    assert_eq!(unsafe { ws_close(h, 1000, long.as_ptr()) }, WS_ERR_INVALID_ARGUMENT);
    assert_eq!(unsafe { ws_close(h, 1000, c"\xff".as_ptr()) }, WS_ERR_INVALID_UTF8);
    // Still open and working.
    ok(send(h, &[1u8; 1000], true));
    assert_eq!(next(h, 5000), Ev::Message { data: vec![1u8; 1000], binary: true });
    let fits = cs(&"r".repeat(123));
    ok(unsafe { ws_close(h, 4999, fits.as_ptr()) });
    ok(unsafe { ws_close(h, 4999, fits.as_ptr()) }); // idempotent
    assert_eq!(send(h, b"after close", false), WS_ERR_CLOSED);
    assert!(matches!(next(h, 5000), Ev::Close { code: 4999, .. }));
    ok(ws_free(h));
}

#[test]
fn stale_and_never_issued_handles() {
    let server = echo_server();
    let h = create(&server.url());
    ok(ws_free(h));
    for bad in [h, 0, 12345, u64::MAX, h ^ 0xFF00_0000_0000_0000] {
        unsafe {
            let mut st = ws_ready_state::WS_STATE_OPEN;
            let mut n = 0;
            let mut ev = std::mem::zeroed::<ws_event>();
            assert_eq!(ws_free(bad), WS_ERR_INVALID_HANDLE, "double free / never issued");
            assert_eq!(send(bad, b"x", false), WS_ERR_INVALID_HANDLE);
            assert_eq!(ws_send_text(bad, cs("x").as_ptr()), WS_ERR_INVALID_HANDLE);
            assert_eq!(close(bad, 1000), WS_ERR_INVALID_HANDLE);
            assert_eq!(ws_state(bad, &mut st), WS_ERR_INVALID_HANDLE);
            assert_eq!(ws_buffered_amount(bad, &mut n), WS_ERR_INVALID_HANDLE);
            assert_eq!(ws_poll(bad, &mut ev, 0), WS_ERR_INVALID_HANDLE);
            assert_eq!(ws_set_callback(bad, None, null_mut()), WS_ERR_INVALID_HANDLE);
            assert_eq!(
                ws_config_free(bad),
                WS_ERR_INVALID_HANDLE,
                "a connection handle is not a config"
            );
        }
    }
    let mut cfg = 0;
    unsafe { ok(ws_config_new(&mut cfg)) };
    ok(ws_config_free(cfg));
    assert_eq!(ws_config_free(cfg), WS_ERR_INVALID_HANDLE, "config double free");
    assert_eq!(unsafe { ws_config_set_url(cfg, cs("ws://x").as_ptr()) }, WS_ERR_INVALID_HANDLE);
    assert_eq!(ws_config_set_insecure(cfg, true), WS_ERR_INVALID_HANDLE);
}

#[test]
fn out_of_range_options() {
    unsafe {
        let mut cfg = 0;
        ok(ws_config_new(&mut cfg));
        assert_eq!(ws_config_set_connect_timeout_ms(cfg, 0), WS_ERR_INVALID_ARGUMENT);
        assert_eq!(ws_config_set_connect_timeout_ms(cfg, u32::MAX), WS_ERR_INVALID_ARGUMENT);
        assert_eq!(ws_config_set_close_timeout_ms(cfg, 0), WS_ERR_INVALID_ARGUMENT);
        assert_eq!(ws_config_set_max_message_size(cfg, 0), WS_ERR_INVALID_ARGUMENT);
        assert_eq!(ws_config_set_max_message_size(cfg, usize::MAX), WS_ERR_INVALID_ARGUMENT);
        assert_eq!(ws_config_set_read_buffer_size(cfg, 0), WS_ERR_INVALID_ARGUMENT);
        assert_eq!(
            ws_config_add_header(cfg, cs("Bad Name").as_ptr(), cs("v").as_ptr()),
            WS_ERR_INVALID_ARGUMENT
        );
        assert_eq!(
            ws_config_add_header(cfg, cs("Host").as_ptr(), cs("v").as_ptr()),
            WS_ERR_INVALID_ARGUMENT
        );
        assert_eq!(ws_config_add_subprotocol(cfg, cs("").as_ptr()), WS_ERR_INVALID_ARGUMENT);
        assert_eq!(ws_config_add_subprotocol(cfg, cs("a,b").as_ptr()), WS_ERR_INVALID_ARGUMENT);
        ok(ws_config_set_connect_timeout_ms(cfg, 1));
        ok(ws_config_free(cfg));
    }
}

#[test]
fn poll_arguments_and_last_error_buffer() {
    let server = echo_server();
    let h = create(&server.url());
    let mut ev = unsafe { std::mem::zeroed::<ws_event>() };
    assert_eq!(unsafe { ws_poll(h, &mut ev, -2) }, WS_ERR_INVALID_ARGUMENT);
    let msg = last_error();
    assert!(msg.contains("timeout_ms"), "{msg}");
    unsafe {
        let mut n = 0;
        assert_eq!(ws_last_error_message(null_mut(), 0, &mut n), WS_ERR_BUFFER_TOO_SMALL);
        assert_eq!(n, msg.len());
        let mut small = [0 as std::ffi::c_char; 4];
        assert_eq!(
            ws_last_error_message(small.as_mut_ptr(), 4, null_mut()),
            WS_ERR_BUFFER_TOO_SMALL
        );
        assert_eq!(ws_last_error_message(null_mut(), 10, null_mut()), WS_ERR_INVALID_ARGUMENT);
        // Messages are per thread.
        let other = std::thread::spawn(last_error).join().unwrap();
        assert_eq!(other, "");
        // Freeing a polled event twice is harmless.
        ok(ws_poll(h, &mut ev, 5000));
        ws_event_free(&mut ev);
        ws_event_free(&mut ev);
        assert_eq!(ev.r#type, ws_event_type::WS_EVENT_NONE);
    }
    assert!(unsafe { std::ffi::CStr::from_ptr(ws_status_str(-2)) }
        .to_str()
        .unwrap()
        .contains("handle"));
    assert_eq!(
        unsafe { std::ffi::CStr::from_ptr(ws_status_str(42)) }.to_str().unwrap(),
        "unknown status"
    );
    assert_eq!(
        unsafe { std::ffi::CStr::from_ptr(ws_version()) }.to_str().unwrap(),
        env!("CARGO_PKG_VERSION")
    );
    ok(ws_free(h));
}
