//! The page: its state in signals (the view in the URL, the owner's token in memory, the
//! sites it reads, the last answers), the live count read every 5 seconds and the reports every minute (never two
//! reads at once, none while the tab is hidden), and the sections.

use leptos::prelude::*;
use rapport_core::report::{
    Answer, Answers, Breakdown, EventsPage, Experiments, Live, Prompts, Stats, StoredEvent,
};

use crate::api::{self, ApiError, ReadableSite, SiteList};
use crate::i18n::Lang;
use crate::query::Query;

/// The collector's last answers for the view.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Data {
    pub stats: Option<Stats>,
    /// The same metrics for the range of the same length just before, read after the rest.
    pub previous: Option<Stats>,
    /// Where `previous` was read from: kept across refreshes of the same view.
    pub previous_url: Option<String>,
    pub events: Vec<StoredEvent>,
    pub experiments: Option<Experiments>,
    pub live: Option<Live>,
    pub answers: Vec<Answer>,
    pub breakdown: Option<Breakdown>,
    pub prompts: Option<Prompts>,
}

/// How often the live count is read.
const LIVE_MS: u32 = 5_000;
/// The reports are read again every this many live reads (a minute): on a large site each
/// read is heavy work for the collector's database.
const REPORTS_EVERY: u32 = 12;

