//! Delivery decisions: when to send a batch, what a response means, how long to back off.
//!
//! The driver keeps the queue (write-ahead, in `localStorage`) and does the I/O; this module
//! decides from numbers it is given, with time and randomness passed in.

use crate::time::Millis;

/// Delivery settings, each clamped to a sane range by [`DeliveryConfig::clamped`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeliveryConfig {
    /// Send when this many events wait (1–100).
    pub max_events: u32,
    /// Send when the waiting events' JSON reaches this many bytes (1 000–60 000).
    pub max_bytes: u32,
    /// Send when the oldest waiting event is this old (0–60 s).
    pub max_wait: Millis,
    /// The persisted queue's budget in bytes (16 KB–4 MB); beyond it the oldest are dropped.
    pub budget_bytes: u32,
    /// The first retry waits up to this long (100 ms–60 s) ...
    pub backoff_base: Millis,
    /// ... doubling per failure up to this (1 s–1 h).
    pub backoff_cap: Millis,
    /// A server's `Retry-After` is honoured up to this long.
    pub retry_after_cap: Millis,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        DeliveryConfig {
            max_events: 50,
            max_bytes: 32_000,
            max_wait: Millis::from_secs(5),
            budget_bytes: 256_000,
            backoff_base: Millis::from_secs(1),
            backoff_cap: Millis::from_mins(5),
            retry_after_cap: Millis::from_mins(10),
        }
    }
}

impl DeliveryConfig {
    pub fn clamped(self) -> Self {
        let clamp = |v: u64, lo: u64, hi: u64| v.clamp(lo, hi);
        DeliveryConfig {
            max_events: self.max_events.clamp(1, 100),
            max_bytes: self.max_bytes.clamp(1_000, 60_000),
            max_wait: Millis(clamp(self.max_wait.0, 0, 60_000)),
            budget_bytes: self.budget_bytes.clamp(16_000, 4_000_000),
            backoff_base: Millis(clamp(self.backoff_base.0, 100, 60_000)),
            backoff_cap: Millis(clamp(self.backoff_cap.0, 1_000, 3_600_000)),
            retry_after_cap: self.retry_after_cap,
        }
    }
}

/// What a response (or its absence) means for the batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Stored (or partly rejected for good): remove the batch's events.
    Delivered,
    /// Keep the events and try again after the given wait.
    Retry(Millis),
    /// 413: split the batch in half and send the halves (a single event is dropped).
    Split,
    /// Refused for good (other 4xx): drop the events and count them.
    Drop,
}

/// How a send ended: an HTTP status (with `Retry-After` in seconds, if any), or no answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Status {
        code: u16,
        retry_after: Option<u32>,
    },
    /// A network error, or no answer within the timeout.
    Failed,
}

/// Whether a status is worth retrying: 408, 429 and 5xx except 501 and 505.
pub fn retryable(code: u16) -> bool {
    matches!(code, 408 | 429) || ((500..600).contains(&code) && code != 501 && code != 505)
}

/// Sending policy and retry state of one queue.
#[derive(Clone, Debug, PartialEq)]
pub struct Delivery {
    config: DeliveryConfig,
    /// Failures in a row; the backoff doubles with each.
    failures: u32,
    /// No send before this (page clock).
    not_before: Millis,
    online: bool,
}

impl Delivery {
    pub fn new(config: DeliveryConfig) -> Self {
        Delivery {
            config: config.clamped(),
            failures: 0,
            not_before: Millis(0),
            online: true,
        }
    }

    pub fn config(&self) -> &DeliveryConfig {
        &self.config
    }

    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// `online` and `offline` events: offline pauses sending; coming back online resumes at
    /// once, without waiting out the backoff.
    pub fn set_online(&mut self, online: bool) {
        if online && !self.online {
            self.not_before = Millis(0);
        }
        self.online = online;
    }

    /// The full-jitter backoff after `failures` failures: a wait drawn uniformly (`jitter`
    /// in `[0, 1]`) from zero to `min(cap, base × 2^(failures − 1))`.
    pub fn backoff(&self, failures: u32, jitter: f64) -> Millis {
        let exp = failures.saturating_sub(1).min(31);
        let ceiling = self
            .config
            .backoff_base
            .0
            .saturating_mul(1u64 << exp)
            .min(self.config.backoff_cap.0);
        let jitter = if jitter.is_finite() {
            jitter.clamp(0.0, 1.0)
        } else {
            1.0
        };
        Millis((ceiling as f64 * jitter) as u64)
    }

