//! Randomness for ids, from `crypto.getRandomValues`.

use rapport_core::Entropy;

pub struct CryptoEntropy {
    crypto: web_sys::Crypto,
}

impl CryptoEntropy {
    /// `None` where the page has no Web Crypto (very old browsers).
    pub fn new() -> Option<CryptoEntropy> {
        let crypto = web_sys::window()?.crypto().ok()?;
        Some(CryptoEntropy { crypto })
    }
}

impl Entropy for CryptoEntropy {
    fn random_bytes(&mut self) -> [u8; 16] {
        let mut bytes = [0u8; 16];
        // getRandomValues only throws for buffers over 64 KiB; 16 bytes cannot fail.
        let _ = self.crypto.get_random_values_with_u8_array(&mut bytes);
        bytes
    }
}