#[component]
pub fn App() -> impl IntoView {
    let query = RwSignal::new(Query::from_location());
    // The owner's token: asked for once per page load and kept in memory only (storage would
    // share it with every page of this origin, and outlive the tab). A shared link brings
    // its own token in the URL.
    let token = RwSignal::new(query.get_untracked().share);
    // The sites the token reads (`GET /v1/sites`), once per token; `None` until read.
    let sites = RwSignal::new(None::<Vec<ReadableSite>>);
    let locked = RwSignal::new(false);
    let data = RwSignal::new(Data::default());
    let status = RwSignal::new(String::new());
    let loaded = RwSignal::new(0u32);
    let figures = RwSignal::new(0u32);
    let lang = Memo::new(move |_| query.get().lang);

    // A read of the reports is in flight; a newer view's read makes older answers moot.
    let busy = StoredValue::new(false);
    let generation = StoredValue::new(0u32);
    let refresh = move |fresh: bool| {
        if !fresh && busy.get_value() {
            return; // the timer's turn, while the last read is still out
        }
        if fresh {
            generation.update_value(|g| *g += 1);
        }
        let this = generation.get_value();
        busy.set_value(true);
        let used = token.get_untracked();
        let current = {
            let used = used.clone();
            move || this == generation.get_value() && used == token.get_untracked()
        };
        // The headline figures and charts show as soon as their stats arrive; the other
        // sections follow.
        let shown = current.clone();
        let first = move |s: &Stats| {
            if !shown() {
                return;
            }
            let s = s.clone();
            data.update(|d| d.stats = Some(s));
            locked.set(false);
            figures.update(|n| *n += 1);
        };
        leptos::task::spawn_local(async move {
            let result = match readable(sites, query, &used).await {
                Ok(Some(site)) => {
                    let q = query.get_untracked();
                    load(&q, &used, site.stats_only(), first).await
                }
                Ok(None) => Err(ApiError {
                    status: 404,
                    message: lang.get_untracked().texts().no_sites.into(),
                }),
                Err(e) => Err(e),
            };
            if !current() {
                return; // an answer to an older view or token
            }
            busy.set_value(false);
            match result {
                Ok(mut next) => {
                    if let Some(s) = &next.stats {
                        // Without a range in the URL, the form shows the collector's.
                        query.update(|q| {
                            if q.from.is_empty() {
                                q.from = s.from.clone();
                            }
                            if q.to.is_empty() {
                                q.to = s.to.clone();
                            }
                        });
                    }
                    // The previous period of the same view is kept; another one is read
                    // after the rest, so that it never delays the first figures.
                    let keep = data.with_untracked(|d| {
                        (d.previous_url == next.previous_url).then(|| d.previous.clone())
                    });
                    let wanted = match keep {
                        Some(previous) => {
                            next.previous = previous;
                            None
                        }
                        None => next.previous_url.clone(),
                    };
                    data.set(next);
                    locked.set(false);
                    loaded.update(|n| *n += 1);
                    let time =
                        js_sys::Date::new_0().to_locale_time_string(lang.get_untracked().tag());
                    status.set(format!(
                        "{} {}",
                        lang.get_untracked().texts().updated,
                        String::from(time)
                    ));
                    if let Some(url) = wanted {
                        let previous = api::get::<Stats>(&url, &used).await.ok();
                        if this == generation.get_value() {
                            data.update(|d| d.previous = previous);
                        }
                    }
                }
                Err(e) => {
                    if e.status == 401 {
                        locked.set(true);
                        sites.set(None);
                        data.set(Data::default());
                    }
                    status.set(e.message);
                }
            }
        });
    };
    // The live count on its own, every few seconds.
    let live_busy = StoredValue::new(false);
    let live = move || {
        if live_busy.get_value() || locked.get_untracked() {
            return;
        }
        live_busy.set_value(true);
        let url = query.get_untracked().api("live");
        let used = token.get_untracked();
        leptos::task::spawn_local(async move {
            if let Ok(l) = api::get::<Live>(&url, &used).await {
                data.update(|d| d.live = Some(l));
            }
            live_busy.set_value(false);
        });
    };

    // The page's language and direction follow the view.
    Effect::new(move |_| {
        let l = lang.get();
        if let Some(root) = document().document_element() {
            let _ = root.set_attribute("lang", l.tag());
            let _ = root.set_attribute("dir", if l.rtl() { "rtl" } else { "ltr" });
        }
    });
    // Counters tests and scripts can wait for: every section read (`data-loaded`), the
    // headline figures shown (`data-figures`).
    for (signal, name) in [(loaded, "data-loaded"), (figures, "data-figures")] {
        Effect::new(move |_| {
            let n = signal.get();
            if n > 0 {
                if let Some(body) = document().body() {
                    let _ = body.set_attribute(name, &n.to_string());
                }
            }
        });
    }

    refresh(true);
    // Owned by the app: dropped, and so cancelled, when it is disposed. A hidden tab reads
    // nothing; it catches up on its next tick once shown.
    let ticks = StoredValue::new(0u32);
    let timer = gloo_timers::callback::Interval::new(LIVE_MS, move || {
        if document().hidden() {
            return;
        }
        ticks.update_value(|t| *t += 1);
        if ticks.get_value().is_multiple_of(REPORTS_EVERY) {
            refresh(false);
        } else {
            live();
        }
    });
    StoredValue::new_local(timer);

    let show = move |q: Query| {
        q.write();
        query.set(q);
        refresh(true);
    };
    let unlock = move |t: String| {
        token.set(t);
        sites.set(None);
        locked.set(false);
        refresh(true);
    };
    let texts = move || lang.get().texts();

    view! {
        <header>
            <h1>"Rapport"</h1>
            <span>{move || texts().subtitle}</span>
            <a href="/demo/">{move || texts().demo_link}</a>
            <label class="lang">
                {move || texts().language}
                <select
                    id="lang"
                    on:change=move |ev| {
                        let mut q = query.get_untracked();
                        q.lang = Lang::from_tag(&event_target_value(&ev));
                        q.write();
                        query.set(q);
                    }
                >
                    {Lang::ALL
                        .into_iter()
                        .map(|l| {
                            view! {
                                <option value=l.tag() selected=move || lang.get() == l>
                                    {l.name()}
                                </option>
                            }
                        })
                        .collect_view()}
                </select>
            </label>
        </header>
        <main>
            <crate::range_form::RangeForm query sites lang on_show=show />
            <crate::token_form::TokenForm locked lang on_unlock=unlock />
            <crate::filters::Filters query lang on_show=show />
            <p class="live" aria-live="polite">
                <span class="dot" aria-hidden="true"></span>
                <b data-live="visitors">
                    {move || crate::format::count(lang.get(), data.with(|d| d.live.as_ref().map(|l| l.visitors as f64)))}
                </b>
                " "
                {move || lang.get().texts().live}
            </p>
            <crate::cards::Cards data lang />
            <section class="charts">
                <crate::trend::Trend data query lang on_show=show />
                <crate::rates::Rates data lang />
                <crate::bars::ScrollReach data lang />
                <crate::bars::NpsScores data lang />
            </section>
            <crate::breakdowns::Breakdowns data query lang on_show=show />
            <crate::programs::Programs data lang />
            <crate::prompt_results::PromptResults data lang />
            <crate::answers::LatestAnswers data lang />
            <crate::experiments::ExperimentTables data lang />
            <crate::pages::TopPages data lang />
            <crate::events::RecentEvents data lang />
            <crate::shared_links::SharedLinksSection sites query token lang />
            <p id="status" role="status">{move || status.get()}</p>
        </main>
    }
}

