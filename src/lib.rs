//! Rapport's tracker stage: the WebAssembly half of the widget that every page loads.
//!
//! `www/rapport.js` (the loader) instantiates this module and calls [`boot`]. All engagement
//! rules live in `rapport-core`; this crate only adapts the browser to it: it reads config,
//! clocks, storage and randomness, and carries out the core's commands. Nothing here may throw
//! into the host page: exported methods log a console message and return instead.

mod config;
mod driver;
mod entropy;
mod props;
mod storage;
mod transport;

pub use config::WidgetConfig;
pub use entropy::CryptoEntropy;
pub use props::props_from_js;
pub use storage::Storage;

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::prelude::*;

use driver::Driver;

// dlmalloc is most of a small tracker's code; a free-list allocator is a fraction of it and
// the tracker makes few, small allocations.
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOC: lol_alloc::LockedAllocator<lol_alloc::FreeListAllocator> =
    lol_alloc::LockedAllocator::new(lol_alloc::FreeListAllocator::new());

/// Logs one Rapport message to the console. Every user-facing problem goes through here.
pub(crate) fn warn(message: &str) {
    let mut text = String::from("rapport: ");
    text.push_str(message);
    web_sys::console::warn_1(&JsValue::from_str(&text));
}

pub(crate) fn error(message: &str) {
    let mut text = String::from("rapport: ");
    text.push_str(message);
    web_sys::console::error_1(&JsValue::from_str(&text));
}

/// The handle the loader keeps; its methods back `window.rapport.*`.
#[wasm_bindgen]
pub struct Widget {
    driver: Rc<RefCell<Driver>>,
}

#[wasm_bindgen]
impl Widget {
    /// `rapport.track(name, props)`: records a custom event, or warns and drops it.
    pub fn track(&self, name: JsValue, props: JsValue) {
        Driver::track(&self.driver, name, props);
    }

    /// `rapport.page()`: records a page view for the current URL (manual routing).
    pub fn page(&self) {
        Driver::page_view(&self.driver);
    }
}

/// Starts the tracker with the loader's config (the script tag's `data-*` attributes) and
/// records the initial page view. Bad config logs one console error naming the field and
/// returns `None`; the page is unaffected.
#[wasm_bindgen]
pub fn boot(config: JsValue) -> Option<Widget> {
    let config = match WidgetConfig::from_js(&config) {
        Ok(config) => config,
        Err(e) => {
            let mut message = String::from("config field \"");
            message.push_str(e.field);
            message.push_str("\" ");
            message.push_str(e.reason);
            message.push_str("; tracking is off");
            error(&message);
            return None;
        }
    };
    let driver = Driver::start(config)?;
    Driver::page_view(&driver);
    Some(Widget { driver })
}
