//! The CSAT answer: 1 to 5, each step named ("5, Very satisfied").

use leptos::prelude::*;

use super::radio_group::{radio_group, Item};
use crate::i18n::Strings;

pub fn csat(s: &'static Strings, selected: RwSignal<Option<usize>>) -> impl IntoView {
    let items = s
        .csat
        .iter()
        .zip(1u8..)
        .map(|(name, n)| {
            // The visible number leads the name, so speaking it selects the step.
            let mut label = n.to_string();
            label.push_str(", ");
            label.push_str(name);
            Item {
                text: n.to_string(),
                label: Some(label),
            }
        })
        .collect();
    view! {
        {radio_group(items, "scale a", 1, true, s.rtl, selected)}
        <div class="ends a" id="ends">
            <span>{s.csat[0]}</span>
            <span>{s.csat[4]}</span>
        </div>
    }
}
