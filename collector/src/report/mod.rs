//! The reports' queries: one layer under the handlers, which import it and never each other.
//! It rests on storage (`db`) and the leaf `error` only, never on `state` or a handler.
//!
//! `filter` turns a report's filters into one condition on the events (and takes each
//! session's first or last page, for the entry and exit pages); `stats`, `breakdown`,
//! `prompts` and `experiments` are the SQL of each report and the arithmetic on its rows.

pub mod breakdown;
pub mod experiments;
pub mod filter;
pub mod prompts;
pub mod stats;
