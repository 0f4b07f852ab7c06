//! The visit (ids and campaign here, numbers in the engine, shared by the origin's tabs
//! through storage), the page views, and the events the engine's commands call for.

use js_sys::{Object, Reflect, Uint8Array};
use rapport_core::{Command, Visit};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Url, UrlSearchParams, Window};

use crate::{bare, get, ms, set, Driver};

/// Storage keys start with this.
pub const PREFIX: &str = "rapport:";
const UTM: [&str; 5] = [
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
];

#[derive(Default)]
pub struct VisitState {
    /// Visitor and session ids, the session's campaign and its experiments (id → variant).
    pub visitor: String,
    pub session: String,
    pub session_campaign: String,
    pub experiments: Option<Object>,
    pub pageview: String,
    pub page_url: String,
    pub referrer: String,
    next_url: String,
    next_referrer: String,
    /// The campaign of the page view under way.
    campaign: String,
    /// The URL of the last page view (client-side navigations compare with it).
    pub last_href: String,
    /// `{ t: captured at, p: { utm_*, referral_code } }`.
    pub attribution: Option<Object>,
}

/// A random version-4 UUID from `crypto.getRandomValues` (`crypto.randomUUID` exists only in
/// secure contexts, and shops on plain http must still work).
pub fn uuid(w: &Window) -> String {
    let mut b = [0u8; 16];
    if let Ok(c) = w.crypto() {
        let bytes = Uint8Array::new_with_length(16);
        if c.get_random_values_with_array_buffer_view(&bytes).is_ok() {
            bytes.copy_to(&mut b);
        }
    }
    b[6] = b[6] & 15 | 64;
    b[8] = b[8] & 63 | 128;
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(36);
    for (i, byte) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        s.push(char::from(HEX[usize::from(byte >> 4)]));
        s.push(char::from(HEX[usize::from(byte & 15)]));
    }
    s
}

fn key(name: &str) -> String {
    let mut k = String::from(PREFIX);
    k.push_str(name);
    k
}

impl Driver {
    /// The object stored under `rapport:<name>`; full, blocked or corrupt storage reads as
    /// nothing.
    pub fn load(&self, name: &str) -> Option<Object> {
        let text = self.storage.as_ref()?.get_item(&key(name)).ok()??;
        let v = self.parse_json(&text);
        v.is_object().then(|| v.unchecked_into())
    }

    /// Stores `value` as JSON under `rapport:<name>`, or removes the key for `None`.
    pub fn save(&self, name: &str, value: Option<&JsValue>) {
        let Some(s) = self.storage.as_ref() else {
            return;
        };
        match value {
            Some(v) => {
                if let Ok(text) = self.to_json(v) {
                    let _ = s.set_item(&key(name), &text);
                }
            }
            None => {
                let _ = s.remove_item(&key(name));
            }
        }
    }

    /// Takes the visit another tab (or an earlier page) stored, when the engine finds it
    /// newer than its own.
    pub fn adopt_visit(&mut self) {
        let Some(stored) = self.load("visit") else {
            return;
        };
        let n = get(&stored, "n");
        let (Some(v), Some(s)) = (get(&stored, "v").as_string(), get(&stored, "s").as_string())
        else {
            return;
        };
        if !js_sys::Array::is_array(&n) {
            return;
        }
        let n: js_sys::Array = n.unchecked_into();
        if n.length() != 7 {
            return;
        }
        let at = |i: u32| n.get(i).as_f64().unwrap_or(0.0);
        let count = |i: u32| ms(at(i)).0.min(u32::MAX.into()) as u32;
        let visit = Visit {
            first_seen: ms(at(0)),
            visit_count: count(1),
            session_started: ms(at(2)),
            last_activity: ms(at(3)),
            pageviews: count(4),
            engaged_ms: ms(at(5)).0,
            key_event: n.get(6).is_truthy(),
        };
        let same = s == self.v.session;
        if self.engine.adopt(visit, same) {
            self.v.visitor = v;
            self.v.session = s;
            let c = get(&stored, "c");
            self.v.session_campaign = c.as_string().unwrap_or_default();
            let x = get(&stored, "x");
            self.v.experiments = Some(copy_own(&x));
        }
    }

