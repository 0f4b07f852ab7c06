//! Rapport's UI stage: feedback prompts, the side tab, the rewards launcher and the points
//! and referral panels, as leptos components, each mounted into a shadow root of its own.
//!
//! The tracker stage imports this module in idle time, only when the site config has
//! something to show, and calls [`start`] with a host object (its durable queue, the
//! engine's facts, its event stream) and the config. From there everything is Rust:
//! - [`config`] deserializes the config with serde-wasm-bindgen into `rapport_core::config`
//!   and validates it with the collector's own rules;
//! - [`prompts`] decides when a prompt shows (`rapport_core::prompt`: triggers, sampling,
//!   variants, the frequency budget) and emits its events;
//! - [`rewards`] reads the loyalty backend, redeems, copies and shares;
//! - [`components`] render what the shopper sees.
//!
//! Nothing here may throw into the host page: entry points catch what they can and say it
//! in one console line.

pub mod components;
pub mod config;
pub mod format;
pub mod host;
/// The widget's own words in English, Arabic, Hebrew and Thai.
pub mod i18n;
pub mod prompts;
pub mod rewards;
pub mod shadow;
pub mod store;

use wasm_bindgen::prelude::*;

// A small allocator: dlmalloc would be a sizeable part of the module.
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOC: lol_alloc::LockedAllocator<lol_alloc::FreeListAllocator> =
    lol_alloc::LockedAllocator::new(lol_alloc::FreeListAllocator::new());

/// One line on the console, prefixed `rapport: `.
pub fn log(message: &str) {
    let mut line = String::from("rapport: ");
    line.push_str(message);
    web_sys::console::error_1(&JsValue::from_str(&line));
}

/// Starts the stage. `host`: `{ track(name, props), facts(), listen(f), api, ref, locale }`
/// (see [`host::Host`]); `config`: the site config as served or given inline. Returns a
/// function that stops the stage (its timers, listeners and surfaces), or `undefined` when
/// there is nothing to show.
#[wasm_bindgen]
pub fn start(host: JsValue, config: JsValue) -> JsValue {
    let Some(programs) = config::read(&config) else {
        return JsValue::UNDEFINED;
    };
    let host = host::Host::new(host);
    let Some(sheet) = shadow::stylesheet(programs.theme.as_ref()) else {
        return JsValue::UNDEFINED; // no constructable stylesheets: nothing rather than unstyled
    };
    let context = shadow::Context::new(sheet, &host);
    let rewards = rewards::start(&host, &context, &programs);
    prompts::start(host, context, programs, rewards);
    Closure::once_into_js(prompts::stop_stage)
}
