//! The public calls (`track`, `page`, `identify`, `configure`, `experiment`, `destroy`),
//! each checked on its own: a bad one is dropped with one console line naming what was
//! wrong, and costs that call only.

use js_sys::{Array, Function, Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};

use crate::config::is_name;
use crate::{bare, get, log, set, text_of, Driver};

/// Props larger than this when serialized are refused.
const MAX_PROPS_BYTES: usize = 8192;
const FLAT: &str = "props must be a flat object of strings, numbers, booleans or null";

/// `"name"` for a string (as JSON), else its `typeof`.
fn label(d: &Driver, v: &JsValue) -> String {
    if v.is_string() {
        d.to_json(v).unwrap_or_default()
    } else {
        v.js_typeof().as_string().unwrap_or_default()
    }
}

impl Driver {
    /// A call by name with `[wall time, page time, ...arguments]`, as the loader queues them
    /// and the API functions pass them.
    pub fn call(&mut self, name: &str, args: &Array) {
        let now = args.get(0).as_f64().unwrap_or_else(js_sys::Date::now);
        let t = args.get(1).as_f64().unwrap_or_else(|| self.perf_now());
        let (a, b, c, e) = (args.get(2), args.get(3), args.get(4), args.get(5));
        match name {
            "track" => self.track(now, &a, &b),
            "page" => {
                let from = self.v.last_href.clone();
                let _ = self.page_view(now, t, &from);
            }
            "identify" => self.identify(&a, &b),
            "configure" => self.configure(&a),
            "experiment" => self.experiment(now, &a, &b, &c, &e),
            "destroy" => self.teardown(),
            _ => {}
        }
    }

    pub fn track(&mut self, now: f64, name: &JsValue, props: &JsValue) {
        let checked = match name.as_string() {
            Some(n) if is_name(&n, 64) => self.check(props).map(|p| (n, p)),
            _ => Err("name must be 1-64 characters of a-z, 0-9, '_', '.' and '-'".into()),
        };
        match checked {
            Err(why) => {
                let mut line = String::from("track(");
                line.push_str(&label(self, name));
                line.push_str(") dropped the event: ");
                line.push_str(&why);
                log(&line, false);
            }
            Ok((name, props)) => {
                let key = self.cfg.key_events.contains(&name);
                self.engine.on_event(crate::ms(now), key);
                self.drain(now);
                if let Err(e) = self.emit(&name, &props, now) {
                    self.failed("track()", &e);
                }
            }
        }
    }

    /// Reads the page's props once, defensively (getters and proxies may throw), into an
    /// object without a prototype.
    fn check(&self, props: &JsValue) -> Result<Object, String> {
        if props.is_null() || props.is_undefined() {
            return Ok(bare());
        }
        if !props.is_object() || Array::is_array(props) {
            return Err(FLAT.into());
        }
        let unreadable = |e: JsValue| {
            let mut why = String::from("props could not be read (");
            why.push_str(&text_of(&e));
            why.push(')');
            why
        };
        let copy = bare();
        let keys = crate::object_keys(props).map_err(unreadable)?;
        for k in keys.iter() {
            let v = Reflect::get(props, &k).map_err(unreadable)?;
            let _ = Reflect::set(&copy, &k, &v);
        }
        for k in keys.iter() {
            let name = k.as_string().unwrap_or_default();
            let units = name.encode_utf16().count();
            if units == 0 || units > 64 {
                return Err("props keys must be 1-64 characters".into());
            }
            let v = Reflect::get(&copy, &k).unwrap_or(JsValue::UNDEFINED);
            if let Some(n) = v.as_f64() {
                if !n.is_finite() {
                    return Err("props numbers must be finite".into());
                }
            } else if !(v.is_null() || v.is_string() || v.as_bool().is_some()) {
                return Err(FLAT.into());
            }
        }
        match self.to_json(&copy) {
            Ok(json) if json.len() <= MAX_PROPS_BYTES => Ok(copy),
            Ok(_) => Err("props are larger than 8 KB when serialized".into()),
            Err(e) => Err(unreadable(e)),
        }
    }

