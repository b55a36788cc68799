//! Thread rules: sends from many threads, callbacks that call back into the
//! API (send, close, free) on their own handle, events kept until a callback
//! is set, `ws_free` waiting for a running callback, and an idle worker that
//! uses no CPU.
mod common;
use common::*;
use std::{
    collections::HashMap,
    ffi::c_void,
    sync::{
        atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering},
        mpsc, Arc, Mutex,
    },
    thread,
    time::{Duration, Instant},
};
use wsclient::*;

#[test]
fn eight_threads_send_1000_each_all_arrive_once_in_order() {
    let server = echo_server();
    let h = create(&server.url());
    expect_open(h);
    let senders: Vec<_> = (0..8)
        .map(|t| {
            thread::spawn(move || {
                for n in 0..1000 {
                    ok(send(h, format!("{t}:{n}").as_bytes(), false));
                }
            })
        })
        .collect();
    let mut seen: HashMap<u32, Vec<u32>> = HashMap::new();
    for _ in 0..8000 {
        let Ev::Message { data, binary: false } = next(h, 10000) else {
            panic!("expected a message")
        };
        let text = String::from_utf8(data).unwrap();
        let (t, n) = text.split_once(':').unwrap();
        seen.entry(t.parse().unwrap()).or_default().push(n.parse().unwrap());
    }
    for s in senders {
        s.join().unwrap();
    }
    assert_eq!(seen.len(), 8);
    for (t, ns) in seen {
        assert_eq!(ns, (0..1000).collect::<Vec<_>>(), "thread {t}: every message once, in order");
    }
    assert_eq!(try_next(h, 200), Err(ws_status::WS_ERR_TIMEOUT), "nothing extra");
    ok(ws_free(h));
}

struct Ctx {
    handle: AtomicU64,
    events: Mutex<mpsc::Sender<Ev>>,
    statuses: Mutex<Vec<(&'static str, ws_status)>>,
    calls: AtomicUsize,
    in_callback_sleep: Duration,
    finished: AtomicBool,
}

impl Ctx {
    fn new(sleep: Duration) -> (Arc<Ctx>, mpsc::Receiver<Ev>) {
        let (tx, rx) = mpsc::channel();
        let ctx = Arc::new(Ctx {
            handle: AtomicU64::new(0),
            events: Mutex::new(tx),
            statuses: Mutex::new(Vec::new()),
            calls: AtomicUsize::new(0),
            in_callback_sleep: sleep,
            finished: AtomicBool::new(false),
        });
        (ctx, rx)
    }
    fn ptr(self: &Arc<Ctx>) -> *mut c_void {
        Arc::as_ptr(self) as *mut c_void
    }
}

/// Sends on open, closes on the first message, frees on close.
unsafe extern "C" fn reentrant(ev: *const ws_event, ud: *mut c_void) {
    let ctx = &*(ud as *const Ctx);
    let h = (*ev).handle;
    let e = owned(&*ev);
    let st = match &e {
        Ev::Open { .. } => ("send", send(h, b"from callback", false)),
        Ev::Message { .. } => ("close", ws_close(h, 4000, cs("done").as_ptr())),
        Ev::Close { .. } => ("free", ws_free(h)),
        _ => ("other", ws_status::WS_OK),
    };
    ctx.statuses.lock().unwrap().push(st);
    ctx.events.lock().unwrap().send(e).unwrap();
}

#[test]
fn send_close_and_free_from_inside_the_callback() {
    let server = echo_server();
    let (ctx, rx) = Ctx::new(Duration::ZERO);
    let h = create(&server.url());
    ok(unsafe { ws_set_callback(h, Some(reentrant), ctx.ptr()) });
    let got: Vec<Ev> = (0..3).map(|_| rx.recv_timeout(Duration::from_secs(5)).unwrap()).collect();
    assert!(matches!(got[0], Ev::Open { .. }));
    assert_eq!(got[1], Ev::Message { data: b"from callback".to_vec(), binary: false });
    assert!(
        matches!(&got[2], Ev::Close { code: 4000, clean: true, reason, .. } if reason == "done")
    );
    let statuses = ctx.statuses.lock().unwrap().clone();
    assert_eq!(
        statuses,
        [("send", ws_status::WS_OK), ("close", ws_status::WS_OK), ("free", ws_status::WS_OK)]
    );
    assert!(rx.recv_timeout(Duration::from_millis(200)).is_err(), "close is the last event");
    assert_eq!(ws_free(h), ws_status::WS_ERR_INVALID_HANDLE, "already freed inside the callback");
}

unsafe extern "C" fn record(ev: *const ws_event, ud: *mut c_void) {
    let ctx = &*(ud as *const Ctx);
    ctx.handle.store((*ev).handle, Ordering::SeqCst);
    ctx.calls.fetch_add(1, Ordering::SeqCst);
    let e = owned(&*ev);
    ctx.finished.store(false, Ordering::SeqCst);
    if matches!(e, Ev::Message { .. }) {
        thread::sleep(ctx.in_callback_sleep);
    }
    ctx.finished.store(true, Ordering::SeqCst);
    let _ = ctx.events.lock().unwrap().send(e);
}

#[test]
fn events_before_the_callback_are_kept_and_delivered_in_order() {
    let server = echo_server();
    let h = create(&server.url());
    const EARLY: usize = 5;
    for n in 0..EARLY {
        ok(send(h, format!("early {n}").as_bytes(), false));
    }
    // With no callback set, wait until the library holds every event
    // undelivered: the open and the five echoes. (A message is counted as
    // received just before its event is queued, so both counts are needed.)
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut s = ws_stats::default();
        ok(unsafe { ws_get_stats(h, &mut s) });
        if s.messages_received == EARLY as u64 && s.undelivered_events == 1 + EARLY as u64 {
            break;
        }
        assert!(Instant::now() < deadline, "the events were not all kept: {s:?}");
        thread::sleep(Duration::from_millis(10));
    }
    let (ctx, rx) = Ctx::new(Duration::ZERO);
    ok(unsafe { ws_set_callback(h, Some(record), ctx.ptr()) });
    assert!(matches!(rx.recv_timeout(Duration::from_secs(5)).unwrap(), Ev::Open { .. }));
    for n in 0..EARLY {
        assert_eq!(
            rx.recv_timeout(Duration::from_secs(5)).unwrap(),
            Ev::Message { data: format!("early {n}").into_bytes(), binary: false },
            "the kept events in the order they happened"
        );
    }
    assert_eq!(ctx.handle.load(Ordering::SeqCst), h);
    assert_eq!(
        try_next(h, 0),
        Err(ws_status::WS_ERR_INVALID_STATE),
        "no polling while a callback is set"
    );
    ok(ws_free(h));
    assert_eq!(ctx.calls.load(Ordering::SeqCst), 1 + EARLY, "each event delivered once");
}

