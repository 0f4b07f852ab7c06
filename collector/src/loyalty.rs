//! Loyalty points and referral rewards, with the collector as the only authority.
//!
//! - Shoppers are identified by the site: `x-rapport-user` carries the customer id and
//!   `x-rapport-user-hash` its HMAC-SHA256 under the site's secret, computed on the site's
//!   server. Without a valid pair the shopper endpoints answer 401 and reveal nothing.
//! - Points come only from facts the server verified: orders confirmed through the signed
//!   webhook (`x-rapport-signature: t=<unix seconds>,sha256=<hex HMAC>`), referral conversions
//!   that survived the fraud rules and the hold period, and feedback answers from signed-in
//!   customers. Nothing a browser claims sets an amount.
//! - The webhook signature covers a timestamp and a purpose prefix
//!   (`rapport-webhook.<t>.<body>`), so it cannot be replayed later. Identities and webhooks
//!   are signed with two keys derived from the secret (`crate::secret::purpose_key`), so no
//!   shopper hash, whatever customer id it covers, can pass for a webhook signature.
//! - The ledger is append-only with an idempotency key per entry; a balance is a sum. A
//!   redemption locks the customer's account row first, so concurrent redemptions cannot take
//!   the balance below zero.
//!
//! `docs/loyalty-referral.md` documents the JSON contract.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::Json;
use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sqlx::Row;

use crate::config::SiteConfig;
use crate::db::{as_i64, Db};
use crate::error::AppError;
use crate::state::{known_site, now_ms, AppState};

use crate::secret::{purpose_key, sign_with, verify_with, IDENTITY_LABEL, WEBHOOK_LABEL};
pub use crate::secret::{same_secret, sign, verify};

pub const USER_HEADER: &str = "x-rapport-user";
pub const USER_HASH_HEADER: &str = "x-rapport-user-hash";
pub const USER_EXPIRES_HEADER: &str = "x-rapport-user-expires";
pub const VISITOR_HEADER: &str = "x-rapport-visitor";
pub const SIGNATURE_HEADER: &str = "x-rapport-signature";
pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";

const DAY_MS: u64 = 86_400_000;
/// A webhook signed further than this from the collector's clock is refused (replay).
pub const WEBHOOK_TOLERANCE_SECS: u64 = 300;

/// What the site's server signs for a webhook: a purpose prefix, the time and the body.
pub fn webhook_message(t: u64, body: &[u8]) -> Vec<u8> {
    let mut message = format!("rapport-webhook.{t}.").into_bytes();
    message.extend_from_slice(body);
    message
}

/// The `x-rapport-signature` header for `body` signed at `t` (unix seconds), under the
/// webhook key.
pub fn webhook_signature(secret: &str, t: u64, body: &[u8]) -> String {
    signature_header(secret, t, &webhook_message(t, body))
}

/// `t=<t>,sha256=<hex HMAC of message under the webhook key>`.
fn signature_header(secret: &str, t: u64, message: &[u8]) -> String {
    let key = purpose_key(secret, WEBHOOK_LABEL);
    format!("t={t},sha256={}", sign_with(&key, message))
}

/// Checks a `t=<seconds>,sha256=<hex>` header against `body`, at `now` (unix seconds).
fn webhook_valid(secret: &str, header: &str, body: &[u8], now: u64) -> bool {
    signed_at_valid(secret, header, now, |t| webhook_message(t, body))
}

/// Checks a `t=<seconds>,sha256=<hex>` header: `t` within the tolerance of `now`, and the
/// HMAC under the webhook key of the message `message(t)` builds. Never the secret itself
/// nor the identity key: an identity hash is no signature here.
fn signed_at_valid(
    secret: &str,
    header: &str,
    now: u64,
    message: impl FnOnce(u64) -> Vec<u8>,
) -> bool {
    let mut t = None;
    let mut mac = None;
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = v.parse::<u64>().ok(),
            Some(("sha256", v)) => mac = Some(v),
            _ => {}
        }
    }
    let (Some(t), Some(mac)) = (t, mac) else {
        return false;
    };
    let key = purpose_key(secret, WEBHOOK_LABEL);
    now.abs_diff(t) <= WEBHOOK_TOLERANCE_SECS && verify_with(&key, &message(t), mac)
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn secret(site: &SiteConfig) -> Result<&str, AppError> {
    site.secret.as_deref().ok_or_else(|| {
        AppError::NotFound("site: no secret is configured, so loyalty and referral are off".into())
    })
}

/// The customer a shopper request speaks for, if its hash is valid.
/// A shopper request's site, its signed-in customer, and the program it asks about
/// (`program` picks it from the site; `name` says which in the 404). Checked in that order:
/// an unknown site, then a missing identity (401), then a missing program (404).
fn signed_in<'a, P>(
    state: &'a AppState,
    site: &str,
    headers: &HeaderMap,
    program: impl FnOnce(&'a SiteConfig) -> Option<&'a P>,
    name: &str,
) -> Result<(&'a SiteConfig, String, &'a P), AppError> {
    let config = known_site(state, site)?;
    let customer = shopper(config, headers)?;
    let program = program(config)
        .ok_or_else(|| AppError::NotFound(format!("site: no {name} program is configured")))?;
    Ok((config, customer, program))
}

/// What an expiring identity signs: a purpose prefix, the expiry and the id. The prefix
/// keeps a plain hash (of a bare id) from passing for an expiring one.
pub fn identity_message(expires: u64, user: &str) -> Vec<u8> {
    format!("rapport-identity.{expires}.{user}").into_bytes()
}

/// The `identify()` hash of `user`: HMAC-SHA256 under the identity key, as hex.
pub fn identity_hash(secret: &str, user: &str) -> String {
    sign_with(&purpose_key(secret, IDENTITY_LABEL), user.as_bytes())
}

/// The `identify()` hash of `user` expiring at `expires` (unix seconds), for a site with
/// `identity_max_age_seconds`.
pub fn expiring_identity_hash(secret: &str, expires: u64, user: &str) -> String {
    sign_with(
        &purpose_key(secret, IDENTITY_LABEL),
        &identity_message(expires, user),
    )
}

/// Whether `hash` is the HMAC of `message` under the identity key, or, before the site's
/// `legacy_identity_until` (unix seconds, compared with `now`), under the secret itself.
fn identity_signed(site: &SiteConfig, secret: &str, message: &[u8], hash: &str, now: u64) -> bool {
    let key = purpose_key(secret, IDENTITY_LABEL);
    let legacy = site.legacy_identity_until.is_some_and(|until| now < until);
    verify_with(&key, message, hash) || (legacy && verify(secret, message, hash))
}

/// Whether `hash` proves `user` at `now` (unix seconds). Plain: HMAC(identity key, user).
/// With `identity_max_age_seconds`: HMAC(identity key, [`identity_message`]), `expires` in
/// the future and at most the maximum age ahead (plus the webhook tolerance, for the site
/// server's clock). A site uses one form only. Until `legacy_identity_until`, the same
/// messages signed with the secret itself are accepted too.
pub fn identity_valid(
    site: &SiteConfig,
    secret: &str,
    user: &str,
    hash: &str,
    expires: Option<&str>,
    now: u64,
) -> bool {
    if user.is_empty() || user.len() > 256 {
        return false;
    }
    match (site.identity_max_age_seconds, expires) {
        (None, None) => identity_signed(site, secret, user.as_bytes(), hash, now),
        (Some(max_age), Some(expires)) => {
            let Ok(at) = expires.parse::<u64>() else {
                return false;
            };
            let fresh = at > now && at - now <= max_age.saturating_add(WEBHOOK_TOLERANCE_SECS);
            fresh && identity_signed(site, secret, &identity_message(at, user), hash, now)
        }
        _ => false,
    }
}

