//! The caller-thread fast path (src/conn/direct.rs): sends written by the
//! calling thread and replies read by a caller blocked in `ws_poll`, mixed
//! with the worker's own path (queued sends, partial writes, control
//! frames, fragments, large frames, close and reconnect), keep every
//! message, in order, with the counters right.
mod common;
use common::{raw::*, *};
use std::{
    collections::HashMap,
    ffi::c_void,
    sync::{
        atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering},
        mpsc, Arc, Mutex,
    },
    thread,
    time::Duration,
};
use wsclient::*;

fn stats(h: ws_handle) -> ws_stats {
    let mut s = unsafe { std::mem::zeroed::<ws_stats>() };
    ok(unsafe { ws_get_stats(h, &mut s) });
    s
}

/// "T:N" plus `pad` bytes of padding.
fn numbered(t: u32, n: u32, pad: usize) -> Vec<u8> {
    let mut v = format!("{t}:{n}:").into_bytes();
    v.resize(v.len() + pad, b'.');
    v
}

fn parse(data: &[u8]) -> (u32, u32) {
    let text = std::str::from_utf8(data).unwrap();
    let mut parts = text.split(':');
    (parts.next().unwrap().parse().unwrap(), parts.next().unwrap().parse().unwrap())
}

#[test]
fn threads_mixing_small_and_large_sends_with_a_reader_keep_every_message_in_order() {
    // Small messages take the fast path; every 50th is 300 KiB, more than
    // the socket takes at once, so its rest goes to the worker and the
    // sends after it queue behind it until the worker lends the socket
    // again. The main thread reads the echoes with ws_poll meanwhile.
    let server = echo_server();
    let h = create(&server.url());
    expect_open(h);
    const THREADS: u32 = 4;
    const EACH: u32 = 1500;
    let senders: Vec<_> = (0..THREADS)
        .map(|t| {
            thread::spawn(move || {
                for n in 0..EACH {
                    let pad = if n % 50 == 49 { 300 << 10 } else { n as usize % 200 };
                    ok(send(h, &numbered(t, n, pad), false));
                }
            })
        })
        .collect();
    let mut seen: HashMap<u32, Vec<u32>> = HashMap::new();
    for _ in 0..THREADS * EACH {
        let Ev::Message { data, binary: false } = next(h, 20_000) else {
            panic!("expected a message")
        };
        let (t, n) = parse(&data);
        seen.entry(t).or_default().push(n);
    }
    for s in senders {
        s.join().unwrap();
    }
    for t in 0..THREADS {
        assert_eq!(seen[&t], (0..EACH).collect::<Vec<_>>(), "thread {t}: once each, in order");
    }
    assert_eq!(try_next(h, 200), Err(ws_status::WS_ERR_TIMEOUT), "nothing extra");
    let s = stats(h);
    assert_eq!((s.messages_sent, s.messages_received), (4 * 1500, 4 * 1500), "{s:?}");
    assert_eq!((s.queued_messages, s.queued_bytes), (0, 0), "{s:?}");
    assert_eq!(s.bytes_sent, s.bytes_received, "{s:?}");
    ok(ws_free(h));
}

#[test]
fn a_server_that_stops_reading_makes_sends_queue_with_bounded_memory_and_lose_nothing() {
    // The server reads nothing until told; the client sends until its
    // queue limit refuses, then the server reads everything.
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let go_rx = Mutex::new(go_rx);
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    let server = hostile(move |peer: &mut Peer| {
        let tx = tx.lock().unwrap().clone();
        peer.handshake();
        let _ = peer.stream.set_read_timeout(None);
        let _ = go_rx.lock().unwrap().recv();
        while let Ok(f) = peer.read() {
            if tx.send(f).is_err() {
                return;
            }
        }
    });
    const LIMIT: u64 = 2 << 20;
    let h = create_with(&server.url(), |cfg| {
        ok(ws_config_set_queue_max_bytes(cfg, LIMIT));
        ok(ws_config_set_ping_interval_ms(cfg, 0));
    });
    expect_open(h);
    let payload = vec![b'x'; 1000];
    let mut accepted = 0u32;
    loop {
        let mut msg = accepted.to_string().into_bytes();
        msg.push(b':');
        msg.extend_from_slice(&payload);
        match send(h, &msg, false) {
            ws_status::WS_OK => accepted += 1,
            ws_status::WS_ERR_QUEUE_FULL => break,
            other => panic!("{other:?}: {}", last_error()),
        }
        assert!(accepted < 1_000_000, "the queue limit never refused");
        let s = stats(h);
        assert!(s.queued_bytes <= LIMIT, "{s:?}");
    }
    // The kernel's buffers took some; the rest is queued, within the limit.
    let s = stats(h);
    assert!(s.queued_messages > 0 && s.queued_bytes <= LIMIT, "{s:?}");
    go_tx.send(()).unwrap();
    for n in 0..accepted {
        let f = rx.recv_timeout(Duration::from_secs(30)).expect("every accepted message");
        assert_eq!((f.opcode, f.fin), (0x1, true));
        let text = String::from_utf8(f.payload).unwrap();
        assert_eq!(text.split(':').next().unwrap(), n.to_string(), "in order");
    }
    // Everything was written: the queue is empty again, and sends work.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while stats(h).queued_messages > 0 {
        assert!(std::time::Instant::now() < deadline, "{:?}", stats(h));
        thread::sleep(Duration::from_millis(5));
    }
    ok(send(h, b"after", false));
    let f = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!(f.payload, b"after");
    assert_eq!(stats(h).messages_sent, u64::from(accepted) + 1);
    ok(ws_free(h));
}

