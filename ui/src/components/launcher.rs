//! The rewards launcher: a button at the page's start edge with the title and, for a
//! signed-in shopper, the balance; a gain ("+50 points") rises above it for a few seconds.
//! Its shadow root's live region (`role=status`) announces the gain.

use leptos::prelude::*;

use super::{aria, dir};
use crate::i18n::{fill, Panel, Strings};

/// What the launcher shows.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Launch {
    /// The formatted balance; empty for an anonymous shopper.
    pub balance: String,
    /// The formatted gain (`+50`); empty for none.
    pub gain: String,
    /// Whether the panel is open.
    pub expanded: bool,
    /// What the live region says.
    pub said: String,
}

pub fn launcher(
    s: &'static Strings,
    p: &'static Panel,
    state: Signal<Launch>,
    open: impl Fn() + 'static,
) -> impl IntoView {
    let balance = Memo::new(move |_| state.with(|l| l.balance.clone()));
    let gain = Memo::new(move |_| state.with(|l| l.gain.clone()));
    let badge = move || {
        let b = balance.get();
        (!b.is_empty()).then(|| {
            // Seen: the number; heard: "500 points".
            let heard = fill(p.points, &[("n", &b)]);
            view! {
                <span class="badge" aria-hidden="true">{b}</span>
                <span class="sr">{heard}</span>
            }
        })
    };
    view! {
        <div class="w" dir=dir(s.rtl) lang=s.lang>
            <button
                type="button"
                class="launch"
                aria-haspopup="dialog"
                aria-expanded=move || aria(state.with(|l| l.expanded))
                on:click=move |_| open()
            >
                <span aria-hidden="true">"★ "</span>
                <span>{p.title}</span>
                {badge}
            </button>
            <span
                class="gain"
                aria-hidden="true"
                data-on=move || (!gain.get().is_empty()).then_some("")
            >
                {move || {
                    let g = gain.get();
                    if g.is_empty() { String::new() } else { fill(p.points, &[("n", &g)]) }
                }}
            </span>
        </div>
        <p role="status" lang=s.lang class="sr">{move || state.with(|l| l.said.clone())}</p>
    }
}
