//! The side tab: a persistent "Feedback" button at the page's end edge that opens its prompt.

use leptos::prelude::*;

use super::dir;
use crate::i18n::Strings;

pub fn side_tab(s: &'static Strings, open: impl Fn() + 'static) -> impl IntoView {
    view! {
        <div class="w" dir=dir(s.rtl) lang=s.lang>
            <button type="button" class="tab" aria-haspopup="dialog" on:click=move |_| open()>
                {s.tab}
            </button>
        </div>
    }
}
