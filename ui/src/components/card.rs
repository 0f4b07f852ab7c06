//! The prompt card and its steps: question → optional follow-up (NPS, by score band) →
//! thank-you. The step and the answer are signals; the stylesheet shows each step's parts
//! by `data-step`. Every text from the site is a text node, never HTML. Ids are fixed
//! because each card lives in its own shadow root.

use leptos::html::Div;
use leptos::prelude::*;

use super::On;
use rapport_core::config::{Display, PromptType};
use wasm_bindgen::JsCast;
use web_sys::{HtmlElement, KeyboardEvent};

use super::{active_in, choice::choice, csat::csat, dir, focus_first, nps::nps};
use super::{text_answer::text_answer, thumbs::thumbs};
use crate::i18n::Strings;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    Ask,
    FollowUp,
    Thanks,
}

impl Step {
    fn attr(self) -> &'static str {
        match self {
            Step::Ask => "0",
            Step::FollowUp => "1",
            Step::Thanks => "2",
        }
    }
}

/// What the shopper answered.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Answer {
    /// NPS 0-10, CSAT 1-5, thumbs 1 (yes) or 0 (no).
    pub score: Option<u8>,
    pub text: String,
    /// The position of the chosen choice.
    pub choice: Option<u8>,
}

/// What the card reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Closed before an answer.
    Dismissed,
    Answered(Answer),
    /// Closed after answering.
    Closed,
    /// A promoter took the invitation to refer a friend.
    Nudged,
}

/// What one card asks, in one language.
pub struct Ask {
    pub kind: PromptType,
    pub display: Display,
    pub question: String,
    /// NPS follow-up questions by band: detractor, passive, promoter (empty for none).
    pub follow: [String; 3],
    pub choices: Vec<String>,
    pub strings: &'static Strings,
    /// For a promoter (NPS 9-10), the thank-you offers the referral panel with this
    /// invitation (empty for none).
    pub nudge: String,
    /// The referral panel's name, on the invitation's button.
    pub nudge_button: &'static str,
}

fn band(score: u8) -> usize {
    match score {
        0..=6 => 0,
        7..=8 => 1,
        _ => 2,
    }
}

