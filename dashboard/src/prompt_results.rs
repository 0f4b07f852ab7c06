//! Each prompt's results per A/B variant: shown, dismissed, answered, response rate and mean
//! score, each variant against the first with the 95 % interval, said plainly.

use leptos::prelude::*;
use rapport_core::report::Interval;

use crate::app::Data;
use crate::experiments::signed;
use crate::i18n::{Lang, Texts};

/// The interval and its verdict, or "too few to compare".
fn compared(t: &'static Texts, i: &Option<Interval>, unit: &'static str) -> impl IntoView {
    let (text, class, verdict) = match i {
        Some(i) => {
            // Rates in points, scores in the score's own unit.
            let show = |v: f64| {
                if unit == "pts" {
                    signed(v, false)
                } else {
                    let sign = if v > 0.0 {
                        "+"
                    } else if v < 0.0 {
                        "−"
                    } else {
                        "±"
                    };
                    format!("{sign}{:.2}", v.abs())
                }
            };
            let (class, verdict) = if !i.excludes_zero {
                ("verdict open", t.not_yet)
            } else if i.difference > 0.0 {
                ("verdict up", t.versus_first[0])
            } else {
                ("verdict down", t.versus_first[1])
            };
            (
                format!(
                    "{} ({} … {})",
                    show(i.difference),
                    show(i.low),
                    show(i.high)
                ),
                class,
                verdict,
            )
        }
        None => (t.too_few.to_string(), "verdict open", ""),
    };
    view! {
        <span class="interval">{text}</span>
        <span class=class>{verdict}</span>
    }
}

#[component]
pub fn PromptResults(data: RwSignal<Data>, lang: Memo<Lang>) -> impl IntoView {
    let texts = move || lang.get().texts();
    let tables = move || {
        let t = texts();
        let prompts = data.with(|d| {
            d.prompts
                .as_ref()
                .map(|p| p.prompts.clone())
                .unwrap_or_default()
        });
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
                        let rate = crate::format::pct(v.response_rate);
                        let score = crate::format::fixed(v.mean_score, 2);
                        let versus = v.versus_first.clone();
                        let rate_vs = versus
                            .as_ref()
                            .map(|c| compared(t, &c.response_rate, "pts"));
                        let score_vs = versus.as_ref().map(|c| compared(t, &c.mean_score, "score"));
                        view! {
                            <tr data-variant=v.variant.clone()>
                                <td>{name}</td>
                                <td class="num" data-measure="shown">{v.shown}</td>
                                <td class="num" data-measure="dismissed">{v.dismissed}</td>
                                <td class="num" data-measure="answered">{v.answered}</td>
                                <td data-measure="response_rate">{rate}{rate_vs}</td>
                                <td data-measure="mean_score">{score}{score_vs}</td>
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
                            </tr>
                            {rows}
                        </table>
                    </div>
                }
            })
            .collect_view()
            .into_any()
    };
    view! {
        <h2>{move || texts().prompts}</h2>
        <p class="legend">{move || texts().prompts_intro}</p>
        <div id="prompts">{tables}</div>
    }
}
