//! localStorage under the `rapport:` prefix, failing soft.
//!
//! Storage can be missing, blocked (SecurityError in sandboxed frames) or full
//! (QuotaExceededError). Every operation here reports failure as a value; none throws.

const PREFIX: &str = "rapport:";

pub struct Storage {
    inner: Option<web_sys::Storage>,
}

fn prefixed(key: &str) -> String {
    let mut full = String::from(PREFIX);
    full.push_str(key);
    full
}

impl Storage {
    /// Opens the page's localStorage; when it is unavailable, every read misses and every
    /// write fails.
    pub fn local() -> Storage {
        let inner = web_sys::window().and_then(|w| w.local_storage().ok().flatten());
        Storage { inner }
    }

    pub fn is_available(&self) -> bool {
        self.inner.is_some()
    }

    /// Reads `rapport:<key>`.
    pub fn get(&self, key: &str) -> Option<String> {
        self.inner.as_ref()?.get_item(&prefixed(key)).ok().flatten()
    }

    /// Writes `rapport:<key>`; `false` when storage refused (blocked or full).
    pub fn set(&self, key: &str, value: &str) -> bool {
        match &self.inner {
            Some(s) => s.set_item(&prefixed(key), value).is_ok(),
            None => false,
        }
    }

    pub fn remove(&self, key: &str) {
        if let Some(s) = &self.inner {
            let _ = s.remove_item(&prefixed(key));
        }
    }
}