#[test]
fn close_while_threads_send_directly_echoes_every_accepted_message_before_the_close() {
    let server = echo_server();
    let h = create(&server.url());
    expect_open(h);
    let stop = Arc::new(AtomicBool::new(false));
    let accepted = Arc::new(AtomicU32::new(0));
    let senders: Vec<_> = (0..3)
        .map(|t| {
            let (stop, accepted) = (Arc::clone(&stop), Arc::clone(&accepted));
            thread::spawn(move || {
                let mut n = 0;
                while !stop.load(Ordering::SeqCst) {
                    match send(h, &numbered(t, n, 16), false) {
                        ws_status::WS_OK => {
                            accepted.fetch_add(1, Ordering::SeqCst);
                            n += 1;
                        }
                        ws_status::WS_ERR_CLOSED => return n,
                        // Not accepted: the reader is behind; try again.
                        ws_status::WS_ERR_QUEUE_FULL => thread::sleep(Duration::from_micros(200)),
                        other => panic!("{other:?}"),
                    }
                }
                n
            })
        })
        .collect();
    // Let them run a while, reading echoes on this thread.
    let mut seen: HashMap<u32, Vec<u32>> = HashMap::new();
    for _ in 0..3000 {
        let Ev::Message { data, .. } = next(h, 10_000) else { panic!("expected a message") };
        let (t, n) = parse(&data);
        seen.entry(t).or_default().push(n);
    }
    ok(close(h, 1000));
    stop.store(true, Ordering::SeqCst);
    let sent: Vec<u32> = senders.into_iter().map(|s| s.join().unwrap()).collect();
    let evs = until_close(h, 30_000);
    let (last, msgs) = evs.split_last().unwrap();
    for e in msgs {
        let Ev::Message { data, .. } = e else { panic!("only messages before the close: {e:?}") };
        let (t, n) = parse(data);
        seen.entry(t).or_default().push(n);
    }
    assert!(
        matches!(last, Ev::Close { code: 1000, clean: true, unsent_messages: 0, .. }),
        "{last:?}"
    );
    for (t, n) in sent.iter().enumerate() {
        assert_eq!(seen[&(t as u32)], (0..*n).collect::<Vec<_>>(), "thread {t}");
    }
    assert_eq!(stats(h).messages_sent, u64::from(accepted.load(Ordering::SeqCst)));
    ok(ws_free(h));
}

