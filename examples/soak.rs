//! The soak behind `make soak`: 200 connections through fault proxies that
//! cut, black-hole, delay, throttle and refuse at random, while every
//! connection sends numbered messages to an echo server. At the end it
//! reports messages sent, delivered, lost and duplicated, and this process's
//! threads, fds and memory at the start and at the end.
//!
//! The echo server and the proxies run in a child process (`--serve`), so
//! the figures are the client's own.
//!
//! What must hold (the exit status is 1 otherwise):
//! - no message is delivered twice or out of order;
//! - a message may be lost only if the connection it was sent on later
//!   dropped (it was written to a socket that then died); every message sent
//!   after the faults stop arrives;
//! - threads and fds are the same at the end as at the start, with all
//!   connections open both times; memory stays within 2x.
//!
//! Usage: soak [SECONDS (60)] [CONNECTIONS (200)] [SEED]
#[allow(unused_imports)]
#[path = "../tests/common/mod.rs"]
mod common;

use common::proxy::{Mode, Proxy};
use std::{
    collections::HashMap,
    ffi::CString,
    io::{BufRead, BufReader, Write},
    process::{Command, Stdio},
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex,
    },
    thread,
    time::{Duration, Instant},
};
use wsclient::*;

const PROXIES: usize = 8;
/// Messages per second per connection.
const RATE: u64 = 5;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The child: echo server, proxies, and the chaos schedule.
fn serve(secs: u64, seed: u64) {
    let server = common::echo_server();
    let proxies: Vec<Proxy> = (0..PROXIES).map(|_| Proxy::start(server.port)).collect();
    let ports: Vec<String> = proxies.iter().map(|p| p.port.to_string()).collect();
    println!("ports {}", ports.join(" "));
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).unwrap();
    let mut rng = Rng(seed | 1);
    let end = Instant::now() + Duration::from_secs(secs);
    // Each proxy is healthy again at its own time.
    let mut until = [Instant::now(); PROXIES];
    while Instant::now() < end {
        thread::sleep(Duration::from_millis(200 + rng.below(300)));
        let now = Instant::now();
        for (p, t) in proxies.iter().zip(until.iter_mut()) {
            if *t <= now {
                p.set(Mode::Pass);
            }
        }
        let i = rng.below(PROXIES as u64) as usize;
        let p = &proxies[i];
        let hold = Duration::from_millis(500 + rng.below(2500));
        match rng.below(10) {
            0..=3 => p.cut(),
            4 | 5 => p.set(Mode::BlackHole),
            6 | 7 => p.set(Mode::Delay(Duration::from_millis(50 + rng.below(300)))),
            8 => p.set(Mode::Throttle(2_000 + rng.below(20_000) as usize)),
            _ => {
                p.set(Mode::Refuse);
                p.cut();
            }
        }
        until[i] = now + hold;
    }
    for p in &proxies {
        p.set(Mode::Pass);
    }
    // Connections that were in the middle of a fault may still be dropped by
    // their heartbeat; settle them now so the calm phase starts clean.
    for p in &proxies {
        p.cut();
    }
    println!("calm");
    // Until the parent is done.
    while std::io::stdin().read_line(&mut line).is_ok_and(|n| n > 0) {}
}

#[derive(Default)]
struct Conn {
    /// When each message (by number) was sent.
    sent_at: Vec<Instant>,
    /// Whether each message arrived.
    got: Vec<bool>,
    last_seq: Option<usize>,
    /// When the connection dropped (reconnecting events).
    drops: Vec<Instant>,
    duplicates: u64,
    out_of_order: u64,
    opens: u64,
}

fn snapshot() -> (usize, usize, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    };
    let fds = std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count());
    (field("Threads:") as usize, fds, field("VmRSS:"))
}

