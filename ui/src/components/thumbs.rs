//! The thumbs answer: Yes (1) or No (0), each answering at once.

use leptos::prelude::*;

use crate::i18n::Strings;

pub fn thumbs(s: &'static Strings, answer: impl Fn(u8) + Clone + 'static) -> impl IntoView {
    let no = answer.clone();
    view! {
        <div class="row thumbs a">
            <button type="button" class="go t" data-v="1" on:click=move |_| answer(1)>{s.yes}</button>
            <button type="button" class="go t" data-v="0" on:click=move |_| no(0)>{s.no}</button>
        </div>
    }
}
