//! Bar charts: scroll reach, NPS answers by score, and the charts of the programs. Each bar
//! carries its value (`data-value`) and a title with its label.

use leptos::prelude::*;

use crate::app::Data;
use crate::format::{along, num};
use crate::i18n::Lang;

/// Bars with a label under each and the value above (when there are few), scaled to `max`
/// or to the largest value.
pub fn bar_chart(
    lang: Lang,
    id: &'static str,
    aria: &'static str,
    labels: Vec<String>,
    values: Vec<f64>,
    class: &'static str,
    max: Option<f64>,
) -> impl IntoView {
    let top = max.unwrap_or_else(|| values.iter().copied().fold(1.0, f64::max));
    let w = 300.0 / labels.len().max(1) as f64;
    let few = labels.len() <= 12;
    let bars = values
        .iter()
        .zip(labels)
        .enumerate()
        .map(|(i, (v, label))| {
            let h = v / top * 110.0;
            // The scale runs right to left in Arabic and Hebrew.
            let x = along(lang, 320.0, 10.0 + (i as f64 + 0.5) * w) - w / 2.0;
            let shown = num(lang, *v, 0);
            view! {
                <rect class=class x=x + w * 0.15 y=125.0 - h width=w * 0.7 height=h data-value=v.to_string()>
                    <title>{format!("{label}: {shown}")}</title>
                </rect>
                <text x=x + w / 2.0 y="140" text-anchor="middle" class="tick">{label}</text>
                {few.then(|| view! { <text x=x + w / 2.0 y=121.0 - h text-anchor="middle" class="tick">{shown}</text> })}
            }
        })
        .collect_view();
    view! {
        <svg id=id viewBox="0 0 320 150" role="img" aria-label=aria>
            {bars}
        </svg>
    }
}

#[component]
pub fn ScrollReach(data: RwSignal<Data>, lang: Memo<Lang>) -> impl IntoView {
    let texts = move || lang.get().texts();
    let chart = move || {
        let reach = data.with(|d| {
            d.stats
                .as_ref()
                .map(|s| s.total.scroll_reach.clone())
                .unwrap_or_default()
        });
        let labels = ["25%", "50%", "75%", "90%", "100%"]
            .map(String::from)
            .to_vec();
        bar_chart(
            lang.get(),
            "chart-scroll",
            texts().scroll_title,
            labels,
            reach,
            "scroll",
            Some(100.0),
        )
    };
    view! {
        <figure>
            <figcaption>{move || texts().scroll_title}</figcaption>
            {chart}
        </figure>
    }
}

/// NPS answers per score; without answers, how to get some.
#[component]
pub fn NpsScores(data: RwSignal<Data>, lang: Memo<Lang>) -> impl IntoView {
    let texts = move || lang.get().texts();
    let chart = move || {
        let scores = data.with(|d| {
            d.stats
                .as_ref()
                .map(|s| s.total.feedback.nps_distribution.clone())
                .unwrap_or_default()
        });
        if scores.iter().sum::<u64>() == 0 {
            return view! { <p class="empty">{texts().no_nps}</p> }.into_any();
        }
        let labels = (0..=10).map(|s| s.to_string()).collect();
        bar_chart(
            lang.get(),
            "chart-nps",
            texts().nps_title,
            labels,
            scores.iter().map(|&v| v as f64).collect(),
            "nps",
            None,
        )
        .into_any()
    };
    view! {
        <figure>
            <figcaption>{move || texts().nps_title}</figcaption>
            {chart}
        </figure>
    }
}
