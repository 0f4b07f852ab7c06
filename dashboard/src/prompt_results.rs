//! Each prompt's results per A/B variant: shown, dismissed, answered, response rate, mean
//! score and how the answers spread (NPS groups and scores, CSAT scores, thumbs share,
//! choice counts), each variant against the first with the 95 % interval, said plainly.

use leptos::prelude::*;
use rapport_core::report::PromptVariant;

use crate::app::Data;
use crate::format::{signed_points, signed_score};
use crate::i18n::{Lang, Texts};
use crate::versus::{compared, Verdicts};

/// What a variant's comparison with the first says.
fn words(t: &'static Texts) -> Verdicts {
    Verdicts {
        higher: t.versus_first[0],
        lower: t.versus_first[1],
        open: t.not_yet,
        too_few: t.too_few,
        too_few_verdict: "",
    }
}

/// How a variant's answers spread: scores in scale order, thumbs as shares, choices most
/// first; NPS also by group.
fn spread(l: Lang, t: &'static Texts, kind: Option<&str>, v: &PromptVariant) -> impl IntoView {
    let total: u64 = v.answers.iter().map(|a| a.count).sum();
    let mut answers = v.answers.clone();
    if matches!(kind, Some("nps" | "csat")) {
        answers.sort_by_key(|a| std::cmp::Reverse(a.answer.parse::<i64>().unwrap_or(-1)));
    }
    let items = answers
        .into_iter()
        .map(|a| {
            let label = match (kind, a.answer.as_str()) {
                (Some("thumbs"), "1") => t.yes_no[0].to_string(),
                (Some("thumbs"), "0") => t.yes_no[1].to_string(),
                _ => a.answer.clone(),
            };
            let share = if kind == Some("thumbs") && total > 0 {
                format!(
                    " ({})",
                    crate::format::pct(l, Some(a.count as f64 * 100.0 / total as f64))
                )
            } else {
                String::new()
            };
            view! {
                <li data-answer=a.answer.clone()>
                    <span>{label}</span>
                    " "
                    <b>{crate::format::count(l, Some(a.count as f64))}</b>
                    {share}
                </li>
            }
        })
        .collect_view();
    let groups = (kind == Some("nps")).then(|| {
        view! {
            <p class="groups">
                {format!(
                    "{} {} · {} {} · {} {}",
                    t.nps_groups[0], v.promoters, t.nps_groups[1], v.passives, t.nps_groups[2], v.detractors,
                )}
            </p>
        }
    });
    view! {
        {groups}
        <ul class="spread">{items}</ul>
    }
}

#[component]
pub fn PromptResults(data: RwSignal<Data>, lang: Memo<Lang>) -> impl IntoView {
    let texts = move || lang.get().texts();
    let prompts = move || {
        data.with(|d| {
            d.prompts
                .as_ref()
                .map(|p| p.prompts.clone())
                .unwrap_or_default()
        })
    };
    let tables = move || {
        let l = lang.get();
        let t = texts();
        let prompts = prompts();
        if prompts.is_empty() {
            return view! { <p class="empty">{t.no_prompts}</p> }.into_any();
        }
        prompts
            .into_iter()
            .map(|p| {
                let heads = t
                    .prompt_columns
                    .iter()
                    .map(|c| view! { <th>{*c}</th> })
                    .collect_view();
                let caption = match &p.kind {
                    Some(k) => format!("{} ({k})", p.prompt_id),
                    None => p.prompt_id.clone(),
                };
                let rows = p
                    .variants
                    .into_iter()
                    .enumerate()
                    .map(|(i, v)| {
                        let name = if i == 0 {
                            format!("{} {}", v.variant, t.first)
                        } else {
                            v.variant.clone()
                        };
                        let rate = crate::format::pct(l, v.response_rate);
                        let score = crate::format::fixed(l, v.mean_score, 2);
                        let versus = v.versus_first.clone();
                        let answers = spread(l, t, p.kind.as_deref(), &v);
                        let rate_vs = versus.as_ref().map(|c| {
                            compared(
                                c.response_rate.as_ref(),
                                move |x| signed_points(l, x),
                                words(t),
                            )
                        });
                        let score_vs = versus.as_ref().map(|c| {
                            compared(c.mean_score.as_ref(), move |x| signed_score(l, x), words(t))
                        });
                        view! {
                            <tr data-variant=v.variant.clone()>
                                <td>{name}</td>
                                <td class="num" data-measure="shown">{v.shown}</td>
                                <td class="num" data-measure="dismissed">{v.dismissed}</td>
                                <td class="num" data-measure="answered">{v.answered}</td>
                                <td data-measure="response_rate">{rate}{rate_vs}</td>
                                <td data-measure="mean_score">{score}{score_vs}</td>
                                <td data-measure="answers">{answers}</td>
                            </tr>
                        }
                    })
                    .collect_view();
                view! {
                    <div class="scroll">
                        <table data-prompt=p.prompt_id.clone()>
                            <caption>{caption}</caption>
                            <tr>
                                <th>{t.variant}</th>
                                {heads}
                                <th>{t.answers_given}</th>
                            </tr>
                            {rows}
                        </table>
                    </div>
                }
            })
            .collect_view()
            .into_any()
    };
    // One CSV of every prompt and variant, as the API counts them.
    let export = move |_| {
        let prompts = prompts();
        let mut table = vec![[
            "prompt_id",
            "kind",
            "variant",
            "shown",
            "dismissed",
            "answered",
            "response_rate",
            "mean_score",
            "promoters",
            "passives",
            "detractors",
            "answers",
        ]
        .map(String::from)
        .to_vec()];
        let opt = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
        for p in prompts {
            for v in p.variants {
                let answers: Vec<String> = v
                    .answers
                    .iter()
                    .map(|a| format!("{}={}", a.answer, a.count))
                    .collect();
                table.push(vec![
                    p.prompt_id.clone(),
                    p.kind.clone().unwrap_or_default(),
                    v.variant,
                    v.shown.to_string(),
                    v.dismissed.to_string(),
                    v.answered.to_string(),
                    opt(v.response_rate),
                    opt(v.mean_score),
                    v.promoters.to_string(),
                    v.passives.to_string(),
                    v.detractors.to_string(),
                    answers.join("; "),
                ]);
            }
        }
        crate::csv::download("prompts.csv", &table);
    };
    view! {
        <div class="section-head">
            <h2>{move || texts().prompts}</h2>
            <button type="button" class="quiet" id="prompts-csv" on:click=export>
                {move || texts().export}
            </button>
        </div>
        <p class="legend">{move || texts().prompts_intro}</p>
        <div id="prompts">{tables}</div>
    }
}
