//! When a session ends. Sessions are shared by every tab of an origin, so they are keyed on
//! wall-clock time.

use crate::time::Millis;

/// When a session ends. Site owners may configure both limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionRule {
    /// A session ends after this long without activity.
    pub idle_timeout: Millis,
    /// A session never lasts longer than this in total.
    pub max_duration: Millis,
}

impl Default for SessionRule {
    fn default() -> Self {
        SessionRule {
            idle_timeout: Millis::from_mins(30),
            max_duration: Millis::from_hours(24),
        }
    }
}

impl SessionRule {
    /// Whether a session started at `started` with its last activity at `last_activity`
    /// is still the current session at `now`.
    pub fn is_live(&self, (started, last_activity): (Millis, Millis), now: Millis) -> bool {
        now.since(last_activity) < self.idle_timeout && now.since(started) < self.max_duration
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(started: u64, last: u64) -> (Millis, Millis) {
        (Millis(started), Millis(last))
    }

    #[test]
    fn session_is_live_until_the_idle_timeout() {
        let rule = SessionRule::default();
        let s = session(0, 0);
        assert!(rule.is_live(s, Millis::from_secs(29 * 60 + 59)));
        assert!(!rule.is_live(s, Millis::from_secs(30 * 60 + 1)));
    }

    #[test]
    fn session_ends_at_the_total_cap_even_when_active() {
        let rule = SessionRule::default();
        let day = Millis::from_hours(24);
        let s = session(0, day.0 - 1000);
        assert!(rule.is_live(s, Millis(day.0 - 1)));
        assert!(!rule.is_live(s, day));
    }
}
