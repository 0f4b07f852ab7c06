//! The demo shop's server side, mounted only with `--demo-dir` (`cargo xtask demo` and the
//! browser tests), and only for sites marked `demo = true`. It plays the part a site's own
//! server plays in production:
//!
//! - `POST /demo-api/{site}/sign-in` `{"email"}` signs a shopper in and answers
//!   `{"customer", "hash"}` (and `"expires"` where identities expire), what the page hands
//!   to `rapport.identify`;
//! - `POST /demo-api/{site}/checkout` `{"email", "amount_cents", "referral_code"?,
//!   "visitor_id"?}` pays an order by sending the signed order webhook to this collector;
//! - `POST /demo-api/{site}/refund` `{"order_id"}` refunds one the same way.
//!
//! The webhooks go through [`loyalty::order_webhook`] with a real signature, so the demo
//! exercises the same verification and fraud rules as a site's server would.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue};
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::AppError;
use crate::loyalty::{self, SIGNATURE_HEADER};
use crate::state::{known_site, AppState};

/// The secret of the repository's `rapport.toml`: public, so whoever reads it can sign
/// identities and order webhooks for a site that uses it.
pub const PUBLIC_DEMO_SECRET: &str = "demo-only-secret-0f3a9c2e7b1d4a6f8e5c";

/// Refuses a config that gives a site the public demo secret, unless the demo routes are on
/// (`demo_routes`, from `--demo-dir`) and the site is marked `demo = true`: elsewhere anyone
/// could mint points through the order webhook. The error says which site and why.
pub fn check_public_secret(config: &crate::Config, demo_routes: bool) -> Result<(), String> {
    for (i, site) in config.sites.iter().enumerate() {
        if site.secret.as_deref() != Some(PUBLIC_DEMO_SECRET) {
            continue;
        }
        let why = if !site.demo {
            "the site is not marked demo = true"
        } else if !demo_routes {
            "the demo routes are off (no --demo-dir)"
        } else {
            continue;
        };
        return Err(format!(
            "site[{i}].secret: \"{}\" uses the public demo secret of the repository's \
             rapport.toml, and {why}: anyone could sign order webhooks and mint points for it. \
             Run the demo with --demo-dir (cargo xtask demo), or give the site a random \
             secret of its own",
            site.id
        ));
    }
    Ok(())
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/demo-api/{site}/sign-in", post(sign_in))
        .route("/demo-api/{site}/checkout", post(checkout))
        .route("/demo-api/{site}/refund", post(refund))
}

/// The secret of a site marked `demo = true`; any other site is unknown here.
fn site_secret<'a>(state: &'a AppState, site: &str) -> Result<&'a str, AppError> {
    let config = known_site(state, site)?;
    if !config.demo {
        return Err(AppError::NotFound(format!(
            "site: \"{site}\" is not a demo site"
        )));
    }
    config
        .secret
        .as_deref()
        .ok_or_else(|| AppError::NotFound("site: no secret is configured".into()))
}

/// The JSON body, or a 400 that names what is wrong (an unknown field, a missing one). Only
/// `application/json`: a form on another site cannot send that without a preflight, which
/// these routes do not answer.
fn parse<T: serde::de::DeserializeOwned>(headers: &HeaderMap, body: &Bytes) -> Result<T, AppError> {
    let json = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !json {
        return Err(AppError::UnsupportedMediaType("application/json"));
    }
    serde_json::from_slice(body).map_err(|e| AppError::bad_request(format!("body: {e}")))
}

fn email(given: &str) -> Result<String, AppError> {
    let email = loyalty::normalize_email(given);
    let valid = email.len() <= 254
        && email
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'));
    if valid {
        Ok(email)
    } else {
        Err(AppError::bad_request(
            "email: must be an address like jane@example.com",
        ))
    }
}

/// The demo's customer id for an email: stable, and not the address itself, so events carry
/// no email.
fn customer(secret: &str, email: &str) -> String {
    let digest = loyalty::sign(secret, format!("demo-customer.{email}").as_bytes());
    format!("shopper-{}", &digest[..16])
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SignIn {
    email: String,
}

async fn sign_in(
    State(state): State<AppState>,
    Path(site): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, AppError> {
    let body: SignIn = parse(&headers, &body)?;
    let secret = site_secret(&state, &site)?;
    let customer = customer(secret, &email(&body.email)?);
    // A site whose identities expire gets an expiring one, as its server would issue.
    let max_age = known_site(&state, &site)?.identity_max_age_seconds;
    Ok(Json(match max_age {
        Some(age) => {
            let expires = (crate::state::now_ms() / 1000).saturating_add(age);
            let hash = loyalty::expiring_identity_hash(secret, expires, &customer);
            json!({ "customer": customer, "hash": hash, "expires": expires })
        }
        None => json!({ "customer": customer, "hash": loyalty::identity_hash(secret, &customer) }),
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Checkout {
    email: String,
    amount_cents: u64,
    referral_code: Option<String>,
    visitor_id: Option<String>,
}

/// Signs `event` as the site's server would and hands it to the webhook handler.
async fn send(state: AppState, site: String, event: Value) -> Result<Json<Value>, AppError> {
    let secret = site_secret(&state, &site)?;
    let body = serde_json::to_vec(&event).map_err(|e| AppError::bad_request(e.to_string()))?;
    let signature = loyalty::webhook_signature(secret, crate::state::now_ms() / 1000, &body);
    let mut headers = HeaderMap::new();
    let value =
        HeaderValue::from_str(&signature).map_err(|e| AppError::bad_request(e.to_string()))?;
    headers.insert(SIGNATURE_HEADER, value);
    loyalty::order_webhook(State(state), Path(site), headers, Bytes::from(body)).await
}

async fn checkout(
    State(state): State<AppState>,
    Path(site): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, AppError> {
    let body: Checkout = parse(&headers, &body)?;
    let email = email(&body.email)?;
    if body.amount_cents == 0 || body.amount_cents > 100_000_000 {
        return Err(AppError::bad_request("amount_cents: must be 1-100000000"));
    }
    let customer = customer(site_secret(&state, &site)?, &email);
    let order_id = format!("demo-{:016x}", rand::random::<u64>());
    let mut event = json!({
        "type": "order.paid",
        "order_id": order_id,
        "customer_id": customer,
        "email": email,
        "amount_cents": body.amount_cents,
    });
    let optional = [
        ("referral_code", body.referral_code),
        ("visitor_id", body.visitor_id),
    ];
    for (key, value) in optional {
        if let Some(value) = value.filter(|v| !v.is_empty()) {
            event[key] = json!(value);
        }
    }
    send(state, site, event).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Refund {
    order_id: String,
}

async fn refund(
    State(state): State<AppState>,
    Path(site): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, AppError> {
    let body: Refund = parse(&headers, &body)?;
    send(
        state,
        site,
        json!({ "type": "order.refunded", "order_id": body.order_id }),
    )
    .await
}
