//! The caller-thread fast path. While the connection is open over plain TCP
//! and the worker has nothing of its own to write or read, the worker lends
//! the socket: `ws_send` then frames, masks and writes a message itself
//! (one nonblocking `send`, no hop to the worker), and a caller blocked in
//! `ws_poll` reads the next message from the socket itself (no hop back).
//! Everything else stays with the worker: a write the socket does not take
//! entirely, sends while anything is queued, control frames, fragments,
//! large or invalid frames, the heartbeat, the close. The worker takes the
//! socket back under the same lock before it touches it, with whatever a
//! caller left: the unsent rest of its frames (they go into the link's
//! encoder, written before anything else) and the bytes a reader read but
//! did not consume (fed to the link's decoder, read before the socket).
//! With permessage-deflate agreed, messages the encoder would compress and
//! compressed (RSV1) frames are the worker's: both deflate contexts are its
//! own. This module knows only fds and bytes (and `wire::apply_mask`).

use super::waker::Waker;
use crate::wire::apply_mask;
use std::{
    collections::VecDeque,
    io,
    os::fd::RawFd,
    sync::{Condvar, Mutex, MutexGuard, OnceLock},
    time::{Duration, Instant},
};
use tungstenite::Bytes;

/// After a caller last read the socket, how long the worker leaves it to
/// callers (it does not watch it; the next `ws_poll` reads what came). A
/// worker that watched it while a caller reads would wake for every
/// message it does not get; once callers stop, this is the longest a
/// message (or a ping of the server) waits unread, while they were
/// reading messages ([`IDLE_TICK`] while they were reading nothing).
pub const GRACE: Duration = Duration::from_millis(2);
/// While callers read nothing (a caller waits in `ws_poll` on a quiet
/// connection), the worker looks less and less often, up to this.
const IDLE_TICK: Duration = Duration::from_millis(500);

/// The most a reader keeps of a frame it reads: longer frames, and every
/// frame of a message longer than this, go to the worker.
const READER_MAX: usize = 64 << 10;
/// What a reader asks `recv` for at a time.
const READ_CHUNK: usize = 16 << 10;
/// Batched frames are written once they reach this many bytes.
const BATCH: usize = 64 << 10;

/// Frames callers wrote, not yet entirely written: the bytes from the
/// start of the first unfinished frame, how many of them are written, and
/// where each frame ends. A frame is one whole message.
#[derive(Default)]
pub struct Out {
    bytes: Vec<u8>,
    pos: usize,
    /// End offset in `bytes` and payload length of each frame.
    frames: VecDeque<(usize, u64)>,
}

impl Out {
    /// Whether no frame is left to write.
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// Bytes left to write.
    pub fn unwritten(&self) -> usize {
        self.bytes.len() - self.pos
    }

