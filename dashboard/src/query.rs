//! The view's state in the URL (`?site=…&from=…&to=…&goal=…&lang=…`), so a view can be
//! shared or bookmarked.

use crate::i18n::Lang;

#[derive(Clone, Debug, PartialEq)]
pub struct Query {
    pub site: String,
    /// Empty: the collector's default range.
    pub from: String,
    pub to: String,
    pub goal: String,
    pub lang: Lang,
    /// The breakdown's dimension.
    pub by: String,
}

impl Query {
    /// From the page's URL; the language falls back to the browser's.
    pub fn from_location() -> Query {
        let search = web_sys::window()
            .and_then(|w| w.location().search().ok())
            .unwrap_or_default();
        let params = web_sys::UrlSearchParams::new_with_str(&search).ok();
        let get = |k: &str| params.as_ref().and_then(|p| p.get(k)).unwrap_or_default();
        let browser = web_sys::window()
            .and_then(|w| w.navigator().language())
            .unwrap_or_default();
        let lang = get("lang");
        Query {
            site: Some(get("site"))
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "demo".into()),
            from: get("from"),
            to: get("to"),
            goal: Some(get("goal"))
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "purchase".into()),
            lang: Lang::from_tag(if lang.is_empty() { &browser } else { &lang }),
            by: Some(get("by"))
                .filter(|b| crate::breakdowns::DIMENSIONS.contains(&b.as_str()))
                .unwrap_or_else(|| "page".into()),
        }
    }

    /// `?site=…` for this view.
    pub fn search(&self) -> String {
        let params = web_sys::UrlSearchParams::new().expect("URLSearchParams");
        params.set("site", &self.site);
        for (k, v) in [("from", &self.from), ("to", &self.to), ("goal", &self.goal)] {
            if !v.is_empty() {
                params.set(k, v);
            }
        }
        params.set("lang", self.lang.tag());
        params.set("by", &self.by);
        format!("?{}", String::from(params.to_string()))
    }

    /// Puts this view in the address bar, without a new history entry.
    pub fn write(&self) {
        if let Some(h) = web_sys::window().and_then(|w| w.history().ok()) {
            let _ =
                h.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&self.search()));
        }
    }

    /// `from` and `to` for an API query.
    pub fn range(&self) -> String {
        let params = web_sys::UrlSearchParams::new().expect("URLSearchParams");
        if !self.from.is_empty() {
            params.set("from", &self.from);
        }
        if !self.to.is_empty() {
            params.set("to", &self.to);
        }
        String::from(params.to_string())
    }

    /// The API path of this site.
    pub fn api(&self, rest: &str) -> String {
        let site = String::from(js_sys::encode_uri_component(&self.site));
        format!("/v1/sites/{site}/{rest}")
    }
}
