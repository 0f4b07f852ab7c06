//! What the collector reports to a site's owner (`GET /v1/sites/{site}/stats`), as typed
//! structs: the collector serializes them and generates their OpenAPI schemas from them, and
//! the dashboard deserializes the same types. `docs/metrics.md` defines every figure.

use alloc::string::String;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Feedback {
    pub responses: u64,
    /// % promoters (9–10) − % detractors (0–6) among NPS answers; null without answers.
    pub nps: Option<f64>,
    /// Count of NPS answers per score 0..=10.
    pub nps_distribution: Vec<u64>,
    /// Mean CSAT score (1–5); null without answers.
    pub csat_average: Option<f64>,
}

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Metrics {
    pub visitors: u64,
    pub new_visitors: u64,
    pub returning_visitors: u64,
    /// returning_visitors ÷ visitors × 100.
    pub returning_share: Option<f64>,
    pub sessions: u64,
    pub pageviews: u64,
    pub pages_per_session: Option<f64>,
    /// Mean over sessions of the engaged time of their pageviews, ms.
    pub avg_session_engaged_ms: Option<f64>,
    /// Mean over sessions of last event − first event, ms.
    pub avg_session_span_ms: Option<f64>,
    /// Bounced sessions ÷ sessions × 100.
    pub bounce_rate: Option<f64>,
    /// Interacting visitors ÷ visitors × 100.
    pub engagement_rate: Option<f64>,
    /// Share of pageviews (%) whose deepest scroll reached 25, 50, 75, 90 and 100 %.
    pub scroll_reach: Vec<f64>,
    pub feedback: Feedback,
}

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Day {
    pub date: String,
    #[serde(flatten)]
    pub metrics: Metrics,
}

/// One hour of a one-day range.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Hour {
    /// Its start, `YYYY-MM-DDTHH:00Z` (UTC).
    pub hour: String,
    #[serde(flatten)]
    pub metrics: Metrics,
}

/// A filter on the whole report: only the sessions (or, for `visitor_type` and `referred`,
/// the visitors) with this value of a breakdown dimension count.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Filter {
    /// One of [`DIMENSIONS`].
    pub dimension: String,
    /// A value as the breakdown names it; empty for "none" (a direct visit, no campaign).
    pub value: String,
}

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TopPage {
    pub path: String,
    pub pageviews: u64,
}

/// The referral funnel in the range: links shared, visitors who arrived through one, and
/// the orders the site's server confirmed with a referral code, by the reward's status.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReferralFunnel {
    /// `referral_shared` events.
    pub links_shared: u64,
    /// Visitors with an event carrying a referral code.
    pub referred_visitors: u64,
    /// Referred orders confirmed by the signed webhook.
    pub orders: u64,
    /// Rewards still in the hold period.
    pub pending: u64,
    pub earned: u64,
    /// Refunded in the hold period.
    pub cancelled: u64,
    /// Refused by a fraud rule (self-referral, existing customer, cap).
    pub rejected: u64,
}

/// The loyalty ledger in the range.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Points {
    /// Points credited: orders, referral rewards, feedback.
    pub issued: u64,
    /// Points spent on rewards.
    pub redeemed: u64,
    pub redemptions: u64,
    /// Points taken back by refunds.
    pub clawed_back: u64,
    /// Customers with a ledger entry.
    pub customers: u64,
}

/// The loyalty ledger on one UTC day.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PointsDay {
    pub date: String,
    pub issued: u64,
    pub redeemed: u64,
    pub clawed_back: u64,
}

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProgramTotals {
    pub referral: ReferralFunnel,
    pub points: Points,
    /// The ledger per day of the range, for a site with a loyalty or referral program;
    /// empty otherwise.
    #[serde(default)]
    pub points_days: Vec<PointsDay>,
}

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Stats {
    pub site: String,
    pub from: String,
    pub to: String,
    /// The filters applied, in the order of [`DIMENSIONS`]; empty for the whole site.
    #[serde(default)]
    pub filters: Vec<Filter>,
    pub total: Metrics,
    pub days: Vec<Day>,
    /// The 24 hours of a one-day range; empty for longer ranges.
    #[serde(default)]
    pub hours: Vec<Hour>,
    pub top_pages: Vec<TopPage>,
    /// Referral and loyalty totals; the ledger's part is filled from the database.
    pub programs: ProgramTotals,
}

/// One stored event, as the API returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StoredEvent {
    pub id: String,
    pub name: String,
    pub ts: i64,
    pub client_ts: i64,
    pub received_at: i64,
    pub visitor_id: String,
    pub session_id: String,
    pub pageview_id: String,
    pub returning: bool,
    pub url: String,
    pub referrer: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub props: serde_json::Value,
}

/// The newest events of a site (`GET /v1/sites/{site}/events`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EventsPage {
    pub site: String,
    /// Newest first.
    pub events: Vec<StoredEvent>,
}

/// Page experiments (`GET /v1/sites/{site}/experiments`): each variant against the control.
/// A difference from the control and its 95 % confidence interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Interval {
    /// This variant's value minus the control's (percentage points for rates, ms for time).
    pub difference: f64,
    pub low: f64,
    pub high: f64,
    /// Whether the interval leaves zero out: the variants are then told apart at 95 %.
    pub excludes_zero: bool,
}