    /// Add one masked frame carrying `data`.
    fn push(&mut self, data: &[u8], binary: bool, mask: [u8; 4]) {
        let b = &mut self.bytes;
        b.push(0x80 | if binary { 2 } else { 1 });
        match data.len() {
            n if n < 126 => b.push(0x80 | n as u8),
            n if n < 65536 => {
                b.push(0x80 | 126);
                b.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                b.push(0x80 | 127);
                b.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        b.extend_from_slice(&mask);
        let head = b.len();
        b.extend_from_slice(data);
        apply_mask(&mut b[head..], mask);
        self.frames.push_back((b.len(), data.len() as u64));
    }

    /// Write what `write` takes, until it is all written, `write` fails or
    /// takes nothing. Returns the error, if any, and the messages and
    /// payload bytes entirely written by this call.
    pub fn write_with(
        &mut self,
        mut write: impl FnMut(&[u8]) -> io::Result<usize>,
    ) -> (io::Result<()>, u64, u64) {
        let mut result = Ok(());
        while self.pos < self.bytes.len() {
            match write(&self.bytes[self.pos..]) {
                Ok(0) => {
                    result = Err(io::ErrorKind::WriteZero.into());
                    break;
                }
                Ok(n) => self.pos += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        let (mut n, mut bytes, mut start) = (0, 0, 0);
        while let Some(&(end, len)) = self.frames.front() {
            if end > self.pos {
                break;
            }
            self.frames.pop_front();
            (n, bytes, start) = (n + 1, bytes + len, end);
        }
        if self.frames.is_empty() {
            self.bytes.clear();
            self.pos = 0;
        } else if start > 0 {
            self.bytes.drain(..start);
            self.pos -= start;
            for f in &mut self.frames {
                f.0 -= start;
            }
        }
        (result, n, bytes)
    }

    /// The frames not entirely written, in order, for the worker's
    /// encoder: each frame's bytes (header and masked payload), how many of
    /// them are written (only the first may have some), and its payload
    /// length.
    pub fn frames(&self) -> impl Iterator<Item = (&[u8], usize, u64)> + '_ {
        let mut start = 0;
        self.frames.iter().map(move |&(end, len)| {
            let frame = &self.bytes[start..end];
            let written = self.pos.saturating_sub(start).min(frame.len());
            start = end;
            (frame, written, len)
        })
    }
}

/// What the worker takes back.
#[derive(Default)]
pub struct Reclaimed {
    /// Frames callers wrote or batched and did not write entirely.
    pub unsent: Out,
    /// Bytes a reader read and did not consume, from a frame boundary.
    pub read: Vec<u8>,
    /// Messages callers wrote entirely since the worker last looked.
    pub written: u64,
    /// Bytes callers read from the socket since the worker last looked.
    pub bytes_read: u64,
}

#[derive(Default)]
struct State {
    /// The socket is lent: callers may write to it.
    lent: bool,
    /// Callers may also read it (pull mode, at a frame boundary).
    read: bool,
    fd: RawFd,
    /// Messages this long or longer go to the worker (its encoder
    /// compresses them: the deflate context is the worker's).
    send_max: usize,
    /// Frames longer than this go to the worker (its frame size limit).
    read_max: usize,
    /// A caller is reading (it holds `rx` and the fd outside the lock).
    reader: bool,
    /// The worker wants the socket back.
    reclaim: bool,
    /// A reader met what only the worker handles.
    handback: bool,
    /// Frames written or batched by callers, not yet entirely written.
    out: Out,
    /// The worker sleeps at most until a grace deadline: frames batched
    /// now are written by a reader or by the worker soon.
    timed: bool,
    rx: Vec<u8>,
    written: u64,
    bytes_read: u64,
    /// When a caller's read last returned messages.
    last_active: Option<Instant>,
    /// When the worker looks next, if it does not watch the socket.
    look_at: Option<Instant>,
    /// How often the worker looks while it leaves the socket to callers:
    /// [`GRACE`] while they read, longer while they read nothing.
    tick: Duration,
    /// When the last reader left.
    last_reader: Option<Instant>,
    /// Callers waiting in `ws_poll` for the worker's events.
    waiters: usize,
    /// The next (or current) reader returns at once (`ws_queue_wake`).
    interrupted: bool,
    rng: u64,
}

/// The fast path's shared state (see the module's doc).
impl State {
    /// Write the frames callers left; the socket goes back to the worker
    /// if it does not take them all.
    fn flush(&mut self) -> Sent {
        let fd = self.fd;
        let (_, n, bytes) = self.out.write_with(|b| send_nonblocking(fd, b));
        self.written += n;
        if self.out.is_empty() {
            Sent::Written(n, bytes)
        } else {
            self.lent = false;
            Sent::Partial(n, bytes)
        }
    }
}

#[derive(Default)]
pub struct Direct {
    st: Mutex<State>,
    /// Signalled when a reader leaves.
    left: Condvar,
    /// Wakes a reader out of `poll(2)` when the worker wants the socket;
    /// made when the first reader comes.
    reader_waker: OnceLock<Option<Waker>>,
}

/// How a caller's send went.
pub enum Sent {
    /// Written to the socket, with the frames batched before it: how many
    /// messages and payload bytes.
    Written(u64, u64),
    /// Partly written (how many messages and bytes entirely): the rest
    /// waits for the worker (wake it).
    Partial(u64, u64),
    /// Batched, for the reader or the worker to write.
    Batched,
    /// The socket was not lent: `queue` ran under the lock.
    Queued,
}

/// What a caller's read gave.
pub enum Read {
    /// Messages (payload, binary), at least one.
    Messages(Vec<(Bytes, bool)>),
    /// Nothing by the deadline.
    Timeout,
    /// The socket is not lent for reading (or the reader stopped for the
    /// worker): wait for the worker's events.
    Worker,
}

/// What the frame at the start of a buffer is, for a reader.
#[derive(Debug, PartialEq, Eq)]
enum Frame {
    /// Not all there yet.
    Partial,
    /// A whole unfragmented text or binary frame that a reader may take:
    /// header length, payload length, binary.
    Message(usize, usize, bool),
    /// Anything else: for the worker.
    Other,
}

fn parse(buf: &[u8], max: usize) -> Frame {
    let [b0, b1, ..] = *buf else { return Frame::Partial };
    let (fin, rsv, op) = (b0 & 0x80 != 0, b0 & 0x70, b0 & 0x0F);
    // A server's frames are unmasked; anything odd is the worker's to judge.
    if !fin || rsv != 0 || (op != 1 && op != 2) || b1 & 0x80 != 0 {
        return Frame::Other;
    }
    let (head, len) = match b1 & 0x7F {
        126 => match buf.get(2..4) {
            None => return Frame::Partial,
            Some(b) => (4, u16::from_be_bytes([b[0], b[1]]) as usize),
        },
        127 => return Frame::Other,
        n => (2, n as usize),
    };
    if len > max.min(READER_MAX) || (head == 4 && len < 126) {
        return Frame::Other;
    }
    if buf.len() < head + len {
        return Frame::Partial;
    }
    if op == 1 && std::str::from_utf8(&buf[head..head + len]).is_err() {
        return Frame::Other;
    }
    Frame::Message(head, len, op == 2)
}

impl Direct {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.st.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// For the worker: lend the socket `fd` (for reading too if `read`,
    /// frames of at most `read_max` bytes; callers write messages shorter
    /// than `send_max` only), unless
    /// `nothing_queued` (asked under the lock that senders queue under)
    /// says a send is on its way to the worker. Returns whether it is lent.
    pub fn lend(
        &self,
        fd: RawFd,
        read: bool,
        (send_max, read_max): (usize, usize),
        nothing_queued: impl FnOnce() -> bool,
    ) -> bool {
        let mut st = self.lock();
        debug_assert!(!st.lent && st.out.is_empty());
        if !nothing_queued() {
            return false;
        }
        st.lent = true;
        st.read = read;
        st.fd = fd;
        st.send_max = send_max;
        st.read_max = read_max;
        st.reclaim = false;
        st.handback = false;
        st.timed = false;
        true
    }

    /// For the worker: take the socket back, with what callers left. `None`
    /// while a caller reads: it is told to stop, and wakes the worker when
    /// it has.
    pub fn reclaim(&self, wake_worker_later: bool) -> Option<Reclaimed> {
        let mut st = self.lock();
        if st.reader {
            if wake_worker_later && !st.reclaim {
                st.reclaim = true;
                if let Some(Some(w)) = self.reader_waker.get() {
                    w.wake();
                }
            }
            return None;
        }
        st.lent = false;
        st.read = false;
        st.reclaim = false;
        st.handback = false;
        Some(Reclaimed {
            unsent: std::mem::take(&mut st.out),
            read: std::mem::take(&mut st.rx),
            written: std::mem::take(&mut st.written),
            bytes_read: std::mem::take(&mut st.bytes_read),
        })
    }

    /// For the worker, before it drops the socket: take it back, waiting
    /// for a reader to leave (it is woken and leaves at once).
    pub fn revoke(&self) -> Reclaimed {
        loop {
            if let Some(r) = self.reclaim(true) {
                return r;
            }
            let st = self.lock();
            if st.reader {
                drop(self.left.wait(st).unwrap_or_else(|e| e.into_inner()));
            }
        }
    }

    /// For the worker, while lent: whether a caller left something that
    /// only it can handle (a partial write, a frame for it).
    pub fn needs_worker(&self) -> bool {
        let st = self.lock();
        !st.lent || st.handback || (!st.out.is_empty() && !st.reader)
    }

    /// For the worker, while lent: whether a caller is reading the socket
    /// now (it takes what made the socket readable).
    pub fn reading(&self) -> bool {
        self.lock().reader
    }

    /// For the worker, while lent: whether to watch the socket for reading,
    /// and if not, until when to leave it to callers.
    pub fn watch(&self, now: Instant) -> (bool, Option<Instant>) {
        let mut st = self.lock();
        // Callers read messages within the last interval: keep looking often.
        // It grows only when the worker's own timer ran out with nothing
        // read (not when something else woke it).
        let active = st.last_active.is_some_and(|t| now.saturating_duration_since(t) < st.tick);
        let timed_out = st.look_at.is_some_and(|d| now >= d);
        st.tick = if active {
            GRACE
        } else if timed_out {
            (st.tick * 2).clamp(GRACE, IDLE_TICK)
        } else {
            st.tick.max(GRACE)
        };
        let tick = st.tick;
        let r = if !st.read || st.waiters > 0 {
            (true, None)
        } else if st.reader {
            (false, Some(now + tick))
        } else {
            match st.last_reader {
                Some(t) if now < t + tick => (false, Some(t + tick)),
                _ => (true, None),
            }
        };
        // Frames are batched only while the worker looks within GRACE.
        st.timed = r.1.is_some() && tick == GRACE;
        st.look_at = r.1;
        r
    }

    /// For a caller: write `data` as one frame if the socket is lent (and
    /// `data` is below the compression threshold), else run `queue`
    /// (which hands the message to the worker) under the lock,
    /// so that every later send, direct or not, comes after it. Never
    /// blocks on the network. While a reader has messages in hand (it will
    /// be back before it reads the socket again) the frame is batched with
    /// the next ones instead, and written by the reader before it reads, or
    /// by the worker within [`GRACE`].
    pub fn send(&self, data: &[u8], binary: bool, queue: impl FnOnce()) -> Sent {
        let mut st = self.lock();
        if !st.lent {
            queue();
            return Sent::Queued;
        }
        if data.len() >= st.send_max {
            // For the worker's encoder; later sends follow it there, and
            // the frames batched before it go first.
            st.lent = false;
            queue();
            return Sent::Queued;
        }
        let st = &mut *st;
        let mask = next_mask(&mut st.rng);
        st.out.push(data, binary, mask);
        if st.timed && st.out.unwritten() < BATCH && parse(&st.rx, usize::MAX) != Frame::Partial {
            return Sent::Batched;
        }
        st.flush()
    }

    /// For a caller of `ws_poll` that would wait: read the next messages
    /// (at most `max_messages`, of at most `max` bytes) from the socket if
    /// it is lent for reading, waiting up to `deadline`.
    /// `nothing_pending` (asked under the lock) says that no event of the
    /// worker waits to be taken: those come first. `wake_worker` is called
    /// when the worker must look (it asked for the socket back, or the
    /// reader met what only it handles).
    pub fn read(
        &self,
        deadline: Option<Instant>,
        max: usize,
        max_messages: usize,
        nothing_pending: impl Fn() -> bool,
        written: impl Fn(u64, u64),
        wake_worker: impl Fn(),
    ) -> Read {
        let Some(waker) = self.reader_waker.get_or_init(|| Waker::new().ok()) else {
            return Read::Worker;
        };
        waker.reset_if_woken();
        let (fd, mut rx, max) = {
            let mut st = self.lock();
            // The worker emits only while it holds the socket, so events it
            // read before lending it are seen here.
            if std::mem::take(&mut st.interrupted)
                || !st.lent
                || !st.read
                || st.reader
                || st.reclaim
                || st.handback
                || !nothing_pending()
            {
                return Read::Worker;
            }
            st.reader = true;
            (st.fd, std::mem::take(&mut st.rx), max.min(st.read_max))
        };
        let mut got = 0u64;
        let mut handback = false;
        let mut messages = Vec::new();
        let mut used = 0;
        let outcome = loop {
            match parse(&rx[used..], max) {
                Frame::Message(head, len, binary) => {
                    // One NUL past the end, in the same allocation: C code
                    // that reads text as a string stays in bounds.
                    let mut v = Vec::with_capacity(len + 1);
                    v.extend_from_slice(&rx[used + head..used + head + len]);
                    v.push(0);
                    let mut data = Bytes::from(v);
                    data.truncate(len);
                    used += head + len;
                    messages.push((data, binary));
                    if messages.len() >= max_messages {
                        break Read::Messages(messages);
                    }
                    continue;
                }
                // What is left waits for the next read.
                _ if !messages.is_empty() => break Read::Messages(messages),
                Frame::Other => {
                    handback = true;
                    break Read::Worker;
                }
                Frame::Partial => {}
            }
            rx.drain(..used);
            used = 0;
            // Frames batched while this thread had messages in hand go out
            // before it waits for more.
            {
                let mut st = self.lock();
                if !st.out.is_empty() && st.lent {
                    let sent = st.flush();
                    drop(st);
                    match sent {
                        Sent::Written(n, b) => written(n, b),
                        Sent::Partial(n, b) => {
                            written(n, b);
                            break Read::Worker;
                        }
                        Sent::Batched | Sent::Queued => {}
                    }
                }
            }
            rx.reserve(READ_CHUNK);
            let spare = rx.capacity() - rx.len();
            // SAFETY: reading into the spare capacity of `rx` from the lent
            // socket, which the worker does not close while a reader is in.
            let n = unsafe {
                libc::recv(fd, rx.as_mut_ptr().add(rx.len()).cast(), spare, libc::MSG_DONTWAIT)
            };
            if n > 0 {
                // SAFETY: recv initialized `n` bytes after the length.
                unsafe { rx.set_len(rx.len() + n as usize) };
                got += n as u64;
                continue;
            }
            let err = std::io::Error::last_os_error();
            if n == 0 || err.kind() != std::io::ErrorKind::WouldBlock {
                // EOF or an error: the worker reads it again and reports it.
                handback = true;
                break Read::Worker;
            }
            let mut fds = [
                libc::pollfd { fd, events: libc::POLLIN, revents: 0 },
                libc::pollfd { fd: waker.fd(), events: libc::POLLIN, revents: 0 },
            ];
            let timeout = crate::policy::deadline::poll_ms(deadline, Instant::now());
            // SAFETY: fds is a valid array of two pollfd structs.
            let r = unsafe { libc::poll(fds.as_mut_ptr(), 2, timeout) };
            if fds[1].revents != 0 {
                break Read::Worker;
            }
            if r == 0 && deadline.is_some_and(|d| Instant::now() >= d) {
                break Read::Timeout;
            }
        };
        rx.drain(..used);
        let mut st = self.lock();
        st.reader = false;
        st.rx = rx;
        st.bytes_read += got;
        let left = Instant::now();
        if matches!(outcome, Read::Messages(_)) {
            st.last_active = Some(left);
        }
        st.handback |= handback;
        st.last_reader = Some(left);
        let wake = st.reclaim || st.handback || st.waiters > 0 || !st.lent;
        drop(st);
        self.left.notify_all();
        if wake {
            wake_worker();
        }
        outcome
    }

    /// Make a caller reading the socket return (to look at its event queue).
    pub fn interrupt(&self) {
        let mut st = self.lock();
        st.interrupted = true;
        if st.reader {
            if let Some(Some(w)) = self.reader_waker.get() {
                w.wake();
            }
        }
    }

    /// For a caller of `ws_poll` about to wait for the worker's events
    /// (`on`) and done waiting: while any waits, the worker watches the
    /// socket. Returns whether the worker must be woken to start watching.
    pub fn waiting(&self, on: bool) -> bool {
        let mut st = self.lock();
        if on {
            st.waiters += 1;
            st.lent && st.read
        } else {
            st.waiters -= 1;
            false
        }
    }
}

/// `send(2)` without blocking and without SIGPIPE.
fn send_nonblocking(fd: RawFd, buf: &[u8]) -> io::Result<usize> {
    #[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
    let flags = libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL;
    // Elsewhere the socket has SO_NOSIGPIPE.
    #[cfg(not(any(target_os = "linux", target_os = "android", target_os = "freebsd")))]
    let flags = libc::MSG_DONTWAIT;
    // SAFETY: sending from a valid buffer on the lent socket, which the
    // worker does not close while the lock is held.
    let n = unsafe { libc::send(fd, buf.as_ptr().cast(), buf.len(), flags) };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

/// A mask key (RFC 6455, 5.3) from a per-connection xorshift generator,
/// seeded from the clock and the state's address on first use.
fn next_mask(state: &mut u64) -> [u8; 4] {
    if *state == 0 {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        *state = (t ^ (state as *const u64 as u64).rotate_left(29)) | 1;
    }
    let mut x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    (x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 32).to_ne_bytes()[..4].try_into().expect("4 bytes")
}

#[cfg(test)]
mod tests {
    use super::{parse, Frame};

    #[test]
    fn a_reader_takes_only_whole_plain_data_frames() {
        assert_eq!(parse(&[], 100), Frame::Partial);
        assert_eq!(parse(&[0x81], 100), Frame::Partial);
        assert_eq!(parse(&[0x81, 3, b'a'], 100), Frame::Partial);
        assert_eq!(parse(&[0x81, 3, b'a', b'b', b'c', 0x81], 100), Frame::Message(2, 3, false));
        assert_eq!(parse(&[0x82, 0], 100), Frame::Message(2, 0, true));
        // Invalid UTF-8, a fragment, a ping, RSV1, a masked frame.
        assert_eq!(parse(&[0x81, 1, 0xFF], 100), Frame::Other);
        assert_eq!(parse(&[0x01, 1, b'a'], 100), Frame::Other);
        assert_eq!(parse(&[0x89, 0], 100), Frame::Other);
        assert_eq!(parse(&[0xC1, 1, b'a'], 100), Frame::Other);
        assert_eq!(parse(&[0x81, 0x81, 0, 0, 0, 0, b'a'], 100), Frame::Other);
        // Over the limit, a 64-bit length, a non-minimal 16-bit length.
        assert_eq!(parse(&[0x82, 101], 100), Frame::Other);
        assert_eq!(parse(&[0x82, 127, 0, 0, 0, 0, 0, 0, 0, 1], 100), Frame::Other);
        assert_eq!(parse(&[0x82, 126, 0, 5], 100), Frame::Other);
        let mut big = vec![0x82, 126, 1, 0];
        assert_eq!(parse(&big, 1000), Frame::Partial);
        big.resize(4 + 256, 7);
        assert_eq!(parse(&big, 1000), Frame::Message(4, 256, true));
    }
}
