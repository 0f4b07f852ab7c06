//! Rapport's UI stage, the part compiled to WebAssembly: the prompt card and side tab
//! (built with web-sys), the built-in strings, and the prompt rules of `rapport_core::prompt`
//! (triggers, sampling, variants, the frequency budget) exported for `prompts.js`.
//!
//! As in the tracker stage, strings that only pass through stay in JavaScript:
//! `prompts.js` reads and checks the site config, keeps the budget in storage, listens to
//! the page and emits the events; it asks this module whether a trigger holds and has it
//! render the card into a shadow root it created. `cargo xtask dist` appends `prompts.js`
//! to wasm-bindgen's glue, so the stage is one script and one module.

mod i18n;
mod panel;
mod view;

use std::cell::RefCell;

use js_sys::Function;
use rapport_core::prompt::{self, Budget, Facts, History, Trigger, VisitorKind};
use rapport_core::time::Millis;
use wasm_bindgen::prelude::*;
use web_sys::HtmlElement;

// A small allocator: dlmalloc would be a sizeable part of the module.
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOC: lol_alloc::LockedAllocator<lol_alloc::FreeListAllocator> =
    lol_alloc::LockedAllocator::new(lol_alloc::FreeListAllocator::new());

thread_local! {
    /// Mounted cards and tabs by handle; dropping one unmounts it.
    static MOUNTED: RefCell<Vec<Option<view::Mounted>>> = const { RefCell::new(Vec::new()) };
}

/// Keeps `handle` in the first free slot; its number is the handle JavaScript holds.
fn keep(handle: view::Mounted) -> u32 {
    MOUNTED.with(|m| {
        let mut m = m.borrow_mut();
        match m.iter().position(Option::is_none) {
            Some(free) => {
                m[free] = Some(handle);
                free as u32
            }
            None => {
                m.push(Some(handle));
                m.len() as u32 - 1
            }
        }
    })
}

/// Unmounts what [`card`], [`tab`], [`panel`] or [`launcher`] mounted. `undefined` or
/// `null` unmounts nothing.
#[wasm_bindgen]
pub fn unmount(handle: Option<u32>) {
    let Some(handle) = handle else { return };
    let taken = MOUNTED.with(|m| {
        m.borrow_mut()
            .get_mut(handle as usize)
            .and_then(Option::take)
    });
    drop(taken);
}

/// Renders a prompt card into `mount` and returns its handle. `kind`: 0 NPS, 1 CSAT, 2
/// thumbs, 3 text, 4 choice. `display`: 0 modal, 1 popover or opened tab, 2 inline. `follow`
/// holds the NPS follow-up questions by band (detractor, passive, promoter; empty for none).
/// `nudge` (empty for none) invites a promoter to refer a friend on the thank-you.
/// `done(outcome, score, text, choice)` hears: 0 dismissed before an answer, 1 answered,
/// 2 closed after answering, 3 the promoter took the invitation.
#[wasm_bindgen]
#[allow(clippy::too_many_arguments)]
pub fn card(
    mount: HtmlElement,
    kind: u8,
    display: u8,
    lang: &str,
    question: String,
    follow: Vec<String>,
    choices: Vec<String>,
    nudge: String,
    done: Function,
) -> u32 {
    let ask = view::Ask {
        kind,
        display,
        question,
        follow,
        choices,
        strings: i18n::strings(lang),
        nudge,
        done,
    };
    match web_sys::window().and_then(|w| w.document()) {
        Some(doc) => keep(view::card(&doc, &mount, ask)),
        None => u32::MAX,
    }
}

/// Renders the side tab that opens a prompt; `open()` is called on click.
#[wasm_bindgen]
pub fn tab(mount: HtmlElement, lang: &str, open: Function) -> u32 {
    match web_sys::window().and_then(|w| w.document()) {
        Some(doc) => keep(view::tab(&doc, &mount, i18n::strings(lang), open)),
        None => u32::MAX,
    }
}

/// Renders the loyalty and referral panel into `mount`. `data`: `{ open: 0 points | 1
/// referral, status: the last confirmation (shown; `panels.js` announces it), signIn: URL,
/// loyalty: null | { state: 0 ready | 1 loading | 2 failed, signedIn, balance, tier, next:
/// [points, tier] | null, progress: '0'-'100', unit, earn: [[kind, points]], tiers: [[name,
/// threshold]], rewards: [[id, name, cost, affordable]], activity: [[reason, points, date]],
/// coupon: [reward, code] | null }, referral: null | { state, signedIn, offer, link,
/// canShare, shares: [[name, url]], stats: [invited, joined, pending, earned] } }`, every
/// number already formatted.
/// `act(name, argument)` hears what the shopper does (see `panel.rs`).
#[wasm_bindgen]
pub fn panel(mount: HtmlElement, lang: &str, data: JsValue, act: Function) -> u32 {
    match web_sys::window().and_then(|w| w.document()) {
        Some(doc) => keep(panel::panel(
            &doc,
            &mount,
            i18n::strings(lang),
            i18n::panel(lang),
            data,
            act,
        )),
        None => u32::MAX,
    }
}

