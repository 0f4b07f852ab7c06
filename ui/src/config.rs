//! The site config as this stage receives it: a JavaScript value (inline `data-config`, or
//! the collector's `sites/<site>/config`), deserialized with serde-wasm-bindgen into
//! `rapport_core::config::Programs` and validated with the collector's own rules.
//!
//! A part that does not deserialize or breaks a rule gets one console line naming its field
//! (`config field "prompts[0].trigger.scroll_percent" must be 1-100`) and is left out; the
//! rest of the config still works.
//!
//! Each part deserializes straight into the core types. Only when one fails is its field
//! found, by deserializing the part's fields one by one in the order serde-wasm-bindgen
//! reads them (a struct's declared fields; a map's or a list's entries) into the field's own
//! type, which uses the deserializers the part already has rather than a path-tracking copy
//! of every one of them.

use js_sys::{Array, Object, Reflect};
use rapport_core::config::{
    Display, FollowUp, Loyalty, Match, Panels, Problem, Programs, Prompt, PromptType, Referral,
    Reward, Text, Theme, Tier, Trigger, Variant, VisitorKind,
};
use serde::de::DeserializeOwned;
use wasm_bindgen::{JsCast, JsValue};

/// Where in a part a value failed (`.trigger.visitor`, `[2]`, empty for the part itself),
/// and serde's message.
type Bad = (String, String);

/// Finds the failing field of a value that did not deserialize; `None` when it does.
type Locate = fn(&JsValue) -> Option<Bad>;

/// A value of type `T`: its own error, with no field below it.
fn leaf<T: DeserializeOwned>(v: &JsValue) -> Option<Bad> {
    serde_wasm_bindgen::from_value::<T>(v.clone())
        .err()
        .map(|e| (String::new(), e.to_string()))
}

/// `whole` (the value's own error, if any) moved down to the first of `fields` that fails
/// on its own. A missing field fails nothing below: the error stays on the struct.
fn fields(whole: Option<Bad>, v: &JsValue, fields: &[(&str, Locate)]) -> Option<Bad> {
    let whole = whole?;
    if !v.is_object() {
        return Some(whole);
    }
    for (name, locate) in fields {
        let value = Reflect::get(v, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED);
        if value.is_undefined() {
            continue;
        }
        if let Some((below, message)) = locate(&value) {
            let mut path = String::from(".");
            path.push_str(name);
            path.push_str(&below);
            return Some((path, message));
        }
    }
    Some(whole)
}

/// `whole` moved down to the first entry of an object or list that fails on its own.
fn entries(whole: Option<Bad>, v: &JsValue, locate: Locate) -> Option<Bad> {
    let whole = whole?;
    if let Some(list) = v.dyn_ref::<Array>() {
        for (i, item) in list.iter().enumerate() {
            if let Some((below, message)) = locate(&item) {
                let mut path = String::from("[");
                path.push_str(&i.to_string());
                path.push(']');
                path.push_str(&below);
                return Some((path, message));
            }
        }
    } else if let Some(o) = v.dyn_ref::<Object>() {
        for pair in Object::entries(o).iter() {
            let pair: Array = pair.unchecked_into();
            if let Some((below, message)) = locate(&pair.get(1)) {
                let mut path = String::from(".");
                path.push_str(&pair.get(0).as_string().unwrap_or_default());
                path.push_str(&below);
                return Some((path, message));
            }
        }
    }
    Some(whole)
}

fn text(v: &JsValue) -> Option<Bad> {
    entries(leaf::<Text>(v), v, leaf::<String>)
}

fn texts(v: &JsValue) -> Option<Bad> {
    entries(leaf::<Vec<Text>>(v), v, text)
}

fn optional_text(v: &JsValue) -> Option<Bad> {
    if v.is_null() {
        return None;
    }
    text(v)
}

fn strings(v: &JsValue) -> Option<Bad> {
    entries(leaf::<Vec<String>>(v), v, leaf::<String>)
}

fn trigger(v: &JsValue) -> Option<Bad> {
    fields(
        leaf::<Trigger>(v),
        v,
        &[
            ("engaged_seconds", leaf::<Option<u32>>),
            ("scroll_percent", leaf::<Option<u8>>),
            ("exit_intent", leaf::<bool>),
            ("pageviews_at_least", leaf::<Option<u32>>),
            ("visitor", leaf::<Option<VisitorKind>>),
            ("referred", leaf::<Option<bool>>),
            ("event", leaf::<Option<String>>),
            ("loyalty_tier", leaf::<Option<String>>),
            ("url_include", strings),
            ("url_exclude", strings),
            ("match", leaf::<Match>),
            ("delay_seconds", leaf::<u32>),
        ],
    )
}

