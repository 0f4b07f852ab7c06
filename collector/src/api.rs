//! Response bodies of the HTTP API and its OpenAPI description, served at `/openapi.json`.
//! The description is generated from the handlers' `#[utoipa::path]` attributes and these
//! types, so it cannot drift from the code.

use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

/// One event the collector refused, by its index in the batch.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Rejected {
    pub index: usize,
    /// `field: what is wrong`.
    pub reason: String,
    /// Whether sending the same event again could succeed.
    pub retryable: bool,
}

/// `200` (and `202` for bots): how many events were stored or already stored, and which
/// were refused. `accepted + rejected.len()` is the batch's size.
#[derive(Debug, Serialize, ToSchema)]
pub struct IngestResponse {
    /// Valid events: stored now, or stored before for this site (see `duplicates`).
    pub accepted: usize,
    pub rejected: Vec<Rejected>,
    /// Indexes of accepted events whose id this site had already stored (a retried batch,
    /// or a repeat within the batch): nothing new was stored for them.
    pub duplicates: Vec<usize>,
}

/// Every 4xx and 5xx body.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: String,
    /// With `400` when every event of a batch is invalid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rejected: Option<Vec<Rejected>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventsPage {
    pub site: String,
    /// Newest first.
    pub events: Vec<crate::db::StoredEvent>,
}

/// What the widget may know of its site's config: never write keys or secrets.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicSiteConfig {
    pub site: String,
    #[serde(flatten)]
    pub programs: crate::programs::Programs,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Rapport collector",
        description = "Ingest of Rapport event batches, stored events, metrics, site config, and the loyalty and referral authority."
    ),
    paths(
        crate::ingest::post_batch,
        crate::recent_events,
        crate::site_stats,
        crate::experiments::site_experiments,
        crate::site_config,
        crate::loyalty::order_webhook,
        crate::loyalty::loyalty_status,
        crate::loyalty::redeem,
        crate::loyalty::referral_status,
        crate::healthz,
        crate::readyz,
    ),
    components(schemas(
        crate::loyalty::RedeemRequest,
        crate::ingest::Envelope,
        rapport_core::Event,
        IngestResponse,
        Rejected,
        ErrorBody,
        EventsPage,
        PublicSiteConfig,
        crate::programs::Programs,
        crate::programs::Prompt,
        crate::programs::Trigger,
        crate::programs::Referral,
        crate::programs::Loyalty,
        crate::programs::Theme,
        crate::db::StoredEvent,
        crate::stats::Stats,
        crate::experiments::Experiments,
        crate::experiments::ExperimentResult,
        crate::experiments::VariantResult,
        crate::experiments::VersusControl,
        crate::experiments::Interval,
        crate::stats::Metrics,
        crate::stats::Day,
        crate::stats::TopPage,
        crate::stats::Feedback,
    ))
)]
pub struct ApiDoc;
