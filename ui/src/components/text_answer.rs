//! A free-text answer: the text prompt's (class `a`, shown at the question) or the NPS
//! follow-up's (class `f`, shown at the follow-up).

use leptos::prelude::*;

use crate::i18n::Strings;

pub fn text_answer(
    s: &'static Strings,
    class: &'static str,
    text: RwSignal<String>,
) -> impl IntoView {
    view! {
        <textarea
            class=class
            aria-labelledby="q"
            maxlength="1000"
            placeholder=s.answer
            on:input=move |ev| text.set(event_target_value(&ev))
        ></textarea>
    }
}
