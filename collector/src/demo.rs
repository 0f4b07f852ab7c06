//! The demo shop's server side, mounted only with `--demo-dir` (`cargo xtask demo` and the
//! browser tests). It plays the part a site's own server plays in production:
//!
//! - `POST /demo-api/{site}/sign-in` `{"email"}` signs a shopper in and answers
//!   `{"customer", "hash"}`, the pair the page hands to `rapport.identify`;
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

use crate::loyalty::{self, SIGNATURE_HEADER};
use crate::{known_site, AppError, AppState};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/demo-api/{site}/sign-in", post(sign_in))
        .route("/demo-api/{site}/checkout", post(checkout))
        .route("/demo-api/{site}/refund", post(refund))
}

fn site_secret<'a>(state: &'a AppState, site: &str) -> Result<&'a str, AppError> {
    known_site(state, site)?
        .secret
        .as_deref()
        .ok_or_else(|| AppError::NotFound("site: no secret is configured".into()))
}

/// The JSON body, or a 400 that names what is wrong (an unknown field, a missing one).
fn parse<T: serde::de::DeserializeOwned>(body: &Bytes) -> Result<T, AppError> {
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
    body: Bytes,
) -> Result<Json<Value>, AppError> {
    let body: SignIn = parse(&body)?;
    let secret = site_secret(&state, &site)?;
    let customer = customer(secret, &email(&body.email)?);
    let hash = loyalty::sign(secret, customer.as_bytes());
    Ok(Json(json!({ "customer": customer, "hash": hash })))
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
    let signature = loyalty::webhook_signature(secret, crate::now_ms() / 1000, &body);
    let mut headers = HeaderMap::new();
    let value =
        HeaderValue::from_str(&signature).map_err(|e| AppError::bad_request(e.to_string()))?;
    headers.insert(SIGNATURE_HEADER, value);
    loyalty::order_webhook(State(state), Path(site), headers, Bytes::from(body)).await
}

async fn checkout(
    State(state): State<AppState>,
    Path(site): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, AppError> {
    let body: Checkout = parse(&body)?;
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
    body: Bytes,
) -> Result<Json<Value>, AppError> {
    let body: Refund = parse(&body)?;
    send(
        state,
        site,
        json!({ "type": "order.refunded", "order_id": body.order_id }),
    )
    .await
}
