//! `POST /v1/batch`: validate every event, store the valid ones in one transaction.

use std::sync::LazyLock;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use axum::Json;
use rapport_core::{corrected_time, validate, Event};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::config::SiteConfig;
use crate::db::NewEvent;
use crate::error::AppError;
use crate::error::Rejected;
use crate::limit::ClientAddr;
use crate::state::{now_ms, AppState};

/// Most events one batch may carry.
pub const MAX_BATCH_EVENTS: usize = 1000;

/// `200` (and `202` for bots): how many events were stored or already stored, and which
/// were refused. `accepted + rejected.len()` is the batch's size.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct IngestResponse {
    /// Valid events: stored now, or stored before for this site (see `duplicates`).
    pub accepted: usize,
    pub rejected: Vec<Rejected>,
    /// Indexes of accepted events whose id this site had already stored (a retried batch,
    /// or a repeat within the batch): nothing new was stored for them.
    pub duplicates: Vec<usize>,
}

/// The batch envelope; events are decoded one by one so one bad event cannot sink the rest.
/// Documented as `Batch`: exactly these fields, the events as `Event`s.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = Batch)]
pub struct Envelope {
    /// The site id: 1–64 characters of `a-z 0-9 _ . -`.
    #[schema(pattern = r"^[a-z0-9_.-]{1,64}$", min_length = 1, max_length = 64)]
    site: String,
    /// Client wall-clock time when the batch was sent, ms since the Unix epoch; the
    /// collector corrects clock skew with it.
    #[serde(deserialize_with = "rapport_core::json::whole_u64")]
    sent_at: u64,
    /// 1 to 1000 events; each is checked on its own.
    #[schema(value_type = Vec<rapport_core::Event>, min_items = 1, max_items = 1000)]
    events: Vec<Box<RawValue>>,
    /// Events the widget had to drop (queue over budget, or refused earlier) since its last
    /// batch.
    #[serde(default, deserialize_with = "rapport_core::json::whole_u64")]
    dropped: u64,
}

/// The isbot pattern list, compiled once.
static BOTS: LazyLock<isbot::Bots> = LazyLock::new(isbot::Bots::default);

/// Header naming why a batch was dropped without being stored.
pub const DROPPED_HEADER: &str = "x-rapport-dropped";

/// Every browser names itself: a request without a User-Agent, or with an empty or
/// unreadable one, is a script, and counts as a bot.
fn is_bot(headers: &HeaderMap) -> bool {
    match headers.get(header::USER_AGENT).map(|v| v.to_str()) {
        Some(Ok(ua)) => ua.trim().is_empty() || BOTS.is_bot(ua),
        _ => true,
    }
}

/// The envelope's `site`, found without decoding anything else: every other value is
/// skipped unread, so a rate-limited client costs one pass over its body and no
/// allocation. `None` when the body is not an object with a string `site`; the full decode
/// then names what is wrong.
fn site_of(body: &[u8]) -> Option<String> {
    struct Site;
    impl<'de> serde::de::Visitor<'de> for Site {
        type Value = Option<String>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a batch")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut map: A,
        ) -> Result<Option<String>, A::Error> {
            let mut site = None;
            while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                if key == "site" && site.is_none() {
                    site = map.next_value::<String>().ok();
                    if site.is_none() {
                        return Ok(None);
                    }
                } else {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
            Ok(site)
        }
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    serde::Deserializer::deserialize_map(&mut de, Site)
        .ok()
        .flatten()
}

fn check_content_type(headers: &HeaderMap) -> Result<(), AppError> {
    let value = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    // Beacons and preflight-free fetches send JSON as text/plain.
    match essence.as_str() {
        "application/json" | "text/plain" => Ok(()),
        _ => Err(AppError::UnsupportedMediaType(
            "application/json or text/plain",
        )),
    }
}

fn check_event(value: &RawValue, sent_at: u64) -> Result<Event, String> {
    let event: Event = serde_json::from_str(value.get()).map_err(|e| e.to_string())?;
    event.validate().map_err(|e| e.to_string())?;
    if event.ts > sent_at.saturating_add(validate::MAX_FUTURE_MS) {
        return Err("ts: is later than the batch's sent_at".into());
    }
    if sent_at.saturating_sub(event.ts) > validate::MAX_CLOCK_SKEW_MS as u64 {
        return Err("ts: is more than 7 days before the batch's sent_at".into());
    }
    Ok(event)
}

/// The write key may come in the query (beacons cannot set headers), and so may the body's
/// encoding.
#[derive(Deserialize)]
pub struct KeyQuery {
    key: Option<String>,
    /// Checked here; [`url_encoding`] has already acted on it.
    #[serde(default)]
    #[allow(dead_code)]
    encoding: Option<Encoding>,
}

/// A body encoding named on the URL.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    Gzip,
}