/// Raise the soft fd limit to the hard one: the proxies' process holds
/// several fds per connection.
fn raise_fd_limit() {
    // SAFETY: getrlimit/setrlimit with a valid struct.
    unsafe {
        let mut lim = std::mem::zeroed::<libc::rlimit>();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

fn main() {
    raise_fd_limit();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--serve") {
        return serve(args[1].parse().unwrap(), args[2].parse().unwrap());
    }
    let secs: u64 = args.first().map_or(60, |s| s.parse().expect("SECONDS"));
    let n: usize = args.get(1).map_or(200, |s| s.parse().expect("CONNECTIONS"));
    let seed: u64 = args.get(2).map_or_else(
        || {
            let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
            t.map_or(1, |d| d.as_nanos() as u64) ^ u64::from(std::process::id())
        },
        |s| s.parse().expect("SEED"),
    );
    println!("soak: {n} connections, {secs} s of faults, seed {seed}");

    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--serve", &secs.to_string(), &seed.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut to_child = child.stdin.take().unwrap();
    let mut from_child = BufReader::new(child.stdout.take().unwrap()).lines();
    let ports: Vec<u16> = from_child.next().unwrap().unwrap()["ports ".len()..]
        .split(' ')
        .map(|p| p.parse().unwrap())
        .collect();

    let conns: Arc<Vec<Mutex<Conn>>> = Arc::new((0..n).map(|_| Mutex::default()).collect());
    let mut queue = 0;
    let mut handles = Vec::new();
    let mut index = HashMap::new();
    unsafe {
        assert_eq!(ws_queue_new(&mut queue), ws_status::WS_OK);
        for i in 0..n {
            let url =
                CString::new(format!("ws://127.0.0.1:{}/{i}", ports[i % ports.len()])).unwrap();
            let mut cfg = 0;
            assert_eq!(ws_config_new(&mut cfg), ws_status::WS_OK);
            ws_config_set_url(cfg, url.as_ptr());
            ws_config_set_ping_interval_ms(cfg, 500);
            ws_config_set_pong_timeout_ms(cfg, 1000);
            ws_config_set_connect_timeout_ms(cfg, 3000);
            ws_config_set_close_timeout_ms(cfg, 1000);
            ws_config_set_initial_delay_ms(cfg, 100);
            ws_config_set_max_delay_ms(cfg, 2000);
            ws_config_set_min_uptime_ms(cfg, 1000);
            ws_config_set_thread_stack_size(cfg, 256 << 10);
            let mut h = 0;
            assert_eq!(ws_create_with_config(cfg, &mut h), ws_status::WS_OK);
            ws_config_free(cfg);
            assert_eq!(ws_queue_attach(h, queue), ws_status::WS_OK);
            index.insert(h, i);
            handles.push(h);
        }
    }

    // The reader: every event of every connection, from one queue.
    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let (conns, stop) = (Arc::clone(&conns), Arc::clone(&stop));
        thread::spawn(move || {
            let mut evs: Vec<ws_event> = (0..256).map(|_| unsafe { std::mem::zeroed() }).collect();
            let mut closes = 0;
            while closes < n {
                let mut got = 0;
                let st =
                    unsafe { ws_queue_poll(queue, evs.as_mut_ptr(), evs.len(), 200, &mut got) };
                assert_eq!(st, ws_status::WS_OK);
                if got == 0 && stop.load(Ordering::SeqCst) && closes == n {
                    break;
                }
                for ev in &evs[..got] {
                    let i = index[&ev.handle];
                    let mut c = conns[i].lock().unwrap();
                    match ev.r#type {
                        ws_event_type::WS_EVENT_OPEN => c.opens += 1,
                        ws_event_type::WS_EVENT_RECONNECTING => c.drops.push(Instant::now()),
                        ws_event_type::WS_EVENT_CLOSE => closes += 1,
                        ws_event_type::WS_EVENT_MESSAGE => {
                            let data = unsafe { std::slice::from_raw_parts(ev.data, ev.len) };
                            let seq: usize = std::str::from_utf8(data).unwrap().parse().unwrap();
                            if c.got[seq] {
                                c.duplicates += 1;
                            }
                            c.got[seq] = true;
                            if c.last_seq.is_some_and(|l| seq < l) {
                                c.out_of_order += 1;
                            }
                            c.last_seq = Some(seq);
                        }
                        _ => {}
                    }
                }
            }
        })
    };

    let all_open = |what: &str| {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let open = handles
                .iter()
                .filter(|h| {
                    let mut s = ws_ready_state::WS_STATE_CLOSED;
                    unsafe { ws_state(**h, &mut s) };
                    s == ws_ready_state::WS_STATE_OPEN
                })
                .count();
            if open == n {
                return;
            }
            assert!(Instant::now() < deadline, "{what}: only {open} of {n} open after 60 s");
            thread::sleep(Duration::from_millis(100));
        }
    };
    let send = |i: usize| {
        let mut c = conns[i].lock().unwrap();
        let seq = c.sent_at.len();
        c.sent_at.push(Instant::now());
        c.got.push(false);
        let text = seq.to_string();
        let st = unsafe { ws_send(handles[i], text.as_ptr(), text.len(), false) };
        assert_eq!(st, ws_status::WS_OK, "send {i}/{seq}");
    };

    all_open("start");
    thread::sleep(Duration::from_millis(500));
    let start = snapshot();
    writeln!(to_child, "start").unwrap();
    let began = Instant::now();

    // Faults on: send at RATE per connection until the child calls calm.
    let calm = Arc::new(AtomicBool::new(false));
    let watcher = {
        let calm = Arc::clone(&calm);
        thread::spawn(move || {
            let line = from_child.next();
            assert_eq!(line.map(Result::unwrap).as_deref(), Some("calm"));
            calm.store(true, Ordering::SeqCst);
            // Kept open until the end, so the fd count compares like with like.
            from_child
        })
    };
    let tick = Duration::from_micros(1_000_000 / (RATE * n as u64));
    let mut next = Instant::now();
    let mut i = 0;
    while !calm.load(Ordering::SeqCst) {
        send(i);
        i = (i + 1) % n;
        next += tick;
        if let Some(wait) = next.checked_duration_since(Instant::now()) {
            thread::sleep(wait);
        }
    }
    let from_child = watcher.join().unwrap();
    let faults_for = began.elapsed();

    // Calm: everyone back, then 20 more each, all of which must arrive.
    all_open("after the faults");
    let calm_at = Instant::now();
    for _ in 0..20 {
        for i in 0..n {
            send(i);
        }
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let missing: usize = conns
            .iter()
            .map(|c| {
                let c = c.lock().unwrap();
                c.sent_at.iter().zip(&c.got).filter(|(t, g)| **t >= calm_at && !**g).count()
            })
            .sum();
        if missing == 0 || Instant::now() > deadline {
            break;
        }
        thread::sleep(Duration::from_millis(100));
    }
    thread::sleep(Duration::from_millis(500));
    let end = snapshot();

    let mut unsent = 0;
    for h in &handles {
        unsafe {
            let mut stats = std::mem::zeroed::<ws_stats>();
            ws_get_stats(*h, &mut stats);
            let mut b = 0;
            ws_buffered_amount(*h, &mut b);
            unsent += b;
            ws_close(*h, 1000, std::ptr::null());
        }
    }
    stop.store(true, Ordering::SeqCst);
    reader.join().unwrap();
    for h in &handles {
        ws_free(*h);
    }
    ws_queue_free(queue);
    drop((to_child, from_child));
    let _ = child.wait();

    // The figures.
    let (mut sent, mut delivered, mut dup, mut ooo, mut drops, mut opens) = (0, 0, 0, 0, 0, 0);
    let (mut lost, mut unexplained, mut lost_after_calm) = (0, 0, 0);
    for c in conns.iter() {
        let c = c.lock().unwrap();
        sent += c.sent_at.len();
        dup += c.duplicates;
        ooo += c.out_of_order;
        drops += c.drops.len();
        opens += c.opens;
        for (t, got) in c.sent_at.iter().zip(&c.got) {
            if *got {
                delivered += 1;
            } else {
                lost += 1;
                if *t >= calm_at {
                    lost_after_calm += 1;
                } else if !c.drops.iter().any(|d| d > t) {
                    unexplained += 1;
                }
            }
        }
    }
    let mib = |kib: u64| kib as f64 / 1024.0;
    println!("| figure | value |\n|---|---|");
    println!("| connections | {n} |");
    println!("| faults for | {:.0} s |", faults_for.as_secs_f64());
    println!("| drops seen (reconnecting events) | {drops} |");
    println!("| opens | {opens} |");
    println!("| messages sent | {sent} |");
    println!("| delivered | {delivered} |");
    println!(
        "| lost (written to a socket that then died) | {lost} ({:.3} %) |",
        100.0 * lost as f64 / sent.max(1) as f64
    );
    println!("| lost without a later drop | {unexplained} |");
    println!("| lost after the faults stopped | {lost_after_calm} |");
    println!("| duplicated | {dup} |");
    println!("| out of order | {ooo} |");
    println!("| still queued at the end (bytes) | {unsent} |");
    println!("| threads start → end | {} → {} |", start.0, end.0);
    println!("| fds start → end | {} → {} |", start.1, end.1);
    println!("| RSS start → end | {:.1} → {:.1} MiB |", mib(start.2), mib(end.2));

    let mut failed = Vec::new();
    if dup > 0 {
        failed.push("duplicates");
    }
    if ooo > 0 {
        failed.push("out-of-order delivery");
    }
    if unexplained > 0 {
        failed.push("a message lost on a connection that never dropped afterwards");
    }
    if lost_after_calm > 0 {
        failed.push("messages lost after the faults stopped");
    }
    if start.0 != end.0 || start.1 != end.1 {
        failed.push("threads or fds not flat");
    }
    if end.2 > 2 * start.2 + 16 * 1024 {
        failed.push("memory more than doubled");
    }
    if drops == 0 {
        failed.push("no faults happened");
    }
    if failed.is_empty() {
        println!("soak: ok");
    } else {
        println!("soak: FAILED: {}", failed.join("; "));
        std::process::exit(1);
    }
}
