//! The headline numbers, each with its change against the previous period of the same length.

use leptos::prelude::*;
use rapport_core::report::Metrics;

use crate::app::Data;
use crate::format::{count, dash, delta, fixed, num, pct, secs};
use crate::i18n::{Lang, Texts};

/// One card: its key (as in the API), its label, its value and whether a rise is good.
struct Card {
    key: &'static str,
    label: fn(&Texts) -> &'static str,
    value: fn(&Metrics) -> Option<f64>,
    show: fn(Lang, Option<f64>) -> String,
    /// Rates change in points; counts and times relatively.
    points: bool,
    higher_is_better: bool,
}

static CARDS: [Card; 10] = [
    Card {
        key: "visitors",
        label: |t| t.visitors,
        value: |m| Some(m.visitors as f64),
        show: count,
        points: false,
        higher_is_better: true,
    },
    Card {
        key: "returning_share",
        label: |t| t.returning,
        value: |m| m.returning_share,
        show: pct,
        points: true,
        higher_is_better: true,
    },
    Card {
        key: "sessions",
        label: |t| t.sessions,
        value: |m| Some(m.sessions as f64),
        show: count,
        points: false,
        higher_is_better: true,
    },
    Card {
        key: "avg_session_engaged_ms",
        label: |t| t.engaged,
        value: |m| m.avg_session_engaged_ms,
        show: secs,
        points: false,
        higher_is_better: true,
    },
    Card {
        key: "avg_session_span_ms",
        label: |t| t.session_duration,
        value: |m| m.avg_session_span_ms,
        show: secs,
        points: false,
        higher_is_better: true,
    },
    Card {
        key: "bounce_rate",
        label: |t| t.bounce,
        value: |m| m.bounce_rate,
        show: pct,
        points: true,
        higher_is_better: false,
    },
    Card {
        key: "pages_per_session",
        label: |t| t.pages_per_session,
        value: |m| m.pages_per_session,
        show: |l, v| fixed(l, v, 2),
        points: false,
        higher_is_better: true,
    },
    Card {
        key: "engagement_rate",
        label: |t| t.engagement,
        value: |m| m.engagement_rate,
        show: pct,
        points: true,
        higher_is_better: true,
    },
    Card {
        key: "nps",
        label: |t| t.nps,
        value: |m| m.feedback.nps,
        show: |l, v| fixed(l, v, 0),
        points: false,
        higher_is_better: true,
    },
    Card {
        key: "csat_average",
        label: |t| t.csat,
        value: |m| m.feedback.csat_average,
        show: |l, v| v.map_or_else(dash, |v| format!("{} / 5", num(l, v, 2))),
        points: false,
        higher_is_better: true,
    },
];

#[component]
pub fn Cards(data: RwSignal<Data>, lang: Memo<Lang>) -> impl IntoView {
    let cards = CARDS
        .iter()
        .map(|c| {
            let now = move || data.with(|d| d.stats.as_ref().and_then(|s| (c.value)(&s.total)));
            let before = move || data.with(|d| d.previous.as_ref().and_then(|s| (c.value)(&s.total)));
            // NPS moves in points; so do the rates.
            let points = c.points || c.key == "nps";
            let change = move || delta(lang.get(), now(), before(), points);
            view! {
                <div class="card">
                    {move || (c.label)(lang.get().texts())}
                    <b data-metric=c.key>{move || (c.show)(lang.get(), now())}</b>
                    {move || {
                        change()
                            .map(|(text, v)| {
                                let good = (v > 0.0) == c.higher_is_better;
                                let class = if v == 0.0 { "delta" } else if good { "delta good" } else { "delta bad" };
                                view! {
                                    <span class=class title=lang.get().texts().versus>
                                        {text}
                                    </span>
                                }
                            })
                    }}
                </div>
            }
        })
        .collect_view();
    view! {
        <section class="cards" aria-label=move || lang.get().texts().headline>
            {cards}
        </section>
    }
}
