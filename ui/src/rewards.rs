//! The loyalty and referral panels' work: reading the shopper's balance and referral code
//! from the loyalty backend (the collector, or the endpoints in the config's `panels`),
//! redeeming with an idempotency key, copying and sharing, and the launcher. The backend is
//! the authority: nothing here changes a balance except asking it to redeem.
//!
//! What the panels show lives in signals, formatted for the shopper's language; the
//! components render them and report what the shopper does as [`Act`]s.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::{Rc, Weak};

use gloo_events::EventListener;
use gloo_timers::callback::{Interval, Timeout};
use js_sys::{Object, Reflect};
use leptos::prelude::*;
use rapport_core::config::{Loyalty, Panels, Programs, Text};
use serde::{Deserialize, Serialize};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Element, Request, RequestInit, Response};

use crate::components::launcher::{launcher, Launch};
use crate::components::panel::{panel, Act, Load, PanelData};
use crate::components::points_panel::{Points, RewardRow};
use crate::components::referral_panel::Invite;
use crate::components::On;
use crate::format::Format;
use crate::host::Host;
use crate::i18n::{self, fill, Panel, Strings};
use crate::shadow::{self, Context, Slot};
use crate::store;

/// The shopper as `identify()` stored them.
#[derive(Clone, Default, Deserialize, PartialEq)]
struct User {
    #[serde(default)]
    id: String,
    #[serde(default)]
    hash: String,
    #[serde(default, with = "serde_wasm_bindgen::preserve")]
    exp: JsValue,
}

impl User {
    fn load() -> Option<User> {
        let u: User = serde_wasm_bindgen::from_value(store::raw("user")).unwrap_or_default();
        (!u.id.is_empty() && !u.hash.is_empty()).then_some(u)
    }

    fn expires(&self) -> String {
        if self.exp.is_undefined() || self.exp.is_null() {
            return String::new();
        }
        to_text(&self.exp)
    }

    /// The whole identity: a renewal (a new hash for the same id) changes it.
    fn identity(&self) -> String {
        let mut s = self.id.clone();
        s.push(' ');
        s.push_str(&self.hash);
        s.push(' ');
        s.push_str(&self.expires());
        s
    }
}

/// What the loyalty backend answers (docs/loyalty-referral.md); read leniently, since it
/// may be another backend with the same contract.
#[derive(Clone, Default, Deserialize)]
#[serde(default)]
struct LoyaltyBody {
    balance: f64,
    tier: Option<TierRef>,
    next_tier: Option<NextTier>,
    ways_to_earn: Option<Ways>,
    rewards: Vec<RewardItem>,
    activity: Vec<Activity>,
}

#[derive(Clone, Default, Deserialize)]
#[serde(default)]
struct TierRef {
    id: String,
    name: Text,
    threshold: f64,
}

#[derive(Clone, Default, Deserialize)]
#[serde(default)]
struct NextTier {
    tier: TierRef,
    points_needed: f64,
}

#[derive(Clone, Default, Deserialize)]
#[serde(default)]
struct Ways {
    feedback_points: f64,
    referral_points: f64,
    points_per_currency_unit: f64,
}

#[derive(Clone, Default, Deserialize)]
#[serde(default)]
struct RewardItem {
    reward: RewardRef,
    affordable: bool,
}

#[derive(Clone, Default, Deserialize)]
#[serde(default)]
struct RewardRef {
    #[serde(with = "serde_wasm_bindgen::preserve")]
    id: JsValue,
    name: Text,
    cost: f64,
}

#[derive(Clone, Default, Deserialize)]
#[serde(default)]
struct Activity {
    reason: String,
    points: f64,
    #[serde(with = "serde_wasm_bindgen::preserve")]
    at: JsValue,
}

#[derive(Clone, Default, Deserialize)]
#[serde(default)]
struct ReferralBody {
    code: Option<String>,
    offer: Option<Text>,
    stats: Stats,
}

#[derive(Clone, Default, Deserialize)]
#[serde(default)]
struct Stats {
    invited: f64,
    joined: f64,
    rewards_pending: f64,
    rewards_earned: f64,
}

#[derive(Deserialize)]
struct Redeemed {
    coupon: String,
    #[serde(default)]
    balance: f64,
}

#[derive(Default, Deserialize, Serialize)]
struct Kept {
    #[serde(default)]
    c: String,
    #[serde(default)]
    b: Option<f64>,
}

/// A string or number as text, as JavaScript's `String(v)` would write it.
fn to_text(v: &JsValue) -> String {
    match v.as_string() {
        Some(s) => s,
        None if v.as_f64().is_some() => v.unchecked_ref::<Object>().to_string().into(),
        None => String::new(),
    }
}

/// The panels' state that is not on screen.
#[derive(Default)]
struct St {
    who: String,
    signed: String,
    l: Option<LoyaltyBody>,
    r: Option<ReferralBody>,
    l_state: Load,
    r_state: Load,
    coupon: Option<(String, String)>,
    keys: BTreeMap<String, String>,
    l_seq: u32,
    l_applied: u32,
    r_seq: u32,
    r_applied: u32,
    sheet: Option<Slot>,
    launch: Option<Slot>,
    opener: Option<Element>,
    gain_timer: Option<Timeout>,
    /// Focus this `data-k` once the panel shows it.
    focus_next: Option<&'static str>,
}