/// A beacon cannot set `Content-Encoding`: `?encoding=gzip` on the endpoint says the same,
/// and becomes the header before the body is decompressed.
pub async fn url_encoding(mut request: axum::extract::Request) -> axum::extract::Request {
    let flagged = request
        .uri()
        .query()
        .is_some_and(|q| q.split('&').any(|pair| pair == "encoding=gzip"));
    if flagged && !request.headers().contains_key(header::CONTENT_ENCODING) {
        request
            .headers_mut()
            .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    request
}

/// Header carrying a site's write key.
pub const KEY_HEADER: &str = "x-rapport-key";

fn check_sender(
    config: &SiteConfig,
    site: &str,
    headers: &HeaderMap,
    query: &KeyQuery,
) -> Result<(), AppError> {
    let header_key = headers.get(KEY_HEADER).and_then(|v| v.to_str().ok());
    if !config.key_matches(query.key.as_deref().or(header_key)) {
        return Err(AppError::Unauthorized(
            "write key: missing or wrong for this site".into(),
        ));
    }
    // Browsers send Origin on every POST; server-to-server senders don't, and pass.
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        if !config.allows_origin(origin) {
            return Err(AppError::Forbidden(format!(
                "origin: {origin} may not send for site \"{site}\""
            )));
        }
    }
    Ok(())
}

