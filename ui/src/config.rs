//! The site config as this stage receives it: a JavaScript value (inline `data-config`, or
//! the collector's `sites/<site>/config`), deserialized with serde-wasm-bindgen into
//! `rapport_core::config::Programs` and validated with the collector's own rules.
//!
//! A part that does not deserialize or breaks a rule gets one console line naming its field
//! (`config field "prompts[0].trigger.scroll_percent" must be 1-100`) and is left out; the
//! rest of the config still works.

use js_sys::{Array, Reflect};
use rapport_core::config::{Problem, Programs};
use serde::de::DeserializeOwned;
use wasm_bindgen::{JsCast, JsValue};

/// One part of the config; `None` (with one console line) when it does not deserialize.
fn part<T: DeserializeOwned>(value: JsValue, at: &str) -> Option<T> {
    let de = serde_wasm_bindgen::Deserializer::from(value);
    match serde_path_to_error::deserialize(de) {
        Ok(v) => Some(v),
        Err(e) => {
            let inner = e.path().to_string();
            let mut path = String::from(at);
            if inner != "." {
                if !inner.starts_with('[') {
                    path.push('.');
                }
                path.push_str(&inner);
            }
            report(&Problem {
                path,
                message: e.into_inner().to_string(),
            });
            None
        }
    }
}

fn report(problem: &Problem) {
    let mut line = problem.line();
    line.push_str("; that part of the config is not used");
    crate::log(&line);
}

fn field(o: &JsValue, key: &str) -> Option<JsValue> {
    Reflect::get(o, &JsValue::from_str(key))
        .ok()
        .filter(|v| !v.is_undefined() && !v.is_null())
}

/// Deserializes each part on its own, so that one bad field leaves the others working.
/// Also returns the positions of prompts that did not deserialize (reported already).
fn parts(config: &JsValue) -> (Programs, Vec<String>) {
    let mut programs = Programs::default();
    let mut failed = Vec::new();
    if let Some(prompts) = field(config, "prompts") {
        match prompts.dyn_into::<Array>() {
            Ok(list) => {
                // An index keeps its place, so that later problems name the right one.
                for (i, p) in list.iter().enumerate() {
                    let at = format!("prompts[{i}]");
                    if let Some(p) = part(p, &at) {
                        programs.prompts.push(p);
                    } else {
                        programs.prompts.push(placeholder());
                        failed.push(at + ".");
                    }
                }
            }
            Err(_) => report(&Problem {
                path: "prompts".into(),
                message: "must be a list".into(),
            }),
        }
    }
    programs.referral = field(config, "referral").and_then(|v| part(v, "referral"));
    programs.loyalty = field(config, "loyalty").and_then(|v| part(v, "loyalty"));
    programs.theme = field(config, "theme").and_then(|v| part(v, "theme"));
    programs.panels = field(config, "panels").and_then(|v| part(v, "panels"));
    (programs, failed)
}

/// Stands in for a prompt that did not deserialize: it keeps the list's positions and is
/// left out by `usable()`, as its id is not valid.
fn placeholder() -> rapport_core::config::Prompt {
    rapport_core::config::Prompt {
        id: String::new(),
        kind: rapport_core::config::PromptType::Thumbs,
        display: Default::default(),
        selector: None,
        question: Default::default(),
        follow_up: None,
        choices: Vec::new(),
        trigger: Default::default(),
        sample_percent: 100,
        variants: Vec::new(),
        ask_again: false,
    }
}

/// The usable config, or `None` when nothing of it can be shown.
pub fn read(config: &JsValue) -> Option<Programs> {
    if !config.is_object() {
        crate::log("config field \"data-config\" must be an object; no prompts are shown");
        return None;
    }
    // Each part on its own: one instantiation of the deserializers, and a bad part leaves
    // the others working.
    let (programs, failed) = parts(config);
    let (programs, problems) = programs.usable();
    // Prompts that did not deserialize were reported then; their placeholders are not.
    let problems: Vec<Problem> = problems
        .into_iter()
        .filter(|p| !failed.iter().any(|f| p.path.starts_with(f.as_str())))
        .collect();
    for problem in &problems {
        report(problem);
    }
    programs.shows_anything().then_some(programs)
}
