//! A TCP fault proxy between the client and a server, all on 127.0.0.1. It
//! passes bytes through, cuts every live connection, black-holes (keeps TCP
//! open and drops every byte both ways), delays or throttles the
//! server-to-client direction, and refuses new connections (reset at once).

use std::{
    io::{ErrorKind, Read, Write},
    net::{Shutdown, TcpListener, TcpStream},
    sync::{Arc, Mutex},
    thread,
    time::{Duration, Instant},
};

/// What the proxy does with traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Forward everything.
    Pass,
    /// Keep connections open and forward nothing either way, like a network
    /// that went silent: bytes wait (nothing is dropped from the stream) and
    /// flow again after the mode changes, unless the connection was cut.
    BlackHole,
    /// Reset new connections at once; live ones are unaffected.
    Refuse,
    /// Forward server-to-client bytes at this many bytes per second.
    Throttle(usize),
    /// Hold each server-to-client chunk this long.
    Delay(Duration),
}

struct State {
    mode: Mutex<Mode>,
    /// Bumped by `cut`: pumps started before it stop.
    cuts: std::sync::atomic::AtomicU64,
    live: Mutex<Vec<TcpStream>>,
    attempts: Mutex<Vec<Instant>>,
}

/// A running proxy.
pub struct Proxy {
    pub port: u16,
    state: Arc<State>,
}

impl Proxy {
    /// Proxy 127.0.0.1:<new port> to 127.0.0.1:`upstream`.
    pub fn start(upstream: u16) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(State {
            mode: Mutex::new(Mode::Pass),
            cuts: std::sync::atomic::AtomicU64::new(0),
            live: Mutex::new(Vec::new()),
            attempts: Mutex::new(Vec::new()),
        });
        let st = Arc::clone(&state);
        thread::spawn(move || {
            for client in listener.incoming().flatten() {
                st.attempts.lock().unwrap().push(Instant::now());
                if *st.mode.lock().unwrap() == Mode::Refuse {
                    reset(client);
                    continue;
                }
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else {
                    reset(client);
                    continue;
                };
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                {
                    let mut live = st.live.lock().unwrap();
                    live.retain(|s| s.peer_addr().is_ok());
                    live.push(client.try_clone().unwrap());
                    live.push(server.try_clone().unwrap());
                }
                let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                let (a, b) = (Arc::clone(&st), Arc::clone(&st));
                thread::spawn(move || pump(client, server, a, false));
                thread::spawn(move || pump(s2, c2, b, true));
            }
        });
        Proxy { port, state }
    }

    pub fn url(&self) -> String {
        format!("ws://127.0.0.1:{}", self.port)
    }

    pub fn set(&self, mode: Mode) {
        *self.state.mode.lock().unwrap() = mode;
    }

    /// Close every live connection, both sides at once.
    pub fn cut(&self) {
        self.state.cuts.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        for s in self.state.live.lock().unwrap().drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
    }

    /// Connection attempts seen so far (refused ones included).
    pub fn attempts(&self) -> usize {
        self.state.attempts.lock().unwrap().len()
    }

    /// When each attempt arrived.
    pub fn attempt_times(&self) -> Vec<Instant> {
        self.state.attempts.lock().unwrap().clone()
    }
}

/// Close with RST, like a refused connection.
fn reset(s: TcpStream) {
    let fd = std::os::fd::AsRawFd::as_raw_fd(&s);
    let linger = libc::linger { l_onoff: 1, l_linger: 0 };
    // SAFETY: setsockopt on a live socket we own, with a valid linger struct.
    unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        );
    }
    drop(s);
}

fn pump(mut from: TcpStream, mut to: TcpStream, st: Arc<State>, downstream: bool) {
    let _ = from.set_read_timeout(Some(Duration::from_millis(20)));
    let mut buf = vec![0u8; 64 << 10];
    let generation = st.cuts.load(std::sync::atomic::Ordering::SeqCst);
    loop {
        let mode = *st.mode.lock().unwrap();
        if mode == Mode::BlackHole {
            if st.cuts.load(std::sync::atomic::Ordering::SeqCst) != generation {
                break;
            }
            thread::sleep(Duration::from_millis(20));
            continue;
        }
        let want = match mode {
            Mode::Throttle(bps) if downstream => (bps / 50).clamp(1, buf.len()),
            _ => buf.len(),
        };
        let n = match from.read(&mut buf[..want]) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => continue,
            Err(_) => break,
        };
        match mode {
            Mode::Throttle(_) if downstream => thread::sleep(Duration::from_millis(20)),
            Mode::Delay(d) if downstream => thread::sleep(d),
            _ => {}
        }
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Write);
    let _ = from.shutdown(Shutdown::Read);
}