fn shopper(site: &SiteConfig, headers: &HeaderMap) -> Result<String, AppError> {
    let secret = secret(site)?;
    let user = header(headers, USER_HEADER).unwrap_or("");
    let hash = header(headers, USER_HASH_HEADER).unwrap_or("");
    let expires = header(headers, USER_EXPIRES_HEADER);
    if identity_valid(site, secret, user, hash, expires, now_ms() / 1000) {
        return Ok(user.to_owned());
    }
    let expiring = if site.identity_max_age_seconds.is_some() {
        format!(" and {USER_EXPIRES_HEADER} (unix seconds, not past)")
    } else {
        String::new()
    };
    Err(AppError::Unauthorized(format!(
        "sign in: send {USER_HEADER} with a valid {USER_HASH_HEADER}{expiring}"
    )))
}

/// One mailbox, however it is spelled, as mail providers resolve it: lowercase, the
/// domain without its trailing dots (`gmail.com.` is `gmail.com`), `googlemail.com` as
/// `gmail.com`, the `+tag` removed, and for Gmail no dots in the local part.
pub fn normalize_email(email: &str) -> String {
    let email = email.trim().to_lowercase();
    let Some((local, domain)) = email.rsplit_once('@') else {
        return email;
    };
    let domain = domain.trim_end_matches('.');
    let domain = if domain == "googlemail.com" {
        "gmail.com"
    } else {
        domain
    };
    let local = local.split('+').next().unwrap_or(local);
    let local = if domain == "gmail.com" {
        local.replace('.', "")
    } else {
        local.to_owned()
    };
    format!("{local}@{domain}")
}

/// The ledger's idempotency key of a redemption. The customer id and the shopper's key are
/// both free text, so the customer id goes in with its length in characters: `a` with key
/// `b:c` (`redeem:1:a:b:c`) and `a:b` with key `c` (`redeem:3:a:b:c`) cannot meet.
///
/// The other keys are unambiguous as they are: `order:`, `order_refund:` and `referral:`
/// carry one free part after a fixed prefix, and `feedback:{prompt}:{customer}:{period}` has
/// a prompt id that cannot contain `:` and a period of digits on either side of the customer.
/// Migration 0003 rewrote earlier redemption keys into this form.
pub fn redeem_key(customer: &str, key: &str) -> String {
    format!("redeem:{}:{customer}:{key}", customer.chars().count())
}

/// The largest order amount the webhook takes, in minor units: 10^12 cents is ten billion
/// in the currency, far beyond any real order, and keeps every points sum within 64 bits.
pub const MAX_AMOUNT_CENTS: u64 = 1_000_000_000_000;

