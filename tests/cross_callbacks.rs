//! Callbacks of different handles that call functions on each other's
//! handles (free, set the callback, attach to a queue) never deadlock, in
//! either order, however the timing falls.
mod common;
use common::*;
use std::{
    ffi::c_void,
    sync::{
        atomic::{AtomicU64, AtomicUsize, Ordering},
        mpsc,
    },
    time::Duration,
};
use wsclient::*;

/// The other handle of a pair, and how many events were seen.
struct Pair {
    other: AtomicU64,
    seen: AtomicUsize,
    queue: AtomicU64,
}

/// Re-registers the other handle's callback on every event, and now and then
/// attaches it to a queue and back.
unsafe extern "C" fn reregister(ev: *const ws_event, user: *mut c_void) {
    let me = &*(user as *const Pair);
    let other = me.other.load(Ordering::SeqCst);
    let n = me.seen.fetch_add(1, Ordering::SeqCst);
    if (*ev).r#type == ws_event_type::WS_EVENT_MESSAGE {
        let _ = ws_send((*ev).handle, (*ev).data, (*ev).len, false);
    }
    if n % 7 == 3 {
        let _ = ws_queue_attach(other, me.queue.load(Ordering::SeqCst));
    }
    let _ = ws_set_callback(other, Some(reregister), ws_user_of(other));
}

static PAIRS: std::sync::Mutex<Vec<(u64, usize)>> = std::sync::Mutex::new(Vec::new());

fn ws_user_of(h: u64) -> *mut c_void {
    PAIRS
        .lock()
        .unwrap()
        .iter()
        .find(|(x, _)| *x == h)
        .map_or(std::ptr::null_mut(), |(_, p)| *p as *mut c_void)
}

#[test]
fn two_tickers_re_registering_each_others_callbacks_keep_going() {
    let server = echo_server();
    let (a, b) = (create(&server.url()), create(&server.url()));
    let mut q = 0;
    ok(unsafe { ws_queue_new(&mut q) });
    let pa = Box::leak(Box::new(Pair {
        other: AtomicU64::new(b),
        seen: AtomicUsize::new(0),
        queue: AtomicU64::new(q),
    }));
    let pb = Box::leak(Box::new(Pair {
        other: AtomicU64::new(a),
        seen: AtomicUsize::new(0),
        queue: AtomicU64::new(q),
    }));
    PAIRS
        .lock()
        .unwrap()
        .extend([(a, pa as *const Pair as usize), (b, pb as *const Pair as usize)]);
    ok(unsafe { ws_set_callback(a, Some(reregister), pa as *const Pair as *mut c_void) });
    ok(unsafe { ws_set_callback(b, Some(reregister), pb as *const Pair as *mut c_void) });
    ok(send(a, b"tick", false));
    ok(send(b, b"tock", false));
    // Both keep echoing: thousands of cross calls in both directions. A
    // deadlock stops both counters for good.
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while pa.seen.load(Ordering::SeqCst) < 2000 || pb.seen.load(Ordering::SeqCst) < 2000 {
        // Events that went to the queue go back to their callback.
        let mut buf: Vec<ws_event> = (0..8).map(|_| unsafe { std::mem::zeroed() }).collect();
        let mut n = 0;
        ok(unsafe { ws_queue_poll(q, buf.as_mut_ptr(), buf.len(), 10, &mut n) });
        for ev in &buf[..n] {
            if ev.r#type == ws_event_type::WS_EVENT_MESSAGE {
                ok(send(ev.handle, b"again", false));
            }
            let user = ws_user_of(ev.handle);
            ok(unsafe { ws_set_callback(ev.handle, Some(reregister), user) });
        }
        assert!(
            std::time::Instant::now() < deadline,
            "stuck at {} / {}",
            pa.seen.load(Ordering::SeqCst),
            pb.seen.load(Ordering::SeqCst)
        );
    }
    ok(ws_free(a));
    ok(ws_free(b));
    ok(ws_queue_free(q));
}

/// Frees the other handle of the pair from inside its own callback.
unsafe extern "C" fn free_other(ev: *const ws_event, user: *mut c_void) {
    let (other, tx) = &*(user as *const (AtomicU64, mpsc::Sender<u64>));
    if (*ev).r#type == ws_event_type::WS_EVENT_MESSAGE {
        let o = other.swap(0, Ordering::SeqCst);
        if o != 0 {
            let st = ws_free(o);
            assert!(st == ws_status::WS_OK || st == ws_status::WS_ERR_INVALID_HANDLE);
            let _ = tx.send((*ev).handle);
        }
    }
}

#[test]
fn two_callbacks_freeing_each_others_handles_at_the_same_time_never_hang() {
    let server = echo_server();
    for round in 0..50 {
        let (a, b) = (create(&server.url()), create(&server.url()));
        let (tx, rx) = mpsc::channel::<u64>();
        let ua = Box::leak(Box::new((AtomicU64::new(b), tx.clone())));
        let ub = Box::leak(Box::new((AtomicU64::new(a), tx)));
        ok(unsafe { ws_set_callback(a, Some(free_other), ua as *mut _ as *mut c_void) });
        ok(unsafe { ws_set_callback(b, Some(free_other), ub as *mut _ as *mut c_void) });
        // Both echoes arrive at about the same time: each callback frees the
        // other handle while the other's callback may be running.
        ok(send(a, b"x", false));
        ok(send(b, b"x", false));
        let first = rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("round {round}: hung"));
        assert!(first == a || first == b);
        // Whichever handle is still live is freed from here.
        for h in [a, b] {
            let st = ws_free(h);
            assert!(st == ws_status::WS_OK || st == ws_status::WS_ERR_INVALID_HANDLE);
        }
    }
}
