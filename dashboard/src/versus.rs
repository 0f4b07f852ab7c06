//! A difference with its 95 % confidence interval, and what it says, plainly: the view the
//! experiments' and the prompts' tables share.

use leptos::prelude::*;
use rapport_core::report::Interval;

/// What a comparison says in each case.
pub struct Verdicts {
    pub higher: &'static str,
    pub lower: &'static str,
    /// The interval spans zero.
    pub open: &'static str,
    /// No interval could be formed: its text, and its verdict.
    pub too_few: &'static str,
    pub too_few_verdict: &'static str,
}

/// `+1.5 pts (+0.2 pts … +2.8 pts)` and its verdict, each number written by `show`.
pub fn compared(
    i: Option<&Interval>,
    show: impl Fn(f64) -> String,
    words: Verdicts,
) -> impl IntoView {
    let (text, class, verdict) = match i {
        Some(i) => {
            let (class, verdict) = if !i.excludes_zero {
                ("verdict open", words.open)
            } else if i.difference > 0.0 {
                ("verdict up", words.higher)
            } else {
                ("verdict down", words.lower)
            };
            let text = format!(
                "{} ({} … {})",
                show(i.difference),
                show(i.low),
                show(i.high)
            );
            (text, class, verdict)
        }
        None => (
            words.too_few.to_string(),
            "verdict open",
            words.too_few_verdict,
        ),
    };
    view! {
        <span class="interval">{text}</span>
        <span class=class>{verdict}</span>
    }
}
