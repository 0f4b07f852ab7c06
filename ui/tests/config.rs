//! The config's console lines in headless Chromium (wasm-bindgen-test): a part that does not
//! deserialize is named down to its field, one line per part.

#![cfg(target_arch = "wasm32")]

use js_sys::{Array, Function, JSON};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// The console errors `config::read` writes for the config `json`.
fn lines(json: &str) -> Vec<String> {
    let capture = Function::new_no_args(
        "const before = console.error; globalThis.__seen = []; \
         console.error = (m) => globalThis.__seen.push(String(m)); return before;",
    );
    let restore = Function::new_with_args(
        "before",
        "console.error = before; return globalThis.__seen;",
    );
    let before = capture.call0(&JsValue::NULL).unwrap();
    let config = JSON::parse(json).unwrap();
    let _ = rapport_ui::config::read(&config);
    let seen: Array = restore
        .call1(&JsValue::NULL, &before)
        .unwrap()
        .unchecked_into();
    seen.iter().filter_map(|l| l.as_string()).collect()
}

/// `config` has one bad field, at `path`: one line names it.
fn names(config: &str, path: &str) {
    let seen = lines(config);
    assert_eq!(seen.len(), 1, "{seen:?}");
    let quoted = format!("config field \"{path}\" ");
    assert!(seen[0].contains(&quoted), "{seen:?} should name {path}");
}

const FINE: &str =
    r#"{"id":"fine","type":"nps","question":{"en":"Q"},"trigger":{"exit_intent":true}}"#;

fn prompts(bad: &str) -> String {
    format!(r#"{{"prompts":[{FINE},{bad}]}}"#)
}

#[wasm_bindgen_test]
fn a_bad_prompt_field_is_named_down_to_the_field() {
    names(
        &prompts(r#"{"id":"b","type":"nps","question":{"en":"Q"},"trigger":{"visitor":"robot"}}"#),
        "prompts[1].trigger.visitor",
    );
    names(
        &prompts(
            r#"{"id":"b","type":"nps","question":{"en":"Q","ar":5},"trigger":{"exit_intent":true}}"#,
        ),
        "prompts[1].question.ar",
    );
    names(
        &prompts(
            r#"{"id":"b","type":"choice","question":{"en":"Q"},"choices":[{"en":"a"},{"en":7}],"trigger":{"exit_intent":true}}"#,
        ),
        "prompts[1].choices[1].en",
    );
    names(
        &prompts(
            r#"{"id":"b","type":"nps","question":{"en":"Q"},"variants":[{"id":"v","question":"no"}],"trigger":{"exit_intent":true}}"#,
        ),
        "prompts[1].variants[0].question",
    );
    names(
        &prompts(
            r#"{"id":"b","type":"nps","question":{"en":"Q"},"trigger":{"scroll_percent":300}}"#,
        ),
        "prompts[1].trigger.scroll_percent",
    );
    names(
        &prompts(
            r#"{"id":"b","type":"star","question":{"en":"Q"},"trigger":{"exit_intent":true}}"#,
        ),
        "prompts[1].type",
    );
}

#[wasm_bindgen_test]
fn a_missing_field_is_named_on_its_part() {
    let seen = lines(&prompts(
        r#"{"type":"nps","question":{"en":"Q"},"trigger":{"exit_intent":true}}"#,
    ));
    assert_eq!(seen.len(), 1, "{seen:?}");
    // serde-wasm-bindgen's message is a JavaScript Error's: `Error: missing field `id``.
    assert!(seen[0].contains("config field \"prompts[1]\" "), "{seen:?}");
    assert!(seen[0].contains("missing field `id`"), "{seen:?}");
}

#[wasm_bindgen_test]
fn the_other_parts_are_named_too() {
    names(
        r#"{"loyalty":{"tiers":[{"id":"t","name":{"en":"T"},"threshold":"x"}]}}"#,
        "loyalty.tiers[0].threshold",
    );
    names(
        r#"{"referral":{"offer":{"en":"O"},"hold_days":-1}}"#,
        "referral.hold_days",
    );
    names(
        &prompts("").replace(",]", r#"],"theme":{"radius_px":"big"}"#),
        "theme.radius_px",
    );
    names(
        &prompts("").replace(",]", r#"],"panels":{"launcher":"yes"}"#),
        "panels.launcher",
    );
}

#[wasm_bindgen_test]
fn a_valid_config_says_nothing() {
    assert_eq!(lines(&prompts("").replace(",]", "]")), Vec::<String>::new());
}