/// Each metric's difference from the control; null where an interval cannot be formed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VersusControl {
    pub engagement_rate: Option<Interval>,
    pub bounce_rate: Option<Interval>,
    pub avg_engaged_ms: Option<Interval>,
    pub conversion_rate: Option<Interval>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VariantResult {
    pub variant: String,
    /// Its position in the experiment's list: 0 is the control.
    pub index: u64,
    /// Visitors exposed to it in the range.
    pub visitors: u64,
    /// Sessions exposed to it.
    pub sessions: u64,
    /// Exposed visitors with an interaction in an exposed session ÷ exposed visitors × 100.
    pub engagement_rate: Option<f64>,
    /// Bounced exposed sessions ÷ exposed sessions × 100.
    pub bounce_rate: Option<f64>,
    /// Mean engaged time of an exposed session, ms.
    pub avg_engaged_ms: Option<f64>,
    /// Exposed visitors with the goal event in an exposed session ÷ exposed visitors × 100.
    pub conversion_rate: Option<f64>,
    /// Null for the control.
    pub versus_control: Option<VersusControl>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExperimentResult {
    pub experiment: String,
    /// The control first.
    pub variants: Vec<VariantResult>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Experiments {
    pub site: String,
    pub from: String,
    pub to: String,
    /// The event that counts as a conversion.
    pub goal: String,
    pub experiments: Vec<ExperimentResult>,
}

/// Who is on the site now (`GET /v1/sites/{site}/live`).
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Live {
    pub site: String,
    /// Distinct visitors with an event received in the window.
    pub visitors: u64,
    /// The window's length: the last 5 minutes.
    pub window_ms: u64,
    /// When it was counted, ms since the Unix epoch.
    pub at: i64,
}

/// One answer to a prompt, as the shopper gave it.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Answer {
    /// When it was given, ms since the Unix epoch.
    pub ts: i64,
    /// The page it was given on.
    pub url: String,
    pub prompt_id: Option<String>,
    /// The prompt's A/B variant (`default` without variants).
    pub variant: Option<String>,
    /// `nps`, `csat`, `thumbs`, `text` or `choice`.
    pub kind: Option<String>,
    pub score: Option<f64>,
    /// What the shopper wrote, if anything.
    pub text: Option<String>,
    /// The chosen option's text (choice prompts).
    pub choice: Option<String>,
}

/// The newest feedback answers of a site (`GET /v1/sites/{site}/feedback`).
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Answers {
    pub site: String,
    /// Newest first.
    pub answers: Vec<Answer>,
}

/// The dimensions of a breakdown, as the query names them.
pub const DIMENSIONS: [&str; 10] = [
    "page",
    "entry_page",
    "exit_page",
    "referrer",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "visitor_type",
    "referred",
    "device",
];

/// The values of `visitor_type`: decided per visitor, returning when any of its events in
/// the range says so.
pub const VISITOR_TYPES: [&str; 2] = ["new", "returning"];
/// The values of `referred`: decided per visitor, referred when any of its events in the
/// range carries a referral code.
pub const REFERRED: [&str; 2] = ["not referred", "referred"];

/// One value of a breakdown.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BreakdownRow {
    /// The dimension's value; empty for events without one (no campaign, a direct visit).
    pub value: String,
    pub visitors: u64,
    /// Page views with this value; for entry and exit pages, the sessions that started or
    /// ended there.
    pub pageviews: u64,
}

/// The range's visitors by one dimension (`GET /v1/sites/{site}/breakdown`).
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Breakdown {
    pub site: String,
    pub from: String,
    pub to: String,
    pub dimension: String,
    /// The filters applied, as in [`Stats::filters`].
    #[serde(default)]
    pub filters: Vec<Filter>,
    /// The 50 values with the most visitors, most first.
    pub rows: Vec<BreakdownRow>,
}

/// One A/B variant of a prompt in the range.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PromptVariant {
    /// `default` for a prompt without variants.
    pub variant: String,
    /// `prompt_shown` events.
    pub shown: u64,
    pub dismissed: u64,
    /// `feedback_submitted` events.
    pub answered: u64,
    /// answered ÷ shown × 100; null when it was never shown.
    pub response_rate: Option<f64>,
    /// Mean score of the answers with a score; null without any.
    pub mean_score: Option<f64>,
    /// NPS answers: 9–10, 7–8 and 0–6.
    pub promoters: u64,
    pub passives: u64,
    pub detractors: u64,
    /// How often each answer was given, most first (ties by answer): the score for NPS
    /// (0–10), CSAT (1–5) and thumbs (1 yes, 0 no); the chosen option's text for choice.
    #[serde(default)]
    pub answers: Vec<AnswerCount>,
    /// Against the prompt's first variant (in name order); null for that one.
    pub versus_first: Option<PromptVersus>,
}

/// One answer of a prompt and how often it was given.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AnswerCount {
    pub answer: String,
    pub count: u64,
}

/// A variant's differences from the first variant, with 95 % intervals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PromptVersus {
    pub response_rate: Option<Interval>,
    pub mean_score: Option<Interval>,
}

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PromptResult {
    pub prompt_id: String,
    /// `nps`, `csat`, `thumbs`, `text` or `choice`, as its answers say.
    pub kind: Option<String>,
    /// In name order.
    pub variants: Vec<PromptVariant>,
}

/// The prompts' results (`GET /v1/sites/{site}/prompts`).
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Prompts {
    pub site: String,
    pub from: String,
    pub to: String,
    /// The filters applied, as in [`Stats::filters`].
    #[serde(default)]
    pub filters: Vec<Filter>,
    pub prompts: Vec<PromptResult>,
}
