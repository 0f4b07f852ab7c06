//! Each prompt's results in the range, per A/B variant (shown, dismissed, answered,
//! response rate, mean score, the NPS groups, how often each answer was given), each variant
//! against the first with 95 % intervals. SQL `GROUP BY` on every backend, over the typed
//! `prompt_id`, `variant`, `score` and `feedback_type` columns; a choice's text is read from
//! the answer's properties.

pub use rapport_core::report::{AnswerCount, PromptResult, PromptVariant, PromptVersus};

use super::experiments::{proportion_difference, welch_difference, Sample};
use super::filter::{Filter, Scope};
use crate::db::{Db, Dialect, Param};

struct Arm {
    result: PromptVariant,
    kind: Option<String>,
    scores: Sample,
}

/// The chosen option's text of a choice answer, from its properties.
fn choice_text(d: Dialect) -> &'static str {
    match d {
        Dialect::Sqlite => "CAST(json_extract(props, '$.choice_text') AS TEXT)",
        Dialect::Postgres => "(CAST(props AS jsonb) ->> 'choice_text')",
        Dialect::ClickHouse => "visitParamExtractString(props, 'choice_text')",
    }
}

/// The prompts' events that meet `scope`, one row per event: (`prompt_id`, `variant`,
/// `name`, `score`, `feedback_type`, `choice`, the chosen option's text). Read as stored,
/// without ClickHouse's `FINAL`; there a copy of an event not merged yet may be in the
/// table, so the rows are grouped by id first (few rows: only the prompts' events).
fn prompt_events(d: Dialect, scope: &str) -> String {
    let rows = format!(
        "FROM {} WHERE {scope} AND prompt_id IS NOT NULL AND variant IS NOT NULL \
         AND name IN ('prompt_shown', 'prompt_dismissed', 'feedback_submitted')",
        d.events_as_stored()
    );
    let choice = choice_text(d);
    match d {
        Dialect::ClickHouse => format!(
            "SELECT MAX(prompt_id) AS prompt_id, MAX(variant) AS variant, MAX(name) AS name, \
             MAX(score) AS score, MAX(feedback_type) AS feedback_type, \
             MAX(choice) AS choice FROM (SELECT id, prompt_id, variant, name, score, \
             feedback_type, {choice} AS choice {rows}) c GROUP BY id"
        ),
        _ => format!(
            "SELECT prompt_id, variant, name, score, feedback_type, {choice} AS choice {rows}"
        ),
    }
}

/// How often each answer was given, per (prompt, variant): scores as their number, choices
/// as their text; free text is not counted.
async fn answer_counts(
    db: &Db,
    scope: &str,
    params: &[Param],
) -> Result<std::collections::BTreeMap<(String, String), Vec<AnswerCount>>, sqlx::Error> {
    let d = db.dialect();
    let sql = format!(
        "SELECT prompt_id, variant, ans_score, ans_choice, CAST(COUNT(*) AS BIGINT) \
         FROM (SELECT prompt_id, variant, COALESCE(score, -1) AS ans_score, \
               CASE WHEN COALESCE(feedback_type, '') = 'choice' \
               THEN COALESCE(choice, '') ELSE '' END AS ans_choice \
               FROM ({events}) r WHERE name = 'feedback_submitted') a \
         GROUP BY prompt_id, variant, ans_score, ans_choice",
        events = prompt_events(d, scope),
    );
    let mut out: std::collections::BTreeMap<(String, String), Vec<AnswerCount>> =
        Default::default();
    for r in db.read(&sql, params).await? {
        let answer = match (r.int(2), r.text(3)) {
            (_, choice) if !choice.is_empty() => choice,
            (score, _) if score >= 0 => score.to_string(),
            _ => continue,
        };
        let counts = out.entry((r.text(0), r.text(1))).or_default();
        let n = r.count(4);
        match counts.iter_mut().find(|c| c.answer == answer) {
            Some(c) => c.count += n,
            None => counts.push(AnswerCount { answer, count: n }),
        }
    }
    for counts in out.values_mut() {
        counts.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.answer.cmp(&b.answer)));
    }
    Ok(out)
}

