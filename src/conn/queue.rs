//! Event queues: one queue collects the events of many connections, for
//! callers that want every event on one thread without per-connection
//! threads or callbacks (the Node binding polls one from a libuv worker).
//! The connection's worker pushes and never waits for the reader.

use super::{delivery::Queued, direct::Read, Shared};
use crate::event::Event;
use std::{
    collections::VecDeque,
    os::fd::RawFd,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Condvar, Mutex, MutexGuard, OnceLock, Weak,
    },
    time::{Duration, Instant},
};

/// How long a reader spins before it sleeps, when spinning can pay: a reply
/// on loopback often lands within this, and catching it without a sleep and
/// wake-up saves several microseconds of round trip, for at most this much
/// CPU per wait.
const SPIN: Duration = Duration::from_micros(50);

/// The spin of `ws_poll` and `ws_queue_poll`: [`SPIN`] when this process
/// may run on more than one CPU, none when it is pinned to one (there the
/// worker that would bring the event cannot run while the reader spins, so
/// spinning only delays it). `WSCLIENT_POLL_SPIN_US` sets it (0: never
/// spin), for measuring.
pub fn spin() -> Duration {
    static SPIN_US: OnceLock<Duration> = OnceLock::new();
    *SPIN_US.get_or_init(|| {
        if let Some(us) =
            std::env::var("WSCLIENT_POLL_SPIN_US").ok().and_then(|v| v.trim().parse().ok())
        {
            return Duration::from_micros(us);
        }
        if usable_cpus() > 1 {
            SPIN
        } else {
            Duration::ZERO
        }
    })
}

/// How many CPUs this process may run on (its affinity mask).
fn usable_cpus() -> usize {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: a zeroed cpu_set_t is a valid empty set; the kernel fills it.
        let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
        // SAFETY: pid 0 is this thread; the size is that of `set`.
        if unsafe { libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) }
            == 0
        {
            // SAFETY: `set` was filled by the kernel.
            return unsafe { libc::CPU_COUNT(&set) } as usize;
        }
    }
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Spin until `ready()` or the spin time has passed (or the deadline is now).
pub fn spin_until(ready: impl Fn() -> bool, deadline: Option<Instant>) {
    let spin = spin();
    if spin.is_zero() {
        return;
    }
    let start = Instant::now();
    let until = deadline.map_or(start + spin, |d| d.min(start + spin));
    while !ready() && Instant::now() < until {
        std::hint::spin_loop();
    }
}

/// A multi-connection event queue.
#[derive(Default)]
pub struct EventQueue {
    state: Mutex<State>,
    cv: Condvar,
    /// Events waiting, readable without the lock (for the spin).
    len: AtomicUsize,
    /// The batch the last poll returned: its events stay alive (the caller
    /// reads them through pointers) until the next poll or until the queue
    /// is freed, and hold their share of their connection's receive limit
    /// until then. The lock also keeps polls one at a time.
    last_batch: Mutex<Vec<(u64, Queued)>>,
    /// The connections attached (some may have left since).
    members: Mutex<Vec<Weak<Shared>>>,
}

#[derive(Default)]
struct State {
    events: VecDeque<(u64, Queued)>,
    woken: bool,
    /// The readiness pipe of `ws_queue_fd`, once asked for.
    signal: Option<Signal>,
}

/// A pipe whose read end is readable while the queue holds events: one byte
/// is in it from the push that made the queue non-empty until a poll takes
/// the last event. Level-triggered for `poll(2)`; a reader that reads the
/// byte itself (a Node stream) loses nothing, as long as it drains the queue
/// after each readiness.
struct Signal {
    read: RawFd,
    write: RawFd,
    raised: bool,
}

impl Signal {
    fn new() -> std::io::Result<Signal> {
        let [read, write] = super::waker::pipe()?;
        Ok(Signal { read, write, raised: false })
    }

    fn raise(&mut self) {
        if !self.raised {
            // SAFETY: writing one byte from a valid buffer to our own fd.
            unsafe { libc::write(self.write, b"!".as_ptr().cast(), 1) };
            self.raised = true;
        }
    }

    fn lower(&mut self) {
        if self.raised {
            let mut buf = [0u8; 16];
            // SAFETY: reading into a valid buffer from our own nonblocking fd.
            while unsafe { libc::read(self.read, buf.as_mut_ptr().cast(), buf.len()) } > 0 {}
            self.raised = false;
        }
    }
}

impl Drop for Signal {
    fn drop(&mut self) {
        // SAFETY: the fds are ours and closed once.
        unsafe {
            libc::close(self.read);
            libc::close(self.write);
        }
    }
}

impl EventQueue {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A connection is attached (its events come here from now on).
    pub fn join(&self, member: Weak<Shared>) {
        self.members.lock().unwrap_or_else(|e| e.into_inner()).push(member);
    }