/// `n` characters from an alphabet without look-alikes (no 0/O, 1/I/L): 5 bits each.
fn random_code(n: usize) -> String {
    const ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
    let mut rng = rand::thread_rng();
    (0..n)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

async fn balance<'c, E: sqlx::AnyExecutor<'c>>(
    conn: E,
    site: &str,
    customer: &str,
) -> Result<i64, sqlx::Error> {
    let row = sqlx::query(
        "SELECT CAST(COALESCE(SUM(points), 0) AS BIGINT) FROM ledger WHERE site = $1 AND customer = $2",
    )
    .bind(site)
    .bind(customer)
    .fetch_one(conn)
    .await?;
    row.try_get(0)
}

/// One ledger entry; `false` when its idempotency key was already used.
#[allow(clippy::too_many_arguments)]
async fn credit<'c, E: sqlx::AnyExecutor<'c>>(
    conn: E,
    site: &str,
    customer: &str,
    points: i64,
    reason: &str,
    idem_key: &str,
    detail: &Value,
    now: u64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO ledger (id, site, customer, points, reason, idem_key, detail, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (site, idem_key) DO NOTHING",
    )
    .bind(
        uuid::Builder::from_random_bytes(rand::random())
            .into_uuid()
            .to_string(),
    )
    .bind(site)
    .bind(customer)
    .bind(points)
    .bind(reason)
    .bind(idem_key)
    .bind(detail.to_string())
    .bind(as_i64(now))
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

async fn ensure_account<'c, E: sqlx::AnyExecutor<'c>>(
    conn: E,
    site: &str,
    customer: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO accounts (site, customer, version) VALUES ($1, $2, 0) \
         ON CONFLICT (site, customer) DO NOTHING",
    )
    .bind(site)
    .bind(customer)
    .execute(conn)
    .await?;
    Ok(())
}

/// Records the browser (`x-rapport-visitor`, a UUID) a signed-in customer reads a panel
/// from, for the self-referral rule: an order from any browser the referrer used is theirs.
async fn note_visitor(
    db: &Db,
    site: &str,
    customer: &str,
    headers: &HeaderMap,
    now: u64,
) -> Result<(), sqlx::Error> {
    let Some(visitor) =
        header(headers, VISITOR_HEADER).filter(|v| uuid::Uuid::parse_str(v).is_ok())
    else {
        return Ok(());
    };
    sqlx::query(
        "INSERT INTO referrer_visitors (site, customer, visitor_id, created_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (site, customer, visitor_id) DO NOTHING",
    )
    .bind(site)
    .bind(customer)
    .bind(visitor.to_ascii_lowercase())
    .bind(as_i64(now))
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// Turns held referrals whose hold period is over into earned rewards for their referrers.
pub async fn release_due(db: &Db, site: &SiteConfig, now: u64) -> Result<(), sqlx::Error> {
    let points = site.loyalty.as_ref().map_or(0, |l| l.referral_points);
    let due = sqlx::query(
        "SELECT order_id, referrer FROM referrals \
         WHERE site = $1 AND status = 'pending' AND release_at <= $2",
    )
    .bind(&site.id)
    .bind(as_i64(now))
    .fetch_all(&db.pool)
    .await?;
    for row in due {
        let order_id: String = row.try_get(0)?;
        let referrer: String = row.try_get(1)?;
        let mut tx = db.pool.begin().await?;
        let moved = sqlx::query(
            "UPDATE referrals SET status = 'earned' \
             WHERE site = $1 AND order_id = $2 AND status = 'pending'",
        )
        .bind(&site.id)
        .bind(&order_id)
        .execute(&mut *tx)
        .await?;
        if moved.rows_affected() == 1 && points > 0 {
            ensure_account(&mut *tx, &site.id, &referrer).await?;
            let detail = json!({ "order_id": order_id });
            let key = format!("referral:{order_id}");
            credit(
                &mut *tx,
                &site.id,
                &referrer,
                points.into(),
                "referral",
                &key,
                &detail,
                now,
            )
            .await?;
        }
        tx.commit().await?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Feedback points

/// Awards `feedback_points` for stored `feedback_submitted` events that name a configured
/// prompt (`prompt_id`) the widget showed to that visitor in that session (its
/// `prompt_shown` event is stored) and carry a valid identity (`user_id` with its
/// `user_hash`): once per prompt, customer and period (`feedback_period_days`, counted from the Unix epoch, by the
/// time the event arrived: `events` pairs each newly stored event with it). The
/// event cannot choose the amount; an unsigned or forged identity earns nothing.
pub async fn award_feedback(
    db: &Db,
    site: &SiteConfig,
    events: &[(&rapport_core::Event, u64)],
) -> Result<(), sqlx::Error> {
    let (Some(secret), Some(program)) = (site.secret.as_deref(), site.loyalty.as_ref()) else {
        return Ok(());
    };
    if program.feedback_points == 0 {
        return Ok(());
    }
    let period_ms = u64::from(program.feedback_period_days) * DAY_MS;
    for (event, ts) in events {
        if event.name != "feedback_submitted" {
            continue;
        }
        let text = |key: &str| match event.props.get(key) {
            Some(rapport_core::PropValue::Str(s)) => Some(s.as_str()),
            _ => None,
        };
        let (Some(prompt), Some(user), Some(hash)) =
            (text("prompt_id"), text("user_id"), text("user_hash"))
        else {
            continue;
        };
        let expires = match event.props.get("user_expires") {
            Some(rapport_core::PropValue::Num(n)) => Some(n.as_str().to_owned()),
            Some(rapport_core::PropValue::Str(s)) => Some(s.clone()),
            _ => None,
        };
        // Checked at arrival: an identity valid when the answer reached the collector.
        let valid = identity_valid(site, secret, user, hash, expires.as_deref(), ts / 1000);
        if !site.prompts.iter().any(|p| p.id == prompt) || !valid {
            continue;
        }
        if !prompt_was_shown(db, &site.id, event, prompt).await? {
            tracing::info!(site = %site.id, prompt, "feedback for a prompt not shown earns nothing");
            continue;
        }
        let key = format!("feedback:{prompt}:{user}:{}", ts / period_ms);
        let detail = json!({ "prompt_id": prompt });
        let mut tx = db.pool.begin().await?;
        ensure_account(&mut *tx, &site.id, user).await?;
        credit(
            &mut *tx,
            &site.id,
            user,
            program.feedback_points.into(),
            "feedback",
            &key,
            &detail,
            *ts,
        )
        .await?;
        tx.commit().await?;
    }
    Ok(())
}

/// Whether a `prompt_shown` event of `prompt` is stored for the answer's visitor and
/// session: the widget showed that prompt to that browser, in that session. Wherever the
/// events are (ClickHouse too).
async fn prompt_was_shown(
    db: &Db,
    site: &str,
    answer: &rapport_core::Event,
    prompt: &str,
) -> Result<bool, sqlx::Error> {
    use crate::db::Param::Text;
    let sql = format!(
        "SELECT COUNT(*) FROM {} WHERE site = $1 AND name = 'prompt_shown' \
         AND visitor_id = $2 AND session_id = $3 AND prompt_id = $4",
        db.dialect().events()
    );
    let params = [
        Text(site.to_owned()),
        Text(answer.visitor_id.to_string()),
        Text(answer.session_id.to_string()),
        Text(prompt.to_owned()),
    ];
    let rows = db.read(&sql, &params).await?;
    Ok(rows.first().is_some_and(|r| r.count(0) > 0))
}

// ---------------------------------------------------------------------------------------
// The signed order webhook

/// A webhook from the site's server. Amounts are in minor units (cents).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", deny_unknown_fields)]
pub enum OrderEvent {
    /// An order was paid: its points go to the customer, and a referral code starts the
    /// referral's fraud checks.
    #[serde(rename = "order.paid")]
    Paid {
        /// 1-256 characters; a repeat of a recorded order is answered as a duplicate.
        #[schema(min_length = 1, max_length = 256)]
        order_id: String,
        /// The site's customer id (the one `identify()` signs): 1-256 characters.
        #[schema(min_length = 1, max_length = 256)]
        customer_id: String,
        /// The buyer's mailbox, compared normalised for the self-referral and new-customer
        /// rules.
        #[schema(example = "shopper@example.com")]
        email: String,
        /// The amount paid, in minor units: at most 10^12.
        #[schema(maximum = 1_000_000_000_000_u64)]
        #[serde(deserialize_with = "rapport_core::json::whole_u64_unbounded")]
        amount_cents: u64,
        /// The referral code the shopper arrived with, if any.
        #[serde(default)]
        referral_code: Option<String>,
        /// The shopper's Rapport visitor id, for the self-referral rule.
        #[serde(default)]
        visitor_id: Option<String>,
    },
    /// An order was refunded: what it earned is taken back. 404 for an order never paid.
    #[serde(rename = "order.refunded")]
    Refunded {
        #[schema(min_length = 1, max_length = 256)]
        order_id: String,
    },
}

fn check_id(field: &str, value: &str) -> Result<(), AppError> {
    if value.is_empty() || value.len() > 256 {
        return Err(AppError::bad_request(format!(
            "{field}: must be 1-256 characters"
        )));
    }
    Ok(())
}

/// `POST /v1/sites/{site}/orders`: an order paid or refunded, signed by the site's server.
#[utoipa::path(
    post,
    path = "/v1/sites/{site}/orders",
    params(
        crate::state::SitePath,
        ("x-rapport-signature" = String, Header, description = "t=<unix seconds>,sha256=<hex HMAC-SHA256 of \"rapport-webhook.<t>.<body>\" under the webhook key derived from the site secret (docs/loyalty-referral.md)>", pattern = r"^t=[0-9]{1,20},sha256=[0-9a-fA-F]{64}$"),
    ),
    request_body(content = OrderEvent, description = "An order paid or refunded (docs/loyalty-referral.md); the signature covers these exact bytes", content_type = "application/json"),
    responses(
        (status = 200, description = "Recorded (or a repeat of a recorded order)"),
        (status = 400, description = "Malformed body; the message names the field", body = crate::error::ErrorBody),
        (status = 401, description = "Missing or wrong signature", body = crate::error::ErrorBody),
        (status = 404, description = "Unknown site, no secret, or an unknown order to refund", body = crate::error::ErrorBody),
    )
)]
pub async fn order_webhook(
    State(state): State<AppState>,
    Path(site): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, AppError> {
    let config = known_site(&state, &site)?;
    let secret = secret(config)?;
    let signature = header(&headers, SIGNATURE_HEADER).unwrap_or("");
    if !webhook_valid(secret, signature, &body, now_ms() / 1000) {
        return Err(AppError::Unauthorized(format!(
            "{SIGNATURE_HEADER}: must be t=<unix seconds, within 5 minutes>,sha256=<hex \
             HMAC-SHA256 of \"rapport-webhook.<t>.<body>\" under the webhook key, \
             HMAC-SHA256(secret, \"rapport-webhook-v1\")>"
        )));
    }
    let event: OrderEvent =
        serde_json::from_slice(&body).map_err(|e| AppError::bad_request(format!("body: {e}")))?;
    let now = now_ms();
    let answer = match event {
        OrderEvent::Paid {
            order_id,
            customer_id,
            email,
            amount_cents,
            referral_code,
            visitor_id,
        } => {
            check_id("order_id", &order_id)?;
            check_id("customer_id", &customer_id)?;
            if amount_cents > MAX_AMOUNT_CENTS {
                return Err(AppError::bad_request(format!(
                    "amount_cents: must be at most {MAX_AMOUNT_CENTS}"
                )));
            }
            let paid = PaidOrder {
                order_id,
                customer: customer_id,
                email,
                amount_cents,
                referral_code,
                visitor_id,
            };
            paid.record(&state.db, config, now)
                .await
                .map_err(AppError::Unavailable)?
        }
        OrderEvent::Refunded { order_id } => {
            check_id("order_id", &order_id)?;
            refund(&state.db, config, &order_id, now)
                .await
                .map_err(AppError::Unavailable)?
                .ok_or_else(|| AppError::NotFound(format!("order_id: \"{order_id}\" is unknown")))?
        }
    };
    release_due(&state.db, config, now)
        .await
        .map_err(AppError::Unavailable)?;
    Ok(Json(answer))
}

struct PaidOrder {
    order_id: String,
    customer: String,
    email: String,
    amount_cents: u64,
    referral_code: Option<String>,
    visitor_id: Option<String>,
}

impl PaidOrder {
    async fn record(&self, db: &Db, site: &SiteConfig, now: u64) -> Result<Value, sqlx::Error> {
        let mut tx = db.pool.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO orders (site, order_id, customer, email, amount_cents, status, created_at) \
             VALUES ($1, $2, $3, $4, $5, 'paid', $6) ON CONFLICT (site, order_id) DO NOTHING",
        )
        .bind(&site.id)
        .bind(&self.order_id)
        .bind(&self.customer)
        .bind(normalize_email(&self.email))
        .bind(as_i64(self.amount_cents))
        .bind(as_i64(now))
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() == 0 {
            tx.rollback().await?;
            return Ok(json!({ "order_id": self.order_id, "duplicate": true }));
        }
        let per_unit = site
            .loyalty
            .as_ref()
            .map_or(0, |l| l.points_per_currency_unit);
        // Within 64 bits: the amount is bounded at the door and the rate in the config.
        let points = (self.amount_cents / 100)
            .checked_mul(per_unit.into())
            .and_then(|p| i64::try_from(p).ok())
            .ok_or_else(|| sqlx::Error::Protocol("order points out of range".into()))?;
        ensure_account(&mut *tx, &site.id, &self.customer).await?;
        if points > 0 {
            let detail = json!({ "order_id": self.order_id });
            let key = format!("order:{}", self.order_id);
            credit(
                &mut *tx,
                &site.id,
                &self.customer,
                points,
                "order",
                &key,
                &detail,
                now,
            )
            .await?;
        }
        let referral = match (&self.referral_code, &site.referral) {
            (Some(code), Some(program)) => self.refer(&mut tx, site, code, program, now).await?,
            _ => None,
        };
        tx.commit().await?;
        Ok(json!({ "order_id": self.order_id, "points": points, "referral": referral }))
    }

    /// Applies the fraud rules to a referred order and records the outcome: `pending` (held
    /// for the hold period) or `rejected` with the rule that refused it.
    async fn refer(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        site: &SiteConfig,
        code: &str,
        program: &crate::programs::Referral,
        now: u64,
    ) -> Result<Option<Value>, sqlx::Error> {
        let Some(row) = sqlx::query(
            "SELECT customer, visitor_id FROM referral_codes WHERE site = $1 AND code = $2",
        )
        .bind(&site.id)
        .bind(code)
        .fetch_optional(&mut **tx)
        .await?
        else {
            return Ok(Some(json!({ "status": "unknown_code" })));
        };
        let referrer: String = row.try_get(0)?;
        let referrer_visitor: String = row.try_get(1)?;
        let email = normalize_email(&self.email);
        // Serialise with other orders of the same referrer, buyer or mailbox, so the cap and
        // the new-customer rule count what is committed (row locks on PostgreSQL). The
        // mailbox's row only serves as a lock: it never holds points.
        let mailbox = mailbox_lock(&email);
        let mut all = [referrer.as_str(), self.customer.as_str(), mailbox.as_str()];
        all.sort_unstable();
        for customer in all {
            ensure_account(&mut **tx, &site.id, customer).await?;
            lock_account(tx, &site.id, customer).await?;
        }
        let same_email = sqlx::query(
            "SELECT COUNT(*) FROM orders WHERE site = $1 AND customer = $2 AND email = $3",
        )
        .bind(&site.id)
        .bind(&referrer)
        .bind(&email)
        .fetch_one(&mut **tx)
        .await?
        .try_get::<i64, _>(0)?
            > 0;
        // The browser of the order against every browser the referrer was seen in.
        let same_visitor = match self.visitor_id.as_deref().filter(|v| !v.is_empty()) {
            None => false,
            Some(v) if v == referrer_visitor => true,
            Some(v) => {
                sqlx::query(
                    "SELECT COUNT(*) FROM referrer_visitors \
                     WHERE site = $1 AND customer = $2 AND visitor_id = $3",
                )
                .bind(&site.id)
                .bind(&referrer)
                .bind(v.to_ascii_lowercase())
                .fetch_one(&mut **tx)
                .await?
                .try_get::<i64, _>(0)?
                    > 0
            }
        };
        // An earlier order by this customer id, or by anyone with this mailbox: a returning
        // customer under a new id is still a returning customer.
        let earlier_orders: i64 = sqlx::query(
            "SELECT COUNT(*) FROM orders \
             WHERE site = $1 AND (customer = $2 OR email = $3) AND order_id <> $4",
        )
        .bind(&site.id)
        .bind(&self.customer)
        .bind(&email)
        .bind(&self.order_id)
        .fetch_one(&mut **tx)
        .await?
        .try_get(0)?;
        let rewarded: i64 = sqlx::query(
            "SELECT COUNT(*) FROM referrals \
             WHERE site = $1 AND referrer = $2 AND status IN ('pending', 'earned')",
        )
        .bind(&site.id)
        .bind(&referrer)
        .fetch_one(&mut **tx)
        .await?
        .try_get(0)?;
        let reason = if referrer == self.customer || same_email || same_visitor {
            "self_referral"
        } else if earlier_orders > 0 {
            "existing_customer"
        } else if program
            .min_order_cents
            .is_some_and(|min| self.amount_cents < min)
        {
            "below_minimum"
        } else if rewarded >= i64::from(program.max_rewards_per_referrer) {
            "cap_reached"
        } else {
            ""
        };
        let status = if reason.is_empty() {
            "pending"
        } else {
            "rejected"
        };
        let release_at = now.saturating_add(program.hold_ms());
        sqlx::query(
            "INSERT INTO referrals (site, order_id, code, referrer, referee, status, reason, \
             release_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&site.id)
        .bind(&self.order_id)
        .bind(code)
        .bind(&referrer)
        .bind(&self.customer)
        .bind(status)
        .bind(reason)
        .bind(as_i64(release_at))
        .bind(as_i64(now))
        .execute(&mut **tx)
        .await?;
        if !reason.is_empty() {
            tracing::warn!(site = %site.id, order = %self.order_id, reason, "referral rejected");
        }
        Ok(Some(json!({ "status": status, "reason": reason })))
    }
}

/// Marks an order refunded and takes back what it earned: the order's points, all of them,
/// even below a zero balance (a shopper who redeemed them owes them, and later points pay
/// the debt back), and its referral reward: cancelled if still held, taken back from the
/// referrer if already earned. `None` for an unknown order.
async fn refund(
    db: &Db,
    site: &SiteConfig,
    order_id: &str,
    now: u64,
) -> Result<Option<Value>, sqlx::Error> {
    let mut tx = db.pool.begin().await?;
    let Some(row) = sqlx::query("SELECT customer FROM orders WHERE site = $1 AND order_id = $2")
        .bind(&site.id)
        .bind(order_id)
        .fetch_optional(&mut *tx)
        .await?
    else {
        return Ok(None);
    };
    let customer: String = row.try_get(0)?;
    let referrer: Option<String> =
        sqlx::query("SELECT referrer FROM referrals WHERE site = $1 AND order_id = $2")
            .bind(&site.id)
            .bind(order_id)
            .fetch_optional(&mut *tx)
            .await?
            .map(|r| r.try_get(0))
            .transpose()?;
    // Serialise with redemptions and with the referrer's other orders, in the order that
    // `refer` locks in.
    let mut accounts = vec![customer.as_str()];
    accounts.extend(referrer.as_deref());
    accounts.sort_unstable();
    accounts.dedup();
    for account in accounts {
        ensure_account(&mut *tx, &site.id, account).await?;
        lock_account(&mut tx, &site.id, account).await?;
    }
    let first = sqlx::query(
        "UPDATE orders SET status = 'refunded' WHERE site = $1 AND order_id = $2 AND status = 'paid'",
    )
    .bind(&site.id)
    .bind(order_id)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    if !first {
        tx.rollback().await?;
        return Ok(Some(
            json!({ "order_id": order_id, "refunded": true, "duplicate": true }),
        ));
    }
    let cancelled = sqlx::query(
        "UPDATE referrals SET status = 'cancelled' \
         WHERE site = $1 AND order_id = $2 AND status IN ('pending', 'earned')",
    )
    .bind(&site.id)
    .bind(order_id)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    let order_points = ledger_sum(&mut tx, &site.id, &format!("order:{order_id}")).await?;
    let detail = json!({ "order_id": order_id });
    if order_points > 0 {
        let key = format!("order_refund:{order_id}");
        credit(
            &mut *tx,
            &site.id,
            &customer,
            -order_points,
            "order_refund",
            &key,
            &detail,
            now,
        )
        .await?;
    }
    // What the hold released for this order, if it did: taken back from the referrer.
    let mut referral_points = 0;
    if let (true, Some(referrer)) = (cancelled, referrer.as_deref()) {
        referral_points = ledger_sum(&mut tx, &site.id, &format!("referral:{order_id}")).await?;
        if referral_points > 0 {
            let key = format!("referral_refund:{order_id}");
            credit(
                &mut *tx,
                &site.id,
                referrer,
                -referral_points,
                "referral_refund",
                &key,
                &detail,
                now,
            )
            .await?;
        }
    }
    tx.commit().await?;
    Ok(Some(json!({
        "order_id": order_id,
        "refunded": true,
        "points_removed": order_points.max(0),
        "referral_cancelled": cancelled,
        "referral_points_removed": referral_points.max(0),
    })))
}

/// The points of the ledger entry with `idem_key` (0 without one).
async fn ledger_sum(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    site: &str,
    idem_key: &str,
) -> Result<i64, sqlx::Error> {
    sqlx::query(
        "SELECT CAST(COALESCE(SUM(points), 0) AS BIGINT) FROM ledger \
         WHERE site = $1 AND idem_key = $2",
    )
    .bind(site)
    .bind(idem_key)
    .fetch_one(&mut **tx)
    .await?
    .try_get(0)
}

/// The account row that serialises the referred orders of one normalised mailbox. Customer
/// ids are 1-256 bytes (in the webhook and in identities alike), so this longer name is
/// never a customer's.
fn mailbox_lock(email: &str) -> String {
    format!("{}mailbox:{email}", "~".repeat(257))
}

async fn lock_account(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    site: &str,
    customer: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE accounts SET version = version + 1 WHERE site = $1 AND customer = $2")
        .bind(site)
        .bind(customer)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Shopper endpoints

/// Fills the ledger's part of the site's program totals for `[from, to)` (ms): referred orders
/// by reward status, points issued, redeemed and clawed back.
pub async fn totals(
    db: &Db,
    site: &str,
    from: i64,
    to: i64,
    out: &mut crate::report::stats::ProgramTotals,
) -> Result<(), sqlx::Error> {
    let by_status = sqlx::query(
        "SELECT status, CAST(COUNT(*) AS BIGINT) FROM referrals \
         WHERE site = $1 AND created_at >= $2 AND created_at < $3 GROUP BY status",
    )
    .bind(site)
    .bind(from)
    .bind(to)
    .fetch_all(&db.pool)
    .await?;
    let funnel = &mut out.referral;
    for row in by_status {
        let status: String = row.try_get(0)?;
        let n = u64::try_from(row.try_get::<i64, _>(1)?).unwrap_or(0);
        funnel.orders += n;
        match status.as_str() {
            "pending" => funnel.pending += n,
            "earned" => funnel.earned += n,
            "cancelled" => funnel.cancelled += n,
            _ => funnel.rejected += n,
        }
    }
    let row = sqlx::query(
        "SELECT CAST(COALESCE(SUM(CASE WHEN points > 0 THEN points ELSE 0 END), 0) AS BIGINT), \
         CAST(COALESCE(SUM(CASE WHEN reason = 'redeem' THEN -points ELSE 0 END), 0) AS BIGINT), \
         CAST(COALESCE(SUM(CASE WHEN reason = 'redeem' THEN 1 ELSE 0 END), 0) AS BIGINT), \
         CAST(COALESCE(SUM(CASE WHEN points < 0 AND reason <> 'redeem' THEN -points ELSE 0 END), 0) AS BIGINT), \
         CAST(COUNT(DISTINCT customer) AS BIGINT) \
         FROM ledger WHERE site = $1 AND created_at >= $2 AND created_at < $3",
    )
    .bind(site)
    .bind(from)
    .bind(to)
    .fetch_one(&db.pool)
    .await?;
    let get = |i: usize| -> Result<u64, sqlx::Error> {
        Ok(u64::try_from(row.try_get::<i64, _>(i)?).unwrap_or(0))
    };
    out.points = crate::report::stats::Points {
        issued: get(0)?,
        redeemed: get(1)?,
        redemptions: get(2)?,
        clawed_back: get(3)?,
        customers: get(4)?,
    };
    let rows = sqlx::query(
        "SELECT CAST(created_at / 86400000 AS BIGINT) AS day, \
         CAST(COALESCE(SUM(CASE WHEN points > 0 THEN points ELSE 0 END), 0) AS BIGINT), \
         CAST(COALESCE(SUM(CASE WHEN reason = 'redeem' THEN -points ELSE 0 END), 0) AS BIGINT), \
         CAST(COALESCE(SUM(CASE WHEN points < 0 AND reason <> 'redeem' THEN -points ELSE 0 END), 0) AS BIGINT) \
         FROM ledger WHERE site = $1 AND created_at >= $2 AND created_at < $3 \
         GROUP BY CAST(created_at / 86400000 AS BIGINT)",
    )
    .bind(site)
    .bind(from)
    .bind(to)
    .fetch_all(&db.pool)
    .await?;
    let mut by_day = std::collections::BTreeMap::new();
    for row in rows {
        let n = |i: usize| -> Result<u64, sqlx::Error> {
            Ok(u64::try_from(row.try_get::<i64, _>(i)?).unwrap_or(0))
        };
        by_day.insert(row.try_get::<i64, _>(0)?, (n(1)?, n(2)?, n(3)?));
    }
    out.points_days = (crate::report::stats::day_of(from)..crate::report::stats::day_of(to))
        .map(|day| {
            let (issued, redeemed, clawed_back) = by_day.remove(&day).unwrap_or_default();
            crate::report::stats::PointsDay {
                date: crate::report::stats::date_of(day),
                issued,
                redeemed,
                clawed_back,
            }
        })
        .collect();
    Ok(())
}

/// `GET /v1/sites/{site}/loyalty`: balance, tier and progress, rewards and recent activity.
#[utoipa::path(
    get,
    path = "/v1/sites/{site}/loyalty",
    params(
        crate::state::SitePath,
        ("x-rapport-user" = String, Header, description = "the customer id: 1-256 characters", min_length = 1, max_length = 256),
        ("x-rapport-user-hash" = String, Header, description = "hex HMAC-SHA256 of the customer id under the identity key derived from the site secret (docs/loyalty-referral.md)", pattern = r"^[0-9a-fA-F]{64}$", min_length = 64, max_length = 64),
    ),
    responses(
        (status = 200, description = "Balance, tier, rewards and activity (docs/loyalty-referral.md)"),
        (status = 401, description = "No valid identity: nothing is revealed", body = crate::error::ErrorBody),
        (status = 400, description = "Site id breaks the rules", body = crate::error::ErrorBody),
        (status = 404, description = "Unknown site or no loyalty program", body = crate::error::ErrorBody),        (status = 429, description = "Rate limited per client and site; see Retry-After", body = crate::error::ErrorBody),
    )
)]
pub async fn loyalty_status(
    State(state): State<AppState>,
    Path(site): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, AppError> {
    let (config, customer, program) =
        signed_in(&state, &site, &headers, |c| c.loyalty.as_ref(), "loyalty")?;
    let db = &state.db;
    release_due(db, config, now_ms())
        .await
        .map_err(AppError::Unavailable)?;
    note_visitor(db, &site, &customer, &headers, now_ms())
        .await
        .map_err(AppError::Unavailable)?;
    let balance = balance(&db.pool, &site, &customer)
        .await
        .map_err(AppError::Unavailable)?;
    // Tiers follow the points ever earned, so redeeming does not demote anyone.
    let lifetime: i64 = sqlx::query(
        "SELECT CAST(COALESCE(SUM(points), 0) AS BIGINT) FROM ledger \
         WHERE site = $1 AND customer = $2 AND points > 0",
    )
    .bind(&site)
    .bind(&customer)
    .fetch_one(&db.pool)
    .await
    .and_then(|r| r.try_get(0))
    .map_err(AppError::Unavailable)?;
    let lifetime = u64::try_from(lifetime).unwrap_or(0);
    let tier = program.tiers.iter().rev().find(|t| t.threshold <= lifetime);
    let next = program.tiers.iter().find(|t| t.threshold > lifetime);
    let activity = sqlx::query(
        "SELECT points, reason, detail, created_at FROM ledger \
         WHERE site = $1 AND customer = $2 ORDER BY created_at DESC, id LIMIT 20",
    )
    .bind(&site)
    .bind(&customer)
    .fetch_all(&db.pool)
    .await
    .map_err(AppError::Unavailable)?
    .into_iter()
    .map(|r| {
        let detail: String = r.try_get(2).unwrap_or_default();
        json!({
            "points": r.try_get::<i64, _>(0).unwrap_or(0),
            "reason": r.try_get::<String, _>(1).unwrap_or_default(),
            "detail": serde_json::from_str::<Value>(&detail).unwrap_or(Value::Null),
            "at": r.try_get::<i64, _>(3).unwrap_or(0),
        })
    })
    .collect::<Vec<_>>();
    Ok(Json(json!({
        "customer": customer,
        "balance": balance,
        "lifetime_points": lifetime,
        "tier": tier,
        "next_tier": next.map(|t| json!({
            "tier": t,
            "points_needed": t.threshold - lifetime,
        })),
        "ways_to_earn": {
            "points_per_currency_unit": program.points_per_currency_unit,
            "feedback_points": program.feedback_points,
            "referral_points": program.referral_points,
        },
        "rewards": program.rewards.iter().map(|r| json!({
            "reward": r,
            "affordable": balance >= as_i64(r.cost),
        })).collect::<Vec<_>>(),
        "activity": activity,
    })))
}

#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RedeemRequest {
    pub reward: String,
}

/// `POST /v1/sites/{site}/loyalty/redeem`: spends points on a reward and returns its coupon.
/// The `Idempotency-Key` header makes a retried request return the first answer.
#[utoipa::path(
    post,
    path = "/v1/sites/{site}/loyalty/redeem",
    params(
        crate::state::SitePath,
        ("x-rapport-user" = String, Header, description = "the customer id: 1-256 characters", min_length = 1, max_length = 256),
        ("x-rapport-user-hash" = String, Header, description = "hex HMAC-SHA256 of the customer id under the identity key derived from the site secret (docs/loyalty-referral.md)", pattern = r"^[0-9a-fA-F]{64}$", min_length = 64, max_length = 64),
        ("idempotency-key" = String, Header, description = "1-128 characters; a repeat returns the first answer", min_length = 1, max_length = 128),
    ),
    request_body = RedeemRequest,
    responses(
        (status = 200, description = "{reward, coupon, cost, balance}"),
        (status = 400, description = "Missing idempotency key or bad body", body = crate::error::ErrorBody),
        (status = 401, description = "No valid identity", body = crate::error::ErrorBody),
        (status = 404, description = "Unknown reward", body = crate::error::ErrorBody),
        (status = 409, description = "Too few points", body = crate::error::ErrorBody),        (status = 429, description = "Rate limited per client and site; see Retry-After", body = crate::error::ErrorBody),
    )
)]
pub async fn redeem(
    State(state): State<AppState>,
    Path(site): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, AppError> {
    let (_, customer, program) =
        signed_in(&state, &site, &headers, |c| c.loyalty.as_ref(), "loyalty")?;
    let key = header(&headers, IDEMPOTENCY_HEADER)
        .filter(|k| !k.is_empty() && k.len() <= 128)
        .ok_or_else(|| {
            AppError::bad_request(format!(
                "{IDEMPOTENCY_HEADER}: a header of 1-128 characters is required"
            ))
        })?;
    let request: RedeemRequest =
        serde_json::from_slice(&body).map_err(|e| AppError::bad_request(format!("body: {e}")))?;
    let reward = program
        .rewards
        .iter()
        .find(|r| r.id == request.reward)
        .ok_or_else(|| AppError::NotFound(format!("reward: \"{}\" is unknown", request.reward)))?;
    let idem_key = redeem_key(&customer, key);
    let db = &state.db;
    let unavailable = AppError::Unavailable;
    ensure_account(&db.pool, &site, &customer)
        .await
        .map_err(unavailable)?;
    let mut tx = db.pool.begin().await.map_err(unavailable)?;
    lock_account(&mut tx, &site, &customer)
        .await
        .map_err(unavailable)?;
    let earlier = sqlx::query(
        "SELECT detail FROM ledger WHERE site = $1 AND idem_key = $2 AND customer = $3 \
         AND reason = 'redeem'",
    )
    .bind(&site)
    .bind(&idem_key)
    .bind(&customer)
    .fetch_optional(&mut *tx)
    .await
    .map_err(unavailable)?;
    if let Some(row) = earlier {
        let detail: String = row.try_get(0).map_err(unavailable)?;
        let balance = balance(&mut *tx, &site, &customer)
            .await
            .map_err(unavailable)?;
        tx.commit().await.map_err(unavailable)?;
        let mut answer = serde_json::from_str::<Value>(&detail).unwrap_or(Value::Null);
        answer["balance"] = balance.into();
        return Ok(Json(answer));
    }
    let available = balance(&mut *tx, &site, &customer)
        .await
        .map_err(unavailable)?;
    let cost = as_i64(reward.cost);
    if available < cost {
        tx.rollback().await.map_err(unavailable)?;
        return Err(AppError::Conflict(format!(
            "reward: \"{}\" costs {cost} points and the balance is {available}",
            reward.id
        )));
    }
    let coupon = format!("RAP-{}-{}", random_code(4), random_code(4));
    let detail = json!({ "reward": reward.id, "coupon": coupon, "cost": cost });
    let debited = credit(
        &mut *tx,
        &site,
        &customer,
        -cost,
        "redeem",
        &idem_key,
        &detail,
        now_ms(),
    )
    .await
    .map_err(unavailable)?;
    // A coupon only for a debit this request wrote. The lookup above found no entry with this
    // key under the account lock, so a conflict here is another customer's entry: refuse.
    if !debited {
        tx.rollback().await.map_err(unavailable)?;
        return Err(AppError::Conflict(format!(
            "{IDEMPOTENCY_HEADER}: already used for another redemption; send a new key"
        )));
    }
    issue_coupon(
        &mut tx,
        &site,
        &customer,
        &reward.id,
        cost,
        &coupon,
        now_ms(),
    )
    .await
    .map_err(unavailable)?;
    tx.commit().await.map_err(unavailable)?;
    let mut answer = detail;
    answer["balance"] = (available - cost).into();
    Ok(Json(answer))
}

/// `GET /v1/sites/{site}/referral`: the shopper's referral code (issued on first request)
/// and stats. `x-rapport-visitor` records the referrer's visitor id for the fraud rules.
#[utoipa::path(
    get,
    path = "/v1/sites/{site}/referral",
    params(
        crate::state::SitePath,
        ("x-rapport-user" = String, Header, description = "the customer id: 1-256 characters", min_length = 1, max_length = 256),
        ("x-rapport-user-hash" = String, Header, description = "hex HMAC-SHA256 of the customer id under the identity key derived from the site secret (docs/loyalty-referral.md)", pattern = r"^[0-9a-fA-F]{64}$", min_length = 64, max_length = 64),
        ("x-rapport-visitor" = Option<String>, Header, description = "the widget's visitor id (a UUID), for the self-referral rule; any other value is ignored"),
    ),
    responses(
        (status = 200, description = "{code, offer, stats} (docs/loyalty-referral.md)"),
        (status = 401, description = "No valid identity", body = crate::error::ErrorBody),
        (status = 400, description = "Site id breaks the rules", body = crate::error::ErrorBody),
        (status = 404, description = "Unknown site or no referral program", body = crate::error::ErrorBody),        (status = 429, description = "Rate limited per client and site; see Retry-After", body = crate::error::ErrorBody),
    )
)]
pub async fn referral_status(
    State(state): State<AppState>,
    Path(site): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, AppError> {
    let (config, customer, program) =
        signed_in(&state, &site, &headers, |c| c.referral.as_ref(), "referral")?;
    let db = &state.db;
    let unavailable = AppError::Unavailable;
    let now = now_ms();
    release_due(db, config, now).await.map_err(unavailable)?;
    note_visitor(db, &site, &customer, &headers, now)
        .await
        .map_err(unavailable)?;
    let visitor = header(&headers, VISITOR_HEADER)
        .filter(|v| uuid::Uuid::parse_str(v).is_ok())
        .unwrap_or("");
    // 13 characters of a 31-letter alphabet: more than 64 bits of randomness.
    sqlx::query(
        "INSERT INTO referral_codes (code, site, customer, visitor_id, created_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (site, customer) DO NOTHING",
    )
    .bind(random_code(13))
    .bind(&site)
    .bind(&customer)
    .bind(visitor)
    .bind(as_i64(now))
    .execute(&db.pool)
    .await
    .map_err(unavailable)?;
    let code: String =
        sqlx::query("SELECT code FROM referral_codes WHERE site = $1 AND customer = $2")
            .bind(&site)
            .bind(&customer)
            .fetch_one(&db.pool)
            .await
            .and_then(|r| r.try_get(0))
            .map_err(unavailable)?;
    let count = |sql: &'static str| {
        let (site, code) = (site.clone(), code.clone());
        async move {
            sqlx::query(sql)
                .bind(site)
                .bind(code)
                .fetch_one(&db.pool)
                .await
                .and_then(|r| r.try_get::<i64, _>(0))
        }
    };
    // Friends who arrived with the code, as the widget reported it on their events: the
    // code is a column filled at ingest, found through its index.
    let invited: i64 = sqlx::query(
        "SELECT COUNT(DISTINCT visitor_id) FROM events WHERE site = $1 AND referral_code = $2",
    )
    .bind(&site)
    .bind(&code)
    .fetch_one(&db.pool)
    .await
    .and_then(|r| r.try_get(0))
    .map_err(unavailable)?;
    let joined = count(
        "SELECT COUNT(*) FROM referrals WHERE site = $1 AND code = $2 AND status <> 'rejected'",
    )
    .await
    .map_err(unavailable)?;
    let pending = count(
        "SELECT COUNT(*) FROM referrals WHERE site = $1 AND code = $2 AND status = 'pending'",
    )
    .await
    .map_err(unavailable)?;
    let earned =
        count("SELECT COUNT(*) FROM referrals WHERE site = $1 AND code = $2 AND status = 'earned'")
            .await
            .map_err(unavailable)?;
    Ok(Json(json!({
        "code": code,
        "offer": program.offer,
        "stats": {
            "invited": invited,
            "joined": joined,
            "rewards_pending": pending,
            "rewards_earned": earned,
        },
    })))
}

