//! The choice answer: one of the site's 2-10 choices.

use leptos::prelude::*;

use super::radio_group::{radio_group, Item};

pub fn choice(choices: Vec<String>, rtl: bool, selected: RwSignal<Option<usize>>) -> impl IntoView {
    let items = choices
        .into_iter()
        .map(|text| Item { text, label: None })
        .collect();
    radio_group(items, "list a", 0, false, rtl, selected)
}
