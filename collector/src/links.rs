//! Shared links that a site's owner makes, lists and revokes (`/v1/sites/{site}/shared-links`):
//! each is a token that reads the site's stats, as a link of `[[site]] shared` does, but is
//! kept in the database (`shared_links`), so that no one edits the config or restarts the
//! collector to make or revoke one. Only the token's SHA-256 is stored; the token itself is
//! shown once, in the answer that made it. `access` honours the links; this module manages
//! them. Depends on `access`, `state`, `db`, `secret` and `error`.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::access::Reader;
use crate::db::StoredLink;
use crate::error::{AppError, ErrorBody};
use crate::secret;
use crate::state::{known_site, not_configured, now_ms, AppState};

/// Longest label, in characters.
pub const MAX_LABEL_CHARS: usize = 100;
/// Most links one site may have that are not revoked.
pub const MAX_ACTIVE_LINKS: i64 = 1000;

const LINKS_NOT_SHARED: &str = "authorization: a shared link cannot make, list or revoke \
                                shared links; send an owner's token or the admin's";
const LINKS_NEED_TOKENS: &str = "authorization: no read token is configured, so every local \
                                 client reads everything and a shared link would limit \
                                 nothing; configure [[site]] owners or --admin-token first";

/// What a new link is for, as the owner names it (`POST` body, optional).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSharedLink {
    /// Whom or what the link is for: at most 100 characters, no control characters.
    #[serde(default)]
    #[schema(max_length = 100, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    pub label: Option<String>,
}

/// A link just made, with its token: the only answer that ever shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedSharedLink {
    /// The link's id, for revoking it: 16 lowercase hex digits.
    pub id: String,
    /// The bearer token that reads the site's stats; only its hash is kept.
    pub token: String,
    /// The label it was made with ("" for none).
    pub label: String,
    /// When it was made, in milliseconds since the epoch.
    pub created_at: u64,
}

/// A link of the site, as its list shows it: never its token.
#[derive(Debug, Serialize, ToSchema)]
pub struct SharedLink {
    /// 16 lowercase hex digits.
    pub id: String,
    pub label: String,
    /// Milliseconds since the epoch.
    pub created_at: u64,
}

/// The site's links that are not revoked, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct SharedLinks {
    pub links: Vec<SharedLink>,
}

impl From<StoredLink> for SharedLink {
    fn from(link: StoredLink) -> SharedLink {
        SharedLink {
            id: link.id,
            label: link.label,
            created_at: u64::try_from(link.created_at).unwrap_or(0),
        }
    }
}

/// Whether `reader` manages the links of `site`: its owners and the admin do. A site it
/// does not see is the 404 of an unknown site, as every site route answers; a shared link
/// of the site is a 403.
fn manages(state: &AppState, reader: &Reader, site: &str) -> Result<(), AppError> {
    rapport_core::validate::site(site).map_err(|e| AppError::bad_request(e.to_string()))?;
    if !reader.sees(site) {
        return Err(not_configured(site));
    }
    match reader {
        Reader::Shared(_) => return Err(AppError::Forbidden(LINKS_NOT_SHARED.into())),
        Reader::Anyone => return Err(AppError::Forbidden(LINKS_NEED_TOKENS.into())),
        Reader::Admin | Reader::Owner(_) => {}
    }
    known_site(state, site).map(|_| ())
}

/// The label of a `POST` body: none for an empty body, `null` or `{}`.
fn label_of(body: &[u8]) -> Result<String, AppError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(String::new());
    }
    let bad = |e: serde_json::Error| AppError::bad_request(format!("body: {e}"));
    let request = match serde_json::from_slice(body).map_err(bad)? {
        // `null`, as the description allows it, is no label either.
        serde_json::Value::Null => NewSharedLink::default(),
        // An object only: serde would take an array for the struct too.
        object @ serde_json::Value::Object(_) => serde_json::from_value(object).map_err(bad)?,
        _ => {
            return Err(AppError::bad_request(
                "body: must be a JSON object like {\"label\": \"…\"}, or empty",
            ))
        }
    };
    let label = request.label.unwrap_or_default();
    if label.chars().count() > MAX_LABEL_CHARS {
        return Err(AppError::bad_request(format!(
            "label: must be at most {MAX_LABEL_CHARS} characters"
        )));
    }
    if let Some(c) = label.chars().find(|c| c.is_control()) {
        return Err(AppError::bad_request(format!(
            "label: must not contain control characters (U+0000-U+001F, U+007F-U+009F), \
             found U+{:04X}",
            u32::from(c)
        )));
    }
    Ok(label)
}