/// Stores a batch of events. See docs/collector.md for the order of the checks.
#[utoipa::path(
    post,
    path = "/v1/batch",
    request_body(content = Envelope, description = "JSON, sent as application/json or text/plain, optionally gzip-encoded"),
    params(
        ("key" = Option<String>, Query, description = "the site's write key, when it has one (or the x-rapport-key header)"),
        ("encoding" = Option<Encoding>, Query, description = "gzip: the body is gzip-compressed, as Content-Encoding: gzip says (beacons cannot set that header)"),
    ),
    responses(
        (status = 200, description = "Stored; invalid events listed by index", body = IngestResponse),
        (status = 202, description = "A bot: nothing stored (x-rapport-dropped: bot)", body = IngestResponse),
        (status = 400, description = "Not a batch, every event invalid, or a body that does not decompress", body = crate::error::ErrorBody),
        (status = 401, description = "Missing or wrong write key", body = crate::error::ErrorBody),
        (status = 403, description = "Origin not allowed for the site", body = crate::error::ErrorBody),
        (status = 404, description = "Site not configured", body = crate::error::ErrorBody),
        (status = 408, description = "The body did not arrive within the body deadline (10 s by default)", body = crate::error::ErrorBody),
        (status = 413, description = "Body over 1 MB after decompression"),
        (status = 415, description = "Neither application/json nor text/plain", body = crate::error::ErrorBody),
        (status = 429, description = "Rate limited; see Retry-After"),
        (status = 503, description = "Storage unavailable, or too many requests in progress; see Retry-After", body = crate::error::ErrorBody),
    )
)]
pub async fn post_batch(
    State(state): State<AppState>,
    Extension(client): Extension<ClientAddr>,
    crate::error::Params(query): crate::error::Params<KeyQuery>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Response, AppError> {
    let body = match body {
        Ok(body) => body,
        // Over the limit once decompressed: the framework's 413 stands.
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return Ok(e.into_response()),
        Err(e) => {
            return Err(AppError::bad_request(format!(
                "body: could not be read ({})",
                e.body_text()
            )))
        }
    };
    // Crawlers and headless browsers run the widget too; their visits are not engagement.
    if is_bot(&headers) {
        let mut response = (
            StatusCode::ACCEPTED,
            Json(IngestResponse {
                accepted: 0,
                rejected: Vec::new(),
                duplicates: Vec::new(),
            }),
        )
            .into_response();
        response
            .headers_mut()
            .insert(DROPPED_HEADER, HeaderValue::from_static("bot"));
        return Ok(response);
    }
    check_content_type(&headers)?;
    // The site's bucket is checked before the batch is decoded: a client over its limit
    // costs a scan of its body for the site id, not the decoding of its events.
    if let Some(site) = site_of(&body) {
        let config = crate::state::known_site(&state, &site)?;
        check_sender(config, &site, &headers, &query)?;
        state
            .rate_limit
            .check(&site, client)
            .map_err(AppError::TooManyRequests)?;
    }
    let envelope: Envelope = serde_json::from_slice(&body)
        .map_err(|e| AppError::bad_request(format!("malformed batch: {e}")))?;
    let config = crate::state::known_site(&state, &envelope.site)?;
    if envelope.events.is_empty() {
        return Err(AppError::bad_request("events: must not be empty"));
    }
    if envelope.events.len() > MAX_BATCH_EVENTS {
        return Err(AppError::bad_request("events: more than 1000 in one batch"));
    }
    if envelope.dropped > 0 {
        tracing::warn!(site = %envelope.site, dropped = envelope.dropped, "a widget reported dropped events");
    }
    let received_at = now_ms();
    let mut accepted = Vec::with_capacity(envelope.events.len());
    let mut indexes = Vec::with_capacity(envelope.events.len());
    let mut rejected = Vec::new();
    for (index, value) in envelope.events.iter().enumerate() {
        match check_event(value, envelope.sent_at) {
            Ok(event) => {
                accepted.push(event);
                indexes.push(index);
            }
            Err(reason) => rejected.push(Rejected {
                index,
                reason,
                retryable: false,
            }),
        }
    }
    if accepted.is_empty() {
        return Err(AppError::BadRequest {
            message: "every event in the batch is invalid".into(),
            rejected: Some(rejected),
        });
    }
    // The identity proof of a feedback answer is checked below and never stored: the events
    // API and the dashboard show stored properties, and a copied hash would sign that shopper
    // in. The answers that carry one are kept aside, whole, for the award.
    let mut proven = Vec::new();
    for event in &mut accepted {
        if event.props.get("user_hash").is_some() {
            proven.push(event.clone());
            event.props.remove("user_hash");
            event.props.remove("user_expires");
        }
    }
    let rows: Vec<NewEvent> = accepted
        .iter()
        .map(|event| NewEvent {
            event,
            ts: corrected_time(received_at, envelope.sent_at, event.ts),
        })
        .collect();
    let device = crate::device::class(
        headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok()),
    );
    let inserted = state
        .db
        .insert_events_from(&envelope.site, received_at, device, &rows)
        .await
        .map_err(AppError::Unavailable)?;
    // An id stored now is stored once: its first copy in the batch is new, any other copy
    // is a duplicate, as is every event whose id the site had already.
    let inserted: std::collections::HashSet<String> = inserted.into_iter().collect();
    let mut unclaimed = inserted.clone();
    let duplicates: Vec<usize> = accepted
        .iter()
        .zip(&indexes)
        .filter(|(event, _)| !unclaimed.remove(&event.id.to_string()))
        .map(|(_, &index)| index)
        .collect();
    // Only events stored now can earn, in the period of their arrival: a resent copy, or a
    // client clock set back, earns nothing more. Awards are idempotent besides.
    let awards: Vec<_> = proven
        .iter()
        .filter(|event| inserted.contains(&event.id.to_string()))
        .map(|event| (event, received_at))
        .collect();
    crate::loyalty::award_feedback(&state.db, config, &awards)
        .await
        .map_err(AppError::Unavailable)?;
    Ok(Json(IngestResponse {
        accepted: rows.len(),
        rejected,
        duplicates,
    })
    .into_response())
}