/// Renders the panels' launcher: the balance (empty for an anonymous shopper), a
/// celebrated `gain` (empty for none) and whether the panel is open; `open()` is called on
/// click.
#[wasm_bindgen]
pub fn launcher(
    mount: HtmlElement,
    lang: &str,
    balance: &str,
    gain: &str,
    expanded: bool,
    open: Function,
) -> u32 {
    match web_sys::window().and_then(|w| w.document()) {
        Some(doc) => keep(panel::launcher(
            &doc,
            &mount,
            i18n::strings(lang),
            i18n::panel(lang),
            (balance, gain, expanded),
            open,
        )),
        None => u32::MAX,
    }
}

/// The panels' words that `panels.js` places itself: [copied, share message, e-mail
/// subject, promoters' invitation, failed, "{n} points", not redeemed, not copied].
#[wasm_bindgen]
pub fn panel_words(lang: &str) -> Vec<String> {
    let p = i18n::panel(lang);
    [
        p.copied,
        p.message,
        p.subject,
        p.nudge,
        p.failed,
        p.points,
        p.not_redeemed,
        p.not_copied,
    ]
    .iter()
    .map(|w| w.to_string())
    .collect()
}

/// The first of `candidates` (newline-separated: the configured locale, the browser's
/// languages) that has built-in strings, else `en`.
#[wasm_bindgen]
pub fn locale(candidates: &str) -> String {
    i18n::resolve(candidates.split('\n')).to_string()
}

fn optional(v: f64) -> Option<u32> {
    (v >= 0.0).then_some(v as u32)
}

fn lines(s: &str) -> Vec<&str> {
    s.split('\n').filter(|l| !l.is_empty()).collect()
}

/// Whether a trigger holds (the delay aside). `t` = [engaged seconds, scroll %, exit intent,
/// pageviews at least, visitor (0 new, 1 returning), referred (0/1), any (0/1), loyalty tier
/// at least] with -1 for an unset condition; `f` = [engaged ms, deepest scroll %, exit
/// intent, session pageviews, returning, referred, loyalty tier (-1 unknown)]. The include
/// and exclude globs and the session's events are newline-separated lists.
#[wasm_bindgen]
pub fn holds(
    t: &[f64],
    event: &str,
    include: &str,
    exclude: &str,
    f: &[f64],
    events: &str,
    path: &str,
) -> bool {
    let at = |a: &[f64], i: usize| a.get(i).copied().unwrap_or(-1.0);
    let (include, exclude, events) = (lines(include), lines(exclude), lines(events));
    let trigger = Trigger {
        engaged_seconds: optional(at(t, 0)),
        scroll_percent: optional(at(t, 1)).map(|p| p.min(100) as u8),
        exit_intent: at(t, 2) > 0.0,
        pageviews_at_least: optional(at(t, 3)),
        visitor: optional(at(t, 4)).map(|v| {
            if v == 0 {
                VisitorKind::New
            } else {
                VisitorKind::Returning
            }
        }),
        referred: optional(at(t, 5)).map(|r| r > 0),
        event: (!event.is_empty()).then_some(event),
        loyalty_tier_at_least: optional(at(t, 7)),
        url_include: &include,
        url_exclude: &exclude,
        any: at(t, 6) > 0.0,
        delay: Millis(0),
    };
    trigger.holds(&Facts {
        engaged: Millis::from_js(at(f, 0)),
        scroll_max: at(f, 1).clamp(0.0, 100.0) as u8,
        exit_intent: at(f, 2) > 0.0,
        session_pageviews: at(f, 3).max(0.0) as u32,
        returning: at(f, 4) > 0.0,
        referred: at(f, 5) > 0.0,
        events: &events,
        loyalty_tier: optional(at(f, 6)),
        path,
    })
}

/// Whether the visitor is in the prompt's sample of `percent`.
#[wasm_bindgen]
pub fn sampled(visitor: &str, prompt_id: &str, percent: u8) -> bool {
    prompt::sampled(visitor, prompt_id, percent)
}

/// The visitor's variant among `count`.
#[wasm_bindgen]
pub fn variant(visitor: &str, prompt_id: &str, count: u32) -> u32 {
    prompt::variant(visitor, prompt_id, count as usize) as u32
}

/// Whether the frequency budget allows an unsolicited surface at `now` (wall ms) in a
/// session started at `session_started`; `last_shown` is -1 when none was.
#[wasm_bindgen]
pub fn allows(
    now: f64,
    session_started: f64,
    last_shown: f64,
    answered: bool,
    ask_again: bool,
) -> bool {
    Budget::default()
        .allows(
            Millis::from_js(now),
            Millis::from_js(session_started),
            History {
                last_shown: (last_shown >= 0.0).then(|| Millis::from_js(last_shown)),
                answered,
            },
            ask_again,
        )
        .is_ok()
}

