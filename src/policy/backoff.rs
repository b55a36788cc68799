//! Reconnect decisions: whether to try again after a failure, and the delay
//! sequence (exponential, capped, with jitter from a seeded source). The
//! first retry after an open connection drops draws its delay uniformly in
//! [0, initial] (full jitter); only failed attempts make the delay grow.

use std::time::{Duration, Instant};

/// The backoff options.
#[derive(Debug, Clone, PartialEq)]
pub struct BackoffConfig {
    /// Delay before the first attempt.
    pub initial: Duration,
    /// Largest delay.
    pub max: Duration,
    /// Growth factor per attempt (>= 1).
    pub multiplier: f64,
    /// Relative jitter in [0, 1]: each delay is scaled by a factor drawn
    /// uniformly from [1 - jitter, 1 + jitter], then capped at `max`.
    pub jitter: f64,
    /// Give up after this many consecutive failed attempts; 0 = never.
    pub max_attempts: u32,
}

impl Default for BackoffConfig {
    fn default() -> Self {
        BackoffConfig {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(30),
            multiplier: 2.0,
            jitter: 0.2,
            max_attempts: 0,
        }
    }
}

/// Smallest delay in ms between reconnect attempts that follow a failed
/// attempt, whatever the options say: no hot loop.
pub const WS_MIN_RETRY_DELAY_MS: u32 = 10;

/// The smallest delay after a failed attempt: no options make a hot loop.
pub const MIN_RETRY_DELAY: Duration = Duration::from_millis(WS_MIN_RETRY_DELAY_MS as u64);

/// The delay sequence of consecutive attempts.
#[derive(Debug)]
pub struct Backoff {
    config: BackoffConfig,
    attempt: u32,
    rng: u64,
    /// The next delay follows the drop of an open connection.
    after_drop: bool,
    /// When the current connection opened.
    opened_at: Option<Instant>,
}

impl Backoff {
    /// A fresh sequence; `seed` feeds the jitter.
    pub fn new(config: BackoffConfig, seed: u64) -> Backoff {
        Backoff { config, attempt: 0, rng: seed, after_drop: false, opened_at: None }
    }

    /// A connection opened at `now`.
    pub fn opened(&mut self, now: Instant) {
        self.opened_at = Some(now);
    }

    /// The open connection ended at `now`. If it stayed up at least
    /// `min_uptime` the sequence starts again, and its first delay is drawn
    /// in [0, initial]; a connection that drops at once counts as a failed
    /// attempt, so a server that accepts and closes cannot make a hot loop.
    pub fn dropped(&mut self, now: Instant, min_uptime: Duration) {
        let opened = self.opened_at.take().unwrap_or(now);
        if now.saturating_duration_since(opened) >= min_uptime || self.attempt == 0 {
            self.attempt = 0;
            self.after_drop = true;
        }
    }

    /// The next attempt number (from 1) and the delay before it, or `None`
    /// when `max_attempts` attempts have failed.
    pub fn next_delay(&mut self) -> Option<(u32, Duration)> {
        let c = &self.config;
        if c.max_attempts != 0 && self.attempt >= c.max_attempts {
            return None;
        }
        self.attempt += 1;
        if self.attempt == 1 && std::mem::take(&mut self.after_drop) {
            let secs = c.initial.min(c.max).as_secs_f64() * unit(&mut self.rng);
            return Some((1, Duration::from_secs_f64(secs)));
        }
        let base = c.initial.as_secs_f64() * c.multiplier.powi(self.attempt as i32 - 1);
        let factor = 1.0 + c.jitter * (2.0 * unit(&mut self.rng) - 1.0);
        let secs = (base.min(c.max.as_secs_f64()) * factor).clamp(0.0, c.max.as_secs_f64());
        Some((self.attempt, Duration::from_secs_f64(secs).max(MIN_RETRY_DELAY)))
    }

    /// Start again from `initial`.
    pub fn reset(&mut self) {
        self.attempt = 0;
        self.after_drop = false;
    }

    /// Attempts made since the last reset.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }
}

