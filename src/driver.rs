//! The driver: owns the core tracker and carries out what it asks for.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use gloo_timers::callback::Timeout;
use rapport_core::{Millis, Page, Snapshot, Tracker};
use wasm_bindgen::JsValue;

use crate::config::WidgetConfig;
use crate::entropy::CryptoEntropy;
use crate::props::props_from_js;
use crate::storage::Storage;
use crate::transport::Transport;
use crate::warn;

const VISITOR_KEY: &str = "visitor";
const SESSION_KEY: &str = "session";

pub struct Driver {
    tracker: Tracker<CryptoEntropy>,
    storage: Storage,
    transport: Transport,
    /// A pending flush; calls made in one task (such as the loader's replayed queue) share
    /// one batch.
    flush_timer: Option<Timeout>,
    this: Weak<RefCell<Driver>>,
}

fn wall_clock() -> Millis {
    Millis(js_sys::Date::now() as u64)
}

fn current_page() -> Option<Page> {
    let window = web_sys::window()?;
    let url = window.location().href().ok()?;
    let referrer = window.document().map(|d| d.referrer()).filter(|r| !r.is_empty());
    Some(Page { url, referrer })
}

impl Driver {
    pub fn start(config: WidgetConfig) -> Option<Rc<RefCell<Driver>>> {
        let Some(entropy) = CryptoEntropy::new() else {
            crate::error("this browser has no crypto.getRandomValues; tracking is off");
            return None;
        };
        let storage = Storage::local();
        let stored = Snapshot {
            visitor: storage.get(VISITOR_KEY).unwrap_or_default(),
            session: storage.get(SESSION_KEY).unwrap_or_default(),
        };
        let tracker = Tracker::new(config.tracker, Some(&stored), entropy);
        let transport = Transport::new(config.endpoint);
        Some(Rc::new_cyclic(|this| {
            RefCell::new(Driver { tracker, storage, transport, flush_timer: None, this: this.clone() })
        }))
    }

    pub fn page_view(driver: &Rc<RefCell<Driver>>) {
        let mut d = driver.borrow_mut();
        let Some(page) = current_page() else { return };
        if let Err(e) = d.tracker.on_page_view(wall_clock(), page) {
            warn_invalid("page view dropped", e);
        }
        d.after_input();
    }

    pub fn track(driver: &Rc<RefCell<Driver>>, name: JsValue, props: JsValue) {
        let mut d = driver.borrow_mut();
        let Some(name) = name.as_string() else {
            warn("track() dropped an event: the name must be a string");
            return;
        };
        let result = props_from_js(&props)
            .and_then(|props| d.tracker.on_track(wall_clock(), &name, props));
        if let Err(e) = result {
            let mut context = String::from("track(\"");
            context.push_str(&name);
            context.push_str("\") dropped the event");
            warn_invalid(&context, e);
        }
        d.after_input();
    }

    /// Persists state at once (other tabs read it) and schedules a send.
    fn after_input(&mut self) {
        if let Some(snapshot) = self.tracker.poll_snapshot() {
            self.storage.set(VISITOR_KEY, &snapshot.visitor);
            self.storage.set(SESSION_KEY, &snapshot.session);
        }
        if self.flush_timer.is_none() {
            let this = self.this.clone();
            self.flush_timer = Some(Timeout::new(0, move || {
                if let Some(driver) = this.upgrade() {
                    let mut d = driver.borrow_mut();
                    // Dropping the running Timeout is safe: wasm-bindgen defers freeing a
                    // closure until its call returns.
                    d.flush_timer = None;
                    d.flush();
                }
            }));
        }
    }

    fn flush(&mut self) {
        let now = wall_clock();
        while let Some(batch) = self.tracker.poll_batch(now) {
            if !self.transport.send(&batch.to_json()) {
                warn("could not send events: fetch and sendBeacon both failed");
            }
        }
    }
}

fn warn_invalid(context: &str, e: rapport_core::Invalid) {
    let mut message = String::from(context);
    message.push_str(": ");
    message.push_str(e.field);
    message.push(' ');
    message.push_str(e.reason);
    warn(&message);
}
