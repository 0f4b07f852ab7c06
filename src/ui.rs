//! The UI stage (`ui/`): feedback prompts and the loyalty and referral panels, fetched in
//! idle time and only when the site config (inline in `data-config`, else served next to the
//! endpoint) has any. It reads the engine's facts and hears every event emitted here.

use js_sys::{Function, Object, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::config::Format;
use crate::{get, ignore, log, peek, run, set, text_of, then, Driver};

/// Whether the config has anything to show.
fn showable(config: &JsValue) -> bool {
    let prompts = get(config, "prompts");
    config.is_object()
        && (get(&prompts, "length").as_f64().unwrap_or(0.0) > 0.0
            || get(config, "loyalty").is_truthy()
            || get(config, "referral").is_truthy())
}

impl Driver {
    /// The site API's base (`…/v1/sites/<site>/`), for the native format only.
    fn site_api(&self) -> String {
        if self.cfg.format != Format::Rapport {
            return String::new();
        }
        let mut path = String::from("sites/");
        path.push_str(&self.cfg.site);
        path.push('/');
        web_sys::Url::new_with_base(&path, &self.cfg.endpoint)
            .map(|u| u.href())
            .unwrap_or_default()
    }

    pub fn load_ui(&mut self) {
        if let Some(inline) = self.script.get_attribute("data-config") {
            if inline.is_empty() {
                return;
            }
            match self
                .parse
                .call1(&JsValue::UNDEFINED, &JsValue::from_str(&inline))
            {
                Ok(config) => self.ui(config),
                Err(_) => log(
                    "config field \"data-config\" is not valid JSON; no prompts are shown",
                    true,
                ),
            }
        } else if self.cfg.format == Format::Rapport {
            let mut url = self.site_api();
            url.push_str("config");
            let Ok(p) = crate::fetch(&url, &JsValue::UNDEFINED) else {
                return; // no fetch: no prompts
            };
            let read = then(
                &p,
                Box::new(|r| {
                    let json = r
                        .dyn_ref::<web_sys::Response>()
                        .filter(|r| r.ok())
                        .and_then(|r| r.json().ok());
                    json.map_or(JsValue::UNDEFINED, JsValue::from)
                }),
                ignore(),
            );
            then(
                &read,
                Box::new(|config| {
                    run(Box::new(move |d| d.ui(config)));
                    JsValue::UNDEFINED
                }),
                ignore(),
            );
        }
    }

    /// Fetches the stage in idle time when `config` has something to show.
    fn ui(&mut self, config: JsValue) {
        if !showable(&config) {
            return;
        }
        let src = get(&self.script, "src").as_string().unwrap_or_default();
        let Ok(base) = web_sys::Url::new_with_base(".", &src).map(|u| u.href()) else {
            return;
        };
        let import = self.import.clone();
        let later: crate::Then = Box::new(move |_| {
            fetch_stage(base, import, config);
            JsValue::UNDEFINED
        });
        let later = Closure::once_into_js(later);
        let later: Function = later.unchecked_into();
        if self.w.request_idle_callback(&later).is_err() {
            let _ = self
                .w
                .set_timeout_with_callback_and_timeout_and_arguments_0(&later, 0);
        }
    }
}

/// Imports the stage's glue and wasm from `base`, then starts it with the host object, with
/// the driver's state released (the stage reads the facts while it starts).
fn fetch_stage(base: String, import: Function, config: JsValue) {
    let mut wasm_url = base.clone();
    wasm_url.push_str("rapport_ui_bg.wasm");
    let mut glue_url = base.clone();
    glue_url.push_str("rapport_ui.js");
    let fail_base = base.clone();
    let report = move |e: JsValue| {
        let mut line = String::from("could not load the prompts from ");
        line.push_str(&fail_base);
        line.push_str(": ");
        line.push_str(&text_of(&e));
        log(&line, true);
        JsValue::UNDEFINED
    };
    let wasm = match crate::fetch(&wasm_url, &JsValue::UNDEFINED) {
        Ok(p) => p,
        Err(e) => {
            report(e);
            return;
        }
    };
    then(&wasm, ignore(), ignore()); // a failure is reported with the import below
    let imported = match import.call1(&JsValue::UNDEFINED, &JsValue::from_str(&glue_url)) {
        Ok(p) => p,
        Err(e) => {
            report(e);
            return;
        }
    };
    let report2 = report.clone();
    then(
        &imported,
        Box::new(move |stage| {
            let init = get(&stage, "default");
            let options = Object::new();
            set(&options, "module_or_path", &wasm);
            let ready = init
                .dyn_ref::<Function>()
                .ok_or(JsValue::from_str("the stage has no init"))
                .and_then(|f| f.call1(&JsValue::UNDEFINED, &options));
            match ready {
                Ok(ready) => then(
                    &ready,
                    Box::new(move |_| {
                        begin(&stage, &config);
                        JsValue::UNDEFINED
                    }),
                    Box::new(report2),
                ),
                Err(e) => Promise::reject(&e).into(),
            }
        }),
        Box::new(report),
    );
}

/// Calls the stage's `start(host, config)` and keeps its stop function.
fn begin(stage: &JsValue, config: &JsValue) {
    let Some(host) = peek(|d| {
        let host = Object::new();
        set(&host, "track", &get(&d.api, "track"));
        set(&host, "api", &JsValue::from_str(&d.site_api()));
        set(&host, "ref", &JsValue::from_str(&d.cfg.ref_param));
        let locale = d.script.get_attribute("data-locale");
        set(&host, "locale", &locale.map_or(JsValue::NULL, |l| l.into()));
        host
    }) else {
        return; // stopped meanwhile
    };
    let facts = Closure::<dyn FnMut() -> JsValue>::new(crate::page::facts).into_js_value();
    set(&host, "facts", &facts);
    let listen = Closure::<dyn FnMut(JsValue)>::new(crate::page::listen).into_js_value();
    set(&host, "listen", &listen);
    let Ok(start) = get(stage, "start").dyn_into::<Function>() else {
        return;
    };
    match start.call2(&JsValue::UNDEFINED, &host, config) {
        Ok(stop) => {
            if let Ok(stop) = stop.dyn_into::<Function>() {
                run(Box::new(move |d| d.ui_stop = Some(stop)));
            }
        }
        Err(e) => log(
            &{
                let mut line = String::from("the prompts failed: ");
                line.push_str(&text_of(&e));
                line
            },
            true,
        ),
    }
}
