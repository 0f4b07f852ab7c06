//! HMAC-SHA256 signatures and constant-time comparisons of secrets: what the site's server
//! computes for identities and webhooks, and how write keys and the read token are checked.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// HMAC-SHA256 of `message` under `secret`, as lowercase hex. What the site's server
/// computes for `identify()` and for webhook signatures.
pub fn sign(secret: &str, message: &[u8]) -> String {
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(message);
    hex::encode(mac.finalize().into_bytes())
}

/// Whether `given` equals the configured `secret` (a write key, the read token), through an
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
