//! The prompt card, written with leptos: question → optional follow-up → thank-you.
//!
//! leptos builds the card's tree and attaches its handlers. The card's state lives in the
//! DOM itself: the step in `data-step` (the stylesheet shows each step's parts), the answer
//! in the checked radio. The handlers change those attributes directly instead of going
//! through signals: the reactive system and one rendering routine per reactive binding
//! would cost more than the rest of the stage (measured in ARCHITECTURE.md).
//!
//! Every text from the site is a text node, never parsed as HTML. Ids are fixed because
//! each card lives in its own shadow root.

use js_sys::{Array, Function};
use leptos::prelude::*;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Element, Event, HtmlElement, HtmlTextAreaElement, KeyboardEvent, ShadowRoot};

use crate::i18n::Strings;

pub const NPS: u8 = 0;
pub const CSAT: u8 = 1;
pub const THUMBS: u8 = 2;
pub const TEXT: u8 = 3;
pub const CHOICE: u8 = 4;
pub const MODAL: u8 = 0;
pub const INLINE: u8 = 2;
/// No radio is checked.
const NONE: u8 = u8::MAX;
// Steps, as `data-step` holds them.
const ASK: &str = "0";
const FOLLOW_UP: &str = "1";
const THANKS: &str = "2";
// Outcomes reported to `done`.
const DISMISSED: u8 = 0;
const ANSWERED: u8 = 1;
const CLOSED: u8 = 2;
const NUMBERS: [&str; 11] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10"];

/// What one card asks, in the page's language.
pub struct Ask {
    pub kind: u8,
    pub display: u8,
    pub question: String,
    /// NPS follow-up by band: detractor, passive, promoter (empty for none).
    pub follow: Vec<String>,
    pub choices: Vec<String>,
    pub strings: &'static Strings,
    pub done: Function,
}

fn band(score: u8) -> usize {
    match score {
        0..=6 => 0,
        7..=8 => 1,
        _ => 2,
    }
}

fn element(target: Option<web_sys::EventTarget>) -> Option<Element> {
    target?.dyn_into::<Element>().ok()
}

/// The card an event happened in.
fn card_of(ev: &Event) -> Option<Element> {
    element(ev.target())?.closest(".card").ok()?
}

fn find(card: &Element, selector: &str) -> Option<Element> {
    card.query_selector(selector).ok()?
}

fn focus(card: &Element, selector: &str) {
    if let Some(el) = find(card, selector).and_then(|e| e.dyn_into::<HtmlElement>().ok()) {
        let _ = el.focus();
    }
}

fn step(card: &Element) -> String {
    card.get_attribute("data-step").unwrap_or_default()
}

/// The checked radio's value.
fn selected(card: &Element) -> u8 {
    find(card, "[aria-checked=true]")
        .and_then(|r| r.get_attribute("data-v"))
        .and_then(|v| v.parse().ok())
        .unwrap_or(NONE)
}

fn textarea(card: &Element) -> String {
    find(card, "textarea")
        .and_then(|t| t.dyn_into::<HtmlTextAreaElement>().ok())
        .map(|t| t.value().trim().to_string())
        .unwrap_or_default()
}

fn enable_send(card: &Element, on: bool) {
    if let Some(send) = find(card, ".go.s") {
        let _ = send.toggle_attribute_with_force("disabled", !on);
    }
}

/// Checks the radio at position `i` of `group`: the one tab stop, and the answer.
fn check(group: &Element, i: u32) {
    let items = group.children();
    for n in 0..items.length() {
        if let Some(item) = items.item(n) {
            let on = n == i;
            let _ = item.set_attribute("aria-checked", if on { "true" } else { "false" });
            let _ = item.set_attribute("tabindex", if on { "0" } else { "-1" });
            if on {
                if let Ok(item) = item.dyn_into::<HtmlElement>() {
                    let _ = item.focus();
                }
            }
        }
    }
    if let Some(card) = group.closest(".card").ok().flatten() {
        enable_send(&card, true);
    }
}

/// The card's visible controls, in order (radios off the roving tab stop excluded).
fn focusables(card: &Element) -> Vec<HtmlElement> {
    let Ok(list) = card.query_selector_all("button:not([disabled]):not([tabindex='-1']),textarea")
    else {
        return Vec::new();
    };
    (0..list.length())
        .filter_map(|i| list.item(i)?.dyn_into::<HtmlElement>().ok())
        .filter(|e| e.offset_parent().is_some())
        .collect()
}

