//! Where the surfaces live: each card, tab, launcher and panel is a `<rapport-ui>` element
//! with an open shadow root, styled by one constructable stylesheet (`adoptedStyleSheets`)
//! that starts with `:host { all: initial !important }`. Host CSS cannot reach inside, and
//! the page's CSP needs no `unsafe-inline` for styles. leptos mounts each surface's view into
//! the root; dropping the [`Surface`] unmounts it (its listeners and timers with it) and
//! removes the element.

use std::any::Any;
use std::cell::RefCell;
use std::rc::Rc;

use leptos::prelude::*;
use rapport_core::config::Theme;
use wasm_bindgen::JsCast;
use web_sys::{CssStyleSheet, Element, HtmlElement, ShadowRoot, ShadowRootInit, ShadowRootMode};

use crate::host::Host;

/// The widget's stylesheet.
const STYLE: &str = include_str!("style.css");

/// The stage's stylesheet: the widget's CSS and the site's theme (custom properties on
/// `.w`). `None` where constructable stylesheets are missing.
pub fn stylesheet(theme: Option<&Theme>) -> Option<CssStyleSheet> {
    let sheet = CssStyleSheet::new().ok()?;
    let mut css = String::from(STYLE);
    css.push_str(".w{");
    if let Some(theme) = theme {
        css.push_str(&theme.css_properties());
    }
    css.push('}');
    sheet.replace_sync(&css).ok()?;
    Some(sheet)
}

/// What every surface shares: the stylesheet, the open surfaces (closed together when
/// tracking stops) and the host.
#[derive(Clone)]
pub struct Context {
    sheet: CssStyleSheet,
    pub host: Host,
    open: Rc<RefCell<Vec<std::rc::Weak<Cell>>>>,
    /// The owner every surface's reactive owner hangs from, made when no other is current:
    /// a panel opened from a card's click handler must not be disposed with the card.
    root: Owner,
}

impl Context {
    pub fn new(sheet: CssStyleSheet, host: &Host) -> Context {
        Context {
            sheet,
            host: host.clone(),
            open: Rc::default(),
            root: Owner::new(),
        }
    }

    /// A new shadow host at the end of `parent`, with a `div` to mount into.
    pub fn place(&self, parent: &Element) -> Option<(Element, ShadowRoot, HtmlElement)> {
        let doc = web_sys::window()?.document()?;
        let el = doc.create_element("rapport-ui").ok()?;
        let root = el
            .attach_shadow(&ShadowRootInit::new(ShadowRootMode::Open))
            .ok()?;
        root.set_adopted_style_sheets(&js_sys::Array::of1(&self.sheet));
        let mount = doc
            .create_element("div")
            .ok()?
            .dyn_into::<HtmlElement>()
            .ok()?;
        root.append_child(&mount).ok()?;
        parent.append_child(&el).ok()?;
        Some((el, root, mount))
    }

    /// Mounts `view` in a new surface under `parent`; the slot holds it until it is taken
    /// (closed) or tracking stops.
    pub fn mount<F, N>(&self, parent: &Element, view: F) -> Option<Slot>
    where
        F: FnOnce(ShadowRoot) -> N + 'static,
        N: IntoView + 'static,
    {
        let (el, root, mount) = self.place(parent)?;
        let handle = self.root.with(|| {
            leptos::mount::mount_to(mount, {
                let root = root.clone();
                move || view(root)
            })
        });
        let slot: Slot = Rc::new(RefCell::new(Some(Surface {
            el,
            root,
            _handle: Box::new(handle),
        })));
        self.open.borrow_mut().push(Rc::downgrade(&slot));
        Some(slot)
    }

    /// Closes every open surface (tracking stopped).
    pub fn close_all(&self) {
        let open: Vec<_> = self.open.borrow_mut().drain(..).collect();
        for slot in open.iter().filter_map(std::rc::Weak::upgrade) {
            drop(slot.borrow_mut().take());
        }
    }
}

/// A mounted surface, shared by whoever may close it.
pub type Slot = Rc<Cell>;

/// What a [`Slot`] holds: the surface, until it is closed.
pub type Cell = RefCell<Option<Surface>>;

pub struct Surface {
    pub el: Element,
    pub root: ShadowRoot,
    _handle: Box<dyn Any>,
}

impl Surface {
    /// The element with focus inside this surface, if any.
    pub fn focused(&self) -> Option<Element> {
        self.root.active_element()
    }

    /// Focuses the first element matching `selector` inside; whether one was found.
    pub fn focus(&self, selector: &str) -> bool {
        focus_in(&self.root, selector)
    }
}

impl Drop for Surface {
    fn drop(&mut self) {
        self.el.remove();
    }
}

/// Focuses the first element matching `selector` under `root`; whether one was found.
pub fn focus_in(root: &ShadowRoot, selector: &str) -> bool {
    match root
        .query_selector(selector)
        .ok()
        .flatten()
        .and_then(|e| e.dyn_into::<HtmlElement>().ok())
    {
        Some(e) => e.focus().is_ok(),
        None => false,
    }
}

/// Focuses `el` when it is still in the document.
pub fn refocus(el: &Option<Element>) {
    if let Some(e) = el.as_ref().filter(|e| e.is_connected()) {
        if let Some(h) = e.dyn_ref::<HtmlElement>() {
            let _ = h.focus();
        }
    }
}

/// Closes a slot: unmounts the view and removes its element.
pub fn close(slot: &Slot) {
    let taken = slot.borrow_mut().take();
    drop(taken);
}

/// Whether a slot still holds a surface.
pub fn is_open(slot: &Option<Slot>) -> bool {
    slot.as_ref().is_some_and(|s| s.borrow().is_some())
}
