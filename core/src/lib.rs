//! Rapport's engagement rules and wire types, free of I/O.
//!
//! The browser driver feeds inputs (`Tracker::on_*`) with the current time passed in and
//! carries out the [`Command`]s that come back. Nothing in this crate reads a clock, storage
//! or the network, so every rule runs natively under scripted time in tests.

pub mod batch;
pub mod event;
pub mod json;
pub mod session;
pub mod time;
pub mod tracker;
pub mod validate;

pub use batch::{corrected_time, Batch};
pub use event::{Event, Number, PropValue, Props};
pub use session::{SessionRule, SessionState, VisitorState};
pub use time::Millis;
pub use tracker::{Entropy, Page, Snapshot, Tracker, TrackerConfig};
pub use validate::Invalid;
