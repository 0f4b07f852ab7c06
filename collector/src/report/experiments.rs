//! Page experiments' results: per experiment and variant, the exposed visitors and sessions,
//! and each metric's difference from the control with a 95 % confidence interval.
//! `docs/metrics.md` states every formula. Aggregated in the database, like the stats.

use statrs::distribution::{ContinuousCDF, StudentsT};

pub use rapport_core::report::{ExperimentResult, Interval, VariantResult, VersusControl};

use super::stats::{list, pct, ENGAGED_SESSION_MS, KEY_EVENTS, PASSIVE_EVENTS};

/// z for a two-sided 95 % interval.
const Z_95: f64 = 1.959_963_984_540_054;

/// The interval `difference ± half_width`; none unless both are finite.
fn interval(difference: f64, half_width: f64) -> Option<Interval> {
    (difference.is_finite() && half_width.is_finite()).then(|| {
        let (low, high) = (difference - half_width, difference + half_width);
        Interval {
            difference,
            low,
            high,
            excludes_zero: low > 0.0 || high < 0.0,
        }
    })
}

/// Two proportions' difference in percentage points, with the normal (Wald) interval:
/// (p₁ − p₀) ± z·√(p₁(1−p₁)/n₁ + p₀(1−p₀)/n₀), kept within ±100 points (a difference of
/// rates cannot leave them). None without units on either side.
pub fn proportion_difference(x1: u64, n1: u64, x0: u64, n0: u64) -> Option<Interval> {
    if n1 == 0 || n0 == 0 {
        return None;
    }
    let (p1, p0) = (x1 as f64 / n1 as f64, x0 as f64 / n0 as f64);
    let se = (p1 * (1.0 - p1) / n1 as f64 + p0 * (1.0 - p0) / n0 as f64).sqrt();
    interval((p1 - p0) * 100.0, Z_95 * se * 100.0).map(|i| Interval {
        low: i.low.max(-100.0),
        high: i.high.min(100.0),
        ..i
    })
}

/// Two means' difference with Welch's interval: (m₁ − m₀) ± t·√(s₁²/n₁ + s₀²/n₀), t at 97.5 %
/// with the Welch–Satterthwaite degrees of freedom. `Sample` holds n, Σx and Σx².
pub fn welch_difference(a: Sample, b: Sample) -> Option<Interval> {
    let (ma, va) = a.mean_var()?;
    let (mb, vb) = b.mean_var()?;
    let (qa, qb) = (va / a.n as f64, vb / b.n as f64);
    let se = (qa + qb).sqrt();
    if se == 0.0 {
        return interval(ma - mb, 0.0);
    }
    let df = (qa + qb).powi(2) / (qa * qa / (a.n as f64 - 1.0) + qb * qb / (b.n as f64 - 1.0));
    let t = StudentsT::new(0.0, 1.0, df).ok()?.inverse_cdf(0.975);
    interval(ma - mb, t * se)
}

/// A sample summarised as its count, sum and sum of squares.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Sample {
    pub n: u64,
    pub sum: f64,
    pub sum_sq: f64,
}

impl Sample {
    /// Mean and sample variance; None below two values.
    fn mean_var(&self) -> Option<(f64, f64)> {
        if self.n < 2 {
            return None;
        }
        let n = self.n as f64;
        let mean = self.sum / n;
        let var = ((self.sum_sq - self.sum * self.sum / n) / (n - 1.0)).max(0.0);
        Some((mean, var))
    }
}

/// What the SQL returns per experiment and variant.
struct Counts {
    experiment: String,
    result: VariantResult,
    engaged_visitors: u64,
    bounced: u64,
    converted: u64,
    time: Sample,
}

