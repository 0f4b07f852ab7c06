//! The newest answers to prompts: what shoppers wrote, with the prompt, its variant, the
//! score and the page.

use leptos::prelude::*;
use rapport_core::report::Answer;

use crate::app::Data;
use crate::i18n::Lang;

#[component]
pub fn LatestAnswers(data: RwSignal<Data>, lang: Memo<Lang>) -> impl IntoView {
    let texts = move || lang.get().texts();
    let answers = move || data.with(|d| d.answers.clone());
    let export = move |_| {
        let mut table = vec![[
            "ts",
            "prompt_id",
            "variant",
            "type",
            "score",
            "text",
            "choice",
            "url",
        ]
        .map(String::from)
        .to_vec()];
        table.extend(answers().into_iter().map(|a| {
            vec![
                a.ts.to_string(),
                a.prompt_id.unwrap_or_default(),
                a.variant.unwrap_or_default(),
                a.kind.unwrap_or_default(),
                a.score.map(|s| s.to_string()).unwrap_or_default(),
                a.text.unwrap_or_default(),
                a.choice.unwrap_or_default(),
                a.url,
            ]
        }));
        crate::csv::download("latest-answers.csv", &table);
    };
    let row = move |a: Answer| {
        let time = js_sys::Date::new(&(a.ts as f64).into()).to_locale_string(
            lang.get_untracked().tag(),
            &wasm_bindgen::JsValue::UNDEFINED,
        );
        let prompt = match (&a.prompt_id, &a.variant) {
            (Some(p), Some(v)) if v != "default" => format!("{p} ({v})"),
            (Some(p), _) => p.clone(),
            _ => "–".into(),
        };
        let said = a
            .text
            .clone()
            .or(a.choice.clone())
            .unwrap_or_else(|| "–".into());
        view! {
            <tr>
                <td class="time">{String::from(time)}</td>
                <td>{prompt}</td>
                <td>{a.kind.clone().unwrap_or_default()}</td>
                <td class="num">{a.score.map(|s| format!("{s}")).unwrap_or_else(|| "–".into())}</td>
                <td class="answer" dir="auto">{said}</td>
                <td class="url wide" title=a.url.clone() tabindex="0">{a.url.clone()}</td>
            </tr>
        }
    };
    view! {
        <div class="section-head">
            <h2>{move || texts().answers}</h2>
            <button type="button" class="quiet" on:click=export>{move || texts().export}</button>
        </div>
        <table class="fixed">
            <thead>
                <tr>
                    <th class="time">{move || texts().time}</th>
                    <th>{move || texts().prompt}</th>
                    <th>{move || texts().kind}</th>
                    <th class="num">{move || texts().score}</th>
                    <th>{move || texts().answer}</th>
                    <th class="wide">{move || texts().page}</th>
                </tr>
            </thead>
            <tbody id="answers">
                {move || {
                    let list = answers();
                    if list.is_empty() {
                        return view! { <tr><td colspan="6" class="empty">{texts().no_answers}</td></tr> }.into_any();
                    }
                    list.into_iter().map(row).collect_view().into_any()
                }}
            </tbody>
        </table>
    }
}
