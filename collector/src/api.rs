//! The HTTP API's OpenAPI description, served at `/openapi.json`. It is generated from the
//! handlers' `#[utoipa::path]` attributes and their body types, so it cannot drift from the
//! code. Nothing depends on this module but the routes.

use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Rapport collector",
        description = "Ingest of Rapport event batches, stored events, metrics, site config, and the loyalty and referral authority."
    ),
    paths(
        crate::ingest::post_batch,
        crate::sites::recent_events,
        crate::sites::site_stats,
        crate::sites::site_live,
        crate::prompts::site_prompts,
        crate::breakdown::site_breakdown,
        crate::sites::feedback_answers,
        crate::experiments::site_experiments,
        crate::sites::site_config,
        crate::loyalty::order_webhook,
        crate::loyalty::loyalty_status,
        crate::loyalty::redeem,
        crate::loyalty::referral_status,
        crate::loyalty::consume_coupon,
        crate::health::healthz,
        crate::health::readyz,
    ),
    components(schemas(
        crate::loyalty::RedeemRequest,
        crate::loyalty::ConsumeRequest,
        crate::ingest::Envelope,
        crate::ingest::Encoding,
        rapport_core::Event,
        crate::ingest::IngestResponse,
        crate::error::Rejected,
        crate::error::ErrorBody,
        crate::sites::EventsPage,
        crate::sites::Live,
        crate::prompts::Prompts,
        crate::prompts::PromptResult,
        crate::prompts::PromptVariant,
        crate::prompts::PromptVersus,
        crate::breakdown::Breakdown,
        crate::breakdown::BreakdownRow,
        crate::sites::Answers,
        crate::sites::Answer,
        crate::sites::PublicSiteConfig,
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
        crate::stats::Hour,
        crate::stats::PointsDay,
        crate::filter::Filter,
        crate::prompts::AnswerCount,
        crate::stats::TopPage,
        crate::stats::Feedback,
    ))
)]
pub struct ApiDoc;
