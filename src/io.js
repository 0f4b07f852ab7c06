// Browser I/O for the tracker stage. The wasm module imports these through wasm-bindgen;
// `cargo xtask dist` inlines this file into the glue so the page makes no extra request.
// Every function catches its own errors: nothing here may throw into the host page.

const PREFIX = 'rapport:';

/** Reads `rapport:<key>`; "" when absent, blocked (SecurityError) or unavailable. */
export function rapport_storage_get(key) {
  try {
    return localStorage.getItem(PREFIX + key) || '';
  } catch (e) {
    return '';
  }
}

/** Writes `rapport:<key>`; false when storage is full (QuotaExceededError) or blocked. */
export function rapport_storage_set(key, value) {
  try {
    localStorage.setItem(PREFIX + key, value);
    return true;
  } catch (e) {
    return false;
  }
}

/** Removes `rapport:<key>`; never touches keys without the prefix. */
export function rapport_storage_remove(key) {
  try {
    localStorage.removeItem(PREFIX + key);
  } catch (e) {
    // blocked storage has nothing to remove
  }
}

/**
 * Posts `body` (JSON) as text/plain, which needs no CORS preflight. fetch with keepalive
 * first; host pages replace fetch, so a throwing or non-promise fetch falls back to
 * sendBeacon. Rejections are swallowed. False when neither accepted the body.
 */
export function rapport_send(url, body) {
  try {
    fetch(url, { method: 'POST', body: body, keepalive: true }).catch(function () {});
    return true;
  } catch (e) {
    try {
      return navigator.sendBeacon(url, body);
    } catch (e2) {
      return false;
    }
  }
}

/** The absolute form of an http(s) URL, resolved against the page; "" otherwise. */
export function rapport_absolute_url(value) {
  try {
    var url = new URL(value, location.href);
    return /^https?:$/.test(url.protocol) ? url.href : '';
  } catch (e) {
    return '';
  }
}

/** Fills `bytes` from the Web Crypto CSPRNG. */
export function rapport_random(bytes) {
  crypto.getRandomValues(bytes);
}

/** One console line, prefixed so site owners can filter on it. */
export function rapport_log(message, is_error) {
  try {
    console[is_error ? 'error' : 'warn']('rapport: ' + message);
  } catch (e) {
    // a host page without a console
  }
}
