//! The most viewed pages, cut to one line with the full path on hover and focus.

use leptos::prelude::*;

use crate::app::Data;
use crate::i18n::Lang;

#[component]
pub fn TopPages(data: RwSignal<Data>, lang: Memo<Lang>) -> impl IntoView {
    let texts = move || lang.get().texts();
    let rows = move || {
        data.with(|d| {
            d.stats
                .as_ref()
                .map(|s| s.top_pages.clone())
                .unwrap_or_default()
        })
    };
    let export = move |_| {
        let mut table = vec![vec!["path".to_string(), "pageviews".to_string()]];
        table.extend(
            rows()
                .into_iter()
                .map(|p| vec![p.path, p.pageviews.to_string()]),
        );
        crate::csv::download("top-pages.csv", &table);
    };
    view! {
        <div class="section-head">
            <h2>{move || texts().top_pages}</h2>
            <button type="button" class="quiet" on:click=export>{move || texts().export}</button>
        </div>
        <table class="fixed">
            <thead>
                <tr>
                    <th>{move || texts().page}</th>
                    <th class="num">{move || texts().pageviews}</th>
                </tr>
            </thead>
            <tbody id="pages">
                {move || {
                    rows()
                        .into_iter()
                        .map(|p| {
                            view! {
                                <tr>
                                    <td class="url" title=p.path.clone() tabindex="0">{p.path.clone()}</td>
                                    <td class="num">{p.pageviews}</td>
                                </tr>
                            }
                        })
                        .collect_view()
                }}
            </tbody>
        </table>
    }
}