    fn identify(&mut self, id: &JsValue, options: &JsValue) {
        if id.is_null() {
            return self.save("user", None); // signed out
        }
        let printable = id.as_string().filter(|s| {
            !s.is_empty() && s.len() <= 256 && s.bytes().all(|b| (b'!'..=b'~').contains(&b))
        });
        let Some(id) = printable else {
            return log(
                "identify() ignored: userId must be 1-256 printable ASCII characters without spaces",
                false,
            );
        };
        let read = |key: &str| -> Result<JsValue, JsValue> {
            if options.is_object() || options.is_function() {
                Reflect::get(options, &JsValue::from_str(key))
            } else {
                Ok(JsValue::UNDEFINED)
            }
        };
        let (hash, exp) = match (read("hash"), read("expires")) {
            (Ok(h), Ok(e)) => (h, e),
            (Err(e), _) | (_, Err(e)) => {
                let mut line = String::from("identify() ignored: its options could not be read (");
                line.push_str(&text_of(&e));
                line.push(')');
                return log(&line, false);
            }
        };
        let given = |v: &JsValue| !v.is_null() && !v.is_undefined();
        if given(&hash)
            && hash
                .as_string()
                .is_none_or(|h| h.encode_utf16().count() > 128)
        {
            return log(
                "identify() ignored: hash must be a string of at most 128 characters",
                false,
            );
        }
        if given(&exp) && !exp.as_f64().is_some_and(|e| e > 0.0 && e.fract() == 0.0) {
            return log("identify() ignored: expires must be unix seconds", false);
        }
        let user = Object::new();
        set(&user, "id", &JsValue::from_str(&id));
        set(
            &user,
            "hash",
            &JsValue::from_str(&hash.as_string().unwrap_or_default()),
        );
        if given(&exp) {
            set(&user, "exp", &exp);
        }
        self.save("user", Some(&user));
    }

    /// `{ transport: { headers, beforeSend } }`. Each option is checked on its own; a bad one
    /// is ignored with a warning naming it.
    fn configure(&mut self, options: &JsValue) {
        let read = |from: &JsValue, key: &str| -> Result<JsValue, JsValue> {
            if from.is_object() || from.is_function() {
                Reflect::get(from, &JsValue::from_str(key))
            } else {
                Ok(JsValue::UNDEFINED)
            }
        };
        let unreadable = |e: JsValue| {
            let mut line = String::from("configure() ignored: its options could not be read (");
            line.push_str(&text_of(&e));
            line.push(')');
            log(&line, false);
        };
        let given = match read(options, "transport") {
            Ok(g) => g,
            Err(e) => return unreadable(e),
        };
        if !given.is_object() {
            return log(
                "configure() ignored: expected { transport: { headers, beforeSend } }",
                false,
            );
        }
        let (headers, before_send) = match (read(&given, "headers"), read(&given, "beforeSend")) {
            (Ok(h), Ok(b)) => (h, b),
            (Err(e), _) | (_, Err(e)) => return unreadable(e),
        };
        if !headers.is_undefined() {
            if headers.is_null() {
                self.page.headers = None;
            } else {
                match self.headers(&headers) {
                    Ok(set) => self.page.headers = Some(set.into()),
                    Err(None) => log(
                        "configure() ignored transport.headers: it must be an object of header names to string values",
                        false,
                    ),
                    Err(Some(e)) => return unreadable(e),
                }
            }
        }
        if !before_send.is_undefined() {
            if before_send.is_null() {
                self.page.before_send = None;
            } else if let Some(f) = before_send.dyn_ref::<Function>() {
                self.page.before_send = Some(f.clone());
            } else {
                log(
                    "configure() ignored transport.beforeSend: it must be a function",
                    false,
                );
            }
        }
    }

