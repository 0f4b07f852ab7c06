//! The newest events: one line each whatever the width (URLs cut with the full text on
//! hover and focus, properties folded), ten to a page, and the whole list as CSV.

use leptos::prelude::*;
use rapport_core::report::StoredEvent;

use crate::app::Data;
use crate::i18n::Lang;

const PAGE: usize = 10;

#[component]
pub fn RecentEvents(data: RwSignal<Data>, lang: Memo<Lang>) -> impl IntoView {
    let texts = move || lang.get().texts();
    let page = RwSignal::new(0usize);
    let events = move || data.with(|d| d.events.clone());
    let pages = move || data.with(|d| d.events.len().div_ceil(PAGE)).max(1);
    // A shorter list after a refresh keeps the page in range.
    Effect::new(move |_| {
        let last = pages() - 1;
        if page.get_untracked() > last {
            page.set(last);
        }
    });
    let export = move |_| {
        let mut table = vec![[
            "received_at",
            "ts",
            "name",
            "url",
            "referrer",
            "visitor_id",
            "session_id",
            "returning",
            "props",
        ]
        .map(String::from)
        .to_vec()];
        table.extend(events().into_iter().map(|e| {
            vec![
                e.received_at.to_string(),
                e.ts.to_string(),
                e.name,
                e.url,
                e.referrer.unwrap_or_default(),
                e.visitor_id,
                e.session_id,
                e.returning.to_string(),
                e.props.to_string(),
            ]
        }));
        crate::csv::download("recent-events.csv", &table);
    };
    let row = move |e: StoredEvent| {
        let t = texts();
        let time = js_sys::Date::new(&(e.ts as f64).into()).to_locale_string(
            lang.get_untracked().tag(),
            &wasm_bindgen::JsValue::UNDEFINED,
        );
        let who = if e.returning {
            t.returning_visitor
        } else {
            t.new_visitor
        };
        let props = match e.props.as_object() {
            Some(p) if !p.is_empty() => {
                let summary = p.keys().cloned().collect::<Vec<_>>().join(", ");
                let full = serde_json::to_string_pretty(&e.props).unwrap_or_default();
                Some(view! {
                    <details>
                        <summary>{summary}</summary>
                        <pre>{full}</pre>
                    </details>
                })
            }
            _ => None,
        };
        view! {
            <tr>
                <td class="time">{String::from(time)}</td>
                <td>{format!("{} ({who})", e.name)}</td>
                <td class="url" title=e.url.clone() tabindex="0">{e.url.clone()}</td>
                <td class="wide mono" title=e.visitor_id.clone()>{e.visitor_id.chars().take(8).collect::<String>()}</td>
                <td class="wide">{props}</td>
            </tr>
        }
    };
    view! {
        <div class="section-head">
            <h2>{move || texts().recent}</h2>
            <button type="button" class="quiet" on:click=export>{move || texts().export}</button>
        </div>
        <table class="fixed events">
            <thead>
                <tr>
                    <th class="time">{move || texts().time}</th>
                    <th>{move || texts().event}</th>
                    <th>{move || texts().url}</th>
                    <th class="wide">{move || texts().visitor}</th>
                    <th class="wide">{move || texts().properties}</th>
                </tr>
            </thead>
            <tbody id="events">
                {move || {
                    let list = events();
                    if list.is_empty() {
                        return view! { <tr><td colspan="5" class="empty">{texts().no_events}</td></tr> }.into_any();
                    }
                    let at = page.get() * PAGE;
                    list.into_iter().skip(at).take(PAGE).map(row).collect_view().into_any()
                }}
            </tbody>
        </table>
        <nav class="pager" aria-label=move || texts().recent>
            <button type="button" class="quiet" disabled=move || page.get() == 0 on:click=move |_| page.update(|p| *p = p.saturating_sub(1))>
                {move || texts().newer}
            </button>
            <span>{move || format!("{} / {}", page.get() + 1, pages())}</span>
            <button type="button" class="quiet" disabled=move || { page.get() + 1 >= pages() } on:click=move |_| page.update(|p| *p += 1)>
                {move || texts().older}
            </button>
        </nav>
    }
}
