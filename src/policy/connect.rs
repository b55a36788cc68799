//! The time budget of one connection attempt: DNS and the TCP connect share
//! the connect timeout; TLS and the HTTP upgrade get the handshake timeout,
//! counted from the moment TCP is connected.

use super::deadline::Deadline;
use std::{
    fmt,
    time::{Duration, Instant},
};

/// Which timeout runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// DNS and the TCP connect.
    Connect,
    /// TLS and the HTTP upgrade.
    Handshake,
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Phase::Connect => "connect",
            Phase::Handshake => "handshake",
        })
    }
}

/// The deadlines of one attempt.
#[derive(Debug, Clone)]
pub struct ConnectBudget {
    handshake_timeout: Duration,
    phase: Phase,
    deadline: Deadline,
}

impl ConnectBudget {
    /// An attempt that starts at `now`.
    pub fn new(now: Instant, connect_timeout: Duration, handshake_timeout: Duration) -> Self {
        ConnectBudget {
            handshake_timeout,
            phase: Phase::Connect,
            deadline: Deadline::after(now, connect_timeout),
        }
    }

    /// TCP connected at `now`: the handshake budget starts.
    pub fn connected(&mut self, now: Instant) {
        self.phase = Phase::Handshake;
        self.deadline = Deadline::after(now, self.handshake_timeout);
    }

    /// At `now`: keep waiting until the instant returned, or give up because
    /// the timeout of this phase has passed.
    pub fn check(&self, now: Instant) -> Result<Instant, Phase> {
        if self.deadline.passed(now) {
            Err(self.phase)
        } else {
            Ok(self.deadline.at())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn the_connect_timeout_runs_until_tcp_is_up() {
        let t0 = Instant::now();
        let b = ConnectBudget::new(t0, 100 * MS, 500 * MS);
        assert_eq!(b.check(t0), Ok(t0 + 100 * MS));
        assert_eq!(b.check(t0 + 99 * MS), Ok(t0 + 100 * MS));
        assert_eq!(b.check(t0 + 100 * MS), Err(Phase::Connect));
        assert_eq!(Phase::Connect.to_string(), "connect");
    }

    #[test]
    fn the_handshake_has_its_own_budget_from_the_tcp_connect() {
        let t0 = Instant::now();
        let mut b = ConnectBudget::new(t0, 100 * MS, 500 * MS);
        b.connected(t0 + 90 * MS);
        assert_eq!(b.check(t0 + 100 * MS), Ok(t0 + 590 * MS), "the connect timeout is over");
        assert_eq!(b.check(t0 + 589 * MS), Ok(t0 + 590 * MS));
        assert_eq!(b.check(t0 + 590 * MS), Err(Phase::Handshake));
        assert_eq!(Phase::Handshake.to_string(), "handshake");
    }

    #[test]
    fn a_zero_budget_is_over_at_once() {
        let t0 = Instant::now();
        assert_eq!(ConnectBudget::new(t0, Duration::ZERO, MS).check(t0), Err(Phase::Connect));
    }
}
