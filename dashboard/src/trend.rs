//! The trend: one metric per day (per hour for a one-day range), picked from the list, with
//! the previous period drawn behind it. Hovering or focusing a bar shows its exact values;
//! the labels are thinned so that they never overlap, whatever the range.

use leptos::prelude::*;
use rapport_core::report::Metrics;

use crate::app::Data;
use crate::format::{self, along, pct, secs};
use crate::i18n::{Lang, Texts};
use crate::query::Query;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Metric {
    Visitors,
    Pageviews,
    Engaged,
    Bounce,
    Engagement,
    Nps,
    Csat,
}

impl Metric {
    const ALL: [Metric; 7] = [
        Metric::Visitors,
        Metric::Pageviews,
        Metric::Engaged,
        Metric::Bounce,
        Metric::Engagement,
        Metric::Nps,
        Metric::Csat,
    ];

    fn key(self) -> &'static str {
        match self {
            Metric::Visitors => "visitors",
            Metric::Pageviews => "pageviews",
            Metric::Engaged => "avg_session_engaged_ms",
            Metric::Bounce => "bounce_rate",
            Metric::Engagement => "engagement_rate",
            Metric::Nps => "nps_over_time",
            Metric::Csat => "csat_average",
        }
    }

    fn label(self, t: &Texts) -> &'static str {
        match self {
            Metric::Visitors => t.visitors,
            Metric::Pageviews => t.pageviews,
            Metric::Engaged => t.engaged,
            Metric::Bounce => t.bounce,
            Metric::Engagement => t.engagement,
            Metric::Nps => t.nps,
            Metric::Csat => t.csat,
        }
    }

    fn value(self, m: &Metrics) -> Option<f64> {
        match self {
            Metric::Visitors => Some(m.visitors as f64),
            Metric::Pageviews => Some(m.pageviews as f64),
            Metric::Engaged => m.avg_session_engaged_ms,
            Metric::Bounce => m.bounce_rate,
            Metric::Engagement => m.engagement_rate,
            Metric::Nps => m.feedback.nps,
            Metric::Csat => m.feedback.csat_average,
        }
    }

    fn show(self, l: Lang, v: Option<f64>) -> String {
        match self {
            Metric::Visitors | Metric::Pageviews | Metric::Nps => format::fixed(l, v, 0),
            Metric::Engaged => secs(l, v),
            Metric::Bounce | Metric::Engagement => pct(l, v),
            Metric::Csat => {
                v.map_or_else(format::dash, |v| format!("{} / 5", format::num(l, v, 2)))
            }
        }
    }
}

const W: f64 = 1000.0;
const H: f64 = 230.0;
const LEFT: f64 = 10.0;
const BASE: f64 = 195.0;
const TALL: f64 = 170.0;

