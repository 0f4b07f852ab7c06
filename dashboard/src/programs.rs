//! The referral funnel and the points ledger. A program without activity in the range says
//! how to start it, rather than drawing zero bars.

use leptos::prelude::*;
use rapport_core::report::ProgramTotals;

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
                move || programs().map_or_else(|| "–".to_string(), |p| value(&p).to_string());
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
            "chart-points",
            t.points_title,
            labels,
            values.iter().map(|&v| v as f64).collect(),
            "points",
            None,
        )
        .into_any()
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
        </section>
    }
}
