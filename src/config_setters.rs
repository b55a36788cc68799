//! TEMPORARY (merged away): the validating setters of `Config` that the C
//! API's table calls, until they land in config.rs.
#![allow(missing_docs)]

use crate::{
    config::{duration_ms, timeout_ms, Config, WS_MAX_REDIRECTS, WS_MIN_THREAD_STACK_SIZE},
    error::{Error, Result},
};

impl Config {
    pub fn set_connect_timeout_ms(&mut self, ms: u32) -> Result<()> {
        self.connect_timeout = timeout_ms("connect timeout", ms)?;
        Ok(())
    }
    pub fn set_handshake_timeout_ms(&mut self, ms: u32) -> Result<()> {
        self.handshake_timeout = timeout_ms("handshake timeout", ms)?;
        Ok(())
    }
    pub fn set_close_timeout_ms(&mut self, ms: u32) -> Result<()> {
        self.close_timeout = timeout_ms("close timeout", ms)?;
        Ok(())
    }
    pub fn set_insecure(&mut self, insecure: bool) -> Result<()> {
        self.tls.insecure = insecure;
        Ok(())
    }
    pub fn set_ping_interval_ms(&mut self, ms: u32) -> Result<()> {
        self.ping_interval = duration_ms("ping interval", ms, true)?;
        Ok(())
    }
    pub fn set_pong_timeout_ms(&mut self, ms: u32) -> Result<()> {
        self.pong_timeout = timeout_ms("pong timeout", ms)?;
        Ok(())
    }
    pub fn set_ping_payload(&mut self, text: Option<&str>) -> Result<()> {
        self.ping_payload = text.map(str::to_string);
        Ok(())
    }
    pub fn set_reconnect(&mut self, enabled: bool) -> Result<()> {
        self.reconnect.enabled = enabled;
        Ok(())
    }
    pub fn set_initial_delay_ms(&mut self, ms: u32) -> Result<()> {
        self.backoff.initial = timeout_ms("initial delay", ms)?;
        Ok(())
    }
    pub fn set_max_delay_ms(&mut self, ms: u32) -> Result<()> {
        self.backoff.max = timeout_ms("max delay", ms)?;
        Ok(())
    }
    pub fn set_backoff_multiplier(&mut self, m: f64) -> Result<()> {
        self.set_multiplier(m)
    }
    pub fn set_backoff_jitter(&mut self, j: f64) -> Result<()> {
        self.set_jitter(j)
    }
    pub fn set_max_attempts(&mut self, attempts: u32) -> Result<()> {
        self.backoff.max_attempts = attempts;
        Ok(())
    }
    pub fn set_min_uptime_ms(&mut self, ms: u32) -> Result<()> {
        self.min_uptime = duration_ms("min uptime", ms, true)?;
        Ok(())
    }
    pub fn set_queue_while_disconnected(&mut self, enabled: bool) -> Result<()> {
        self.queue_while_disconnected = enabled;
        Ok(())
    }
    pub fn set_max_redirects(&mut self, max: u32) -> Result<()> {
        if max > WS_MAX_REDIRECTS {
            return Err(Error::invalid(format!(
                "max redirects must be at most {WS_MAX_REDIRECTS}, got {max}"
            )));
        }
        self.max_redirects = max;
        Ok(())
    }
    pub fn set_random_seed(&mut self, seed: u64) -> Result<()> {
        self.seed = Some(seed);
        Ok(())
    }
    pub fn set_thread_stack_size(&mut self, bytes: usize) -> Result<()> {
        if bytes != 0 && !(WS_MIN_THREAD_STACK_SIZE..=64 << 20).contains(&bytes) {
            return Err(Error::invalid(format!(
                "thread stack size must be 0 or between 32 KiB and 64 MiB, got {bytes}"
            )));
        }
        self.thread_stack_size = (bytes != 0).then_some(bytes);
        Ok(())
    }
}