struct Inner {
    host: Host,
    ctx: Context,
    s: &'static Strings,
    p: &'static Panel,
    fmt: Format,
    program: Option<Loyalty>,
    offer: Option<Text>,
    settings: Panels,
    loyalty_url: String,
    referral_url: String,
    redeem_url: String,
    sign_in: String,
    share_url: String,
    st: RefCell<St>,
    tab: ArcRwSignal<usize>,
    status: ArcRwSignal<String>,
    said: ArcRwSignal<String>,
    points: ArcRwSignal<Points>,
    invite: ArcRwSignal<Invite>,
    launch: ArcRwSignal<Launch>,
    tier_id: RefCell<Option<String>>,
    on_tier: RefCell<Option<Rc<dyn Fn()>>>,
    stopped: Cell<bool>,
    _watch: RefCell<Option<Interval>>,
    _listeners: RefCell<Vec<EventListener>>,
}

/// The panels, shared with the prompts (the promoters' invitation, tier conditions).
#[derive(Clone)]
pub struct Rewards(Rc<Inner>);

/// An endpoint from the config: absolute http(s), or a path on this page's origin; else the
/// collector's (`path` under the host's API).
fn address(given: &Option<String>, host: &Host, path: Option<&str>) -> String {
    match given {
        None => match path {
            Some(p) if !host.api().is_empty() => {
                let mut u = host.api();
                u.push_str(p);
                u
            }
            _ => String::new(),
        },
        // Checked by the config's rules; resolved against the page.
        Some(url) => {
            let base = web_sys::window()
                .and_then(|w| w.location().href().ok())
                .unwrap_or_default();
            web_sys::Url::new_with_base(url, &base)
                .map(|u| u.href())
                .unwrap_or_default()
        }
    }
}

/// Starts the panels when the config has a loyalty program or a referral offer.
pub fn start(host: &Host, ctx: &Context, programs: &Programs) -> Option<Rewards> {
    let offer = programs.referral.as_ref().map(|r| r.offer.clone());
    if programs.loyalty.is_none() && offer.is_none() {
        return None;
    }
    let nav = web_sys::window()?.navigator();
    let mut wanted: Vec<String> = Vec::new();
    let locale = host.locale();
    if !locale.is_empty() {
        wanted.push(locale);
    }
    wanted.extend(nav.languages().iter().filter_map(|l| l.as_string()));
    wanted.extend(nav.language());
    let lang = i18n::resolve(wanted.iter().map(String::as_str));
    let settings = programs.panels.clone().unwrap_or_default();
    let origin = web_sys::window()?.location().origin().ok()?;
    let share_url = match &settings.share_url {
        Some(_) => address(&settings.share_url, host, None),
        None => origin + "/",
    };
    let inner = Rc::new(Inner {
        host: host.clone(),
        ctx: ctx.clone(),
        s: i18n::strings(lang),
        p: i18n::panel(lang),
        fmt: Format::new(lang, settings.currency.as_deref()),
        program: programs.loyalty.clone(),
        offer,
        loyalty_url: address(&settings.loyalty_url, host, Some("loyalty")),
        referral_url: address(&settings.referral_url, host, Some("referral")),
        redeem_url: address(&settings.redeem_url, host, Some("loyalty/redeem")),
        sign_in: address(&settings.sign_in_url, host, None),
        share_url,
        settings,
        st: RefCell::default(),
        tab: ArcRwSignal::new(0),
        status: ArcRwSignal::new(String::new()),
        said: ArcRwSignal::new(String::new()),
        points: ArcRwSignal::new(Points::default()),
        invite: ArcRwSignal::new(Invite::default()),
        launch: ArcRwSignal::new(Launch::default()),
        tier_id: RefCell::new(None),
        on_tier: RefCell::new(None),
        stopped: Cell::new(false),
        _watch: RefCell::new(None),
        _listeners: RefCell::new(Vec::new()),
    });
    let r = Rewards(inner);
    r.listen();
    r.show();
    r.place_launcher(); // before any reading, so its live region exists when points arrive
    r.refresh();
    Some(r)
}

impl Rewards {
    fn weak(&self) -> Weak<Inner> {
        Rc::downgrade(&self.0)
    }

    fn with(weak: &Weak<Inner>, f: impl FnOnce(&Rewards)) {
        if let Some(inner) = weak.upgrade() {
            let r = Rewards(inner);
            if !r.0.stopped.get() {
                f(&r);
            }
        }
    }

