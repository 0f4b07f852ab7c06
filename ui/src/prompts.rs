//! When a prompt shows, and what it emits. The rules are `rapport_core::prompt`'s: the
//! trigger, the stable sample and variant, the one frequency budget and the delay. This
//! module watches the page for them (every second, as engaged time grows without events; on
//! every event the tracker emits; on exit intent), keeps the budget, the answers and the
//! session's events in storage under `rapport:`, mounts cards and side tabs, and emits
//! `prompt_shown`, `prompt_dismissed` and `feedback_submitted` through the tracker's queue.
//!
//! Entry points (the timer, listeners, a card's callback) never hold the state across a
//! call out (`track`, mounting): what they hear is queued and handled by [`evaluate`].

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::{Rc, Weak};

use gloo_events::EventListener;
use gloo_timers::callback::{Interval, Timeout};
use rapport_core::config::{Display, Programs, Prompt, PromptType, Text};
use rapport_core::prompt::{self, Budget, Facts, History, Trigger, VisitorKind};
use rapport_core::time::Millis;
use serde::{Deserialize, Serialize};
use wasm_bindgen::JsCast;
use web_sys::{Element, MouseEvent};

use crate::components::card::{card, Ask, Outcome};
use crate::components::side_tab::side_tab;
use crate::components::On;
use crate::host::Host;
use crate::i18n;
use crate::rewards::Rewards;
use crate::shadow::{self, Context, Slot};
use crate::store;

thread_local! {
    /// The running stage: it lives as long as the page, or until tracking stops. Timers,
    /// listeners and callbacks hold it weakly.
    static STAGE: RefCell<Option<Rc<Shared>>> = const { RefCell::new(None) };
}

/// How long the thank-you stays.
const THANKS_MS: u32 = 3000;

/// One configured prompt and where it stands on this page.
struct Entry {
    p: Prompt,
    /// Its place in the config, for messages.
    at: usize,
    since: f64,
    open: bool,
    placed: bool,
    shown: bool,
    answered: bool,
    recheck: bool,
    card: Option<Slot>,
    tab: Option<Slot>,
    /// What had focus before the card opened.
    before: Option<Element>,
}

struct State {
    entries: Vec<Entry>,
    /// The languages wanted: `data-locale`, then the browser's.
    wanted: Vec<String>,
    exit: bool,
    timer: Option<Interval>,
    exit_listener: Option<EventListener>,
    stopped: bool,
}

struct Shared {
    host: Host,
    ctx: Context,
    rewards: Option<Rewards>,
    loyalty: Option<rapport_core::config::Loyalty>,
    state: RefCell<State>,
    /// Event names heard, handled by the next evaluation.
    heard: RefCell<Vec<String>>,
}

#[derive(Default, Deserialize, Serialize)]
struct Seen {
    #[serde(default)]
    s: String,
    #[serde(default)]
    e: Vec<String>,
}

#[derive(Default, Deserialize, Serialize)]
struct Shown {
    #[serde(default)]
    t: f64,
}

/// The properties every prompt event carries, and an answer's.
#[derive(Serialize)]
struct Props<'a> {
    prompt_id: &'a str,
    variant: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    display: &'static str,
    locale: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    score: Option<u8>,
    #[serde(skip_serializing_if = "str::is_empty")]
    text: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    choice: Option<u8>,
    #[serde(skip_serializing_if = "str::is_empty")]
    choice_text: &'a str,
}

fn now() -> f64 {
    js_sys::Date::now()
}

