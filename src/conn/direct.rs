//! The caller-thread fast path. While the connection is open over plain TCP
//! and the worker has nothing of its own to write or read, the worker lends
//! the socket: `ws_send` then frames, masks and writes a message itself
//! (one nonblocking `send`, no hop to the worker), and a caller blocked in
//! `ws_poll` reads the next message from the socket itself (no hop back).
//! Everything else stays with the worker: a write the socket does not take
//! entirely, sends while anything is queued, control frames, fragments,
//! large or invalid frames, the heartbeat, the close. The worker takes the
//! socket back under the same lock before it touches it, with whatever a
//! caller left: the unsent rest of a frame (written before anything else)
//! and the bytes a reader read but did not consume (read before the
//! socket). This module knows only fds and bytes.

use super::waker::Waker;
use crate::wire::apply_mask;
use std::{
    os::fd::RawFd,
    sync::{Condvar, Mutex, MutexGuard, OnceLock},
    time::{Duration, Instant},
};
use tungstenite::{Bytes, Message};

/// After a caller last read the socket, how long the worker leaves it to
/// callers (it does not watch it; the next `ws_poll` reads what came). A
/// worker that watched it while a caller reads would wake for every
/// message it does not get; once callers stop, this is the longest a
/// message (or a ping of the server) waits unread.
pub const GRACE: Duration = Duration::from_millis(2);

/// The most a reader keeps of a frame it reads: longer frames, and every
/// frame of a message longer than this, go to the worker.
const READER_MAX: usize = 64 << 10;
/// What a reader asks `recv` for at a time.
const READ_CHUNK: usize = 16 << 10;

/// The rest of a frame a caller began to write, for the worker to write
/// before anything else.
pub struct Unsent {
    /// The frame's bytes not yet written.
    pub bytes: Vec<u8>,
    /// The message, to queue again if the connection dies before it is out.
    pub message: Message,
}

/// What the worker takes back.
#[derive(Default)]
pub struct Reclaimed {
    /// The rest of a frame a caller began to write.
    pub unsent: Option<Unsent>,
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
    /// A caller is reading (it holds `rx` and the fd outside the lock).
    reader: bool,
    /// The worker wants the socket back.
    reclaim: bool,
    /// A reader met what only the worker handles.
    handback: bool,
    unsent: Option<Unsent>,
    rx: Vec<u8>,
    written: u64,
    bytes_read: u64,
    /// When the last reader left.
    last_reader: Option<Instant>,
    /// Callers waiting in `ws_poll` for the worker's events.
    waiters: usize,
    /// Reused for the frames callers write.
    frame: Vec<u8>,
    rng: u64,
}

/// The fast path's shared state (see the module's doc).
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
    /// Entirely written to the socket.
    Written,
    /// Partly or not written: the rest waits for the worker (wake it).
    Partial,
    /// The socket was not lent: `queue` ran under the lock.
    Queued,
}

/// What a caller's read gave.
pub enum Read {
    /// A message.
    Message(Bytes, bool),
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

    /// For the worker: lend the socket `fd` (for reading too if `read`),
    /// unless `nothing_queued` (asked under the lock that senders queue
    /// under) says a send is on its way to the worker. Returns whether it
    /// is lent.
    pub fn lend(&self, fd: RawFd, read: bool, nothing_queued: impl FnOnce() -> bool) -> bool {
        let mut st = self.lock();
        debug_assert!(!st.lent && st.unsent.is_none());
        if !nothing_queued() {
            return false;
        }
        st.lent = true;
        st.read = read;
        st.fd = fd;
        st.reclaim = false;
        st.handback = false;
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
            unsent: st.unsent.take(),
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
        !st.lent || st.handback || st.unsent.is_some()
    }

    /// For the worker, while lent: whether to watch the socket for reading,
    /// and if not, until when to leave it to callers.
    pub fn watch(&self, now: Instant) -> (bool, Option<Instant>) {
        let st = self.lock();
        if !st.read || st.waiters > 0 {
            return (true, None);
        }
        if st.reader {
            return (false, Some(now + GRACE));
        }
        match st.last_reader {
            Some(t) if now < t + GRACE => (false, Some(t + GRACE)),
            _ => (true, None),
        }
    }

