//! The page: boot, the signals the engine hears (input, visibility, focus, scroll, height,
//! leaving), client-side navigations, declarative events, the API functions, and teardown.

use gloo_events::{EventListener, EventListenerOptions, EventListenerPhase};
use js_sys::{Array, Function};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Event, EventTarget, ResizeObserver};

use crate::{get, ms, peek, run, set, Driver};

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    Input,
    Visible,
    Hidden,
    Focus,
    Blur,
    Leave,
}

#[derive(Default)]
pub struct PageState {
    /// The deepest `scrollY + innerHeight` read on this page, and when the engine last
    /// heard a scroll (page time).
    pub deepest: f64,
    last_read: f64,
    sizes: Option<(ResizeObserver, Function)>,
    /// `history.pushState` and `replaceState` as they were, and our wrappers.
    patched: Vec<(&'static str, JsValue, JsValue)>,
    /// configure()'s transport options.
    pub headers: Option<JsValue>,
    pub before_send: Option<Function>,
}

/// The API functions' one shape: up to four arguments.
type ApiFn = dyn FnMut(JsValue, JsValue, JsValue, JsValue);

/// An API function that queues the call `name` with the wall and page time it was made.
fn api_call(name: &'static str) -> JsValue {
    Closure::<ApiFn>::new(move |a: JsValue, b: JsValue, c: JsValue, e: JsValue| {
        let args = Array::new();
        crate::append(&args, &JsValue::from_f64(js_sys::Date::now()));
        crate::append(
            &args,
            &JsValue::from_f64(
                web_sys::window()
                    .and_then(|w| w.performance())
                    .map_or(0.0, |p| p.now()),
            ),
        );
        for v in [a, b, c, e] {
            crate::append(&args, &v);
        }
        run(Box::new(move |d| {
            d.call(name, &args);
            d.after();
        }));
    })
    .into_js_value()
}

impl Driver {
    /// The visit from storage, the page's state and the first page view.
    pub fn boot(&mut self) -> Result<(), JsValue> {
        self.v.attribution = self.load("attribution");
        self.adopt_visit();
        let (now, t) = (self.now(), self.perf_now());
        let focused = self.doc.has_focus().unwrap_or(true);
        self.engine.on_focus(ms(t), focused);
        let visible = self.doc.visibility_state() != web_sys::VisibilityState::Hidden;
        self.engine.on_visibility(ms(now), ms(t), visible);
        // The first page view: the first event, and the first use of JSON.stringify.
        let from = self.doc.referrer();
        self.page_view(now, t, &from)
    }

