//! Benchmark clients in Rust: `raw-tcp` (length-prefixed messages over std,
//! the limit) and `tungstenite` (tungstenite used directly, a naive
//! write-and-flush per message: what wsclient adds overhead to).
//! Same command line as every bench client; prints one JSON line.
use std::{
    io::{Read, Write},
    net::TcpStream,
    sync::mpsc,
    thread,
    time::{Duration, Instant},
};
use tungstenite::{protocol::Role, Message, WebSocket};

struct Args {
    client: String,
    url: String,
    mode: String,
    count: usize,
    size: usize,
    window: usize,
    hold: f64,
}

fn args() -> Args {
    let mut a = Args {
        client: String::new(),
        url: String::new(),
        mode: String::new(),
        count: 1000,
        size: 32,
        window: 1,
        hold: 30.0,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let v = it.next().unwrap_or_default();
        match k.as_str() {
            "--client" => a.client = v,
            "--url" => a.url = v,
            "--mode" => a.mode = v,
            "--count" => a.count = v.parse().unwrap(),
            "--size" => a.size = v.parse().unwrap(),
            "--window" => a.window = v.parse().unwrap(),
            "--hold" => a.hold = v.parse().unwrap(),
            other => panic!("unknown argument {other}"),
        }
    }
    a
}

/// Sends one message.
type SendFn = Box<dyn FnMut(&[u8]) + Send>;
/// Receives one message and returns its length.
type RecvFn = Box<dyn FnMut() -> usize + Send>;

/// A connection that can send from one thread and receive on another.
trait Conn: Send {
    fn split(self: Box<Self>) -> (SendFn, RecvFn);
}

struct Raw(TcpStream);
impl Conn for Raw {
    fn split(self: Box<Self>) -> (SendFn, RecvFn) {
        let mut w = self.0.try_clone().unwrap();
        let mut r = self.0;
        let send = move |m: &[u8]| {
            let mut frame = (m.len() as u32).to_be_bytes().to_vec();
            frame.extend_from_slice(m);
            w.write_all(&frame).unwrap();
        };
        let mut buf = Vec::new();
        let recv = move || {
            let mut len = [0u8; 4];
            r.read_exact(&mut len).unwrap();
            buf.resize(u32::from_be_bytes(len) as usize, 0);
            r.read_exact(&mut buf).unwrap();
            buf.len()
        };
        (Box::new(send), Box::new(recv))
    }
}

struct Tung(WebSocket<TcpStream>);
impl Conn for Tung {
    fn split(self: Box<Self>) -> (SendFn, RecvFn) {
        // One WebSocket writes (client role: masks), another reads the same socket.
        let mut w = self.0;
        let mut r =
            WebSocket::from_raw_socket(w.get_ref().try_clone().unwrap(), Role::Client, None);
        let send = move |m: &[u8]| w.send(Message::binary(m.to_vec())).unwrap();
        let recv = move || loop {
            match r.read().unwrap() {
                Message::Binary(b) => return b.len(),
                Message::Text(t) => return t.len(),
                _ => {}
            }
        };
        (Box::new(send), Box::new(recv))
    }
}

fn connect(a: &Args) -> Box<dyn Conn> {
    if a.client == "raw-tcp" {
        let s = TcpStream::connect(&a.url).unwrap();
        s.set_nodelay(true).unwrap();
        Box::new(Raw(s))
    } else {
        let (ws, _) = tungstenite::connect(&a.url).unwrap();
        if let tungstenite::stream::MaybeTlsStream::Plain(s) = ws.get_ref() {
            s.set_nodelay(true).unwrap();
        }
        let tcp = match ws.into_inner() {
            tungstenite::stream::MaybeTlsStream::Plain(s) => s,
            _ => unreachable!("ws:// only"),
        };
        Box::new(Tung(WebSocket::from_raw_socket(tcp, Role::Client, None)))
    }
}

fn main() {
    let a = args();
    let payload = vec![b'x'; a.size];
    if a.mode == "connections" {
        let before = rss_kib();
        let start = Instant::now();
        let conns: Vec<Box<dyn Conn>> = (0..a.count).map(|_| connect(&a)).collect();
        let open_s = start.elapsed().as_secs_f64();
        let (rss, cpu) = hold(a.hold);
        println!(
            "{{\"open_s\": {open_s}, \"rss_kib_before\": {before}, \"rss_kib_held\": {rss}, \"cpu_s_idle\": {cpu}, \"count\": {}}}",
            conns.len()
        );
        return;
    }
    let (mut send, mut recv) = connect(&a).split();
    let (tx, rx) = mpsc::sync_channel::<()>(a.window);
    let count = a.count;
    let p = payload.clone();
    let mut times = Vec::with_capacity(if a.window == 1 { count } else { 0 });
    // The harness counts the CPU used after this: the loop and the exit.
    let cpu0 = cpu_s();
    let start = Instant::now();
    if a.window == 1 {
        for _ in 0..count {
            let t = Instant::now();
            send(&p);
            recv();
            times.push(t.elapsed());
        }
    } else {
        let writer = thread::spawn(move || {
            for _ in 0..count {
                tx.send(()).unwrap(); // blocks while `window` are in flight
                send(&p);
            }
        });
        for _ in 0..count {
            recv();
            rx.recv().unwrap();
        }
        writer.join().unwrap();
    }
    report(start.elapsed(), count, a.size, cpu0, &mut times);
}

/// Resident memory added while holding, and CPU used during the hold.
fn hold(secs: f64) -> (u64, f64) {
    let cpu0 = cpu_s();
    thread::sleep(Duration::from_secs_f64(secs));
    (rss_kib(), cpu_s() - cpu0)
}

fn rss_kib() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap();
    s.lines()
        .find(|l| l.starts_with("VmRSS:"))
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap()
}

/// CPU time of the whole process (every thread), user + system, in seconds.
fn cpu_s() -> f64 {
    // SAFETY: getrusage only writes the struct it is given.
    let ru = unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut ru);
        ru
    };
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

fn report(elapsed: Duration, count: usize, size: usize, cpu0: f64, times: &mut [Duration]) {
    let secs = elapsed.as_secs_f64();
    let mut line = format!(
        "{{\"msgs_per_s\": {}, \"mib_per_s\": {}, \"cpu_s_start\": {cpu0}, \"count\": {count}",
        count as f64 / secs,
        (count * size) as f64 / secs / (1 << 20) as f64
    );
    if !times.is_empty() {
        times.sort();
        let us = |d: Duration| d.as_secs_f64() * 1e6;
        let mean = times.iter().map(|d| us(*d)).sum::<f64>() / times.len() as f64;
        line += &format!(
            ", \"p50_us\": {}, \"p99_us\": {}, \"mean_us\": {}",
            us(times[times.len() / 2]),
            us(times[times.len() * 99 / 100]),
            mean
        );
    }
    println!("{line}}}");
}
