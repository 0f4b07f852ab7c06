//! Rapport's engagement rules and wire types, free of I/O.
//!
//! The browser driver feeds inputs ([`Engine`]'s `on_*` methods) with the current time passed
//! in and carries out the [`Command`]s that [`Engine::poll`] hands back. Nothing in this crate
//! reads a clock, storage or the network, so every rule runs natively under scripted time in
//! tests. The wire types ([`Batch`], [`Event`]) are the collector's, with serde; the widget
//! encodes them in JavaScript (`docs/wire-format.md`).
//!
//! The crate is `no_std`, and the engine does not allocate, so the widget's module needs no
//! allocator, panic formatting or string handling: it stays a few KB.

// The `openapi` feature (collector only) derives schemas with utoipa, which needs std.
#![cfg_attr(not(any(test, feature = "openapi")), no_std)]
extern crate alloc;

pub mod batch;
#[cfg(feature = "serde")]
pub mod config;
pub mod delivery;
pub mod engage;
pub mod engine;
pub mod event;
pub mod experiment;
pub mod id;
pub mod json;
pub mod prompt;
#[cfg(feature = "serde")]
pub mod report;
pub mod session;
pub mod time;
pub mod validate;

pub use batch::{corrected_time, Batch};
pub use delivery::{Delivery, DeliveryConfig, Outcome, Verdict};
pub use engage::{EngageRule, Engagement};
pub use engine::{Command, Engine, EngineConfig, Visit};
pub use event::{Event, Number, PropValue, Props};
pub use session::SessionRule;
pub use time::Millis;
pub use validate::Invalid;