pub fn start(host: Host, ctx: Context, programs: Programs, rewards: Option<Rewards>) {
    let nav = web_sys::window().map(|w| w.navigator());
    let mut wanted: Vec<String> = Vec::new();
    let locale = host.locale();
    if !locale.is_empty() {
        wanted.push(locale);
    }
    if let Some(nav) = &nav {
        let langs: Vec<String> = nav
            .languages()
            .iter()
            .filter_map(|l| l.as_string())
            .collect();
        if langs.is_empty() {
            wanted.extend(nav.language());
        } else {
            wanted.extend(langs);
        }
    }
    let entries = programs
        .prompts
        .into_iter()
        .enumerate()
        .map(|(at, p)| Entry {
            p,
            at,
            since: 0.0,
            open: false,
            placed: false,
            shown: false,
            answered: false,
            recheck: false,
            card: None,
            tab: None,
            before: None,
        })
        .collect();
    let shared = Rc::new(Shared {
        host: host.clone(),
        ctx,
        rewards,
        loyalty: programs.loyalty,
        state: RefCell::new(State {
            entries,
            wanted,
            exit: false,
            timer: None,
            exit_listener: None,
            stopped: false,
        }),
        heard: RefCell::new(Vec::new()),
    });
    if let Some(rewards) = &shared.rewards {
        let weak = Rc::downgrade(&shared);
        rewards.on_tier(move || later(&weak));
    }
    {
        let weak = Rc::downgrade(&shared);
        let timer = Interval::new(1000, move || {
            if let Some(s) = weak.upgrade() {
                evaluate(&s);
            }
        });
        let weak = Rc::downgrade(&shared);
        let exit = web_sys::window().and_then(|w| w.document()).map(|d| {
            // Exit intent (desktop): the pointer leaves the document through the top edge.
            EventListener::new(&d, "mouseout", move |e| {
                let Some(e) = e.dyn_ref::<MouseEvent>() else {
                    return;
                };
                if e.related_target().is_none() && e.client_y() <= 0 {
                    if let Some(s) = weak.upgrade() {
                        if let Ok(mut st) = s.state.try_borrow_mut() {
                            st.exit = true;
                        }
                        evaluate(&s);
                    }
                }
            })
        });
        let mut st = shared.state.borrow_mut();
        st.timer = Some(timer);
        st.exit_listener = exit;
    }
    // Every event the tracker emits, the missed ones first.
    let weak = Rc::downgrade(&shared);
    host.listen(move |name: String| {
        let Some(s) = weak.upgrade() else { return };
        if let Some(rewards) = &s.rewards {
            rewards.heard(&name);
        }
        if let Ok(mut heard) = s.heard.try_borrow_mut() {
            heard.push(name);
        }
        later(&weak);
    });
    STAGE.with(|stage| *stage.borrow_mut() = Some(shared.clone()));
    evaluate(&shared);
}

/// Stops the running stage (the tracker's `destroy()`): its timer and listeners, the
/// rewards' too, and every surface.
pub fn stop_stage() {
    let stage = STAGE.with(|stage| stage.try_borrow().ok().and_then(|s| s.clone()));
    if let Some(s) = stage {
        if let Some(rewards) = &s.rewards {
            rewards.stop();
        }
        stop(&s);
    }
}

/// Evaluates in a task of its own.
fn later(weak: &Weak<Shared>) {
    let weak = weak.clone();
    Timeout::new(0, move || {
        if let Some(s) = weak.upgrade() {
            evaluate(&s);
        }
    })
    .forget();
}

/// Handles the events heard since the last evaluation.
fn digest(s: &Shared, st: &mut State, session: &str) {
    let heard: Vec<String> = match s.heard.try_borrow_mut() {
        Ok(mut h) => h.drain(..).collect(),
        Err(_) => return,
    };
    for name in heard {
        if name == "page_view" {
            // A client-side navigation: a new page for the triggers. Tabs and inline prompts
            // are placed again only where their trigger holds on the new path.
            st.exit = false;
            for x in &mut st.entries {
                x.since = 0.0;
                x.recheck = matches!(x.p.display, Display::Tab | Display::Inline);
            }
        } else if !matches!(
            name.as_str(),
            "page_engagement" | "scroll_milestone" | "prompt_shown" | "prompt_dismissed"
        ) {
            // Events of the session, for event triggers on later pages too.
            let mut seen: Seen = store::load("seen");
            if seen.s != session {
                seen = Seen {
                    s: session.into(),
                    e: Vec::new(),
                };
            }
            if !seen.e.contains(&name) && seen.e.len() < 50 {
                seen.e.push(name);
            }
            store::save("seen", &seen);
        }
    }
}