    /// When the waiting events should be sent: `Some(0)` now, `Some(wait)` later, `None`
    /// when there is nothing to send or sending is paused (offline). `events` and `bytes`
    /// describe the waiting events, `oldest` is when the oldest was queued, and `hiding`
    /// that the page is being hidden or left (send everything now).
    pub fn due(
        &self,
        now: Millis,
        events: u32,
        bytes: u32,
        oldest: Millis,
        hiding: bool,
    ) -> Option<Millis> {
        if events == 0 || !self.online {
            return None;
        }
        if now < self.not_before {
            return Some(self.not_before - now);
        }
        if hiding || events >= self.config.max_events || bytes >= self.config.max_bytes {
            return Some(Millis(0));
        }
        Some((oldest + self.config.max_wait).since(now))
    }

    /// Records how a send ended at `now` and says what to do with its events. `jitter` in
    /// `[0, 1]` draws the backoff.
    pub fn on_outcome(&mut self, now: Millis, outcome: Outcome, jitter: f64) -> Verdict {
        let (code, retry_after) = match outcome {
            Outcome::Failed => (0, None),
            Outcome::Status { code, retry_after } => (code, retry_after),
        };
        if (200..300).contains(&code) {
            self.failures = 0;
            self.not_before = Millis(0);
            return Verdict::Delivered;
        }
        if code == 413 {
            return Verdict::Split;
        }
        if code != 0 && !retryable(code) {
            return Verdict::Drop;
        }
        self.failures = self.failures.saturating_add(1);
        let wait = match retry_after {
            Some(secs) => Millis::from_secs(secs.into()).min(self.config.retry_after_cap),
            None => self.backoff(self.failures, jitter),
        };
        self.not_before = now + wait;
        Verdict::Retry(wait)
    }

