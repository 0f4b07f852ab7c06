//! What the shopper sees, one component a file. Each takes its words and data as plain
//! values and signals, and reports what the shopper did through a callback, so it can be
//! mounted and driven on its own (`ui/tests/components.rs`).

pub mod card;
pub mod choice;
pub mod csat;
pub mod launcher;
pub mod nps;
pub mod panel;
pub mod points_panel;
pub mod radio_group;
pub mod referral_panel;
pub mod side_tab;
pub mod text_answer;
pub mod thumbs;

use std::rc::Rc;

use send_wrapper::SendWrapper;
use wasm_bindgen::JsCast;
use web_sys::{Element, HtmlElement};

/// The root a surface's root `div` gets: its class, and the language and direction that
/// everything inside inherits.
pub fn dir(rtl: bool) -> &'static str {
    if rtl {
        "rtl"
    } else {
        "ltr"
    }
}

/// The element with focus in `el`'s tree: its shadow root's, else the document's.
pub fn active_in(el: &Element) -> Option<Element> {
    match el.get_root_node().dyn_into::<web_sys::ShadowRoot>() {
        Ok(root) => root.active_element(),
        Err(_) => web_sys::window()?.document()?.active_element(),
    }
}

/// Focuses the first element under `el` that matches `selector`.
pub fn focus_first(el: &Element, selector: &str) {
    if let Some(e) = el
        .query_selector(selector)
        .ok()
        .flatten()
        .and_then(|e| e.dyn_into::<HtmlElement>().ok())
    {
        let _ = e.focus();
    }
}

/// `"true"` or `"false"`, for ARIA states.
pub fn aria(on: bool) -> &'static str {
    if on {
        "true"
    } else {
        "false"
    }
}

/// A component's callback. leptos asks reactive closures to be `Send`; callbacks that hold
/// JavaScript values are not, and in the browser everything runs on one thread, which
/// `SendWrapper` checks.
pub struct On<T>(SendWrapper<Rc<dyn Fn(T)>>);

impl<T> Clone for On<T> {
    fn clone(&self) -> Self {
        On(self.0.clone())
    }
}

impl<T: 'static> On<T> {
    pub fn new(f: impl Fn(T) + 'static) -> On<T> {
        On(SendWrapper::new(Rc::new(f)))
    }

    pub fn call(&self, value: T) {
        (self.0)(value)
    }
}