/// Stops everything: tracking stopped (opt-out, consent withdrawn).
fn stop(s: &Shared) {
    if let Ok(mut st) = s.state.try_borrow_mut() {
        st.stopped = true;
        st.timer = None;
        st.exit_listener = None;
        for x in &mut st.entries {
            x.card = None;
            x.tab = None;
        }
    }
    s.ctx.close_all();
    STAGE.with(|stage| {
        if let Ok(mut stage) = stage.try_borrow_mut() {
            stage.take();
        }
    });
}

fn core_trigger<'a>(
    p: &'a Prompt,
    tier: Option<u32>,
    include: &'a [&'a str],
    exclude: &'a [&'a str],
) -> Trigger<'a> {
    let t = &p.trigger;
    Trigger {
        engaged_seconds: t.engaged_seconds,
        scroll_percent: t.scroll_percent,
        exit_intent: t.exit_intent,
        pageviews_at_least: t.pageviews_at_least,
        visitor: t.visitor.map(|v| match v {
            rapport_core::config::VisitorKind::New => VisitorKind::New,
            rapport_core::config::VisitorKind::Returning => VisitorKind::Returning,
        }),
        referred: t.referred,
        event: t.event.as_deref(),
        loyalty_tier_at_least: tier,
        url_include: include,
        url_exclude: exclude,
        any: t.match_ == rapport_core::config::Match::Any,
        delay: Millis(0),
    }
}

