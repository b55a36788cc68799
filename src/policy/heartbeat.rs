//! When to ping and when the peer is dead.
//!
//! A ping goes out every `interval`. Any byte from the peer is proof of life:
//! the peer is dead only when a ping was sent and nothing at all arrived for
//! `timeout` after it. So a large message trickling in never trips the
//! timeout, even while the pong waits behind it.

use std::time::{Duration, Instant};

/// What the worker must do now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Send a ping carrying this sequence number.
    Ping(u64),
    /// Nothing arrived within the timeout after a ping.
    PeerDead,
}

/// The heartbeat state of one live connection.
#[derive(Debug)]
pub struct Heartbeat {
    interval: Option<Duration>,
    timeout: Duration,
    next_ping: Option<Instant>,
    /// The first ping after which nothing has arrived yet.
    unanswered_since: Option<Instant>,
    /// The latest ping, for the round-trip time of its pong.
    last_ping: Option<(u64, Instant)>,
    seq: u64,
}

impl Heartbeat {
    /// Start at `now` (the open). `interval` zero turns the heartbeat off.
    pub fn new(interval: Duration, timeout: Duration, now: Instant) -> Heartbeat {
        let interval = (!interval.is_zero()).then_some(interval);
        Heartbeat {
            interval,
            timeout,
            next_ping: interval.map(|i| now + i),
            unanswered_since: None,
            last_ping: None,
            seq: 0,
        }
    }

    /// We stopped reading (the consumer is behind): the peer's silence is
    /// ours, so no ping and no verdict until `resume`.
    pub fn pause(&mut self) {
        self.next_ping = None;
        self.unanswered_since = None;
        self.last_ping = None;
    }

    /// Reading again at `now`: the next ping is one interval away.
    pub fn resume(&mut self, now: Instant) {
        if self.next_ping.is_none() {
            self.next_ping = self.interval.map(|i| now + i);
        }
    }

    /// Bytes arrived from the peer.
    pub fn handle_received(&mut self, _now: Instant) {
        self.unanswered_since = None;
    }

    /// A pong arrived with `payload`: the round-trip time if it answers our
    /// latest ping.
    pub fn handle_pong(&mut self, payload: &[u8], now: Instant) -> Option<Duration> {
        self.unanswered_since = None;
        let (seq, sent) = self.last_ping?;
        if payload == seq.to_be_bytes() {
            self.last_ping = None;
            Some(now.saturating_duration_since(sent))
        } else {
            None
        }
    }

    /// The action due at `now`, if any. Call when `poll_timeout` passes.
    pub fn handle_timeout(&mut self, now: Instant) -> Option<Action> {
        if self.unanswered_since.is_some_and(|s| now >= s + self.timeout) {
            self.next_ping = None;
            self.unanswered_since = None;
            return Some(Action::PeerDead);
        }
        let (interval, due) = (self.interval?, self.next_ping?);
        if now < due {
            return None;
        }
        self.seq += 1;
        self.next_ping = Some(now + interval);
        self.unanswered_since.get_or_insert(now);
        self.last_ping = Some((self.seq, now));
        Some(Action::Ping(self.seq))
    }