/// The results of `site`'s prompts over the days `from..=to`, in the sessions that pass
/// `filters`.
pub async fn results(
    db: &Db,
    site: &str,
    from: i64,
    to: i64,
    filters: &[Filter],
) -> Result<Vec<PromptResult>, sqlx::Error> {
    let d = db.dialect();
    let (scope, params) = Scope {
        site,
        from,
        to,
        filters,
    }
    .sql(d);
    let sql = format!(
        "SELECT prompt_id, variant, \
         CAST(SUM(CASE WHEN name = 'prompt_shown' THEN 1 ELSE 0 END) AS BIGINT), \
         CAST(SUM(CASE WHEN name = 'prompt_dismissed' THEN 1 ELSE 0 END) AS BIGINT), \
         CAST(SUM(CASE WHEN name = 'feedback_submitted' THEN 1 ELSE 0 END) AS BIGINT), \
         CAST(SUM(CASE WHEN name = 'feedback_submitted' AND score IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT), \
         SUM(CASE WHEN name = 'feedback_submitted' AND score IS NOT NULL THEN CAST(COALESCE(score, 0) AS {float}) ELSE 0 END), \
         SUM(CASE WHEN name = 'feedback_submitted' AND score IS NOT NULL \
              THEN CAST(COALESCE(score, 0) AS {float}) * CAST(COALESCE(score, 0) AS {float}) ELSE 0 END), \
         CAST(SUM(CASE WHEN name = 'feedback_submitted' AND feedback_type = 'nps' AND score >= 9 THEN 1 ELSE 0 END) AS BIGINT), \
         CAST(SUM(CASE WHEN name = 'feedback_submitted' AND feedback_type = 'nps' AND score BETWEEN 7 AND 8 THEN 1 ELSE 0 END) AS BIGINT), \
         CAST(SUM(CASE WHEN name = 'feedback_submitted' AND feedback_type = 'nps' AND score <= 6 THEN 1 ELSE 0 END) AS BIGINT), \
         MAX(feedback_type) \
         FROM ({events}) r GROUP BY prompt_id, variant",
        float = d.float(),
        events = prompt_events(d, &scope),
    );
    let mut answers = answer_counts(db, &scope, &params).await?;
    let mut arms: Vec<(String, Arm)> = db
        .read(&sql, &params)
        .await?
        .iter()
        .map(|r| {
            let (shown, answered, scored) = (r.count(2), r.count(4), r.count(5));
            let (sum, sum_sq) = (r.float(6).unwrap_or(0.0), r.float(7).unwrap_or(0.0));
            let kind = Some(r.text(11)).filter(|k| !k.is_empty());
            let result = PromptVariant {
                variant: r.text(1),
                shown,
                dismissed: r.count(3),
                answered,
                response_rate: (shown > 0).then(|| answered as f64 / shown as f64 * 100.0),
                mean_score: (scored > 0).then(|| sum / scored as f64),
                promoters: r.count(8),
                passives: r.count(9),
                detractors: r.count(10),
                answers: answers.remove(&(r.text(0), r.text(1))).unwrap_or_default(),
                versus_first: None,
            };
            let scores = Sample {
                n: scored,
                sum,
                sum_sq,
            };
            (
                r.text(0),
                Arm {
                    result,
                    kind,
                    scores,
                },
            )
        })
        .collect();
    arms.sort_by(|a, b| (&a.0, &a.1.result.variant).cmp(&(&b.0, &b.1.result.variant)));
    let mut out: Vec<PromptResult> = Vec::new();
    let mut first: Option<(u64, u64, Sample)> = None;
    for (prompt, arm) in arms {
        let mut result = arm.result;
        match out.last_mut().filter(|p| p.prompt_id == prompt) {
            Some(p) => {
                if let Some((answered, shown, scores)) = first {
                    result.versus_first = Some(PromptVersus {
                        response_rate: proportion_difference(
                            result.answered,
                            result.shown,
                            answered,
                            shown,
                        ),
                        mean_score: welch_difference(arm.scores, scores),
                    });
                }
                if p.kind.is_none() {
                    p.kind = arm.kind;
                }
                p.variants.push(result);
            }
            None => {
                first = Some((result.answered, result.shown, arm.scores));
                out.push(PromptResult {
                    prompt_id: prompt,
                    kind: arm.kind,
                    variants: vec![result],
                });
            }
        }
    }
    Ok(out)
}