/// Looks at every prompt: shows what is due.
fn evaluate(s: &Rc<Shared>) {
    let Some(f) = s.host.facts() else {
        return stop(s);
    };
    let due: Vec<(usize, bool)> = {
        let Ok(mut st) = s.state.try_borrow_mut() else {
            return later(&Rc::downgrade(s));
        };
        if st.stopped {
            return;
        }
        let st = &mut *st;
        digest(s, st, &f.session);
        if f.visitor.is_empty() {
            return;
        }
        let now = now();
        let seen: Seen = store::load("seen");
        let budget: Shown = store::load("budget");
        let answered: BTreeMap<String, f64> = store::load("answered");
        let events: Vec<&str> = if seen.s == f.session {
            seen.e.iter().map(String::as_str).collect()
        } else {
            Vec::new()
        };
        let tier_now = s
            .rewards
            .as_ref()
            .and_then(Rewards::tier)
            .and_then(|id| s.loyalty.as_ref()?.tier_index(&id));
        let path = web_sys::window()
            .and_then(|w| w.location().pathname().ok())
            .unwrap_or_default();
        let facts = Facts {
            engaged: Millis::from_js(f.engaged_ms),
            scroll_max: f.scroll_max.clamp(0.0, 100.0) as u8,
            exit_intent: st.exit,
            session_pageviews: f.session_pageviews.max(0.0) as u32,
            returning: f.returning,
            referred: f.referred,
            events: &events,
            loyalty_tier: tier_now,
            path: &path,
        };
        // A card other than an inline one is up in the corner or the middle.
        let mut busy = st
            .entries
            .iter()
            .any(|x| x.open && x.p.display != Display::Inline);
        let mut due = Vec::new();
        for (i, x) in st.entries.iter_mut().enumerate() {
            let tier =
                x.p.trigger
                    .loyalty_tier
                    .as_ref()
                    .and_then(|id| s.loyalty.as_ref()?.tier_index(id));
            let include: Vec<&str> = x.p.trigger.url_include.iter().map(String::as_str).collect();
            let exclude: Vec<&str> = x.p.trigger.url_exclude.iter().map(String::as_str).collect();
            let ok = prompt::sampled(&f.visitor, &x.p.id, x.p.sample_percent)
                && core_trigger(&x.p, tier, &include, &exclude).holds(&facts);
            // A card whose surface was closed, or an inline card whose host element the page
            // removed, is gone.
            if x.open && !shadow::is_open(&x.card) {
                x.open = false;
            }
            if x.open && x.p.display == Display::Inline {
                let gone = x
                    .card
                    .as_ref()
                    .and_then(|c| c.borrow().as_ref().map(|sf| !sf.el.is_connected()));
                if gone == Some(true) {
                    x.open = false;
                    x.card = None;
                }
            }
            if x.recheck {
                x.recheck = false;
                if x.tab.is_some() && !x.open && !ok {
                    x.tab = None;
                }
                if !x.open && (x.tab.is_none() || !ok) {
                    x.placed = false;
                    x.shown = false;
                }
            }
            if x.open || x.placed || x.shown || !ok {
                x.since = 0.0;
                continue;
            }
            if x.since == 0.0 {
                x.since = now;
            }
            let delay = Millis::from_secs(u64::from(x.p.trigger.delay_seconds));
            if prompt::delay_left(delay, Millis::from_js(x.since), Millis::from_js(now)).0 > 0 {
                continue;
            }
            let at = answered.get(&x.p.id).copied().unwrap_or(0.0);
            let done = at > 0.0;
            match x.p.display {
                Display::Modal | Display::Popover => {
                    // Unsolicited: one at a time, within the budget.
                    let history = History {
                        last_shown: (budget.t > 0.0).then(|| Millis::from_js(budget.t)),
                        answered: done,
                    };
                    let allowed = Budget::default()
                        .allows(
                            Millis::from_js(now),
                            Millis::from_js(f.session_start),
                            history,
                            x.p.ask_again,
                        )
                        .is_ok();
                    if !busy && allowed {
                        busy = true;
                        due.push((i, false));
                    }
                }
                _ => {
                    // A tab or inline prompt spends no budget; answered, it comes back only
                    // with ask_again, after the recontact period.
                    let again = x.p.ask_again
                        && Budget::default()
                            .allows(
                                Millis::from_js(now),
                                Millis::from_js(at + 1.0),
                                History {
                                    last_shown: Some(Millis::from_js(at)),
                                    answered: true,
                                },
                                true,
                            )
                            .is_ok();
                    if !done || again {
                        due.push((i, x.p.display == Display::Tab));
                    }
                }
            }
        }
        due
    };
    for (i, tab) in due {
        if tab {
            place_tab(s, i, &f.visitor);
        } else {
            show(s, i, &f.visitor, None);
        }
    }
}

/// The card's language: the first wanted one with built-in strings that its question has
/// (`iw` counts as `he`), else English; and the key the site used (`ar-EG` or `ar`).
fn language(wanted: &[String], question: &Text) -> (&'static str, String) {
    for tag in wanted {
        let built_in = i18n::resolve([tag.as_str()]);
        let english = tag.get(..2).is_some_and(|t| t.eq_ignore_ascii_case("en"));
        if built_in != "en" || english {
            let primary = tag.split(['-', '_']).next().unwrap_or(tag);
            for key in [tag.as_str(), primary, built_in] {
                if question.0.contains_key(key) {
                    return (built_in, key.to_string());
                }
            }
        }
    }
    ("en", "en".into())
}