    /// Whether a queue of `bytes` is over its budget: the driver then drops the oldest
    /// events, and counts them for the next batch's `dropped`.
    pub fn over_budget(&self, bytes: u64) -> bool {
        bytes > u64::from(self.config.budget_bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Millis {
        Millis(n)
    }

    fn status(code: u16) -> Outcome {
        Outcome::Status {
            code,
            retry_after: None,
        }
    }

    type Expect = fn(Verdict) -> bool;

    #[test]
    fn every_status_class_has_a_verdict() {
        let table: &[(Outcome, Expect)] = &[
            (status(200), |v| v == Verdict::Delivered),
            (status(202), |v| v == Verdict::Delivered),
            (status(204), |v| v == Verdict::Delivered),
            (status(400), |v| v == Verdict::Drop),
            (status(401), |v| v == Verdict::Drop),
            (status(403), |v| v == Verdict::Drop),
            (status(404), |v| v == Verdict::Drop),
            (status(408), |v| matches!(v, Verdict::Retry(_))),
            (status(413), |v| v == Verdict::Split),
            (status(415), |v| v == Verdict::Drop),
            (status(429), |v| matches!(v, Verdict::Retry(_))),
            (status(500), |v| matches!(v, Verdict::Retry(_))),
            (status(501), |v| v == Verdict::Drop),
            (status(502), |v| matches!(v, Verdict::Retry(_))),
            (status(503), |v| matches!(v, Verdict::Retry(_))),
            (status(504), |v| matches!(v, Verdict::Retry(_))),
            (status(505), |v| v == Verdict::Drop),
            (status(599), |v| matches!(v, Verdict::Retry(_))),
            (status(302), |v| v == Verdict::Drop),
            (Outcome::Failed, |v| matches!(v, Verdict::Retry(_))),
        ];
        for (outcome, ok) in table {
            let mut d = Delivery::new(DeliveryConfig::default());
            let verdict = d.on_outcome(ms(0), *outcome, 0.5);
            assert!(ok(verdict), "{outcome:?} gave {verdict:?}");
        }
    }

    #[test]
    fn backoff_doubles_from_one_second_to_the_five_minute_cap_with_full_jitter() {
        let d = Delivery::new(DeliveryConfig::default());
        let top: Vec<u64> = (1..=12).map(|n| d.backoff(n, 1.0).0).collect();
        assert_eq!(
            top,
            [
                1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 64_000, 128_000, 256_000, 300_000,
                300_000, 300_000
            ]
        );
        for n in [1, 5, 40, u32::MAX] {
            assert_eq!(d.backoff(n, 0.0), ms(0), "jitter 0 waits nothing");
            assert!(d.backoff(n, 0.5) <= d.backoff(n, 1.0));
        }
        assert_eq!(
            d.backoff(3, f64::NAN),
            ms(4_000),
            "bad jitter is the ceiling"
        );
    }

    #[test]
    fn retry_after_is_honoured_and_capped_at_ten_minutes() {
        let mut d = Delivery::new(DeliveryConfig::default());
        let v = d.on_outcome(
            ms(1_000),
            Outcome::Status {
                code: 429,
                retry_after: Some(3),
            },
            1.0,
        );
        assert_eq!(v, Verdict::Retry(ms(3_000)));
        assert_eq!(d.due(ms(3_999), 1, 10, ms(0), true), Some(ms(1)));
        assert_eq!(d.due(ms(4_000), 1, 10, ms(0), true), Some(ms(0)));
        let v = d.on_outcome(
            ms(0),
            Outcome::Status {
                code: 503,
                retry_after: Some(86_400),
            },
            1.0,
        );
        assert_eq!(v, Verdict::Retry(Millis::from_mins(10)));
    }

    #[test]
    fn batches_go_at_fifty_events_32_kb_five_seconds_or_on_hide() {
        let d = Delivery::new(DeliveryConfig::default());
        assert_eq!(d.due(ms(1_000), 0, 0, ms(0), true), None, "nothing to send");
        assert_eq!(d.due(ms(1_000), 3, 300, ms(1_000), false), Some(ms(5_000)));
        assert_eq!(d.due(ms(6_000), 3, 300, ms(1_000), false), Some(ms(0)));
        assert_eq!(d.due(ms(1_000), 49, 300, ms(1_000), false), Some(ms(5_000)));
        assert_eq!(d.due(ms(1_000), 50, 300, ms(1_000), false), Some(ms(0)));
        assert_eq!(d.due(ms(1_000), 2, 32_000, ms(1_000), false), Some(ms(0)));
        assert_eq!(d.due(ms(1_000), 1, 10, ms(1_000), true), Some(ms(0)));
    }

    #[test]
    fn offline_pauses_and_online_resumes_at_once() {
        let mut d = Delivery::new(DeliveryConfig::default());
        d.on_outcome(ms(0), Outcome::Failed, 1.0);
        d.on_outcome(ms(0), Outcome::Failed, 1.0);
        d.set_online(false);
        assert_eq!(d.due(ms(10), 5, 100, ms(0), true), None);
        d.set_online(true);
        assert_eq!(
            d.due(ms(10), 5, 100, ms(0), true),
            Some(ms(0)),
            "no backoff wait"
        );
        assert_eq!(d.failures(), 2);
        d.on_outcome(ms(20), status(200), 1.0);
        assert_eq!(d.failures(), 0);
    }

    #[test]
    fn settings_are_clamped_and_the_budget_is_checked() {
        let wild = DeliveryConfig {
            max_events: 0,
            max_bytes: 10_000_000,
            max_wait: Millis::from_hours(5),
            budget_bytes: 1,
            backoff_base: ms(1),
            backoff_cap: Millis::from_hours(100),
            ..DeliveryConfig::default()
        };
        let d = Delivery::new(wild);
        let c = d.config();
        assert_eq!((c.max_events, c.max_bytes), (1, 60_000));
        assert_eq!((c.max_wait, c.budget_bytes), (ms(60_000), 16_000));
        assert_eq!(
            (c.backoff_base, c.backoff_cap),
            (ms(100), Millis::from_hours(1))
        );
        let d = Delivery::new(DeliveryConfig::default());
        assert!(!d.over_budget(256_000));
        assert!(d.over_budget(256_001));
    }
}
