//! How numbers, durations and dates are written: numbers and dates by `Intl` for the
//! chosen language (its digits, separators and month names), units after them. Off the web,
//! where the unit tests run, numbers are Rust's plain decimals.

use crate::i18n::Lang;

/// `v` with exactly `digits` decimals, as the language writes numbers.
pub fn num(lang: Lang, v: f64, digits: usize) -> String {
    #[cfg(target_arch = "wasm32")]
    {
        let options = js_sys::Object::new();
        let set = |k: &str, v: wasm_bindgen::JsValue| {
            let _ = js_sys::Reflect::set(&options, &k.into(), &v);
        };
        set("minimumFractionDigits", (digits as f64).into());
        set("maximumFractionDigits", (digits as f64).into());
        let locales = js_sys::Array::of1(&lang.tag().into());
        let f = js_sys::Intl::NumberFormat::new(&locales, &options);
        f.format()
            .call1(&f, &v.into())
            .ok()
            .and_then(|s| s.as_string())
            .unwrap_or_else(|| format!("{v:.digits$}"))
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        let _ = lang;
        format!("{v:.digits$}")
    }
}

/// A count, `1,234` (or the language's own).
pub fn count(lang: Lang, v: Option<f64>) -> String {
    fixed(lang, v, 0)
}

/// `12.3 %`, or `–` without a value.
pub fn pct(lang: Lang, v: Option<f64>) -> String {
    v.map_or_else(dash, |v| format!("{} %", num(lang, v, 1)))
}

/// `12.3 s` from milliseconds.
pub fn secs(lang: Lang, ms: Option<f64>) -> String {
    ms.map_or_else(dash, |v| format!("{} s", num(lang, v / 1000.0, 1)))
}

pub fn fixed(lang: Lang, v: Option<f64>, digits: usize) -> String {
    v.map_or_else(dash, |v| num(lang, v, digits))
}

pub fn dash() -> String {
    "–".into()
}

/// The change from `before` to `now`: relative for counts and times (`+12 %`), in points
/// for rates (`+1.5 pts`); none without both values or from zero.
pub fn delta(
    lang: Lang,
    now: Option<f64>,
    before: Option<f64>,
    points: bool,
) -> Option<(String, f64)> {
    let (now, before) = (now?, before?);
    let change = if points {
        now - before
    } else if before == 0.0 {
        return None;
    } else {
        (now - before) / before * 100.0
    };
    let sign = sign(change);
    let size = change.abs();
    Some(if points {
        (format!("{sign}{} pts", num(lang, size, 1)), change)
    } else {
        (format!("{sign}{} %", num(lang, size, 0)), change)
    })
}

/// `+`, `−` or `±`: the sign a change is written with.
pub fn sign(v: f64) -> &'static str {
    if v > 0.0 {
        "+"
    } else if v < 0.0 {
        "−"
    } else {
        "±"
    }
}

/// `+1.5 pts`: a difference of rates.
pub fn signed_points(lang: Lang, v: f64) -> String {
    format!("{}{} pts", sign(v), num(lang, v.abs(), 1))
}

/// `+1.2 s`: a difference of times in milliseconds.
pub fn signed_secs(lang: Lang, ms: f64) -> String {
    format!("{}{} s", sign(ms), num(lang, ms.abs() / 1000.0, 1))
}

/// `+0.25`: a difference of scores.
pub fn signed_score(lang: Lang, v: f64) -> String {
    format!("{}{}", sign(v), num(lang, v.abs(), 2))
}

/// A day (`YYYY-MM-DD`) or an hour (`YYYY-MM-DDTHH:00Z`) as the language writes it, short
/// (`Dec 3`, `05:00`) for axis labels or `long` (`Dec 3, 2026`) for read-outs; UTC, as the
/// API's days are.
pub fn when(lang: Lang, at: &str, long: bool) -> String {
    let hour = at.len() > 10;
    #[cfg(target_arch = "wasm32")]
    {
        let iso = if hour {
            at.to_string()
        } else {
            format!("{at}T00:00Z")
        };
        let ms = js_sys::Date::parse(&iso);
        if !ms.is_nan() {
            let options = js_sys::Object::new();
            let set = |k: &str, v: &str| {
                let _ = js_sys::Reflect::set(&options, &k.into(), &v.into());
            };
            set("timeZone", "UTC");
            if !hour || long {
                set("month", "short");
                set("day", "numeric");
            }
            if long && !hour {
                set("year", "numeric");
            }
            if hour {
                set("hour", "2-digit");
                set("minute", "2-digit");
            }
            let locales = js_sys::Array::of1(&lang.tag().into());
            let f = js_sys::Intl::DateTimeFormat::new(&locales, &options);
            if let Some(s) = f
                .format()
                .call1(&f, &js_sys::Date::new(&ms.into()))
                .ok()
                .and_then(|s| s.as_string())
            {
                return s;
            }
        }
    }
    let _ = (lang, long);
    match (hour, long) {
        (true, false) => at.get(11..16).unwrap_or(at).to_string(),
        (false, false) => at.get(5..).unwrap_or(at).to_string(),
        _ => at.to_string(),
    }
}

