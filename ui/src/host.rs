//! The tracker stage as this stage sees it: the host object it hands to [`crate::start`].

use std::rc::Rc;

use js_sys::{Array, Function, Reflect};
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

/// What the engine knows now, read through `facts()`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Facts {
    pub engaged_ms: f64,
    pub scroll_max: f64,
    pub session_pageviews: f64,
    /// Wall-clock ms at which the session started.
    pub session_start: f64,
    pub returning: bool,
    pub referred: bool,
    pub visitor: String,
    pub session: String,
}

/// `{ track(name, props), facts() -> [engaged ms, scroll %, session pageviews, session start,
/// returning, referred, visitor id, session id] | null, listen(f), api, ref, locale }`.
#[derive(Clone)]
pub struct Host(Rc<JsValue>);

fn get(o: &JsValue, key: &str) -> JsValue {
    Reflect::get(o, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

impl Host {
    pub fn new(host: JsValue) -> Host {
        Host(Rc::new(host))
    }

    fn text(&self, key: &str) -> String {
        get(&self.0, key).as_string().unwrap_or_default()
    }

    /// The collector's `/v1/sites/<site>/`, or empty for other backends.
    pub fn api(&self) -> String {
        self.text("api")
    }

    /// The query parameter that carries a referral code (`ref` unless configured).
    pub fn ref_param(&self) -> String {
        let r = self.text("ref");
        if r.is_empty() {
            "ref".into()
        } else {
            r
        }
    }

    /// The page's `data-locale`, or empty.
    pub fn locale(&self) -> String {
        self.text("locale")
    }

    /// Emits an event through the tracker's durable queue; `props` is serialized with
    /// serde-wasm-bindgen into a plain object.
    pub fn track(&self, name: &str, props: &impl Serialize) {
        let Ok(track) = get(&self.0, "track").dyn_into::<Function>() else {
            return;
        };
        let serializer = serde_wasm_bindgen::Serializer::new().serialize_maps_as_objects(true);
        let Ok(props) = props.serialize(&serializer) else {
            return;
        };
        let _ = track.call2(&self.0, &JsValue::from_str(name), &props);
    }

    /// The engine's facts; `None` once tracking stopped (opt-out, consent withdrawn).
    pub fn facts(&self) -> Option<Facts> {
        let f = get(&self.0, "facts").dyn_into::<Function>().ok()?;
        let a = f.call0(&self.0).ok()?.dyn_into::<Array>().ok()?;
        let n = |i: u32| a.get(i).as_f64().unwrap_or(0.0);
        let t = |i: u32| a.get(i).as_string().unwrap_or_default();
        Some(Facts {
            engaged_ms: n(0),
            scroll_max: n(1),
            session_pageviews: n(2),
            session_start: n(3),
            returning: n(4) > 0.0,
            referred: n(5) > 0.0,
            visitor: t(6),
            session: t(7),
        })
    }

    /// Whether tracking still runs.
    pub fn running(&self) -> bool {
        self.facts().is_some()
    }

    /// Hears the name of every event the tracker emits, those from before this stage loaded
    /// first. The closure lives as long as the page.
    pub fn listen(&self, f: impl FnMut(String) + 'static) {
        let Ok(listen) = get(&self.0, "listen").dyn_into::<Function>() else {
            return;
        };
        let closure = Closure::<dyn FnMut(String)>::new(f);
        let _ = listen.call1(&self.0, closure.as_ref());
        closure.forget();
    }
}
