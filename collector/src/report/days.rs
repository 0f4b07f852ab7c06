//! UTC calendar days and hours as the reports count them: epoch days and hours, and their
//! `YYYY-MM-DD` names. Shared by the report queries, the range checks and the ledger's days.

/// A UTC day, in ms.
pub const DAY_MS: i64 = 86_400_000;
/// An hour, in ms.
pub const HOUR_MS: i64 = 3_600_000;

/// Calendar day (UTC) of a timestamp, as days since the Unix epoch.
pub fn day_of(ts: i64) -> i64 {
    ts.div_euclid(DAY_MS)
}

pub fn day_start_ms(day: i64) -> i64 {
    day.saturating_mul(DAY_MS)
}

/// `YYYY-MM-DD` of an epoch day (the nearest representable day beyond the calendar's ends).
pub fn date_of(day: i64) -> String {
    let epoch = time::OffsetDateTime::UNIX_EPOCH.date();
    // Beyond ±10^7 days (27,000 years) no date exists; the clamp keeps Duration in range.
    let date = epoch
        .checked_add(time::Duration::days(day.clamp(-10_000_000, 10_000_000)))
        .unwrap_or(if day < 0 {
            time::Date::MIN
        } else {
            time::Date::MAX
        });
    date.to_string()
}

/// The first and last day a stats request may name: every day of the years 1 to 9999, as an
/// OpenAPI `date` can be.
pub const FIRST_DATE: &str = "0001-01-01";
pub const LAST_DATE: &str = "9999-12-31";

/// Epoch day of `YYYY-MM-DD`, for a real date from [`FIRST_DATE`] to [`LAST_DATE`].
pub fn parse_date(text: &str) -> Option<i64> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    if text.len() != 10 || !text.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let date = time::Date::parse(text, &format).ok()?;
    let day = (date - time::OffsetDateTime::UNIX_EPOCH.date()).whole_days();
    (-719_162..=2_932_896).contains(&day).then_some(day)
}

/// `YYYY-MM-DDTHH:00Z` of an epoch hour.
pub fn hour_of(hour: i64) -> String {
    format!(
        "{}T{:02}:00Z",
        date_of(hour.div_euclid(24)),
        hour.rem_euclid(24)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip() {
        assert_eq!(parse_date("1970-01-01"), Some(0));
        assert_eq!(date_of(parse_date("2026-11-22").unwrap()), "2026-11-22");
        assert_eq!(parse_date("2026-02-30"), None);
        assert_eq!(parse_date("-9999-01-01"), None);
        assert_eq!(parse_date("+2026-01-01"), None);
        assert_eq!(parse_date("0000-12-31"), None);
        assert_eq!(date_of(parse_date(FIRST_DATE).unwrap()), FIRST_DATE);
        assert_eq!(date_of(parse_date(LAST_DATE).unwrap()), LAST_DATE);
        assert_eq!(date_of(i64::MIN), time::Date::MIN.to_string());
        assert_eq!(day_of(-1), -1);
        assert_eq!(hour_of(24 + 5), "1970-01-02T05:00Z");
    }
}