/// The x of a point on a time axis `width` wide: time runs right to left in Arabic and
/// Hebrew, as their readers read it.
pub fn along(lang: Lang, width: f64, x: f64) -> f64 {
    if lang.rtl() {
        width - x
    } else {
        x
    }
}

/// Days since 1970-01-01 of a `YYYY-MM-DD` date.
pub fn parse_date(s: &str) -> Option<i64> {
    let mut parts = s.splitn(3, '-');
    let y: i64 = parts.next()?.parse().ok()?;
    let m: i64 = parts.next()?.parse().ok()?;
    let d: i64 = parts.next()?.parse().ok()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    // Howard Hinnant's days_from_civil.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

/// `YYYY-MM-DD` of days since 1970-01-01.
pub fn date(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// The range of the same length just before `from..=to`.
pub fn previous(from: &str, to: &str) -> Option<(String, String)> {
    let (a, b) = (parse_date(from)?, parse_date(to)?);
    let len = b - a + 1;
    Some((date(a - len), date(a - 1)))
}

/// Which of `n` tick labels to print so that about `room` of them fit: always the first and
/// the last, and evenly spaced ones between.
pub fn ticks(n: usize, room: usize) -> Vec<usize> {
    if n == 0 {
        return Vec::new();
    }
    let room = room.max(2);
    if n <= room {
        return (0..n).collect();
    }
    let step = (n - 1).div_ceil(room - 1);
    let mut out: Vec<usize> = (0..n).step_by(step).collect();
    let last = n - 1;
    // Keep the last label, dropping a neighbour closer than a step: an end label may be
    // anchored at its end, so it takes a whole step's room on one side.
    if out.last() != Some(&last) {
        if out.len() > 1 && last - out[out.len() - 1] < step {
            out.pop();
        }
        out.push(last);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip() {
        for s in ["1970-01-01", "2000-02-29", "2026-12-03", "2024-12-31"] {
            assert_eq!(date(parse_date(s).unwrap()), s);
        }
        assert_eq!(parse_date("1970-01-02"), Some(1));
        assert_eq!(parse_date("2026-13-01"), None);
        assert_eq!(
            previous("2026-11-01", "2026-11-30"),
            Some(("2026-10-02".into(), "2026-10-31".into()))
        );
    }

    #[test]
    fn ticks_fit_the_room_and_keep_both_ends() {
        assert_eq!(ticks(5, 8), vec![0, 1, 2, 3, 4]);
        for (n, room) in [(30, 6), (365, 8), (24, 6), (31, 7), (2, 8)] {
            let t = ticks(n, room);
            assert_eq!(t.first(), Some(&0));
            assert_eq!(t.last(), Some(&(n - 1)));
            assert!(t.len() <= room + 1, "{n} labels in room {room}: {t:?}");
            // Every gap is at least a step: no label crowds the next.
            let step = (n - 1).div_ceil(room.max(2) - 1).max(1);
            let gaps: Vec<usize> = t.windows(2).map(|w| w[1] - w[0]).collect();
            assert!(
                gaps.iter().all(|g| *g >= step.min(n - 1)),
                "{n}/{room}: {t:?}"
            );
        }
    }

    #[test]
    fn deltas_say_the_direction() {
        let en = Lang::En;
        assert_eq!(delta(en, Some(12.0), Some(10.0), false).unwrap().0, "+20 %");
        assert_eq!(
            delta(en, Some(40.0), Some(42.5), true).unwrap().0,
            "−2.5 pts"
        );
        assert_eq!(delta(en, Some(3.0), Some(0.0), false), None);
        assert_eq!(delta(en, None, Some(1.0), false), None);
        assert_eq!(pct(en, Some(12.345)), "12.3 %");
        assert_eq!(secs(en, Some(12_345.0)), "12.3 s");
        assert_eq!(signed_score(en, -0.5), "−0.50");
    }

    #[test]
    fn time_runs_right_to_left_in_arabic_and_hebrew() {
        assert_eq!(along(Lang::En, 100.0, 10.0), 10.0);
        assert_eq!(along(Lang::Ar, 100.0, 10.0), 90.0);
        assert_eq!(along(Lang::He, 100.0, 10.0), 90.0);
        assert_eq!(along(Lang::Th, 100.0, 10.0), 10.0);
        assert_eq!(when(Lang::En, "2026-12-03", false), "12-03");
        assert_eq!(when(Lang::En, "2026-12-03T05:00Z", false), "05:00");
    }
}