    /// Elements of the page open a panel (`data-rapport-panel="loyalty"` or `"referral"`);
    /// the page coming back re-reads; the identity is looked at every second.
    fn listen(&self) {
        let Some(doc) = web_sys::window().and_then(|w| w.document()) else {
            return;
        };
        let weak = self.weak();
        let click = EventListener::new(&doc, "click", move |e| {
            let el = e
                .target()
                .and_then(|t| t.dyn_into::<Element>().ok())
                .and_then(|t| t.closest("[data-rapport-panel]").ok().flatten());
            let Some(el) = el else { return };
            Rewards::with(&weak, |r| {
                let which = el.get_attribute("data-rapport-panel").as_deref() == Some("referral")
                    && r.0.offer.is_some();
                if r.open(usize::from(which), Some(el.clone())) {
                    e.prevent_default();
                }
            });
        });
        let weak = self.weak();
        let visible = EventListener::new(&doc, "visibilitychange", move |_| {
            Rewards::with(&weak, |r| {
                let shown = web_sys::window()
                    .and_then(|w| w.document())
                    .is_some_and(|d| d.visibility_state() == web_sys::VisibilityState::Visible);
                let who =
                    r.0.st
                        .try_borrow()
                        .map(|st| !st.who.is_empty())
                        .unwrap_or(false);
                if shown && who {
                    r.refresh();
                }
            });
        });
        let weak = self.weak();
        // Signing in or out (here or in another tab) shows in the launcher and the panel;
        // once tracking stops, so does all of this.
        let watch = Interval::new(1000, move || {
            Rewards::with(&weak, |r| {
                if !r.0.host.running() {
                    r.halt();
                    let weak = r.weak();
                    Timeout::new(0, move || {
                        if let Some(inner) = weak.upgrade() {
                            inner._watch.borrow_mut().take();
                        }
                    })
                    .forget();
                    return;
                }
                let signed = User::load().map(|u| u.identity()).unwrap_or_default();
                let changed = r.0.st.try_borrow().is_ok_and(|st| st.signed != signed);
                if changed {
                    r.refresh();
                }
            });
        });
        self.0._listeners.borrow_mut().extend([click, visible]);
        *self.0._watch.borrow_mut() = Some(watch);
    }

    /// Stops the panels: listeners, the identity watch, pending celebrations, surfaces.
    pub fn stop(&self) {
        self.halt();
        self.0._watch.borrow_mut().take();
    }

    /// As [`Rewards::stop`], from inside the watch's own callback, which must not drop
    /// itself: the interval is dropped in a task of its own.
    fn halt(&self) {
        self.0.stopped.set(true);
        self.0._listeners.borrow_mut().clear();
        if let Ok(mut st) = self.0.st.try_borrow_mut() {
            st.gain_timer = None;
        }
        self.0.ctx.close_all();
    }

    /// Calls `f` when the shopper's tier (for `loyalty_tier` conditions) changes.
    pub fn on_tier(&self, f: impl Fn() + 'static) {
        *self.0.on_tier.borrow_mut() = Some(Rc::new(f));
    }

    /// The identified shopper's tier id, as the backend last said.
    pub fn tier(&self) -> Option<String> {
        self.0.tier_id.borrow().clone()
    }

    fn set_tier(&self, id: Option<String>) {
        let changed = *self.0.tier_id.borrow() != id;
        *self.0.tier_id.borrow_mut() = id;
        if changed {
            let f = self.0.on_tier.borrow().clone();
            if let Some(f) = f {
                f();
            }
        }
    }

    /// An event the tracker emitted: answers and orders may earn points once the backend
    /// has them, so look again shortly.
    pub fn heard(&self, name: &str) {
        let who = self
            .0
            .st
            .try_borrow()
            .map(|st| !st.who.is_empty())
            .unwrap_or(false);
        if who && matches!(name, "feedback_submitted" | "purchase") {
            for ms in [1500, 4000, 10000] {
                let weak = self.weak();
                Timeout::new(ms, move || Rewards::with(&weak, Rewards::refresh)).forget();
            }
        }
    }

    /// The promoters' invitation in `lang`, with the offer in that language; empty when
    /// there is no offer or the site turned it off.
    pub fn nudge(&self, lang: &str) -> String {
        match &self.0.offer {
            Some(offer) if self.0.settings.nudge_promoters != Some(false) => {
                let mut s = String::from(i18n::panel(lang).nudge);
                s.push(' ');
                s.push_str(offer.pick(lang));
                s
            }
            _ => String::new(),
        }
    }

