//! Asks for an owner's token (or the admin's) when the site data needs one: the sign-in.

use leptos::html::Input;
use leptos::prelude::*;

use crate::i18n::Lang;

#[component]
pub fn TokenForm(
    locked: RwSignal<bool>,
    lang: Memo<Lang>,
    #[prop(into)] on_unlock: Callback<String>,
) -> impl IntoView {
    let input = NodeRef::<Input>::new();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if let Some(i) = input.get() {
            on_unlock.run(i.value());
        }
    };
    view! {
        <form id="token-form" hidden=move || !locked.get() on:submit=submit>
            <label>
                {move || lang.get().texts().token}
                <input id="token" type="password" autocomplete="off" required pattern="[!-~]{16,}" node_ref=input />
            </label>
            <button type="submit">{move || lang.get().texts().unlock}</button>
        </form>
    }
}
