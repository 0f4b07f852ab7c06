//! The segment the page shows: one chip per filter, each with its own remove button, and a
//! way back to everyone. Filters come from clicking a breakdown's value and live in the URL.

use leptos::prelude::*;

use crate::breakdowns::{shown, DIMENSIONS};
use crate::i18n::Lang;
use crate::query::Query;

#[component]
pub fn Filters(
    query: RwSignal<Query>,
    lang: Memo<Lang>,
    #[prop(into)] on_show: Callback<Query>,
) -> impl IntoView {
    let texts = move || lang.get().texts();
    let chips = move || {
        let t = texts();
        query
            .get()
            .filters
            .into_iter()
            .map(|f| {
                let name = DIMENSIONS
                    .iter()
                    .position(|d| *d == f.dimension)
                    .map_or(f.dimension.as_str(), |i| t.dimensions[i])
                    .to_string();
                let value = shown(t, &f.value);
                let dimension = f.dimension.clone();
                let remove =
                    move |_| on_show.run(query.get_untracked().unfiltered(Some(&dimension)));
                view! {
                    <li class="chip" data-filter=f.dimension.clone()>
                        <span>{name}": "<b>{value.clone()}</b></span>
                        <button
                            type="button"
                            class="quiet"
                            aria-label=format!("{}: {} – {}", t.remove_filter, value, f.value)
                            title=t.remove_filter
                            on:click=remove
                        >
                            "×"
                        </button>
                    </li>
                }
            })
            .collect_view()
    };
    view! {
        <Show when=move || !query.get().filters.is_empty()>
            <section id="filters" class="filters" aria-label=move || texts().filtered>
                <span>{move || texts().filtered}</span>
                <ul>{chips}</ul>
                <button
                    type="button"
                    class="quiet"
                    id="show-all"
                    on:click=move |_| on_show.run(query.get_untracked().unfiltered(None))
                >
                    {move || texts().show_all}
                </button>
                <p class="legend">{move || texts().filter_scope}</p>
            </section>
        </Show>
    }
}
