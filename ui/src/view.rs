//! The prompt card and the side tab, built with web-sys: question → optional follow-up →
//! thank-you.
//!
//! The card's state lives in the DOM itself: the step in `data-step` (the stylesheet shows
//! each step's parts), the answer in the checked radio. One listener per event type on the
//! card's root dispatches on the target. Every text from the site is set as text content,
//! never parsed as HTML. Ids are fixed because each card lives in its own shadow root.
//!
//! ARCHITECTURE.md records why this is not leptos: the same card rendered by leptos made the
//! UI stage 53 KB gzip, and the full widget 64.7 KB against its 60 KB cap.

use gloo_events::{EventListener, EventListenerOptions};
use js_sys::{Array, Function};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{
    Document, Element, Event, HtmlElement, HtmlTextAreaElement, KeyboardEvent, ShadowRoot,
};

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
const NUDGED: u8 = 3;
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
    /// For a promoter (NPS 9-10), the thank-you offers the referral panel with this
    /// invitation (empty for none); taking it reports outcome 3.
    pub nudge: String,
    pub done: Function,
}

/// What is on the page: removed, with its listeners, when dropped.
pub struct Mounted {
    root: Element,
    _listeners: Vec<EventListener>,
}

impl Mounted {
    pub fn new(root: Element, listeners: Vec<EventListener>) -> Mounted {
        Mounted {
            root,
            _listeners: listeners,
        }
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        self.root.remove();
    }
}

/// A new `tag` under `parent` with `attrs`, and `text` as its text content when given.
pub fn add(
    doc: &Document,
    parent: &Element,
    tag: &str,
    attrs: &[(&str, &str)],
    text: &str,
) -> Element {
    let Ok(e) = doc.create_element(tag) else {
        return parent.clone();
    };
    for (k, v) in attrs {
        let _ = e.set_attribute(k, v);
    }
    if !text.is_empty() {
        e.set_text_content(Some(text));
    }
    let _ = parent.append_child(&e);
    e
}

