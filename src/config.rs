//! The site owner's configuration, read from the loader's copy of the script tag's `data-*`.

use rapport_core::{Invalid, TrackerConfig};
use wasm_bindgen::JsValue;

pub struct WidgetConfig {
    pub tracker: TrackerConfig,
    /// Absolute URL batches are posted to.
    pub endpoint: String,
}

fn field(config: &JsValue, key: &str) -> Option<String> {
    js_sys::Reflect::get(config, &JsValue::from_str(key)).ok()?.as_string()
}

impl WidgetConfig {
    /// `config` is a plain object of the script tag's dataset (`site`, `endpoint`, …).
    /// Errors name the attribute the site owner wrote, e.g. `data-site`.
    pub fn from_js(config: &JsValue) -> Result<WidgetConfig, Invalid> {
        let site = field(config, "site").ok_or(Invalid::new("data-site", "is missing"))?;
        let tracker = TrackerConfig::new(&site)
            .map_err(|e| Invalid::new("data-site", e.reason))?;
        let endpoint =
            field(config, "endpoint").ok_or(Invalid::new("data-endpoint", "is missing"))?;
        let endpoint = absolute_url(&endpoint)
            .ok_or(Invalid::new("data-endpoint", "must be an http(s) URL"))?;
        Ok(WidgetConfig { tracker, endpoint })
    }
}

/// Resolves `url` against the page, accepting only http(s).
fn absolute_url(url: &str) -> Option<String> {
    let base = web_sys::window()?.location().href().ok()?;
    let parsed = web_sys::Url::new_with_base(url, &base).ok()?;
    let protocol = parsed.protocol();
    (protocol == "https:" || protocol == "http:").then(|| parsed.href())
}