#[test]
fn callback_set_after_the_end_gets_every_event_before_returning() {
    let h = create_once("ws://127.0.0.1:1/");
    // Wait until the connection has failed for good, without taking events:
    // the state reads CLOSED (set just before the close event is queued),
    // then its worker thread (named by then) has ended.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut st = ws_ready_state::WS_STATE_OPEN;
        ok(unsafe { ws_state(h, &mut st) });
        if st == ws_ready_state::WS_STATE_CLOSED {
            break;
        }
        assert!(Instant::now() < deadline, "the connection did not fail");
        thread::sleep(Duration::from_millis(10));
    }
    let name = format!("wsclient-{}", h & 0xFFFF_FFFF);
    while thread_ticks(&name).is_some() {
        assert!(Instant::now() < deadline, "the worker thread is still running");
        thread::sleep(Duration::from_millis(10));
    }
    let (ctx, rx) = Ctx::new(Duration::ZERO);
    ok(unsafe { ws_set_callback(h, Some(record), ctx.ptr()) });
    assert_eq!(
        ctx.calls.load(Ordering::SeqCst),
        2,
        "error and close, delivered before ws_set_callback returned"
    );
    assert!(matches!(
        rx.try_recv().unwrap(),
        Ev::Error { kind: ws_error_kind::WS_ERROR_CONNECT_REFUSED, .. }
    ));
    assert!(matches!(rx.try_recv().unwrap(), Ev::Close { code: 1006, .. }));
    ok(ws_free(h));
}

#[test]
fn free_waits_for_a_running_callback_and_none_runs_after() {
    let server = echo_server();
    let (ctx, _rx) = Ctx::new(Duration::from_millis(300));
    let h = create(&server.url());
    ok(unsafe { ws_set_callback(h, Some(record), ctx.ptr()) });
    for _ in 0..5 {
        ok(send(h, b"slow", false));
    }
    // Wait until a message callback is running, then free.
    let deadline = Instant::now() + Duration::from_secs(5);
    while ctx.calls.load(Ordering::SeqCst) < 2 && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(5));
    }
    ok(ws_free(h));
    assert!(
        ctx.finished.load(Ordering::SeqCst),
        "the running callback finished before ws_free returned"
    );
    let calls = ctx.calls.load(Ordering::SeqCst);
    thread::sleep(Duration::from_millis(500));
    assert_eq!(ctx.calls.load(Ordering::SeqCst), calls, "no callback after ws_free");
}

#[test]
fn free_wakes_a_blocked_poll() {
    let server = echo_server();
    let h = create(&server.url());
    expect_open(h);
    let poller = thread::spawn(move || try_next(h, -1));
    thread::sleep(Duration::from_millis(100));
    ok(ws_free(h));
    assert_eq!(poller.join().unwrap(), Err(ws_status::WS_ERR_INVALID_HANDLE));
}

/// CPU ticks (user + system) used so far by the thread named `name`.
fn thread_ticks(name: &str) -> Option<u64> {
    for task in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        if comm.trim() == name {
            let stat = std::fs::read_to_string(task.path().join("stat")).ok()?;
            let after = &stat[stat.rfind(')')? + 2..];
            let f: Vec<&str> = after.split(' ').collect();
            return Some(f[11].parse::<u64>().ok()? + f[12].parse::<u64>().ok()?);
        }
    }
    None
}

#[test]
#[cfg(target_os = "linux")]
fn an_idle_connection_uses_no_cpu() {
    let server = echo_server();
    let h = create(&server.url());
    expect_open(h);
    let name = format!("wsclient-{}", wsclient::registry::slot(h));
    let before = thread_ticks(&name).expect("worker thread found");
    thread::sleep(Duration::from_secs(2));
    let after = thread_ticks(&name).unwrap();
    // A busy loop would burn about 200 ticks here; sleeping in poll(2) none.
    assert!(after - before <= 1, "idle worker used {} ticks in 2 s", after - before);
    ok(ws_free(h));
}
