//! HMAC-SHA256 signatures and constant-time comparisons of secrets: what the site's server
//! computes for identities and webhooks, how write keys and the admin token are checked, and
//! the hashes of owner and shared-link tokens that `rapport.toml` stores.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// HMAC-SHA256 of `message` under `secret`, as lowercase hex. What the site's server
/// computes for `identify()` and for webhook signatures.
pub fn sign(secret: &str, message: &[u8]) -> String {
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(message);
    hex::encode(mac.finalize().into_bytes())
}

/// Whether `given` equals the configured `secret` (a write key, the admin token), through an
/// HMAC of each checked in constant time: neither the content nor the length of the secret
/// shows in the timing.
pub fn same_secret(secret: &str, given: &str) -> bool {
    const PURPOSE: &[u8] = b"rapport-secret-compare";
    verify(given, PURPOSE, &sign(secret, PURPOSE))
}

/// Checks `signature` (hex) in constant time.
pub fn verify(secret: &str, message: &[u8], signature: &str) -> bool {
    let Ok(bytes) = hex::decode(signature.trim()) else {
        return false;
    };
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(message);
    mac.verify_slice(&bytes).is_ok()
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
}
