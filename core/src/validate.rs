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
/// Serialized size limit of one event's `props` object.
pub const MAX_PROPS_BYTES: usize = 8 * 1024;
/// Client timestamps further than this from the receive time are not plausible.
pub const MAX_CLOCK_SKEW_MS: i64 = 7 * 24 * 3_600_000;

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