    fn lang(&self) -> &'static str {
        self.0.s.lang
    }

    /// Updates the signals from the state.
    fn show(&self) {
        let Ok(st) = self.0.st.try_borrow() else {
            return;
        };
        let (fmt, p, lang) = (&self.0.fmt, self.0.p, self.lang());
        let n = |v: f64| fmt.n(v);
        if let Some(program) = &self.0.program {
            let earn_from = |w: Option<&Ways>| {
                let w = w.cloned().unwrap_or_default();
                [
                    ("feedback", w.feedback_points),
                    ("referral", w.referral_points),
                    ("order", w.points_per_currency_unit),
                ]
                .into_iter()
                .filter(|(_, v)| *v > 0.0)
                .map(|(k, v)| (k, n(v)))
                .collect::<Vec<_>>()
            };
            let tiers = program
                .tiers
                .iter()
                .map(|t| (t.name.pick(lang).to_string(), n(t.threshold as f64)))
                .collect::<Vec<_>>();
            let points = match &st.l {
                None => {
                    let ways = Ways {
                        feedback_points: f64::from(program.feedback_points),
                        referral_points: f64::from(program.referral_points),
                        points_per_currency_unit: f64::from(program.points_per_currency_unit),
                    };
                    Points {
                        state: st.l_state,
                        unit: fmt.unit.clone(),
                        tiers,
                        earn: earn_from(Some(&ways)),
                        ..Points::default()
                    }
                }
                Some(l) => {
                    let base = l.tier.as_ref().map_or(0.0, |t| t.threshold);
                    let next = l.next_tier.as_ref();
                    let span = next.map_or(0.0, |x| x.tier.threshold - base);
                    let left = next.map_or(0.0, |x| x.points_needed);
                    let progress = if span > 0.0 {
                        (100.0 * (span - left) / span).floor().clamp(0.0, 100.0) as u8
                    } else {
                        100
                    };
                    Points {
                        state: st.l_state,
                        signed_in: true,
                        balance: n(l.balance),
                        tier: l
                            .tier
                            .as_ref()
                            .map(|t| t.name.pick(lang).to_string())
                            .unwrap_or_default(),
                        next: next.map(|x| (n(left), x.tier.name.pick(lang).to_string())),
                        progress,
                        unit: fmt.unit.clone(),
                        earn: earn_from(l.ways_to_earn.as_ref()),
                        tiers,
                        rewards: l
                            .rewards
                            .iter()
                            .map(|x| RewardRow {
                                id: to_text(&x.reward.id),
                                name: x.reward.name.pick(lang).to_string(),
                                cost: n(x.reward.cost),
                                affordable: x.affordable,
                            })
                            .collect(),
                        activity: l
                            .activity
                            .iter()
                            .take(8)
                            .map(|a| (a.reason.clone(), fmt.signed(a.points), fmt.day(&a.at)))
                            .collect(),
                        coupon: st.coupon.clone(),
                    }
                }
            };
            self.0.points.maybe_update(|old| {
                let changed = *old != points;
                if changed {
                    *old = points;
                }
                changed
            });
        }
        if let Some(offer) = &self.0.offer {
            let offer_text =
                st.r.as_ref()
                    .and_then(|r| r.offer.as_ref())
                    .unwrap_or(offer)
                    .pick(lang)
                    .to_string();
            let invite = match st.r.as_ref().and_then(|r| Some((r, r.code.clone()?))) {
                None => Invite {
                    state: st.r_state,
                    offer: offer_text,
                    ..Invite::default()
                },
                Some((r, code)) => {
                    let link = self.link(&code);
                    let e = |t: &str| String::from(js_sys::encode_uri_component(t));
                    let message = p.message;
                    let mut both = String::from(message);
                    both.push(' ');
                    both.push_str(&link);
                    let both = e(&both);
                    let cat = |parts: &[&str]| parts.concat();
                    let can_share = web_sys::window().is_some_and(|w| {
                        Reflect::has(&w.navigator(), &JsValue::from_str("share")).unwrap_or(false)
                    });
                    Invite {
                        state: st.r_state,
                        signed_in: true,
                        offer: offer_text,
                        link: link.clone(),
                        can_share,
                        shares: vec![
                            ("WhatsApp".into(), cat(&["https://wa.me/?text=", &both])),
                            (
                                "LINE".into(),
                                cat(&["https://line.me/R/share?text=", &both]),
                            ),
                            (
                                "Telegram".into(),
                                cat(&[
                                    "https://t.me/share/url?url=",
                                    &e(&link),
                                    "&text=",
                                    &e(message),
                                ]),
                            ),
                            (
                                "X".into(),
                                cat(&[
                                    "https://x.com/intent/post?text=",
                                    &e(message),
                                    "&url=",
                                    &e(&link),
                                ]),
                            ),
                            (
                                "Facebook".into(),
                                cat(&["https://www.facebook.com/sharer/sharer.php?u=", &e(&link)]),
                            ),
                            (
                                "Email".into(),
                                cat(&["mailto:?subject=", &e(p.subject), "&body=", &both]),
                            ),
                        ],
                        stats: [
                            n(r.stats.invited),
                            n(r.stats.joined),
                            n(r.stats.rewards_pending),
                            n(r.stats.rewards_earned),
                        ],
                    }
                }
            };
            self.0.invite.maybe_update(|old| {
                let changed = *old != invite;
                if changed {
                    *old = invite;
                }
                changed
            });
        }
        let focus = st.focus_next;
        let sheet = st.sheet.clone();
        drop(st);
        if let (Some(key), Some(sheet)) = (focus, sheet) {
            // After the panel has drawn what changed.
            let weak = self.weak();
            request_animation_frame(move || {
                if let Some(surface) = sheet.borrow().as_ref() {
                    let selector = ["[data-k=\"", key, "\"]"].concat();
                    if !surface.focus(&selector) {
                        surface.focus(".x");
                    }
                }
                if let Some(inner) = weak.upgrade() {
                    if let Ok(mut st) = inner.st.try_borrow_mut() {
                        st.focus_next = None;
                    }
                }
            });
        }
    }

    fn link(&self, code: &str) -> String {
        match web_sys::Url::new(&self.0.share_url) {
            Ok(u) => {
                u.search_params().set(&self.0.host.ref_param(), code);
                u.href()
            }
            Err(_) => String::new(),
        }
    }

    /// The launcher in the corner, updated with the balance, the gain and the panel's state.
    fn place_launcher(&self) {
        if self.0.settings.launcher == Some(false) || !self.0.host.running() {
            return;
        }
        let has = self
            .0
            .st
            .try_borrow()
            .is_ok_and(|st| shadow::is_open(&st.launch));
        if !has {
            let Some(body) = web_sys::window()
                .and_then(|w| w.document())
                .and_then(|d| d.body())
            else {
                return;
            };
            let (s, p) = (self.0.s, self.0.p);
            let state = self.0.launch.clone();
            let weak = self.weak();
            let slot = self.0.ctx.mount(&body, move |root| {
                launcher(s, p, Signal::derive(move || state.get()), move || {
                    let root = root.clone();
                    Rewards::with(&weak, move |r| {
                        let open =
                            r.0.st
                                .try_borrow()
                                .is_ok_and(|st| shadow::is_open(&st.sheet));
                        if open {
                            r.close();
                        } else {
                            r.open(
                                r.0.tab.get_untracked(),
                                root.query_selector("button").ok().flatten(),
                            );
                        }
                    });
                })
            });
            if let Ok(mut st) = self.0.st.try_borrow_mut() {
                st.launch = slot;
            }
        }
        let (balance, expanded) = match self.0.st.try_borrow() {
            Ok(st) => (
                st.l.as_ref()
                    .map(|l| self.0.fmt.n(l.balance))
                    .unwrap_or_default(),
                shadow::is_open(&st.sheet),
            ),
            Err(_) => return,
        };
        self.0.launch.update(|l| {
            l.balance = balance;
            l.expanded = expanded;
        });
    }

    /// Says `text` through a live region: emptied first and filled in a later task, so the
    /// same words again are still announced.
    fn announce(region: &ArcRwSignal<String>, text: String) {
        region.set(String::new());
        let region = region.clone();
        Timeout::new(150, move || region.set(text)).forget();
    }

    /// The balance grew: "+N points" on the launcher for a few seconds, announced in the
    /// launcher's own live region.
    fn celebrate(&self, gain: f64) {
        let g = self.0.fmt.signed(gain);
        let heard = fill(self.0.p.points, &[("n", &g)]);
        self.0.launch.update(|l| {
            l.gain = g;
            l.said = String::new();
        });
        let launch = self.0.launch.clone();
        Timeout::new(150, move || launch.update(|l| l.said = heard)).forget();
        let weak = self.weak();
        let timer = Timeout::new(4000, move || {
            Rewards::with(&weak, |r| r.0.launch.update(|l| l.gain = String::new()));
        });
        if let Ok(mut st) = self.0.st.try_borrow_mut() {
            st.gain_timer = Some(timer);
        }
    }

    /// Opens the panel on `which` (0 points, 1 referral); `from` gets focus back on close.
    pub fn open(&self, which: usize, from: Option<Element>) -> bool {
        if !self.0.host.running() {
            return false;
        }
        self.0.tab.set(which);
        self.0.status.set(String::new());
        let opener = from.or_else(|| {
            web_sys::window()
                .and_then(|w| w.document())
                .and_then(|d| d.active_element())
        });
        let has = match self.0.st.try_borrow_mut() {
            Ok(mut st) => {
                st.opener = opener;
                shadow::is_open(&st.sheet)
            }
            Err(_) => return false,
        };
        if !has {
            let Some(body) = web_sys::window()
                .and_then(|w| w.document())
                .and_then(|d| d.body())
            else {
                return false;
            };
            let (s, p) = (self.0.s, self.0.p);
            let weak = self.weak();
            let (tab, status, said, points, invite) = (
                self.0.tab.clone(),
                self.0.status.clone(),
                self.0.said.clone(),
                self.0.points.clone(),
                self.0.invite.clone(),
            );
            let has_points = self.0.program.is_some();
            let has_invite = self.0.offer.is_some();
            let sign_in = self.0.sign_in.clone();
            let slot = self.0.ctx.mount(&body, move |_| {
                let data = PanelData {
                    tab: RwSignal::from(tab),
                    status: Signal::derive(move || status.get()),
                    said: Signal::derive(move || said.get()),
                    sign_in,
                    points: has_points.then(|| Signal::derive(move || points.get())),
                    invite: has_invite.then(|| Signal::derive(move || invite.get())),
                };
                panel(
                    s,
                    p,
                    data,
                    On::new(move |a: Act| Rewards::with(&weak, |r| r.act(a))),
                )
            });
            if let Ok(mut st) = self.0.st.try_borrow_mut() {
                st.sheet = slot;
            }
        }
        self.refresh(); // shows "Loading…" until what is missing has arrived
        self.place_launcher(); // aria-expanded
        if let Ok(st) = self.0.st.try_borrow() {
            if let Some(surface) = st
                .sheet
                .as_ref()
                .and_then(|s| s.borrow().as_ref().map(|x| x.root.clone()))
            {
                if !shadow::focus_in(&surface, "[role=tab][aria-selected=true]") {
                    shadow::focus_in(&surface, ".x");
                }
            }
        }
        #[derive(Serialize)]
        struct Opened {
            panel: &'static str,
        }
        self.0.host.track(
            "panel_opened",
            &Opened {
                panel: if which == 1 { "referral" } else { "loyalty" },
            },
        );
        true
    }

    /// Closes the panel, in a task of its own (never inside its own handler); focus goes
    /// back to what opened it.
    fn close(&self) {
        let weak = self.weak();
        Timeout::new(0, move || {
            Rewards::with(&weak, |r| {
                let Ok(mut st) = r.0.st.try_borrow_mut() else {
                    return;
                };
                let Some(slot) = st.sheet.take() else { return };
                let inside = slot
                    .borrow()
                    .as_ref()
                    .is_some_and(|s| s.focused().is_some());
                shadow::close(&slot);
                // The launcher's button, or what else opened the panel.
                let back = st.opener.take();
                let launch_button = st
                    .launch
                    .as_ref()
                    .and_then(|l| l.borrow().as_ref().map(|s| s.root.clone()))
                    .and_then(|root| root.query_selector("button").ok().flatten());
                drop(st);
                r.place_launcher();
                if inside {
                    let from_launcher = match (&back, &launch_button) {
                        (Some(b), Some(l)) => b == l,
                        _ => false,
                    };
                    shadow::refocus(if from_launcher { &launch_button } else { &back });
                }
            });
        })
        .forget();
    }

    fn act(&self, a: Act) {
        match a {
            Act::Close => self.close(),
            Act::Tab(i) => self.0.tab.set(i),
            Act::Retry => self.refresh(),
            Act::Copy(text) => self.copy(text),
            Act::Share => self.share(),
            Act::Opened(name) => self.shared(&name.to_ascii_lowercase()),
            Act::Redeem(id) => self.redeem(id),
        }
    }

    fn shared(&self, channel: &str) {
        #[derive(Serialize)]
        struct Shared<'a> {
            channel: &'a str,
        }
        self.0.host.track("referral_shared", &Shared { channel });
    }

    /// What the panel says: shown in it, and announced.
    fn say(&self, text: String) {
        self.0.status.set(text.clone());
        Self::announce(&self.0.said, text);
    }

    fn code(&self) -> Option<String> {
        self.0.st.try_borrow().ok()?.r.as_ref()?.code.clone()
    }

    fn copy(&self, text: String) {
        let weak = self.weak();
        let done = move |ok: bool, text: String| {
            Rewards::with(&weak, |r| {
                if !ok {
                    return r.say(r.0.p.not_copied.to_string());
                }
                r.say(r.0.p.copied.to_string());
                if r.code().is_some_and(|c| r.link(&c) == text) {
                    r.shared("copy");
                }
            });
        };
        let Some(window) = web_sys::window() else {
            return;
        };
        let written = window.navigator().clipboard().write_text(&text);
        let weak = self.weak();
        settle(
            written,
            Box::new(move |written| {
                // Without the Clipboard API (or refused), a selected off-screen field and
                // execCommand.
                let ok = written.is_ok() || Self::fallback_copy(&weak, &text);
                done(ok, text);
            }),
        );
    }

    fn fallback_copy(weak: &Weak<Inner>, text: &str) -> bool {
        let Some(inner) = weak.upgrade() else {
            return false;
        };
        let Ok(st) = inner.st.try_borrow() else {
            return false;
        };
        let Some(root) = st
            .sheet
            .as_ref()
            .and_then(|s| s.borrow().as_ref().map(|x| x.root.clone()))
        else {
            return false;
        };
        let Some(doc) = web_sys::window().and_then(|w| w.document()) else {
            return false;
        };
        let Ok(field) = doc.create_element("textarea") else {
            return false;
        };
        let Ok(field) = field.dyn_into::<web_sys::HtmlTextAreaElement>() else {
            return false;
        };
        field.set_value(text);
        let _ = field.set_attribute("readonly", "");
        field.set_class_name("sr");
        let _ = root.append_child(&field);
        field.select();
        let ok = doc
            .dyn_ref::<web_sys::HtmlDocument>()
            .is_some_and(|d| d.exec_command("copy").unwrap_or(false));
        field.remove();
        ok
    }

    fn share(&self) {
        let Some(code) = self.code() else { return };
        let Some(window) = web_sys::window() else {
            return;
        };
        let data = web_sys::ShareData::new();
        data.set_title(self.0.p.subject);
        data.set_text(self.0.p.message);
        data.set_url(&self.link(&code));
        let promise = window.navigator().share_with_data(&data);
        let weak = self.weak();
        settle(
            promise,
            Box::new(move |shared| {
                if shared.is_ok() {
                    Rewards::with(&weak, |r| r.shared("web_share"));
                }
            }),
        );
    }

    fn headers(&self, u: &User, extra: &[(&str, &str)]) -> Option<web_sys::Headers> {
        let h = web_sys::Headers::new().ok()?;
        h.set("x-rapport-user", &u.id).ok()?;
        h.set("x-rapport-user-hash", &u.hash).ok()?;
        let exp = u.expires();
        if !exp.is_empty() {
            h.set("x-rapport-user-expires", &exp).ok()?;
        }
        if let Some(f) = self.0.host.facts().filter(|f| !f.visitor.is_empty()) {
            h.set("x-rapport-visitor", &f.visitor).ok()?;
        }
        for (k, v) in extra {
            h.set(k, v).ok()?;
        }
        Some(h)
    }

    /// A read's outcome: `Ok(None)` for 401 (the identity is not, or no longer, valid), `Err`
    /// for a failure.
    fn body<T: for<'de> Deserialize<'de>>(answer: Answer) -> Result<Option<T>, ()> {
        match answer {
            Some((401, _)) => Ok(None),
            Some((_, Some(body))) => serde_wasm_bindgen::from_value(body)
                .map(Some)
                .map_err(|_| ()),
            _ => Err(()),
        }
    }

    pub fn refresh(&self) {
        let u = User::load();
        let id = u.as_ref().map(|u| u.id.clone()).unwrap_or_default();
        let (want_l, want_r, l_seq, r_seq) = {
            let Ok(mut st) = self.0.st.try_borrow_mut() else {
                return;
            };
            if id != st.who {
                // Another shopper, or none: nothing of the last one stays, on screen or
                // stored.
                st.l = None;
                st.r = None;
                st.coupon = None;
                st.l_state = Load::Ready;
                st.r_state = Load::Ready;
                st.keys.clear();
                st.l_applied = st.l_seq;
                st.r_applied = st.r_seq;
                self.0.status.set(String::new());
                if id.is_empty() {
                    store::save("points", &Kept::default());
                }
            }
            st.who = id.clone();
            st.signed = u.as_ref().map(User::identity).unwrap_or_default();
            let want_l = u.is_some() && self.0.program.is_some() && !self.0.loyalty_url.is_empty();
            let want_r = u.is_some()
                && shadow::is_open(&st.sheet)
                && self.0.offer.is_some()
                && !self.0.referral_url.is_empty();
            if want_l && st.l.is_none() {
                st.l_state = Load::Loading;
            }
            if want_r && st.r.is_none() {
                st.r_state = Load::Loading;
            }
            if want_l {
                st.l_seq += 1;
            }
            if want_r {
                st.r_seq += 1;
            }
            (want_l, want_r, st.l_seq, st.r_seq)
        };
        if id.is_empty() || (!want_l && !want_r) {
            self.set_tier(None);
        }
        self.show();
        self.place_launcher();
        let Some(u) = u else { return };
        if want_l {
            let init = RequestInit::new();
            if let Some(h) = self.headers(&u, &[]) {
                init.set_headers(&h);
            }
            let (url, weak, id) = (self.0.loyalty_url.clone(), self.weak(), id.clone());
            request(
                &url,
                &init,
                Box::new(move |answer| {
                    let answer = Self::body::<LoyaltyBody>(answer);
                    Rewards::with(&weak, |r| r.loyalty_read(&id, l_seq, answer));
                }),
            );
        }
        if want_r {
            let init = RequestInit::new();
            if let Some(h) = self.headers(&u, &[]) {
                init.set_headers(&h);
            }
            let (url, weak, id) = (self.0.referral_url.clone(), self.weak(), id);
            request(
                &url,
                &init,
                Box::new(move |answer| {
                    let answer = Self::body::<ReferralBody>(answer);
                    Rewards::with(&weak, |r| {
                        if let Ok(mut st) = r.0.st.try_borrow_mut() {
                            if st.who != id || r_seq <= st.r_applied {
                                return; // another shopper, or a newer answer is in
                            }
                            match answer {
                                Ok(body) => {
                                    st.r_applied = r_seq;
                                    st.r = body;
                                    st.r_state = Load::Ready;
                                }
                                // The latest read failed, with nothing to show.
                                Err(()) if r_seq == st.r_seq && st.r.is_none() => {
                                    st.r_state = Load::Failed
                                }
                                Err(()) => {}
                            }
                        }
                        r.show();
                    });
                }),
            );
        }
    }

    fn loyalty_read(&self, id: &str, seq: u32, answer: Result<Option<LoyaltyBody>, ()>) {
        let gain = {
            let Ok(mut st) = self.0.st.try_borrow_mut() else {
                return;
            };
            if st.who != id || seq <= st.l_applied {
                return; // another shopper, or a newer answer is in
            }
            match answer {
                Ok(body) => {
                    st.l_applied = seq;
                    st.l_state = Load::Ready;
                    let before: Kept = store::load("points");
                    let balance = body.as_ref().map(|b| b.balance);
                    st.l = body;
                    if let Some(b) = balance {
                        store::save(
                            "points",
                            &Kept {
                                c: id.into(),
                                b: Some(b),
                            },
                        );
                    }
                    match (balance, before.b) {
                        (Some(now), Some(was)) if before.c == id && now > was => Some(now - was),
                        _ => None,
                    }
                }
                Err(()) => {
                    if seq == st.l_seq && st.l.is_none() {
                        st.l_state = Load::Failed;
                    }
                    None
                }
            }
        };
        let tier = self
            .0
            .st
            .try_borrow()
            .ok()
            .and_then(|st| st.l.as_ref()?.tier.as_ref().map(|t| t.id.clone()));
        self.set_tier(tier);
        self.show();
        self.place_launcher();
        if let Some(g) = gain {
            self.celebrate(g);
        }
    }

    /// One key per reward until the backend has decided (an answer other than 5xx), so a
    /// retried or doubled click spends once.
    fn redeem(&self, reward: String) {
        let Some(u) = User::load() else { return };
        let (key, name) = {
            let Ok(mut st) = self.0.st.try_borrow_mut() else {
                return;
            };
            let found = st.l.as_ref().and_then(|l| {
                l.rewards
                    .iter()
                    .find(|x| to_text(&x.reward.id) == reward)
                    .map(|x| x.reward.name.pick(self.lang()).to_string())
            });
            let (Some(name), true) = (found, u.id == st.who) else {
                return;
            };
            if self.0.redeem_url.is_empty() {
                return;
            }
            let key = st
                .keys
                .entry(reward.clone())
                .or_insert_with(|| {
                    web_sys::window()
                        .and_then(|w| w.crypto().ok())
                        .map(|c| c.random_uuid())
                        .unwrap_or_else(|| {
                            // No randomUUID (an insecure context): random digits.
                            let n = js_sys::Math::random() * 9e15;
                            to_text(&JsValue::from_f64(n.floor()))
                        })
                })
                .clone();
            (key, name)
        };
        let init = RequestInit::new();
        init.set_method("POST");
        if let Some(h) = self.headers(
            &u,
            &[
                ("content-type", "application/json"),
                ("idempotency-key", &key),
            ],
        ) {
            init.set_headers(&h);
        }
        let body = Object::new();
        let _ = Reflect::set(&body, &"reward".into(), &JsValue::from_str(&reward));
        if let Ok(text) = js_sys::JSON::stringify(&body) {
            init.set_body(&text);
        }
        let (url, weak, mine) = (self.0.redeem_url.clone(), self.weak(), u.id.clone());
        request(
            &url,
            &init,
            Box::new(move |answer| {
                let mut redeemed = None;
                if let Some((status, body)) = answer {
                    // The backend has decided on this key: a new attempt gets a new one.
                    if status < 500 {
                        if let Some(inner) = weak.upgrade() {
                            if let Ok(mut st) = inner.st.try_borrow_mut() {
                                if st.who == mine {
                                    st.keys.remove(&reward);
                                }
                            }
                        }
                    }
                    redeemed =
                        body.and_then(|b| serde_wasm_bindgen::from_value::<Redeemed>(b).ok());
                }
                Rewards::with(&weak, |r| {
                    let same = r.0.st.try_borrow().is_ok_and(|st| st.who == mine);
                    if !same {
                        return; // signed out or in as someone else meanwhile
                    }
                    match redeemed {
                        Some(done) => {
                            #[derive(Serialize)]
                            struct Redemption<'a> {
                                reward: &'a str,
                            }
                            r.0.host
                                .track("reward_redeemed", &Redemption { reward: &reward });
                            store::save(
                                "points",
                                &Kept {
                                    c: mine.clone(),
                                    b: Some(done.balance),
                                },
                            );
                            if let Ok(mut st) = r.0.st.try_borrow_mut() {
                                st.coupon = Some((name.clone(), done.coupon.clone()));
                                st.focus_next = Some("code");
                            }
                            r.say(done.coupon);
                        }
                        None => r.say(r.0.p.not_redeemed.to_string()),
                    }
                    r.refresh();
                });
            }),
        );
    }
}

