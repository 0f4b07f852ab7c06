//! The HTTP API's OpenAPI description, served at `/openapi.json`. It is generated from the
//! handlers' `#[utoipa::path]` attributes and their body types, so it cannot drift from the
//! code. Nothing depends on this module but the routes.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Rapport collector",
        description = "Ingest of Rapport event batches, stored events, metrics, site config, and the loyalty and referral authority."
    ),
    modifiers(&BearerToken, &ClosedOrderEvents),
    paths(
        crate::ingest::post_batch,
        crate::access::readable_sites,
        crate::sites::recent_events,
        crate::sites::site_stats,
        crate::sites::site_live,
        crate::prompts::site_prompts,
        crate::breakdown::site_breakdown,
        crate::sites::feedback_answers,
        crate::experiments::site_experiments,
        crate::sites::site_config,
        crate::links::create,
        crate::links::list,
        crate::links::revoke,
        crate::loyalty::order_webhook,
        crate::loyalty::loyalty_status,
        crate::loyalty::redeem,
        crate::loyalty::referral_status,
        crate::loyalty::consume_coupon,
        crate::health::healthz,
        crate::health::readyz,
    ),
    components(schemas(
        crate::access::SiteList,
        crate::access::ReadableSite,
        crate::access::AccessLevel,
        crate::links::NewSharedLink,
        crate::links::CreatedSharedLink,
        crate::links::SharedLink,
        crate::links::SharedLinks,
        crate::loyalty::RedeemRequest,
        crate::loyalty::ConsumeRequest,
        crate::loyalty::OrderEvent,
        crate::ingest::Envelope,
        crate::ingest::Encoding,
        rapport_core::Event,
        crate::ingest::IngestResponse,
        crate::error::Rejected,
        crate::error::ErrorBody,
        crate::sites::EventsPage,
        crate::sites::Live,
        crate::prompts::Prompts,
        crate::report::prompts::PromptResult,
        crate::report::prompts::PromptVariant,
        crate::report::prompts::PromptVersus,
        crate::breakdown::Breakdown,
        crate::report::breakdown::BreakdownRow,
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
        crate::report::stats::Stats,
        crate::experiments::Experiments,
        crate::report::experiments::ExperimentResult,
        crate::report::experiments::VariantResult,
        crate::report::experiments::VersusControl,
        crate::report::experiments::Interval,
        crate::report::stats::Metrics,
        crate::report::stats::Day,
        crate::report::stats::Hour,
        crate::report::stats::PointsDay,
        crate::report::filter::Filter,
        crate::report::prompts::AnswerCount,
        crate::report::stats::TopPage,
        crate::report::stats::Feedback,
    ))
)]
pub struct ApiDoc;

/// The `bearer` scheme of the site data's reads.
struct BearerToken;

impl Modify for BearerToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An owner token (reads the sites whose `[[site]] owners` list its \
                         hash), a shared link's token (one site's stats only) or the admin \
                         token (every site). With no token configured, reads need none but \
                         answer only loopback clients that send a loopback Host.",
                    ))
                    .build(),
            ),
        );
    }
}

/// The order webhook refuses unknown fields (`deny_unknown_fields`), which utoipa does not
/// state for an enum's variants: each variant is closed here.
struct ClosedOrderEvents;

impl Modify for ClosedOrderEvents {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::schema::{AdditionalProperties, Schema};
        use utoipa::openapi::RefOr;
        let Some(components) = openapi.components.as_mut() else {
            return;
        };
        if let Some(RefOr::T(Schema::OneOf(one_of))) = components.schemas.get_mut("OrderEvent") {
            for variant in &mut one_of.items {
                if let RefOr::T(Schema::Object(object)) = variant {
                    object.additional_properties =
                        Some(Box::new(AdditionalProperties::FreeForm(false)));
                }
            }
        }
    }
}
