//! The wake-up fd the worker polls next to its socket.

use std::{
    os::fd::RawFd,
    sync::atomic::{AtomicBool, Ordering},
};

/// Wakes the worker out of `poll(2)`: an eventfd on Linux (one fd), a
/// self-pipe elsewhere.
pub struct Waker {
    read_fd: RawFd,
    write_fd: RawFd,
    armed: AtomicBool,
}

impl Waker {
    /// A new wake-up fd (or pipe).
    #[cfg(target_os = "linux")]
    pub fn new() -> std::io::Result<Waker> {
        // SAFETY: plain eventfd(2) call.
        let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(Waker { read_fd: fd, write_fd: fd, armed: AtomicBool::new(false) })
    }

    /// A new wake-up fd (or pipe).
    #[cfg(not(target_os = "linux"))]
    pub fn new() -> std::io::Result<Waker> {
        let [read_fd, write_fd] = pipe()?;
        Ok(Waker { read_fd, write_fd, armed: AtomicBool::new(false) })
    }

    /// Wake the worker; at most one wake-up is in flight at a time.
    pub fn wake(&self) {
        if !self.armed.swap(true, Ordering::SeqCst) {
            // 8 bytes for an eventfd; a pipe takes them as well.
            let one = 1u64.to_ne_bytes();
            // SAFETY: writing from a valid buffer to our own fd.
            unsafe { libc::write(self.write_fd, one.as_ptr().cast(), one.len()) };
        }
    }

    /// The fd the worker polls.
    pub fn fd(&self) -> RawFd {
        self.read_fd
    }

    /// Call before draining the command channel. Empties the fd, then
    /// re-arms: a sender that saw the flag still set had queued its command
    /// before this returned, so the drain that follows sees it; any later
    /// sender writes again and wakes `poll`. (Clearing the flag before
    /// emptying the fd would swallow such a write and lose the wake-up.)
    pub fn reset(&self) {
        let mut buf = [0u8; 64];
        // SAFETY: reading into a valid buffer from our own nonblocking fd.
        while unsafe { libc::read(self.read_fd, buf.as_mut_ptr().cast(), buf.len()) } > 0 {}
        self.armed.store(false, Ordering::SeqCst);
    }
}

impl Waker {
    /// [`reset`](Self::reset), without a system call when no wake-up is in
    /// flight (one that starts after this check stays pending).
    pub fn reset_if_woken(&self) {
        if self.armed.load(Ordering::SeqCst) {
            self.reset();
        }
    }
}

impl Drop for Waker {
    fn drop(&mut self) {
        // SAFETY: the fds are ours and closed once (one fd for an eventfd).
        unsafe {
            libc::close(self.read_fd);
            if self.write_fd != self.read_fd {
                libc::close(self.write_fd);
            }
        }
    }
}

/// A pipe with both ends nonblocking and close-on-exec: `[read, write]`.
pub fn pipe() -> std::io::Result<[RawFd; 2]> {
    let mut fds = [0; 2];
    // SAFETY: fds is a valid array of two ints.
    if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    for fd in fds {
        // SAFETY: fd was just returned by pipe().
        unsafe {
            libc::fcntl(fd, libc::F_SETFL, libc::fcntl(fd, libc::F_GETFL) | libc::O_NONBLOCK);
            libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
        }
    }
    Ok(fds)
}