    /// Stores the visit for the next page and the origin's other tabs.
    pub fn persist(&self) {
        let Some(v) = self.engine.visit() else {
            return;
        };
        let n = js_sys::Array::new();
        for x in [
            v.first_seen.0 as f64,
            v.visit_count.into(),
            v.session_started.0 as f64,
            v.last_activity.0 as f64,
            v.pageviews.into(),
            v.engaged_ms as f64,
            f64::from(u8::from(v.key_event)),
        ] {
            crate::append(&n, &JsValue::from_f64(x));
        }
        let o = Object::new();
        set(&o, "v", &JsValue::from_str(&self.v.visitor));
        set(&o, "s", &JsValue::from_str(&self.v.session));
        set(&o, "c", &JsValue::from_str(&self.v.session_campaign));
        set(
            &o,
            "x",
            self.v
                .experiments
                .as_ref()
                .map_or(&JsValue::UNDEFINED, |x| x.as_ref()),
        );
        set(&o, "n", &n);
        self.save("visit", Some(&o));
    }

    /// The URL without its fragment and without query parameters other than UTM and the
    /// referral parameter; empty when it cannot be parsed.
    pub fn clean(&self, href: &str) -> String {
        let Ok(u) = Url::new(href) else {
            return String::new();
        };
        let kept = UrlSearchParams::new().ok();
        let search = u.search();
        if let Some(kept) = kept.as_ref() {
            // In the URL's order: each pair on its own, decoded as the URL API decodes it.
            for pair in search.trim_start_matches('?').split('&') {
                let Ok(one) = UrlSearchParams::new_with_str(pair) else {
                    continue;
                };
                for k in UTM
                    .iter()
                    .copied()
                    .chain(Some(self.cfg.ref_param.as_str()).filter(|r| !r.is_empty()))
                {
                    if let Some(v) = one.get(k) {
                        kept.append(k, &v);
                    }
                }
            }
            u.set_search(&String::from(kept.to_string()));
        }
        u.set_hash("");
        u.href()
    }

    /// A page view at wall time `now` and page time `t`, referred by `from`.
    pub fn page_view(&mut self, now: f64, t: f64, from: &str) -> Result<(), JsValue> {
        self.page.deepest = 0.0; // a new page is read from its top
        self.adopt_visit(); // another tab may have moved the visit on
        let href = self.w.location().href().unwrap_or_default();
        let found = bare();
        let mut any = false;
        let top = self.w.top().ok().flatten();
        let framed = top.is_none_or(|t| JsValue::from(t) != JsValue::from(self.w.clone()));
        // Attribution comes only from top-level navigations, never from frames.
        if let (Ok(u), false) = (Url::new(&href), framed) {
            let params = u.search_params();
            for k in UTM {
                if let Some(v) = params.get(k).filter(|v| !v.is_empty()) {
                    set(&found, k, &JsValue::from_str(&v));
                    any = true;
                }
            }
            if !self.cfg.ref_param.is_empty() {
                if let Some(code) = params.get(&self.cfg.ref_param).filter(|v| !v.is_empty()) {
                    set(&found, "referral_code", &JsValue::from_str(&code));
                    any = true;
                }
            }
        }
        if any {
            let a = Object::new();
            set(&a, "t", &JsValue::from_f64(now));
            set(&a, "p", &found);
            self.save("attribution", Some(&a));
            self.v.attribution = Some(a);
        } else if let Some(a) = self.v.attribution.as_ref() {
            let captured = get(a, "t").as_f64().unwrap_or(-1.0);
            if !(captured >= 0.0 && self.engine.attribution_valid(ms(now), ms(captured))) {
                self.save("attribution", None);
                self.v.attribution = None;
            }
        }
        let found_campaign = get(&found, "utm_campaign").as_string();
        self.v.campaign = found_campaign.clone().unwrap_or_else(|| {
            self.v
                .attribution
                .as_ref()
                .and_then(|a| get(&get(a, "p"), "utm_campaign").as_string())
                .unwrap_or_default()
        });
        self.v.next_url = self.clean(&href);
        self.v.next_referrer = if from.is_empty() {
            String::new()
        } else {
            self.clean(from)
        };
        self.v.last_href = href;
        let new_campaign = found_campaign.is_some_and(|c| c != self.v.session_campaign);
        self.engine.on_page_view(ms(now), ms(t), new_campaign);
        self.try_drain(now)
    }

    /// Carries out the engine's commands, in order. The first event that cannot be encoded
    /// (a broken `JSON.stringify`) ends it with the error.
    pub fn drain(&mut self, now: f64) {
        let _ = self.try_drain(now);
    }