/// The card; `done` hears each [`Outcome`].
pub fn card(ask: Ask, done: On<Outcome>) -> impl IntoView {
    let Ask {
        kind,
        display,
        question,
        follow,
        choices,
        strings: s,
        nudge,
        nudge_button,
    } = ask;
    let modal = display == Display::Modal;
    let inline = display == Display::Inline;
    let step = RwSignal::new(Step::Ask);
    let selected = RwSignal::new(None::<usize>);
    let text = RwSignal::new(String::new());
    let card_ref = NodeRef::<Div>::new();
    let first_value = u8::from(kind == PromptType::Csat);
    let score = move || selected.get_untracked().map(|i| first_value + i as u8);
    let follow = std::sync::Arc::new(follow);
    let nudged = {
        let nudge = nudge.clone();
        move || !nudge.is_empty() && matches!(score(), Some(9..=10))
    };

    // The heading: the question, the follow-up, or the thanks (with the invitation, so that
    // it is announced too).
    let heading = {
        let (follow, nudge) = (follow.clone(), nudge.clone());
        move || match step.get() {
            Step::Ask => question.clone(),
            Step::FollowUp => {
                let i = selected.get().map_or(0, |i| band(i as u8));
                follow[i].clone()
            }
            Step::Thanks => {
                let mut t = String::from(s.thanks);
                if !nudge.is_empty() && matches!(selected.get(), Some(9..=10)) {
                    t.push(' ');
                    t.push_str(&nudge);
                }
                t
            }
        }
    };
    let can_send = move || match (step.get(), kind) {
        (Step::Ask, PromptType::Text) => !text.get().trim().is_empty(),
        (Step::Ask, _) => selected.get().is_some(),
        _ => true,
    };
    let focus = move |selector: &'static str| {
        // After the step's parts are shown.
        request_animation_frame(move || {
            if let Some(card) = card_ref.get_untracked() {
                focus_first(&card, selector);
            }
        });
    };
    let report = {
        let done = done.clone();
        move |o: Outcome| done.call(o)
    };
    let thank = {
        let report = report.clone();
        move |answer: Answer| {
            report(Outcome::Answered(answer));
            step.set(Step::Thanks);
            focus(".x");
        }
    };
    // Closing (close button, Esc, backdrop): a dismissal before an answer; at the
    // follow-up the score was given, so it counts without the follow-up text.
    let close = {
        let report = report.clone();
        move || match step.get_untracked() {
            Step::Ask => report(Outcome::Dismissed),
            Step::FollowUp => {
                report(Outcome::Answered(Answer {
                    score: score(),
                    ..Answer::default()
                }));
                report(Outcome::Closed);
            }
            Step::Thanks => report(Outcome::Closed),
        }
    };
    let send = {
        let (thank, follow) = (thank.clone(), follow.clone());
        move |_: web_sys::MouseEvent| {
            let typed = text.get_untracked().trim().to_string();
            if step.get_untracked() == Step::FollowUp {
                return thank(Answer {
                    score: score(),
                    text: typed,
                    choice: None,
                });
            }
            let answer = match kind {
                PromptType::Text if typed.is_empty() => return,
                PromptType::Text => Answer {
                    text: typed,
                    ..Answer::default()
                },
                _ if selected.get_untracked().is_none() => return,
                PromptType::Nps => {
                    let s = score().unwrap_or(0);
                    if !follow[band(s)].is_empty() {
                        step.set(Step::FollowUp);
                        return focus("textarea");
                    }
                    Answer {
                        score: Some(s),
                        ..Answer::default()
                    }
                }
                PromptType::Choice => Answer {
                    choice: score(),
                    ..Answer::default()
                },
                _ => Answer {
                    score: score(),
                    ..Answer::default()
                },
            };
            thank(answer);
        }
    };
    let skip = {
        let thank = thank.clone();
        move |_: web_sys::MouseEvent| {
            thank(Answer {
                score: score(),
                ..Answer::default()
            })
        }
    };
    let on_key = {
        let close = close.clone();
        move |ev: KeyboardEvent| match ev.key().as_str() {
            "Escape" if !inline => {
                ev.prevent_default();
                close();
            }
            // The modal keeps focus inside: Tab past the last control comes back to the first.
            "Tab" if modal => {
                let Some(card) = card_ref.get_untracked() else {
                    return;
                };
                let Ok(list) =
                    card.query_selector_all("button:not([disabled]):not([tabindex='-1']),textarea")
                else {
                    return;
                };
                let all: Vec<HtmlElement> = (0..list.length())
                    .filter_map(|i| list.item(i)?.dyn_into::<HtmlElement>().ok())
                    .filter(|e| e.offset_parent().is_some())
                    .collect();
                let (Some(first), Some(last)) = (all.first(), all.last()) else {
                    return;
                };
                let active = active_in(&card);
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
    };
    let class = match display {
        Display::Modal => "w modal",
        Display::Inline => "w inline",
        _ => "w pop",
    };
    let answer = match kind {
        PromptType::Nps => view! {
            {nps(s, selected)}
            {text_answer(s, "f", text)}
        }
        .into_any(),
        PromptType::Csat => csat(s, selected).into_any(),
        PromptType::Choice => choice(choices, s.rtl, selected).into_any(),
        PromptType::Text => text_answer(s, "a", text).into_any(),
        PromptType::Thumbs => ().into_any(),
    };
    let actions = if kind == PromptType::Thumbs {
        let thank = thank.clone();
        thumbs(s, move |v| {
            selected.set(Some(v as usize));
            thank(Answer {
                score: Some(v),
                ..Answer::default()
            })
        })
        .into_any()
    } else {
        view! {
            <div class="row">
                <button type="button" class="alt f" on:click=skip>{s.skip}</button>
                <button type="button" class="go s" disabled=move || !can_send() on:click=send>
                    {s.send}
                </button>
            </div>
        }
        .into_any()
    };
    let invitation = {
        let done = done.clone();
        let nudged = nudged.clone();
        move || {
            let shown = step.get() == Step::Thanks && kind == PromptType::Nps && nudged();
            let done = done.clone();
            shown.then(|| {
                view! {
                    <div class="nudge">
                        <button type="button" class="go n" on:click=move |_| done.call(Outcome::Nudged)>
                            {nudge_button}
                        </button>
                    </div>
                }
            })
        }
    };
    let backdrop = {
        let close = close.clone();
        modal.then(|| view! { <div class="backdrop" on:click=move |_| close()></div> })
    };
    view! {
        <div class=class dir=dir(s.rtl) lang=s.lang on:keydown=on_key>
            {backdrop}
            <div
                class="card"
                data-step=move || step.get().attr()
                role=if inline { "region" } else { "dialog" }
                aria-labelledby="q"
                aria-modal=modal.then_some("true")
                node_ref=card_ref
            >
                <button type="button" class="x" aria-label=s.close on:click=move |_| close()>
                    "×"
                </button>
                <p class="q" id="q" aria-live="polite">{heading}</p>
                {answer}
                {actions}
                {invitation}
            </div>
        </div>
    }
}
