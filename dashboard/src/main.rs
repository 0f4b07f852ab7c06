//! The site owner's dashboard: a leptos app, built by trunk and served by the collector at `/`.
//! It reads the collector's API into the same typed structs the collector answers with
//! (`rapport_core::report`). The URL holds the site, range, goal and language, so any view
//! can be shared or bookmarked.

mod answers;
mod api;
mod app;
mod bars;
mod breakdowns;
mod cards;
mod csv;
mod events;
mod experiments;
mod filters;
mod format;
mod i18n;
mod pages;
mod programs;
mod prompt_results;
mod query;
mod range_form;
mod rates;
mod shared_links;
mod token_form;
mod trend;
mod versus;

fn main() {
    leptos::mount::mount_to_body(app::App);
}