#[test]
fn a_connection_dropped_while_threads_send_reconnects_and_keeps_their_order() {
    // The first connection echoes 2000 messages, then drops TCP; later ones
    // echo everything.
    let connections = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&connections);
    let server = serve(move |stream| {
        let first = count.fetch_add(1, Ordering::SeqCst) == 0;
        let Ok(mut ws) = tungstenite::accept(stream) else { return };
        let mut echoed = 0;
        while let Ok(m) = ws.read() {
            if m.is_text() && ws.send(m).is_err() {
                return;
            }
            echoed += 1;
            if first && echoed == 2000 {
                return; // dropped without a close
            }
        }
    });
    let h = create_with(&server.url(), |cfg| {
        ok(ws_config_set_initial_delay_ms(cfg, 10));
        ok(ws_config_set_ping_interval_ms(cfg, 0));
    });
    expect_open(h);
    const EACH: u32 = 1500;
    let senders: Vec<_> = (0..2)
        .map(|t| {
            thread::spawn(move || {
                for n in 0..EACH {
                    ok(send(h, &numbered(t, n, 8), false));
                    if n % 100 == 0 {
                        thread::sleep(Duration::from_millis(1));
                    }
                }
            })
        })
        .collect();
    let mut seen: HashMap<u32, Vec<u32>> = HashMap::new();
    let mut reopened = false;
    // Until the last message of both threads is back.
    while seen.get(&0).and_then(|v| v.last()) != Some(&(EACH - 1))
        || seen.get(&1).and_then(|v| v.last()) != Some(&(EACH - 1))
    {
        match next(h, 30_000) {
            Ev::Message { data, .. } => {
                let (t, n) = parse(&data);
                seen.entry(t).or_default().push(n);
            }
            Ev::Open { reconnect: true, .. } => reopened = true,
            Ev::Error { .. } | Ev::Reconnecting { .. } => {}
            other => panic!("{other:?}"),
        }
    }
    for s in senders {
        s.join().unwrap();
    }
    assert!(reopened, "the connection was dropped and opened again");
    let s = stats(h);
    for (t, ns) in &seen {
        // Messages the first server read but did not echo are gone (they
        // were handed to the kernel); none arrives twice or out of order.
        assert!(ns.windows(2).all(|w| w[0] < w[1]), "thread {t}: in order, once: {ns:?}");
        let missing = EACH as u64 - ns.len() as u64;
        assert!(missing <= 2000, "thread {t}: {missing} missing, {s:?}");
    }
    assert_eq!((s.queued_messages, s.queued_bytes), (0, 0), "{s:?}");
    ok(ws_free(h));
}

/// Echoes back to the same handle from inside the callback until `LIMIT`.
struct Chain {
    got: Mutex<Vec<(u32, u32)>>,
    done: mpsc::Sender<()>,
}

const CHAIN: u32 = 500;

unsafe extern "C" fn chain(ev: *const ws_event, ud: *mut c_void) {
    let ctx = &*(ud as *const Chain);
    let ev = &*ev;
    match owned(ev) {
        Ev::Open { .. } => ok(send(ev.handle, &numbered(9, 0, 0), false)),
        Ev::Message { data, .. } => {
            let (t, n) = parse(&data);
            let mut got = ctx.got.lock().unwrap();
            got.push((t, n));
            if t == 9 && n + 1 < CHAIN {
                // A send from the worker thread, inside the callback.
                ok(send(ev.handle, &numbered(9, n + 1, 0), false));
            }
            if got.len() as u32 == 2 * CHAIN {
                let _ = ctx.done.send(());
            }
        }
        _ => {}
    }
}

#[test]
fn sends_from_inside_callbacks_mix_with_direct_sends_of_another_thread() {
    let server = echo_server();
    let (done, finished) = mpsc::channel();
    let ctx = Box::new(Chain { got: Mutex::new(Vec::new()), done });
    let h = create(&server.url());
    ok(unsafe { ws_set_callback(h, Some(chain), &*ctx as *const Chain as *mut c_void) });
    // This thread sends its own numbered messages meanwhile (the fast path
    // while the worker is idle, the queue while it is in the callback).
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let state = || {
        let mut st = ws_ready_state::WS_STATE_CONNECTING;
        ok(unsafe { ws_state(h, &mut st) });
        st
    };
    while state() != ws_ready_state::WS_STATE_OPEN {
        assert!(std::time::Instant::now() < deadline, "never opened");
        thread::sleep(Duration::from_millis(1));
    }
    for n in 0..CHAIN {
        ok(send(h, &numbered(1, n, 4), false));
    }
    finished.recv_timeout(Duration::from_secs(30)).expect("both chains complete");
    let got = ctx.got.lock().unwrap().clone();
    for t in [1, 9] {
        let ns: Vec<u32> = got.iter().filter(|(x, _)| *x == t).map(|(_, n)| *n).collect();
        assert_eq!(ns, (0..CHAIN).collect::<Vec<_>>(), "source {t}");
    }
    ok(ws_free(h));
    drop(ctx);
}