    /// Attaches the API functions and the listeners, and loads the UI stage if the site has
    /// something to show.
    pub fn attach(&mut self) {
        for name in ["track", "page", "identify", "configure"] {
            set(&self.api, name, &api_call(name));
        }
        let stop = Closure::<ApiFn>::new(|_: JsValue, _: JsValue, _: JsValue, _: JsValue| {
            run(Box::new(|d| d.teardown()))
        })
        .into_js_value();
        set(&self.api, "_stop", &stop);
        set(&self.api, "destroy", &stop);
        let experiment = Closure::<ApiFn>::new(
            |id: JsValue, variants: JsValue, options: JsValue, call: JsValue| {
                run(Box::new(move |d| {
                    d.experiment(js_sys::Date::now(), &id, &variants, &options, &call);
                    d.after();
                }))
            },
        )
        .into_js_value();
        set(&self.api, "_experiment", &experiment);
        self.decide();
        if self.doc.ready_state() == "loading" {
            let doc: EventTarget = self.doc.clone().into();
            self.on(&doc, "DOMContentLoaded", false, |d, _| {
                d.decide();
                d.after();
            });
        }
        if !self.w.navigator().on_line() {
            self.delivery.set_online(false);
        }
        let w: EventTarget = self.w.clone().into();
        let doc: EventTarget = self.doc.clone().into();
        for kind in ["pointerdown", "keydown", "touchstart", "wheel"] {
            self.on(&w, kind, true, |d, _| d.signal(Signal::Input));
        }
        // The hot path. Browsers fire scroll events once per animation frame at most (in
        // the frame's scroll steps, where layout is current), so reading scrollY and
        // innerHeight in the handler is one read per frame, without a frame request.
        self.on(&w, "scroll", false, |d, _| d.read_scroll());
        self.on(&doc, "visibilitychange", false, |d, _| {
            let hidden = d.doc.visibility_state() == web_sys::VisibilityState::Hidden;
            d.signal(if hidden {
                Signal::Hidden
            } else {
                Signal::Visible
            });
        });
        self.on(&w, "focus", false, |d, _| d.signal(Signal::Focus));
        self.on(&w, "blur", false, |d, _| d.signal(Signal::Blur));
        self.on(&w, "pagehide", false, |d, _| d.signal(Signal::Leave));
        // Offline pauses sending; back online, the queue goes at once.
        self.on(&w, "offline", false, |d, _| d.delivery.set_online(false));
        self.on(&w, "online", false, |d, _| {
            d.delivery.set_online(true);
            d.schedule(0);
        });
        // A back/forward-cache restore resumes the pageview: no new page view is counted.
        self.on(&w, "pageshow", false, |d, e| {
            if get(e, "persisted").is_truthy() {
                d.q.leaving = false;
                d.keep(false); // no longer closed
                d.signal(Signal::Visible);
            }
        });
        // Before a navigation starts, what is queued goes out; it stays stored until
        // acknowledged.
        self.on(&w, "beforeunload", false, |d, _| d.send_all(true));
        // Another tab left and marked its queue closed: take it over now rather than on the
        // next timer, which an idle tab may not have.
        self.on(&w, "storage", false, |d, e| {
            let key = get(e, "key").as_string().unwrap_or_default();
            let closed = get(e, "newValue")
                .as_string()
                .is_some_and(|v| v.starts_with("{\"t\":0,"));
            if key.starts_with("rapport:q:") && key != d.q.own && closed {
                d.adopt_locked();
            }
        });
        // The document height, cached in the engine. Both boxes: with `html, body { height:
        // 100% }` only the body grows with the content.
        let resized =
            Closure::<dyn FnMut(JsValue)>::new(|_: JsValue| run(Box::new(|d| d.read_height())))
                .into_js_value();
        let resized: Function = resized.unchecked_into();
        if let Ok(observer) = ResizeObserver::new(&resized) {
            if let Some(root) = self.doc.document_element() {
                observer.observe(&root);
            }
            if let Some(body) = self.doc.body() {
                observer.observe(&body);
            }
            self.page.sizes = Some((observer, resized));
        }
        // Client-side navigations: a page view whenever the URL changes.
        if let Ok(history) = self.w.history() {
            for name in ["pushState", "replaceState"] {
                let original = get(&history, name);
                let Ok(f) = original.clone().dyn_into::<Function>() else {
                    continue;
                };
                let h = history.clone();
                let wrapper =
                    Closure::<ApiFn>::new(move |a: JsValue, b: JsValue, c: JsValue, _: JsValue| {
                        // The page's own call first; what it throws is the page's.
                        if let Err(e) = f.call3(&h, &a, &b, &c) {
                            wasm_bindgen::throw_val(e);
                        }
                        run(Box::new(|d| d.navigated()));
                    })
                    .into_js_value();
                set(&history, name, &wrapper);
                self.page.patched.push((name, original, wrapper));
            }
        }
        self.on(&w, "popstate", false, |d, _| d.navigated());
        // Declarative events: data-rapport-event="name" with data-rapport-prop-<key>="value".
        self.on(&doc, "click", true, |d, e| d.clicked(e));
        self.after();
        self.load_ui();
    }

    /// Listens for `kind` on `target` (passive; in the capture phase when `capture`), for as
    /// long as the driver runs.
    fn on(
        &mut self,
        target: &EventTarget,
        kind: &'static str,
        capture: bool,
        f: fn(&mut Driver, &Event),
    ) {
        let options = EventListenerOptions {
            phase: if capture {
                EventListenerPhase::Capture
            } else {
                EventListenerPhase::Bubble
            },
            passive: true,
        };
        self.listeners.push(EventListener::new_with_options(
            target,
            kind,
            options,
            move |e: &Event| crate::run_event(f, e),
        ));
    }

    /// One read of `scrollY` and `innerHeight`. The engine hears it when the page is read
    /// deeper than before (depth and milestones), else at most every 250 ms (scrolling is
    /// input that keeps the pageview engaged).
    fn read_scroll(&mut self) {
        let view = self
            .w
            .inner_height()
            .ok()
            .and_then(|v| v.as_f64())
            .unwrap_or(0.0);
        let bottom = self.w.scroll_y().unwrap_or(0.0) + view;
        let t = self.perf_now();
        if bottom > self.page.deepest || t - self.page.last_read >= 250.0 {
            self.page.deepest = self.page.deepest.max(bottom);
            self.page.last_read = t;
            self.engine.on_scroll(ms(self.now()), ms(t), bottom, view);
            self.after_signal();
        }
    }

    fn read_height(&mut self) {
        let Some(root) = self.doc.document_element() else {
            return;
        };
        let view = self
            .w
            .inner_height()
            .ok()
            .and_then(|v| v.as_f64())
            .unwrap_or(0.0);
        let bottom = self.w.scroll_y().unwrap_or(0.0) + view;
        let height = f64::from(root.scroll_height());
        self.engine.on_height(ms(self.now()), height, bottom, view);
        self.after_signal();
    }

    /// New commands after a signal: carried out, and the timer set if none is (input
    /// restarts a timer the engine let lapse); no timer is made while one is pending.
    fn after_signal(&mut self) {
        self.drain(self.now());
        if self.timer.is_none() || self.fresh {
            self.schedule(0);
        }
        self.fresh = false;
    }

