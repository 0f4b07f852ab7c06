//! Each prompt's results per A/B variant: shown, dismissed, answered, response rate and mean
//! score, each variant against the first with the 95 % interval, said plainly.

use leptos::prelude::*;

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
                            .map(|c| compared(c.response_rate.as_ref(), signed_points, words(t)));
                        let score_vs = versus
                            .as_ref()
                            .map(|c| compared(c.mean_score.as_ref(), signed_score, words(t)));
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
