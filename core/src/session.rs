//! Visitors and sessions: who is here, and which visit this is.
//!
//! Both are persisted by the driver as short text snapshots (no serde in the widget) and
//! shared by every tab of the origin, so they are keyed on wall-clock time.

use alloc::string::String;
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
        SessionRule {
            idle_timeout: Millis::from_mins(30),
            max_duration: Millis::from_hours(24),
        }
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

/// Splits a snapshot into its `|`-separated fields, checking the tag and the field count.
fn fields<'a, const N: usize>(text: &'a str, tag: &str) -> Option<[&'a str; N]> {
    // By hand: `str::split` with a char pattern costs the widget about 700 bytes.
    let mut rest = text.strip_prefix(tag)?;
    let mut out = [""; N];
    for slot in &mut out {
        rest = rest.strip_prefix('|')?;
        let end = rest.bytes().position(|b| b == b'|').unwrap_or(rest.len());
        // `get` rather than indexing: a panicking slice would link core's formatting code.
        *slot = rest.get(..end)?;
        rest = rest.get(end..)?;
    }
    rest.is_empty().then_some(out)
}

/// Decimal digits only; `str::parse` would add a second integer parser to the widget.
fn number(text: &str) -> Option<u64> {
    if text.is_empty() || text.len() > 19 {
        return None;
    }
    text.bytes().try_fold(0u64, |n, b| {
        b.is_ascii_digit().then(|| n * 10 + u64::from(b - b'0'))
    })
}

impl VisitorState {
    /// `v1|<id>|<first_seen>|<visit_count>`
    pub fn encode(&self) -> String {
        let mut s = String::from(VISITOR_TAG);
        s.push('|');
        crate::id::push(&mut s, &self.id);
        s.push('|');
        crate::json::push_u64(&mut s, self.first_seen.0);
        s.push('|');
        crate::json::push_u64(&mut s, self.visit_count.into());
        s
    }

    /// `None` for anything that is not a well-formed current snapshot.
    pub fn decode(text: &str) -> Option<VisitorState> {
        let [id, first_seen, visit_count] = fields(text, VISITOR_TAG)?;
        Some(VisitorState {
            id: crate::id::parse(id)?,
            first_seen: Millis(number(first_seen)?),
            visit_count: u32::try_from(number(visit_count)?).ok()?,
        })
    }
}

impl SessionState {
    /// `s1|<id>|<started>|<last_activity>|<pageviews>`
    pub fn encode(&self) -> String {
        let mut s = String::from(SESSION_TAG);
        s.push('|');
        crate::id::push(&mut s, &self.id);
        for n in [self.started.0, self.last_activity.0, self.pageviews.into()] {
            s.push('|');
            crate::json::push_u64(&mut s, n);
        }
        s
    }

    pub fn decode(text: &str) -> Option<SessionState> {
        let [id, started, last_activity, pageviews] = fields(text, SESSION_TAG)?;
        Some(SessionState {
            id: crate::id::parse(id)?,
            started: Millis(number(started)?),
            last_activity: Millis(number(last_activity)?),
            pageviews: u32::try_from(number(pageviews)?).ok()?,
        })
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
        let v = VisitorState {
            id: Uuid::from_u128(7),
            first_seen: Millis(1234),
            visit_count: 3,
        };
        assert_eq!(VisitorState::decode(&v.encode()), Some(v));
        let s = session(10, 20);
        assert_eq!(SessionState::decode(&s.encode()), Some(s.clone()));
        for bad in ["", "v1", "v0|x|1|1", "{\"json\":1}", &(s.encode() + "|9")] {
            assert_eq!(SessionState::decode(bad), None, "{bad}");
            assert_eq!(VisitorState::decode(bad), None, "{bad}");
        }
    }
}
