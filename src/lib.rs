//! Rapport's tracker stage: the WebAssembly half of the widget that every page loads.
//!
//! The loader (`www/rapport.js`) instantiates this module, calls [`boot`] with the script
//! tag's config and forwards `window.rapport` calls to the exported functions. The engagement rules
//! live in `rapport-core`; this crate feeds them the page's inputs with the time passed in,
//! and carries out what they ask for through the browser I/O of [`io`]. The loader owns the
//! one timer: after each call it runs [`poll`], which says when to come back.
//!
//! Nothing here throws into the host page: problems become one console line prefixed
//! `rapport:`. Without the default `std` feature (the embeddable build) the crate is
//! `no_std`: it brings its own allocator and a panic handler that traps (the loader catches
//! the trap), so no formatting code is linked.

#![cfg_attr(not(feature = "std"), no_std)]
extern crate alloc;

pub mod io;

use alloc::string::String;
use rapport_core::{
    Invalid, Millis, Number, Page, PropValue, Props, Snapshot, Tracker, TrackerConfig,
};
use wasm_bindgen::prelude::*;

use io::CryptoRandom;

// dlmalloc is most of a small module's code; a free-list allocator is a fraction of it and
// the tracker makes few, small allocations.
#[cfg(all(target_arch = "wasm32", not(feature = "std")))]
#[global_allocator]
static ALLOC: lol_alloc::LockedAllocator<lol_alloc::FreeListAllocator> =
    lol_alloc::LockedAllocator::new(lol_alloc::FreeListAllocator::new());

/// A panic is a bug: trap, and the loader stops the widget.
#[cfg(all(target_arch = "wasm32", not(feature = "std")))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}

const VISITOR_KEY: &str = "visitor";
const SESSION_KEY: &str = "session";

/// Property kinds as the loader reports them (`typeof`), see [`Widget::prop`].
pub const PROP_UNSUPPORTED: u8 = 0;
pub const PROP_STRING: u8 = 1;
pub const PROP_NUMBER: u8 = 2;
pub const PROP_BOOLEAN: u8 = 3;
pub const PROP_NULL: u8 = 4;
/// NaN or ±Infinity, which JSON cannot carry.
pub const PROP_NOT_FINITE: u8 = 5;

fn millis(now: f64) -> Millis {
    Millis(if now > 0.0 { now as u64 } else { 0 })
}

/// `<context>: <field> <reason>` as one console warning.
fn warn_invalid(context: &str, e: Invalid) {
    let mut message = String::from(context);
    for part in [": ", e.field, " ", e.reason] {
        message.push_str(part);
    }
    io::warn(&message);
}

fn config_error(e: Invalid) {
    let mut message = String::from("config field \"");
    for part in [e.field, "\" ", e.reason, "; tracking is off"] {
        message.push_str(part);
    }
    io::error(&message);
}

/// The page's tracker. A `try_lock` that fails means re-entry (a host hook calling back into
/// rapport while the tracker runs); that call is dropped rather than waited for.
static WIDGET: spin::Mutex<Option<Widget>> = spin::Mutex::new(None);

fn with_widget(f: impl FnOnce(&mut Widget)) {
    if let Some(mut guard) = WIDGET.try_lock() {
        if let Some(widget) = guard.as_mut() {
            f(widget);
        }
    }
}

/// Validates the script tag's config and starts the tracker, recording the first page view.
/// `site` and `endpoint` are `data-site` and `data-endpoint`; bad config prints one console
/// error naming the attribute and returns `false`.
#[wasm_bindgen]
pub fn boot(
    site: Option<String>,
    endpoint: Option<String>,
    now: f64,
    url: String,
    referrer: String,
) -> bool {
    let Some(mut slot) = WIDGET.try_lock() else {
        return false;
    };
    match Widget::new(site.as_deref(), endpoint.as_deref()) {
        Ok(mut widget) => {
            widget.page(now, url, referrer);
            *slot = Some(widget);
            true
        }
        Err(e) => {
            config_error(e);
            *slot = None;
            false
        }
    }
}

/// `rapport.page()`: a page view of `url`.
#[wasm_bindgen]
pub fn page(now: f64, url: String, referrer: String) {
    with_widget(|w| w.page(now, url, referrer));
}