/// Reports to the page's `done(outcome, score, text, choice)`.
fn report(done: &Function, outcome: u8, score: u8, text: &str, choice: u8) {
    let num = |v: u8| {
        if v == NONE {
            JsValue::UNDEFINED
        } else {
            JsValue::from(v)
        }
    };
    let args = Array::of4(&outcome.into(), &num(score), &text.into(), &num(choice));
    let _ = done.apply(&JsValue::NULL, &args);
}

/// Shows the thank-you, with focus on the close button.
fn thank(card: &Element, s: &Strings) {
    let _ = card.set_attribute("data-step", THANKS);
    if let Some(q) = find(card, ".q") {
        q.set_text_content(Some(s.thanks));
    }
    focus(card, ".x");
}

/// Closing (close button, Esc, backdrop): a dismissal before an answer; at the follow-up the
/// score was given, so it counts without the follow-up text.
fn close(card: &Element, done: &Function) {
    match step(card).as_str() {
        ASK => report(done, DISMISSED, NONE, "", NONE),
        FOLLOW_UP => {
            report(done, ANSWERED, selected(card), "", NONE);
            report(done, CLOSED, NONE, "", NONE);
        }
        _ => report(done, CLOSED, NONE, "", NONE),
    }
}

/// The card; the caller unmounts it after `done` reports the closing.
pub fn card(ask: Ask) -> impl IntoView {
    let Ask {
        kind,
        display,
        question,
        follow,
        choices,
        strings: s,
        done,
    } = ask;
    let modal = display == MODAL;
    let inline = display == INLINE;
    let radios = matches!(kind, NPS | CSAT | CHOICE);
    let scale = kind == NPS || kind == CSAT;

    let on_key = {
        let done = done.clone();
        move |ev: KeyboardEvent| {
            let Some(card) = element(ev.current_target()) else {
                return;
            };
            match ev.key().as_str() {
                "Escape" if !inline => {
                    ev.prevent_default();
                    close(&card, &done);
                }
                // The modal keeps focus inside: Tab past the last control comes back to the first.
                "Tab" if modal => {
                    let all = focusables(&card);
                    let (Some(first), Some(last)) = (all.first(), all.last()) else {
                        return;
                    };
                    let active = card
                        .get_root_node()
                        .dyn_into::<ShadowRoot>()
                        .ok()
                        .and_then(|r| r.active_element());
                    let is = |e: &HtmlElement| active.as_ref() == Some(e.unchecked_ref());
                    if ev.shift_key() && (active.is_none() || is(first)) {
                        ev.prevent_default();
                        let _ = last.focus();
                    } else if !ev.shift_key() && (active.is_none() || is(last)) {
                        ev.prevent_default();
                        let _ = first.focus();
                    }
                }
                _ => {}
            }
        }
    };

    // The radio group: one tab stop, arrow keys move and check (mirrored right to left),
    // Home and End jump to the ends.
    let first_value: u8 = if kind == CSAT { 1 } else { 0 };
    let labels: Vec<(String, Option<&'static str>)> = match kind {
        NPS => NUMBERS.iter().map(|n| (n.to_string(), None)).collect(),
        CSAT => (0..5)
            .map(|i| (NUMBERS[i + 1].to_string(), Some(s.csat[i])))
            .collect(),
        CHOICE => choices.into_iter().map(|c| (c, None)).collect(),
        _ => Vec::new(),
    };
    let count = labels.len() as i32;
    let on_arrow = move |ev: KeyboardEvent| {
        let (Some(target), Some(group)) = (element(ev.target()), element(ev.current_target()))
        else {
            return;
        };
        let at: i32 = target
            .get_attribute("data-i")
            .and_then(|i| i.parse().ok())
            .unwrap_or(0);
        let (back, forth) = if s.rtl { (1, -1) } else { (-1, 1) };
        let to = match ev.key().as_str() {
            "ArrowRight" => at + forth,
            "ArrowLeft" => at + back,
            "ArrowDown" => at + 1,
            "ArrowUp" => at - 1,
            "Home" => 0,
            "End" => count - 1,
            _ => return,
        };
        ev.prevent_default();
        check(&group, to.rem_euclid(count.max(1)) as u32);
    };
    let items = labels
        .into_iter()
        .enumerate()
        .map(|(i, (text, aria))| {
            view! {
                <button
                    type="button"
                    role="radio"
                    data-i=NUMBERS.get(i).copied().unwrap_or("0")
                    data-v=(first_value + i as u8).to_string()
                    aria-label=aria
                    aria-checked="false"
                    tabindex=if i == 0 { "0" } else { "-1" }
                    on:click=move |ev| {
                        if let Some(group) = element(ev.current_target()).and_then(|b| b.parent_element()) {
                            check(&group, i as u32);
                        }
                    }
                >
                    {text}
                </button>
            }
        })
        .collect_view();

    let on_send = {
        let done = done.clone();
        move |ev: web_sys::MouseEvent| {
            let Some(card) = card_of(&ev) else { return };
            let text = textarea(&card);
            let score = selected(&card);
            if step(&card) == ASK {
                match kind {
                    TEXT if text.is_empty() => return,
                    TEXT => report(&done, ANSWERED, NONE, &text, NONE),
                    _ if score == NONE => return,
                    NPS => {
                        if let Some(next) = follow.get(band(score)).filter(|f| !f.is_empty()) {
                            let _ = card.set_attribute("data-step", FOLLOW_UP);
                            if let Some(q) = find(&card, ".q") {
                                q.set_text_content(Some(next));
                            }
                            return focus(&card, "textarea");
                        }
                        report(&done, ANSWERED, score, "", NONE);
                    }
                    CHOICE => report(&done, ANSWERED, NONE, "", score),
                    _ => report(&done, ANSWERED, score, "", NONE),
                }
            } else {
                report(&done, ANSWERED, score, &text, NONE);
            }
            thank(&card, s);
        }
    };
    let on_skip = {
        let done = done.clone();
        move |ev: web_sys::MouseEvent| {
            if let Some(card) = card_of(&ev) {
                report(&done, ANSWERED, selected(&card), "", NONE);
                thank(&card, s);
            }
        }
    };
    let thumb = |score: u8| {
        let done = done.clone();
        move |ev: web_sys::MouseEvent| {
            if let Some(card) = card_of(&ev) {
                report(&done, ANSWERED, score, "", NONE);
                thank(&card, s);
            }
        }
    };
    let on_input = move |ev: Event| {
        if let Some(card) = card_of(&ev) {
            if kind == TEXT && step(&card) == ASK {
                enable_send(&card, !textarea(&card).is_empty());
            }
        }
    };
    let on_close = {
        let done = done.clone();
        move |ev: web_sys::MouseEvent| {
            if let Some(card) = card_of(&ev) {
                close(&card, &done);
            }
        }
    };
    let on_backdrop = {
        let done = done.clone();
        move |ev: web_sys::MouseEvent| {
            let card = element(ev.current_target())
                .and_then(|b| b.next_element_sibling());
            if let Some(card) = card {
                close(&card, &done);
            }
        }
    };
    let class = match display {
        MODAL => "w modal",
        INLINE => "w inline",
        _ => "w pop",
    };
    let (low, high) = if kind == NPS {
        (s.nps_low, s.nps_high)
    } else {
        (s.csat[0], s.csat[4])
    };
    view! {
        <div class=class dir=if s.rtl { "rtl" } else { "ltr" } lang=s.lang>
            <div class="backdrop" hidden=!modal on:click=on_backdrop></div>
            <div
                class="card"
                data-step=ASK
                role=if inline { "region" } else { "dialog" }
                aria-modal=modal.then_some("true")
                aria-labelledby="q"
                on:keydown=on_key
            >
                <button type="button" class="x" aria-label=s.close on:click=on_close>
                    "×"
                </button>
                <p class="q" id="q" aria-live="polite">{question}</p>
                <div
                    role="radiogroup"
                    aria-labelledby="q"
                    aria-describedby=scale.then_some("ends")
                    class=if kind == CHOICE { "list a" } else { "scale a" }
                    hidden=!radios
                    on:keydown=on_arrow
                >
                    {items}
                </div>
                <div class="ends a" id="ends" hidden=!scale>
                    <span>{low}</span>
                    <span>{high}</span>
                </div>
                <textarea
                    class=if kind == TEXT { "a" } else { "f" }
                    aria-labelledby="q"
                    maxlength="1000"
                    placeholder=s.answer
                    hidden=kind != TEXT && kind != NPS
                    on:input=on_input
                ></textarea>
                <div class="row thumbs a" hidden=kind != THUMBS>
                    <button type="button" class="go" on:click=thumb(1)>{s.yes}</button>
                    <button type="button" class="go" on:click=thumb(0)>{s.no}</button>
                </div>
                <div class="row" hidden=kind == THUMBS>
                    <button type="button" class="alt f" on:click=on_skip>{s.skip}</button>
                    <button type="button" class="go s" disabled=true on:click=on_send>{s.send}</button>
                </div>
            </div>
        </div>
    }
}

/// The side tab that opens a prompt.
pub fn tab(s: &'static Strings, open: Function) -> impl IntoView {
    view! {
        <div class="w" dir=if s.rtl { "rtl" } else { "ltr" } lang=s.lang>
            <button type="button" class="tab" aria-haspopup="dialog" on:click=move |_| {
                let _ = open.call0(&JsValue::NULL);
            }>{s.tab}</button>
        </div>
    }
}