/// One row per experiment and variant: exposures joined to their sessions' measures.
fn results_sql(d: crate::db::Dialect) -> String {
    format!(
        "SELECT x.experiment, x.arm, CAST(MIN(x.idx) AS BIGINT), \
         CAST(COUNT(DISTINCT x.visitor) AS BIGINT), CAST(COUNT(*) AS BIGINT), \
         CAST(SUM(CASE WHEN s.views < 2 AND s.engaged < {engaged} AND s.keyed = 0 THEN 1 ELSE 0 END) AS BIGINT), \
         CAST(COALESCE(COUNT(DISTINCT CASE WHEN s.interacted = 1 THEN x.visitor END), 0) AS BIGINT), \
         CAST(COALESCE(COUNT(DISTINCT CASE WHEN s.converted = 1 THEN x.visitor END), 0) AS BIGINT), \
         SUM(CAST(s.engaged AS {float})), \
         SUM(CAST(s.engaged AS {float}) * CAST(s.engaged AS {float})) \
         FROM (SELECT experiment, session_id, MIN(visitor_id) AS visitor, MIN(variant) AS arm, \
               MIN(variant_index) AS idx FROM {events} \
               WHERE site = $1 AND ts >= $2 AND ts < $3 AND name = 'experiment_exposed' \
               AND experiment IS NOT NULL AND variant IS NOT NULL \
               GROUP BY experiment, session_id) x \
         JOIN (SELECT session_id, CAST(SUM(COALESCE(engaged, 0)) AS BIGINT) AS engaged, \
               CAST(SUM(viewed) AS BIGINT) AS views, MAX(keyed) AS keyed, \
               MAX(interacted) AS interacted, MAX(converted) AS converted \
               FROM (SELECT session_id, pageview_id, MAX(engaged_ms) AS engaged, \
                     MAX(CASE WHEN name = 'page_view' THEN 1 ELSE 0 END) AS viewed, \
                     MAX(CASE WHEN name IN ({key}) THEN 1 ELSE 0 END) AS keyed, \
                     MAX(CASE WHEN name NOT IN ({passive}) THEN 1 ELSE 0 END) AS interacted, \
                     MAX(CASE WHEN name = $4 THEN 1 ELSE 0 END) AS converted \
                     FROM {events} WHERE site = $1 AND ts >= $2 AND ts < $3 \
                     GROUP BY session_id, pageview_id) p \
               GROUP BY session_id) s \
         ON s.session_id = x.session_id \
         GROUP BY x.experiment, x.arm",
        engaged = ENGAGED_SESSION_MS,
        key = list(KEY_EVENTS),
        passive = list(PASSIVE_EVENTS),
        float = d.float(),
        // One row per exposed session, maxima per pageview: copy-proof without `FINAL`.
        events = d.events_as_stored(),
    )
}