/// What a request got: `None` without a response; else its status, and its body when it
/// succeeded (2xx) with a JSON object.
type Answer = Option<(u16, Option<JsValue>)>;

/// Waits for `promise` and hands its outcome to `then`. Every wait of the panels goes through
/// here, so they share one future (and one `spawn_local`) instead of an async state machine
/// each.
fn settle(promise: js_sys::Promise, then: Box<dyn FnOnce(Result<JsValue, JsValue>)>) {
    wasm_bindgen_futures::spawn_local(async move { then(JsFuture::from(promise).await) });
}

/// Fetches `url` (and its JSON body when it succeeded) and hands the [`Answer`] to `then`.
fn request(url: &str, init: &RequestInit, then: Box<dyn FnOnce(Answer)>) {
    // A request that cannot be made fails as a fetch would: later, not inside the caller.
    let fetched = web_sys::window()
        .zip(Request::new_with_str_and_init(url, init).ok())
        .map(|(w, req)| w.fetch_with_request(&req))
        .unwrap_or_else(|| js_sys::Promise::reject(&JsValue::NULL));
    settle(
        fetched,
        Box::new(move |res| {
            let Some(res) = res.ok().and_then(|r| r.dyn_into::<Response>().ok()) else {
                return then(None);
            };
            let status = res.status();
            match res.json() {
                Ok(body) if res.ok() => settle(
                    body,
                    Box::new(move |body| {
                        then(Some((status, body.ok().filter(JsValue::is_object))))
                    }),
                ),
                _ => then(Some((status, None))),
            }
        }),
    );
}
