//! The loyalty and referral panels and their launcher, built with web-sys like the card.
//!
//! `panels.js` fetches from the loyalty backend, formats numbers and dates for the language,
//! and hands over a plain object (documented on [`crate::panel`]); this module turns it into
//! DOM, in one shadow root, with every text set as text content. What the shopper does comes
//! back through `act(name, argument)`: `close`, `tab` (0 points, 1 referral), `redeem`
//! (reward id), `copy` (text), `share`, `open` (a share link's name), `retry`. `panels.js` renders again when the data
//! changes, and puts focus back on the element with the same `data-k`.

use gloo_events::{EventListener, EventListenerOptions};
use js_sys::{Array, Function, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Document, Element, Event, HtmlElement, KeyboardEvent};

use crate::i18n::{fill, Panel, Strings};
use crate::view::{add, root, Mounted};

fn get(o: &JsValue, key: &str) -> JsValue {
    Reflect::get(o, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

fn text(o: &JsValue, key: &str) -> String {
    get(o, key).as_string().unwrap_or_default()
}

fn flag(o: &JsValue, key: &str) -> bool {
    get(o, key).is_truthy()
}

/// `o[key]` as a list (empty when it is not one).
fn list(o: &JsValue, key: &str) -> Vec<JsValue> {
    get(o, key)
        .dyn_into::<Array>()
        .map(|a| a.iter().collect())
        .unwrap_or_default()
}

/// Item `i` of a list entry, as text.
fn at(entry: &JsValue, i: u32) -> String {
    Reflect::get_u32(entry, i)
        .ok()
        .and_then(|v| v.as_string())
        .unwrap_or_default()
}

fn act(f: &Function, name: &str, arg: &JsValue) {
    let _ = f.call2(&JsValue::NULL, &JsValue::from_str(name), arg);
}

fn button(
    doc: &Document,
    parent: &Element,
    class: &str,
    action: &str,
    key: &str,
    label: &str,
) -> Element {
    add(
        doc,
        parent,
        "button",
        &[
            ("type", "button"),
            ("class", class),
            ("data-a", action),
            ("data-k", key),
        ],
        label,
    )
}

/// A labelled list of `(label, value)` rows.
fn rows(doc: &Document, parent: &Element, heading: &str, items: &[(String, String)]) {
    add(doc, parent, "h3", &[], heading);
    let ul = add(doc, parent, "ul", &[("class", "rows")], "");
    for (label, value) in items {
        let li = add(doc, &ul, "li", &[], "");
        add(doc, &li, "span", &[], label);
        add(doc, &li, "span", &[("class", "v")], value);
    }
}

/// The ways to earn: what both signed-in and anonymous shoppers see.
fn earning(doc: &Document, pane: &Element, p: &Panel, l: &JsValue) {
    let unit = text(l, "unit");
    let earn: Vec<(String, String)> = list(l, "earn")
        .iter()
        .map(|e| {
            let label = match at(e, 0).as_str() {
                "feedback" => p.earn_feedback.to_string(),
                "referral" => p.earn_referral.to_string(),
                _ => fill(p.earn_order, &[("unit", &unit)]),
            };
            (label, fill(p.plus, &[("n", &at(e, 1))]))
        })
        .collect();
    if !earn.is_empty() {
        rows(doc, pane, p.earn, &earn);
    }
}

fn join(doc: &Document, pane: &Element, p: &Panel, data: &JsValue) {
    add(doc, pane, "p", &[("class", "lead")], p.join_title);
    let url = text(data, "signIn");
    if !url.is_empty() {
        add(
            doc,
            pane,
            "a",
            &[("class", "go"), ("href", &url), ("data-k", "join")],
            p.join,
        );
    }
}

fn loyalty(doc: &Document, pane: &Element, p: &Panel, data: &JsValue, l: &JsValue) {
    if !flag(l, "signedIn") {
        join(doc, pane, p, data);
        earning(doc, pane, p, l);
        let tiers: Vec<(String, String)> = list(l, "tiers")
            .iter()
            .map(|t| (at(t, 0), fill(p.needs, &[("n", &at(t, 1))])))
            .collect();
        if tiers.len() > 1 {
            rows(doc, pane, p.tiers, &tiers);
        }
        return;
    }
    let balance = add(doc, pane, "div", &[("class", "bal")], "");
    add(
        doc,
        &balance,
        "span",
        &[("class", "n")],
        &text(l, "balance"),
    );
    add(doc, &balance, "span", &[], p.balance);
    let tier = text(l, "tier");
    if !tier.is_empty() {
        add(
            doc,
            pane,
            "p",
            &[("class", "tier")],
            &fill(p.member, &[("tier", &tier)]),
        );
    }
    let next = get(l, "next");
    let line = if next.is_truthy() {
        fill(p.to_next, &[("n", &at(&next, 0)), ("tier", &at(&next, 1))])
    } else {
        p.top.to_string()
    };
    // A whole number 0-100, as text.
    let mut percent = text(l, "progress");
    let bar = add(
        doc,
        pane,
        "div",
        &[
            ("class", "bar"),
            ("role", "progressbar"),
            ("aria-valuemin", "0"),
            ("aria-valuemax", "100"),
            ("aria-valuenow", &percent),
            ("aria-label", &line),
        ],
        "",
    );
    percent.push('%');
    let fill_style = String::from("inline-size:") + &percent;
    add(doc, &bar, "span", &[("style", &fill_style)], "");
    add(doc, pane, "p", &[("class", "small")], &line);

    let coupon = get(l, "coupon");
    if coupon.is_truthy() {
        let code = at(&coupon, 1);
        let box_ = add(doc, pane, "div", &[("class", "coupon")], "");
        add(
            doc,
            &box_,
            "p",
            &[],
            &fill(p.coupon, &[("reward", &at(&coupon, 0))]),
        );
        add(doc, &box_, "p", &[("class", "code")], &code);
        let copy = button(doc, &box_, "alt", "copy", "code", p.copy_code);
        let _ = copy.set_attribute("data-t", &code);
    }

    earning(doc, pane, p, l);
    let rewards = list(l, "rewards");
    if !rewards.is_empty() {
        add(doc, pane, "h3", &[], p.rewards);
        let ul = add(doc, pane, "ul", &[("class", "rows")], "");
        for r in &rewards {
            let li = add(doc, &ul, "li", &[], "");
            let name = add(doc, &li, "span", &[], &at(r, 1));
            add(
                doc,
                &name,
                "span",
                &[("class", "small block")],
                &fill(p.needs, &[("n", &at(r, 2))]),
            );
            let id = at(r, 0);
            let mut key = String::from("r-");
            key.push_str(&id);
            let go = button(doc, &li, "go", "redeem", &key, p.redeem);
            let _ = go.set_attribute("data-t", &id);
            let mut label = String::from(p.redeem);
            label.push_str(": ");
            label.push_str(&at(r, 1));
            let _ = go.set_attribute("aria-label", &label);
            if !Reflect::get_u32(r, 3)
                .map(|v| v.is_truthy())
                .unwrap_or(false)
            {
                let _ = go.set_attribute("disabled", "");
            }
        }
    }
    let activity: Vec<(String, String)> = list(l, "activity")
        .iter()
        .map(|a| {
            let reason = match at(a, 0).as_str() {
                "order" => p.reasons[0],
                "order_refund" => p.reasons[1],
                "referral" => p.reasons[2],
                "feedback" => p.reasons[3],
                _ => p.reasons[4],
            };
            let mut label = String::from(reason);
            label.push_str(" · ");
            label.push_str(&at(a, 2));
            (label, at(a, 1))
        })
        .collect();
    if activity.is_empty() {
        add(doc, pane, "h3", &[], p.activity);
        add(doc, pane, "p", &[("class", "small")], p.nothing_yet);
    } else {
        rows(doc, pane, p.activity, &activity);
    }
}

fn referral(doc: &Document, pane: &Element, p: &Panel, data: &JsValue, r: &JsValue) {
    add(doc, pane, "p", &[("class", "lead")], &text(r, "offer"));
    if !flag(r, "signedIn") {
        return join(doc, pane, p, data);
    }
    let link = text(r, "link");
    add(
        doc,
        pane,
        "label",
        &[("for", "link"), ("class", "small")],
        p.your_link,
    );
    let row = add(doc, pane, "div", &[("class", "row")], "");
    add(
        doc,
        &row,
        "input",
        &[
            ("id", "link"),
            ("readonly", ""),
            ("value", &link),
            ("dir", "ltr"),
            ("data-k", "link"),
        ],
        "",
    );
    let copy = button(doc, &row, "go", "copy", "copy", p.copy_link);
    let _ = copy.set_attribute("data-t", &link);
    let shares = add(doc, pane, "div", &[("class", "shares")], "");
    if flag(r, "canShare") {
        button(doc, &shares, "alt", "share", "share", p.share);
    }
    for s in list(r, "shares") {
        let label = at(&s, 0);
        add(
            doc,
            &shares,
            "a",
            &[
                ("class", "alt"),
                ("href", &at(&s, 1)),
                ("target", "_blank"),
                ("rel", "noopener noreferrer"),
                ("data-a", "open"),
                ("data-t", &label),
                ("data-k", &label),
            ],
            &label,
        );
    }
    let stats = add(doc, pane, "dl", &[("class", "stats")], "");
    let values = list(r, "stats");
    for (i, name) in p.stats.iter().enumerate() {
        let cell = add(doc, &stats, "div", &[], "");
        add(doc, &cell, "dt", &[], name);
        add(
            doc,
            &cell,
            "dd",
            &[],
            &values
                .get(i)
                .and_then(|v| v.as_string())
                .unwrap_or_default(),
        );
    }
}

fn target(ev: &Event) -> Option<Element> {
    let el = ev.target()?.dyn_into::<Element>().ok()?;
    el.closest("[data-a]").ok().flatten()
}

/// Shows pane `i` and selects its tab.
fn select(sheet: &Element, i: usize) {
    for n in 0..2 {
        let mut id = String::from("pane");
        id.push(if n == 0 { '0' } else { '1' });
        let selector = String::from("#") + &id;
        if let Ok(Some(pane)) = sheet.query_selector(&selector) {
            let _ = pane.toggle_attribute_with_force("hidden", n != i);
        }
        let tab = String::from("#tab") + if n == 0 { "0" } else { "1" };
        if let Ok(Some(tab)) = sheet.query_selector(&tab) {
            let on = n == i;
            let _ = tab.set_attribute("aria-selected", if on { "true" } else { "false" });
            let _ = tab.set_attribute("tabindex", if on { "0" } else { "-1" });
            if on {
                if let Ok(tab) = tab.dyn_into::<HtmlElement>() {
                    let _ = tab.focus();
                }
            }
        }
    }
}

/// Renders the panel into `mount`; see the module's documentation for `data` and `act`.
pub fn panel(
    doc: &Document,
    mount: &Element,
    s: &'static Strings,
    p: &'static Panel,
    data: JsValue,
    on: Function,
) -> Mounted {
    let w = root(doc, mount, s, "w");
    let sheet = add(
        doc,
        &w,
        "div",
        &[
            ("class", "sheet"),
            ("role", "dialog"),
            ("aria-labelledby", "title"),
        ],
        "",
    );
    add(doc, &sheet, "h2", &[("id", "title")], p.title);
    let close = button(doc, &sheet, "x", "close", "x", "×");
    let _ = close.set_attribute("aria-label", s.close);
    let status = text(&data, "status");
    add(doc, &sheet, "p", &[("class", "live")], &status);

    let l = get(&data, "loyalty");
    let r = get(&data, "referral");
    let open = if r.is_truthy() && (!l.is_truthy() || get(&data, "open").as_f64() == Some(1.0)) {
        1
    } else {
        0
    };
    let both = l.is_truthy() && r.is_truthy();
    if both {
        let tabs = add(
            doc,
            &sheet,
            "div",
            &[("role", "tablist"), ("class", "tabs")],
            "",
        );
        for (i, label) in [p.points_tab, p.refer_tab].iter().enumerate() {
            let (id, pane) = if i == 0 {
                ("tab0", "pane0")
            } else {
                ("tab1", "pane1")
            };
            let tab = add(
                doc,
                &tabs,
                "button",
                &[
                    ("type", "button"),
                    ("role", "tab"),
                    ("id", id),
                    ("aria-controls", pane),
                    ("data-a", "tab"),
                    ("data-k", id),
                    ("data-t", if i == 0 { "0" } else { "1" }),
                ],
                label,
            );
            let on = i == open;
            let _ = tab.set_attribute("aria-selected", if on { "true" } else { "false" });
            let _ = tab.set_attribute("tabindex", if on { "0" } else { "-1" });
        }
    }
    for (i, section) in [&l, &r].into_iter().enumerate() {
        if !section.is_truthy() {
            continue;
        }
        let state = get(section, "state").as_f64().unwrap_or(0.0);
        let (id, tab) = if i == 0 {
            ("pane0", "tab0")
        } else {
            ("pane1", "tab1")
        };
        let pane = add(doc, &sheet, "div", &[("id", id), ("class", "pane")], "");
        if both {
            let _ = pane.set_attribute("role", "tabpanel");
            let _ = pane.set_attribute("aria-labelledby", tab);
        }
        if i != open {
            let _ = pane.set_attribute("hidden", "");
        }
        if state == 1.0 {
            add(doc, &pane, "p", &[("class", "small")], p.loading);
        } else if state == 2.0 {
            add(doc, &pane, "p", &[], p.failed);
            button(
                doc,
                &pane,
                "alt",
                "retry",
                if i == 0 { "retry0" } else { "retry1" },
                p.retry,
            );
        } else if i == 0 {
            loyalty(doc, &pane, p, &data, section);
        } else {
            referral(doc, &pane, p, &data, section);
        }
    }

    let on_click = {
        let (on, sheet) = (on.clone(), sheet.clone());
        move |ev: &Event| {
            let Some(el) = target(ev) else { return };
            if el.has_attribute("disabled") {
                return;
            }
            let action = el.get_attribute("data-a").unwrap_or_default();
            let arg = JsValue::from(el.get_attribute("data-t"));
            if action == "tab" {
                select(
                    &sheet,
                    if arg.as_string().as_deref() == Some("1") {
                        1
                    } else {
                        0
                    },
                );
            }
            act(&on, &action, &arg);
        }
    };
    let on_key = {
        let sheet = sheet.clone();
        move |ev: &Event| {
            let Some(key) = ev.dyn_ref::<KeyboardEvent>() else {
                return;
            };
            match key.key().as_str() {
                "Escape" => {
                    ev.prevent_default();
                    act(&on, "close", &JsValue::NULL);
                }
                // Arrow keys move between the two tabs (either way round, so mirroring
                // needs no care).
                "ArrowLeft" | "ArrowRight" | "Home" | "End" => {
                    let on_tab = target(ev)
                        .and_then(|t| t.get_attribute("data-a"))
                        .as_deref()
                        == Some("tab");
                    if on_tab {
                        ev.prevent_default();
                        let selected = sheet
                            .query_selector("[aria-selected=true]")
                            .ok()
                            .flatten()
                            .and_then(|t| t.get_attribute("data-t"));
                        let to = match key.key().as_str() {
                            "Home" => 0,
                            "End" => 1,
                            _ => usize::from(selected.as_deref() != Some("1")),
                        };
                        select(&sheet, to);
                        act(&on, "tab", &JsValue::from(if to == 1 { "1" } else { "0" }));
                    }
                }
                _ => {}
            }
        }
    };
    Mounted::new(
        w.clone(),
        vec![
            EventListener::new(&w, "click", on_click),
            EventListener::new_with_options(
                &w,
                "keydown",
                EventListenerOptions::enable_prevent_default(),
                on_key,
            ),
        ],
    )
}

/// The launcher: a button with the title and, for a signed-in shopper, the balance; `gain`
/// (like "+50") plays the celebration and is announced.
pub fn launcher(
    doc: &Document,
    mount: &Element,
    s: &'static Strings,
    p: &'static Panel,
    (balance, gain, expanded): (&str, &str, bool),
    open: Function,
) -> Mounted {
    let w = root(doc, mount, s, "w");
    let b = add(
        doc,
        &w,
        "button",
        &[
            ("type", "button"),
            ("class", "launch"),
            ("aria-haspopup", "dialog"),
            ("aria-expanded", if expanded { "true" } else { "false" }),
        ],
        "",
    );
    add(doc, &b, "span", &[("aria-hidden", "true")], "★ ");
    add(doc, &b, "span", &[], p.title);
    if !balance.is_empty() {
        // Seen: the number; heard: "500 points".
        add(
            doc,
            &b,
            "span",
            &[("class", "badge"), ("aria-hidden", "true")],
            balance,
        );
        add(
            doc,
            &b,
            "span",
            &[("class", "sr")],
            &fill(p.points, &[("n", balance)]),
        );
    }
    // The celebration, seen; `panels.js` announces it in the shadow root's live region.
    let bubble = add(
        doc,
        &w,
        "span",
        &[("class", "gain"), ("aria-hidden", "true")],
        "",
    );
    if !gain.is_empty() {
        bubble.set_text_content(Some(&fill(p.points, &[("n", gain)])));
        let _ = bubble.set_attribute("data-on", "");
    }
    Mounted::new(
        w,
        vec![EventListener::new(&b, "click", move |_| {
            let _ = open.call0(&JsValue::NULL);
        })],
    )
}
