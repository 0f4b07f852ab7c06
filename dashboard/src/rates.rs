//! Bounce rate and engagement rate per day, as two lines on a 0–100 % scale; time runs
//! right to left in Arabic and Hebrew.

use leptos::prelude::*;

use crate::app::Data;
use crate::format;
use crate::i18n::Lang;

const W: f64 = 320.0;
const BASE: f64 = 125.0;

#[component]
pub fn Rates(data: RwSignal<Data>, lang: Memo<Lang>) -> impl IntoView {
    let texts = move || lang.get().texts();
    let chart = move || {
        let l = lang.get();
        data.with(|d| {
            let days = d.stats.as_ref().map(|s| s.days.clone()).unwrap_or_default();
            let step = if days.len() > 1 { 300.0 / (days.len() - 1) as f64 } else { 0.0 };
            let line = |values: Vec<Option<f64>>, class: &'static str| {
                let points: Vec<(f64, f64, f64)> = values
                    .iter()
                    .enumerate()
                    .filter_map(|(i, v)| v.map(|v| (format::along(l, W, 10.0 + i as f64 * step), BASE - v / 100.0 * 110.0, v)))
                    .collect();
                let path = (points.len() > 1).then(|| {
                    let p: Vec<String> = points.iter().map(|(x, y, _)| format!("{x:.1},{y:.1}")).collect();
                    view! { <polyline class=class points=p.join(" ") /> }
                });
                let dots = points
                    .into_iter()
                    .map(|(x, y, v)| view! { <circle class=class cx=x cy=y r="2.5" data-value=v.to_string()><title>{format::pct(l, Some(v))}</title></circle> })
                    .collect_view();
                view! { {path} {dots} }
            };
            let bounce = line(days.iter().map(|d| d.metrics.bounce_rate).collect(), "bounce");
            let engaged = line(days.iter().map(|d| d.metrics.engagement_rate).collect(), "engaged");
            let ticks = format::ticks(days.len(), 5)
                .into_iter()
                .map(|i| {
                    let label = format::when(l, &days[i].date, false);
                    // The end labels stay inside the chart.
                    let anchor = if i == 0 { "start" } else if i + 1 == days.len() { "end" } else { "middle" };
                    view! { <text x=format::along(l, W, 10.0 + i as f64 * step) y="142" text-anchor=anchor class="tick">{label}</text> }
                })
                .collect_view();
            view! {
                <line x1="10" y1=BASE x2="310" y2=BASE class="axis" />
                <text x="310" y="10" text-anchor="end" class="tick">"100 %"</text>
                {bounce}
                {engaged}
                {ticks}
            }
        })
    };
    view! {
        <figure>
            <figcaption>{move || texts().rates_title}</figcaption>
            <svg id="chart-rates" viewBox=format!("0 0 {W} 150") role="img" aria-label=move || texts().rates_title>
                {chart}
            </svg>
            <div class="legend">
                <span class="bounce">{move || texts().bounce}</span>
                " "
                <span class="engaged">{move || texts().engagement}</span>
            </div>
        </figure>
    }
}