/// A uniform draw in [0, 1) from splitmix64.
fn unit(state: &mut u64) -> f64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

/// Why a connection (or an attempt) ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// The user called `ws_close` / `ws_free`.
    UserClose,
    /// The server closed with this code.
    ServerClose(u16),
    /// The server answered the upgrade with this HTTP status.
    Rejected(u16),
    /// Anything else: network loss, timeouts, protocol errors, DNS, TLS.
    Failure,
}

/// Which endings are final.
#[derive(Debug, Clone, PartialEq)]
pub struct ReconnectPolicy {
    /// Reconnect at all.
    pub enabled: bool,
    /// Server close codes after which we stay closed.
    pub final_close_codes: Vec<u16>,
    /// Upgrade statuses after which we stay closed.
    pub fatal_http_statuses: Vec<u16>,
}

impl Default for ReconnectPolicy {
    fn default() -> Self {
        ReconnectPolicy {
            enabled: true,
            final_close_codes: Vec::new(),
            fatal_http_statuses: vec![401, 403, 404, 407],
        }
    }
}

impl ReconnectPolicy {
    /// Whether to try again after `ending`.
    pub fn should_retry(&self, ending: Ending) -> bool {
        self.enabled
            && match ending {
                Ending::UserClose => false,
                Ending::ServerClose(code) => !self.final_close_codes.contains(&code),
                Ending::Rejected(status) => !self.fatal_http_statuses.contains(&status),
                Ending::Failure => true,
            }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(d: Duration) -> u64 {
        d.as_millis() as u64
    }

    #[test]
    fn exponential_and_capped_without_jitter() {
        let cfg = BackoffConfig {
            initial: Duration::from_millis(100),
            max: Duration::from_millis(1000),
            multiplier: 2.0,
            jitter: 0.0,
            max_attempts: 0,
        };
        let mut b = Backoff::new(cfg, 1);
        let delays: Vec<u64> = (0..7).map(|_| ms(b.next_delay().unwrap().1)).collect();
        assert_eq!(delays, [100, 200, 400, 800, 1000, 1000, 1000]);
        assert_eq!(b.attempt(), 7);
        b.reset();
        assert_eq!(b.next_delay().map(|(n, d)| (n, ms(d))), Some((1, 100)));
    }

    #[test]
    fn jitter_stays_in_bounds_and_is_seeded() {
        let cfg = BackoffConfig { jitter: 0.2, ..BackoffConfig::default() };
        let draw = |seed| {
            let mut b = Backoff::new(cfg.clone(), seed);
            (0..20).map(|_| b.next_delay().unwrap().1).collect::<Vec<_>>()
        };
        assert_eq!(draw(42), draw(42), "same seed, same delays");
        assert_ne!(draw(42), draw(43));
        for (i, d) in draw(7).iter().enumerate() {
            let base = (1.0f64 * 2f64.powi(i as i32)).min(30.0);
            let s = d.as_secs_f64();
            assert!(
                s >= base * 0.8 - 1e-9 && s <= (base * 1.2).min(30.0) + 1e-9,
                "attempt {i}: {s}"
            );
        }
    }

    #[test]
    fn the_first_retry_after_a_drop_is_full_jitter_and_failures_grow() {
        let cfg = BackoffConfig { jitter: 0.0, ..BackoffConfig::default() };
        let (t0, min_up, up) = (Instant::now(), Duration::from_secs(5), Duration::from_secs(60));
        let mut firsts = Vec::new();
        for seed in 0..200 {
            let mut b = Backoff::new(cfg.clone(), seed);
            b.opened(t0);
            b.dropped(t0 + up, min_up);
            let (n, d) = b.next_delay().unwrap();
            assert_eq!(n, 1);
            assert!(d <= cfg.initial, "{d:?}");
            firsts.push(d);
            // The attempt after it failed: the delay grows from initial.
            assert_eq!(b.next_delay().unwrap().1, cfg.initial * 2);
        }
        let mean = firsts.iter().sum::<Duration>() / firsts.len() as u32;
        assert!(mean > cfg.initial / 4 && mean < cfg.initial * 3 / 4, "{mean:?}");
        // A connection that drops at once does not reset the sequence.
        let mut b = Backoff::new(cfg.clone(), 1);
        b.opened(t0);
        b.dropped(t0 + up, min_up);
        b.next_delay();
        b.next_delay();
        let t1 = t0 + 2 * up;
        b.opened(t1);
        b.dropped(t1 + Duration::from_millis(1), min_up);
        assert_eq!(b.next_delay().unwrap(), (3, cfg.initial * 4));
    }

    #[test]
    fn min_uptime_is_counted_from_the_open() {
        let cfg = BackoffConfig { jitter: 0.0, ..BackoffConfig::default() };
        let (t0, min_up) = (Instant::now(), Duration::from_secs(5));
        let failed_twice = || {
            let mut b = Backoff::new(cfg.clone(), 3);
            b.next_delay();
            b.next_delay();
            b
        };
        // Up for exactly min_uptime: the sequence starts again.
        let mut b = failed_twice();
        b.opened(t0);
        b.dropped(t0 + min_up, min_up);
        assert_eq!(b.attempt(), 0);
        assert_eq!(b.next_delay().unwrap().0, 1);
        // Just short of it: a failed attempt, the delay keeps growing.
        let mut b = failed_twice();
        b.opened(t0);
        b.dropped(t0 + min_up - Duration::from_millis(1), min_up);
        assert_eq!(b.next_delay().unwrap(), (3, cfg.initial * 4));
        // The open is counted once: a second drop has no uptime.
        let mut b = failed_twice();
        b.opened(t0);
        b.dropped(t0 + Duration::from_millis(1), min_up);
        b.dropped(t0 + 2 * min_up, min_up);
        assert_eq!(b.attempt(), 2);
        // The first connection's drop always resets (nothing failed yet).
        let mut b = Backoff::new(cfg.clone(), 3);
        b.opened(t0);
        b.dropped(t0, min_up);
        let (n, d) = b.next_delay().unwrap();
        assert!(n == 1 && d <= cfg.initial, "full jitter: {d:?}");
    }

    #[test]
    fn no_options_make_a_hot_loop() {
        let cfg = BackoffConfig {
            initial: Duration::from_millis(1),
            multiplier: 1.0,
            jitter: 1.0,
            ..BackoffConfig::default()
        };
        let mut b = Backoff::new(cfg, 9);
        for _ in 0..100 {
            assert!(b.next_delay().unwrap().1 >= MIN_RETRY_DELAY);
        }
    }

    #[test]
    fn max_attempts_ends_the_sequence() {
        let mut b = Backoff::new(BackoffConfig { max_attempts: 3, ..BackoffConfig::default() }, 0);
        assert_eq!(b.next_delay().unwrap().0, 1);
        assert_eq!(b.next_delay().unwrap().0, 2);
        assert_eq!(b.next_delay().unwrap().0, 3);
        assert_eq!(b.next_delay(), None);
        b.reset();
        assert!(b.next_delay().is_some());
    }

    #[test]
    fn what_is_final() {
        let p = ReconnectPolicy::default();
        assert!(!p.should_retry(Ending::UserClose));
        assert!(p.should_retry(Ending::ServerClose(1000)), "a server close is not final");
        assert!(p.should_retry(Ending::ServerClose(1008)));
        assert!(p.should_retry(Ending::ServerClose(1001)));
        assert!(p.should_retry(Ending::ServerClose(1011)));
        assert!(!p.should_retry(Ending::Rejected(403)));
        assert!(!p.should_retry(Ending::Rejected(401)));
        assert!(p.should_retry(Ending::Rejected(503)));
        assert!(p.should_retry(Ending::Failure));
        let off = ReconnectPolicy { enabled: false, ..p.clone() };
        assert!(!off.should_retry(Ending::Failure));
        let custom = ReconnectPolicy { final_close_codes: vec![4000], ..p };
        assert!(custom.should_retry(Ending::ServerClose(1000)));
        assert!(!custom.should_retry(Ending::ServerClose(4000)));
    }
}