#[component]
pub fn Trend(
    data: RwSignal<Data>,
    query: RwSignal<Query>,
    lang: Memo<Lang>,
    #[prop(into)] on_show: Callback<Query>,
) -> impl IntoView {
    let metric = RwSignal::new(Metric::Visitors);
    let compare = Memo::new(move |_| query.get().compare);
    let hovered = RwSignal::new(None::<usize>);
    let texts = move || lang.get().texts();

    // (date or hour, value, previous value) per bar: hours for a one-day range.
    let series = Memo::new(move |_| {
        let m = metric.get();
        data.with(|d| {
            let Some(s) = &d.stats else { return Vec::new() };
            let previous = d.previous.as_ref();
            let rows: Vec<(String, &Metrics)> = if s.hours.is_empty() {
                s.days
                    .iter()
                    .map(|x| (x.date.clone(), &x.metrics))
                    .collect()
            } else {
                s.hours
                    .iter()
                    .map(|x| (x.hour.clone(), &x.metrics))
                    .collect()
            };
            let before: Vec<&Metrics> = match previous {
                Some(p) if s.hours.is_empty() => p.days.iter().map(|x| &x.metrics).collect(),
                Some(p) => p.hours.iter().map(|x| &x.metrics).collect(),
                None => Vec::new(),
            };
            rows.into_iter()
                .enumerate()
                .map(|(i, (at, metrics))| {
                    let prev = before.get(i).and_then(|p| m.value(p));
                    (at, m.value(metrics), prev)
                })
                .collect::<Vec<_>>()
        })
    });

    let chart = move || {
        let m = metric.get();
        let l = lang.get();
        let rows = series.get();
        let n = rows.len().max(1);
        let top = rows
            .iter()
            .flat_map(|(_, v, p)| [*v, if compare.get() { *p } else { None }])
            .flatten()
            .fold(
                match m {
                    Metric::Bounce | Metric::Engagement | Metric::Nps => 100.0,
                    Metric::Csat => 5.0,
                    _ => 1.0,
                },
                f64::max,
            );
        // NPS runs from −100: its bars stand on a zero line in the middle.
        let low = if m == Metric::Nps { -100.0 } else { 0.0 };
        let slot = (W - 2.0 * LEFT) / n as f64;
        let y = move |v: f64| BASE - (v - low) / (top - low) * TALL;
        let zero = y(0.0);
        let bars = rows
            .iter()
            .enumerate()
            .map(|(i, (date, v, _))| {
                let value = v.unwrap_or(0.0);
                let (top_edge, h) = (y(value).min(zero), (y(value) - zero).abs());
                let label = format!("{}: {}", format::when(l, date, true), m.show(l, *v));
                view! {
                    <rect
                        x=along(l, W, LEFT + (i as f64 + 0.5) * slot) - slot * 0.35
                        y=top_edge
                        width=slot * 0.7
                        height=h
                        data-value=value.to_string()
                        class:hot=move || hovered.get() == Some(i)
                        on:mouseenter=move |_| hovered.set(Some(i))
                        on:mouseleave=move |_| hovered.set(None)
                    >
                        <title>{label}</title>
                    </rect>
                }
            })
            .collect_view();
        let previous = compare.get().then(|| {
            let points: Vec<String> = rows
                .iter()
                .enumerate()
                .filter_map(|(i, (_, _, p))| {
                    p.map(|p| {
                        format!(
                            "{:.1},{:.1}",
                            along(l, W, LEFT + (i as f64 + 0.5) * slot),
                            y(p)
                        )
                    })
                })
                .collect();
            (points.len() > 1)
                .then(|| view! { <polyline class="previous" points=points.join(" ") /> })
        });
        // On a phone the labels are drawn larger (style.css), so fewer of them fit.
        let narrow = window()
            .inner_width()
            .ok()
            .and_then(|w| w.as_f64())
            .is_some_and(|w| w < 640.0);
        let room = match (narrow, rows.len() > 40) {
            (true, _) => 4,
            (false, true) => 7,
            (false, false) => 10,
        };
        let ticks = format::ticks(rows.len(), room)
            .into_iter()
            .map(|i| {
                let date = format::when(l, &rows[i].0, false);
                view! {
                    <text x=along(l, W, LEFT + (i as f64 + 0.5) * slot) y=H - 12.0 text-anchor="middle" class="tick big">
                        {date}
                    </text>
                }
            })
            .collect_view();
        // One tab stop for the chart; the arrow keys, Home and End move between days.
        let count = rows.len();
        let keys = move |ev: leptos::ev::KeyboardEvent| {
            let last = count.saturating_sub(1);
            let at = hovered.get_untracked();
            // Right is later, or earlier where time runs right to left.
            let key = match (ev.key().as_str(), l.rtl()) {
                ("ArrowRight", true) => "ArrowLeft".to_string(),
                ("ArrowLeft", true) => "ArrowRight".to_string(),
                (k, _) => k.to_string(),
            };
            let next = match key.as_str() {
                "ArrowRight" | "ArrowUp" => Some(at.map_or(0, |i| (i + 1).min(last))),
                "ArrowLeft" | "ArrowDown" => Some(at.map_or(last, |i| i.saturating_sub(1))),
                "Home" => Some(0),
                "End" => Some(last),
                _ => None,
            };
            if let Some(i) = next.filter(|_| count > 0) {
                ev.prevent_default();
                hovered.set(Some(i));
            }
        };
        view! {
            <svg
                tabindex="0"
                on:keydown=keys
                on:focus=move |_| {
                    if hovered.get_untracked().is_none() && count > 0 {
                        hovered.set(Some(count - 1));
                    }
                }
                on:blur=move |_| hovered.set(None)
                id=format!("chart-{}", m.key())
                viewBox=format!("0 0 {W} {H}")
                role="img"
                aria-label=move || metric.get().label(texts())
            >
                <line x1=LEFT y1=zero x2=W - LEFT y2=zero class="axis" />
                {previous}
                {bars}
                {ticks}
            </svg>
        }
    };

    // The exact values of the day under the pointer or focus, else of the whole range.
    let readout = move || {
        let m = metric.get();
        let l = lang.get();
        let rows = series.get();
        match hovered.get().and_then(|i| rows.get(i)) {
            Some((date, v, p)) => {
                let before = if compare.get() {
                    format!(" ({}: {})", texts().previous_period, m.show(l, *p))
                } else {
                    String::new()
                };
                format!("{}: {}{before}", format::when(l, date, true), m.show(l, *v))
            }
            None => String::new(),
        }
    };

    view! {
        <figure class="trend">
            <figcaption>
                <label>
                    {move || texts().trend}
                    " "
                    <select
                        id="trend-metric"
                        aria-label=move || texts().metric
                        on:change=move |ev| {
                            let key = event_target_value(&ev);
                            if let Some(m) = Metric::ALL.into_iter().find(|m| m.key() == key) {
                                metric.set(m);
                            }
                        }
                    >
                        {Metric::ALL
                            .into_iter()
                            .map(|m| {
                                view! {
                                    <option value=m.key() selected=move || metric.get() == m>
                                        {move || m.label(texts())}
                                    </option>
                                }
                            })
                            .collect_view()}
                    </select>
                </label>
                <label class="compare">
                    <input
                        type="checkbox"
                        id="compare"
                        prop:checked=move || compare.get()
                        on:change=move |ev| {
                            let mut q = query.get_untracked();
                            q.compare = event_target_checked(&ev);
                            on_show.run(q);
                        }
                    />
                    {move || texts().compare}
                </label>
            </figcaption>
            {chart}
            <p class="readout" aria-live="polite">{readout}</p>
        </figure>
    }
}
