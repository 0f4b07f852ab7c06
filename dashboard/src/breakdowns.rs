//! The range's visitors by one dimension: pages, entry and exit pages, referrers, UTM
//! source, medium and campaign, new or returning, referred, device class. The dimension is
//! part of the URL; each value is a button that filters the whole page to it.

use leptos::prelude::*;

use crate::app::Data;
use crate::format::count;
use crate::i18n::{Lang, Texts};
use crate::query::Query;

/// As the API names them; `Texts::dimensions` labels them in this order.
pub use rapport_core::report::DIMENSIONS;

/// A value as the owner reads it: the API's fixed words translated, nothing as "(none)".
pub fn shown(t: &Texts, value: &str) -> String {
    const WORDS: [&str; 8] = [
        "new",
        "returning",
        "referred",
        "not referred",
        "desktop",
        "mobile",
        "tablet",
        "unknown",
    ];
    if value.is_empty() {
        return t.values[8].to_string();
    }
    match WORDS.iter().position(|w| *w == value) {
        Some(i) => t.values[i].to_string(),
        None => value.to_string(),
    }
}

#[component]
pub fn Breakdowns(
    data: RwSignal<Data>,
    query: RwSignal<Query>,
    lang: Memo<Lang>,
    #[prop(into)] on_show: Callback<Query>,
) -> impl IntoView {
    let texts = move || lang.get().texts();
    let rows = move || {
        data.with(|d| {
            d.breakdown
                .as_ref()
                .map(|b| b.rows.clone())
                .unwrap_or_default()
        })
    };
    let export = move |_| {
        let by = query.get_untracked().by;
        let mut table = vec![vec![
            by.clone(),
            "visitors".to_string(),
            "pageviews".to_string(),
        ]];
        table.extend(
            rows()
                .into_iter()
                .map(|r| vec![r.value, r.visitors.to_string(), r.pageviews.to_string()]),
        );
        crate::csv::download(&format!("breakdown-{by}.csv"), &table);
    };
    let most = move || rows().iter().map(|r| r.visitors).max().unwrap_or(1).max(1);
    view! {
        <div class="section-head">
            <h2>{move || texts().breakdowns}</h2>
            <label class="inline">
                <select
                    id="breakdown"
                    aria-label=move || texts().breakdowns
                    on:change=move |ev| {
                        let mut q = query.get_untracked();
                        q.by = event_target_value(&ev);
                        on_show.run(q);
                    }
                >
                    {DIMENSIONS
                        .into_iter()
                        .enumerate()
                        .map(|(i, d)| {
                            view! {
                                <option value=d selected=move || query.get().by == d>
                                    {move || texts().dimensions[i]}
                                </option>
                            }
                        })
                        .collect_view()}
                </select>
            </label>
            <button type="button" class="quiet" on:click=export>{move || texts().export}</button>
        </div>
        <table class="fixed breakdown">
            <thead>
                <tr>
                    <th>{move || texts().value}</th>
                    <th class="bar">{move || texts().share}</th>
                    <th class="num">{move || texts().visitors}</th>
                    <th class="num">{move || texts().pageviews}</th>
                </tr>
            </thead>
            <tbody id="breakdown-rows">
                {move || {
                    let t = texts();
                    let l = lang.get();
                    let top = most();
                    rows()
                        .into_iter()
                        .map(|r| {
                            let label = shown(t, &r.value);
                            let width = format!("width: {:.1}%", r.visitors as f64 / top as f64 * 100.0);
                            let value = r.value.clone();
                            let pick = move |_| {
                                let q = query.get_untracked();
                                on_show.run(q.filtered(&q.by, &value));
                            };
                            view! {
                                <tr data-value=r.value.clone()>
                                    <td class="url">
                                        <button
                                            type="button"
                                            class="link"
                                            title=format!("{label} – {}", t.filter_by)
                                            on:click=pick
                                        >
                                            {label.clone()}
                                        </button>
                                    </td>
                                    <td class="bar"><span style=width></span></td>
                                    <td class="num">{count(l, Some(r.visitors as f64))}</td>
                                    <td class="num">{count(l, Some(r.pageviews as f64))}</td>
                                </tr>
                            }
                        })
                        .collect_view()
                }}
            </tbody>
        </table>
    }
}