fn pick(text: &Text, (built_in, key): &(&'static str, String)) -> String {
    text.0
        .get(key)
        .or_else(|| text.0.get(*built_in))
        .or_else(|| text.0.get("en"))
        .cloned()
        .unwrap_or_default()
}

/// Places prompt `i`'s side tab.
fn place_tab(s: &Rc<Shared>, i: usize, visitor: &str) {
    let Some(body) = document_body() else { return };
    let lang = {
        let Ok(st) = s.state.try_borrow() else { return };
        i18n::resolve(st.wanted.iter().map(String::as_str))
    };
    let weak = Rc::downgrade(s);
    let visitor = visitor.to_string();
    let slot = s.ctx.mount(&body, move |root| {
        side_tab(i18n::strings(lang), move || {
            let Some(s) = weak.upgrade() else { return };
            let open = s.state.try_borrow().is_ok_and(|st| st.entries[i].open);
            if !open {
                let opener = root.query_selector("button").ok().flatten();
                show(&s, i, &visitor, opener);
            }
        })
    });
    if let Ok(mut st) = s.state.try_borrow_mut() {
        st.entries[i].placed = true;
        st.entries[i].tab = slot;
    }
}

fn document_body() -> Option<Element> {
    Some(web_sys::window()?.document()?.body()?.into())
}

/// Shows prompt `i`'s card; `opener` is the side tab's button when it opened it.
fn show(s: &Rc<Shared>, i: usize, visitor: &str, opener: Option<Element>) {
    let Some(doc) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let (p, wanted) = {
        let Ok(st) = s.state.try_borrow() else { return };
        (st.entries[i].p.clone(), st.wanted.clone())
    };
    let parent: Option<Element> = if p.display == Display::Inline {
        match doc.query_selector(p.selector.as_deref().unwrap_or("")) {
            Ok(found) => found,
            Err(_) => {
                if let Ok(mut st) = s.state.try_borrow_mut() {
                    st.entries[i].placed = true;
                    let mut line = String::from("config field \"prompts[");
                    line.push_str(&st.entries[i].at.to_string());
                    line.push_str(
                        "].selector\" is not a valid CSS selector; that prompt is not shown",
                    );
                    crate::log(&line);
                }
                return;
            }
        }
    } else {
        doc.body().map(Into::into)
    };
    // The inline host element is not on this page (yet).
    let Some(parent) = parent else { return };
    let variant = (!p.variants.is_empty())
        .then(|| &p.variants[prompt::variant(visitor, &p.id, p.variants.len())]);
    let question = variant.map_or(&p.question, |v| &v.question);
    let language = language(&wanted, question);
    let s_ = i18n::strings(language.0);
    let nudge = match (&s.rewards, p.kind) {
        (Some(r), PromptType::Nps) => r.nudge(language.0),
        _ => String::new(),
    };
    let follow = p.follow_up.clone().unwrap_or_default();
    let band = |t: &Option<Text>| t.as_ref().map(|t| pick(t, &language)).unwrap_or_default();
    let ask = Ask {
        kind: p.kind,
        display: p.display,
        question: pick(question, &language),
        follow: [
            band(&follow.detractor),
            band(&follow.passive),
            band(&follow.promoter),
        ],
        choices: p.choices.iter().map(|c| pick(c, &language)).collect(),
        strings: s_,
        nudge: nudge.clone(),
        nudge_button: i18n::panel(language.0).refer_tab,
    };
    let variant_id = variant.map_or("default".to_string(), |v| v.id.clone());
    let locale = language.0;
    let weak = Rc::downgrade(s);
    let done = {
        let (p, variant_id, nudge) = (p.clone(), variant_id.clone(), nudge.clone());
        On::new(move |outcome: Outcome| {
            let Some(s) = weak.upgrade() else { return };
            outcome_of(&s, i, &p, &variant_id, locale, !nudge.is_empty(), outcome);
        })
    };
    let before = opener.or_else(|| doc.active_element());
    let slot = s.ctx.mount(&parent, move |_| card(ask, done));
    let Some(slot) = slot else { return };
    if let Ok(mut st) = s.state.try_borrow_mut() {
        let x = &mut st.entries[i];
        x.open = true;
        x.shown = true;
        x.before = before;
        if p.display == Display::Inline {
            x.placed = true;
        }
        x.card = Some(slot.clone());
    }
    if matches!(p.display, Display::Modal | Display::Popover) {
        store::save("budget", &Shown { t: now() });
    }
    s.host
        .track("prompt_shown", &props(&p, &variant_id, locale));
    // A modal, and a prompt the shopper opened, take focus: the scale's tab stop, the text
    // box or the first button.
    if matches!(p.display, Display::Modal | Display::Tab) {
        if let Some(surface) = slot.borrow().as_ref() {
            if let Ok(list) = surface
                .root
                .query_selector_all("[role=radio][tabindex=\"0\"],textarea,.thumbs .go")
            {
                let first = (0..list.length())
                    .filter_map(|n| list.item(n)?.dyn_into::<web_sys::HtmlElement>().ok())
                    .find(|e| e.offset_parent().is_some());
                if let Some(first) = first {
                    let _ = first.focus();
                }
            }
        }
    }
}

fn props<'a>(p: &'a Prompt, variant: &'a str, locale: &'static str) -> Props<'a> {
    Props {
        prompt_id: &p.id,
        variant,
        kind: p.kind.name(),
        display: p.display.name(),
        locale,
        score: None,
        text: "",
        choice: None,
        choice_text: "",
    }
}