/// A new link's id: 8 random bytes as 16 lowercase hex digits.
fn new_id() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 8];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// `POST /v1/sites/{site}/shared-links`: makes a read-only link to the site's stats.
#[utoipa::path(
    post,
    path = "/v1/sites/{site}/shared-links",
    security(("bearer" = [])),
    params(crate::state::SitePath),
    request_body(
        content = Option<NewSharedLink>,
        content_type = "application/json",
        description = "Optional: a label for the link"
    ),
    responses(
        (status = 201, description = "The link, with its token: shown this once", body = CreatedSharedLink),
        (status = 400, description = "Bad site id or body; the message names the field", body = ErrorBody),
        (status = 401, description = "Read tokens are configured and none, or an unknown one, was sent", body = ErrorBody),
        (status = 403, description = "A shared link's token, or no read token is configured", body = ErrorBody),
        (status = 404, description = "Site not configured, or not one this token reads (the same answer)", body = ErrorBody),
        (status = 409, description = "The site has 1000 links that are not revoked", body = ErrorBody),
        (status = 503, description = "Storage unavailable; see Retry-After", body = ErrorBody),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    reader: Reader,
    Path(site): Path<String>,
    body: Bytes,
) -> Result<impl IntoResponse, AppError> {
    manages(&state, &reader, &site)?;
    let label = label_of(&body)?;
    let token = secret::new_token();
    let link = StoredLink {
        id: new_id(),
        label,
        created_at: crate::db::as_i64(now_ms()),
    };
    let stored = state
        .db
        .insert_shared_link(&site, &link, &secret::token_hash(&token), MAX_ACTIVE_LINKS)
        .await
        .map_err(AppError::Unavailable)?;
    if !stored {
        return Err(AppError::Conflict(format!(
            "shared links: the site has {MAX_ACTIVE_LINKS} links that are not revoked; \
             revoke one first"
        )));
    }
    let created = CreatedSharedLink {
        id: link.id,
        token,
        label: link.label,
        created_at: u64::try_from(link.created_at).unwrap_or(0),
    };
    Ok((
        StatusCode::CREATED,
        // The token is in this answer only: no cache keeps it.
        [(header::CACHE_CONTROL, "no-store")],
        Json(created),
    ))
}

/// `GET /v1/sites/{site}/shared-links`: the site's links that are not revoked, without
/// their tokens.
#[utoipa::path(
    get,
    path = "/v1/sites/{site}/shared-links",
    security(("bearer" = [])),
    params(crate::state::SitePath),
    responses(
        (status = 200, description = "The links that read the site's stats, newest first; never their tokens", body = SharedLinks),
        (status = 400, description = "Site id breaks the rules", body = ErrorBody),
        (status = 401, description = "Read tokens are configured and none, or an unknown one, was sent", body = ErrorBody),
        (status = 403, description = "A shared link's token, or no read token is configured", body = ErrorBody),
        (status = 404, description = "Site not configured, or not one this token reads (the same answer)", body = ErrorBody),
        (status = 503, description = "Storage unavailable; see Retry-After", body = ErrorBody),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    reader: Reader,
    Path(site): Path<String>,
) -> Result<Json<SharedLinks>, AppError> {
    manages(&state, &reader, &site)?;
    let links = state
        .db
        .shared_links(&site)
        .await
        .map_err(AppError::Unavailable)?;
    Ok(Json(SharedLinks {
        links: links.into_iter().map(SharedLink::from).collect(),
    }))
}

/// `DELETE /v1/sites/{site}/shared-links/{id}`: revokes a link; from this answer on, its
/// token reads nothing (401, as an unknown token).
#[utoipa::path(
    delete,
    path = "/v1/sites/{site}/shared-links/{id}",
    security(("bearer" = [])),
    params(
        crate::state::SitePath,
        ("id" = String, Path, description = "the link's id, as its creation and the list give it (16 lowercase hex digits); any other id is no link of the site (404)", pattern = r"^[0-9a-f]{16}$"),
    ),
    responses(
        (status = 204, description = "Revoked"),
        (status = 400, description = "Site id breaks the rules", body = ErrorBody),
        (status = 401, description = "Read tokens are configured and none, or an unknown one, was sent", body = ErrorBody),
        (status = 403, description = "A shared link's token, or no read token is configured", body = ErrorBody),
        (status = 404, description = "Site not configured or not one this token reads, or no link of the site with this id that is not revoked", body = ErrorBody),
        (status = 503, description = "Storage unavailable; see Retry-After", body = ErrorBody),
    )
)]
pub async fn revoke(
    State(state): State<AppState>,
    reader: Reader,
    Path((site, id)): Path<(String, String)>,
) -> Result<StatusCode, AppError> {
    manages(&state, &reader, &site)?;
    let revoked = state
        .db
        .revoke_shared_link(&site, &id, crate::db::as_i64(now_ms()))
        .await
        .map_err(AppError::Unavailable)?;
    if !revoked {
        return Err(AppError::NotFound(format!(
            "id: \"{id}\" is no shared link of this site, or it is revoked already"
        )));
    }
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_bounded_and_without_control_characters() {
        assert_eq!(label_of(b"").unwrap(), "");
        assert_eq!(label_of(b" \n").unwrap(), "");
        assert_eq!(label_of(b"{}").unwrap(), "");
        assert_eq!(label_of(br#"{"label": null}"#).unwrap(), "");
        assert_eq!(
            label_of("{\"label\": \"לקוח — Board\"}".as_bytes()).unwrap(),
            "לקוח — Board"
        );
        let long = format!("{{\"label\": \"{}\"}}", "ש".repeat(MAX_LABEL_CHARS));
        assert!(label_of(long.as_bytes()).is_ok());
        let too_long = format!("{{\"label\": \"{}\"}}", "a".repeat(MAX_LABEL_CHARS + 1));
        let e = label_of(too_long.as_bytes()).unwrap_err().to_string();
        assert!(e.starts_with("label: must be at most 100"), "{e}");
        for bad in [
            r#"{"label": "a\nb"}"#,
            r#"{"label": "\u0000"}"#,
            "{\"label\": \"\u{85}\"}",
        ] {
            let e = label_of(bad.as_bytes()).unwrap_err().to_string();
            assert!(
                e.starts_with("label: must not contain control"),
                "{bad}: {e}"
            );
        }
        assert_eq!(label_of(b"null").unwrap(), "");
        for bad in [
            r#"{"label": 1}"#,
            r#"{"other": "x"}"#,
            "[]",
            r#"["x"]"#,
            "7",
            "\"x\"",
            "{",
        ] {
            let e = label_of(bad.as_bytes()).unwrap_err().to_string();
            assert!(e.starts_with("body: "), "{bad}: {e}");
        }
    }
}
