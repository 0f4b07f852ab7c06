//! The site, date range, conversion goal: submitting puts them in the URL and reads again.

use leptos::html::Input;
use leptos::prelude::*;

use crate::i18n::Lang;
use crate::query::Query;

#[component]
pub fn RangeForm(
    query: RwSignal<Query>,
    lang: Memo<Lang>,
    #[prop(into)] on_show: Callback<Query>,
) -> impl IntoView {
    let (site, from, to, goal) = (
        NodeRef::<Input>::new(),
        NodeRef::<Input>::new(),
        NodeRef::<Input>::new(),
        NodeRef::<Input>::new(),
    );
    let texts = move || lang.get().texts();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let value = |r: NodeRef<Input>| r.get().map(|i| i.value()).unwrap_or_default();
        let mut q = query.get_untracked();
        q.site = value(site);
        q.from = value(from);
        q.to = value(to);
        q.goal = value(goal);
        on_show.run(q);
    };
    view! {
        <form id="range" on:submit=submit>
            <label>
                {move || texts().site}
                <input id="site" name="site" size="12" required node_ref=site prop:value=move || query.get().site />
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