    pub fn signal(&mut self, kind: Signal) {
        let leaving = matches!(kind, Signal::Hidden | Signal::Leave);
        let (now, t) = (ms(self.now()), ms(self.perf_now()));
        match kind {
            Signal::Input => {
                // The hot path of wheel and key input: the engine notes the time, and a timer
                // is made only when none is pending.
                self.engine.on_input(t);
                if self.timer.is_none() {
                    self.schedule(0);
                }
                return;
            }
            Signal::Visible => self.engine.on_visibility(now, t, true),
            Signal::Hidden => self.engine.on_visibility(now, t, false),
            Signal::Focus => self.engine.on_focus(t, true),
            Signal::Blur => self.engine.on_focus(t, false),
            Signal::Leave => self.engine.on_leave(now, t),
        }
        if leaving {
            // The page may not come back: send now, and no timer while hidden.
            self.drain(self.now());
            if kind == Signal::Leave {
                self.q.leaving = true;
            }
            let last = self.q.leaving;
            self.send_all(last);
            self.schedule(-1);
        } else {
            if kind == Signal::Visible {
                self.adopt_visit();
            }
            self.after();
        }
    }

    fn navigated(&mut self) {
        let href = self.w.location().href().unwrap_or_default();
        if self.clean(&href) != self.clean(&self.v.last_href) {
            let from = self.v.last_href.clone();
            let (now, t) = (self.now(), self.perf_now());
            let _ = self.page_view(now, t, &from);
            self.decide();
            self.after();
        }
    }

    fn clicked(&mut self, e: &Event) {
        let Some(target) = e.target() else {
            return;
        };
        let Some(el) = target
            .dyn_ref::<web_sys::Element>()
            .and_then(|t| t.closest("[data-rapport-event]").ok().flatten())
        else {
            return;
        };
        let props = crate::bare();
        let attributes = el.attributes();
        for i in 0..attributes.length() {
            if let Some(a) = attributes.item(i) {
                if let Some(key) = a.name().strip_prefix("data-rapport-prop-") {
                    set(&props, key, &JsValue::from_str(&a.value()));
                }
            }
        }
        let name = el
            .get_attribute("data-rapport-event")
            .map_or(JsValue::NULL, |n| n.into());
        self.track(self.now(), &name, &props);
        self.after();
    }

    /// Releases everything this page's tracker attached: listeners, the timer, the history
    /// patches (where no one wrapped them since), the observer, the UI stage. What is queued
    /// stays stored for the next page.
    pub fn teardown(&mut self) {
        self.dead = true;
        self.schedule(-1);
        if let Some(t) = get(&self.api, "_t").as_f64() {
            self.w.clear_timeout_with_handle(t as i32);
        }
        self.listeners.clear();
        if let Some((observer, _)) = self.page.sizes.take() {
            observer.disconnect();
        }
        if let Ok(history) = self.w.history() {
            for (name, original, wrapper) in self.page.patched.drain(..) {
                if get(&history, name) == wrapper {
                    set(&history, name, &original);
                }
            }
        }
        self.heard = None;
        // experiment() now resolves with the first variant, as when off.
        set(&self.api, "_experiment", &JsValue::NULL);
        if let Some(stop) = self.ui_stop.take() {
            let _ = stop.call0(&JsValue::UNDEFINED);
        }
    }
}

/// The engine's facts for the UI stage: `[engaged ms, scroll %, session pageviews, session
/// start, returning (0/1), referred (0/1), visitor id, session id]`, or null once tracking
/// stopped.
pub fn facts() -> JsValue {
    peek(|d| {
        let (engaged, scroll) = d.engine.page_facts(ms(d.perf_now()));
        let visit = d.engine.visit().copied().unwrap_or_default();
        let referred =
            d.v.attribution
                .as_ref()
                .is_some_and(|a| get(&get(a, "p"), "referral_code").is_truthy());
        let out = Array::new();
        for n in [
            engaged.0 as f64,
            scroll.into(),
            visit.pageviews.into(),
            visit.session_started.0 as f64,
            f64::from(u8::from(d.engine.returning())),
            f64::from(u8::from(referred)),
        ] {
            crate::append(&out, &JsValue::from_f64(n));
        }
        crate::append(&out, &JsValue::from_str(&d.v.visitor));
        crate::append(&out, &JsValue::from_str(&d.v.session));
        JsValue::from(out)
    })
    .unwrap_or(JsValue::NULL)
}

/// The UI stage's `listen(f)`: it hears every event from now on, and the ones before it.
pub fn listen(f: JsValue) {
    run(Box::new(move |d| {
        if let Ok(f) = f.dyn_into::<Function>() {
            d.notify = std::mem::take(&mut d.missed);
            d.heard = Some(f);
        }
    }));
}
