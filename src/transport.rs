//! Posting batches to the site's endpoint.
//!
//! Bodies are JSON sent as `text/plain`, which needs no CORS preflight. `fetch` with
//! `keepalive` is tried first; if the host page broke `fetch` (missing, or throwing), the
//! batch goes by `navigator.sendBeacon`.

use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// The global `fetch`, looked up at call time and allowed to throw: host pages replace it.
    #[wasm_bindgen(catch, js_name = fetch)]
    fn global_fetch(url: &str, init: &js_sys::Object) -> Result<js_sys::Promise, JsValue>;
}

pub struct Transport {
    endpoint: String,
    /// Swallows fetch rejections (network errors), so none surfaces as an unhandled rejection
    /// in the host page.
    on_rejected: Closure<dyn FnMut(JsValue)>,
}

impl Transport {
    pub fn new(endpoint: String) -> Transport {
        Transport { endpoint, on_rejected: Closure::new(|_: JsValue| {}) }
    }

    /// Hands `body` to the browser; `false` when neither fetch nor beacon accepted it.
    pub fn send(&self, body: &str) -> bool {
        // web-sys has no `keepalive` setter, so the init dictionary is built directly.
        let init = js_sys::Object::new();
        for (key, value) in [
            ("method", JsValue::from_str("POST")),
            ("keepalive", JsValue::TRUE),
            ("body", JsValue::from_str(body)),
        ] {
            let _ = js_sys::Reflect::set(&init, &JsValue::from_str(key), &value);
        }
        if let Ok(promise) = global_fetch(&self.endpoint, &init) {
            let _ = promise.catch(&self.on_rejected);
            return true;
        }
        web_sys::window()
            .and_then(|w| w.navigator().send_beacon_with_opt_str(&self.endpoint, Some(body)).ok())
            .unwrap_or(false)
    }
}
