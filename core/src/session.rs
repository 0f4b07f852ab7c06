//! Visitors and sessions: who is here, and which visit this is.
//!
//! Both are persisted by the driver as short text snapshots (no serde in the widget) and
//! shared by every tab of the origin, so they are keyed on wall-clock time.

use uuid::Uuid;

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
        SessionRule { idle_timeout: Millis::from_mins(30), max_duration: Millis::from_hours(24) }
    }
}

impl SessionRule {
    /// Whether `session` is still the current session at `now`.
    pub fn is_live(&self, session: &SessionState, now: Millis) -> bool {
        now.since(session.last_activity) < self.idle_timeout
            && now.since(session.started) < self.max_duration
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VisitorState {
    pub id: Uuid,
    pub first_seen: Millis,
    /// Sessions this visitor has started, the current one included.
    pub visit_count: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionState {
    pub id: Uuid,
    pub started: Millis,
    pub last_activity: Millis,
    pub pageviews: u32,
}

const VISITOR_TAG: &str = "v1";
const SESSION_TAG: &str = "s1";

fn push_uuid(out: &mut String, id: &Uuid) {
    let mut buf = [0u8; uuid::fmt::Hyphenated::LENGTH];
    out.push_str(id.hyphenated().encode_lower(&mut buf));
}


impl VisitorState {
    /// `v1|<id>|<first_seen>|<visit_count>`
    pub fn encode(&self) -> String {
        let mut s = String::from(VISITOR_TAG);
        s.push('|');
        push_uuid(&mut s, &self.id);
        s.push('|');
        crate::json::push_u64(&mut s, self.first_seen.0);
        s.push('|');
        crate::json::push_u64(&mut s, self.visit_count.into());
        s
    }

    /// `None` for anything that is not a well-formed current snapshot.
    pub fn decode(text: &str) -> Option<VisitorState> {
        let mut parts = text.split('|');
        if parts.next()? != VISITOR_TAG {
            return None;
        }
        let state = VisitorState {
            id: Uuid::try_parse(parts.next()?).ok()?,
            first_seen: Millis(parts.next()?.parse().ok()?),
            visit_count: parts.next()?.parse().ok()?,
        };
        parts.next().is_none().then_some(state)
    }
}

impl SessionState {
    /// `s1|<id>|<started>|<last_activity>|<pageviews>`
    pub fn encode(&self) -> String {
        let mut s = String::from(SESSION_TAG);
        s.push('|');
        push_uuid(&mut s, &self.id);
        for n in [self.started.0, self.last_activity.0, self.pageviews.into()] {
            s.push('|');
            crate::json::push_u64(&mut s, n);
        }
        s
    }

    pub fn decode(text: &str) -> Option<SessionState> {
        let mut parts = text.split('|');
        if parts.next()? != SESSION_TAG {
            return None;
        }
        let state = SessionState {
            id: Uuid::try_parse(parts.next()?).ok()?,
            started: Millis(parts.next()?.parse().ok()?),
            last_activity: Millis(parts.next()?.parse().ok()?),
            pageviews: parts.next()?.parse().ok()?,
        };
        parts.next().is_none().then_some(state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(started: u64, last: u64) -> SessionState {
        SessionState {
            id: Uuid::from_u128(1),
            started: Millis(started),
            last_activity: Millis(last),
            pageviews: 1,
        }
    }

    #[test]
    fn session_is_live_until_the_idle_timeout() {
        let rule = SessionRule::default();
        let s = session(0, 0);
        assert!(rule.is_live(&s, Millis::from_secs(29 * 60 + 59)));
        assert!(!rule.is_live(&s, Millis::from_secs(30 * 60 + 1)));
    }

    #[test]
    fn session_ends_at_the_total_cap_even_when_active() {
        let rule = SessionRule::default();
        let day = Millis::from_hours(24);
        let s = session(0, day.0 - 1000);
        assert!(rule.is_live(&s, Millis(day.0 - 1)));
        assert!(!rule.is_live(&s, day));
    }

    #[test]
    fn snapshots_round_trip_and_reject_garbage() {
        let v = VisitorState { id: Uuid::from_u128(7), first_seen: Millis(1234), visit_count: 3 };
        assert_eq!(VisitorState::decode(&v.encode()), Some(v));
        let s = session(10, 20);
        assert_eq!(SessionState::decode(&s.encode()), Some(s.clone()));
        for bad in ["", "v1", "v0|x|1|1", "{\"json\":1}", &(s.encode() + "|9")] {
            assert_eq!(SessionState::decode(bad), None, "{bad}");
            assert_eq!(VisitorState::decode(bad), None, "{bad}");
        }
    }
}