    /// The one connection whose events come here, if there is only one.
    pub fn solo(&self) -> Option<Arc<Shared>> {
        let list = self.members.lock().unwrap_or_else(|e| e.into_inner()).clone();
        // Without this lock held: a connection's sink lock is taken before
        // this queue's elsewhere.
        let live: Vec<Arc<Shared>> =
            list.iter().filter_map(Weak::upgrade).filter(|c| c.delivery.feeds(self)).collect();
        {
            let mut members = self.members.lock().unwrap_or_else(|e| e.into_inner());
            if members.len() == list.len() {
                *members = live.iter().map(Arc::downgrade).collect();
            }
        }
        match <[Arc<Shared>; 1]>::try_from(live) {
            Ok([one]) => Some(one),
            Err(_) => None,
        }
    }

    /// Add events of `handle`, in order.
    pub fn push(&self, handle: u64, events: impl IntoIterator<Item = Queued>) {
        let mut s = self.lock();
        let before = s.events.len();
        s.events.extend(events.into_iter().map(|e| (handle, e)));
        if s.events.len() != before {
            self.len.store(s.events.len(), Ordering::Release);
            if let Some(signal) = &mut s.signal {
                signal.raise();
            }
            self.cv.notify_all();
        }
    }

    /// The read end of the readiness pipe (see `Signal`), made on the first
    /// call; it lives as long as the queue.
    pub fn fd(&self) -> std::io::Result<RawFd> {
        let mut s = self.lock();
        if s.signal.is_none() {
            s.signal = Some(Signal::new()?);
        }
        let pending = !s.events.is_empty();
        let signal = s.signal.as_mut().expect("just made");
        if pending {
            signal.raise();
        }
        Ok(signal.read)
    }

    /// Make a waiting `pop_batch` return now.
    pub fn wake(&self) {
        self.lock().woken = true;
        self.cv.notify_all();
        // Also out of a read of the socket on the reader's thread.
        if let Some(c) = self.solo() {
            c.direct.interrupt();
        }
    }

    /// Release the last batch and take the next: up to `max` events,
    /// waiting up to `timeout` (`None`: until an event or a wake) for the
    /// first. `show` sees each event with its index and handle; the events
    /// stay alive until the next call. Returns how many there are.
    pub fn next_batch(
        &self,
        max: usize,
        timeout: Option<Duration>,
        mut show: impl FnMut(usize, u64, &Event),
    ) -> usize {
        let mut last = self.last_batch.lock().unwrap_or_else(|e| e.into_inner());
        last.clear();
        *last = self.pop_batch(max, timeout);
        for (i, (h, q)) in last.iter().enumerate() {
            show(i, *h, &q.event);
        }
        last.len()
    }

    fn pop_batch(&self, max: usize, timeout: Option<Duration>) -> Vec<(u64, Queued)> {
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut solo = None;
        if timeout != Some(Duration::ZERO) && self.len.load(Ordering::Acquire) == 0 {
            // The fast path: a queue of one connection may read its socket
            // on this thread while the worker lends it (conn::direct).
            solo = self.solo();
            if let Some(c) = &solo {
                let nothing_pending =
                    || self.len.load(Ordering::Acquire) == 0 && c.delivery.is_empty();
                let max_size = c.limits.max_message_size;
                let written = |n, bytes| c.written(n, bytes);
                let wake = || c.waker.wake();
                match c.direct.read(deadline, max_size, max, nothing_pending, written, wake) {
                    Read::Messages(m) => {
                        let h = c.handle();
                        return m
                            .into_iter()
                            .map(|(d, b)| (h, c.delivery.queued(c.read_by_caller_event(d, b))))
                            .collect();
                    }
                    Read::Timeout => return Vec::new(),
                    Read::Worker => {}
                }
                // Wait for the worker's events (it watches the socket meanwhile).
                if c.direct.waiting(true) {
                    c.waker.wake();
                }
            } else {
                spin_until(|| self.len.load(Ordering::Acquire) != 0, deadline);
            }
        }
        let batch = self.wait_batch(max, deadline);
        if let Some(c) = solo {
            let _ = c.direct.waiting(false);
        }
        batch
    }

    fn wait_batch(&self, max: usize, deadline: Option<Instant>) -> Vec<(u64, Queued)> {
        let mut s = self.lock();
        while s.events.is_empty() && !s.woken {
            s = match deadline {
                None => self.cv.wait(s).unwrap_or_else(|e| e.into_inner()),
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        break;
                    }
                    self.cv.wait_timeout(s, d - now).unwrap_or_else(|e| e.into_inner()).0
                }
            };
        }
        s.woken = false;
        let n = max.min(s.events.len());
        let batch = s.events.drain(..n).collect();
        self.len.store(s.events.len(), Ordering::Release);
        if s.events.is_empty() {
            if let Some(signal) = &mut s.signal {
                signal.lower();
            }
        }
        batch
    }
}