// ---------------------------------------------------------------------------------------
// Coupons

/// Records a coupon a redemption issued, for its consumption by the site's server.
async fn issue_coupon(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    site: &str,
    customer: &str,
    reward: &str,
    cost: i64,
    code: &str,
    now: u64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO coupons (site, code, customer, reward, cost, status, created_at) \
         VALUES ($1, $2, $3, $4, $5, 'issued', $6)",
    )
    .bind(site)
    .bind(code)
    .bind(customer)
    .bind(reward)
    .bind(cost)
    .bind(as_i64(now))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Whether `code` is spelled as redemptions spell coupons: `RAP-XXXX-XXXX` in the code
/// alphabet.
fn coupon_shaped(code: &str) -> bool {
    let b = code.as_bytes();
    let letter = |c: &u8| b"23456789ABCDEFGHJKMNPQRSTUVWXYZ".contains(c);
    b.len() == 13
        && code.starts_with("RAP-")
        && b[8] == b'-'
        && b[4..8].iter().all(letter)
        && b[9..].iter().all(letter)
}

/// What the site's server signs to consume a coupon: a purpose prefix, the time, the code
/// and the body. The code is in it, so a signed request for one coupon consumes no other.
pub fn coupon_message(t: u64, code: &str, body: &[u8]) -> Vec<u8> {
    let mut message = format!("rapport-coupon.{t}.{code}.").into_bytes();
    message.extend_from_slice(body);
    message
}

