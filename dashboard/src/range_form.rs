//! The site (one of those the token reads: choosing one shows it at once), date range,
//! conversion goal: submitting puts them in the URL and reads again.

use leptos::html::Input;
use leptos::prelude::*;

use crate::api::ReadableSite;
use crate::i18n::Lang;
use crate::query::Query;

#[component]
pub fn RangeForm(
    query: RwSignal<Query>,
    sites: RwSignal<Option<Vec<ReadableSite>>>,
    lang: Memo<Lang>,
    #[prop(into)] on_show: Callback<Query>,
) -> impl IntoView {
    let (from, to, goal) = (
        NodeRef::<Input>::new(),
        NodeRef::<Input>::new(),
        NodeRef::<Input>::new(),
    );
    let texts = move || lang.get().texts();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let value = |r: NodeRef<Input>| r.get().map(|i| i.value()).unwrap_or_default();
        let mut q = query.get_untracked();
        q.from = value(from);
        q.to = value(to);
        q.goal = value(goal);
        on_show.run(q);
    };
    view! {
        <form id="range" on:submit=submit>
            <label>
                {move || texts().site}
                <select
                    id="site"
                    name="site"
                    on:change=move |ev| {
                        let mut q = query.get_untracked();
                        q.site = event_target_value(&ev);
                        on_show.run(q);
                    }
                >
                    {move || {
                        let current = query.get().site;
                        // Until the list is read, the URL's site.
                        let ids = sites
                            .get()
                            .map(|list| list.into_iter().map(|s| s.id).collect())
                            .unwrap_or_else(|| vec![current.clone()]);
                        ids.into_iter()
                            .map(|id| {
                                let selected = id == current;
                                let label = id.clone();
                                view! { <option value=id selected=selected>{label}</option> }
                            })
                            .collect_view()
                    }}
                </select>
            </label>
            <label>
                {move || texts().from}
                <input id="from" name="from" type="date" node_ref=from prop:value=move || query.get().from />
            </label>
            <label>
                {move || texts().to}
                <input id="to" name="to" type="date" node_ref=to prop:value=move || query.get().to />
            </label>
            <label>
                {move || texts().goal}
                <input
                    id="goal"
                    name="goal"
                    size="12"
                    pattern="[a-z0-9_.\\-]{1,64}"
                    node_ref=goal
                    prop:value=move || query.get().goal
                />
            </label>
            <button type="submit">{move || texts().show}</button>
        </form>
    }
}
