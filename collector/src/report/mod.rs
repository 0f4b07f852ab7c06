//! The reports' queries: one layer under the handlers, which import it and never each other.
//! It rests on storage (`db`) and the leaf `error` only, never on `state` or a handler.
//!
//! `days` names the UTC days and hours the reports count in. `filter` turns a report's filters into one condition on the events (and takes each
//! session's first or last page, for the entry and exit pages); `stats`, `breakdown`,
//! `prompts` and `experiments` are the SQL of each report and the arithmetic on its rows.
//! Within the layer imports go one way too (`tests/layers.rs`): `days`, then `filter`, then
//! `stats` and `experiments`, then `breakdown` and `prompts`.

pub mod breakdown;
pub mod days;
pub mod experiments;
pub mod filter;
pub mod prompts;
pub mod stats;