/// The days a view covers: its own, or the collector's default (the 30 days to today, UTC).
fn days_of(q: &Query) -> (String, String) {
    const DAY_MS: f64 = 86_400_000.0;
    let today = (js_sys::Date::now() / DAY_MS).floor() as i64;
    let to = crate::format::parse_date(&q.to).unwrap_or(today);
    let from = crate::format::parse_date(&q.from).unwrap_or(to - 29);
    (crate::format::date(from), crate::format::date(to))
}

/// The site of the view among those the token reads, read once per token: the URL's site
/// if the token reads it, else its first. `None` when it reads none.
async fn readable(
    sites: RwSignal<Option<Vec<ReadableSite>>>,
    query: RwSignal<Query>,
    token: &str,
) -> Result<Option<ReadableSite>, ApiError> {
    let list = match sites.get_untracked() {
        Some(list) => list,
        None => {
            let list = api::get::<SiteList>("/v1/sites", token).await?.sites;
            sites.set(Some(list.clone()));
            list
        }
    };
    let wanted = query.with_untracked(|q| q.site.clone());
    let site = list
        .iter()
        .find(|s| s.id == wanted)
        .or(list.first())
        .cloned();
    if let Some(s) = site.as_ref().filter(|s| s.id != wanted) {
        query.update(|q| q.site = s.id.clone());
        query.get_untracked().write();
    }
    Ok(site)
}

/// Everything the view shows but the previous period (its URL only), read at once; any
/// section's failure decides. `first` sees the stats as soon as they arrive. A shared
/// link's view (`stats_only`) reads no events and no answers: the collector refuses them.
async fn load(
    q: &Query,
    token: &str,
    stats_only: bool,
    first: impl Fn(&Stats),
) -> Result<Data, ApiError> {
    let (from, to) = days_of(q);
    let range = q.range_of(&from, &to);
    let goal = String::from(js_sys::encode_uri_component(&q.goal));
    let previous = q
        .compare
        .then(|| crate::format::previous(&from, &to))
        .flatten()
        .map(|(a, b)| format!("{}?{}", q.api("stats"), q.range_of(&a, &b)));
    let urls = [
        format!("{}?{range}", q.api("stats")),
        q.api("events?limit=50"),
        format!("{}?from={from}&to={to}&goal={goal}", q.api("experiments")),
        q.api("live"),
        q.api("feedback?limit=20"),
        format!("{}?{range}", q.api("prompts")),
        format!("{}?dimension={}&{range}", q.api("breakdown"), q.by),
    ];
    let stats = async {
        let stats = api::get::<Stats>(&urls[0], token).await;
        if let Ok(s) = &stats {
            first(s);
        }
        stats
    };
    let events = async {
        if stats_only {
            return Ok(EventsPage {
                site: q.site.clone(),
                events: Vec::new(),
            });
        }
        api::get::<EventsPage>(&urls[1], token).await
    };
    let answers = async {
        if stats_only {
            return Ok(Answers::default());
        }
        api::get::<Answers>(&urls[4], token).await
    };
    let (stats, events, experiments, live, answers, prompts, breakdown) = futures::join!(
        stats,
        events,
        api::get::<Experiments>(&urls[2], token),
        api::get::<Live>(&urls[3], token),
        answers,
        api::get::<Prompts>(&urls[5], token),
        api::get::<Breakdown>(&urls[6], token),
    );
    Ok(Data {
        stats: Some(stats?),
        previous: None,
        previous_url: previous,
        events: events?.events,
        experiments: Some(experiments?),
        live: Some(live?),
        answers: answers?.answers,
        breakdown: Some(breakdown?),
        prompts: Some(prompts?),
    })
}