    /// The headers as an object of ours: `Err(None)` when they are not names to strings.
    fn headers(&self, headers: &JsValue) -> Result<Object, Option<JsValue>> {
        if !headers.is_object() || Array::is_array(headers) {
            return Err(None);
        }
        let set_to = bare();
        if let Some(h) = headers.dyn_ref::<web_sys::Headers>() {
            // A Headers object: its entries, by its own iterator.
            if let Ok(Some(entries)) = js_sys::try_iter(h) {
                for pair in entries {
                    let pair = pair.map_err(Some)?;
                    let _ = Reflect::set(&set_to, &get(&pair, "0"), &get(&pair, "1"));
                }
            }
        }
        let keys = crate::object_keys(headers).map_err(Some)?;
        for k in keys.iter() {
            let v = Reflect::get(headers, &k).map_err(Some)?;
            let name = k.as_string().unwrap_or_default();
            let token = !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+.^_`|~-".contains(&b));
            let value_ok = v
                .as_string()
                .is_some_and(|s| !s.contains(['\r', '\n', '\0']));
            if !token || !value_ok {
                return Err(None);
            }
            let _ = Reflect::set(&set_to, &k, &v);
        }
        Ok(set_to)
    }

    /// The visitor's variant, assigned from the visitor and experiment ids; the first time in
    /// a session it is recorded as `experiment_exposed`. `call` is the loader's
    /// `{ done, resolve }`.
    pub fn experiment(
        &mut self,
        now: f64,
        id: &JsValue,
        variants: &JsValue,
        options: &JsValue,
        call: &JsValue,
    ) {
        if get(call, "done").is_truthy() {
            return; // the page already showed the first variant: no exposure
        }
        let resolve = |v: &JsValue| {
            if let Ok(f) = get(call, "resolve").dyn_into::<Function>() {
                let _ = f.call1(&JsValue::UNDEFINED, v);
            }
        };
        let mut list: Vec<JsValue> = Vec::new();
        let mut weights: Option<Vec<JsValue>> = None;
        let mut bad = String::new();
        let mut read = || -> Result<(), JsValue> {
            if Array::is_array(variants) {
                let n = Reflect::get(variants, &JsValue::from_str("length"))?
                    .as_f64()
                    .unwrap_or(0.0)
                    .min(11.0) as u32;
                for i in 0..n {
                    list.push(Reflect::get_u32(variants, i)?);
                }
            }
            let w = if options.is_object() || options.is_function() {
                Reflect::get(options, &JsValue::from_str("weights"))?
            } else {
                JsValue::UNDEFINED
            };
            if !w.is_null() && !w.is_undefined() {
                weights = Some(if Array::is_array(&w) {
                    let n = Reflect::get(&w, &JsValue::from_str("length"))?
                        .as_f64()
                        .unwrap_or(0.0)
                        .min(11.0) as u32;
                    (0..n)
                        .map(|i| Reflect::get_u32(&w, i))
                        .collect::<Result<_, _>>()?
                } else {
                    Vec::new() // not a list: refused below
                });
            }
            Ok(())
        };
        if let Err(e) = read() {
            bad = String::from("its arguments could not be read (");
            bad.push_str(&text_of(&e));
            bad.push(')');
        }
        let id_name = id.as_string().filter(|s| is_name(s, 48));
        if bad.is_empty() && id_name.is_none() {
            bad = "id must be 1-48 characters of a-z, 0-9, '_', '.' and '-'".into();
        }
        let names: Vec<String> = list.iter().filter_map(|v| v.as_string()).collect();
        if bad.is_empty()
            && (list.is_empty()
                || list.len() > 10
                || names.len() != list.len()
                || names.iter().any(|n| !is_name(n, 64))
                || names
                    .iter()
                    .enumerate()
                    .any(|(j, n)| names[..j].contains(n)))
        {
            bad = "variants must be 1-10 distinct names of a-z, 0-9, '_', '.' and '-'".into();
        }
        const WEIGHTS: &str = "weights must be one number of at least 0 per variant, not all 0";
        let mut numbers: Vec<f64> = vec![1.0; names.len()];
        if bad.is_empty() {
            if let Some(w) = weights.as_ref() {
                let parsed: Option<Vec<f64>> = w
                    .iter()
                    .map(|x| x.as_f64().filter(|n| n.is_finite() && *n >= 0.0))
                    .collect();
                match parsed {
                    Some(p) if p.len() == names.len() && p.iter().any(|n| *n > 0.0) => numbers = p,
                    _ => bad = WEIGHTS.into(),
                }
            }
        }
        let mut pick = None;
        if bad.is_empty() {
            if let Some(id) = id_name.as_ref() {
                pick = rapport_core::experiment::assign(&self.v.visitor, id, &numbers);
                if pick.is_none() {
                    bad = WEIGHTS.into();
                }
            }
        }
        let (Some(n), Some(id), true) = (pick, id_name, bad.is_empty()) else {
            let mut line = String::from("experiment(");
            line.push_str(&label(self, id));
            line.push_str(") ");
            line.push_str(&bad);
            line.push_str("; the first variant is shown");
            log(&line, false);
            let first = list.first().filter(|v| v.is_string()).cloned();
            return resolve(&first.unwrap_or(JsValue::NULL));
        };
        let variant = JsValue::from_str(&names[n]);
        let x = self.v.experiments.get_or_insert_with(bare).clone();
        if get(&x, &id).is_null() || get(&x, &id).is_undefined() {
            set(&x, &id, &variant);
            self.persist();
            let p = bare();
            set(&p, "experiment", &JsValue::from_str(&id));
            set(&p, "variant", &variant);
            set(&p, "variant_index", &JsValue::from_f64(n as f64));
            if let Err(e) = self.emit("experiment_exposed", &p, now) {
                self.failed("experiment()", &e);
            }
        }
        resolve(&variant);
    }

    /// Declarative experiments: a `[data-rapport-experiment]` element shows the one of its
    /// `[data-rapport-variant]` elements that is the visitor's variant.
    pub fn decide(&mut self) {
        let Ok(boxes) = self.doc.query_selector_all("[data-rapport-experiment]") else {
            return;
        };
        for i in 0..boxes.length() {
            let Some(b) = boxes
                .item(i)
                .and_then(|n| n.dyn_into::<web_sys::Element>().ok())
            else {
                continue;
            };
            if b.query_selector("[data-rapport-chosen]")
                .ok()
                .flatten()
                .is_some()
            {
                continue;
            }
            let Ok(options) = b.query_selector_all("[data-rapport-variant]") else {
                continue;
            };
            let elements: Vec<web_sys::Element> = (0..options.length())
                .filter_map(|j| options.item(j)?.dyn_into().ok())
                .collect();
            let names = Array::new();
            for e in &elements {
                names.push(
                    &e.get_attribute("data-rapport-variant")
                        .map_or(JsValue::NULL, |v| v.into()),
                );
            }
            // The answer comes back through `resolve`, at once.
            let chosen = std::rc::Rc::new(std::cell::RefCell::new(JsValue::UNDEFINED));
            let got = chosen.clone();
            let resolve = wasm_bindgen::closure::Closure::once_into_js(move |v: JsValue| {
                *got.borrow_mut() = v;
            });
            let call = Object::new();
            set(&call, "resolve", &resolve);
            let id = b
                .get_attribute("data-rapport-experiment")
                .map_or(JsValue::NULL, |v| v.into());
            self.experiment(js_sys::Date::now(), &id, &names, &JsValue::NULL, &call);
            let chosen = chosen.borrow().as_string();
            let at = elements
                .iter()
                .position(|e| e.get_attribute("data-rapport-variant") == chosen)
                .unwrap_or(0);
            if let Some(e) = elements.get(at) {
                let _ = e.set_attribute("data-rapport-chosen", "");
            }
        }
    }
}