    /// When `handle_timeout` must be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let dead = self.unanswered_since.map(|s| s + self.timeout);
        super::deadline::earliest(self.next_ping, dead)
    }

    /// The payload of ping `seq`.
    pub fn payload(seq: u64) -> [u8; 8] {
        seq.to_be_bytes()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_pause_is_not_the_peers_silence() {
        let t0 = Instant::now();
        let mut h = Heartbeat::new(200 * MS, 100 * MS, t0);
        assert_eq!(h.handle_timeout(t0 + 200 * MS), Some(Action::Ping(1)));
        h.pause();
        assert_eq!(h.poll_timeout(), None);
        assert_eq!(h.handle_timeout(t0 + 10_000 * MS), None, "no verdict while paused");
        h.resume(t0 + 10_000 * MS);
        assert_eq!(h.poll_timeout(), Some(t0 + 10_200 * MS));
        assert_eq!(h.handle_timeout(t0 + 10_200 * MS), Some(Action::Ping(2)));
        assert_eq!(h.handle_timeout(t0 + 10_300 * MS), Some(Action::PeerDead));
    }

    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn hb(t0: Instant) -> Heartbeat {
        Heartbeat::new(200 * MS, 200 * MS, t0)
    }

    #[test]
    fn pings_every_interval_and_measures_rtt() {
        let t0 = Instant::now();
        let mut h = hb(t0);
        assert_eq!(h.poll_timeout(), Some(t0 + 200 * MS));
        assert_eq!(h.handle_timeout(t0 + 199 * MS), None);
        assert_eq!(h.handle_timeout(t0 + 200 * MS), Some(Action::Ping(1)));
        let rtt = h.handle_pong(&Heartbeat::payload(1), t0 + 203 * MS);
        assert_eq!(rtt, Some(3 * MS));
        assert_eq!(h.poll_timeout(), Some(t0 + 400 * MS));
        assert_eq!(h.handle_timeout(t0 + 400 * MS), Some(Action::Ping(2)));
    }

    #[test]
    fn silence_after_a_ping_is_death() {
        let t0 = Instant::now();
        let mut h = hb(t0);
        assert_eq!(h.handle_timeout(t0 + 200 * MS), Some(Action::Ping(1)));
        assert_eq!(h.poll_timeout(), Some(t0 + 400 * MS));
        assert_eq!(h.handle_timeout(t0 + 399 * MS), None);
        assert_eq!(h.handle_timeout(t0 + 400 * MS), Some(Action::PeerDead));
        assert_eq!(h.poll_timeout(), None, "dead once");
    }

    #[test]
    fn later_pings_do_not_push_the_deadline() {
        let t0 = Instant::now();
        let mut h = Heartbeat::new(100 * MS, 250 * MS, t0);
        assert_eq!(h.handle_timeout(t0 + 100 * MS), Some(Action::Ping(1)));
        assert_eq!(h.handle_timeout(t0 + 200 * MS), Some(Action::Ping(2)));
        assert_eq!(h.handle_timeout(t0 + 300 * MS), Some(Action::Ping(3)));
        assert_eq!(h.poll_timeout(), Some(t0 + 350 * MS));
        assert_eq!(h.handle_timeout(t0 + 350 * MS), Some(Action::PeerDead));
    }

    #[test]
    fn any_bytes_are_proof_of_life() {
        let t0 = Instant::now();
        let mut h = hb(t0);
        assert_eq!(h.handle_timeout(t0 + 200 * MS), Some(Action::Ping(1)));
        // A big message trickles in; the pong is stuck behind it.
        for t in (250..2000).step_by(50) {
            h.handle_received(t0 + t * MS);
            assert_ne!(h.handle_timeout(t0 + t * MS), Some(Action::PeerDead), "at {t} ms");
        }
        // The late pong still gives no RTT for ping 1 (a newer ping replaced it).
        assert!(h.handle_pong(&Heartbeat::payload(1), t0 + 2000 * MS).is_none());
    }

    #[test]
    fn unsolicited_pong_is_life_but_no_rtt() {
        let t0 = Instant::now();
        let mut h = hb(t0);
        assert_eq!(h.handle_timeout(t0 + 200 * MS), Some(Action::Ping(1)));
        assert_eq!(h.handle_pong(b"other", t0 + 210 * MS), None);
        assert_eq!(h.handle_timeout(t0 + 400 * MS), Some(Action::Ping(2)), "not dead");
    }

    #[test]
    fn zero_interval_is_off() {
        let t0 = Instant::now();
        let mut h = Heartbeat::new(Duration::ZERO, 200 * MS, t0);
        assert_eq!(h.poll_timeout(), None);
        assert_eq!(h.handle_timeout(t0 + Duration::from_secs(3600)), None);
    }
}
