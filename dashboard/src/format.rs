//! How numbers, durations and dates are written: the same for every language, so figures
//! line up with the API's.

/// `12.3 %`, or `–` without a value.
pub fn pct(v: Option<f64>) -> String {
    v.map_or_else(dash, |v| format!("{v:.1} %"))
}

/// `12.3 s` from milliseconds.
pub fn secs(ms: Option<f64>) -> String {
    ms.map_or_else(dash, |v| format!("{:.1} s", v / 1000.0))
}

pub fn fixed(v: Option<f64>, digits: usize) -> String {
    v.map_or_else(dash, |v| format!("{v:.digits$}"))
}

pub fn dash() -> String {
    "–".into()
}

/// The change from `before` to `now`: relative for counts and times (`+12 %`), in points
/// for rates (`+1.5 pts`); none without both values or from zero.
pub fn delta(now: Option<f64>, before: Option<f64>, points: bool) -> Option<(String, f64)> {
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
        (format!("{sign}{size:.1} pts"), change)
    } else {
        (format!("{sign}{size:.0} %"), change)
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
pub fn signed_points(v: f64) -> String {
    format!("{}{:.1} pts", sign(v), v.abs())
}

/// `+1.2 s`: a difference of times in milliseconds.
pub fn signed_secs(ms: f64) -> String {
    format!("{}{:.1} s", sign(ms), ms.abs() / 1000.0)
}

/// `+0.25`: a difference of scores.
pub fn signed_score(v: f64) -> String {
    format!("{}{:.2}", sign(v), v.abs())
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
    // Keep the last label, dropping a neighbour that would touch it.
    if out.last() != Some(&last) {
        if out.len() > 1 && last - out[out.len() - 1] < step / 2 + 1 {
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
            let gaps: Vec<usize> = t.windows(2).map(|w| w[1] - w[0]).collect();
            assert!(gaps.iter().all(|g| *g >= 1));
        }
    }

    #[test]
    fn deltas_say_the_direction() {
        assert_eq!(delta(Some(12.0), Some(10.0), false).unwrap().0, "+20 %");
        assert_eq!(delta(Some(40.0), Some(42.5), true).unwrap().0, "−2.5 pts");
        assert_eq!(delta(Some(3.0), Some(0.0), false), None);
        assert_eq!(delta(None, Some(1.0), false), None);
        assert_eq!(pct(Some(12.345)), "12.3 %");
        assert_eq!(secs(Some(12_345.0)), "12.3 s");
    }
}
