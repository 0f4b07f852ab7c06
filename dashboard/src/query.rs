//! The view's state in the URL (`?site=…&from=…&to=…&goal=…&lang=…&by=…&compare=off` and
//! one parameter per filter, named as the API names it: `&device=mobile`), so a view can be
//! shared or bookmarked. A shared link's token is in it too (`&share=…`): the link is the
//! credential, as a shared link is meant to be; an owner's token never is.

use rapport_core::report::{Filter, DIMENSIONS};

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
    /// The segment the page shows, in the order of [`DIMENSIONS`].
    pub filters: Vec<Filter>,
    /// Whether the previous period is shown beside this one.
    pub compare: bool,
    /// A shared link's token; empty otherwise.
    pub share: String,
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
                .filter(|b| DIMENSIONS.contains(&b.as_str()))
                .unwrap_or_else(|| "page".into()),
            filters: DIMENSIONS
                .into_iter()
                .filter_map(|d| {
                    let value = params.as_ref()?.get(d)?;
                    Some(Filter {
                        dimension: d.to_string(),
                        value,
                    })
                })
                .collect(),
            compare: get("compare") != "off",
            share: get("share"),
        }
    }

    /// This view with `dimension` filtered to `value` (replacing an earlier value of it).
    pub fn filtered(&self, dimension: &str, value: &str) -> Query {
        let mut q = self.clone();
        q.filters.retain(|f| f.dimension != dimension);
        q.filters.push(Filter {
            dimension: dimension.to_string(),
            value: value.to_string(),
        });
        q.filters
            .sort_by_key(|f| DIMENSIONS.iter().position(|d| *d == f.dimension));
        q
    }

    /// This view without the filter on `dimension` (or without any, for `None`).
    pub fn unfiltered(&self, dimension: Option<&str>) -> Query {
        let mut q = self.clone();
        q.filters
            .retain(|f| dimension.is_some_and(|d| d != f.dimension));
        q
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
        if !self.compare {
            params.set("compare", "off");
        }
        for f in &self.filters {
            params.set(&f.dimension, &f.value);
        }
        if !self.share.is_empty() {
            params.set("share", &self.share);
        }
        format!("?{}", String::from(params.to_string()))
    }

    /// Puts this view in the address bar, without a new history entry.
    pub fn write(&self) {
        if let Some(h) = web_sys::window().and_then(|w| w.history().ok()) {
            let _ =
                h.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&self.search()));
        }
    }

    /// `from`, `to` and the filters, for an API query.
    pub fn range_of(&self, from: &str, to: &str) -> String {
        let params = web_sys::UrlSearchParams::new().expect("URLSearchParams");
        if !from.is_empty() {
            params.set("from", from);
        }
        if !to.is_empty() {
            params.set("to", to);
        }
        for f in &self.filters {
            params.set(&f.dimension, &f.value);
        }
        String::from(params.to_string())
    }

    /// The API path of this site.
    pub fn api(&self, rest: &str) -> String {
        let site = String::from(js_sys::encode_uri_component(&self.site));
        format!("/v1/sites/{site}/{rest}")
    }
}
