//! The signed-in owner's shared links of the site on view: make one (its address, with its
//! token, is shown this once, with a copy button), list them, revoke one. Shown only to a
//! token that reads all of the site (an owner's or the admin's), never in a shared link's
//! own view.

use leptos::html::Input;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use crate::api::{self, CreatedLink, ReadableSite, SharedLink, SharedLinks};
use crate::i18n::Lang;
use crate::query::Query;

/// The API path of `site`'s shared links.
fn links_url(site: &str) -> String {
    let site = String::from(js_sys::encode_uri_component(site));
    format!("/v1/sites/{site}/shared-links")
}

/// The dashboard's address that reads `site` with a link's `token`.
fn link_address(site: &str, token: &str) -> String {
    let origin = web_sys::window()
        .and_then(|w| w.location().origin().ok())
        .unwrap_or_default();
    format!(
        "{origin}/?site={}&share={}",
        String::from(js_sys::encode_uri_component(site)),
        String::from(js_sys::encode_uri_component(token))
    )
}

/// Puts `text` on the clipboard (`navigator.clipboard.writeText`); `false` where the page
/// may not.
fn copy_text(text: &str) -> bool {
    let Some(window) = web_sys::window() else {
        return false;
    };
    let navigator = window.navigator();
    let Ok(clipboard) = js_sys::Reflect::get(&navigator, &"clipboard".into()) else {
        return false;
    };
    let Ok(write) = js_sys::Reflect::get(&clipboard, &"writeText".into()) else {
        return false;
    };
    match write.dyn_into::<js_sys::Function>() {
        Ok(write) => write.call1(&clipboard, &text.into()).is_ok(),
        Err(_) => false,
    }
}

#[component]
pub fn SharedLinksSection(
    sites: RwSignal<Option<Vec<ReadableSite>>>,
    query: RwSignal<Query>,
    token: RwSignal<String>,
    lang: Memo<Lang>,
) -> impl IntoView {
    // The site whose links the token manages: the view's, when the token reads all of it.
    let site = Memo::new(move |_| {
        if token.with(String::is_empty) || !query.with(|q| q.share.is_empty()) {
            return None;
        }
        let wanted = query.with(|q| q.site.clone());
        sites.with(|list| {
            list.as_ref()?
                .iter()
                .find(|s| s.id == wanted && !s.stats_only())
                .map(|s| s.id.clone())
        })
    });
    let links = RwSignal::new(Vec::<SharedLink>::new());
    // The address of the link just made: shown until the site changes or another is made.
    let made = RwSignal::new(None::<String>);
    let copied = RwSignal::new(false);
    let error = RwSignal::new(String::new());
    let label = NodeRef::<Input>::new();

    let reload = move || {
        let Some(s) = site.get_untracked() else {
            links.set(Vec::new());
            return;
        };
        let used = token.get_untracked();
        leptos::task::spawn_local(async move {
            let answer = api::get::<SharedLinks>(&links_url(&s), &used).await;
            if site.get_untracked().as_deref() != Some(s.as_str()) {
                return; // the view moved on
            }
            match answer {
                Ok(list) => {
                    links.set(list.links);
                    error.set(String::new());
                }
                Err(e) => error.set(e.message),
            }
        });
    };
    Effect::new(move |_| {
        site.track();
        made.set(None);
        reload();
    });

    let make = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(s) = site.get_untracked() else {
            return;
        };
        let text = label.get().map(|i| i.value()).unwrap_or_default();
        let body = serde_json::json!({ "label": text.trim() }).to_string();
        let used = token.get_untracked();
        leptos::task::spawn_local(async move {
            match api::post::<CreatedLink>(&links_url(&s), &used, &body).await {
                Ok(link) => {
                    made.set(Some(link_address(&s, &link.token)));
                    copied.set(false);
                    error.set(String::new());
                    if let Some(i) = label.get_untracked() {
                        i.set_value("");
                    }
                    reload();
                }
                Err(e) => error.set(e.message),
            }
        });
    };
    let revoke = move |id: String| {
        let Some(s) = site.get_untracked() else {
            return;
        };
        let used = token.get_untracked();
        leptos::task::spawn_local(async move {
            let url = format!(
                "{}/{}",
                links_url(&s),
                String::from(js_sys::encode_uri_component(&id))
            );
            match api::delete(&url, &used).await {
                Ok(()) => reload(),
                Err(e) => error.set(e.message),
            }
        });
    };
    let texts = move || lang.get().texts();

    view! {
        <section id="shared-links" hidden=move || site.get().is_none()>
            <h2>{move || texts().shared_links}</h2>
            <p>{move || texts().shared_links_intro}</p>
            <form on:submit=make>
                <label>
                    {move || texts().link_label}
                    <input id="link-label" type="text" maxlength="100" autocomplete="off" node_ref=label />
                </label>
                <button type="submit">{move || texts().make_link}</button>
            </form>
            <p class="link-made" hidden=move || made.with(Option::is_none)>
                {move || texts().link_once}
                " "
                <input id="link-address" type="text" readonly prop:value=move || made.get().unwrap_or_default() />
                <button
                    type="button"
                    on:click=move |_| {
                        if let Some(address) = made.get_untracked() {
                            copied.set(copy_text(&address));
                        }
                    }
                >
                    {move || if copied.get() { texts().copied } else { texts().copy }}
                </button>
            </p>
            <p class="empty" hidden=move || !links.with(Vec::is_empty)>{move || texts().no_links}</p>
            <ul>
                {move || {
                    links
                        .get()
                        .into_iter()
                        .map(|link| {
                            let id = link.id.clone();
                            let day = i64::try_from(link.created_at / 86_400_000).unwrap_or(0);
                            let name = link.label.clone();
                            view! {
                                <li data-link=link.id.clone()>
                                    <span>
                                        {move || {
                                            if name.is_empty() { texts().no_label.to_owned() } else { name.clone() }
                                        }}
                                    </span>
                                    " "
                                    <time>{crate::format::date(day)}</time>
                                    " "
                                    <button type="button" on:click=move |_| revoke(id.clone())>
                                        {move || texts().revoke}
                                    </button>
                                </li>
                            }
                        })
                        .collect_view()
                }}
            </ul>
            <p class="error" role="alert" hidden=move || error.with(String::is_empty)>{move || error.get()}</p>
        </section>
    }
}
