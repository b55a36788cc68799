//! Deadlines: an instant fixed from `now` and a wait, whether it has passed,
//! the earlier of two, and how long `poll(2)` may sleep until one.

use std::time::{Duration, Instant};

/// The instant by which something is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Deadline(Instant);

impl Deadline {
    /// `wait` after `now`.
    pub fn after(now: Instant, wait: Duration) -> Deadline {
        Deadline(now + wait)
    }

    /// The instant, for `poll(2)`.
    pub fn at(self) -> Instant {
        self.0
    }

    /// Whether it has passed at `now`; the deadline itself counts as passed.
    pub fn passed(self, now: Instant) -> bool {
        now >= self.0
    }
}

/// The earlier of two deadlines; `None` is no deadline.
pub fn earliest<T: Ord>(a: Option<T>, b: Option<T>) -> Option<T> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// The `poll(2)` timeout from `now` until `deadline`, in milliseconds: -1
/// (none) without a deadline, 0 once it has passed, otherwise rounded up so
/// the sleep never ends just before the deadline.
pub fn poll_ms(deadline: Option<Instant>, now: Instant) -> i32 {
    let Some(d) = deadline else { return -1 };
    let left = d.saturating_duration_since(now);
    left.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn a_deadline_passes_at_its_instant() {
        let t0 = Instant::now();
        let d = Deadline::after(t0, 100 * MS);
        assert_eq!(d.at(), t0 + 100 * MS);
        assert!(!d.passed(t0));
        assert!(!d.passed(t0 + 99 * MS));
        assert!(d.passed(t0 + 100 * MS));
        assert!(d.passed(t0 + 101 * MS));
        assert!(Deadline::after(t0, Duration::ZERO).passed(t0), "no wait is due at once");
    }

    #[test]
    fn the_earliest_of_two() {
        let t0 = Instant::now();
        let (a, b) = (Some(t0 + MS), Some(t0 + 2 * MS));
        assert_eq!(earliest(a, b), a);
        assert_eq!(earliest(b, a), a);
        assert_eq!(earliest(None, b), b);
        assert_eq!(earliest(a, None), a);
        assert_eq!(earliest::<Instant>(None, None), None);
    }

    #[test]
    fn poll_timeouts_round_up_and_stop_at_zero() {
        let t0 = Instant::now();
        assert_eq!(poll_ms(None, t0), -1);
        assert_eq!(poll_ms(Some(t0 + 5 * MS), t0), 5);
        assert_eq!(poll_ms(Some(t0 + Duration::from_micros(4_001)), t0), 5);
        assert_eq!(poll_ms(Some(t0 + Duration::from_micros(1)), t0), 1);
        assert_eq!(poll_ms(Some(t0), t0), 0);
        assert_eq!(poll_ms(Some(t0), t0 + MS), 0, "a passed deadline does not sleep");
        let far = Duration::from_secs(30 * 24 * 3600);
        assert_eq!(poll_ms(Some(t0 + far), t0), i32::MAX);
    }
}
