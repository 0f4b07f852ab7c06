//! The browser, as the tracker stage sees it: the functions of `io.js`.
//!
//! The I/O primitives are plain JavaScript because each web-sys call costs the wasm module
//! marshalling code and the glue a wrapper; a handful of coarse imports keep the tracker
//! stage inside its size budget. Each of them catches its own errors.

use alloc::string::String;
use rapport_core::Entropy;
use wasm_bindgen::prelude::*;

#[wasm_bindgen(module = "/src/io.js")]
extern "C" {
    fn rapport_storage_get(key: &str) -> String;
    fn rapport_storage_set(key: &str, value: &str) -> bool;
    fn rapport_storage_remove(key: &str);
    fn rapport_send(url: &str, body: &str) -> bool;
    fn rapport_absolute_url(value: &str) -> String;
    fn rapport_random(bytes: &mut [u8]);
    fn rapport_log(message: &str, is_error: bool);
}

/// Reads `rapport:<key>` from localStorage; `None` when absent or storage is unavailable.
pub fn storage_get(key: &str) -> Option<String> {
    // The import returns "" for "absent": an Option costs the glue a return slot.
    Some(rapport_storage_get(key)).filter(|v| !v.is_empty())
}

/// Writes `rapport:<key>`; `false` when storage refused (full or blocked).
pub fn storage_set(key: &str, value: &str) -> bool {
    rapport_storage_set(key, value)
}

pub fn storage_remove(key: &str) {
    rapport_storage_remove(key)
}

/// Hands a JSON body to fetch (keepalive) or, failing that, sendBeacon.
pub fn send(url: &str, body: &str) -> bool {
    rapport_send(url, body)
}

/// `value` resolved against the page, if it is an http(s) URL.
pub fn absolute_url(value: &str) -> Option<String> {
    Some(rapport_absolute_url(value)).filter(|v| !v.is_empty())
}

pub fn warn(message: &str) {
    rapport_log(message, false)
}

pub fn error(message: &str) {
    rapport_log(message, true)
}

/// `crypto.getRandomValues`, the only source of ids. Every browser that can stream-compile
/// WebAssembly (which the loader requires) has it.
pub struct CryptoRandom;

impl Entropy for CryptoRandom {
    fn random_bytes(&mut self) -> [u8; 16] {
        let mut bytes = [0u8; 16];
        rapport_random(&mut bytes);
        bytes
    }
}