/// The wait left (ms) for a prompt whose conditions have held since `since`.
#[wasm_bindgen]
pub fn delay_left(delay_seconds: f64, since: f64, now: f64) -> f64 {
    prompt::delay_left(
        Millis::from_secs(delay_seconds.max(0.0) as u64),
        Millis::from_js(since),
        Millis::from_js(now),
    )
    .0 as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    const UNSET: [f64; 8] = [-1.0; 8];

    fn trigger(set: &[(usize, f64)]) -> Vec<f64> {
        let mut t = UNSET.to_vec();
        for &(i, v) in set {
            t[i] = v;
        }
        t
    }

    #[test]
    fn holds_reads_the_numbers_the_page_sends() {
        // [engaged ms, scroll %, exit intent, pageviews, returning, referred]
        let facts = [31_000.0, 40.0, 0.0, 2.0, 1.0, 0.0];
        let engaged_30 = trigger(&[(0, 30.0)]);
        assert!(holds(&engaged_30, "", "", "", &facts, "", "/"));
        assert!(!holds(&trigger(&[(0, 32.0)]), "", "", "", &facts, "", "/"));
        // scroll 60 % and returning, all / any
        let both = trigger(&[(1, 60.0), (4, 1.0)]);
        assert!(!holds(&both, "", "", "", &facts, "", "/"));
        let mut any = both.clone();
        any[6] = 1.0;
        assert!(holds(&any, "", "", "", &facts, "", "/"));
        // visitor: 0 is new
        assert!(!holds(&trigger(&[(4, 0.0)]), "", "", "", &facts, "", "/"));
        // referred, exit intent, pageviews
        assert!(!holds(&trigger(&[(5, 1.0)]), "", "", "", &facts, "", "/"));
        assert!(holds(&trigger(&[(5, 0.0)]), "", "", "", &facts, "", "/"));
        assert!(!holds(&trigger(&[(2, 1.0)]), "", "", "", &facts, "", "/"));
        assert!(holds(&trigger(&[(3, 2.0)]), "", "", "", &facts, "", "/"));
        // events and globs are newline-separated lists
        assert!(holds(
            &UNSET,
            "purchase",
            "",
            "",
            &facts,
            "signup\npurchase",
            "/"
        ));
        assert!(!holds(&UNSET, "purchase", "", "", &facts, "signup", "/"));
        assert!(holds(
            &UNSET,
            "",
            "/shop/*\n/blog/*",
            "",
            &facts,
            "",
            "/blog/a"
        ));
        assert!(!holds(
            &engaged_30,
            "",
            "",
            "/cart\n/checkout*",
            &facts,
            "",
            "/checkout/pay"
        ));
        // loyalty tier at least silver (1): unknown tier, bronze, gold
        let silver = trigger(&[(7, 1.0)]);
        assert!(!holds(&silver, "", "", "", &facts, "", "/"));
        assert!(!holds(
            &silver,
            "",
            "",
            "",
            &[0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
            "",
            "/"
        ));
        assert!(holds(
            &silver,
            "",
            "",
            "",
            &[0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 2.0],
            "",
            "/"
        ));
        // nothing set never holds
        assert!(!holds(&UNSET, "", "", "", &facts, "", "/"));
    }

    #[test]
    fn the_budget_and_delays_through_the_exports() {
        let day = 86_400_000.0;
        let now = 100.0 * day;
        let session = now - 60_000.0;
        assert!(allows(now, session, -1.0, false, false));
        // shown in this session, or within 14 days
        assert!(!allows(now, session, now - 1000.0, false, false));
        assert!(!allows(now, session, now - 13.0 * day, false, false));
        assert!(allows(now, session, now - 15.0 * day, false, false));
        // answered: never again, unless asked again (after the recontact period)
        assert!(!allows(now, session, -1.0, true, false));
        assert!(allows(now, session, now - 15.0 * day, true, true));
        assert_eq!(delay_left(2.0, now - 500.0, now), 1500.0);
        assert_eq!(delay_left(2.0, now - 5000.0, now), 0.0);
    }

    #[test]
    fn sampling_and_variants_are_stable() {
        let inside = (0..200)
            .filter(|i| sampled(&format!("visitor-{i}"), "nps", 30))
            .count();
        assert!(
            (40..=80).contains(&inside),
            "{inside} of 200 in a 30 % sample"
        );
        for i in 0..20 {
            let v = format!("visitor-{i}");
            assert_eq!(sampled(&v, "nps", 30), sampled(&v, "nps", 30));
            assert_eq!(variant(&v, "nps", 3), variant(&v, "nps", 3));
            assert!(variant(&v, "nps", 3) < 3);
        }
        assert_eq!(locale("fr\nhe-IL\nen"), "he");
        assert_eq!(locale(""), "en");
    }
}