    pub fn try_drain(&mut self, now: f64) -> Result<(), JsValue> {
        while let Some(c) = self.engine.poll() {
            match c {
                Command::NewVisitor => self.v.visitor = uuid(&self.w),
                Command::NewSession => {
                    self.v.session = uuid(&self.w);
                    self.v.session_campaign = self.v.campaign.clone();
                    self.v.experiments = Some(bare());
                }
                Command::NewPageview => {
                    self.v.pageview = uuid(&self.w);
                    self.v.page_url = std::mem::take(&mut self.v.next_url);
                    self.v.referrer = std::mem::take(&mut self.v.next_referrer);
                }
                Command::PageView => {
                    let p = bare();
                    if let Some(v) = self.engine.visit() {
                        set(&p, "visit_count", &JsValue::from_f64(v.visit_count.into()));
                        set(&p, "first_seen", &JsValue::from_f64(v.first_seen.0 as f64));
                    }
                    self.emit("page_view", &p, now)?;
                }
                Command::Engagement {
                    engaged_ms,
                    scroll_max,
                    bounce,
                    session_engaged_ms,
                    session_pageviews,
                    key_event,
                } => {
                    let p = bare();
                    set(&p, "engaged_ms", &JsValue::from_f64(engaged_ms as f64));
                    set(&p, "scroll_max", &JsValue::from_f64(scroll_max.into()));
                    set(&p, "bounce", &JsValue::from_bool(bounce));
                    set(
                        &p,
                        "session_engaged_ms",
                        &JsValue::from_f64(session_engaged_ms as f64),
                    );
                    set(
                        &p,
                        "session_pageviews",
                        &JsValue::from_f64(session_pageviews.into()),
                    );
                    set(&p, "key_event", &JsValue::from_bool(key_event));
                    self.emit("page_engagement", &p, now)?;
                }
                Command::Milestone(depth) => {
                    let p = bare();
                    set(&p, "depth", &JsValue::from_f64(depth.into()));
                    self.emit("scroll_milestone", &p, now)?;
                }
                Command::Persist => self.persist(),
            }
        }
        Ok(())
    }

    /// Queues an event: `props` (an object of ours, without a prototype) get the session's
    /// attribution, experiments and user where they do not name them already.
    pub fn emit(&mut self, name: &str, props: &Object, now: f64) -> Result<(), JsValue> {
        let has = |k: &str| Reflect::has(props, &JsValue::from_str(k)).unwrap_or(true);
        if let Some(a) = self.v.attribution.as_ref() {
            let p = get(a, "p");
            if let Ok(keys) = crate::object_keys(&p) {
                for k in keys.iter() {
                    let k = k.as_string().unwrap_or_default();
                    if !has(&k) {
                        set(props, &k, &get(&p, &k));
                    }
                }
            }
        }
        // The session's experiments ride on each of its events, so any backend can slice by
        // them.
        if let Some(x) = self.v.experiments.as_ref() {
            if let Ok(keys) = crate::object_keys(x) {
                for k in keys.iter() {
                    let k = k.as_string().unwrap_or_default();
                    let mut named = String::from("exp:");
                    named.push_str(&k);
                    if !has(&named) {
                        set(props, &named, &get(x, &k));
                    }
                }
            }
        }
        // Another tab may have signed someone else in, or out.
        if let Some(user) = self.load("user") {
            if !has("user_id") {
                set(props, "user_id", &get(&user, "id"));
            }
            // The hash proves the identity to the collector (feedback points); it goes only
            // where it is needed, not on every event.
            let hash = get(&user, "hash");
            if hash.is_truthy() && name == "feedback_submitted" && !has("user_hash") {
                set(props, "user_hash", &hash);
                let exp = get(&user, "exp");
                if exp.is_truthy() {
                    set(props, "user_expires", &exp);
                }
            }
        }
        let event = Object::new();
        let s = |v: &str| JsValue::from_str(v);
        set(&event, "id", &s(&uuid(&self.w)));
        set(&event, "name", &s(name));
        set(&event, "ts", &JsValue::from_f64(now));
        set(&event, "visitor_id", &s(&self.v.visitor));
        set(&event, "session_id", &s(&self.v.session));
        set(&event, "pageview_id", &s(&self.v.pageview));
        set(
            &event,
            "returning",
            &JsValue::from_bool(self.engine.returning()),
        );
        set(&event, "url", &s(&self.v.page_url));
        set(&event, "props", props);
        if name == "page_view" && !self.v.referrer.is_empty() {
            set(&event, "referrer", &s(&self.v.referrer));
        }
        let json = self.to_json(&event)?;
        self.enqueue(json);
        if self.heard.is_some() {
            self.notify.push(name.into());
        } else if !matches!(name, "page_view" | "page_engagement" | "scroll_milestone")
            && self.missed.len() < 50
        {
            self.missed.push(name.into());
        }
        Ok(())
    }
}

/// The own enumerable properties of `from`, on an object without a prototype.
pub fn copy_own(from: &JsValue) -> Object {
    let to = bare();
    if from.is_object() {
        if let Ok(keys) = crate::object_keys(from) {
            for k in keys.iter() {
                if let Ok(v) = Reflect::get(from, &k) {
                    let _ = Reflect::set(&to, &k, &v);
                }
            }
        }
    }
    to
}
