//! Rapport's engagement rules and wire types, free of I/O.
//!
//! The browser driver feeds inputs (`Tracker::on_*`) with the current time passed in and
//! carries out what the `poll_*` methods hand back. Nothing in this crate reads a clock,
//! storage or the network, so every rule runs natively under scripted time in tests.
//!
//! The crate is `no_std` (with `alloc`) so the widget can drop std's panic and formatting
//! machinery, most of a small wasm module's size.

// The `openapi` feature (collector only) derives schemas with utoipa, which needs std.
#![cfg_attr(not(any(test, feature = "openapi")), no_std)]
extern crate alloc;

pub mod batch;
pub mod event;
pub mod id;
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
