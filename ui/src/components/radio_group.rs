//! A group of radio buttons with one tab stop, shared by the NPS and CSAT scales and the
//! choice list: arrow keys move and check (mirrored right to left), Home and End jump to the
//! ends, a click checks.

use leptos::html::Div;
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{HtmlElement, KeyboardEvent};

use super::aria;

/// One radio: its visible text and, when it differs, its accessible name.
pub struct Item {
    pub text: String,
    pub label: Option<String>,
}

/// `class`: `scale a` or `list a`; `first`: the value of the first item (`data-v`);
/// `described`: the scale's ends (`#ends`) describe the group.
pub fn radio_group(
    items: Vec<Item>,
    class: &'static str,
    first: u8,
    described: bool,
    rtl: bool,
    selected: RwSignal<Option<usize>>,
) -> impl IntoView {
    let group = NodeRef::<Div>::new();
    let count = items.len();
    // Checks item `i` and moves focus to it.
    let pick = move |i: usize| {
        selected.set(Some(i));
        if let Some(item) = group
            .get_untracked()
            .and_then(|g| g.children().item(i as u32))
            .and_then(|e| e.dyn_into::<HtmlElement>().ok())
        {
            let _ = item.focus();
        }
    };
    let on_key = move |ev: KeyboardEvent| {
        let at = selected.get_untracked().unwrap_or(0) as i32;
        let (back, forth) = if rtl { (1, -1) } else { (-1, 1) };
        let to = match ev.key().as_str() {
            "ArrowRight" => at + forth,
            "ArrowLeft" => at + back,
            "ArrowDown" => at + 1,
            "ArrowUp" => at - 1,
            "Home" => 0,
            "End" => count as i32 - 1,
            _ => return,
        };
        ev.prevent_default();
        pick(to.rem_euclid(count.max(1) as i32) as usize);
    };
    let radios = items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            view! {
                <button
                    type="button"
                    role="radio"
                    data-i=i
                    data-v=first as usize + i
                    aria-label=item.label
                    aria-checked=move || aria(selected.get() == Some(i))
                    tabindex=move || {
                        let stop = selected.get().unwrap_or(0) == i;
                        if stop { "0" } else { "-1" }
                    }
                    on:click=move |_| pick(i)
                >
                    {item.text}
                </button>
            }
        })
        .collect_view();
    view! {
        <div
            role="radiogroup"
            aria-labelledby="q"
            aria-describedby=described.then_some("ends")
            class=class
            node_ref=group
            on:keydown=on_key
        >
            {radios}
        </div>
    }
}
