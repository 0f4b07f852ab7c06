//! Input rules shared by the widget (before sending) and the collector (on ingest), so both
//! sides accept and reject exactly the same events.

/// Why a piece of input was refused: the field it concerns and a reason a person can act on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Invalid {
    pub field: &'static str,
    pub reason: &'static str,
}

impl Invalid {
    pub const fn new(field: &'static str, reason: &'static str) -> Self {
        Invalid { field, reason }
    }
}

impl core::fmt::Display for Invalid {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}

impl core::error::Error for Invalid {}

pub const MAX_NAME_LEN: usize = 64;
pub const MAX_URL_LEN: usize = 2048;
pub const MAX_PROP_KEY_LEN: usize = 64;
/// Most keys one event's `props` object may have.
pub const MAX_PROPS_KEYS: usize = 256;
/// Serialized size limit of one event's `props` object.
pub const MAX_PROPS_BYTES: usize = 8 * 1024;
/// Client timestamps further than this from the receive time are not plausible.
pub const MAX_CLOCK_SKEW_MS: i64 = 7 * 24 * 3_600_000;
/// How far after the sender's clock (a batch's `sent_at`, an import's now) an event may be
/// stamped.
pub const MAX_FUTURE_MS: u64 = 60_000;

fn is_slug_byte(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'.' | b'-')
}

/// 1–64 characters of `[a-z0-9_.-]`.
fn slug(field: &'static str, text: &str) -> Result<(), Invalid> {
    if text.is_empty() || text.len() > MAX_NAME_LEN {
        return Err(Invalid::new(field, "must be 1-64 characters"));
    }
    if !text.bytes().all(is_slug_byte) {
        return Err(Invalid::new(
            field,
            "may only contain a-z, 0-9, '_', '.' and '-'",
        ));
    }
    Ok(())
}

/// Event names: 1–64 characters of `[a-z0-9_.-]`.
pub fn event_name(name: &str) -> Result<(), Invalid> {
    slug("name", name)
}

/// Site ids follow the event-name alphabet.
pub fn site(site: &str) -> Result<(), Invalid> {
    slug("site", site)
}

/// Page URLs: absolute http(s), bounded length.
pub fn url(field: &'static str, url: &str) -> Result<(), Invalid> {
    if url.len() > MAX_URL_LEN {
        return Err(Invalid::new(field, "is longer than 2048 bytes"));
    }
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(Invalid::new(field, "must be an absolute http(s) URL"));
    }
    Ok(())
}

pub fn prop_key(key: &str) -> Result<(), Invalid> {
    if key.is_empty() || key.len() > MAX_PROP_KEY_LEN {
        return Err(Invalid::new("props", "keys must be 1-64 characters"));
    }
    Ok(())
}

/// The longest engaged time one pageview can report: a day.
pub const MAX_ENGAGED_MS: u64 = 24 * 3_600_000;
/// The longest engaged time one session can report: the longest session (72 h).
pub const MAX_SESSION_ENGAGED_MS: u64 = 72 * 3_600_000;
/// Timestamps in props: up to JavaScript's largest exact integer.
const MAX_JS_INTEGER: u64 = (1 << 53) - 1;
/// Counts in props fit in 32 bits.
const MAX_COUNT: u64 = u32::MAX as u64;

/// A property the metrics read, and the closed range a browser can produce for it.
pub struct Measure {
    /// The event it belongs to.
    pub event: &'static str,
    /// `props.<key>`, the field named in the error.
    pub field: &'static str,
    pub min: u64,
    pub max: u64,
    /// What the error says, naming the range.
    pub reason: &'static str,
}

const fn measure(
    event: &'static str,
    field: &'static str,
    max: u64,
    reason: &'static str,
) -> Measure {
    Measure {
        event,
        field,
        min: 0,
        max,
        reason,
    }
}