/// One property for the next [`track`]: `kind` is one of the `PROP_*` values, `value` the
/// text of strings, numbers (`String(n)`) and booleans.
#[wasm_bindgen]
pub fn prop(kind: u8, key: String, value: String) {
    with_widget(|w| w.prop(kind, key, value));
}

/// `rapport.track(name, props)`, with the props already reported through [`prop`].
#[wasm_bindgen]
pub fn track(now: f64, name: Option<String>) {
    with_widget(|w| w.track(now, name));
}

/// Does what is due at `now` (sends pending batches) and returns the milliseconds until it
/// should run again, or -1 when nothing is pending.
#[wasm_bindgen]
pub fn poll(now: f64) -> i32 {
    let mut wait = -1;
    with_widget(|w| wait = w.poll(now));
    wait
}

/// The running tracker behind the exported functions.
pub struct Widget {
    tracker: Tracker<CryptoRandom>,
    endpoint: String,
    /// Properties for the next `track`, reported one by one by the loader.
    props: Props,
    props_error: Option<Invalid>,
}

impl Widget {
    pub fn new(site: Option<&str>, endpoint: Option<&str>) -> Result<Widget, Invalid> {
        let site = site.ok_or(Invalid::new("data-site", "is missing"))?;
        let config = TrackerConfig::new(site).map_err(|e| Invalid::new("data-site", e.reason))?;
        let endpoint = endpoint.ok_or(Invalid::new("data-endpoint", "is missing"))?;
        let endpoint = io::absolute_url(endpoint)
            .ok_or(Invalid::new("data-endpoint", "must be an http(s) URL"))?;
        let stored = Snapshot {
            visitor: io::storage_get(VISITOR_KEY).unwrap_or_default(),
            session: io::storage_get(SESSION_KEY).unwrap_or_default(),
        };
        Ok(Widget {
            tracker: Tracker::new(config, Some(&stored), CryptoRandom),
            endpoint,
            props: Props::new(),
            props_error: None,
        })
    }

    /// Writes visitor and session at once, so other tabs and the next page continue them.
    fn persist(&mut self) {
        if let Some(snapshot) = self.tracker.poll_snapshot() {
            io::storage_set(VISITOR_KEY, &snapshot.visitor);
            io::storage_set(SESSION_KEY, &snapshot.session);
        }
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    pub fn tracker_mut(&mut self) -> &mut Tracker<CryptoRandom> {
        &mut self.tracker
    }
}

impl Widget {
    /// A page view of `url` (`rapport.page()`, and the first one from [`boot`]).
    pub fn page(&mut self, now: f64, url: String, referrer: String) {
        self.props = Props::new();
        self.props_error = None;
        let referrer = (!referrer.is_empty()).then_some(referrer);
        if let Err(e) = self
            .tracker
            .on_page_view(millis(now), Page { url, referrer })
        {
            warn_invalid("page view dropped", e);
        }
        self.persist();
    }

    pub fn prop(&mut self, kind: u8, key: String, value: String) {
        let value = match kind {
            PROP_STRING => PropValue::Str(value),
            // The loader reports only finite numbers as PROP_NUMBER, as `String(n)`.
            PROP_NUMBER => PropValue::Num(Number::from_finite_js(value)),
            PROP_NOT_FINITE => {
                self.props_error = Some(Invalid::new("props", "numbers must be finite"));
                return;
            }
            PROP_BOOLEAN => PropValue::Bool(value == "true"),
            PROP_NULL => PropValue::Null,
            _ => {
                self.props_error = Some(Invalid::new(
                    "props",
                    "must be a flat object of strings, numbers, booleans or null",
                ));
                return;
            }
        };
        self.props.push_new(key, value);
    }

    pub fn track(&mut self, now: f64, name: Option<String>) {
        let props = core::mem::take(&mut self.props);
        let props_error = self.props_error.take();
        let name = name.unwrap_or_default();
        let result = match props_error {
            Some(e) => Err(e),
            None => self.tracker.on_track(millis(now), &name, props),
        };
        if let Err(e) = result {
            let mut context = String::from("track(\"");
            context.push_str(&name);
            context.push_str("\") dropped the event");
            warn_invalid(&context, e);
        }
        self.persist();
    }

    pub fn poll(&mut self, now: f64) -> i32 {
        while let Some(body) = self.tracker.poll_batch(millis(now)) {
            if !io::send(&self.endpoint, &body) {
                io::warn("fetch and sendBeacon both failed");
            }
        }
        -1
    }
}
