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
//!   (`rapport-webhook.<t>.<body>`), so it cannot be replayed later, and no shopper hash
//!   (an HMAC of a bare customer id) can pass for one.
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

/// The `x-rapport-signature` header for `body` signed at `t` (unix seconds).
pub fn webhook_signature(secret: &str, t: u64, body: &[u8]) -> String {
    format!("t={t},sha256={}", sign(secret, &webhook_message(t, body)))
}

/// Checks a `t=<seconds>,sha256=<hex>` header against `body`, at `now` (unix seconds).
fn webhook_valid(secret: &str, header: &str, body: &[u8], now: u64) -> bool {
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
    now.abs_diff(t) <= WEBHOOK_TOLERANCE_SECS && verify(secret, &webhook_message(t, body), mac)
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

/// Whether `hash` proves `user` at `now` (unix seconds). Plain: HMAC(secret, user). With
/// `identity_max_age_seconds`: HMAC(secret, [`identity_message`]), `expires` in the future
/// and at most the maximum age ahead (plus the webhook tolerance, for the site server's clock).
/// A site uses one form only.
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
        (None, None) => verify(secret, user.as_bytes(), hash),
        (Some(max_age), Some(expires)) => {
            let Ok(at) = expires.parse::<u64>() else {
                return false;
            };
            let fresh = at > now && at - now <= max_age.saturating_add(WEBHOOK_TOLERANCE_SECS);
            fresh && verify(secret, &identity_message(at, user), hash)
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
/// prompt (`prompt_id`) and carry a valid identity (`user_id` with its `user_hash`): once per
/// prompt, customer and period (`feedback_period_days`, counted from the Unix epoch, by the
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

// ---------------------------------------------------------------------------------------
// The signed order webhook

/// A webhook from the site's server. Amounts are in minor units (cents).
#[derive(Debug, Deserialize)]
#[serde(tag = "type", deny_unknown_fields)]
pub enum OrderEvent {
    #[serde(rename = "order.paid")]
    Paid {
        order_id: String,
        customer_id: String,
        email: String,
        amount_cents: u64,
        /// The referral code the shopper arrived with, if any.
        #[serde(default)]
        referral_code: Option<String>,
        /// The shopper's Rapport visitor id, for the self-referral rule.
        #[serde(default)]
        visitor_id: Option<String>,
    },
    #[serde(rename = "order.refunded")]
    Refunded { order_id: String },
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
        ("x-rapport-signature" = String, Header, description = "t=<unix seconds>,sha256=<hex HMAC-SHA256 of \"rapport-webhook.<t>.<body>\" under the site secret>"),
    ),
    request_body(content = String, description = "{\"type\": \"order.paid\" | \"order.refunded\", ...} (docs/loyalty-referral.md)", content_type = "application/json"),
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
             HMAC-SHA256 of \"rapport-webhook.<t>.<body>\" under the site secret>"
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
        // Serialise with other orders of the same referrer or buyer, so the cap and the
        // new-customer rule count what is committed (row locks on PostgreSQL).
        let mut both = [referrer.as_str(), self.customer.as_str()];
        both.sort_unstable();
        for customer in both {
            ensure_account(&mut **tx, &site.id, customer).await?;
            lock_account(tx, &site.id, customer).await?;
        }
        let email = normalize_email(&self.email);
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
        let same_visitor = self
            .visitor_id
            .as_deref()
            .is_some_and(|v| !v.is_empty() && v == referrer_visitor);
        let earlier_orders: i64 = sqlx::query(
            "SELECT COUNT(*) FROM orders WHERE site = $1 AND customer = $2 AND order_id <> $3",
        )
        .bind(&site.id)
        .bind(&self.customer)
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

/// Marks an order refunded, cancels its referral reward if still held, and takes back the
/// order's points (never more than the customer still has). `None` for an unknown order.
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
         WHERE site = $1 AND order_id = $2 AND status = 'pending'",
    )
    .bind(&site.id)
    .bind(order_id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    // Serialise with redemptions, then take back what the order earned.
    ensure_account(&mut *tx, &site.id, &customer).await?;
    lock_account(&mut tx, &site.id, &customer).await?;
    let earned: i64 = sqlx::query(
        "SELECT CAST(COALESCE(SUM(points), 0) AS BIGINT) FROM ledger \
         WHERE site = $1 AND idem_key = $2",
    )
    .bind(&site.id)
    .bind(format!("order:{order_id}"))
    .fetch_one(&mut *tx)
    .await?
    .try_get(0)?;
    let available = balance(&mut *tx, &site.id, &customer).await?.max(0);
    let clawback = earned.min(available);
    if clawback > 0 {
        let detail = json!({ "order_id": order_id });
        let key = format!("order_refund:{order_id}");
        credit(
            &mut *tx,
            &site.id,
            &customer,
            -clawback,
            "order_refund",
            &key,
            &detail,
            now,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(Some(json!({
        "order_id": order_id,
        "refunded": true,
        "points_removed": clawback,
        "referral_cancelled": cancelled == 1,
    })))
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
    out: &mut crate::stats::ProgramTotals,
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
    out.points = crate::stats::Points {
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
    out.points_days = (crate::stats::day_of(from)..crate::stats::day_of(to))
        .map(|day| {
            let (issued, redeemed, clawed_back) = by_day.remove(&day).unwrap_or_default();
            crate::stats::PointsDay {
                date: crate::stats::date_of(day),
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
        ("x-rapport-user" = String, Header, description = "the customer id"),
        ("x-rapport-user-hash" = String, Header, description = "hex HMAC-SHA256 of the customer id under the site secret"),
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
        ("x-rapport-user" = String, Header, description = "the customer id"),
        ("x-rapport-user-hash" = String, Header, description = "hex HMAC-SHA256 of the customer id under the site secret"),
        ("idempotency-key" = String, Header, description = "1-128 characters; a repeat returns the first answer"),
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
        ("x-rapport-user" = String, Header, description = "the customer id"),
        ("x-rapport-user-hash" = String, Header, description = "hex HMAC-SHA256 of the customer id under the site secret"),
        ("x-rapport-visitor" = Option<String>, Header, description = "the widget's visitor id, for the self-referral rule"),
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