/// The root of a card, tab or panel under `mount`: `class`, and the strings' language and
/// direction, which everything inside inherits.
pub fn root(doc: &Document, mount: &Element, s: &Strings, class: &str) -> Element {
    let dir = if s.rtl { "rtl" } else { "ltr" };
    add(
        doc,
        mount,
        "div",
        &[("class", class), ("dir", dir), ("lang", s.lang)],
        "",
    )
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

/// Shows the thank-you, with focus on the close button; for a promoter with a `nudge`, the
/// invitation to refer a friend below it.
fn thank(card: &Element, s: &Strings, nudge: &str) {
    let _ = card.set_attribute("data-step", THANKS);
    let score = selected(card);
    let nudged = !nudge.is_empty() && (9..=10).contains(&score);
    if let Some(q) = find(card, ".q") {
        // The invitation joins the thanks in the live heading, so it is announced too.
        let mut text = String::from(s.thanks);
        if nudged {
            text.push(' ');
            text.push_str(nudge);
        }
        q.set_text_content(Some(&text));
    }
    if nudged {
        if let Some(doc) = card.owner_document() {
            let p = crate::i18n::panel(s.lang);
            let row = add(&doc, card, "div", &[("class", "nudge")], "");
            add(
                &doc,
                &row,
                "button",
                &[("type", "button"), ("class", "go n")],
                p.refer_tab,
            );
        }
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

/// Renders the card into `mount`.
pub fn card(doc: &Document, mount: &Element, ask: Ask) -> Mounted {
    let Ask {
        kind,
        display,
        question,
        follow,
        choices,
        strings: s,
        nudge,
        done,
    } = ask;
    let modal = display == MODAL;
    let inline = display == INLINE;
    let scale = kind == NPS || kind == CSAT;
    let class = match display {
        MODAL => "w modal",
        INLINE => "w inline",
        _ => "w pop",
    };
    let w = root(doc, mount, s, class);
    if modal {
        add(doc, &w, "div", &[("class", "backdrop")], "");
    }
    let card = add(
        doc,
        &w,
        "div",
        &[
            ("class", "card"),
            ("data-step", ASK),
            ("role", if inline { "region" } else { "dialog" }),
            ("aria-labelledby", "q"),
        ],
        "",
    );
    if modal {
        let _ = card.set_attribute("aria-modal", "true");
    }
    add(
        doc,
        &card,
        "button",
        &[("type", "button"), ("class", "x"), ("aria-label", s.close)],
        "×",
    );
    add(
        doc,
        &card,
        "p",
        &[("class", "q"), ("id", "q"), ("aria-live", "polite")],
        &question,
    );

    // The radio group: one tab stop, arrow keys move and check (mirrored right to left),
    // Home and End jump to the ends.
    let labels: Vec<(&str, &str)> = match kind {
        NPS => NUMBERS.iter().map(|n| (*n, "")).collect(),
        CSAT => (0..5).map(|i| (NUMBERS[i + 1], s.csat[i])).collect(),
        CHOICE => choices.iter().map(|c| (c.as_str(), "")).collect(),
        _ => Vec::new(),
    };
    let count = labels.len() as i32;
    if count > 0 {
        let group = add(
            doc,
            &card,
            "div",
            &[
                ("role", "radiogroup"),
                ("aria-labelledby", "q"),
                ("class", if kind == CHOICE { "list a" } else { "scale a" }),
            ],
            "",
        );
        if scale {
            let _ = group.set_attribute("aria-describedby", "ends");
        }
        let first_value: u8 = if kind == CSAT { 1 } else { 0 };
        for (i, (text, aria)) in labels.iter().enumerate() {
            let value = (first_value + i as u8).to_string();
            let item = add(
                doc,
                &group,
                "button",
                &[
                    ("type", "button"),
                    ("role", "radio"),
                    ("data-i", NUMBERS.get(i).copied().unwrap_or("0")),
                    ("data-v", &value),
                    ("aria-checked", "false"),
                    ("tabindex", if i == 0 { "0" } else { "-1" }),
                ],
                text,
            );
            if !aria.is_empty() {
                // The visible number leads the name, so speaking it selects the step.
                let mut label = String::from(*text);
                label.push_str(", ");
                label.push_str(aria);
                let _ = item.set_attribute("aria-label", &label);
            }
        }
    }
    if scale {
        let (low, high) = if kind == NPS {
            (s.nps_low, s.nps_high)
        } else {
            (s.csat[0], s.csat[4])
        };
        let ends = add(
            doc,
            &card,
            "div",
            &[("class", "ends a"), ("id", "ends")],
            "",
        );
        add(doc, &ends, "span", &[], low);
        add(doc, &ends, "span", &[], high);
    }
    if kind == TEXT || kind == NPS {
        add(
            doc,
            &card,
            "textarea",
            &[
                ("class", if kind == TEXT { "a" } else { "f" }),
                ("aria-labelledby", "q"),
                ("maxlength", "1000"),
                ("placeholder", s.answer),
            ],
            "",
        );
    }
    if kind == THUMBS {
        let row = add(doc, &card, "div", &[("class", "row thumbs a")], "");
        add(
            doc,
            &row,
            "button",
            &[("type", "button"), ("class", "go t"), ("data-v", "1")],
            s.yes,
        );
        add(
            doc,
            &row,
            "button",
            &[("type", "button"), ("class", "go t"), ("data-v", "0")],
            s.no,
        );
    } else {
        let row = add(doc, &card, "div", &[("class", "row")], "");
        add(
            doc,
            &row,
            "button",
            &[("type", "button"), ("class", "alt f")],
            s.skip,
        );
        add(
            doc,
            &row,
            "button",
            &[("type", "button"), ("class", "go s"), ("disabled", "")],
            s.send,
        );
    }

    let on_key = {
        let (done, card) = (done.clone(), card.clone());
        move |ev: &Event| {
            let (Some(ev), Some(target)) = (ev.dyn_ref::<KeyboardEvent>(), element(ev.target()))
            else {
                return;
            };
            let key = ev.key();
            if target.get_attribute("role").as_deref() == Some("radio") {
                let at: i32 = target
                    .get_attribute("data-i")
                    .and_then(|i| i.parse().ok())
                    .unwrap_or(0);
                let (back, forth) = if s.rtl { (1, -1) } else { (-1, 1) };
                let to = match key.as_str() {
                    "ArrowRight" => Some(at + forth),
                    "ArrowLeft" => Some(at + back),
                    "ArrowDown" => Some(at + 1),
                    "ArrowUp" => Some(at - 1),
                    "Home" => Some(0),
                    "End" => Some(count - 1),
                    _ => None,
                };
                if let (Some(to), Some(group)) = (to, target.parent_element()) {
                    ev.prevent_default();
                    return check(&group, to.rem_euclid(count.max(1)) as u32);
                }
            }
            match key.as_str() {
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
    let on_click = {
        let card = card.clone();
        move |ev: &Event| {
            let Some(target) = element(ev.target()) else {
                return;
            };
            let class = target.class_name();
            let has = |c: &str| class.split(' ').any(|x| x == c);
            if target.get_attribute("role").as_deref() == Some("radio") {
                let at = target.get_attribute("data-i").and_then(|i| i.parse().ok());
                if let (Some(at), Some(group)) = (at, target.parent_element()) {
                    check(&group, at);
                }
            } else if has("n") {
                report(&done, NUDGED, NONE, "", NONE);
            } else if has("x") || has("backdrop") {
                close(&card, &done);
            } else if has("t") {
                // Thumbs: data-v is the score.
                let score = target.get_attribute("data-v").and_then(|v| v.parse().ok());
                report(&done, ANSWERED, score.unwrap_or(NONE), "", NONE);
                thank(&card, s, &nudge);
            } else if has("alt") {
                report(&done, ANSWERED, selected(&card), "", NONE);
                thank(&card, s, &nudge);
            } else if has("s") {
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
                thank(&card, s, &nudge);
            }
        }
    };
    let on_input = {
        let card = card.clone();
        move |_: &Event| {
            if kind == TEXT && step(&card) == ASK {
                enable_send(&card, !textarea(&card).is_empty());
            }
        }
    };
    Mounted {
        _listeners: vec![
            EventListener::new(&w, "click", on_click),
            // Arrow keys, Tab and Escape are taken over: not a passive listener.
            EventListener::new_with_options(
                &w,
                "keydown",
                EventListenerOptions::enable_prevent_default(),
                on_key,
            ),
            EventListener::new(&w, "input", on_input),
        ],
        root: w,
    }
}

/// Renders the side tab that opens a prompt; `open()` is called on click.
pub fn tab(doc: &Document, mount: &Element, s: &'static Strings, open: Function) -> Mounted {
    let w = root(doc, mount, s, "w");
    let button = add(
        doc,
        &w,
        "button",
        &[
            ("type", "button"),
            ("class", "tab"),
            ("aria-haspopup", "dialog"),
        ],
        s.tab,
    );
    Mounted {
        _listeners: vec![EventListener::new(&button, "click", move |_| {
            let _ = open.call0(&JsValue::NULL);
        })],
        root: w,
    }
}
