//! Bounded under hostile servers and slow consumers: memory stays within the
//! configured limits plus a constant, a close always finishes, and nothing
//! is lost or reordered across a stall or a cut. Memory is read from inside
//! this process (the client runs here); the tests of this file run one at a
//! time so that they do not measure each other.
mod common;
use common::raw::{frame, hostile, Peer};
use common::*;
use std::{
    io::{Read, Write},
    sync::{mpsc, Mutex, MutexGuard},
    thread,
    time::{Duration, Instant},
};
use wsclient::*;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

const MIB: u64 = 1 << 20;

/// Resident memory of this process, in bytes.
fn rss() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

/// Threads of this process that belong to the library (named `wsclient-*`).
fn library_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .flatten()
        .filter(|t| {
            std::fs::read_to_string(t.path().join("comm")).is_ok_and(|c| c.starts_with("wsclient-"))
        })
        .count()
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

fn stats(h: ws_handle) -> ws_stats {
    let mut s = ws_stats::default();
    ok(unsafe { ws_get_stats(h, &mut s) });
    s
}

/// Wait (up to a generous `secs`) until `cond` holds.
fn wait_for(secs: u64, what: &str, cond: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !cond() {
        assert!(Instant::now() < deadline, "{what}: not within {secs} s");
        thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn a_ping_flood_from_a_server_that_never_reads_cannot_grow_the_client() {
    let _one = serial();
    // 400,000 pings of 125 bytes: unbounded, their pongs would pile up to
    // about 52 MiB in the client while the server reads nothing.
    const PINGS: usize = 400_000;
    let server = hostile(|peer: &mut Peer| {
        peer.handshake();
        let ping = frame(0x9, &[0x55; 125]);
        let batch: Vec<u8> = ping.iter().copied().cycle().take(ping.len() * 1000).collect();
        for _ in 0..PINGS / 1000 {
            peer.send(&batch);
        }
        // Every ping was read by the client once this message arrives.
        peer.send(&frame(0x1, b"done"));
        thread::sleep(Duration::from_secs(30));
    });
    let h = create_with(&server.url(), |cfg| ok(ws_config_set_reconnect(cfg, false)));
    expect_open(h);
    let before = rss();
    match next(h, 120_000) {
        Ev::Message { data, .. } => assert_eq!(data, b"done"),
        other => panic!("{other:?}"),
    }
    let grown = rss().saturating_sub(before);
    println!("ping flood: RSS grew by {:.1} MiB over {PINGS} pings", grown as f64 / MIB as f64);
    assert!(grown < 24 * MIB, "RSS grew by {} MiB during the ping flood", grown / MIB);
    ok(ws_free(h));
}

/// A server that sends `count` numbered binary messages of `size` bytes as
/// fast as TCP lets it; reports how many it has written.
fn flooding_server(count: u32, size: usize) -> (Server, mpsc::Receiver<u32>) {
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    let server = hostile(move |peer: &mut Peer| {
        let tx = tx.lock().unwrap().clone();
        peer.handshake();
        let mut payload = vec![0xAB; size];
        for i in 0..count {
            payload[..4].copy_from_slice(&i.to_be_bytes());
            if peer.stream.write_all(&frame(0x2, &payload)).is_err() {
                return;
            }
            let _ = tx.send(i);
        }
        thread::sleep(Duration::from_secs(30));
    });
    (server, rx)
}

fn number(data: &[u8]) -> u32 {
    u32::from_be_bytes(data[..4].try_into().unwrap())
}

#[test]
fn a_slow_consumer_holds_back_a_flooding_server_and_then_gets_everything_in_order() {
    let _one = serial();
    // 2,000 messages of 64 KiB: 125 MiB that would pile up unread.
    const COUNT: u32 = 2000;
    let (server, written) = flooding_server(COUNT, 64 << 10);
    let h = create_with(&server.url(), |cfg| {
        ok(ws_config_set_reconnect(cfg, false));
        ok(ws_config_set_receive_max_events(cfg, 100));
        ok(ws_config_set_receive_max_bytes(cfg, 2 * MIB));
        // A stalled consumer is not a dead server.
        ok(ws_config_set_ping_interval_ms(cfg, 50));
        ok(ws_config_set_pong_timeout_ms(cfg, 50));
    });
    expect_open(h);
    let before = rss();
    // The consumer stalls: the library stops at the limit.
    wait_for(60, "reading paused at the receive limit", || {
        let s = stats(h);
        s.undelivered_events >= 100 || s.undelivered_bytes >= 2 * MIB
    });
    // TCP pushed back: the server is stuck far from the end.
    let mut sent = 0;
    while let Ok(i) = written.try_recv() {
        sent = i;
    }
    println!("message flood: the server wrote {sent} of {COUNT} messages while nobody read");
    assert!(sent < COUNT / 2, "the server wrote {sent} messages while nobody read");
    let s = stats(h);
    assert!(s.undelivered_events <= 100 && s.undelivered_bytes <= 2 * MIB + (64 << 10), "{s:?}");
    // Now the consumer takes every message, slowly at first.
    let mut peak = 0;
    for i in 0..COUNT {
        match next(h, 60_000) {
            Ev::Message { data, binary: true } => {
                assert_eq!(number(&data), i, "in order, none lost");
                assert_eq!(data.len(), 64 << 10);
            }
            other => panic!("message {i}: {other:?}"),
        }
        if i % 100 == 0 {
            let s = stats(h);
            assert!(s.undelivered_events <= 101, "{s:?}");
            peak = peak.max(rss().saturating_sub(before));
            if i < 300 {
                thread::sleep(Duration::from_millis(20));
            }
        }
    }
    println!("message flood: RSS peak growth {:.1} MiB", peak as f64 / MIB as f64);
    assert!(peak < 48 * MIB, "RSS grew by {} MiB", peak / MIB);
    // No heartbeat error while we were the ones not reading.
    assert!(matches!(try_next(h, 0), Err(ws_status::WS_ERR_TIMEOUT)));
    assert_eq!(stats(h).reconnects, 0);
    ok(ws_free(h));
}

#[test]
fn a_slow_reader_of_an_event_queue_holds_back_the_server_too() {
    let _one = serial();
    const COUNT: u32 = 1000;
    let (server, written) = flooding_server(COUNT, 64 << 10);
    let mut q = 0;
    ok(unsafe { ws_queue_new(&mut q) });
    let h = create_with(&server.url(), |cfg| {
        ok(ws_config_set_reconnect(cfg, false));
        ok(ws_config_set_receive_max_events(cfg, 50));
    });
    ok(ws_queue_attach(h, q));
    wait_for(60, "reading paused at the receive limit", || stats(h).undelivered_events >= 50);
    let mut sent = 0;
    while let Ok(i) = written.try_recv() {
        sent = i;
    }
    assert!(sent < COUNT / 2, "the server wrote {sent} messages while the queue was not read");
    let mut next_number = 0;
    let mut buf: Vec<ws_event> = (0..16).map(|_| unsafe { std::mem::zeroed() }).collect();
    while next_number < COUNT {
        let mut n = 0;
        ok(unsafe { ws_queue_poll(q, buf.as_mut_ptr(), buf.len(), 60_000, &mut n) });
        assert!(n > 0, "events stopped at {next_number}");
        for ev in &buf[..n] {
            if ev.r#type == ws_event_type::WS_EVENT_MESSAGE {
                let data = unsafe { std::slice::from_raw_parts(ev.data, ev.len) };
                assert_eq!(number(data), next_number);
                next_number += 1;
            }
        }
        assert!(stats(h).undelivered_events <= 50 + 16);
    }
    ok(ws_free(h));
    ok(ws_queue_free(q));
}

/// A server that answers the upgrade and then never reads a byte.
fn deaf_server() -> Server {
    hostile(|peer: &mut Peer| {
        peer.handshake();
        thread::sleep(Duration::from_secs(60));
    })
}

#[test]
fn close_finishes_within_its_timeout_while_the_server_takes_nothing() {
    let _one = serial();
    // It never reads, but sends a message now and then: alive for the
    // heartbeat until the user closes.
    let server = hostile(|peer: &mut Peer| {
        peer.handshake();
        for _ in 0..3000 {
            peer.send(&frame(0x1, b"tick"));
            thread::sleep(Duration::from_millis(20));
        }
    });
    let h = create_with(&server.url(), |cfg| {
        ok(ws_config_set_close_timeout_ms(cfg, 500));
        // The heartbeat is on and would fail: after a user close it must not.
        ok(ws_config_set_ping_interval_ms(cfg, 100));
        ok(ws_config_set_pong_timeout_ms(cfg, 100));
        ok(ws_config_set_initial_delay_ms(cfg, 10));
    });
    expect_open(h);
    let payload = vec![1u8; MIB as usize];
    for _ in 0..64 {
        ok(send(h, &payload, true));
    }
    ok(close(h, 1000));
    let closing = Instant::now();
    // Only messages and the close event can come: no heartbeat error, no
    // reconnecting.
    let evs = until(h, 30_000, |e| matches!(e, Ev::Close { .. }));
    println!("close against a server that never reads: {:?} (timeout 500 ms)", closing.elapsed());
    let (close, before) = evs.split_last().unwrap();
    assert!(before.iter().all(|e| matches!(e, Ev::Message { .. })), "{before:?}");
    match close.clone() {
        Ev::Close { code: 1006, clean: false, unsent_messages, unsent_bytes, .. } => {
            assert!(unsent_messages > 0 && unsent_messages <= 64, "{unsent_messages}");
            assert!(unsent_bytes >= unsent_messages * MIB - MIB, "{unsent_bytes}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(stats(h).reconnects, 0);
    ok(ws_free(h));
}

#[test]
fn free_releases_the_thread_socket_and_queue_of_a_connection_the_server_never_reads() {
    let _one = serial();
    // Workers of the tests before may still be closing in the background.
    wait_for(30, "no library thread left from earlier tests", || library_threads() == 0);
    let server = deaf_server();
    let mem = rss();
    let h = create_with(&server.url(), |cfg| ok(ws_config_set_close_timeout_ms(cfg, 300)));
    expect_open(h);
    // The server's side of the connection stays open in this process: count
    // from here, with the client's socket and wake-up fd open.
    let fds = open_fds();
    let payload = vec![1u8; MIB as usize];
    for _ in 0..64 {
        ok(send(h, &payload, true));
    }
    assert_eq!(library_threads(), 1);
    ok(ws_free(h));
    wait_for(30, "the worker thread ended after ws_free", || library_threads() == 0);
    wait_for(30, "the socket and wake-up fd were closed", || open_fds() <= fds - 2);
    let grown = rss().saturating_sub(mem);
    assert!(grown < 32 * MIB, "{} MiB still held after ws_free", grown / MIB);
}

#[test]
fn a_partly_written_message_is_sent_again_after_the_reconnect() {
    let _one = serial();
    // The first connection reads 1 MiB of a 32 MiB message, then drops; the
    // second one reads every frame.
    const SIZE: usize = 32 << 20;
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    let connections = std::sync::atomic::AtomicUsize::new(0);
    let server = hostile(move |peer: &mut Peer| {
        let tx = tx.lock().unwrap().clone();
        let n = connections.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        peer.handshake();
        if n == 0 {
            let mut part = vec![0u8; MIB as usize];
            let _ = peer.stream.read_exact(&mut part);
            return; // unread bytes: the kernel answers with a reset
        }
        while let Ok(f) = peer.read() {
            let _ = tx.send(f);
        }
    });
    let h = create_with(&server.url(), |cfg| {
        ok(ws_config_set_initial_delay_ms(cfg, 10));
        ok(ws_config_set_ping_interval_ms(cfg, 0));
    });
    expect_open(h);
    let mut payload = vec![0x5A; SIZE];
    payload[SIZE - 1] = 0x01;
    ok(send(h, &payload, true));
    ok(send(h, b"after", false));
    let evs = until(h, 60_000, |e| matches!(e, Ev::Open { reconnect: true, .. }));
    assert!(evs.iter().any(|e| matches!(e, Ev::Reconnecting { .. })), "{evs:?}");
    let first = rx.recv_timeout(Duration::from_secs(60)).expect("the message, whole, again");
    assert_eq!((first.opcode, first.fin, first.payload.len()), (0x2, true, SIZE));
    assert!(first.payload == payload, "the resent message is the same bytes");
    let second = rx.recv_timeout(Duration::from_secs(60)).expect("the next message");
    assert_eq!((second.opcode, second.payload.as_slice()), (0x1, &b"after"[..]));
    let s = stats(h);
    assert_eq!((s.reconnects, s.queued_messages, s.queued_bytes), (1, 0, 0), "{s:?}");
    assert_eq!(s.messages_maybe_lost, 0, "{s:?}");
    ok(ws_free(h));
}
