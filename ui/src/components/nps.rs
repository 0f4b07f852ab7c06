//! The NPS answer: 0 to 10, with the scale's ends spelled out.

use leptos::prelude::*;

use super::radio_group::{radio_group, Item};
use crate::i18n::Strings;

pub fn nps(s: &'static Strings, selected: RwSignal<Option<usize>>) -> impl IntoView {
    let items = (0..=10)
        .map(|n: u8| Item {
            text: n.to_string(),
            label: None,
        })
        .collect();
    view! {
        {radio_group(items, "scale a", 0, true, s.rtl, selected)}
        <div class="ends a" id="ends">
            <span>{s.nps_low}</span>
            <span>{s.nps_high}</span>
        </div>
    }
}
