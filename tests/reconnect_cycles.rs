//! 200 connect/cut/reconnect cycles: the process's thread count and open fd
//! count return to their baseline and resident memory grows by less than
//! 2 MiB. (Its own test binary, so no other test's threads interfere.)
mod common;
use common::{proxy::*, *};
use std::{
    thread,
    time::{Duration, Instant},
};
use wsclient::*;

fn count(dir: &str) -> usize {
    std::fs::read_dir(dir).unwrap().count()
}

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Wait until `f` returns at most `target`, or 3 s.
fn settle(target: usize, f: impl Fn() -> usize) -> usize {
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let n = f();
        if n <= target || Instant::now() > deadline {
            return n;
        }
        thread::sleep(Duration::from_millis(20));
    }
}

#[test]
#[cfg(target_os = "linux")]
fn threads_fds_and_memory_return_to_baseline() {
    let server = echo_server();
    let proxy = Proxy::start(server.port);
    let h = create_with(&proxy.url(), |cfg| {
        ok(ws_config_set_initial_delay_ms(cfg, 1));
        ok(ws_config_set_max_delay_ms(cfg, 5));
        ok(ws_config_set_min_uptime_ms(cfg, 0));
    });
    expect_open(h);
    let cycle = |i: usize| {
        proxy.cut();
        until(h, 5000, |e| matches!(e, Ev::Open { reconnect: true, .. }));
        ok(send(h, format!("cycle {i}").as_bytes(), false));
        until(h, 5000, |e| matches!(e, Ev::Message { .. }));
    };
    // Warm up allocator pools and lazily created statics, then measure.
    for i in 0..20 {
        cycle(i);
    }
    let threads = settle(0, || count("/proc/self/task"));
    let fds = settle(0, || count("/proc/self/fd"));
    let rss = rss_kib();
    for i in 0..200 {
        cycle(i);
    }
    let threads_after = settle(threads, || count("/proc/self/task"));
    let fds_after = settle(fds, || count("/proc/self/fd"));
    let rss_after = rss_kib();
    let mut s = ws_stats::default();
    ok(unsafe { ws_get_stats(h, &mut s) });
    assert_eq!(s.reconnects, 220);
    assert!(threads_after <= threads, "threads {threads} -> {threads_after}");
    assert!(fds_after <= fds, "fds {fds} -> {fds_after}");
    assert!(rss_after < rss + 2048, "RSS {rss} KiB -> {rss_after} KiB");
    println!("threads {threads} -> {threads_after}, fds {fds} -> {fds_after}, RSS {rss} -> {rss_after} KiB");
    ok(ws_free(h));
}