    /// For a caller: write `data` as one frame if the socket is lent, else
    /// run `queue` (which hands the message to the worker) under the lock,
    /// so that every later send, direct or not, comes after it. Never
    /// blocks on the network.
    pub fn send(&self, data: &[u8], binary: bool, queue: impl FnOnce()) -> Sent {
        let mut st = self.lock();
        if !st.lent {
            queue();
            return Sent::Queued;
        }
        let st = &mut *st;
        let mut frame = std::mem::take(&mut st.frame);
        frame.clear();
        frame.push(0x80 | if binary { 2 } else { 1 });
        match data.len() {
            n if n < 126 => frame.push(0x80 | n as u8),
            n if n < 65536 => {
                frame.push(0x80 | 126);
                frame.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                frame.push(0x80 | 127);
                frame.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        let mask = next_mask(&mut st.rng);
        frame.extend_from_slice(&mask);
        let head = frame.len();
        frame.extend_from_slice(data);
        apply_mask(&mut frame[head..], mask);
        let written = send_nonblocking(st.fd, &frame);
        let sent = if written == frame.len() {
            st.written += 1;
            Sent::Written
        } else {
            // The rest goes to the worker, which writes it before anything
            // else; every later send queues behind it.
            let message = if binary {
                Message::Binary(Bytes::copy_from_slice(data))
            } else {
                Message::text(std::str::from_utf8(data).expect("checked by the caller"))
            };
            st.unsent = Some(Unsent { bytes: frame[written..].to_vec(), message });
            st.lent = false;
            Sent::Partial
        };
        // Keep a small buffer for the next frame, not a large one.
        if frame.capacity() <= READ_CHUNK {
            st.frame = frame;
        }
        sent
    }

    /// For a caller of `ws_poll` that would wait: read the next message
    /// from the socket if it is lent for reading, waiting up to `deadline`.
    /// `nothing_pending` (asked under the lock) says that no event of the
    /// worker waits to be taken: those come first. `wake_worker` is called
    /// when the worker must look (it asked for the socket back, or the
    /// reader met what only it handles).
    pub fn read(
        &self,
        deadline: Option<Instant>,
        max: usize,
        nothing_pending: impl Fn() -> bool,
        wake_worker: impl Fn(),
    ) -> Read {
        let Some(waker) = self.reader_waker.get_or_init(|| Waker::new().ok()) else {
            return Read::Worker;
        };
        waker.reset();
        let (fd, mut rx) = {
            let mut st = self.lock();
            // The worker emits only while it holds the socket, so events it
            // read before lending it are seen here.
            if !st.lent || !st.read || st.reader || st.reclaim || st.handback || !nothing_pending()
            {
                return Read::Worker;
            }
            st.reader = true;
            (st.fd, std::mem::take(&mut st.rx))
        };
        let mut got = 0u64;
        let mut handback = false;
        let outcome = loop {
            match parse(&rx, max) {
                Frame::Message(head, len, binary) => {
                    // One NUL past the end, in the same allocation: C code
                    // that reads text as a string stays in bounds.
                    let mut v = Vec::with_capacity(len + 1);
                    v.extend_from_slice(&rx[head..head + len]);
                    v.push(0);
                    let mut data = Bytes::from(v);
                    data.truncate(len);
                    rx.drain(..head + len);
                    break Read::Message(data, binary);
                }
                Frame::Other => {
                    handback = true;
                    break Read::Worker;
                }
                Frame::Partial => {}
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
        let mut st = self.lock();
        st.reader = false;
        st.rx = rx;
        st.bytes_read += got;
        st.handback |= handback;
        st.last_reader = Some(Instant::now());
        let wake = st.reclaim || st.handback || st.waiters > 0;
        drop(st);
        self.left.notify_all();
        if wake {
            wake_worker();
        }
        outcome
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

/// `send(2)` without blocking and without SIGPIPE: how many bytes the
/// socket took (0 on any error: the worker will see it).
fn send_nonblocking(fd: RawFd, buf: &[u8]) -> usize {
    #[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
    let flags = libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL;
    // Elsewhere the socket has SO_NOSIGPIPE.
    #[cfg(not(any(target_os = "linux", target_os = "android", target_os = "freebsd")))]
    let flags = libc::MSG_DONTWAIT;
    let mut done = 0;
    while done < buf.len() {
        // SAFETY: sending from a valid buffer on the lent socket, which the
        // worker does not close while this lock is held.
        let n = unsafe { libc::send(fd, buf[done..].as_ptr().cast(), buf.len() - done, flags) };
        if n > 0 {
            done += n as usize;
        } else if n < 0 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted
        {
            continue;
        } else {
            break;
        }
    }
    done
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
