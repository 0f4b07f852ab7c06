//! What every handler shares: the application state, the clock, the checks of a site id and
//! a date range, and the query of a ranged, filtered report. Depends on storage, the report
//! layer, config and errors only.

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::config::{self, Config};
use crate::db::Db;
use crate::error::AppError;
use crate::limit::{self, RateLimit};
use crate::report::filter::Filters;
use crate::report::stats;

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    /// Sites and who may send for them (`rapport.toml`).
    pub config: std::sync::Arc<Config>,
    /// The demo site, served under `/demo/` when set.
    pub demo_dir: Option<PathBuf>,
    /// The built widget (`dist/embed`), served under `/embed/` when set.
    pub embed_dir: Option<PathBuf>,
    /// The built dashboard (`dist/dashboard`), served at `/` when set.
    pub dashboard_dir: Option<PathBuf>,
    /// Ingest requests allowed per client.
    pub rate_limit: RateLimit,
    /// Shopper requests (loyalty, redeem, referral) allowed per client and site.
    pub shopper_rate_limit: RateLimit,
    /// Load balancers whose `X-Forwarded-For` names the client (`--trusted-proxies`).
    pub trusted_proxies: limit::TrustedProxies,
    /// The operator's token (`--admin-token`): reads every site, as
    /// `Authorization: Bearer <token>`. Owners' tokens are in the config (`[[site]] owners`).
    pub admin_token: Option<std::sync::Arc<str>>,
    /// `--public-reads`: with no token configured, anyone anywhere reads the site data.
    /// Without it, and with no token, only loopback clients that name a loopback host do.
    pub public_reads: bool,
    /// Request deadlines and the cap on requests in progress (`serve.rs`).
    pub limits: crate::serve::Limits,
}

impl AppState {
    pub fn new(db: Db, config: Config) -> AppState {
        AppState {
            db,
            config: std::sync::Arc::new(config),
            demo_dir: None,
            embed_dir: None,
            dashboard_dir: None,
            rate_limit: RateLimit::default(),
            shopper_rate_limit: RateLimit::shopper(),
            trusted_proxies: limit::TrustedProxies::default(),
            admin_token: None,
            public_reads: false,
            limits: crate::serve::Limits::default(),
        }
    }

    /// Whether any read token is configured: an admin token, or an owner or shared link
    /// of any site. Without one, reads are open on loopback only (`access`).
    pub fn has_read_tokens(&self) -> bool {
        self.admin_token.is_some() || self.config.has_tokens()
    }
}

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// The `{site}` of every site route, as the OpenAPI description states it: the one place
/// its rule is written for the contract ([`known_site`] enforces it).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct SitePath {
    /// site id: 1-64 characters of a-z, 0-9, _, . and -
    #[param(pattern = r"^[a-z0-9_.-]{1,64}$", min_length = 1, max_length = 64)]
    pub site: String,
}

/// The config of `site`: 400 for an id that breaks the rules, 404 for one not configured.
pub fn known_site<'a>(state: &'a AppState, site: &str) -> Result<&'a config::SiteConfig, AppError> {
    rapport_core::validate::site(site).map_err(|e| AppError::bad_request(e.to_string()))?;
    state.config.site(site).ok_or_else(|| not_configured(site))
}

/// The 404 of a site that is not configured. A site that the caller may not read gets this
/// very answer (`access`), so that its id cannot be probed.
pub fn not_configured(site: &str) -> AppError {
    AppError::NotFound(format!("site: \"{site}\" is not configured"))
}

/// `from` and `to` of a stats-like request as epoch days: real dates from 0001-01-01 to
/// 9999-12-31, `to` today and `from` 29 days before it by default, `from` ≤ `to`, at most
/// 366 days. A 400 names the parameter.
pub fn date_range(from: Option<&String>, to: Option<&String>) -> Result<(i64, i64), AppError> {
    let date = |field: &str, value: Option<&String>, default: i64| match value {
        None => Ok(default),
        Some(text) => stats::parse_date(text).ok_or_else(|| {
            AppError::bad_request(format!(
                "{field}: \"{text}\" is not a date from {} to {}, like 2026-11-22",
                stats::FIRST_DATE,
                stats::LAST_DATE
            ))
        }),
    };
    let today = stats::day_of(now_ms() as i64);
    let to = date("to", to, today)?;
    let from = date("from", from, to - 29)?;
    if from > to {
        return Err(AppError::bad_request("from: must not be after to"));
    }
    if to - from >= MAX_STATS_DAYS {
        return Err(AppError::bad_request(
            "from: the range may cover at most 366 days",
        ));
    }
    Ok((from, to))
}

/// The query of the stats and prompts: the range and the filters.
#[derive(serde::Deserialize)]
pub struct StatsQuery {
    pub from: Option<String>,
    pub to: Option<String>,
    #[serde(flatten)]
    pub filters: Filters,
}

/// Longest range one stats request may cover, in days.
pub const MAX_STATS_DAYS: i64 = 366;