#[test]
fn a_reader_hands_control_frames_fragments_and_large_frames_to_the_worker_in_order() {
    // Everything a caller reading the socket must not take itself, between
    // plain messages, in one write and then split across writes.
    let big = vec![b'B'; 200 << 10];
    let mut script = Vec::new();
    script.extend(frame(0x1, b"a"));
    script.extend(frame(0x9, b"ping!"));
    script.extend(Frame::new(0x1, b"b").more().bytes());
    script.extend(frame(0x0, b"c"));
    script.extend(frame(0x2, &big));
    script.extend(frame(0x1, b"d"));
    let tail = frame(0x1, b"split across writes");
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    let server = hostile(move |peer: &mut Peer| {
        let tx = tx.lock().unwrap().clone();
        peer.handshake();
        // Wait for the client's "go" so that it is blocked in ws_poll first.
        let _ = peer.read();
        peer.send(&script);
        thread::sleep(Duration::from_millis(50));
        for b in &tail {
            peer.send(&[*b]);
            thread::sleep(Duration::from_millis(2));
        }
        while let Ok(f) = peer.read() {
            let _ = tx.send(f);
        }
    });
    let h = create_with(&server.url(), |cfg| ok(ws_config_set_ping_interval_ms(cfg, 0)));
    expect_open(h);
    ok(send(h, b"go", false));
    let msg = |d: &[u8], binary| Ev::Message { data: d.to_vec(), binary };
    assert_eq!(next(h, 10_000), msg(b"a", false));
    assert_eq!(next(h, 10_000), msg(b"bc", false));
    assert_eq!(next(h, 10_000), msg(&big, true));
    assert_eq!(next(h, 10_000), msg(b"d", false));
    assert_eq!(next(h, 10_000), msg(b"split across writes", false));
    // The ping was answered.
    let pong = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!((pong.opcode, pong.payload.as_slice()), (0xA, &b"ping!"[..]));
    let s = stats(h);
    assert_eq!(s.messages_received, 5, "{s:?}");
    ok(ws_free(h));
}

#[test]
fn a_caller_blocked_in_ws_poll_gets_the_heartbeat_pongs_and_returns_when_freed() {
    let server = echo_server();
    let h = create_with(&server.url(), |cfg| {
        ok(ws_config_set_ping_interval_ms(cfg, 50));
        ok(ws_config_set_pong_timeout_ms(cfg, 5000));
    });
    expect_open(h);
    // Nothing but the heartbeat comes: its pongs wake the reader.
    for _ in 0..3 {
        assert!(matches!(next(h, 5000), Ev::Pong { .. }));
    }
    ok(send(h, b"echo", false));
    // Pongs may come first.
    let evs = until(h, 5000, |e| matches!(e, Ev::Message { .. }));
    assert_eq!(evs.last().unwrap(), &Ev::Message { data: b"echo".to_vec(), binary: false });
    // A thread blocked reading the socket returns when the handle is freed.
    let quiet = create_with(&server.url(), |cfg| ok(ws_config_set_ping_interval_ms(cfg, 0)));
    expect_open(quiet);
    let (tx, rx) = mpsc::channel();
    let waiter = thread::spawn(move || {
        let r = try_next(quiet, 60_000);
        let _ = tx.send(());
        r
    });
    // The waiter may not be in ws_poll yet: either way it must return.
    assert!(rx.recv_timeout(Duration::from_millis(100)).is_err(), "nothing to read yet");
    ok(ws_free(quiet));
    rx.recv_timeout(Duration::from_secs(10)).expect("ws_poll returned after ws_free");
    assert_eq!(waiter.join().unwrap(), Err(ws_status::WS_ERR_INVALID_HANDLE));
    ok(ws_free(h));
}

#[test]
fn a_reader_read_timeout_leaves_the_connection_usable() {
    let server = echo_server();
    let h = create_with(&server.url(), |cfg| ok(ws_config_set_ping_interval_ms(cfg, 0)));
    expect_open(h);
    for round in 0..3 {
        assert_eq!(try_next(h, 20), Err(ws_status::WS_ERR_TIMEOUT));
        ok(send(h, format!("r{round}").as_bytes(), false));
        assert_eq!(next(h, 5000), Ev::Message { data: format!("r{round}").into(), binary: false });
    }
    ok(ws_free(h));
}

fn queue_poll(q: ws_queue, max: usize, timeout_ms: i32) -> Vec<(ws_handle, Ev)> {
    let mut buf: Vec<ws_event> = (0..max).map(|_| unsafe { std::mem::zeroed() }).collect();
    let mut n = 0;
    ok(unsafe { ws_queue_poll(q, buf.as_mut_ptr(), max, timeout_ms, &mut n) });
    buf[..n].iter().map(|e| (e.handle, unsafe { owned(e) })).collect()
}