/// Every numeric property that a metric sums, averages or compares, with its bounds. An
/// event whose value is outside them (or not a number) is refused, so no stored value can
/// overflow an aggregate or skew a mean.
pub const MEASURES: &[Measure] = &[
    measure(
        "page_view",
        "props.visit_count",
        MAX_COUNT,
        "must be a number from 0 to 4294967295",
    ),
    measure(
        "page_view",
        "props.first_seen",
        MAX_JS_INTEGER,
        "must be a time in ms from 0 to 2^53-1",
    ),
    measure(
        "page_engagement",
        "props.engaged_ms",
        MAX_ENGAGED_MS,
        "must be a number of ms from 0 to 86400000 (24 h)",
    ),
    measure(
        "page_engagement",
        "props.scroll_max",
        100,
        "must be a number from 0 to 100",
    ),
    measure(
        "page_engagement",
        "props.session_engaged_ms",
        MAX_SESSION_ENGAGED_MS,
        "must be a number of ms from 0 to 259200000 (72 h)",
    ),
    measure(
        "page_engagement",
        "props.session_pageviews",
        MAX_COUNT,
        "must be a number from 0 to 4294967295",
    ),
    measure(
        "scroll_milestone",
        "props.depth",
        100,
        "must be a number from 0 to 100",
    ),
    measure(
        "feedback_submitted",
        "props.score",
        10,
        "must be a number from 0 to 10",
    ),
];

/// Checks the measured properties of an event named `name`: `value(key)` gives a property's
/// number (`Some(Err(()))` for a value that is not a number, `None` when absent).
pub fn measures(
    name: &str,
    mut value: impl FnMut(&str) -> Option<Result<f64, ()>>,
) -> Result<(), Invalid> {
    for m in MEASURES.iter().filter(|m| m.event == name) {
        let key = &m.field["props.".len()..];
        match value(key) {
            None => {}
            Some(Ok(v)) if v >= m.min as f64 && v <= m.max as f64 => {}
            Some(_) => return Err(Invalid::new(m.field, m.reason)),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;

    #[test]
    fn event_name_accepts_slugs_and_rejects_others() {
        assert!(event_name("page_view").is_ok());
        assert!(event_name("checkout.step-2").is_ok());
        assert_eq!(event_name("").unwrap_err().field, "name");
        assert!(event_name("Purchase").is_err());
        assert!(event_name("with space").is_err());
        assert!(event_name(&"a".repeat(64)).is_ok());
        assert!(event_name(&"a".repeat(65)).is_err());
    }

    #[test]
    fn measures_are_bounded_to_what_a_browser_produces() {
        let engagement = |v: Option<Result<f64, ()>>| {
            measures("page_engagement", move |k| {
                (k == "engaged_ms").then_some(v).flatten()
            })
        };
        assert!(engagement(Some(Ok(86_400_000.0))).is_ok());
        assert!(engagement(None).is_ok());
        let too_long = engagement(Some(Ok(1e19))).unwrap_err();
        assert_eq!(too_long.field, "props.engaged_ms");
        assert_eq!(
            engagement(Some(Ok(-1.0))).unwrap_err().field,
            "props.engaged_ms"
        );
        assert!(engagement(Some(Err(()))).is_err());
        let depth = |v: f64| measures("scroll_milestone", move |_| Some(Ok(v)));
        assert!(depth(100.0).is_ok());
        assert_eq!(depth(101.0).unwrap_err().field, "props.depth");
        // Other events' properties of the same name are free.
        assert!(measures("add_to_cart", |_| Some(Ok(1e30))).is_ok());
    }

    #[test]
    fn url_requires_absolute_http() {
        assert!(url("url", "https://shop.example/a").is_ok());
        assert!(url("url", "javascript:alert(1)").is_err());
        let long = format!("https://x.example/{}", "a".repeat(MAX_URL_LEN));
        assert_eq!(
            url("url", &long).unwrap_err().reason,
            "is longer than 2048 bytes"
        );
    }
}