/// Every experiment with exposures in `[from, to]` (epoch days), each variant against the
/// control (the variant at position 0, or the lowest position seen).
pub async fn results(
    db: &crate::Db,
    site: &str,
    from: i64,
    to: i64,
    goal: &str,
) -> Result<Vec<ExperimentResult>, sqlx::Error> {
    use crate::db::Param;
    let rows = db
        .read(
            &results_sql(db.dialect()),
            &[
                Param::Text(site.to_owned()),
                Param::Int(super::days::day_start_ms(from)),
                Param::Int(super::days::day_start_ms(to + 1)),
                Param::Text(goal.to_owned()),
            ],
        )
        .await?;
    let u = |row: &crate::db::Row, i: usize| row.count(i);
    let mut all: Vec<Counts> = Vec::new();
    for row in &rows {
        let (visitors, sessions) = (u(row, 3), u(row, 4));
        let (bounced, engaged_visitors, converted) = (u(row, 5), u(row, 6), u(row, 7));
        let time = Sample {
            n: sessions,
            sum: row.float(8).unwrap_or(0.0),
            sum_sq: row.float(9).unwrap_or(0.0),
        };
        all.push(Counts {
            experiment: row.text(0),
            result: VariantResult {
                variant: row.text(1),
                index: u(row, 2),
                visitors,
                sessions,
                engagement_rate: pct(engaged_visitors, visitors),
                bounce_rate: pct(bounced, sessions),
                avg_engaged_ms: (sessions > 0).then(|| time.sum / sessions as f64),
                conversion_rate: pct(converted, visitors),
                versus_control: None,
            },
            engaged_visitors,
            bounced,
            converted,
            time,
        });
    }
    all.sort_by(|a, b| {
        (
            a.experiment.as_str(),
            a.result.index,
            a.result.variant.as_str(),
        )
            .cmp(&(
                b.experiment.as_str(),
                b.result.index,
                b.result.variant.as_str(),
            ))
    });
    let mut out: Vec<ExperimentResult> = Vec::new();
    let mut at = 0;
    while at < all.len() {
        let end = at
            + all[at..]
                .iter()
                .take_while(|c| c.experiment == all[at].experiment)
                .count();
        let group = &all[at..end];
        let control = &group[0];
        let variants = group
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let versus = (i > 0).then(|| VersusControl {
                    engagement_rate: proportion_difference(
                        c.engaged_visitors,
                        c.result.visitors,
                        control.engaged_visitors,
                        control.result.visitors,
                    ),
                    bounce_rate: proportion_difference(
                        c.bounced,
                        c.result.sessions,
                        control.bounced,
                        control.result.sessions,
                    ),
                    avg_engaged_ms: welch_difference(c.time, control.time),
                    conversion_rate: proportion_difference(
                        c.converted,
                        c.result.visitors,
                        control.converted,
                        control.result.visitors,
                    ),
                });
                VariantResult {
                    versus_control: versus,
                    ..c.result.clone()
                }
            })
            .collect();
        out.push(ExperimentResult {
            experiment: control.experiment.clone(),
            variants,
        });
        at = end;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proportion_interval_matches_the_formula() {
        // 30/50 against 20/50: 10 points, se = √(.6·.4/50 + .4·.6/50) = 0.09798.
        let i = proportion_difference(30, 50, 20, 50).unwrap();
        assert!((i.difference - 20.0).abs() < 1e-9);
        assert!((i.high - i.difference - 19.2039).abs() < 1e-3, "{i:?}");
        assert!(i.excludes_zero);
        assert!(!proportion_difference(11, 20, 10, 20).unwrap().excludes_zero);
        assert_eq!(proportion_difference(1, 0, 1, 5), None);
        // 2/2 against 1/2: +50 ± 1.95996·√(0.125)·100 = ±69.2952 points, kept within +100.
        let wide = proportion_difference(2, 2, 1, 2).unwrap();
        assert_eq!(wide.high, 100.0);
        assert!((wide.low - (50.0 - 69.2952)).abs() < 1e-3, "{wide:?}");
    }

    #[test]
    fn welch_interval_matches_a_worked_example() {
        // a = [1, 2, 3, 4], b = [2, 4, 6, 8]: means 2.5 and 5, variances 5/3 and 20/3,
        // se = √(5/12 + 20/12) = 1.4434, df = (25/12)² / ((5/12)²/3 + (20/12)²/3) = 4.4118,
        // t(0.975, 4.4118) = 2.67717 (by integrating the t density numerically).
        let a = Sample {
            n: 4,
            sum: 10.0,
            sum_sq: 30.0,
        };
        let b = Sample {
            n: 4,
            sum: 20.0,
            sum_sq: 120.0,
        };
        let i = welch_difference(a, b).unwrap();
        assert!((i.difference + 2.5).abs() < 1e-9);
        assert!((i.high - i.difference - 3.86417).abs() < 1e-4, "{i:?}");
        assert!(!i.excludes_zero);
        assert_eq!(
            welch_difference(
                Sample {
                    n: 1,
                    sum: 1.0,
                    sum_sq: 1.0
                },
                b
            ),
            None
        );
    }
}