#[test]
fn a_queue_of_one_connection_is_read_on_the_pollers_thread_in_order_and_wakes() {
    // The Python binding's recv(): one queue per connection, read with
    // ws_queue_poll, which may then read the socket itself.
    let server = echo_server();
    let mut q = 0;
    ok(unsafe { ws_queue_new(&mut q) });
    let h = create_with(&server.url(), |cfg| ok(ws_config_set_ping_interval_ms(cfg, 0)));
    ok(ws_queue_attach(h, q));
    assert!(matches!(queue_poll(q, 8, 5000)[..], [(_, Ev::Open { .. })]));
    // Round trips, then a burst read in batches.
    for i in 0..200 {
        ok(send(h, format!("rt{i}").as_bytes(), false));
        let got = queue_poll(q, 8, 5000);
        assert_eq!(got, [(h, Ev::Message { data: format!("rt{i}").into(), binary: false })]);
    }
    for i in 0..2000 {
        ok(send(h, &numbered(0, i, i as usize % 64), false));
    }
    let mut seen = Vec::new();
    while seen.len() < 2000 {
        let batch = queue_poll(q, 64, 10_000);
        assert!(!batch.is_empty() && batch.len() <= 64);
        for (from, e) in batch {
            let Ev::Message { data, .. } = e else { panic!("{e:?}") };
            assert_eq!(from, h);
            seen.push(parse(&data).1);
        }
    }
    assert_eq!(seen, (0..2000).collect::<Vec<_>>());
    // A poll blocked reading the socket returns on ws_queue_wake.
    let (tx, rx) = mpsc::channel();
    let poller = thread::spawn(move || {
        let got = queue_poll(q, 4, 60_000);
        let _ = tx.send(());
        got
    });
    assert!(rx.recv_timeout(Duration::from_millis(100)).is_err(), "nothing to read yet");
    ok(ws_queue_wake(q));
    rx.recv_timeout(Duration::from_secs(10)).expect("the poll returned after the wake");
    assert!(poller.join().unwrap().is_empty());
    // Attaching a second connection ends the fast path; both are read.
    let other = create_with(&server.url(), |cfg| ok(ws_config_set_ping_interval_ms(cfg, 0)));
    ok(ws_queue_attach(other, q));
    assert!(matches!(queue_poll(q, 8, 5000)[..], [(o, Ev::Open { .. })] if o == other));
    ok(send(h, b"from h", false));
    ok(send(other, b"from other", false));
    let mut got = Vec::new();
    while got.len() < 2 {
        got.extend(queue_poll(q, 8, 5000));
    }
    got.sort_by_key(|(from, _)| *from == other);
    assert_eq!(
        got,
        [
            (h, Ev::Message { data: b"from h".to_vec(), binary: false }),
            (other, Ev::Message { data: b"from other".to_vec(), binary: false })
        ]
    );
    let s = stats(h);
    assert_eq!((s.messages_received, s.queued_messages), (2201, 0), "{s:?}");
    ok(ws_free(h));
    ok(ws_free(other));
    ok(ws_queue_free(q));
}

/// Voluntary context switches so far of the thread named `name`.
#[cfg(target_os = "linux")]
fn thread_switches(name: &str) -> Option<u64> {
    for task in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        if comm.trim() == name {
            let status = std::fs::read_to_string(task.path().join("status")).ok()?;
            let line = status.lines().find(|l| l.starts_with("voluntary_ctxt_switches:"))?;
            return line.split_whitespace().nth(1)?.parse().ok();
        }
    }
    None
}

#[test]
#[cfg(target_os = "linux")]
fn a_worker_whose_caller_waits_in_ws_poll_on_a_quiet_connection_sleeps() {
    let server = echo_server();
    let h = create_with(&server.url(), |cfg| ok(ws_config_set_ping_interval_ms(cfg, 0)));
    expect_open(h);
    // Round trips first: the worker leaves the socket to the reader.
    for i in 0..50 {
        ok(send(h, format!("{i}").as_bytes(), false));
        assert!(matches!(next(h, 5000), Ev::Message { .. }));
    }
    let name = format!("wsclient-{}", wsclient::registry::slot(h));
    let before = thread_switches(&name).expect("worker thread found");
    // Nothing comes for 2 s while this thread waits in ws_poll.
    assert_eq!(try_next(h, 2000), Err(ws_status::WS_ERR_TIMEOUT));
    let after = thread_switches(&name).unwrap();
    println!("worker wake-ups while a caller waited 2 s: {}", after - before);
    // Looking every 2 ms would be about 1,000 wake-ups; it backs off to
    // one every 500 ms.
    assert!(after - before <= 40, "the worker woke {} times in 2 s", after - before);
    // And the connection still works both ways.
    ok(send(h, b"still", false));
    assert_eq!(next(h, 5000), Ev::Message { data: b"still".to_vec(), binary: false });
    ok(ws_free(h));
}
