//! HMAC-SHA256 signatures and constant-time comparisons of secrets: what the site's server
//! computes for identities and webhooks, how write keys and the admin token are checked, and
//! the hashes of owner and shared-link tokens that `rapport.toml` stores.
//!
//! A site's secret never signs anything itself. Each purpose has its own key, derived from
//! the secret with a label ([`purpose_key`]): `identify()` hashes use [`IDENTITY_LABEL`]'s,
//! webhook and coupon signatures [`WEBHOOK_LABEL`]'s. A message signed for one purpose
//! therefore never verifies for another, whatever text a shopper manages to get signed.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// The label of the key that signs shopper identities (`identify()` hashes).
pub const IDENTITY_LABEL: &str = "rapport-identity-v1";
/// The label of the key that signs what the site's server sends: order webhooks and coupon
/// consumption.
pub const WEBHOOK_LABEL: &str = "rapport-webhook-v1";

/// The key for one purpose: the 32 bytes of HMAC-SHA256(secret, label).
pub fn purpose_key(secret: &str, label: &str) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(label.as_bytes());
    mac.finalize().into_bytes().into()
}

/// HMAC-SHA256 of `message` under the raw `key`, as lowercase hex.
pub fn sign_with(key: &[u8], message: &[u8]) -> String {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes any key");
    mac.update(message);
    hex::encode(mac.finalize().into_bytes())
}

/// Checks `signature` (hex) of `message` under the raw `key`, in constant time.
pub fn verify_with(key: &[u8], message: &[u8], signature: &str) -> bool {
    let Ok(bytes) = hex::decode(signature.trim()) else {
        return false;
    };
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes any key");
    mac.update(message);
    mac.verify_slice(&bytes).is_ok()
}

/// HMAC-SHA256 of `message` under `secret` itself, as lowercase hex. Identities and webhooks
/// use a purpose key instead ([`purpose_key`]); this is for the collector's own purposes
/// (the demo's customer ids, secret comparison) and for the legacy identity hashes.
pub fn sign(secret: &str, message: &[u8]) -> String {
    sign_with(secret.as_bytes(), message)
}

/// Whether `given` equals the configured `secret` (a write key, the admin token), through an
/// HMAC of each checked in constant time: neither the content nor the length of the secret
/// shows in the timing.
pub fn same_secret(secret: &str, given: &str) -> bool {
    const PURPOSE: &[u8] = b"rapport-secret-compare";
    verify(given, PURPOSE, &sign(secret, PURPOSE))
}

/// Checks `signature` (hex) of `message` under `secret` itself, in constant time.
pub fn verify(secret: &str, message: &[u8], signature: &str) -> bool {
    verify_with(secret.as_bytes(), message, signature)
}

/// How `rapport.toml` writes a token's hash: `sha256:` and 64 lowercase hex digits.
pub const HASH_PREFIX: &str = "sha256:";

/// The SHA-256 of a token. Tokens are 32 random bytes (`rapport-collector token new`), so a
/// fast hash is enough: there is nothing to guess from it.
pub fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// `sha256:<hex>` of a token, as the config lists it.
pub fn token_hash_text(token: &str) -> String {
    format!("{HASH_PREFIX}{}", hex::encode(token_hash(token)))
}

/// The 32 bytes of a `sha256:<64 lowercase hex digits>` hash; `None` for anything else.
pub fn parse_hash(text: &str) -> Option<[u8; 32]> {
    let digits = text.strip_prefix(HASH_PREFIX)?;
    if digits.len() != 64
        || !digits
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return None;
    }
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(digits, &mut bytes).ok()?;
    Some(bytes)
}

/// Whether two hashes are equal, compared in constant time.
pub fn same_hash(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.ct_eq(b).into()
}

/// A new token: `rpt_` and 32 random bytes from the operating system, base64url.
pub fn new_token() -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!(
        "rpt_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_hashes_round_trip_and_reject_other_text() {
        let token = new_token();
        assert!(token.starts_with("rpt_") && token.len() == 47, "{token}");
        assert_ne!(token, new_token());
        let text = token_hash_text(&token);
        assert_eq!(parse_hash(&text), Some(token_hash(&token)));
        assert!(same_hash(&token_hash(&token), &parse_hash(&text).unwrap()));
        assert!(!same_hash(&token_hash(&token), &token_hash("other")));
        for bad in [
            "",
            "sha256:",
            &text[..text.len() - 1],
            &text.to_uppercase(),
            &text.replace("sha256:", "sha1:"),
            &format!("{text}0"),
        ] {
            assert_eq!(parse_hash(bad), None, "{bad}");
        }
    }

    /// The worked example of docs/loyalty-referral.md, so the documented values stay true.
    #[test]
    fn the_documented_example_holds() {
        let secret = "sk_example_0123456789abcdef0123456789";
        let identity = purpose_key(secret, IDENTITY_LABEL);
        let webhook = purpose_key(secret, WEBHOOK_LABEL);
        assert_ne!(identity, webhook);
        let hash = sign_with(&identity, b"cust-42");
        let body = br#"{"type":"order.refunded","order_id":"o-1"}"#;
        let mut message = b"rapport-webhook.1700000000.".to_vec();
        message.extend_from_slice(body);
        let signature = sign_with(&webhook, &message);
        assert_eq!(hex::encode(identity), DOC_IDENTITY_KEY);
        assert_eq!(hex::encode(webhook), DOC_WEBHOOK_KEY);
        assert_eq!(hash, DOC_HASH);
        assert_eq!(signature, DOC_SIGNATURE);
        assert!(verify_with(&identity, b"cust-42", &hash));
        assert!(!verify_with(&webhook, b"cust-42", &hash));
    }

    const DOC_IDENTITY_KEY: &str =
        "01a2d2002e4ec608f51b194fa6d7bed08b64eb90d2691508211dd3901c2d4c36";
    const DOC_WEBHOOK_KEY: &str =
        "6d786329d945e8714b4281a249ae74c29089c7cbddcfdce2e3643043f15ac9b8";
    const DOC_HASH: &str = "dd402756e32314a4d6a20951b436f3696c1a5e04be11caf7430ee5f52b99e972";
    const DOC_SIGNATURE: &str = "48bf9d8444c3fc4bb91eac510de3dc225471fd740fd324bc063ff42b805adb55";
}
