//! The close deadline. Once the user asks to close, or the peer's close
//! frame arrives and its echo waits to be written, the connection ends
//! within the close timeout, whatever is still queued.

use super::deadline::{earliest, Deadline};
use std::time::{Duration, Instant};

/// The closing state of one live connection.
#[derive(Debug)]
pub struct Closing {
    timeout: Duration,
    /// The user asked to close (`ws_close` or `ws_free`).
    requested: bool,
    deadline: Option<Deadline>,
}

impl Closing {
    /// Nothing closing yet; a close, once started, may take `timeout`.
    pub fn new(timeout: Duration) -> Closing {
        Closing { timeout, requested: false, deadline: None }
    }

    /// The user asked to close at `now`: true the first time. The deadline
    /// is the timeout from now, or the earlier one already running.
    pub fn request(&mut self, now: Instant) -> bool {
        if self.requested {
            return false;
        }
        self.requested = true;
        self.deadline = earliest(self.deadline, Some(Deadline::after(now, self.timeout)));
        true
    }

    /// The peer's close frame arrived at `now` and our echo could not be
    /// written at once: the timeout runs from now unless one already does.
    pub fn peer_closed(&mut self, now: Instant) {
        self.deadline.get_or_insert(Deadline::after(now, self.timeout));
    }

    /// Whether the user asked to close.
    pub fn requested(&self) -> bool {
        self.requested
    }

    /// Whether to give up waiting for the close to finish at `now`.
    pub fn expired(&self, now: Instant) -> bool {
        self.deadline.is_some_and(|d| d.passed(now))
    }

    /// When `expired` turns true, if a close runs.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline.map(Deadline::at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn no_deadline_before_a_close() {
        let t0 = Instant::now();
        let c = Closing::new(1000 * MS);
        assert!(!c.requested());
        assert_eq!(c.deadline(), None);
        assert!(!c.expired(t0 + Duration::from_secs(3600)));
    }

    #[test]
    fn a_user_close_finishes_within_the_timeout() {
        let t0 = Instant::now();
        let mut c = Closing::new(1000 * MS);
        assert!(c.request(t0));
        assert!(c.requested());
        assert_eq!(c.deadline(), Some(t0 + 1000 * MS));
        assert!(!c.expired(t0 + 999 * MS));
        assert!(c.expired(t0 + 1000 * MS));
        // Asking again neither restarts nor moves the deadline.
        assert!(!c.request(t0 + 500 * MS));
        assert_eq!(c.deadline(), Some(t0 + 1000 * MS));
    }

    #[test]
    fn the_first_close_sets_the_deadline() {
        let t0 = Instant::now();
        let mut c = Closing::new(1000 * MS);
        c.peer_closed(t0);
        assert!(!c.requested(), "a peer's close is not the user's");
        assert_eq!(c.deadline(), Some(t0 + 1000 * MS));
        c.peer_closed(t0 + 300 * MS);
        assert!(c.request(t0 + 600 * MS));
        assert_eq!(c.deadline(), Some(t0 + 1000 * MS), "later closes do not push it");
        assert!(c.expired(t0 + 1000 * MS));

        let mut c = Closing::new(1000 * MS);
        c.request(t0);
        c.peer_closed(t0 + 300 * MS);
        assert_eq!(c.deadline(), Some(t0 + 1000 * MS));
    }
}
