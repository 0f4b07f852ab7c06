//! The referral funnel and the points ledger, in total and per day. A program without
//! activity in the range says how to start it, rather than drawing zero bars.

use leptos::prelude::*;
use rapport_core::report::{PointsDay, ProgramTotals};

use crate::app::Data;
use crate::bars::bar_chart;
use crate::i18n::{Lang, Texts};

type Figure = (
    &'static str,
    fn(&Texts) -> &'static str,
    fn(&ProgramTotals) -> u64,
);

static FIGURES: [Figure; 9] = [
    (
        "referral.links_shared",
        |t| t.links_shared,
        |p| p.referral.links_shared,
    ),
    (
        "referral.referred_visitors",
        |t| t.referred_visitors,
        |p| p.referral.referred_visitors,
    ),
    (
        "referral.orders",
        |t| t.referred_orders,
        |p| p.referral.orders,
    ),
    (
        "referral.earned",
        |t| t.rewards_earned,
        |p| p.referral.earned,
    ),
    (
        "referral.pending",
        |t| t.rewards_pending,
        |p| p.referral.pending,
    ),
    (
        "referral.refused",
        |t| t.refused,
        |p| p.referral.cancelled + p.referral.rejected,
    ),
    ("points.issued", |t| t.points_issued, |p| p.points.issued),
    (
        "points.redeemed",
        |t| t.points_redeemed,
        |p| p.points.redeemed,
    ),
    (
        "points.redemptions",
        |t| t.redemptions,
        |p| p.points.redemptions,
    ),
];

#[component]
pub fn Programs(data: RwSignal<Data>, lang: Memo<Lang>) -> impl IntoView {
    let texts = move || lang.get().texts();
    let programs = move || data.with(|d| d.stats.as_ref().map(|s| s.programs.clone()));
    let cards = FIGURES
        .iter()
        .map(|(key, label, value)| {
            let shown =
                move || crate::format::count(lang.get(), programs().map(|p| value(&p) as f64));
            view! {
                <div class="card">
                    {move || label(texts())}
                    <b data-program=*key>{shown}</b>
                </div>
            }
        })
        .collect_view();
    let funnel = move || {
        let t = texts();
        let p = programs().unwrap_or_default();
        let r = &p.referral;
        let values = [r.links_shared, r.referred_visitors, r.orders, r.earned];
        if values.iter().sum::<u64>() + r.pending + r.cancelled + r.rejected == 0 {
            return view! { <p class="empty">{t.no_referrals}</p> }.into_any();
        }
        let labels = t.funnel_steps.iter().map(|s| s.to_string()).collect();
        bar_chart(
            lang.get(),
            "chart-funnel",
            t.funnel_title,
            labels,
            values.iter().map(|&v| v as f64).collect(),
            "funnel",
            None,
        )
        .into_any()
    };
    let points = move || {
        let t = texts();
        let p = programs().unwrap_or_default().points;
        let values = [p.issued, p.redeemed, p.clawed_back];
        if values.iter().sum::<u64>() == 0 {
            return view! { <p class="empty">{t.no_points}</p> }.into_any();
        }
        let labels = t.points_steps.iter().map(|s| s.to_string()).collect();
        bar_chart(
            lang.get(),
            "chart-points",
            t.points_title,
            labels,
            values.iter().map(|&v| v as f64).collect(),
            "points",
            None,
        )
        .into_any()
    };
    let over_time = move || {
        let t = texts();
        let days = programs().map(|p| p.points_days).unwrap_or_default();
        let any = days
            .iter()
            .any(|d| d.issued + d.redeemed + d.clawed_back > 0);
        any.then(|| {
            view! {
                <figure class="span">
                    <figcaption>{t.points_over_time}</figcaption>
                    {points_by_day(lang.get(), t, &days)}
                </figure>
            }
        })
    };
    view! {
        <h2>{move || texts().programs}</h2>
        <section class="cards" aria-label=move || texts().programs>
            {cards}
        </section>
        <section class="charts">
            <figure>
                <figcaption>{move || texts().funnel_title}</figcaption>
                {funnel}
            </figure>
            <figure>
                <figcaption>{move || texts().points_title}</figcaption>
                {points}
            </figure>
            {over_time}
        </section>
    }
}

/// Points issued, redeemed and taken back per day: one line each, with a legend and thinned
/// date labels; time runs right to left in Arabic and Hebrew.
fn points_by_day(lang: Lang, t: &'static Texts, days: &[PointsDay]) -> impl IntoView {
    const W: f64 = 600.0;
    const BASE: f64 = 130.0;
    const TALL: f64 = 110.0;
    let series: [(&str, Vec<u64>); 3] = [
        ("issued", days.iter().map(|d| d.issued).collect()),
        ("redeemed", days.iter().map(|d| d.redeemed).collect()),
        ("clawed_back", days.iter().map(|d| d.clawed_back).collect()),
    ];
    let top = series
        .iter()
        .flat_map(|(_, v)| v.iter().copied())
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let n = days.len().max(1);
    let slot = (W - 20.0) / n as f64;
    let x = move |i: usize| crate::format::along(lang, W, 10.0 + (i as f64 + 0.5) * slot);
    let lines = series
        .iter()
        .enumerate()
        .map(|(k, (key, values))| {
            let points: Vec<String> = values
                .iter()
                .enumerate()
                .map(|(i, v)| format!("{:.1},{:.1}", x(i), BASE - *v as f64 / top * TALL))
                .collect();
            let joined = values
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(",");
            view! {
                <polyline
                    class=format!("series s{k}")
                    data-series=*key
                    data-values=joined
                    points=points.join(" ")
                >
                    <title>{t.points_series[k]}</title>
                </polyline>
            }
        })
        .collect_view();
    let ticks = crate::format::ticks(days.len(), 6)
        .into_iter()
        .map(|i| {
            let label = crate::format::when(lang, &days[i].date, false);
            view! { <text x=x(i) y="148" text-anchor="middle" class="tick">{label}</text> }
        })
        .collect_view();
    let legend = t
        .points_series
        .iter()
        .enumerate()
        .map(|(k, name)| view! { <li class=format!("s{k}")>{*name}</li> })
        .collect_view();
    view! {
        <svg id="chart-points-days" viewBox=format!("0 0 {W} 155") role="img" aria-label=t.points_over_time>
            <line x1="10" y1=BASE x2=W - 10.0 y2=BASE class="axis" />
            {lines}
            {ticks}
        </svg>
        <ul class="legend-keys">{legend}</ul>
    }
}