/// The `x-rapport-signature` header consuming `code` with `body` at `t` (unix seconds),
/// under the webhook key.
pub fn coupon_signature(secret: &str, t: u64, code: &str, body: &[u8]) -> String {
    signature_header(secret, t, &coupon_message(t, code, body))
}

#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsumeRequest {
    /// The order the coupon pays for (1-256 characters). Consuming the same coupon again
    /// for the same order answers as the first time.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 256)]
    pub order_id: Option<String>,
}

/// `POST /v1/sites/{site}/coupons/{code}/consume`: the site's server uses a coupon, once.
#[utoipa::path(
    post,
    path = "/v1/sites/{site}/coupons/{code}/consume",
    params(
        crate::state::SitePath,
        ("code" = String, Path, description = "the coupon, as a redemption issued it (RAP-XXXX-XXXX); any other code is no coupon of the site (404)", pattern = r"^RAP-[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}$"),
        ("x-rapport-signature" = String, Header, description = "t=<unix seconds>,sha256=<hex HMAC-SHA256 of \"rapport-coupon.<t>.<code>.<body>\" under the webhook key>", pattern = r"^t=[0-9]{1,20},sha256=[0-9a-fA-F]{64}$"),
    ),
    request_body = ConsumeRequest,
    responses(
        (status = 200, description = "{code, reward, customer, cost, order_id, consumed_at}, with \"duplicate\": true for a repeat for the same order"),
        (status = 400, description = "Malformed body; the message names the field", body = crate::error::ErrorBody),
        (status = 401, description = "Missing or wrong signature, or one older than 5 minutes", body = crate::error::ErrorBody),
        (status = 404, description = "Unknown site, no secret, or a coupon this site never issued", body = crate::error::ErrorBody),
        (status = 409, description = "The coupon was already used (for another order)", body = crate::error::ErrorBody),
    )
)]
pub async fn consume_coupon(
    State(state): State<AppState>,
    Path((site, code)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, AppError> {
    let config = known_site(&state, &site)?;
    let secret = secret(config)?;
    let signature = header(&headers, SIGNATURE_HEADER).unwrap_or("");
    let now = now_ms();
    if !signed_at_valid(secret, signature, now / 1000, |t| {
        coupon_message(t, &code, &body)
    }) {
        return Err(AppError::Unauthorized(format!(
            "{SIGNATURE_HEADER}: must be t=<unix seconds, within 5 minutes>,sha256=<hex \
             HMAC-SHA256 of \"rapport-coupon.<t>.<code>.<body>\" under the webhook key, \
             HMAC-SHA256(secret, \"rapport-webhook-v1\")>"
        )));
    }
    let request: ConsumeRequest = if body.is_empty() {
        ConsumeRequest { order_id: None }
    } else {
        serde_json::from_slice(&body).map_err(|e| AppError::bad_request(format!("body: {e}")))?
    };
    if let Some(order_id) = &request.order_id {
        check_id("order_id", order_id)?;
    }
    let unknown = || AppError::NotFound(format!("code: \"{code}\" is no coupon of this site"));
    if !coupon_shaped(&code) {
        return Err(unknown());
    }
    let unavailable = AppError::Unavailable;
    let db = &state.db;
    adopt_legacy_coupon(db, &site, &code)
        .await
        .map_err(unavailable)?;
    let used = sqlx::query(
        "UPDATE coupons SET status = 'consumed', order_id = $3, consumed_at = $4 \
         WHERE site = $1 AND code = $2 AND status = 'issued'",
    )
    .bind(&site)
    .bind(&code)
    .bind(request.order_id.clone())
    .bind(as_i64(now))
    .execute(&db.pool)
    .await
    .map_err(unavailable)?
    .rows_affected()
        == 1;
    let row = sqlx::query(
        "SELECT customer, reward, cost, order_id, consumed_at FROM coupons \
         WHERE site = $1 AND code = $2",
    )
    .bind(&site)
    .bind(&code)
    .fetch_optional(&db.pool)
    .await
    .map_err(unavailable)?
    .ok_or_else(unknown)?;
    let order_id: Option<String> = row.try_get(3).map_err(unavailable)?;
    let answer = json!({
        "code": code,
        "customer": row.try_get::<String, _>(0).map_err(unavailable)?,
        "reward": row.try_get::<String, _>(1).map_err(unavailable)?,
        "cost": row.try_get::<i64, _>(2).map_err(unavailable)?,
        "order_id": order_id,
        "consumed_at": row.try_get::<Option<i64>, _>(4).map_err(unavailable)?,
    });
    if used {
        return Ok(Json(answer));
    }
    // Used before: a repeat for the same order is answered as the first time.
    if request.order_id.is_some() && order_id == request.order_id {
        let mut answer = answer;
        answer["duplicate"] = true.into();
        return Ok(Json(answer));
    }
    Err(AppError::Conflict(format!(
        "code: \"{code}\" was already used{}",
        order_id.map_or(String::new(), |o| format!(" for order \"{o}\""))
    )))
}

/// A coupon issued before the coupons table existed is in its redemption's ledger entry
/// only: copied into the table the first time it is consumed. `code` is coupon-shaped, so
/// it holds no `%` or `_` for the pattern.
async fn adopt_legacy_coupon(db: &Db, site: &str, code: &str) -> Result<(), sqlx::Error> {
    let known = sqlx::query("SELECT COUNT(*) FROM coupons WHERE site = $1 AND code = $2")
        .bind(site)
        .bind(code)
        .fetch_one(&db.pool)
        .await?
        .try_get::<i64, _>(0)?
        > 0;
    if known {
        return Ok(());
    }
    let Some(row) = sqlx::query(
        "SELECT customer, detail, created_at FROM ledger \
         WHERE site = $1 AND reason = 'redeem' AND detail LIKE $2",
    )
    .bind(site)
    .bind(format!("%\"coupon\":\"{code}\"%"))
    .fetch_optional(&db.pool)
    .await?
    else {
        return Ok(());
    };
    let customer: String = row.try_get(0)?;
    let detail: String = row.try_get(1)?;
    let created_at: i64 = row.try_get(2)?;
    let detail: Value = serde_json::from_str(&detail).unwrap_or(Value::Null);
    if detail["coupon"] != code {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO coupons (site, code, customer, reward, cost, status, created_at) \
         VALUES ($1, $2, $3, $4, $5, 'issued', $6) ON CONFLICT (site, code) DO NOTHING",
    )
    .bind(site)
    .bind(code)
    .bind(customer)
    .bind(detail["reward"].as_str().unwrap_or_default().to_owned())
    .bind(detail["cost"].as_i64().unwrap_or(0))
    .bind(created_at)
    .execute(&db.pool)
    .await?;
    Ok(())
}
