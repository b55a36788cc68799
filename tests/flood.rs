//! A flood of sends that fills the socket while the server reads nothing:
//! once the server starts reading, every message arrives, with nothing from
//! the server to wake the client (no message waits for a later wake-up).
mod common;
use common::*;
use std::{sync::mpsc, time::Duration};
use tungstenite::Message;
use wsclient::*;

#[test]
fn queued_messages_go_out_after_the_socket_drains() {
    let (tx, rx) = mpsc::channel();
    let tx = std::sync::Mutex::new(tx);
    let server = serve(move |stream| {
        let tx = tx.lock().unwrap().clone();
        let mut ws = tungstenite::accept_with_config(stream, Some(big_config())).unwrap();
        std::thread::sleep(Duration::from_millis(300));
        let mut n = 0;
        while let Ok(Message::Binary(b)) = ws.read() {
            n += 1;
            tx.send((n, b.len())).unwrap();
        }
    });
    let h = create(&server.url());
    expect_open(h);
    let payload = vec![7u8; 64 << 10];
    for _ in 0..200 {
        ok(send(h, &payload, true));
    }
    for i in 1..=200 {
        let (n, len) = rx
            .recv_timeout(Duration::from_secs(10))
            .unwrap_or_else(|_| panic!("message {i} never left"));
        assert_eq!((n, len), (i, payload.len()));
    }
    // The worker counts a message sent once the kernel took it, right after
    // the write that handed it over: the server may read it first.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mut buffered = 1;
    while buffered != 0 && std::time::Instant::now() < deadline {
        ok(unsafe { ws_buffered_amount(h, &mut buffered) });
        std::thread::yield_now();
    }
    assert_eq!(buffered, 0);
    ok(ws_free(h));
}