fn follow_up(v: &JsValue) -> Option<Bad> {
    fields(
        leaf::<Option<FollowUp>>(v),
        v,
        &[
            ("detractor", optional_text),
            ("passive", optional_text),
            ("promoter", optional_text),
        ],
    )
}

fn variant(v: &JsValue) -> Option<Bad> {
    fields(
        leaf::<Variant>(v),
        v,
        &[("id", leaf::<String>), ("question", text)],
    )
}

fn variants(v: &JsValue) -> Option<Bad> {
    entries(leaf::<Vec<Variant>>(v), v, variant)
}

fn prompt(v: &JsValue) -> Option<Bad> {
    fields(
        leaf::<Prompt>(v),
        v,
        &[
            ("id", leaf::<String>),
            ("type", leaf::<PromptType>),
            ("display", leaf::<Display>),
            ("selector", leaf::<Option<String>>),
            ("question", text),
            ("follow_up", follow_up),
            ("choices", texts),
            ("trigger", trigger),
            ("sample_percent", leaf::<u8>),
            ("variants", variants),
            ("ask_again", leaf::<bool>),
        ],
    )
}

fn referral(v: &JsValue) -> Option<Bad> {
    fields(
        leaf::<Referral>(v),
        v,
        &[
            ("offer", text),
            ("hold_days", leaf::<Option<u32>>),
            ("max_rewards_per_referrer", leaf::<u32>),
            ("hold_seconds", leaf::<Option<u32>>),
        ],
    )
}

fn tier(v: &JsValue) -> Option<Bad> {
    fields(
        leaf::<Tier>(v),
        v,
        &[
            ("id", leaf::<String>),
            ("name", text),
            ("threshold", leaf::<u64>),
        ],
    )
}

fn reward(v: &JsValue) -> Option<Bad> {
    fields(
        leaf::<Reward>(v),
        v,
        &[
            ("id", leaf::<String>),
            ("name", text),
            ("cost", leaf::<u64>),
        ],
    )
}

fn loyalty(v: &JsValue) -> Option<Bad> {
    let tiers = |v: &JsValue| entries(leaf::<Vec<Tier>>(v), v, tier);
    let rewards = |v: &JsValue| entries(leaf::<Vec<Reward>>(v), v, reward);
    fields(
        leaf::<Loyalty>(v),
        v,
        &[
            ("points_per_currency_unit", leaf::<u32>),
            ("feedback_points", leaf::<u32>),
            ("feedback_period_days", leaf::<u32>),
            ("referral_points", leaf::<u32>),
            ("tiers", tiers),
            ("rewards", rewards),
        ],
    )
}

fn theme(v: &JsValue) -> Option<Bad> {
    fields(
        leaf::<Theme>(v),
        v,
        &[
            ("brand_color", leaf::<Option<String>>),
            ("radius_px", leaf::<Option<u8>>),
            ("font_family", leaf::<Option<String>>),
        ],
    )
}

fn panels(v: &JsValue) -> Option<Bad> {
    let url = leaf::<Option<String>>;
    let flag = leaf::<Option<bool>>;
    fields(
        leaf::<Panels>(v),
        v,
        &[
            ("sign_in_url", url),
            ("launcher", flag),
            ("nudge_promoters", flag),
            ("loyalty_url", url),
            ("redeem_url", url),
            ("referral_url", url),
            ("share_url", url),
            ("currency", url),
        ],
    )
}

/// One part of the config; `None` (with one console line naming the field) when it does not
/// deserialize.
fn part<T: DeserializeOwned>(value: JsValue, at: &str, locate: Locate) -> Option<T> {
    match serde_wasm_bindgen::from_value(value.clone()) {
        Ok(v) => Some(v),
        Err(e) => {
            let (below, message) = locate(&value).unwrap_or_else(|| (String::new(), e.to_string()));
            let mut path = String::from(at);
            path.push_str(&below);
            report(&Problem { path, message });
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
                    let mut at = String::from("prompts[");
                    at.push_str(&i.to_string());
                    at.push(']');
                    if let Some(p) = part(p, &at, prompt) {
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
    programs.referral = field(config, "referral").and_then(|v| part(v, "referral", referral));
    programs.loyalty = field(config, "loyalty").and_then(|v| part(v, "loyalty", loyalty));
    programs.theme = field(config, "theme").and_then(|v| part(v, "theme", theme));
    programs.panels = field(config, "panels").and_then(|v| part(v, "panels", panels));
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