/// What a card reported.
fn outcome_of(
    s: &Rc<Shared>,
    i: usize,
    p: &Prompt,
    variant: &str,
    locale: &'static str,
    nudges: bool,
    outcome: Outcome,
) {
    if !s.host.running() {
        return close(s, i, true);
    }
    match outcome {
        Outcome::Nudged => {
            // The panel takes focus, and gives it back to what had it before the card.
            let back = s
                .state
                .try_borrow_mut()
                .ok()
                .and_then(|mut st| st.entries[i].before.take());
            close(s, i, false);
            if let Some(r) = &s.rewards {
                r.open(1, back);
            }
        }
        Outcome::Answered(a) => {
            let mut answered: BTreeMap<String, f64> = store::load("answered");
            answered.insert(p.id.clone(), now());
            store::save("answered", &answered);
            if let Ok(mut st) = s.state.try_borrow_mut() {
                st.entries[i].answered = true;
            }
            let choice_text = a
                .choice
                .and_then(|c| p.choices.get(usize::from(c)))
                .map(|c| c.pick("en").to_string())
                .unwrap_or_default();
            let mut props = props(p, variant, locale);
            props.score = a.score;
            props.text = &a.text;
            props.choice = a.choice;
            props.choice_text = &choice_text;
            s.host.track("feedback_submitted", &props);
            // The thank-you closes itself, unless it invites a promoter to refer a friend:
            // that stays until the shopper takes it or closes the card.
            if !(nudges && a.score.is_some_and(|v| v >= 9)) {
                let weak = Rc::downgrade(s);
                Timeout::new(THANKS_MS, move || {
                    if let Some(s) = weak.upgrade() {
                        close(&s, i, true);
                    }
                })
                .forget();
            }
        }
        Outcome::Dismissed => {
            s.host.track("prompt_dismissed", &props(p, variant, locale));
            close(s, i, true);
        }
        Outcome::Closed => close(s, i, true),
    }
}

/// Closes prompt `i`'s card in a task of its own (never inside its own handler). Focus goes
/// back where it was (the tab's button, or what had it before the card) when the card had
/// it: a modal or tab always, a popover or inline card if the shopper was in it.
fn close(s: &Rc<Shared>, i: usize, refocus: bool) {
    let weak = Rc::downgrade(s);
    Timeout::new(0, move || {
        let Some(s) = weak.upgrade() else { return };
        let Ok(mut st) = s.state.try_borrow_mut() else {
            return close(&s, i, refocus);
        };
        let x = &mut st.entries[i];
        let Some(slot) = x.card.take() else { return };
        let inside = slot
            .borrow()
            .as_ref()
            .is_some_and(|sf| sf.focused().is_some());
        shadow::close(&slot);
        x.open = false;
        if x.p.display == Display::Tab && x.answered {
            x.tab = None;
        }
        let always = matches!(x.p.display, Display::Modal | Display::Tab);
        let before = x.before.take();
        drop(st);
        if refocus && (inside || always) {
            shadow::refocus(&before);
        }
    })
    .forget();
}
