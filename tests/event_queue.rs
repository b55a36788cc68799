//! One event queue collects the events of several connections: batches,
//! per-connection order, wake-up, and bad arguments.
mod common;
use common::*;
use std::{collections::HashMap, ptr::null_mut, thread, time::Duration};
use wsclient::{ws_status::*, *};

fn poll(q: ws_queue, max: usize, timeout_ms: i32) -> Vec<(ws_handle, Ev)> {
    let mut buf: Vec<ws_event> = (0..max).map(|_| unsafe { std::mem::zeroed() }).collect();
    let mut n = 0;
    ok(unsafe { ws_queue_poll(q, buf.as_mut_ptr(), max, timeout_ms, &mut n) });
    buf[..n].iter().map(|e| (e.handle, unsafe { owned(e) })).collect()
}

#[test]
fn two_connections_one_queue_in_order() {
    let server = echo_server();
    let mut q = 0;
    ok(unsafe { ws_queue_new(&mut q) });
    let (a, b) = (create(&server.url()), create(&server.url()));
    ok(ws_queue_attach(a, q));
    ok(ws_queue_attach(b, q));
    for i in 0..50 {
        ok(send(a, format!("a{i}").as_bytes(), false));
        ok(send(b, format!("b{i}").as_bytes(), false));
    }
    let mut got: HashMap<ws_handle, Vec<Ev>> = HashMap::new();
    let mut total = 0;
    while total < 102 {
        let batch = poll(q, 16, 5000);
        assert!(!batch.is_empty(), "events within 5 s");
        assert!(batch.len() <= 16);
        total += batch.len();
        for (h, e) in batch {
            got.entry(h).or_default().push(e);
        }
    }
    for (h, p) in [(a, "a"), (b, "b")] {
        let evs = &got[&h];
        assert!(matches!(evs[0], Ev::Open { .. }));
        let texts: Vec<String> = evs[1..]
            .iter()
            .map(|e| match e {
                Ev::Message { data, .. } => String::from_utf8(data.clone()).unwrap(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(texts, (0..50).map(|i| format!("{p}{i}")).collect::<Vec<_>>());
    }
    assert_eq!(try_next(a, 0), Err(WS_ERR_INVALID_STATE), "ws_poll is not for queued handles");
    ok(close(a, 1000));
    assert!(matches!(poll(q, 4, 5000)[..], [(h, Ev::Close { code: 1000, .. })] if h == a));
    ok(ws_free(a));
    ok(ws_free(b));
    ok(ws_queue_free(q));
}

#[test]
fn wake_returns_an_empty_batch_and_bad_arguments_are_refused() {
    let mut q = 0;
    ok(unsafe { ws_queue_new(&mut q) });
    let waker = thread::spawn(move || {
        thread::sleep(Duration::from_millis(100));
        ok(ws_queue_wake(q));
    });
    assert!(poll(q, 4, -1).is_empty());
    waker.join().unwrap();
    assert!(poll(q, 4, 0).is_empty(), "timeout with nothing");
    let mut ev: ws_event = unsafe { std::mem::zeroed() };
    let mut n = 0;
    unsafe {
        assert_eq!(ws_queue_poll(q, null_mut(), 1, 0, &mut n), WS_ERR_INVALID_ARGUMENT);
        assert_eq!(ws_queue_poll(q, &mut ev, 0, 0, &mut n), WS_ERR_INVALID_ARGUMENT);
        assert_eq!(ws_queue_poll(q, &mut ev, 1, -7, &mut n), WS_ERR_INVALID_ARGUMENT);
        assert_eq!(ws_queue_new(null_mut()), WS_ERR_INVALID_ARGUMENT);
    }
    ok(ws_queue_free(q));
    assert_eq!(ws_queue_free(q), WS_ERR_INVALID_HANDLE);
    assert_eq!(ws_queue_wake(q), WS_ERR_INVALID_HANDLE);
    assert_eq!(unsafe { ws_queue_poll(q, &mut ev, 1, 0, &mut n) }, WS_ERR_INVALID_HANDLE);
    assert_eq!(ws_queue_attach(12345, q), WS_ERR_INVALID_HANDLE);
}
